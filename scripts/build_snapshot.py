"""Build the bundled real-data snapshot (flashpoint/snapshot_data/) from the copies in data/.

Run from the repository root:  .venv/bin/python scripts/build_snapshot.py

Writes, deterministically (same inputs → byte-identical files):
  observations.csv.gz  canonical long format (docs/ARCHITECTURE.md §1) without `fetched_at`,
                       which the loader sets; rows sorted by (indicator, country, vintage,
                       period); gzip without name and with mtime 0
  events.csv           annotations (country, date, title, description, source_url)
  manifest.json        per dataset: inputs with SHA-256, origin, commit, licence, rows,
                       indicators, rules; the name maps and the fuel-price points with sources
  SOURCES.md, LICENCES provenance and licences of everything bundled

`built_at` follows the reproducible-builds convention: `--built-at`, else `$SOURCE_DATE_EPOCH`,
else the commit time of the newest commit touching any input file (so rebuilding unchanged inputs
changes nothing).
"""

from __future__ import annotations

import argparse
import csv
import gzip
import hashlib
import importlib.util
import io
import json
import math
import os
import re
import subprocess
import sys
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from fetchers.analyst_csv import regional_priority

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA_DIR = REPO_ROOT / "data"
DEFAULT_OUT_DIR = REPO_ROOT / "flashpoint" / "snapshot_data"
# Natural Earth's country list is a cross-check, not an input: the dashboard room owns the geo/
# copies, and the snapshot must build from data/ alone on a fresh clone. When the map is found, the
# build verifies that no dropped aggregate is a country on it and that every TI name the map also
# knows resolves to the map's ISO3; the output never depends on whether it was found.
NATURAL_EARTH_CANDIDATES = (
    Path("geo/ne_110m_admin_0_countries.geojson"),  # relative to the data directory
    REPO_ROOT.parent / "shared" / "data" / "geo" / "ne_110m_admin_0_countries.geojson",
)

SNAPSHOT_FORMAT = 1
SNAPSHOT_COLUMNS = (
    "indicator",
    "country",
    "period",
    "value",
    "unit",
    "source",
    "vintage",
    "is_forecast",
    "published_at",
)
EVENT_COLUMNS = ("country", "date", "title", "description", "source_url")
WORLD = "WLD"

# --- WDI ---------------------------------------------------------------------------------------

WDI_INDICATORS: dict[str, tuple[str, str]] = {
    "FP.CPI.TOTL.ZG": ("cpi_inflation", "%"),
    "SL.UEM.TOTL.ZS": ("unemployment", "%"),
    "SL.UEM.1524.MA.ZS": ("youth_unemployment_male", "%"),
    "SL.UEM.1524.FE.ZS": ("youth_unemployment_female", "%"),
    "NY.GDP.MKTP.KD.ZG": ("gdp_growth", "%"),
    "SI.POV.GINI": ("gini", "index"),
    "SI.DST.10TH.10": ("top10_income_share", "%"),
    "SI.POV.NAHC": ("poverty_national", "%"),
    "SI.POV.DDAY": ("poverty_international", "%"),
    "VC.IHR.PSRC.P5": ("homicide_rate", "per 100k"),
    "NY.GDP.TOTL.RT.ZS": ("resource_rents", "% GDP"),
    "TX.VAL.FUEL.ZS.UN": ("fuel_exports_share", "% merch. exports"),
    "PA.NUS.FCRF": ("fx_rate_annual", "LCU per USD"),
}

# World Bank region / income / lending / demographic groups (the API's `region.id == "NA"` entries).
# A WDI code is dropped only if it is in this list AND is not a country code of the Natural Earth
# map; every other code (small states and territories too small for the 1:110m map) is kept.
_AGGREGATES_TEXT = """
    AFE AFW ARB CEB CSS EAP EAR EAS ECA ECS EMU EUU FCS HIC HPC IBD IBT IDA IDB IDX INX LAC LCN
    LDC LIC LMC LMY LTE MEA MIC MNA NAC OED OSS PRE PSS PST SAS SSA SSF SST TEA TEC TLA TMN TSA
    TSS UMC WLD
"""
WB_AGGREGATE_CODES = frozenset(_AGGREGATES_TEXT.split())

# --- WGI ---------------------------------------------------------------------------------------

WGI_UNIT = "−2.5…2.5"
WGI_2020_INDICATORS = {
    "VoiceandAccountability": "wgi_voice_accountability",
    "PoliticalStability": "wgi_political_stability",
    "GovernmentEffectiveness": "wgi_government_effectiveness",
    "RegulatoryQuality": "wgi_regulatory_quality",  # context only: not in a scored pillar
    "RuleofLaw": "wgi_rule_of_law",
    "ControlofCorruption": "wgi_control_of_corruption",
}
WGI_2025_INDICATORS = {
    "voice_acct": "wgi_voice_accountability",
    "pol_stb": "wgi_political_stability",
    "govt_eff": "wgi_government_effectiveness",
    "reg_qual": "wgi_regulatory_quality",
    "rule_law": "wgi_rule_of_law",
    "cont_corr": "wgi_control_of_corruption",
}
# The WGI file uses World Bank codes that differ from ISO 3166-1 alpha-3 (XKX: the code WDI uses).
WB_TO_ISO3 = {"ROM": "ROU", "ZAR": "COD", "KSV": "XKX", "TMP": "TLS", "WBG": "PSE", "ADO": "AND"}
# Release dates: point-in-time scoring must not see a release before it was public.
WGI_2020_PUBLISHED = date(2020, 9, 25)
# The 2025 pull holds data to 2023, i.e. the WGI 2024 update, published in autumn 2024; the exact
# day is not recorded in the provenance, so the first of October 2024 is used.
WGI_2025_PUBLISHED = date(2024, 10, 1)

# --- TI CPI ------------------------------------------------------------------------------------

