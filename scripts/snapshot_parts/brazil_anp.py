"""Snapshot part: Brazil ANP weekly national average resale prices, BRL per litre / kg."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Any

import pandas as pd

# The live fetcher's lag (DATA FINAL + 3 days), imported so the two cannot drift apart.
from fetchers.brazil_anp import PUBLICATION_LAG

FILE = "fuel-prices-world/brazil-anp/semanal-brasil-desde-2013.xlsx"
HEADER_ROW = 17  # 0-based: ANP's notes fill the rows above
PRODUCTS = {
    "GASOLINA COMUM": ("fuel_gasoline_retail", "R$/l", 1.0, "BRL/litre"),
    "OLEO DIESEL": ("fuel_diesel_retail", "R$/l", 1.0, "BRL/litre"),
    # LPG is priced per 13 kg cylinder (the unit column says so): ÷ 13 = per kg.
    "GLP": ("fuel_lpg_retail", "R$/13kg", 1.0 / 13.0, "BRL/kg"),
}


def build(kit: ModuleType, data_dir: Path) -> pd.DataFrame:
    raw = pd.read_excel(data_dir / FILE, header=HEADER_ROW, engine="openpyxl")
    raw.columns = [str(name).strip() for name in raw.columns]
    needed = ["DATA FINAL", "PRODUTO", "UNIDADE DE MEDIDA", "PREÇO MÉDIO REVENDA"]
    missing = [name for name in needed if name not in raw.columns]
    if missing:
        raise ValueError(f"ANP weekly file lacks columns {missing}")
    parts = []
    for product, (indicator, unit_in, factor, unit) in PRODUCTS.items():
        rows = raw[raw["PRODUTO"].astype(str).str.strip() == product]
        units = {str(item).replace(" ", "").lower() for item in rows["UNIDADE DE MEDIDA"]}
        if units != {unit_in.lower()}:
            raise ValueError(f"ANP {product}: unexpected units {sorted(units)}")
        days = pd.to_datetime(rows["DATA FINAL"]).dt.strftime("%Y-%m-%d")
        value = pd.to_numeric(rows["PREÇO MÉDIO REVENDA"], errors="raise").astype("float64")
        parts.append(kit.frame(indicator, "BRA", days, value * factor, unit, "brazil-anp",
                               published_at=kit.published_after(days, PUBLICATION_LAG)))
    return pd.concat(parts, ignore_index=True)


def part_datasets(kit: ModuleType) -> tuple[Any, ...]:
    return (
        kit.PartDataset(
            name="brazil-anp",
            inputs=(FILE,),
            origin=(
                "github.com/maikereis/diesel semanal-brasil-desde-2013.xlsx (ANP 'Série histórica "
                "do levantamento de preços', national weekly summary)"
            ),
            commit="c9603b02fd7b277e02831972a2651a4a9411babb",
            licence=(
                "Brazilian open data (Decreto 8.777/2016; ANP open-data policy); no licence text "
                "inside the file"
            ),
            attribution=(
                "Agência Nacional do Petróleo, Gás Natural e Biocombustíveis (ANP), weekly price "
                "survey."
            ),
            rules=(
                "Continued live by the `brazil_anp` fetcher (same rule). Weekly national average "
                "resale price (PREÇO MÉDIO REVENDA), dated "
                "by the survey week's last day (DATA FINAL), 2013-01-05 → 2026-03-14: GASOLINA "
                "COMUM → fuel_gasoline_retail, OLEO DIESEL (B S500) → fuel_diesel_retail "
                "(BRL/litre), GLP (R$ per 13 kg cylinder) ÷ 13 → fuel_lpg_retail (BRL/kg). ANP's "
                "survey gaps (16–22/8/2015, 18/8–17/10/2020) have no rows. Ethanol, S10, premium "
                "gasoline and CNG are not bundled. published_at = DATA FINAL + 3 days (the "
                "fetcher's PUBLICATION_LAG: ANP releases a week a few days after it ends)."
            ),
            build=lambda data_dir: build(kit, data_dir),
        ),
    )
