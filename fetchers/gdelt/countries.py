"""Where a GDELT event happened: FIPS 10-4 country codes → the ISO3 codes Flashpoint scores.

GDELT 1.0 and 2.0 write `ActionGeo_CountryCode` as a FIPS 10-4 code. The base table is the
packaged `fetchers/data/fips_countries.json` (a verbatim third-party copy); the corrections in
`fetchers/data/fips_corrections.csv` win over it. They map what the World Bank scores as one
economy (Gaza `GZ` and West Bank `WE` → PSE; Guernsey `GK` and Jersey `JE` → CHI) and the
Serbia/Montenegro history (`YI` → SRB, `RB`/`RI` → SRB, `MJ` → MNE); each row says why.

`covered_iso3()` is the set of countries GDELT can place an event in at all. The fetcher
zero-fills a day or month only for those: a country outside it has no row ("no data"), never
a zero ("peaceful"). `NOT_MAPPED` lists the accepted ISO3 codes no FIPS code reaches, and why.
"""

from __future__ import annotations

import csv
import functools
import io
import json
from collections.abc import Mapping
from importlib import resources
from typing import Any

# Accepted country codes (indicators/data/iso3_countries.csv) that no GDELT FIPS code maps to.
NOT_MAPPED: Mapping[str, str] = {
    "CYN": "Northern Cyprus: GDELT places its events in Cyprus (CY → CYP)",
    "SOL": "Somaliland: GDELT places its events in Somalia (SO → SOM)",
    "KOS": "Natural Earth's code for Kosovo; GDELT's KV maps to the World Bank's XKX",
    "PSX": "Natural Earth's code for Palestine; GDELT's WE and GZ map to the World Bank's PSE",
    "SAH": "Natural Earth's code for Western Sahara; GDELT's WI maps to ESH",
    "SDS": "Natural Earth's code for South Sudan; GDELT's OD maps to the World Bank's SSD",
    "WLD": "the pseudo-country of world series, not a place",
}


@functools.cache
def fips_to_iso3() -> dict[str, str]:
    """FIPS 10-4 country code → ISO3: the packaged table with Flashpoint's corrections applied.

    Returns:
        The mapping (codes without an ISO3, e.g. oceans, are left out).
    """
    data = resources.files("fetchers").joinpath("data")
    table: dict[str, Any] = json.loads(data.joinpath("fips_countries.json").read_text("utf-8"))
    mapping = {
        fips: str(entry["iso3"])
        for fips, entry in table.items()
        if isinstance(entry, Mapping) and entry.get("iso3")
    }
    mapping.update(fips_corrections())
    return mapping


@functools.cache
def fips_corrections() -> dict[str, str]:
    """The rows of `fips_corrections.csv` as FIPS → ISO3.

    Returns:
        The corrections (they override `fips_countries.json`).
    """
    text = resources.files("fetchers").joinpath("data/fips_corrections.csv").read_text("utf-8")
    return {
        row["fips"].strip(): row["iso3"].strip()
        for row in csv.DictReader(io.StringIO(text))
        if row.get("fips") and row.get("iso3")
    }


@functools.cache
def covered_iso3() -> frozenset[str]:
    """The ISO3 codes some FIPS code maps to: where GDELT can report an event at all.

    Returns:
        The covered countries.
    """
    return frozenset(fips_to_iso3().values())