# Spellings in the TI files that neither the WDI nor the WGI names match (after normalise_name()).
# Short names first (Natural Earth's NAME agrees with each), then the TI files' own typos.
TI_NAME_ALIASES = {
    "bahamas": "BHS",
    "brunei": "BRN",
    "congo": "COG",  # TI's "Congo" is the Republic of the Congo (Brazzaville)
    "democratic republic of the congo": "COD",
    "dominican rep": "DOM",
    "egypt": "EGY",
    "gambia": "GMB",
    "iran": "IRN",
    "ivory coast": "CIV",
    "kyrgyzstan": "KGZ",
    "laos": "LAO",
    "macedonia": "MKD",
    "north korea": "PRK",
    "palestine": "PSE",
    "russia": "RUS",
    "slovakia": "SVK",
    "south korea": "KOR",
    "syria": "SYR",
    "taiwan": "TWN",
    "united states of america": "USA",
    "venezuela": "VEN",
    "yemen": "YEM",
    "australias": "AUS",
    "cape verde": "CPV",
    "congo brazzaville": "COG",
    "congo republic": "COG",
    "congo republic of": "COG",
    "congo republic of the": "COG",
    "republic of congo": "COG",
    "congo democratic republic": "COD",
    "democratic republic of congo": "COD",
    "the democratic republic of congo": "COD",
    "cote d ivorie": "CIV",
    "cote divoire": "CIV",  # Latin-1 file: a cp1252 right quote (0x92) between d and Ivoire
    "czech rep": "CZE",
    "czech republik": "CZE",
    "fyr macedonia": "MKD",
    "the fyr of macedonia": "MKD",
    "macedonia former yugoslav republic of": "MKD",
    "hong kong": "HKG",
    "korea north": "PRK",
    "korea south": "KOR",
    "kuweit": "KWT",
    "luxemburg": "LUX",
    "macau": "MAC",
    "moldovaa": "MDA",
    "palestinian authority": "PSE",
    "saint lucia": "LCA",
    "saint vincent and the grenadines": "VCT",
    "sao tombe and principe": "STP",
    "taijikistan": "TJK",
    "the netherlands": "NLD",
    "the united states of america": "USA",
    "uk": "GBR",
    "unit kingd": "GBR",
    "usa": "USA",
    "vanautu": "VUT",
}
# Rows that are not one of today's countries: skipped on purpose and listed in the manifest.
TI_NOT_A_COUNTRY = {
    "belgium luxembourg": "a joint Belgium/Luxembourg entry (1995 only): cannot be split",
    "global avarage": "TI's global average, not a country",
    "serbia and montenegro": "a state union dissolved in 2006: no successor takes its series",
    "yugoslavia": "FR Yugoslavia, dissolved: no successor takes its series",
}
TI_FIRST_WIDE_YEAR = 2012

# --- KZ fuel prices ----------------------------------------------------------------------------

KZ_RETAIL_FUELS = {
    "LPG (autogas)": "fuel_lpg_retail",
    "AI-92/93 gasoline": "fuel_gasoline_retail",
    "diesel": "fuel_diesel_retail",
    "diesel (summer/off-season)": "fuel_diesel_retail",
}
KZ_RETAIL_PRICE_TYPES = ("retail", "retail_cap")

# The catalogue's unit for usd_fx_rate (the live NBK fetcher writes the same); for KAZ it is KZT.
USD_FX_UNIT = "LCU per USD"


@dataclass(frozen=True)
class Dataset:
    """One bundled dataset: where it came from and under which terms."""

    name: str
    inputs: tuple[str, ...]
    origin: str
    commit: str
    licence: str
    attribution: str
    rules: str
    extra_inputs: tuple[str, ...] = ()  # provenance files hashed but not parsed


@dataclass(frozen=True)
class PartDataset(Dataset):
    """A dataset contributed by a module of scripts/snapshot_parts/ (one per source family).

    `build(data_dir)` returns the rows in the snapshot layout (see `frame`). Parts keep each new
    source's parsing beside its own provenance, so adding a source never edits this file.
    """

    build: Callable[[Path], pd.DataFrame] | None = None


