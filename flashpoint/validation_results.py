"""The backtest's results file (docs/validation.json): written beside VALIDATION.md, read back.

`flashpoint backtest --write-docs docs/VALIDATION.md` writes the result objects as JSON next to
the document and renders the document from those objects *read back from the JSON*, so the
document and the dashboard's Validation page (which loads the same file) show the same numbers
by construction — the page never re-runs a two-minute backtest.

The file is the CLI's `--format json` document: `{"methodology_version": …, **result.to_dict()}`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from flashpoint.errors import FlashpointError
from indicators.methodology import METHODOLOGY_VERSION
from indicators.validation.alert_load import AlertLoad, MarginCalibration, MarginRow
from indicators.validation.backtest import (
    BacktestResult,
    DiscriminationRow,
    EpisodeOutcome,
)
from indicators.validation.before_after import BeforeCalibration
from indicators.validation.calibration import CalibrationResult, WeightSearch
from indicators.validation.indicator_search import IndicatorSearch, IndicatorSetting
from indicators.validation.metrics import Estimate

RESULTS_NAME = "validation.json"
REPO_DOCS = Path(__file__).resolve().parent.parent / "docs"
PACKAGED_RESULTS = Path(__file__).resolve().parent / RESULTS_NAME
# What to run when the file is missing or unreadable (shown verbatim by the dashboard).
PRODUCE_COMMAND = "flashpoint backtest --write-docs docs/VALIDATION.md"


class ValidationResultsError(FlashpointError):
    """The results file is missing, unreadable or not a backtest result."""

    exit_code = 2


def results_path_for(document: Path) -> Path:
    """Where the results file of the document at `document` goes (the same directory)."""
    return document.with_name(RESULTS_NAME)


def default_results_path() -> Path:
    """docs/validation.json of the source tree (editable installs), else the copy a wheel ships
    inside the package (pyproject.toml force-includes it)."""
    in_tree = REPO_DOCS / RESULTS_NAME
    return in_tree if in_tree.is_file() else PACKAGED_RESULTS


def results_document(result: BacktestResult) -> dict[str, Any]:
    """The JSON document of `result` (also what `backtest --format json` prints)."""
    return {"methodology_version": METHODOLOGY_VERSION, **result.to_dict()}


def results_json(result: BacktestResult) -> str:
    """The results file's text: stable key order, UTF-8, newline at the end."""
    return json.dumps(results_document(result), indent=2, ensure_ascii=False) + "\n"


def _number(value: object) -> float:
    return math.nan if value is None else float(value)  # type: ignore[arg-type]


def _estimate(raw: Mapping[str, Any]) -> Estimate:
    return Estimate(_number(raw["value"]), _number(raw["low"]), _number(raw["high"]))


def _by_offset(raw: Mapping[str, Any]) -> dict[int, Any]:
    return {int(key): value for key, value in raw.items()}


def _episode(raw: Mapping[str, Any]) -> EpisodeOutcome:
    return EpisodeOutcome(
        id=str(raw["id"]),
        country=str(raw["country"]),
        kind=str(raw["kind"]),
        reference=str(raw["reference"]),
        reference_basis=str(raw["reference_basis"]),
        onset=raw["onset"],
        domestic_series=bool(raw["domestic_series"]),
        composite=_by_offset(raw["composite"]),
        vulnerability=_by_offset(raw["vulnerability"]),
        trigger=_by_offset(raw["trigger"]),
        band=_by_offset(raw["band"]),
        first_band_rise_from_t=raw["first_band_rise_from_t"],
        first_band_rise_from_onset=raw["first_band_rise_from_onset"],
        first_alert_from_t=raw["first_alert_from_t"],
        first_alert_from_onset=raw["first_alert_from_onset"],
        first_alert_rule=raw["first_alert_rule"],
        rise=raw["rise"],
        hit=raw["hit"],
    )


def _row(raw: Mapping[str, Any]) -> DiscriminationRow:
    return DiscriminationRow(
        family=str(raw["family"]),
        split=str(raw["split"]),
        predictor=str(raw["predictor"]),
        rows=int(raw["rows"]),
        positives=int(raw["positives"]),
        auc=_estimate(raw["auc"]),
        auprc=_estimate(raw["auprc"]),
    )


def _alert_load(raw: Mapping[str, Any]) -> AlertLoad:
    first, last = raw["years"]
    per = raw["per_country_year"]
    return AlertLoad(
        years=(int(first), int(last)),
        countries=int(raw["countries"]),
        country_years=int(raw["country_years"]),
        firings=int(raw["firings"]),
        per_country_year=None if per is None else float(per),
        by_rule={str(name): int(count) for name, count in raw["by_rule"].items()},
        not_replayed=tuple(str(name) for name in raw["not_replayed"]),
        band_margin=_band_margin(raw.get("band_margin")),
    )


def _optional_float(value: Any) -> float | None:
    return None if value is None else float(value)


