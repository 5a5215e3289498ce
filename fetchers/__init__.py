"""Fetchers: one module per source; the registry maps source names to fetcher classes.

The refresh, the CLI and the scheduler look sources up here by name (never if/elif). To add a
source: write `fetchers/<name>.py` with a `fetchers.base.BaseFetcher` subclass whose `name` is the
config's `[sources.<name>]` key, add it to `_FETCHER_CLASSES` below, and add its fault-matrix case
as `tests/fetchers/cases/<name>.py` (see `tests/support/fault_matrix.py`).

The registry is built on first use (`REGISTRY`, `get_fetcher`), not when the package is imported:
every `import fetchers.<module>` runs this file, and the light modules the whole shell uses
(`fetchers.errors`, `fetchers.redact`, `fetchers.policy_calendar`) must not pull in every source,
`requests` and its TLS stack — that made `flashpoint score` pay for fetchers it never calls.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fetchers.base import Fetcher

    REGISTRY: dict[str, type[Fetcher]]

# One entry per source, in refresh order: (module, class).
_FETCHER_CLASSES: tuple[tuple[str, str], ...] = (
    ("fetchers.worldbank", "WorldBankFetcher"),
    ("fetchers.imf", "ImfFetcher"),
    ("fetchers.fred", "FredFetcher"),
    ("fetchers.eia", "EiaFetcher"),
    ("fetchers.gdelt", "GdeltFetcher"),
    ("fetchers.acled", "AcledFetcher"),
    ("fetchers.nbk", "NbkFetcher"),
    ("fetchers.fx", "FxFetcher"),
    ("fetchers.eu_oil_bulletin", "EuOilBulletinFetcher"),
    ("fetchers.nz_mbie", "NzMbieFetcher"),
    ("fetchers.malaysia_fuelprice", "MalaysiaFuelpriceFetcher"),
    ("fetchers.brazil_anp", "BrazilAnpFetcher"),
    ("fetchers.analyst", "AnalystFetcher"),
    ("fetchers.wfp", "WfpFetcher"),
)


def _registry() -> dict[str, type[Fetcher]]:
    """The registry, built (importing every fetcher module) on the first call only."""
    built: dict[str, type[Fetcher]] | None = globals().get("REGISTRY")
    if built is None:
        classes: list[type[Fetcher]] = [
            getattr(importlib.import_module(module), class_name)
            for module, class_name in _FETCHER_CLASSES
        ]
        built = {fetcher.name: fetcher for fetcher in classes}
        # From now on an ordinary module attribute: the same dict every time, so callers (and
        # tests) can patch it in place.
        globals()["REGISTRY"] = built
    return built


def __getattr__(name: str) -> object:
    # PEP 562: only reached while `REGISTRY` is not built yet (and for unknown names).
    if name == "REGISTRY":
        return _registry()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def get_fetcher(name: str) -> Fetcher:
    """A new instance of the fetcher registered as `name` (KeyError naming the known ones)."""
    registry = _registry()
    try:
        fetcher_class = registry[name]
    except KeyError:
        known = ", ".join(sorted(registry)) or "none"
        raise KeyError(f"no fetcher registered as {name!r} (known: {known})") from None
    return fetcher_class()
