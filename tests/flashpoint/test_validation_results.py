"""docs/validation.json: the result objects VALIDATION.md and the Validation page render from.

Fast (no backtest run): the committed JSON is read back and re-rendered. That it matches a fresh
backtest is tests/flashpoint/test_backtest_cli.py's job.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flashpoint.validation import validation_markdown
from flashpoint.validation_results import (
    RESULTS_NAME,
    ValidationResultsError,
    read_results,
    result_from_document,
    results_document,
    results_path_for,
    write_results,
)
from indicators.methodology import METHODOLOGY_VERSION

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "VALIDATION.md"
RESULTS = REPO / "docs" / RESULTS_NAME


def test_validation_md_is_rendered_from_the_committed_results() -> None:
    version, result = read_results(RESULTS)
    assert version == str(METHODOLOGY_VERSION)
    assert validation_markdown(result) == DOC.read_text(encoding="utf-8"), (
        "docs/VALIDATION.md and docs/validation.json disagree: run "
        "`flashpoint backtest --write-docs docs/VALIDATION.md`"
    )


def test_the_results_document_round_trips_exactly() -> None:
    document = json.loads(RESULTS.read_text(encoding="utf-8"))
    result = result_from_document(document)
    assert results_document(result) == document
    assert len(result.episodes) == len(document["event_study"]["episodes"]) > 0
    first = result.episodes[0]
    assert set(first.composite) == {-30, -7, -1, 0, 1, 7}  # offsets back to integers
    assert result.alert_load.years == tuple(document["alert_load"]["years"])


def test_write_results_puts_the_json_beside_the_document(tmp_path: Path) -> None:
    _, result = read_results(RESULTS)
    doc = tmp_path / "VALIDATION.md"
    read_back = write_results(result, doc)
    assert results_path_for(doc) == tmp_path / RESULTS_NAME
    assert json.loads((tmp_path / RESULTS_NAME).read_text(encoding="utf-8")) == json.loads(
        RESULTS.read_text(encoding="utf-8")
    )
    assert doc.read_text(encoding="utf-8") == validation_markdown(read_back)
    assert doc.read_text(encoding="utf-8") == DOC.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (None, "no backtest results file at validation.json"),
        ("{", "validation.json is not valid JSON (line 1"),
        ('"text"', "validation.json is not a backtest results document"),
        ('{"event_study": {"episodes": []}}', "not a backtest results document (KeyError"),
        (
            '{"event_study": {"episodes": [{"id": 1}]}, "discrimination": []}',
            "not a backtest results document (KeyError",
        ),
    ],
    ids=["missing", "truncated", "a-string", "parts-missing", "episode-incomplete"],
)
def test_bad_results_files_fail_with_one_line(
    tmp_path: Path, body: str | None, message: str
) -> None:
    # Synthetic bodies (fault cases).
    path = tmp_path / RESULTS_NAME
    if body is not None:
        path.write_text(body, encoding="utf-8")
    with pytest.raises(ValidationResultsError) as caught:
        read_results(path)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_an_installed_package_reads_the_shipped_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import flashpoint.validation_results as module

    assert module.default_results_path() == RESULTS  # the source tree wins when present
    monkeypatch.setattr(module, "REPO_DOCS", tmp_path)  # a wheel install: no docs/ beside it
    assert module.default_results_path() == module.PACKAGED_RESULTS
    assert module.PACKAGED_RESULTS.parent == REPO / "flashpoint"


def test_a_results_file_from_before_methodology_3_still_loads() -> None:
    # Methodology 2's files had no "before" section and no calibration "previous".
    document = json.loads(RESULTS.read_text(encoding="utf-8"))
    del document["before"]
    del document["calibration"]["previous"]
    result = result_from_document(document)
    assert result.before is None
    assert result.calibration is not None
    assert result.calibration.previous == result.calibration.current
    assert "Before → after calibration" not in validation_markdown(result)