def snapshot_parts() -> tuple[PartDataset, ...]:
    """Every `part_datasets(kit)` of the modules in scripts/snapshot_parts/, in file-name order.

    `kit` is this module (run as a script it is `__main__`), so a part uses `kit.PartDataset`,
    `kit.frame`, `kit.read_text_csv`, `kit.to_number` … without importing the script twice.
    """
    parts_dir = Path(__file__).resolve().parent / "snapshot_parts"
    found: list[PartDataset] = []
    for path in sorted(parts_dir.glob("[!_]*.py")):
        spec = importlib.util.spec_from_file_location(f"snapshot_parts.{path.stem}", path)
        if spec is None or spec.loader is None:
            raise SystemExit(f"cannot load snapshot part {path.name}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        found.extend(module.part_datasets(sys.modules[__name__]))
    return tuple(found)


DATASETS: tuple[Dataset, ...] = (
    Dataset(
        name="wdi",
        inputs=tuple(f"wdi/{code}.csv" for code in WDI_INDICATORS),
        extra_inputs=tuple(f"wdi/{code}.datapackage.json" for code in WDI_INDICATORS),
        origin="github.com/datasets/world-development-indicators (indicators/<code>/data.csv)",
        commit="4ebec5a2273f531ba238a34dbe440394dc5a6c4b",
        licence="CC-BY-4.0",
        attribution="World Bank, World Development Indicators (CC BY 4.0).",
        rules=(
            "Annual values, period = YYYY-01-01. Countries only: the 49 World Bank aggregate codes "
            "(regions, income, lending and demographic groups: ARB, ECS, WLD … listed under "
            "wdi_dropped_aggregates) are dropped; the build verifies that none of them is a "
            "country code (ADM0_A3/ISO_A3/ISO_A3_EH/WB_A3) of the Natural Earth 1:110m map. Every "
            "other code is kept, including states and territories too small for that map "
            "(ABW, AND, MCO …) and the WB codes XKX (Kosovo) and CHI (Channel Islands). "
            "published_at empty (the catalogue's publication lag applies)."
        ),
    ),
    Dataset(
        name="wgi",
        inputs=("wgi/wgi_all_countries_1996-2019_long.csv", "wgi/wgi_estimates_KAZ_1996-2023.csv"),
        origin=(
            "2020 release, all countries: github.com/Global-Development-and-Politics-of-Data/"
            "Chapter12_Governance data/2020_Worldwide_Governance_Indicators_1996-2019.csv; "
            "2025 API pull, KAZ rows: github.com/OHI-Science/ohiprep_v2025 globalprep/prs_res_wgi/"
            "v2025/raw/worldbank_wgi_from_api_2025.csv"
        ),
        commit=(
            "5814fa5a2100f79e70aab6ec9aab7e9c72f6dbed (2020 release); "
            "a0ccb52ca4e1eec3273da4c2f128f8cf3582feec (2025 pull)"
        ),
        licence="CC-BY-4.0",
        attribution="World Bank, Worldwide Governance Indicators (CC BY 4.0).",
        rules=(
            "Estimates only (not ranks). Two releases kept apart by `vintage`: '2020' (all "
            f"countries, published_at {WGI_2020_PUBLISHED}) and '2025' (KAZ, the WGI 2024 update "
            f"pulled in 2025, published_at {WGI_2025_PUBLISHED}, approximate: autumn 2024). "
            "WB codes mapped to ISO3: "
            + ", ".join(f"{k}→{v}" for k, v in sorted(WB_TO_ISO3.items()))
            + ". RegulatoryQuality is kept as wgi_regulatory_quality (context)."
        ),
    ),
    Dataset(
        name="ti-cpi",
        inputs=("ti-cpi/cpi_2012-2022_wide.csv", "ti-cpi/cpi_1995-2017.csv"),
        origin=(
            "2012–2022: github.com/oajellis/CPI-Data-Visualisation "
            "'CPI by country by year csv.csv'; "
            "1995–2011: github.com/datasets/corruption-perceptions-index data/cpi.csv"
        ),
        commit=(
            "f1f948f3d4b1ff69c096db1d94ceb7543d02ca20 (2012–2022); "
            "5aa21955206d806593352402afd68f2a52ebc2f6 (1995–2017)"
        ),
        licence="Transparency International terms (attribution); packaging PDDL-1.0",
        attribution="Transparency International, Corruption Perceptions Index.",
        rules=(
            "Scores 0–100. 2012–2022 from the wide 0–100 file; years before 2012 from the "
            "1995–2017 file (Latin-1, 0–10 scale ×10, 0.0 = not ranked → no row); pre-2012 scores "
            "use TI's old method and are not strictly comparable with 2012+. Country names → "
            "ISO3 via the WDI names, the WGI names and an explicit alias table (checked against "
            "Natural Earth's names); names that are no country today are skipped and listed in "
            "the manifest. published_at = 31 January of the following year (TI publishes late "
            "January; earlier releases came sooner, so this is conservative)."
        ),
    ),
    Dataset(
        name="gdelt-monthly",
        inputs=("gdelt-monthly/gdelt1_country_month_protest_conflict_1985-2024.csv",),
        extra_inputs=("gdelt-monthly/fips_to_iso2_mapping_used.csv",),
        origin=(
            "github.com/Ahmed-Ansari02/COMP0197_CW2 data/processed/member_a/gdelt_events.csv "
            "(BigQuery aggregate of gdelt-bq.full.events by ActionGeo country and month)"
        ),
        commit="94913006439c42033397f3a032a0dffeaa537260",
        licence="GDELT open data (use with citation); repository without licence file",
        attribution="GDELT Project (gdeltproject.org), aggregated by Ahmed-Ansari02/COMP0197_CW2.",
        rules=(
            "protest_events = EventRootCode 14, conflict_events = roots 18–20, per country-month, "
            "period = first of the month; zero months as in the source (zero-filled there). "
            "Goldstein mean not bundled. published_at empty (catalogue lag applies)."
        ),
    ),
    Dataset(
        name="ucdp",
        inputs=("ucdp/ucdp_ged_country_month_1985-2024.csv",),
        origin="github.com/Ahmed-Ansari02/COMP0197_CW2 data/processed/member_a/ucdp_panel.csv",
        commit="94913006439c42033397f3a032a0dffeaa537260",
        licence="CC-BY-4.0",
        attribution=(
            "UCDP Georeferenced Event Dataset v25.1 (Sundberg & Melander 2013; "
            "Davies et al. 2025), CC BY 4.0."
        ),
        rules=(
            "ucdp_fatalities = ucdp_fatalities_best per country-month (period = first of month). "
            "Only the 123 countries with at least one GED event are in the source; Kazakhstan is "
            "absent (no organised violence coded) and gets no rows: absence is not a zero series."
        ),
    ),
    Dataset(
        name="oil-prices",
        inputs=("oil-prices/brent-daily.csv", "oil-prices/wti-daily.csv"),
        extra_inputs=("oil-prices/datapackage.json",),
        origin="github.com/datasets/oil-prices data/{brent,wti}-daily.csv (EIA RBRTE, RWTC)",
        commit="2d75ce3a792c2f152619c10272e86052be3a8390",
        licence="public domain (EIA); packaging ODC-PDDL-1.0",
        attribution="U.S. Energy Information Administration.",
        rules=(
            "Daily spot, country WLD: brent_price, wti_price (USD/bbl). The negative WTI close of "
            "2020-04-20 is real and kept."
        ),
    ),
    Dataset(
        name="natural-gas",
        inputs=("natural-gas/henry-hub-daily.csv",),
        extra_inputs=("natural-gas/datapackage.json",),
        origin="github.com/datasets/natural-gas data/daily.csv (EIA Henry Hub spot)",
        commit="f7771269b6241e01e6b88408da03723029e2e82d",
        licence="public domain (EIA); packaging ODC-PDDL-1.0",
        attribution="U.S. Energy Information Administration.",
        rules="Daily spot, country WLD: henry_hub_price (USD/MMBtu); empty prices → no row.",
    ),
    Dataset(
        name="fuel-prices",
        inputs=("fuel-prices/fred-bulk-2019/DPROPANEMBTX.csv",),
        extra_inputs=("fuel-prices/fred-bulk-2019/README_SERIES_ID_SORT.txt",),
        origin=(
            "github.com/dynamic-trading-RL/dynamic-trading Databases/Commodities/GASALLW_csv_2/ "
            "(FRED bulk download of 2019-01-13, EIA data)"
        ),
        commit="503ff1ba9d5de8118554a4a4bd2178ebeff6fabd",
        licence="public domain (EIA via FRED)",
        attribution=(
            "U.S. Energy Information Administration, via FRED (Federal Reserve Bank of St. Louis)."
        ),
        rules=(
            "propane_price = DPROPANEMBTX (Mont Belvieu, TX, USD/gal), country WLD, 1992-07-09 → "
            "2019-01-07; '.' = missing → no row (never zero)."
        ),
    ),
    Dataset(
        name="nbk-fx",
        inputs=("nbk-fx/usd_kzt_official_daily.csv",),
        origin=(
            "github.com/makenerzhan-gif/kazakhstan-economic-data "
            "data/processed/nbk/exchange_rate.csv (National Bank of Kazakhstan official rates; "
            "constant `transformation` column dropped)"
        ),
        commit="086638567c99b91092c03e9c804f530926204383",
        licence="official NBK rates (public information); repository licence not recorded",
        attribution="National Bank of Kazakhstan (nationalbank.kz), official USD/KZT rate.",
        rules=(
            f"usd_fx_rate for KAZ, daily: KZT per 1 USD, stored with the catalogue's unit "
            f"'{USD_FX_UNIT}' so the live NBK fetcher continues the same series."
        ),
    ),
    Dataset(
        name="kz-fuel-prices",
        inputs=("kz-fuel-prices/kz_fuel_price_points_from_reports.csv",),
        origin="compiled by hand for this project from public reports (one source_url per row)",
        commit="(not from a repository)",
        licence="facts with per-row attribution to the cited reports",
        attribution="Prices as reported by the sources listed per point in manifest.json.",
        rules=(
            "KZT/litre rows with price_type retail or retail_cap (both are the prevailing pump "
            "price): 'LPG (autogas)' → fuel_lpg_retail, 'AI-92/93 gasoline' → "
            "fuel_gasoline_retail, "
            "'diesel*' → fuel_diesel_retail; AI-80 and AI-95 are not bundled. value = midpoint of "
            "value_min/value_max; when several regions report on one date the row naming "
            "Mangystau is kept (the series follows the region where the 2022 trigger bit, so a "
            "step is a price move, not a switch of region), else the HIGHEST regional midpoint "
            "(a national average would hide a regional shock). The rule is "
            "fetchers.analyst_csv.regional_priority, shared with `flashpoint import` and the "
            "analyst fetcher. KZT/tonne wholesale caps → "
            "fuel_lpg_wholesale_cap (context). published_at = the date (lag 0). Each point's "
            "source_url is in manifest.json."
        ),
    ),
)


PARTS = snapshot_parts()
ALL_DATASETS: tuple[Dataset, ...] = (*DATASETS, *PARTS)


# --- helpers -----------------------------------------------------------------------------------


@dataclass
class BuildReport:
    """What the build decided, for the manifest and for people."""

    wdi_dropped_aggregates: dict[str, str] = field(default_factory=dict)
    wdi_kept: dict[str, str] = field(default_factory=dict)
    ti_resolved: dict[str, str] = field(default_factory=dict)
    ti_unmatched: list[str] = field(default_factory=list)
    ti_skipped: dict[str, str] = field(default_factory=dict)
    ti_aliases_used: dict[str, str] = field(default_factory=dict)
    ti_conflicts: list[str] = field(default_factory=list)
    fuel_points: list[dict[str, Any]] = field(default_factory=list)


def read_text_csv(path: Path, *, encoding: str = "utf-8") -> pd.DataFrame:
    """Every cell as text, nothing guessed (so Namibia's "NA" stays a string)."""
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding=encoding)


