"""The Validation page under AppTest: the same numbers as docs/VALIDATION.md, and clear words when
the results file is missing or broken.

The committed docs/validation.json and docs/VALIDATION.md are the bundled backtest's outputs
(tests/flashpoint/test_backtest_cli.py fails when either is stale). Here the page is rendered
from that JSON and its tables and lines are compared, number by number, with the tables and lines
parsed out of VALIDATION.md — and with the JSON's own values at the shown precision.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from flashpoint.validation_results import PRODUCE_COMMAND
from tests.dashboard.conftest import APP

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "VALIDATION.md"
RESULTS = REPO / "docs" / "validation.json"
PAGE = "app_pages/validation.py"
ENV = "FLASHPOINT_VALIDATION_RESULTS"
TIMEOUT = 300
NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def open_page() -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception, [item.value for item in at.exception]
    return at


def section(markdown: str, heading: str) -> str:
    """The text of `## heading` up to the next `## `."""
    start = markdown.index(f"## {heading}\n")
    end = markdown.find("\n## ", start + 1)
    return markdown[start : end if end != -1 else None]


def markdown_tables(text: str) -> list[list[list[str]]]:
    """Every pipe table in `text`: rows of stripped cells, header first, rule line dropped."""
    tables: list[list[list[str]]] = []
    current: list[list[str]] = []
    for line in [*text.splitlines(), ""]:
        if line.startswith("|"):
            if not line.startswith("|---"):
                cells = re.split(r"(?<!\\)\|", line.strip()[1:-1])
                current.append([c.strip().replace("\\|", "|") for c in cells])
        elif current:
            tables.append(current)
            current = []
    return tables


def bullets(text: str) -> list[str]:
    return [line[2:] for line in text.splitlines() if line.startswith("* ")]


def unescape(text: str) -> str:
    """Markdown backslash escapes removed (the page escapes results text before rendering)."""
    return re.sub(r"\\(.)", r"\1", str(text))


def numbers(text: str) -> list[str]:
    return NUMBER.findall(text)


def page_frames(at: AppTest, first_column: str, containing: str) -> list[pd.DataFrame]:
    """The page's tables whose first column is `first_column` and that have `containing`."""
    frames: list[pd.DataFrame] = [element.value for element in at.dataframe]
    return [
        frame
        for frame in frames
        if list(frame.columns)[:1] == [first_column] and containing in frame.columns
    ]


def page_frame(at: AppTest, first_column: str, containing: str) -> pd.DataFrame:
    frames = page_frames(at, first_column, containing)
    if not frames:
        raise AssertionError(f"no table with {first_column!r}, {containing!r}")
    return frames[0]


def page_lines(at: AppTest) -> list[str]:
    return [unescape(item.value) for item in at.markdown]


def rows_of(frame: pd.DataFrame) -> list[list[str]]:
    return [[str(c) for c in frame.columns]] + [
        [str(v) for v in row] for row in frame.itertuples(index=False)
    ]


