"""The `flashpoint` command line: one sub-command per module in `flashpoint.commands`."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from flashpoint import __version__
from flashpoint.commands import COMMAND_MODULES
from flashpoint.errors import FlashpointError, ImportFileError


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

    Known errors (bad config, bad CSV, unreachable store) print one clear line to stderr and
    exit non-zero, never a traceback.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        status: int = args.handler(args)
    except (FlashpointError, ImportFileError) as error:
        print(f"flashpoint: error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        logging.getLogger("flashpoint").warning("interrupted")
        return 130
    return status


if __name__ == "__main__":
    raise SystemExit(main())
