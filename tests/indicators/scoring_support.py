"""Test support for the scoring tests: a small synthetic catalogue and the real bundled snapshot.

The synthetic catalogue and its observations are MADE UP (synthetic) to pin formulas on numbers a
reader can check by hand. The snapshot store is the real bundled data (`flashpoint/snapshot_data`)
copied from the run's loaded template into a temporary SQLite file once per test process.
"""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy.engine import Engine

from indicators.catalogue import Band, Catalogue, Indicator, ModelParameters, Normalisation, Pillar
from indicators.observations import conform_observations

SYNTHETIC_PILLARS: tuple[Pillar, ...] = (
    Pillar("macro", "Macro", "structural"),
    Pillar("governance", "Governance", "structural", weight=2.0),
    Pillar("fuel_shock", "Fuel shock", "trigger"),
    Pillar("unrest_spike", "Unrest spike", "trigger"),
    Pillar("context", "Context", "context", weight=0.0),
)


def _indicator(ident: str, pillar: str, **options: Any) -> Indicator:
    defaults: dict[str, Any] = {
        "name": ident,
        "factor": "synthetic",
        "source": "test",
        "source_code": ident,
        "unit": "u",
        "higher_is_riskier": True,
        "frequency": "annual",
        "normalisation": Normalisation("goalposts", 0.0, 100.0),
    }
    defaults.update(options)
    return Indicator(id=ident, pillar=pillar, **defaults)


def synthetic_catalogue(**model: float) -> Catalogue:
    """A small catalogue covering every normalisation method, derivation and pillar kind."""
    indicators = (
        _indicator("inflation", "macro", normalisation=Normalisation("goalposts", 0.0, 50.0)),
        _indicator(
            "growth",
            "macro",
            higher_is_riskier=False,
            normalisation=Normalisation("goalposts", -10.0, 10.0),
        ),
        _indicator(
            "corruption",
            "governance",
            higher_is_riskier=False,
            weight=2.0,
            normalisation=Normalisation("goalposts", -2.5, 2.5),
        ),
        _indicator(
            "violence",
            "governance",
            normalisation=Normalisation("goalposts", 0.0, 1000.0, log=True),
        ),
        _indicator(
            "sentiment",
            "governance",
            frequency="monthly",
            max_age_days=3650,
            normalisation=Normalisation("zscore", window=12, z_at_10=3.0),
        ),
        _indicator("fuel_price", "context", frequency="daily", unit="LCU/l"),
        _indicator("oil_price", "context", frequency="daily", unit="USD/bbl"),
        _indicator(
            "fuel_step",
            "fuel_shock",
            source="derived",
            frequency="daily",
            derivation="step_change",
            derived_from=("fuel_price",),
            window_days=31,
            max_age_days=31,
            weight=1.0,
            normalisation=Normalisation("step", step_at_10=100.0),
        ),
        _indicator(
            "oil_yoy",
            "fuel_shock",
            source="derived",
            frequency="daily",
            derivation="change_yoy",
            derived_from=("oil_price",),
            max_age_days=31,
            weight=0.25,
            normalisation=Normalisation("step", step_at_10=200.0),
        ),
        _indicator("protests", "context", frequency="monthly", unit="events"),
        _indicator(
            "protest_spike",
            "unrest_spike",
            source="derived",
            frequency="monthly",
            derivation="spike",
            derived_from=("protests",),
            max_age_days=62,
            normalisation=Normalisation("zscore", window=12, z_at_10=4.0),
        ),
    )
    return Catalogue(
        indicators=indicators,
        pillars=SYNTHETIC_PILLARS,
        bands=(
            Band("very low", 0.0, "#1a9850"),
            Band("low", 2.0, "#91cf60"),
            Band("medium", 3.5, "#fee08b"),
            Band("high", 5.0, "#fc8d59"),
            Band("very high", 6.5, "#d73027"),
        ),
        model=ModelParameters(**model),
    )


def observations(rows: list[tuple[Any, ...]]) -> pd.DataFrame:
    """Canonical observations from (indicator, country, period, value[, published_at]) tuples."""
    records = []
    for row in rows:
        indicator, country, period, value = row[:4]
        published = row[4] if len(row) > 4 else None
        records.append(
            {
                "indicator": indicator,
                "country": country,
                "period": pd.Timestamp(period),
                "value": value,
                "unit": "u",
                "source": "test",
                "published_at": pd.Timestamp(published) if published is not None else pd.NaT,
            }
        )
    return conform_observations(pd.DataFrame.from_records(records))


def structural_rows(country: str, **values: float) -> list[tuple[Any, ...]]:
    """Annual 2020 rows (published 2021-06-30) of the synthetic structural indicators."""
    defaults = {"inflation": 10.0, "growth": 2.0, "corruption": -0.5, "violence": 30.0}
    defaults.update(values)
    return [(name, country, "2020-01-01", value, "2021-06-30") for name, value in defaults.items()]


@dataclass(frozen=True)
class SnapshotStore:
    """The real bundled snapshot in a temporary SQLite store."""

    url: str
    engine: Engine
    observations: pd.DataFrame
    catalogue: Catalogue
    directory: Path


@functools.cache
def snapshot_store(template: Path) -> SnapshotStore:
    """A private copy of the loaded snapshot `template` (tests/conftest.py `snapshot_template`),
    with its observations read once per process."""
    from flashpoint import store
    from flashpoint.config import default_config_path, load_config

    directory = Path(tempfile.mkdtemp(prefix="flashpoint-scoring-"))
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    shutil.copyfile(template, directory / "snapshot.db")
    url = f"sqlite:///{directory / 'snapshot.db'}"
    engine = store.make_engine(url)
    settings = load_config(default_config_path())
    frame = store.read_observations(engine, include_forecasts=False)
    return SnapshotStore(
        url=url,
        engine=engine,
        observations=frame,
        catalogue=settings.catalogue(),
        directory=directory,
    )
