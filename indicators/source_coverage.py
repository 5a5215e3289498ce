"""Which scored countries a source does not cover: the documented "not covered" lists.

A country the World Bank scores either maps in a source's code table (GDELT's FIPS codes, the
UCDP panel's country codes, Transparency International's country names) or is listed in the
packaged `data/source_coverage.csv` with the reason the source has nothing for it. A listed
country has no row of that source's indicators, so scoring treats the input as **missing** ("no
data": lower confidence, excluded from its pillar), never as a zero ("peaceful", "clean").
`tests/indicators/test_source_coverage.py` fails when a scored country neither maps nor is listed,
and when a listed country has started to map (the list must not go stale).

Sources (`SOURCE_INDICATORS`): `gdelt_monthly` — the bundled GDELT monthly counts (the live GDELT
fetcher's FIPS table, `fetchers.gdelt.covered_iso3`, reaches every scored country; the bundled
third-party monthly file does not); `ucdp` — the UCDP GED country-month panel; `ti_cpi` — the TI
Corruption Perceptions Index.
"""

from __future__ import annotations

import csv
import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

_COVERAGE_FILE = Path(__file__).resolve().parent / "data" / "source_coverage.csv"

# The indicators each listed source supplies (their rows are what "covered" means).
SOURCE_INDICATORS: Mapping[str, tuple[str, ...]] = {
    "gdelt_monthly": ("protest_events",),
    "ucdp": ("ucdp_fatalities",),
    "ti_cpi": ("ti_cpi",),
}


@functools.cache
def not_covered() -> dict[str, dict[str, str]]:
    """Source → {ISO3 → why the source has nothing for it}, from `data/source_coverage.csv`.

    Returns:
        One entry per source of `SOURCE_INDICATORS` (empty when nothing is listed).
    """
    table: dict[str, dict[str, str]] = {source: {} for source in SOURCE_INDICATORS}
    with _COVERAGE_FILE.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            table.setdefault(row["source"], {})[row["iso3"]] = row["reason"]
    return table


@dataclass(frozen=True)
class CoverageGaps:
    """How a source's code table and its not-covered list disagree with the scored countries.

    Attributes:
        unmapped: scored countries the table does not reach and the list does not name.
        stale: listed countries the table now reaches (the entry should go).
        not_scored: listed countries that are not scored at all (a typo or a dropped country).
    """

    unmapped: tuple[str, ...]
    stale: tuple[str, ...]
    not_scored: tuple[str, ...]

    @property
    def ok(self) -> bool:
        """No gap of any kind."""
        return not (self.unmapped or self.stale or self.not_scored)


def coverage_gaps(
    scored: Iterable[str], mapped: Iterable[str], listed: Iterable[str]
) -> CoverageGaps:
    """Compare the scored countries with a source's mapped codes and its not-covered list.

    Args:
        scored: the ISO3 codes scored (the World Bank's countries).
        mapped: the ISO3 codes the source's code table reaches.
        listed: the ISO3 codes listed as not covered by the source.

    Returns:
        The `CoverageGaps` (each part sorted).
    """
    scored_set, mapped_set, listed_set = set(scored), set(mapped), set(listed)
    return CoverageGaps(
        unmapped=tuple(sorted(scored_set - mapped_set - listed_set)),
        stale=tuple(sorted(listed_set & mapped_set)),
        not_scored=tuple(sorted(listed_set - scored_set)),
    )