def to_number(text: pd.Series, *, missing: Sequence[str] = ("",)) -> pd.Series:
    """Parse numbers: the source's missing markers become NaN, anything else unparsable raises."""
    stripped = text.str.strip()
    is_missing = stripped.isin(list(missing))
    numbers = pd.to_numeric(stripped.where(~is_missing), errors="coerce")
    bad = stripped[numbers.isna() & ~is_missing]
    if not bad.empty:
        raise ValueError(f"unparsable numbers: {sorted(set(bad))[:5]}")
    return numbers.astype("float64")


def frame(
    indicator: str | pd.Series,
    country: str | pd.Series,
    period: pd.Series,
    value: pd.Series,
    unit: str | pd.Series,
    dataset: str,
    *,
    vintage: str = "",
    published_at: pd.Series | str = "",
) -> pd.DataFrame:
    """Rows in the snapshot layout (period/published_at already formatted YYYY-MM-DD)."""

    def column(values: str | pd.Series) -> Any:
        # Positional, never aligned on the callers' (filtered) indexes.
        return values if isinstance(values, str) else values.to_numpy()

    out = pd.DataFrame(
        {
            "indicator": column(indicator),
            "country": column(country),
            "period": column(period),
            "value": column(value),
            "unit": column(unit),
            "source": f"snapshot:{dataset}",
            "vintage": vintage,
            "is_forecast": "false",
            "published_at": column(published_at),
        },
        index=range(len(period)),
    )
    return out[out["value"].notna()].reset_index(drop=True)


