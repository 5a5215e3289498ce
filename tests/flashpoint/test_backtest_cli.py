"""`flashpoint backtest` end to end on the bundled data, and docs/VALIDATION.md kept current.

One full run per module (about a minute and a half on a loaded machine): the JSON it prints and the
document it writes are both checked, so the document and the command show the same numbers.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import json
from pathlib import Path
from typing import Any

import pytest

from flashpoint.cli import main
from flashpoint.config import default_config_path, load_config
from indicators.methodology import METHODOLOGY_VERSION
from indicators.validation.backtest import before_predictor
from indicators.validation.calibration import (
    EQUAL_WEIGHT,
    MIN_GAIN,
    PREVIOUS,
    Candidate,
    structural_weights,
)

REPO = Path(__file__).resolve().parents[2]
COMMITTED_DOC = REPO / "docs" / "VALIDATION.md"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], str, str]:
    directory = tmp_path_factory.mktemp("backtest")
    doc = directory / "VALIDATION.md"
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(["backtest", "--format", "json", "--write-docs", str(doc)])
    assert status == 0
    return json.loads(out.getvalue()), doc.read_text(encoding="utf-8"), err.getvalue()


def test_validation_md_is_current(run: tuple[dict[str, Any], str, str]) -> None:
    _, written, _ = run
    assert COMMITTED_DOC.read_text(encoding="utf-8") == written, (
        "docs/VALIDATION.md is stale: run `flashpoint backtest --write-docs docs/VALIDATION.md`"
    )


def test_progress_goes_to_stderr_and_the_version_is_stamped(
    run: tuple[dict[str, Any], str, str],
) -> None:
    document, written, progress = run
    assert "event study" in progress and "done" in progress
    assert document["methodology_version"] == METHODOLOGY_VERSION
    assert f"Methodology version **{METHODOLOGY_VERSION}**" in written


def test_the_event_study_covers_every_episode(run: tuple[dict[str, Any], str, str]) -> None:
    document, written, _ = run
    episodes = {e["id"]: e for e in document["event_study"]["episodes"]}
    assert len(episodes) == 44
    kaz = episodes["KAZ-2022"]
    # Kazakhstan 2022: the LPG step of 1 Jan is in the bundled analyst series.
    assert kaz["hit"] is True and kaz["domestic_series"] is True
    assert kaz["first_alert_from_t"] == 0 and kaz["first_alert_rule"] == "fuel_price_shock"
    assert kaz["composite"]["0"] > kaz["composite"]["-1"]
    summary = document["event_study"]["summary"]
    hits = sum(1 for e in episodes.values() if e["kind"] == "event" and e["hit"])
    assert summary["event"]["hits"] == hits
    assert f"events: {hits} of {summary['event']['scored']} hit" in written


def test_discrimination_has_every_family_split_and_baseline(
    run: tuple[dict[str, Any], str, str],
) -> None:
    document, written, _ = run
    rows = document["discrimination"]
    families = {r["family"] for r in rows}
    assert families == {"coups", "conflict", "protest_surge", "episodes"}
    # V, three baselines and the calibrated V, per family and split.
    assert len(rows) == 4 * 2 * 5
    for row in rows:
        auc = row["auc"]
        assert auc["low"] <= auc["value"] <= auc["high"]
        if row["predictor"] == "base rate":
            assert auc["value"] == 0.5
    # Baselines share the rows of V within each family and split.
    by_group: dict[tuple[str, str], set[int]] = {}
    for row in rows:
        by_group.setdefault((row["family"], row["split"]), set()).add(row["rows"])
    assert all(len(sizes) == 1 for sizes in by_group.values())
    # The document shows the same numbers as the command.
    v_report = next(
        r for r in rows if r["family"] == "conflict" and r["predictor"] == "V"
        and r["split"].startswith("report")
    )
    assert f"| conflict | {v_report['split']} | V | {v_report['rows']} |" in written
    assert f"{v_report['auc']['value']:.3f}" in written


def test_alert_load_is_reported(run: tuple[dict[str, Any], str, str]) -> None:
    document, written, _ = run
    load = document["alert_load"]
    assert load["country_years"] > 1000 and load["firings"] == sum(load["by_rule"].values())
    assert "stale_source" in load["not_replayed"]
    assert f"{load['firings']} default-rule alerts outside episode windows" in written


def test_a_bad_episodes_file_is_one_line_and_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "episodes.csv"
    bad.write_text("id,kind\nX,event\n", encoding="utf-8")
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        status = main(["backtest", "--episodes", str(bad)])
    assert status == 2
    assert err.getvalue().count("\n") == 1 and "missing column" in err.getvalue()


def test_calibration_is_chosen_on_train_years_and_reported(
    run: tuple[dict[str, Any], str, str],
) -> None:
    document, written, _ = run
    calibration = document["calibration"]
    best = max(calibration["candidates"], key=lambda row: row["mean"])
    assert calibration["chosen"] == best["name"]
    # The configured aggregation is the adopted one; "before" is methodology 2's rule.
    configured = Candidate.of(load_config(default_config_path()).catalogue().model)
    assert calibration["current"] == configured.name == document["settings"]["aggregation"]["name"]
    assert calibration["previous"] == PREVIOUS.name != configured.name
    predictors = {row["predictor"] for row in document["discrimination"]}
    assert before_predictor() in predictors
    search = calibration["weights"]
    # The weight search runs under the chosen aggregation, from equal weights; every accepted
    # step raised the mean train AUC by at least MIN_GAIN, and the configured weights are listed.
    assert search["aggregation"] == calibration["chosen"]
    steps = search["steps"]
    assert set(steps[0]["weights"].values()) == {EQUAL_WEIGHT}
    assert all(b["mean"] >= a["mean"] + MIN_GAIN - 1e-4 for a, b in itertools.pairwise(steps))
    assert steps[-1]["weights"] == search["chosen"]
    assert search["current"] == structural_weights(load_config(default_config_path()).catalogue())
    differs = calibration["chosen"] != configured.name or search["chosen"] != search["current"]
    chosen_rows = {p for p in predictors if p.startswith("V chosen (")}
    assert bool(chosen_rows) == differs
    assert "Calibration of the aggregation and the weights (chosen on the train years only)" in (
        written
    )


def test_before_calibration_is_scored_in_the_same_run(
    run: tuple[dict[str, Any], str, str],
) -> None:
    document, written, progress = run
    before = document["before"]
    assert before["aggregation"] == PREVIOUS.name and before["methodology_version"] == "2"
    assert "before calibration" in progress
    # The same episodes and country-years, scored with the other aggregation.
    after = document["event_study"]["summary"]
    assert {key: value["scored"] for key, value in before["hits"].items()} == {
        key: value["scored"] for key, value in after.items()
    }
    assert before["alert_country_years"] == document["alert_load"]["country_years"]
    assert before["alert_firings"] == sum(before["alerts_by_rule"].values())
    # V before is the discrimination row of the previous aggregation, on the same rows as V.
    rows = {
        (r["family"], r["split"], r["predictor"]): r for r in document["discrimination"]
    }
    for (family, split, predictor), row in rows.items():
        if predictor == "V":
            assert rows[(family, split, before_predictor())]["rows"] == row["rows"]
    load = document["alert_load"]
    assert (
        f"alert load: {before['alerts_per_country_year']:.2f} before → "
        f"{load['per_country_year']:.2f} after" in written
    )


@pytest.mark.parametrize("years", ["2016", "2024-2016", "abc-def"])
def test_bad_alert_years_are_one_line_and_exit_2(years: str) -> None:
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        status = main(["backtest", "--alert-years", years])
    assert status == 2
    assert err.getvalue().count("\n") == 1 and "--alert-years" in err.getvalue()


def test_validation_json_is_current(run: tuple[dict[str, Any], str, str]) -> None:
    # The results file the Validation page reads (written beside VALIDATION.md) is the JSON
    # document the command prints.
    document, _, _ = run
    committed = json.loads((REPO / "docs" / "validation.json").read_text(encoding="utf-8"))
    assert committed == document, (
        "docs/validation.json is stale: run `flashpoint backtest --write-docs docs/VALIDATION.md`"
    )


def test_the_backtest_from_a_store_loaded_with_the_snapshot_gives_the_same_figures(
    run: tuple[dict[str, Any], str, str], tmp_path: Path
) -> None:
    # A real SQLite store, loaded with the bundled snapshot by the command a user runs; then the
    # whole backtest read from the store must agree with the bundled-data path number for number.
    config = tmp_path / "config.toml"
    config.write_text(f'[general]\ndata_dir = "{(tmp_path / "data").as_posix()}"\n', "utf-8")
    with contextlib.redirect_stdout(io.StringIO()):
        # The backtest reads observations only: no composite history to precompute.
        assert main(["load-snapshot", "--config", str(config), "--history-days", "0"]) == 0
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(["backtest", "--config", str(config), "--data", "store", "--format", "json"])
    assert status == 0, err.getvalue()
    from_store = json.loads(out.getvalue())
    document, _, _ = run
    assert len(from_store["event_study"]["episodes"]) == len(document["event_study"]["episodes"])
    assert from_store == document
