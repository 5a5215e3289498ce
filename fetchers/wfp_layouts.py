"""WFP market-price files: the layouts they come in, and which commodity is which indicator.

Three layouts carry the same content (one row per market × commodity × month):

* **HDX, 16 columns** (current): `date,admin1,admin2,market,market_id,latitude,longitude,
  category,commodity,commodity_id,unit,priceflag,pricetype,currency,price,usdprice`;
* **HDX, 14 columns** (older copies): the same without `market_id` and `commodity_id`;
  both usually have an HXL tag row (`#date,#adm1+name,…`) under the header, some copies not;
  re-saved copies may carry an unnamed index column first, and one layout lost `priceflag`
  (then `pricetype` holds the flag: `actual`/`aggregate`, and retail/wholesale is unknown);
  dates are `YYYY-MM-DD` or, in re-formatted copies, `M/D/YYYY`;
* **VAM export** (the old global `WFPVAM_FoodPrices.csv` layout): semicolon-separated,
  `adm0_id;adm0_name;…;mkt_name;cm_name;cur_name;pt_name;um_name;mp_month;mp_year;mp_price;…`.

`parse_market_prices` reads any of them into one frame of market prices; `indicator_for` maps a
commodity name (with its spelling variants) to a catalogue id; `unit_size` turns WFP's unit
(`12 KG`, `20 L`, `Gallon`, `100 Pounds`) into a quantity of kilograms or litres.
"""

from __future__ import annotations

import csv
import io
import re

import pandas as pd

from fetchers.errors import BadPayload

SOURCE = "wfp"

# The frame `parse_market_prices` returns.
MARKET_COLUMNS: tuple[str, ...] = (
    "month", "market", "commodity", "unit", "pricetype", "flag", "currency", "price",
)
_HDX_REQUIRED = ("date", "market", "commodity", "unit", "currency", "price")
_VAM_REQUIRED = ("mkt_name", "cm_name", "cur_name", "um_name", "mp_month", "mp_year", "mp_price")
_FLAGS = frozenset({"actual", "aggregate", "forecast"})
# Rows dated before this are placeholders (Bangladesh's `1900-08-15` row), not observations; the
# real series start in the 1990s (Somalia 1995, Guatemala 1998).
FIRST_VALID_MONTH = pd.Timestamp("1980-01-01")

FUEL_INDICATORS: dict[str, str] = {
    "diesel": "fuel_diesel_retail",
    "gasoline": "fuel_gasoline_retail",
    "kerosene": "fuel_kerosene_retail",
    "lpg": "fuel_lpg_retail",
}
FOOD_PREFIX = "food_price_"
# Base name (before " (") → staple key; `food_price_<key>` is the indicator id.
FOOD_STAPLES: dict[str, str] = {
    "bread": "bread",
    "wheat flour": "wheat_flour",
    "wheat": "wheat",
    "rice": "rice",
    "maize": "maize",
    "maize flour": "maize_flour",
    "maize meal": "maize_flour",
    "sorghum": "sorghum",
    "oil": "cooking_oil",
    "sugar": "sugar",
    "lentils": "lentils",
}
# Qualifiers that take a commodity out of its staple: aid rations are not market prices, and
# olive or coconut oil are not the cooking oil of the poor.
_EXCLUDED_QUALIFIERS = ("food aid", "olive", "coconut")
_NAME = re.compile(r"^\s*([^(]+?)\s*(?:\((.*)\))?\s*$")


def indicator_for(commodity: str) -> str | None:
    """The catalogue id a WFP commodity name stands for, or None when it is not tracked.

    Fuel: `Fuel (diesel)`; `Fuel (petrol-gasoline)`, `Fuel (petrol)`, `Fuel (Super Petrol)`,
    `Fuel (petrol-gasoline, 95 octane)`; `Fuel (kerosene)`; `Fuel (gas)` / `Fuel (LPG)` (LPG).
    Food: the base name before the parenthesis (`Rice (coarse)` → `food_price_rice`).

    Args:
        commodity: WFP's commodity name, as in the file.

    Returns:
        A `fuel_*_retail` or `food_price_*` id, or None.
    """
    match = _NAME.match(commodity or "")
    if match is None:
        return None
    base = match.group(1).strip().lower()
    qualifier = (match.group(2) or "").strip().lower()
    if base == "fuel":
        if "diesel" in qualifier:
            return FUEL_INDICATORS["diesel"]
        if "petrol" in qualifier or "gasoline" in qualifier:
            return FUEL_INDICATORS["gasoline"]
        if "kerosene" in qualifier or "paraffin" in qualifier:
            return FUEL_INDICATORS["kerosene"]
        if qualifier in {"gas", "lpg", "cooking gas", "butane"}:
            return FUEL_INDICATORS["lpg"]
        return None
    staple = FOOD_STAPLES.get(base)
    if staple is None or any(word in qualifier for word in _EXCLUDED_QUALIFIERS):
        return None
    return FOOD_PREFIX + staple


