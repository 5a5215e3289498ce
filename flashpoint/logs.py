"""Structured logging: one line per event, `key=value` pairs, to stderr.

A scheduler on a server is read through its journal, so every line must stand alone and be
greppable: `event=refresh source=worldbank requests=3 rows_new=0 duration_s=1.24 outcome=ok`.
Every line passes through `fetchers.redact` (no credential reaches a log).

Also here: the CLI's output guards: `RedactingStream` (stdout/stderr while a command runs),
`describe_os_error` (an OSError as one line) and `write_crash_log` (the last-resort handler's
traceback file).
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from fetchers.redact import redact

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
        return redact(" ".join(parts))


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


_configured_level: str | None = None


def ensure_logging(level: str | None = None) -> None:
    """`configure_logging` once per process (the dashboard calls it on every rerun)."""
    global _configured_level
    chosen = (os.environ.get("FLASHPOINT_LOG_LEVEL") or level or "INFO").upper()
    if _configured_level != chosen:
        configure_logging(chosen)
        _configured_level = chosen


CRASH_DIR_ENV = "FLASHPOINT_CRASH_DIR"


class RedactingStream:
    """A text stream wrapper that redacts everything written through it."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        self._stream.write(redact(text))
        return len(text)

    def writelines(self, lines: list[str]) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        self._stream.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def one_line(text: str) -> str:
    """`text` redacted, with line breaks folded into spaces."""
    return " ".join(redact(str(text)).split())


def describe_os_error(error: OSError) -> str:
    """An OSError as `<path>: <what went wrong>` (both paths for a rename/copy)."""
    what = error.strerror or type(error).__name__
    if error.filename is not None and error.filename2 is not None:
        return f"{error.filename} → {error.filename2}: {what}"
    if error.filename is not None:
        return f"{error.filename}: {what}"
    return str(error) or what


def write_crash_log(error: BaseException) -> Path | None:
    """Write the redacted traceback of `error` to a new file; its path, or None if it failed.

    The file goes to `$FLASHPOINT_CRASH_DIR`, else the system's temporary directory, readable
    only by the user.
    """
    directory = Path(os.environ.get(CRASH_DIR_ENV) or tempfile.gettempdir())
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = directory / f"flashpoint-crash-{stamp}-{os.getpid()}.log"
    text = "".join(traceback.format_exception(error))
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(redact(text))
    except OSError:
        return None
    return path
