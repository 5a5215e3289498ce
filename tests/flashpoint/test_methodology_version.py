"""Every stored score carries the methodology version it was computed with."""

from __future__ import annotations

import json
from pathlib import Path

from flashpoint import store
from flashpoint.scoring import panel_score_rows, save_panel
from indicators.methodology import METHODOLOGY_VERSION
from indicators.scoring import score_panel
from tests.indicators.scoring_support import observations, structural_rows, synthetic_catalogue


def test_stored_scores_carry_the_methodology_version(tmp_path: Path) -> None:
    panel = score_panel(
        observations(structural_rows("KAZ") + structural_rows("KGZ", inflation=30.0)),
        synthetic_catalogue(),
        as_of="2021-12-31",
    )
    rows = panel_score_rows(panel)
    assert {json.loads(detail)["methodology_version"] for detail in rows["detail"]} == {
        METHODOLOGY_VERSION
    }
    engine = store.make_engine(f"sqlite:///{tmp_path / 'scores.db'}")
    try:
        store.init_schema(engine)
        assert save_panel(engine, panel) == 2
        stored = store.read_scores(engine)
        versions = {json.loads(detail)["methodology_version"] for detail in stored["detail"]}
        assert versions == {METHODOLOGY_VERSION}
    finally:
        engine.dispose()
