"""Who a CLI edit is recorded as in the audit log (shared by the commands that write edits)."""

from __future__ import annotations

import argparse
import getpass


def cli_actor(args: argparse.Namespace) -> str:
    """`--by NAME` when given, else the login name with " (cli)", else "cli"."""
    if getattr(args, "by", None):
        return str(args.by)
    try:
        return f"{getpass.getuser()} (cli)"
    except (KeyError, OSError):  # no passwd entry for the uid (containers)
        return "cli"