def normalise_name(name: str) -> str:
    """Fold accents, case and punctuation so spelling variants of a country name meet."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", " ", ascii_name.casefold().replace("&", " and ")).strip()


def natural_earth_countries(data_dir: Path) -> tuple[set[str], dict[str, str]] | None:
    """Country codes and normalised name → ISO3 of the Natural Earth 1:110m map, if at hand."""
    for candidate in NATURAL_EARTH_CANDIDATES:
        path = candidate if candidate.is_absolute() else data_dir / candidate
        if path.exists():
            break
    else:
        return None
    features = json.loads(path.read_text(encoding="utf-8"))["features"]
    codes: set[str] = set()
    names: dict[str, str] = {}
    for feature in features:
        props = feature["properties"]
        for key in ("ADM0_A3", "ISO_A3", "ISO_A3_EH", "WB_A3"):
            code = props.get(key)
            if code and code != "-99":
                codes.add(code)
        # ISO_A3 is "-99" for France, Norway, Kosovo…: fall back to ADM0_A3 (KOS → XKX as in WDI).
        iso3 = props["ISO_A3"] if props["ISO_A3"] != "-99" else props["ADM0_A3"]
        iso3 = {"KOS": "XKX"}.get(iso3, iso3)
        for key in ("NAME", "NAME_LONG", "ADMIN", "FORMAL_EN", "NAME_SORT", "NAME_ALT", "BRK_NAME"):
            value = props.get(key)
            if value:
                names.setdefault(normalise_name(value), iso3)
    return codes, names


def cross_check_with_natural_earth(data_dir: Path, report: BuildReport) -> str:
    """Check the aggregate rule and the TI name map against Natural Earth; returns a summary."""
    natural_earth = natural_earth_countries(data_dir)
    if natural_earth is None:
        return "Natural Earth map not found: cross-check skipped"
    map_codes, map_names = natural_earth
    on_map = sorted(WB_AGGREGATE_CODES & map_codes)
    if on_map:
        raise SystemExit(f"aggregate list holds Natural Earth countries: {on_map}")
    disagreements = [
        f"{name!r}: {iso3} here, {map_names[normalise_name(name)]} on the map"
        for name, iso3 in sorted(report.ti_resolved.items())
        if map_names.get(normalise_name(name), iso3) != iso3
    ]
    if disagreements:
        raise SystemExit(f"TI CPI names disagree with Natural Earth: {disagreements}")
    off_map = sorted(set(report.wdi_kept) - map_codes)
    return (
        f"Natural Earth cross-check passed: no dropped aggregate is on the map; "
        f"{len(report.ti_resolved)} TI names agree; {len(off_map)} kept WDI codes are too small "
        f"for the 1:110m map ({', '.join(off_map[:8])}…)"
    )


def sha256_of(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def iso_day(series: pd.Series) -> pd.Series:
    """Dates (any pandas-parsable text) as YYYY-MM-DD text; raises on unparsable dates."""
    return pd.to_datetime(series, format="%Y-%m-%d").dt.strftime("%Y-%m-%d")


def published_after(days: pd.Series, lag: pd.Timedelta) -> pd.Series:
    """`published_at` (YYYY-MM-DD text) of rows public `lag` after their YYYY-MM-DD `days`.

    For sources whose files record no publication date: a part passes the live fetcher's own lag
    constant, so the bundled rows and the rows a refresh stores become visible on the same day.
    The fetchers also cap the estimate at the fetch time; every bundled copy was saved after its
    newest row's estimate (PROVENANCE file commits), so there is nothing to cap here.
    """
    return (pd.to_datetime(days, format="%Y-%m-%d") + lag).dt.strftime("%Y-%m-%d")


def month_end(days: pd.Series) -> pd.Series:
    """The last day of each YYYY-MM-DD day's month, as YYYY-MM-DD text (a month's average is
    complete only then, whatever day its row is dated)."""
    parsed = pd.to_datetime(days, format="%Y-%m-%d")
    return (parsed + pd.offsets.MonthEnd(0)).dt.strftime("%Y-%m-%d")


# --- one converter per dataset -----------------------------------------------------------------


def build_wdi(data_dir: Path, report: BuildReport) -> pd.DataFrame:
    """WDI long CSVs → annual observations for countries only (aggregates dropped)."""
    parts = []
    for code, (indicator, unit) in WDI_INDICATORS.items():
        raw = read_text_csv(data_dir / f"wdi/{code}.csv")
        aggregate = raw["Country Code"].isin(WB_AGGREGATE_CODES)
        dropped = raw.loc[aggregate, ["Country Code", "Country Name"]].drop_duplicates()
        report.wdi_dropped_aggregates.update(dropped.itertuples(index=False, name=None))
        kept = raw[~aggregate]
        report.wdi_kept.update(
            kept[["Country Code", "Country Name"]]
            .drop_duplicates()
            .itertuples(index=False, name=None)
        )
        period = kept["Year"].str.strip() + "-01-01"
        parts.append(
            frame(indicator, kept["Country Code"], period, to_number(kept["Value"]), unit, "wdi")
        )
    return pd.concat(parts, ignore_index=True)


def build_wgi(data_dir: Path) -> pd.DataFrame:
    """WGI estimates: the 2020 release (all countries) and the 2025 pull (KAZ) as two vintages."""
    old = read_text_csv(data_dir / "wgi/wgi_all_countries_1996-2019_long.csv", encoding="latin-1")
    unknown = set(old["Indicator"]) - set(WGI_2020_INDICATORS)
    if unknown:
        raise ValueError(f"WGI 2020: unknown indicators {sorted(unknown)}")
    old_part = frame(
        old["Indicator"].map(WGI_2020_INDICATORS),
        old["Code"].replace(WB_TO_ISO3),
        old["Year"].str.strip() + "-01-01",
        to_number(old["Estimate"], missing=("", "NA")),
        WGI_UNIT,
        "wgi",
        vintage="2020",
        published_at=WGI_2020_PUBLISHED.isoformat(),
    )
    new = read_text_csv(data_dir / "wgi/wgi_estimates_KAZ_1996-2023.csv")
    new_parts = [
        frame(
            indicator,
            new["iso3c"].replace(WB_TO_ISO3),
            new["year"].str.strip() + "-01-01",
            to_number(new[column], missing=("", "NA")),
            WGI_UNIT,
            "wgi",
            vintage="2025",
            published_at=WGI_2025_PUBLISHED.isoformat(),
        )
        for column, indicator in WGI_2025_INDICATORS.items()
    ]
    return pd.concat([old_part, *new_parts], ignore_index=True)


def ti_name_index(data_dir: Path) -> dict[str, str]:
    """Normalised country name → ISO3 from the bundled WDI names, then the WGI names."""
    index: dict[str, str] = {}
    for code in WDI_INDICATORS:
        raw = read_text_csv(data_dir / f"wdi/{code}.csv")
        pairs = raw.loc[
            ~raw["Country Code"].isin(WB_AGGREGATE_CODES), ["Country Name", "Country Code"]
        ]
        for name, iso3 in pairs.drop_duplicates().itertuples(index=False):
            index.setdefault(normalise_name(name), iso3)
    wgi = read_text_csv(data_dir / "wgi/wgi_all_countries_1996-2019_long.csv", encoding="latin-1")
    for name, code in wgi[["Country/Territory", "Code"]].drop_duplicates().itertuples(index=False):
        index.setdefault(normalise_name(name), WB_TO_ISO3.get(code, code))
    return index


def resolve_ti_names(
    names: Iterable[str], index: Mapping[str, str], report: BuildReport
) -> dict[str, str]:
    """Map each TI spelling to ISO3; record aliases used, deliberate skips and leftovers."""
    resolved: dict[str, str] = {}
    for name in names:
        key = normalise_name(name)
        if key in index:
            resolved[name] = index[key]
        elif key in TI_NAME_ALIASES:
            resolved[name] = TI_NAME_ALIASES[key]
            report.ti_aliases_used[name] = TI_NAME_ALIASES[key]
        elif key in TI_NOT_A_COUNTRY:
            report.ti_skipped[name] = TI_NOT_A_COUNTRY[key]
        else:
            report.ti_unmatched.append(name)
    report.ti_resolved.update(resolved)
    return resolved


def build_ti_cpi(data_dir: Path, report: BuildReport) -> pd.DataFrame:
    """TI CPI 0–100: the 2012–2022 file, and the 1995–2017 file (×10) for earlier years."""
    index = ti_name_index(data_dir)
    wide = read_text_csv(data_dir / "ti-cpi/cpi_2012-2022_wide.csv")
    wide_long = wide.melt(id_vars="Country", var_name="year", value_name="text")
    wide_long["country"] = wide_long["Country"].map(
        resolve_ti_names(wide["Country"].unique(), index, report)
    )
    wide_long["value"] = to_number(wide_long["text"])

    old = read_text_csv(data_dir / "ti-cpi/cpi_1995-2017.csv", encoding="latin-1")
    old_long = old.melt(id_vars="country", var_name="year", value_name="text")
    old_long = old_long[old_long["year"].astype(int) < TI_FIRST_WIDE_YEAR]
    old_long["name"] = old_long["country"]
    old_long["country"] = old_long["name"].map(
        resolve_ti_names(old["country"].unique(), index, report)
    )
    old_value = to_number(old_long["text"])
    # 0.0 means "not ranked"; the old scale is 0–10, round away float noise of the ×10.
    old_long["value"] = (old_value.where(old_value > 0) * 10).round(6)
    old_long = old_long[old_long["value"].notna() & old_long["country"].notna()]
    # Spelling variants of one country sit on separate rows; identical values are one observation.
    distinct = old_long.groupby(["country", "year"])["value"].nunique()
    conflicting = distinct[distinct > 1].index.to_frame(index=False)
    for iso3, year in conflicting.itertuples(index=False, name=None):
        same = (old_long["country"] == iso3) & (old_long["year"] == year)
        values = sorted(old_long.loc[same, "value"].tolist())
        report.ti_conflicts.append(f"{iso3} {year}: {values} (kept the first spelling's row)")
    old_long = old_long.drop_duplicates(["country", "year"])

    combined = pd.concat(
        [wide_long[["country", "year", "value"]], old_long[["country", "year", "value"]]],
        ignore_index=True,
    )
    combined = combined[combined["country"].notna() & combined["value"].notna()]
    duplicated = combined.duplicated(["country", "year"], keep=False)
    if duplicated.any():
        raise ValueError(f"TI CPI: two names map to one country-year: {combined[duplicated]}")
    year = combined["year"].astype(int)
    return frame(
        "ti_cpi",
        combined["country"],
        year.astype(str) + "-01-01",
        combined["value"],
        "score",
        "ti-cpi",
        published_at=(year + 1).astype(str) + "-01-31",
    )


def build_gdelt(data_dir: Path) -> pd.DataFrame:
    """GDELT monthly protest and conflict counts per country-month."""
    raw = read_text_csv(
        data_dir / "gdelt-monthly/gdelt1_country_month_protest_conflict_1985-2024.csv"
    )
    period = raw["year_month"].str.strip() + "-01"
    return pd.concat(
        [
            frame(
                indicator,
                raw["country_iso3"],
                period,
                to_number(raw[column]),
                "events/month",
                "gdelt-monthly",
            )
            for indicator, column in (
                ("protest_events", "gdelt_protest_event_count"),
                ("conflict_events", "gdelt_conflict_event_count"),
            )
        ],
        ignore_index=True,
    )


def build_ucdp(data_dir: Path) -> pd.DataFrame:
    """UCDP GED best-estimate fatalities per country-month (only countries present in GED)."""
    raw = read_text_csv(data_dir / "ucdp/ucdp_ged_country_month_1985-2024.csv")
    return frame(
        "ucdp_fatalities",
        raw["country_iso3"],
        raw["year_month"].str.strip() + "-01",
        to_number(raw["ucdp_fatalities_best"]),
        "deaths/month",
        "ucdp",
    )


def build_daily(
    data_dir: Path,
    path: str,
    indicator: str,
    unit: str,
    dataset: str,
    *,
    country: str = WORLD,
    missing: Sequence[str] = ("",),
) -> pd.DataFrame:
    """A two-column daily price file (date, value) → one series."""
    raw = read_text_csv(data_dir / path)
    date_column, value_column = raw.columns[:2]
    return frame(
        indicator,
        country,
        iso_day(raw[date_column]),
        to_number(raw[value_column], missing=missing),
        unit,
        dataset,
    )


def build_kz_fuel(data_dir: Path, report: BuildReport) -> pd.DataFrame:
    """KZ fuel price points → per indicator and date: the Mangystau row, else the highest one."""
    raw = read_text_csv(data_dir / "kz-fuel-prices/kz_fuel_price_points_from_reports.csv")
    raw["midpoint"] = (to_number(raw["value_min"]) + to_number(raw["value_max"])) / 2
    raw["date"] = iso_day(raw["date"])
    retail = (
        (raw["unit"] == "KZT/litre")
        & raw["price_type"].isin(KZ_RETAIL_PRICE_TYPES)
        & raw["fuel"].isin(list(KZ_RETAIL_FUELS))
    )
    wholesale = (
        (raw["unit"] == "KZT/tonne")
        & (raw["price_type"] == "wholesale_cap")
        & (raw["fuel"] == "LPG")
    )
    raw["indicator"] = ""
    raw.loc[retail, "indicator"] = raw.loc[retail, "fuel"].map(KZ_RETAIL_FUELS)
    raw.loc[wholesale, "indicator"] = "fuel_lpg_wholesale_cap"
    used = raw[raw["indicator"] != ""].copy()
    # Mangystau first, then the highest midpoint; ties keep file order (stable sort) so the
    # chosen source is fixed. The same rule as `flashpoint import` (analyst_csv).
    used["order"] = range(len(used))
    used["priority"] = used["region"].map(regional_priority)
    used = used.sort_values(
        ["indicator", "date", "priority", "midpoint", "order"],
        ascending=[True, True, True, False, True],
        kind="mergesort",
    )
    chosen = used.drop_duplicates(["indicator", "date"], keep="first")
    chosen_keys = set(chosen["order"])
    for row in used.sort_values("order").to_dict("records"):
        report.fuel_points.append(
            {
                "indicator": str(row["indicator"]),
                "date": str(row["date"]),
                "region": str(row["region"]),
                "fuel": str(row["fuel"]),
                "price_type": str(row["price_type"]),
                "value_min": float(str(row["value_min"])),
                "value_max": float(str(row["value_max"])),
                "midpoint": float(str(row["midpoint"])),
                "chosen": row["order"] in chosen_keys,
                "source_url": str(row["source_url"]),
            }
        )
    return frame(
        chosen["indicator"],
        "KAZ",
        chosen["date"],
        chosen["midpoint"],
        chosen["unit"],
        "kz-fuel-prices",
        published_at=chosen["date"],
    )


def build_observations(data_dir: Path, report: BuildReport) -> dict[str, pd.DataFrame]:
    """Every dataset's rows in the snapshot layout, by dataset name."""
    return {
        "wdi": build_wdi(data_dir, report),
        "wgi": build_wgi(data_dir),
        "ti-cpi": build_ti_cpi(data_dir, report),
        "gdelt-monthly": build_gdelt(data_dir),
        "ucdp": build_ucdp(data_dir),
        "oil-prices": pd.concat(
            [
                build_daily(
                    data_dir, "oil-prices/brent-daily.csv", "brent_price", "USD/bbl", "oil-prices"
                ),
                build_daily(
                    data_dir, "oil-prices/wti-daily.csv", "wti_price", "USD/bbl", "oil-prices"
                ),
            ],
            ignore_index=True,
        ),
        "natural-gas": build_daily(
            data_dir,
            "natural-gas/henry-hub-daily.csv",
            "henry_hub_price",
            "USD/MMBtu",
            "natural-gas",
        ),
        "fuel-prices": build_daily(
            data_dir,
            "fuel-prices/fred-bulk-2019/DPROPANEMBTX.csv",
            "propane_price",
            "USD/gal",
            "fuel-prices",
            missing=(".",),
        ),
        "nbk-fx": build_daily(
            data_dir,
            "nbk-fx/usd_kzt_official_daily.csv",
            "usd_fx_rate",
            USD_FX_UNIT,
            "nbk-fx",
            country="KAZ",
        ),
        "kz-fuel-prices": build_kz_fuel(data_dir, report),
        **{part.name: part.build(data_dir) for part in PARTS if part.build is not None},
    }


