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
from flashpoint.config.settings import Settings
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

    try:
        settings = Settings.model_validate(document)
    except ValidationError as error:
        raise _validation_error(shown, document, error) from None
    settings = settings.model_copy(update={"config_path": config_path.resolve()})
    _resolve_analyst_files(settings)

    problems = check_references(settings)
    if problems:
        key_path, problem = problems[0]
        more = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
        raise ConfigError(shown, key_path, problem + more)

    database_url = os.environ.get(DATABASE_URL_ENV, "")
    if database_url:
        settings.store = settings.store.model_copy(update={"url": database_url})
    return settings


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