_UNIT = re.compile(r"^\s*(\d+(?:\.\d+)?)?\s*([A-Za-z]+)\s*$")
# Unit word → (quantity in the base measure, base measure).
_MEASURES: dict[str, tuple[float, str]] = {
    "kg": (1.0, "kg"),
    "g": (0.001, "kg"),
    "mt": (1000.0, "kg"),
    "pound": (0.45359237, "kg"),
    "pounds": (0.45359237, "kg"),
    "lb": (0.45359237, "kg"),
    "l": (1.0, "litre"),
    "ml": (0.001, "litre"),
    "gallon": (3.785411784, "litre"),  # US gallon (Guatemala's pump unit)
}


def unit_size(unit: str) -> tuple[float, str] | None:
    """How many kilograms or litres one WFP unit is: `12 KG` → (12.0, "kg").

    Args:
        unit: WFP's unit text (`KG`, `100 KG`, `400 G`, `L`, `20 L`, `750 ML`, `Gallon`).

    Returns:
        (quantity, "kg" | "litre"), or None for counted units (`Unit`, `Dozen`, `10 pcs`) and
        anything else not a mass or a volume.
    """
    match = _UNIT.match(unit or "")
    if match is None:
        return None
    count = float(match.group(1)) if match.group(1) else 1.0
    measure = _MEASURES.get(match.group(2).lower())
    if measure is None or count <= 0:
        return None
    return count * measure[0], measure[1]


def check_body(body: bytes, *, country: str) -> None:
    """A quick look at a served file before its validators are kept: header, not cut off.

    A file that fails here must not have its ETag remembered, or the next refresh would be
    answered 304 and the good file never fetched.

    Raises:
        BadPayload: an empty body, a header without the required columns, a body cut off
            mid-row, or no data row after the header (and HXL row).
    """
    if not body.strip():
        raise BadPayload(SOURCE, f"{country}: empty body instead of the prices CSV", kind="empty")
    text = body.decode("utf-8-sig", errors="replace")
    lines = [line for line in text.splitlines() if line.strip()]
    vam = ";" in lines[0] and "mp_price" in lines[0]
    delimiter = ";" if vam else ","
    header = [cell.strip() for cell in next(csv.reader([lines[0]], delimiter=delimiter))]
    _missing(pd.DataFrame(columns=header), _VAM_REQUIRED if vam else _HDX_REQUIRED, country)
    if _last_row_cut(text, delimiter):
        raise BadPayload(SOURCE, f"{country}: the prices CSV is truncated (its last row is cut "
                                 "off)", kind="truncated")
    data = [line for line in lines[1:] if not line.lstrip(",0").startswith("#")]
    if not data:
        raise BadPayload(SOURCE, f"{country}: the prices CSV has no data rows (empty result)",
                         kind="empty")


def parse_market_prices(body: bytes, *, country: str) -> pd.DataFrame:
    """Read one WFP file (HDX 14/16 columns, HXL row or not, or the VAM export).

    Args:
        body: the raw CSV bytes.
        country: ISO3 of the file (for messages).

    Returns:
        `MARKET_COLUMNS`: `month` (first day of the month), `market`, `commodity`, `unit`,
        `pricetype` ("" when the layout lost it), `flag` (`actual`/`aggregate`/`forecast`),
        `currency`, `price` (float; a missing or non-numeric price has no row).

    Raises:
        BadPayload: an empty body, a body cut off mid-row, a header without the columns above,
            or a file with no data rows.
    """
    if not body.strip():
        raise BadPayload(SOURCE, f"{country}: empty body instead of the prices CSV", kind="empty")
    text = body.decode("utf-8-sig", errors="replace")
    first_line = text.split("\n", 1)[0]
    vam = ";" in first_line and "mp_price" in first_line
    if _last_row_cut(text, ";" if vam else ","):
        raise BadPayload(SOURCE, f"{country}: the prices CSV is truncated (its last row is cut "
                                 "off)", kind="truncated")
    try:
        raw = pd.read_csv(io.StringIO(text), sep=";" if vam else ",", dtype=str,
                          keep_default_na=False)
    except (pd.errors.ParserError, UnicodeDecodeError) as error:
        raise BadPayload(SOURCE, f"{country}: the prices CSV cannot be read ({error}); "
                                 "truncated or changed?", kind="invalid") from error
    raw.columns = [str(name).strip() for name in raw.columns]
    frame = _from_vam(raw, country) if vam else _from_hdx(raw, country)
    frame["price"] = pd.to_numeric(frame["price"], errors="coerce")
    frame = frame[frame["price"].notna() & frame["month"].notna()]
    if frame.empty:
        raise BadPayload(SOURCE, f"{country}: the prices CSV has no data rows (empty result)",
                         kind="empty")
    return frame.loc[:, list(MARKET_COLUMNS)].reset_index(drop=True)