# --- events ------------------------------------------------------------------------------------

REPORT_FILE = "report/kazakhstan-2022-report.txt"  # the project's brief report (shared/report/)


def fuel_source(points: Sequence[Mapping[str, Any]], indicator: str, day: str) -> str:
    """The source_url of the fuel-price point chosen for `indicator` on `day`."""
    for point in points:
        if point["indicator"] == indicator and point["date"] == day and point["chosen"]:
            return str(point["source_url"])
    raise KeyError(f"no fuel-price point for {indicator} on {day}")


def build_events(report: BuildReport) -> pd.DataFrame:
    """The annotations every fresh install shows, each with its source."""
    points = report.fuel_points
    rows = [
        (
            "2011-12-16",
            "Zhanaozen: police fire on striking oil workers",
            "Police opened fire on striking oil workers and residents in Zhanaozen (Mangystau) "
            "on Independence Day; official toll the next day: 11 shot dead, 86 wounded; state of "
            "emergency and curfew in the town from 17 Dec to 5 Jan 2012.",
            "https://rferl.org/amp/reinforcements_sent_after_kazakh_violence_leaves_10_dead/24424715.html",
        ),
        (
            "2022-01-01",
            "LPG moves to exchange pricing: 60 → 120 tenge/l in Mangystau",
            "Autogas (LPG) sales moved to electronic exchange trading; the pump price in Mangystau "
            "doubled from 50–60 to 120 KZT/litre.",
            fuel_source(points, "fuel_lpg_retail", "2022-01-01"),
        ),
        (
            "2022-01-02",
            "Protests begin in Zhanaozen",
            "Rallies against the LPG price in Zhanaozen and Aktau (Mangystau region).",
            fuel_source(points, "fuel_lpg_retail", "2022-01-01"),
        ),
        (
            "2022-01-04",
            "Protests spread to 11 regions (~37,000 people); LPG cut to 50 tenge/l",
            "A government commission agrees an LPG price of 50 KZT/litre in Mangystau (the cited "
            "report), too late: official figures count 36,831 protesters in 11 regions that day "
            "(RFE/RL).",
            fuel_source(points, "fuel_lpg_retail", "2022-01-04"),
        ),
        (
            "2022-01-05",
            "State of emergency; government resigns; CSTO asked for help",
            "President Tokayev accepts the government's resignation, declares a state of emergency "
            "until 19 January and appeals to the CSTO for help.",
            "http://defensepoliticsasia.com/kazakhstan-declares-emergency-government-resigned",
        ),
        (
            "2022-01-06",
            "CSTO troops arrive",
            "The CSTO Collective Security Council sends its peacekeeping force (mainly Russian "
            "paratroopers) to Kazakhstan.",
            "https://europediplomatic.com/2022/01/06/kazakhstan-csto-troops-to-quell-protests/",
        ),
        (
            "2022-01-06",
            "180-day fuel price caps",
            "LPG capped at 50–75 KZT/litre by region for 180 days (50 in Aktobe, Atyrau, "
            "Mangystau); AI-92/93 at 182 and AI-95 at 215 KZT/litre.",
            fuel_source(points, "fuel_lpg_retail", "2022-01-06"),
        ),
        (
            "2022-01-11",
            "Unrest suppressed (227 killed)",
            "The demonstrations are finally suppressed; at least 227 people were killed according "
            "to official figures.",
            REPORT_FILE,
        ),
        (
            "2024-07-01",
            "Wholesale LPG cap raised to 45,158 KZT/t",
            "Wholesale LPG price cap raised 12% from 40,320 to 45,158 KZT/tonne (excl. VAT); "
            "retail autogas caps 59–94 KZT/litre by region.",
            fuel_source(points, "fuel_lpg_wholesale_cap", "2024-07-01"),
        ),
    ]
    events = pd.DataFrame(
        [("KAZ", day, title, description, url) for day, title, description, url in rows],
        columns=list(EVENT_COLUMNS),
    )
    return events.sort_values(["country", "date", "title"], kind="mergesort").reset_index(drop=True)