def _band_margin(raw: Mapping[str, Any] | None) -> MarginCalibration | None:
    if raw is None:
        return None
    first, last = raw["train_years"]
    rows = tuple(
        MarginRow(
            margin=float(row["margin"]),
            train_firings=int(row["train_firings"]),
            train_per_country_year=_optional_float(row["train_per_country_year"]),
            report_firings=int(row["report_firings"]),
            report_per_country_year=_optional_float(row["report_per_country_year"]),
        )
        for row in raw["rows"]
    )
    return MarginCalibration(
        train_years=(int(first), int(last)),
        rows=rows,
        chosen=float(raw["chosen"]),
        configured=float(raw["configured"]),
    )


def _calibration(raw: Mapping[str, Any] | None) -> CalibrationResult | None:
    if raw is None:
        return None
    candidates: Sequence[dict[str, object]] = raw["candidates"]
    return CalibrationResult(
        train_last_year=int(raw["train_last_year"]),
        candidates=tuple(dict(candidate) for candidate in candidates),
        chosen=str(raw["chosen"]),
        current=str(raw["current"]),
        # Results written before methodology 3 have no "previous": theirs was the configured rule.
        previous=str(raw.get("previous", raw["current"])),
        # Results written before methodology 4 have no weight search, before 5 no indicator one.
        weights=_weight_search(raw.get("weights")),
        indicators=_indicator_search(raw.get("indicators")),
    )


def _settings(raw: Mapping[str, Any]) -> dict[str, IndicatorSetting]:
    return {
        str(item): IndicatorSetting(float(value["weight"]), bool(value["log"]))
        for item, value in raw.items()
    }


def _indicator_search(raw: Mapping[str, Any] | None) -> IndicatorSearch | None:
    if raw is None:
        return None
    steps: Sequence[Mapping[str, Any]] = raw["steps"]
    return IndicatorSearch(
        aggregation=str(raw["aggregation"]),
        pillar_weights={str(k): float(v) for k, v in raw["pillar_weights"].items()},
        steps=tuple(dict(step) for step in steps),
        start=_settings(raw["start"]),
        chosen=_settings(raw["chosen"]),
        current=_settings(raw["current"]),
    )


def _weight_search(raw: Mapping[str, Any] | None) -> WeightSearch | None:
    if raw is None:
        return None
    steps: Sequence[Mapping[str, Any]] = raw["steps"]
    return WeightSearch(
        aggregation=str(raw["aggregation"]),
        steps=tuple(
            {**step, "weights": {str(k): float(v) for k, v in step["weights"].items()}}
            for step in steps
        ),
        chosen={str(k): float(v) for k, v in raw["chosen"].items()},
        current={str(k): float(v) for k, v in raw["current"].items()},
    )


def result_from_document(document: Mapping[str, Any]) -> BacktestResult:
    """The `BacktestResult` a results document was written from.

    Raises:
        ValidationResultsError: when a part is missing or has the wrong shape.
    """
    try:
        return BacktestResult(
            episodes=tuple(_episode(e) for e in document["event_study"]["episodes"]),
            discrimination=tuple(_row(r) for r in document["discrimination"]),
            alert_load=_alert_load(document["alert_load"]),
            families=tuple(dict(f) for f in document["families"]),
            calibration=_calibration(document.get("calibration")),
            settings=dict(document["settings"]),
            # Older results files (methodology 2) have no "before" section.
            before=None if document.get("before") is None else BeforeCalibration.from_dict(
                document["before"]
            ),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise ValidationResultsError(
            f"not a backtest results document ({type(error).__name__}: {error})"
        ) from error


def read_results(path: Path | None = None) -> tuple[str, BacktestResult]:
    """(methodology version, result) from the results file at `path` (default: docs/).

    Raises:
        ValidationResultsError: the file is missing, is not JSON or is not a backtest result.
    """
    path = default_results_path() if path is None else path
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as error:
        raise ValidationResultsError(f"no backtest results file at {path.name}") from error
    except OSError as error:
        raise ValidationResultsError(f"cannot read {path.name}: {error.strerror}") from error
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValidationResultsError(
            f"{path.name} is not valid JSON (line {error.lineno}: {error.msg})"
        ) from error
    if not isinstance(document, dict):
        raise ValidationResultsError(f"{path.name} is not a backtest results document")
    version = str(document.get("methodology_version", "unknown"))
    return version, result_from_document(document)


def write_results(result: BacktestResult, document_path: Path) -> BacktestResult:
    """Write the results file beside `document_path`, then the document rendered from it.

    Returns:
        The result read back from the JSON (the objects both renderings use).
    """
    from flashpoint.validation import validation_markdown

    text = results_json(result)
    results_path_for(document_path).write_text(text, encoding="utf-8")
    read_back = result_from_document(json.loads(text))
    document_path.write_text(validation_markdown(read_back), encoding="utf-8")
    return read_back


__all__ = [
    "PRODUCE_COMMAND",
    "RESULTS_NAME",
    "ValidationResultsError",
    "default_results_path",
    "read_results",
    "result_from_document",
    "results_document",
    "results_json",
    "results_path_for",
    "write_results",
]
