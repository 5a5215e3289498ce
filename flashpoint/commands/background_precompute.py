"""The precompute `flashpoint dashboard` starts beside the server when today's panel is missing.

Run as `python -m flashpoint.commands.background_precompute --config FILE --server-alive-fd N`,
where N is the read end of a pipe whose write end the server holds open while it runs.
The server answers at once (its first pages score the store live, as before); once this has
stored today's panel and composite history, every later page reads them instead. It stops
quietly when the server it serves has gone (the pipe reads end-of-file), so no orphan keeps
writing to the store. It detaches first (a fork whose parent exits at once): the server never
becomes its parent, since Streamlit would not reap it when it ends.
"""

from __future__ import annotations

import argparse
import logging
import os
import select
import sys
from collections.abc import Sequence
from pathlib import Path

from flashpoint.config import load_config

log = logging.getLogger("flashpoint.precompute")
PREFIX = "background precompute:"


class ServerGone(Exception):
    """The dashboard server this precompute was started for has exited."""


def server_has_exited(server_alive_fd: int) -> bool:
    """True once every write end of the pipe has closed: nobody writes to it, so it is readable
    only at end-of-file, which the kernel signals when the server (its last holder) has gone."""
    readable, _, _ = select.select([server_alive_fd], [], [], 0)
    return bool(readable)


def detach() -> None:
    """Carry on in a child whose parent exits at once, so whoever launched this reaps the
    parent and the child is adopted by init, which reaps it when it ends."""
    if os.fork() != 0:
        os._exit(0)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m flashpoint.commands.background_precompute")
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--server-alive-fd", type=int, required=True)
    parser.add_argument(
        "--no-detach", action="store_true", help="stay in the foreground (tests)"
    )
    args = parser.parse_args(argv)
    if not args.no_detach:
        detach()

    from flashpoint import store
    from flashpoint.precompute import precompute

    def progress(line: str) -> None:
        if server_has_exited(args.server_alive_fd):
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