# --- writing -----------------------------------------------------------------------------------


def format_value(value: float) -> str:
    """Shortest text that reads back as the same float (repr), integers without '.0'."""
    if not math.isfinite(value):
        raise ValueError(f"non-finite value {value}")
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def csv_text(rows: pd.DataFrame, columns: Sequence[str]) -> str:
    """Rows as CSV text with '\\n' line ends, quoted only when needed."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    # Whole columns as Python lists: iterating Arrow-backed string columns row by row is slow.
    writer.writerows(zip(*(rows[name].tolist() for name in columns), strict=True))
    return buffer.getvalue()


def gzip_bytes(data: bytes) -> bytes:
    """gzip with no name and mtime 0, so the bytes depend only on the content."""
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, compresslevel=9, mtime=0) as out:
        out.write(data)
    return buffer.getvalue()


def resolve_built_at(data_dir: Path, inputs: Sequence[str], explicit: str | None) -> str:
    """The reproducible build timestamp (see the module docstring)."""
    if explicit:
        return datetime.fromisoformat(explicit).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        return datetime.fromtimestamp(int(epoch), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    try:
        completed = subprocess.run(
            ["git", "log", "-1", "--format=%ct", "--", *inputs],
            cwd=data_dir,
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError) as error:
        raise SystemExit(f"cannot date the inputs with git ({error}); pass --built-at") from error
    stamp = completed.stdout.strip()
    if not stamp:
        raise SystemExit("the input files are not committed yet; commit them or pass --built-at")
    return datetime.fromtimestamp(int(stamp), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def sources_markdown(manifest: Mapping[str, Any]) -> str:
    """The package's SOURCES.md, generated from the manifest."""
    lines = [
        "# Bundled snapshot — sources, licences, transformations",
        "",
        "Generated by `scripts/build_snapshot.py` from the verbatim copies in the repository's",
        "`data/` (their provenance: `data/SOURCES.md`). Do not edit by hand. Observations are in",
        "the canonical long format (docs/ARCHITECTURE.md §1); `fetched_at` is set when loaded.",
        "No ACLED data is bundled (ACLED's terms forbid redistributing raw rows).",
        "",
        f"Built at {manifest['built_at']}; {manifest['files']['observations.csv.gz']['rows']:,} "
        f"observations, {manifest['files']['events.csv']['rows']} events.",
        "",
    ]
    for name, entry in manifest["datasets"].items():
        lines += [
            f"## {name} (source `{entry['source']}`)",
            f"- Origin: {entry['origin']}",
            f"- Commit: {entry['commit']}",
            f"- Licence: {entry['licence']}. Attribution: {entry['attribution']}",
            f"- Rules and trimming: {entry['rules']}",
            f"- Rows: {entry['rows']:,} — "
            + ", ".join(f"`{k}` {v:,}" for k, v in entry["indicators"].items()),
            "- Inputs (path in `data/`, SHA-256):",
        ]
        lines += [f"  - `{item['path']}` `{item['sha256']}`" for item in entry["inputs"]]
        lines.append("")
    lines += ["## Kazakhstan fuel-price points and their sources", ""]
    lines += [
        "| indicator | date | region | min | max | used | source |",
        "|---|---|---|---|---|---|---|",
    ]
    for point in manifest["kz_fuel_price_points"]:
        used = "yes" if point["chosen"] else "no"
        lines.append(
            f"| {point['indicator']} | {point['date']} | {point['region']} "
            f"| {point['value_min']:g} | {point['value_max']:g} | {used} | {point['source_url']} |"
        )
    lines += [
        "",
        "## Event annotations",
        "",
        "Each row of `events.csv` names its source_url; `report/kazakhstan-2022-report.txt`",
        "refers to the project's brief report (not a web address).",
        "",
    ]
    return "\n".join(lines)


