"""Which secrets the configuration points at, registered with the redaction layer.

Every `*_env` key names an environment variable holding a secret (API keys, passwords, the
admin password, secret webhook URLs); the store URL may carry a password. `load_config`
registers all of them with `fetchers.redact`, so no output channel can show them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from typing import Any

from pydantic import BaseModel

from fetchers.redact import register_env_secrets, register_url_secrets


def secret_env_names(model: Any) -> Iterator[str]:
    """The values of every `*_env` key in a config model tree (environment variable names)."""
    if isinstance(model, BaseModel):
        for name in type(model).model_fields:
            value = getattr(model, name)
            if name.endswith("_env") and isinstance(value, str):
                if value:
                    yield value
            else:
                yield from secret_env_names(value)
    elif isinstance(model, Mapping):
        for value in model.values():
            yield from secret_env_names(value)
    elif isinstance(model, list | tuple):
        for value in model:
            yield from secret_env_names(value)


def register_config_secrets(
    settings: Any, *, environ: Mapping[str, str] | None = None, extra_urls: tuple[str, ...] = ()
) -> None:
    """Register every secret the settings name with the redaction layer."""
    env = os.environ if environ is None else environ
    register_env_secrets(secret_env_names(settings), env)
    register_url_secrets(getattr(getattr(settings, "store", None), "url", ""))
    for url in extra_urls:
        register_url_secrets(url)
