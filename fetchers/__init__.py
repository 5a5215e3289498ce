"""Fetchers: one module per source; the registry maps source names to fetcher classes.

The refresh, the CLI and the scheduler look sources up here by name (never if/elif). To add a
source: write `fetchers/<name>.py` with a `fetchers.base.BaseFetcher` subclass whose `name` is the
config's `[sources.<name>]` key, name it (module, class) in `_FETCHERS`, and add its
fault-matrix case as `tests/fetchers/cases/<name>.py` (see `tests/support/fault_matrix.py`).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fetchers.base import Fetcher

# One entry per source, in refresh order: (module, class). The fetcher modules (and `requests`)
# are imported on first use of the registry only, so importing a light module of this package
# (`fetchers.redact`, `fetchers.policy_calendar`, as the dashboard does) does not import them all.
_FETCHERS: tuple[tuple[str, str], ...] = (
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


def registry() -> dict[str, type[Fetcher]]:
    """Source name → fetcher class, in refresh order (also `fetchers.REGISTRY`)."""
    known = globals().get("REGISTRY")
    if known is None:
        classes: list[type[Fetcher]] = [
            getattr(import_module(module), name) for module, name in _FETCHERS
        ]
        # Kept as a plain module attribute: later lookups (and tests that patch it) see one dict.
        known = globals()["REGISTRY"] = {fetcher.name: fetcher for fetcher in classes}
    return known


def __getattr__(name: str) -> dict[str, type[Fetcher]]:
    if name == "REGISTRY":  # built on first access (see `_FETCHERS`)
        return registry()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def get_fetcher(name: str) -> Fetcher:
    """A new instance of the fetcher registered as `name` (KeyError naming the known ones)."""
    fetchers = registry()
    try:
        fetcher_class = fetchers[name]
    except KeyError:
        known = ", ".join(sorted(fetchers)) or "none"
        raise KeyError(f"no fetcher registered as {name!r} (known: {known})") from None
    return fetcher_class()