@pytest.fixture
def rendered(tmp_path: Path, use_store: Any, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    assert RESULTS.is_file(), f"docs/validation.json missing: run `{PRODUCE_COMMAND}`"
    use_store(tmp_path / "empty.db")  # the page needs no store
    monkeypatch.delenv(ENV, raising=False)
    return open_page()


def test_page_and_validation_md_show_the_same_numbers(rendered: AppTest) -> None:
    at = rendered
    doc = DOC.read_text(encoding="utf-8")
    results = json.loads(RESULTS.read_text(encoding="utf-8"))
    assert not at.error, [item.value for item in at.error]
    assert at.title[0].value == "Validation"

    # Methodology version: the JSON's, on the page and in the document.
    version = str(results["methodology_version"])
    assert f"Methodology version **{version}**" in doc
    assert f"Methodology version {version} " in " ".join(unescape(c.value) for c in at.caption)

    # AUC / AUPRC with CIs against the baselines: cell for cell, and every row of the JSON.
    (doc_disc,) = markdown_tables(section(doc, "Structural discrimination"))
    page_disc = rows_of(page_frame(at, "family", "AUC 95 % CI"))
    assert page_disc == doc_disc
    assert len(page_disc) - 1 == len(results["discrimination"]) > 0
    for shown, row in zip(page_disc[1:], results["discrimination"], strict=True):
        assert shown[2] == row["predictor"] and shown[3] == str(row["rows"])
        assert shown[5] == f"{row['auc']['value']:.3f}"
        assert shown[6] == f"[{row['auc']['low']:.2f}, {row['auc']['high']:.2f}]"
        assert shown[7] == f"{row['auprc']['value']:.3f}"
    predictors = {row[2] for row in page_disc[1:]}
    assert {"V", "PV.EST (negated)", "last year's unrest", "base rate"} <= predictors
    # The report-year summary: each family × predictor cell is the document's AUC and CI.
    summary_table = page_frame(at, "label family", "PV.EST (negated)").set_index("label family")
    report_rows = [row for row in doc_disc[1:] if row[1].startswith("report")]
    assert report_rows and summary_table.size == len(report_rows)
    for family, _, predictor, _, _, auc, auc_ci, _, _ in report_rows:
        assert summary_table.loc[family, predictor] == f"{auc} {auc_ci}"

    # Event study: the episode table cell for cell, and the hit-rate lines number for number.
    event_section = section(doc, "Event study")
    (doc_episodes,) = markdown_tables(event_section)
    page_episodes = rows_of(page_frame(at, "id", "hit"))
    assert page_episodes == doc_episodes
    episodes = results["event_study"]["episodes"]
    assert [row[0] for row in page_episodes[1:]] == [e["id"] for e in episodes]
    hits = [row[page_episodes[0].index("hit")] for row in page_episodes[1:]]
    assert hits == ["–" if e["hit"] is None else ("yes" if e["hit"] else "no") for e in episodes]
    lines = page_lines(at)
    for line in bullets(event_section):
        assert any(numbers(line) == numbers(shown) and line in shown for shown in lines), line
    summary = results["event_study"]["summary"]["event"]
    assert any(f"events: {summary['hits']} of {summary['scored']} hit" in x for x in lines)

    # Alert load: the document's lines and the headline metric.
    load_lines = bullets(section(doc, "Alert load"))
    assert load_lines
    for line in load_lines:
        assert any(numbers(line) == numbers(shown) for shown in lines), line
    load = results["alert_load"]
    metrics = {m.label: str(m.value) for m in at.metric}
    assert metrics["Alerts per country-year"] == f"{load['per_country_year']:.2f}"
    assert metrics["Alerts outside episodes"] == str(load["firings"])
    assert f"{load['per_country_year']:.2f} per country-year" in doc

    # Pre-registered targets: what was found, and met / missed, as the document states them.
    (doc_targets,) = markdown_tables(
        section(doc, "Outcome against the targets (report years, the configured scoring)")
    )
    page_targets = rows_of(page_frame(at, "target", "met"))
    words = {"yes": "met", "**no**": "missed", "–": "not testable"}
    assert [[t, f, words[m]] for t, f, m in doc_targets[1:]] == page_targets[1:]
    assert len(page_targets) - 1 == 3
    # Before → after calibration (methodology 2's aggregation and the configured one, one run).
    before_after = bullets(
        section(doc, "Outcome against the targets (report years, the configured scoring)")
    )
    assert results["before"] is not None and before_after
    for line in before_after:
        assert line in lines or f"- {line}" in lines, line

    # Train / report split and the after-calibration figures.
    split = results["settings"]
    split_text = f"{split['report_years'][0]}–{split['report_years'][1]}"
    assert f"Y ≤ {split['train_last_year']}" in doc and split_text in doc
    assert any(f"up to {split['train_last_year']}" in x and split_text in x for x in lines)
    calibration = section(
        doc, "Calibration of the aggregation and the weights (chosen on the train years only)"
    )
    after = bullets(calibration)
    assert after
    for line in after:
        assert line in lines or f"- {line}" in lines, line
    doc_calibration, doc_weights, doc_indicators = markdown_tables(calibration)
    assert rows_of(page_frame(at, "candidate", "mean train AUC")) == doc_calibration
    # The pillar-weight search, then the indicator search: every step, as the document lists
    # them, and where each stopped.
    searches = page_frames(at, "step", "mean train AUC")
    assert [rows_of(frame) for frame in searches] == [doc_weights, doc_indicators]
    assert len(doc_weights) - 1 == len(results["calibration"]["weights"]["steps"])
    assert len(doc_indicators) - 1 == len(results["calibration"]["indicators"]["steps"])
    assert sum(line.startswith("Stopped at: ") for line in after) == 2


def test_missing_results_file_names_the_command(
    tmp_path: Path, use_store: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_store(tmp_path / "empty.db")
    monkeypatch.setenv(ENV, str(tmp_path / "validation.json"))
    at = open_page()
    assert not at.error and not at.dataframe and not at.metric
    (info,) = at.info
    assert "No backtest results to show" in info.value
    assert "no backtest results file at validation.json" in unescape(info.value)
    assert PRODUCE_COMMAND in info.value


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ('{"methodology_version": "2", "event_study"', "is not valid JSON (line 1"),
        ('{"methodology_version": "2"}', "not a backtest results document (KeyError"),
        ("[1, 2]", "is not a backtest results document"),
    ],
    ids=["truncated", "wrong-shape", "not-an-object"],
)
def test_broken_results_file_is_one_clear_line(
    tmp_path: Path, use_store: Any, monkeypatch: pytest.MonkeyPatch, body: str, problem: str
) -> None:
    # Synthetic bodies (fault cases): a truncated write, a foreign JSON file.
    use_store(tmp_path / "empty.db")
    broken = tmp_path / "validation.json"
    broken.write_text(body, encoding="utf-8")
    monkeypatch.setenv(ENV, str(broken))
    at = open_page()
    (info,) = at.info
    assert problem in unescape(info.value)
    assert PRODUCE_COMMAND in info.value and not at.dataframe