def licences_text(manifest: Mapping[str, Any]) -> str:
    """The package's LICENCES file: terms and required attribution per dataset."""
    lines = [
        "Licences of the data bundled in flashpoint/snapshot_data/",
        "==========================================================",
        "",
        "Flashpoint's code is MIT-licensed; the data below keep their own terms.",
        "",
    ]
    for name, entry in manifest["datasets"].items():
        lines += [
            f"{name}",
            f"  Licence: {entry['licence']}",
            f"  Attribution: {entry['attribution']}",
            "",
        ]
    lines += [
        "CC BY 4.0: https://creativecommons.org/licenses/by/4.0/ — redistribution and adaptation",
        "allowed with attribution and an indication of changes (here: reshaped to Flashpoint's",
        "long format; aggregates dropped; see SOURCES.md).",
        "ODC-PDDL-1.0: https://opendatacommons.org/licenses/pddl/ — public domain dedication.",
        "",
    ]
    return "\n".join(lines)


def build(data_dir: Path, out_dir: Path, built_at_option: str | None = None) -> dict[str, Any]:
    """Build every snapshot file into `out_dir`; returns the manifest."""
    report = BuildReport()
    per_dataset = build_observations(data_dir, report)
    if report.ti_unmatched:
        raise SystemExit(
            f"TI CPI: unmatched country names {report.ti_unmatched}; extend the aliases"
        )
    print(cross_check_with_natural_earth(data_dir, report))

    all_inputs = [
        path for dataset in ALL_DATASETS for path in (*dataset.inputs, *dataset.extra_inputs)
    ]
    built_at = resolve_built_at(data_dir, all_inputs, built_at_option)

    observations = pd.concat(per_dataset.values(), ignore_index=True)
    observations["value_text"] = observations["value"].astype(float).map(format_value)
    observations = observations.sort_values(
        ["indicator", "country", "vintage", "period"], kind="mergesort"
    ).reset_index(drop=True)
    key = ["indicator", "country", "period", "vintage"]
    if observations.duplicated(key).any():
        raise SystemExit(
            f"duplicate keys: {observations[observations.duplicated(key, keep=False)]}"
        )
    if (observations["source"].str.contains("acled", case=False)).any():
        raise SystemExit("ACLED rows must never be bundled")
    observations_csv = csv_text(
        observations.drop(columns="value").rename(columns={"value_text": "value"}), SNAPSHOT_COLUMNS
    ).encode("utf-8")

    events = build_events(report)
    events_csv = csv_text(events, EVENT_COLUMNS).encode("utf-8")

    datasets: dict[str, Any] = {}
    for dataset in ALL_DATASETS:
        rows = per_dataset[dataset.name]
        datasets[dataset.name] = {
            "source": f"snapshot:{dataset.name}",
            "file": "observations.csv.gz",
            "origin": dataset.origin,
            "commit": dataset.commit,
            "licence": dataset.licence,
            "attribution": dataset.attribution,
            "rules": dataset.rules,
            "rows": len(rows),
            "indicators": {
                k: int(v) for k, v in rows.groupby("indicator").size().sort_index().items()
            },
            "countries": int(rows["country"].nunique()),
            "periods": [str(rows["period"].min()), str(rows["period"].max())],
            "built_at": built_at,
            "inputs": [
                {"path": path, "sha256": sha256_of(data_dir / path)}
                for path in (*dataset.inputs, *dataset.extra_inputs)
            ],
        }
    manifest: dict[str, Any] = {
        "snapshot_format": SNAPSHOT_FORMAT,
        "built_at": built_at,
        "built_by": "scripts/build_snapshot.py",
        "files": {
            "observations.csv.gz": {
                "rows": len(observations),
                "columns": list(SNAPSHOT_COLUMNS),
                "sha256_uncompressed": hashlib.sha256(observations_csv).hexdigest(),
            },
            "events.csv": {
                "rows": len(events),
                "columns": list(EVENT_COLUMNS),
                "sha256": hashlib.sha256(events_csv).hexdigest(),
            },
        },
        "datasets": datasets,
        "kz_fuel_price_points": report.fuel_points,
        "wdi_dropped_aggregates": dict(sorted(report.wdi_dropped_aggregates.items())),
        "ti_cpi_names": {
            "aliases_used": dict(sorted(report.ti_aliases_used.items())),
            "skipped_not_a_country": dict(sorted(report.ti_skipped.items())),
            "unmatched": sorted(report.ti_unmatched),
            "conflicting_spellings": sorted(report.ti_conflicts),
        },
    }

    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "observations.csv.gz").write_bytes(gzip_bytes(observations_csv))
    (out_dir / "events.csv").write_bytes(events_csv)
    (out_dir / "manifest.json").write_text(
        json.dumps(manifest, indent=1, ensure_ascii=False, sort_keys=False) + "\n", encoding="utf-8"
    )
    (out_dir / "SOURCES.md").write_text(sources_markdown(manifest), encoding="utf-8")
    (out_dir / "LICENCES").write_text(licences_text(manifest), encoding="utf-8")
    return manifest


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT_DIR)
    parser.add_argument(
        "--built-at", help="ISO timestamp to record (default: see module docstring)"
    )
    args = parser.parse_args(argv)
    manifest = build(args.data_dir.resolve(), args.out.resolve(), args.built_at)
    total = sum(path.stat().st_size for path in args.out.iterdir() if path.is_file())
    print(f"snapshot built at {manifest['built_at']} into {args.out}")
    for name, entry in manifest["datasets"].items():
        print(f"  {name:16} {entry['rows']:>8,} rows  {', '.join(entry['indicators'])}")
    print(
        f"  {manifest['files']['observations.csv.gz']['rows']:,} observations, "
        f"{manifest['files']['events.csv']['rows']} events, {total / 1e6:.2f} MB on disk"
    )
    names = manifest["ti_cpi_names"]
    print(
        f"  TI CPI names: {len(names['aliases_used'])} aliases, "
        f"{len(names['skipped_not_a_country'])} skipped, {len(names['unmatched'])} unmatched"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
