"""Flashpoint's own errors: each is turned by the CLI into one clear line and an exit code.

    FlashpointError
    ├── ConfigError          a bad or missing config.toml (names file, key path, problem)
    ├── StoreError           the store cannot be reached or is inconsistent
    └── LockHeldError        another scheduler already holds the store's lock

    ImportFileError          a bad analyst CSV (names file, row, column, problem): defined in
                             `fetchers.errors` (the parser lives in `fetchers.analyst_csv`),
                             re-exported here, and reported by the CLI like the errors above

Fetch errors have their own tree in `fetchers.errors`.
"""

from __future__ import annotations

from fetchers.errors import ImportFileError

__all__ = [
    "ConfigError",
    "FlashpointError",
    "ImportFileError",
    "LockHeldError",
    "StoreError",
]


class FlashpointError(Exception):
    """Base of the errors the CLI reports as one line."""

    exit_code = 1


class ConfigError(FlashpointError):
    """A configuration file is missing or invalid."""

    exit_code = 2

    def __init__(self, file: str, key_path: str, problem: str) -> None:
        self.file = file
        self.key_path = key_path
        self.problem = problem
        location = f"{file}: {key_path}" if key_path else file
        super().__init__(f"{location}: {problem}")


class StoreError(FlashpointError):
    """The store cannot be reached, created or read."""


class LockHeldError(FlashpointError):
    """Another scheduler process holds the store's scheduler lock."""

    exit_code = 3
