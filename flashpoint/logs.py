"""Structured logging: one line per event, `key=value` pairs, to stderr.

A scheduler on a server is read through its journal, so every line must stand alone and be
greppable: `event=refresh source=worldbank requests=3 rows_new=0 duration_s=1.24 outcome=ok`.
"""

from __future__ import annotations

import logging
import os
import sys
from datetime import UTC, datetime
from typing import Any

LOGGER_NAME = "flashpoint"
_RESERVED = set(vars(logging.LogRecord("", 0, "", 0, "", None, None)).keys()) | {"message"}


def _format_value(value: Any) -> str:
    text = f"{value:.3f}" if isinstance(value, float) else str(value)
    if text == "" or any(char.isspace() or char in '"=' for char in text):
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'
    return text


class KeyValueFormatter(logging.Formatter):
    """Formats a record as `ts=… level=… logger=… msg=… key=value …`."""

    def format(self, record: logging.LogRecord) -> str:
        stamp = datetime.fromtimestamp(record.created, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        parts = [
            f"ts={stamp[:-4]}Z",
            f"level={record.levelname}",
            f"logger={record.name}",
            f"msg={_format_value(record.getMessage())}",
        ]
        for key, value in vars(record).items():
            if key not in _RESERVED and not key.startswith("_"):
                parts.append(f"{key}={_format_value(value)}")
        if record.exc_info:
            parts.append(f"exc={_format_value(self.formatException(record.exc_info))}")
        return " ".join(parts)


def configure_logging(level: str | None = None) -> None:
    """Send Flashpoint's logs to stderr as key=value lines.

    Args:
        level: a logging level name; `$FLASHPOINT_LOG_LEVEL` wins over it, INFO is the default.
    """
    chosen = (os.environ.get("FLASHPOINT_LOG_LEVEL") or level or "INFO").upper()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(KeyValueFormatter())
    logger = logging.getLogger(LOGGER_NAME)
    logger.handlers[:] = [handler]
    logger.setLevel(getattr(logging, chosen, logging.INFO))
    logger.propagate = False
    # APScheduler's own messages (job added, missed, executed) go through the same handler.
    aps = logging.getLogger("apscheduler")
    aps.handlers[:] = [handler]
    aps.setLevel(logging.WARNING if chosen != "DEBUG" else logging.DEBUG)
    aps.propagate = False
