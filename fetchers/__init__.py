"""Fetchers: one module per source; the registry maps source names to fetcher classes.

The refresh, the CLI and the scheduler look sources up here by name (never if/elif). To add a
source: write `fetchers/<name>.py` with a `fetchers.base.BaseFetcher` subclass whose `name` is the
config's `[sources.<name>]` key, import it below and add it to `_FETCHERS`, and add its
fault-matrix case as `tests/fetchers/cases/<name>.py` (see `tests/support/fault_matrix.py`).
"""

from __future__ import annotations

from fetchers.acled import AcledFetcher
from fetchers.analyst import AnalystFetcher
from fetchers.base import Fetcher
from fetchers.brazil_anp import BrazilAnpFetcher
from fetchers.eia import EiaFetcher
from fetchers.eu_oil_bulletin import EuOilBulletinFetcher
from fetchers.fred import FredFetcher
from fetchers.fx import FxFetcher
from fetchers.gdelt import GdeltFetcher
from fetchers.imf import ImfFetcher
from fetchers.malaysia_fuelprice import MalaysiaFuelpriceFetcher
from fetchers.nbk import NbkFetcher
from fetchers.nz_mbie import NzMbieFetcher
from fetchers.wfp import WfpFetcher
from fetchers.worldbank import WorldBankFetcher

# One entry per source, in refresh order.
_FETCHERS: tuple[type[Fetcher], ...] = (
    WorldBankFetcher,
    ImfFetcher,
    FredFetcher,
    EiaFetcher,
    GdeltFetcher,
    AcledFetcher,
    NbkFetcher,
    FxFetcher,
    EuOilBulletinFetcher,
    NzMbieFetcher,
    MalaysiaFuelpriceFetcher,
    BrazilAnpFetcher,
    AnalystFetcher,
    WfpFetcher,
)

REGISTRY: dict[str, type[Fetcher]] = {fetcher.name: fetcher for fetcher in _FETCHERS}


def get_fetcher(name: str) -> Fetcher:
    """A new instance of the fetcher registered as `name` (KeyError naming the known ones)."""
    try:
        fetcher_class = REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(REGISTRY)) or "none"
        raise KeyError(f"no fetcher registered as {name!r} (known: {known})") from None
    return fetcher_class()
