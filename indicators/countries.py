"""The ISO3 country codes Flashpoint accepts, with their names (packaged `data/iso3_countries.csv`).

Below both the shell and the fetchers: config validation, scoring, alerts, the World Bank fetcher
and the analyst CSV parser all read this one table (provenance: `data/iso3_countries.SOURCES.md`).
"""

from __future__ import annotations

import csv
import functools
from pathlib import Path

_ISO3_FILE = Path(__file__).resolve().parent / "data" / "iso3_countries.csv"


@functools.cache
def iso3_countries() -> dict[str, str]:
    """ISO3 code → name of every country code Flashpoint accepts (incl. `WLD`, the world).

    Returns:
        The codes in file order (sorted), each with its English name.
    """
    with _ISO3_FILE.open(encoding="utf-8", newline="") as handle:
        return {row["iso3"]: row["name"] for row in csv.DictReader(handle)}
