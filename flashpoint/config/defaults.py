"""Where the packaged default config lives, and its parsed document (the methodology defaults)."""

from __future__ import annotations

import functools
import tomllib
from pathlib import Path
from typing import Any

# The `flashpoint` package directory (this module lives in its `config/` subpackage).
_PACKAGE_DIR = Path(__file__).resolve().parent.parent
_PACKAGED_DEFAULT = _PACKAGE_DIR / "default_config.toml"
_REPO_DEFAULT = _PACKAGE_DIR.parent / "config.toml"


def default_config_path() -> Path:
    """The packaged default config (wheel), else the repository's `config.toml` (editable)."""
    return _PACKAGED_DEFAULT if _PACKAGED_DEFAULT.is_file() else _REPO_DEFAULT


@functools.cache
def _default_document() -> dict[str, Any]:
    path = default_config_path()
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError):
        # The default file is validated by load_config and the test suite; a broken copy
        # must not make `Settings()` itself unusable.
        return {}