def _last_row_cut(text: str, delimiter: str) -> bool:
    """True when the last row has fewer fields than the header: the body stops mid-row."""
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) < 2:
        return False
    header, last = next(csv.reader([lines[0]], delimiter=delimiter)), lines[-1]
    try:
        cells = next(csv.reader([last], delimiter=delimiter, strict=True))
    except csv.Error:
        return True  # an unterminated quote
    return len(cells) < len(header)


def _missing(raw: pd.DataFrame, required: tuple[str, ...], country: str) -> None:
    missing = [name for name in required if name not in raw.columns]
    if missing:
        raise BadPayload(
            SOURCE,
            f"{country}: the prices CSV is missing column(s) {', '.join(missing)} "
            "(schema changed?)",
            kind="schema",
        )


def _from_hdx(raw: pd.DataFrame, country: str) -> pd.DataFrame:
    _missing(raw, _HDX_REQUIRED, country)
    # The HXL tag row (`#date,…`), when present, is the first data row.
    raw = raw[~raw["date"].str.startswith("#")]
    if "priceflag" in raw.columns:
        flag = raw["priceflag"].str.strip().str.lower()
        pricetype = raw.get("pricetype", pd.Series("", index=raw.index)).str.strip()
    elif "pricetype" in raw.columns and raw["pricetype"].str.lower().isin(_FLAGS).all():
        # The re-saved layout kept one of the two columns, under the wrong name: it is the flag.
        flag = raw["pricetype"].str.strip().str.lower()
        pricetype = pd.Series("", index=raw.index)
    else:
        flag = pd.Series("actual", index=raw.index)
        pricetype = raw.get("pricetype", pd.Series("", index=raw.index)).str.strip()
    return pd.DataFrame({
        "month": _months(raw["date"]),
        "market": raw["market"].str.strip(),
        "commodity": raw["commodity"].str.strip(),
        "unit": raw["unit"].str.strip(),
        "pricetype": pricetype,
        "flag": flag,
        "currency": raw["currency"].str.strip().str.upper(),
        "price": raw["price"],
    })


def _from_vam(raw: pd.DataFrame, country: str) -> pd.DataFrame:
    _missing(raw, _VAM_REQUIRED, country)
    year = pd.to_numeric(raw["mp_year"], errors="coerce")
    month = pd.to_numeric(raw["mp_month"], errors="coerce")
    valid = year.notna() & month.between(1, 12)
    stamps = pd.to_datetime(
        {"year": year.where(valid, 2000), "month": month.where(valid, 1), "day": 1}
    ).where(valid)
    return pd.DataFrame({
        "month": stamps,
        "market": raw["mkt_name"].str.strip(),
        "commodity": raw["cm_name"].str.strip(),
        "unit": raw["um_name"].str.strip(),
        "pricetype": raw.get("pt_name", pd.Series("", index=raw.index)).str.strip(),
        "flag": "actual",  # the VAM export has no flag: every price is an observed one
        "currency": raw["cur_name"].str.strip().str.upper(),
        "price": raw["mp_price"],
    })


def _months(dates: pd.Series) -> pd.Series:
    """First day of each row's month; `YYYY-MM-DD` and `M/D/YYYY` (re-formatted copies)."""
    iso = pd.to_datetime(dates, format="%Y-%m-%d", errors="coerce")
    us = pd.to_datetime(dates, format="%m/%d/%Y", errors="coerce")
    stamps = pd.Series(iso.fillna(us), index=dates.index)
    return pd.Series(stamps.dt.to_period("M").dt.to_timestamp(), index=dates.index)
