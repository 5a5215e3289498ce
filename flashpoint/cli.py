"""The `flashpoint` command line: one sub-command per module in `flashpoint.commands`."""

from __future__ import annotations

import argparse
import gc
import importlib
import logging
import sys
from collections.abc import Sequence

from flashpoint import __version__
from flashpoint.commands import COMMAND_MODULES
from flashpoint.errors import FlashpointError, ImportFileError
from flashpoint.logs import (
    RedactingStream,
    describe_os_error,
    one_line,
    write_crash_log,
)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every registered sub-command."""
    parser = argparse.ArgumentParser(
        prog="flashpoint",
        description="Flashpoint: a stability-risk monitor (fuel-price triggers × vulnerability).",
    )
    parser.add_argument("--version", action="version", version=f"flashpoint {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module_name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"flashpoint.commands.{module_name}")
        except ModuleNotFoundError as error:
            if error.name == f"flashpoint.commands.{module_name}":
                continue  # the room that owns this command has not landed yet
            raise
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the process exit status.

    Nothing reaches the user as a traceback, and nothing leaves unredacted: stdout and stderr
    pass through `fetchers.redact` while the command runs. Exit statuses:

        0   success
        1   a runtime error: an unreachable store, a failed source, any OS error (a missing
            directory, a path that is a directory, a full disk, permission denied)
        2   bad input: the config, a CSV file, a command-line value
        3   another scheduler holds the store's lock
        70  an internal error: one line here, the redacted traceback in a crash log file
        130 interrupted
    """
    # Building the parser imports every command module and, through them, pandas, SQLAlchemy
    # and the config's pydantic models: a few hundred thousand objects that live as long as the
    # process. The cyclic collector would walk them again and again while they are created
    # (about a tenth of a `flashpoint score`); none of them is garbage. So it pauses while the
    # parser is built, and the objects that exist then are kept out of its reach (gc.freeze)
    # while the command runs with it on again; unfrozen at the end for an in-process caller.
    collecting = gc.isenabled()
    gc.disable()
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        gc.freeze()
    finally:
        if collecting:
            gc.enable()
    stdout, stderr = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = RedactingStream(stdout), RedactingStream(stderr)
    try:
        return _run(args)
    finally:
        sys.stdout, sys.stderr = stdout, stderr
        gc.unfreeze()


def _say(message: str) -> None:
    print(one_line(f"flashpoint: error: {message}"), file=sys.stderr)


def _run(args: argparse.Namespace) -> int:
    try:
        status: int = args.handler(args)
    except (FlashpointError, ImportFileError) as error:
        _say(str(error))
        return error.exit_code
    except KeyboardInterrupt:
        logging.getLogger("flashpoint").warning("interrupted")
        return 130
    except OSError as error:
        _say(describe_os_error(error))
        return 1
    except Exception as error:  # the last resort: one line and a crash log, never a traceback
        crash_log = write_crash_log(error)
        where = f"; details in {crash_log}" if crash_log is not None else ""
        _say(f"internal error ({type(error).__name__}: {error}){where}")
        return 70
    return status


if __name__ == "__main__":
    raise SystemExit(main())
