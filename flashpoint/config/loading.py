"""Loading: which file is read, validating and cross-checking it, and the CLI's `--config` glue."""

from __future__ import annotations

import argparse
import os
import tomllib
from pathlib import Path

from pydantic import ValidationError

from flashpoint.config.checks import check_references
from flashpoint.config.defaults import default_config_path
from flashpoint.config.messages import _toml_syntax_error, _validation_error
from flashpoint.config.secrets import register_config_secrets
from flashpoint.config.settings import Settings, store_url_problem
from flashpoint.errors import ConfigError

CONFIG_ENV = "FLASHPOINT_CONFIG"
DATABASE_URL_ENV = "FLASHPOINT_DATABASE_URL"


def resolve_config_path(path: Path | str | None = None) -> Path:
    """Which file `load_config(path)` reads: `path`, $FLASHPOINT_CONFIG, ./config.toml, default."""
    if path is not None and str(path) != "":
        return Path(path)
    from_env = os.environ.get(CONFIG_ENV, "")
    if from_env:
        return Path(from_env)
    local = Path("config.toml")
    if local.is_file():
        return local
    return default_config_path()


def load_config(path: Path | str | None = None) -> Settings:
    """Read, validate and cross-check a config file.

    Args:
        path: the file to read; None resolves $FLASHPOINT_CONFIG, ./config.toml, then the
            packaged default.

    Returns:
        The validated settings, with $FLASHPOINT_DATABASE_URL applied to `store.url`.

    Raises:
        ConfigError: naming the file, the key path and the problem.
    """
    config_path = resolve_config_path(path)
    shown = str(config_path)
    try:
        with config_path.open("rb") as handle:
            document = tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(shown, "", "file not found") from None
    except IsADirectoryError:
        raise ConfigError(shown, "", "is a directory, not a TOML file") from None
    except OSError as error:
        raise ConfigError(shown, "", f"cannot read: {error.strerror or error}") from None
    except tomllib.TOMLDecodeError as error:
        raise _toml_syntax_error(shown, error) from None
    except UnicodeDecodeError as error:
        raise _encoding_error(shown, config_path, error) from None

    try:
        settings = Settings.model_validate(document)
    except ValidationError as error:
        raise _validation_error(shown, document, error) from None
    settings = settings.model_copy(update={"config_path": config_path.resolve()})
    _resolve_analyst_files(settings)
    _check_data_dir(shown, settings)

    problems = check_references(settings)
    if problems:
        key_path, problem = problems[0]
        more = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
        raise ConfigError(shown, key_path, problem + more)

    database_url = os.environ.get(DATABASE_URL_ENV, "")
    # Before anything can echo them: the secrets this config names never reach an output.
    register_config_secrets(settings, extra_urls=(database_url,))
    if database_url:
        problem = store_url_problem(database_url)
        if problem:
            raise ConfigError(f"${DATABASE_URL_ENV}", "", problem)
        settings.store = settings.store.model_copy(update={"url": database_url})
    return settings


def _encoding_error(shown: str, path: Path, error: UnicodeDecodeError) -> ConfigError:
    """Name the line and column of the first byte that is not UTF-8 (TOML files are UTF-8)."""
    try:
        raw = path.read_bytes()
    except OSError:
        return ConfigError(shown, "", "is not valid UTF-8 text (TOML files must be UTF-8)")
    before = raw[: error.start]
    line = before.count(b"\n") + 1
    column = error.start - (before.rfind(b"\n") + 1) + 1
    return ConfigError(
        shown,
        f"line {line}, column {column}",
        f"byte 0x{raw[error.start]:02x} is not valid UTF-8 (TOML files must be UTF-8; "
        "re-save the file as UTF-8)",
    )


def _check_data_dir(shown: str, settings: Settings) -> None:
    """A data directory that exists as a file (or under a file) can never hold the store."""
    path = settings.data_path
    for candidate in (path, *path.parents):
        if candidate.exists():
            if not candidate.is_dir():
                what = "is a file" if candidate == path else f"is under {candidate}, a file"
                raise ConfigError(
                    shown, "general.data_dir", f"{str(path)!r} {what}, not a directory"
                )
            return


def _resolve_analyst_files(settings: Settings) -> None:
    """Make relative analyst CSV paths relative to the config file, as the docs promise.

    The fetcher runs wherever the scheduler was started; resolving here keeps
    `files = ["prices.csv"]` next to config.toml working from any working directory.
    """
    if settings.config_path is None:
        return
    base = settings.config_path.parent
    analyst = settings.sources.analyst
    resolved = [
        item if "://" in item or Path(item).expanduser().is_absolute()
        else str(base / item)
        for item in analyst.files
    ]
    settings.sources.analyst = analyst.model_copy(update={"files": resolved})


def add_config_argument(parser: argparse.ArgumentParser) -> None:
    """Add the `--config PATH` option every `flashpoint` command takes."""
    parser.add_argument(
        "--config",
        metavar="PATH",
        default=None,
        help=f"config file (default: ${CONFIG_ENV}, else ./config.toml, else the packaged default)",
    )


def settings_from_args(args: argparse.Namespace) -> Settings:
    """Load the settings named by a parsed `--config` option (see `add_config_argument`)."""
    return load_config(getattr(args, "config", None))
