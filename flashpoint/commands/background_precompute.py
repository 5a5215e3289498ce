"""The precompute `flashpoint dashboard` starts beside the server when today's panel is missing.

Run as `python -m flashpoint.commands.background_precompute --config FILE --server-pid PID`.
The server answers at once (its first pages score the store live, as before); once this has
stored today's panel and composite history, every later page reads them instead. It stops
quietly when the server it serves has gone, so no orphan keeps writing to the store.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from flashpoint.config import load_config

log = logging.getLogger("flashpoint.precompute")
PREFIX = "background precompute:"


class ServerGone(Exception):
    """The dashboard server this precompute was started for has exited."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m flashpoint.commands.background_precompute")
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--server-pid", type=int, required=True)
    args = parser.parse_args(argv)

    from flashpoint import store
    from flashpoint.precompute import precompute

    def progress(line: str) -> None:
        # Reparented once the server exits: its pid is no longer this process's parent.
        if os.getppid() != args.server_pid:
            raise ServerGone
        print(f"{PREFIX} {line}", flush=True)

    settings = load_config(args.config)
    engine = store.open_for_writing(settings.database_url)
    try:
        report = precompute(engine, settings, progress=progress)
    except ServerGone:
        return 0
    except Exception as error:  # the dashboard keeps scoring live instead
        log.exception("precompute failed", extra={"event": "precompute", "outcome": "error"})
        print(
            f"{PREFIX} failed ({type(error).__name__}); the dashboard scores the store live",
            flush=True,
        )
        return 1
    finally:
        engine.dispose()
    print(f"{PREFIX} {report.in_words()}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