def test_results_text_is_shown_as_text(
    tmp_path: Path, use_store: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Synthetic: the committed results with a hostile family title and episode id.
    results = json.loads(RESULTS.read_text(encoding="utf-8"))
    hostile = '<img src=x onerror="alert(1)"> [link](javascript:alert(1)) **bold**'
    results["families"][0]["title"] = hostile
    results["event_study"]["episodes"][0]["id"] = hostile
    path = tmp_path / "validation.json"
    path.write_text(json.dumps(results), encoding="utf-8")
    use_store(tmp_path / "empty.db")
    monkeypatch.setenv(ENV, str(path))
    at = open_page()
    family_lines = [m.value for m in at.markdown if "onerror" in m.value]
    assert family_lines, "the family title is shown"
    for value in family_lines:
        # Every markdown-active character arrives backslash-escaped: no tag, link or emphasis.
        assert "\\<img" in value and not re.search(r"(?<!\\)[<\[(]", value)
        assert "](javascript" not in value
    assert page_frame(at, "id", "hit").iloc[0, 0] == hostile  # a dataframe cell: plain text


def test_results_of_another_methodology_version_are_flagged(
    tmp_path: Path, use_store: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    results = json.loads(RESULTS.read_text(encoding="utf-8"))
    results["methodology_version"] = "0-old"
    path = tmp_path / "validation.json"
    path.write_text(json.dumps(results), encoding="utf-8")
    use_store(tmp_path / "empty.db")
    monkeypatch.setenv(ENV, str(path))
    at = open_page()
    (warning,) = at.warning
    assert "methodology version 0\\-old" in warning.value and PRODUCE_COMMAND in warning.value
    assert at.dataframe, "the old results are still shown, flagged"
