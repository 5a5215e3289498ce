"""Fixtures shared by the precompute and `score` fast-path tests."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from flashpoint import store

# Two countries with a domestic fuel series (KAZ) and without (NGA) keep the precompute small.
PRECOMPUTE_COUNTRIES = ("KAZ", "NGA")


@pytest.fixture(scope="module")
def snapshot_rows(snapshot_template: Path) -> pd.DataFrame:
    """Every snapshot observation of `PRECOMPUTE_COUNTRIES` and the world series."""
    engine = store.make_engine(f"sqlite:///{snapshot_template}")
    try:
        return store.read_observations(engine, countries=[*PRECOMPUTE_COUNTRIES, "WLD"])
    finally:
        engine.dispose()
