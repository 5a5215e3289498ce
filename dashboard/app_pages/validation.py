"""Validation: the backtest's results (targets, split, event study, AUC/AUPRC, alert load).

Rendered from the results file `flashpoint backtest --write-docs docs/VALIDATION.md` writes beside
the document (docs/validation.json), read back into the same objects VALIDATION.md is rendered
from — the page never re-runs the backtest. Text from the file is shown as text (dataframe cells,
escaped markdown), never as HTML.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from dashboard.formatting import escape_markdown
from flashpoint.validation import (
    PRE_REGISTERED_TARGETS,
    alert_load_lines,
    before_after_lines,
    calibration_lines,
    calibration_table,
    episode_table,
    hit_summary,
    target_outcomes,
    weight_lines,
    weight_search_table,
)
from flashpoint.validation_indicators import (
    indicator_lines,
    indicator_search_method,
    indicator_search_table,
)
from flashpoint.validation_results import (
    PRODUCE_COMMAND,
    ValidationResultsError,
    default_results_path,
    read_results,
)
from indicators.methodology import METHODOLOGY_VERSION
from indicators.validation.backtest import BacktestResult

# Tests (and deployments keeping the file elsewhere) point the page at another results file.
RESULTS_ENV = "FLASHPOINT_VALIDATION_RESULTS"


def results_path() -> Path:
    """The results file this page reads."""
    override = os.environ.get(RESULTS_ENV)
    return Path(override) if override else default_results_path()


@st.cache_resource(show_spinner=False, max_entries=4)
def load(path: str, modified: float) -> tuple[str, BacktestResult]:
    """The results at `path`, read once per file version (`modified` keys the cache)."""
    del modified
    return read_results(Path(path))


def cell(value: Any, digits: int) -> str:
    """A table cell at the shown precision (the rule VALIDATION.md's tables use)."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def shown(frame: pd.DataFrame, digits: int) -> pd.DataFrame:
    """`frame` as the strings the page shows (so nothing is re-rounded by the table widget)."""
    return pd.DataFrame(
        [[cell(value, digits) for value in row] for row in frame.itertuples(index=False)],
        columns=[str(column) for column in frame.columns],
    )


def number(value: float | None, digits: int) -> str:
    return "–" if value is None or pd.isna(value) else f"{value:.{digits}f}"


def ci(low: float, high: float) -> str:
    return f"[{number(low, 2)}, {number(high, 2)}]"


def discrimination_frame(result: BacktestResult) -> pd.DataFrame:
    """AUC / AUPRC with their 95 % CIs per family, split and predictor (baselines included)."""
    return pd.DataFrame(
        [
            {
                "family": r.family,
                "split": r.split,
                "predictor": r.predictor,
                "rows": str(r.rows),
                "onsets": str(r.positives),
                "AUC": number(r.auc.value, 3),
                "AUC 95 % CI": ci(r.auc.low, r.auc.high),
                "AUPRC": number(r.auprc.value, 3),
                "AUPRC 95 % CI": ci(r.auprc.low, r.auprc.high),
            }
            for r in result.discrimination
        ]
    )


def report_auc_frame(result: BacktestResult) -> pd.DataFrame:
    """Report-year ROC AUC and CI: one row per family, one column per predictor (V first)."""
    table: dict[str, dict[str, str]] = {}
    for r in result.discrimination:
        if r.split.startswith("report"):
            shown_ci = ci(r.auc.low, r.auc.high)
            table.setdefault(r.family, {})[r.predictor] = f"{number(r.auc.value, 3)} {shown_ci}"
    frame = pd.DataFrame.from_dict(table, orient="index").fillna("–")
    frame.insert(0, "label family", frame.index)
    return frame.reset_index(drop=True)


st.title("Validation")
path = results_path()
try:
    version, result = load(str(path), path.stat().st_mtime if path.exists() else 0.0)
except ValidationResultsError as error:
    st.info(
        f"**No backtest results to show** ({escape_markdown(error)}). This page shows the "
        "results of the last backtest without re-running it; produce them with "
        f"`{PRODUCE_COMMAND}` (about two minutes on the bundled data), then reload.",
        icon=":material/info:",
    )
    st.stop()

settings: dict[str, Any] = dict(result.settings)
st.caption(
    f"Methodology version {escape_markdown(version)} · the same results as docs/VALIDATION.md "
    f"(`{PRODUCE_COMMAND}` writes both). Every score is point in time: as of each date only "
    "data published by then."
)
if version != str(METHODOLOGY_VERSION):
    st.warning(
        f"These results come from methodology version {escape_markdown(version)}; the running "
        f"version is {METHODOLOGY_VERSION}. Re-run `{PRODUCE_COMMAND}` for current figures.",
        icon=":material/warning:",
    )

# --------------------------------------------------------------------------------------------
st.subheader("Pre-registered targets")
st.markdown(
    "Fixed before any weight moved and never changed to fit a result. Judged on the report "
    "years with the configured scoring (after calibration, when one was adopted)."
)
outcomes = target_outcomes(result)
st.dataframe(
    pd.DataFrame(
        [
            {
                "target": text,
                "found": found,
                "met": "not testable" if met is None else ("met" if met else "missed"),
            }
            for text, found, met in outcomes
        ]
    ),
    hide_index=True,
    width="stretch",
)
missed = sum(met is False for _, _, met in outcomes)
met_count = sum(met is True for _, _, met in outcomes)
st.markdown(
    f"**{met_count} of {len(PRE_REGISTERED_TARGETS)} targets met, {missed} missed.**"
    + (" Missed targets are reported as they are." if missed else "")
)

st.subheader("Train / report split")
st.markdown(
    f"Choices (weights, transforms, aggregation) may only be tuned on the **train years, up to "
    f"{settings['train_last_year']}**. Every figure is reported on the **report years, "
    f"{settings['report_years'][0]}–{settings['report_years'][1]}**, which played no part in "
    "any choice."
)
if result.before is not None:
    st.markdown(
        f"**Before → after calibration**, both scored in the same run: before is methodology "
        f"{escape_markdown(result.before.methodology_version)}'s aggregation "
        f"({escape_markdown(result.before.aggregation)}), after the configured one, chosen on the "
        "train years:"
    )
    for line in (*before_after_lines(result), *calibration_lines(result)):
        st.markdown(f"- {escape_markdown(line)}")

# --------------------------------------------------------------------------------------------
st.subheader("Event study")
st.markdown(
    f"Each episode's score replayed day by day around its reference date T. A **hit**: the "
    f"composite rose at least {settings['rise_points']:g} points above its T−8 value, or a "
    f"default-rule alert fired, between T{settings['hit_window'][0]:+d} and "
    f"T{settings['hit_window'][1]:+d}. For controls a hit is a false alarm."
)
for line in hit_summary(result):
    st.markdown(f"- {escape_markdown(line)}")
st.dataframe(shown(episode_table(result), 2), hide_index=True, width="stretch")
st.caption(
    "C±n: composite n days from T; V@T, trig@T: vulnerability and trigger at T; band↑ d(T): "
    "days from T to the first band rise; alert d(T) / d(onset): days to the first default-rule "
    "alert; – : no score that day or no such change."
)

# --------------------------------------------------------------------------------------------
st.subheader("Structural discrimination")
st.markdown(
    f"Vulnerability V as of 31 December of the year before, against whether an onset happened "
    f"that year; ROC AUC (0.5 = chance) and AUPRC with bootstrap 95 % intervals "
    f"({settings['replicates']} replicates, seed {settings['seed']}). The baselines run on the "
    "same rows: WGI Political Stability alone (negated), last year's unrest and the base rate."
)
for family in result.families:
    st.markdown(
        f"- **{escape_markdown(family.get('title'))}**: {escape_markdown(family.get('rule'))}"
    )
st.markdown(
    f"**Report years ({settings['report_years'][0]}–{settings['report_years'][1]}), ROC AUC with "
    "its 95 % interval**: V against each baseline on the same country-years."
)
st.dataframe(report_auc_frame(result), hide_index=True, width="stretch")
with st.expander("All rows: train and report years, AUC and AUPRC", expanded=False):
    st.dataframe(discrimination_frame(result), hide_index=True, width="stretch")

# --------------------------------------------------------------------------------------------
st.subheader("Alert load")
load_result = result.alert_load
columns = st.columns(3)
columns[0].metric("Alerts per country-year", number(load_result.per_country_year, 2))
columns[1].metric("Alerts outside episodes", f"{load_result.firings}")
columns[2].metric("Country-years", f"{load_result.country_years}")
st.markdown("What an analyst's inbox would have received from the default rules:")
for line in alert_load_lines(result):
    st.markdown(f"- {escape_markdown(line)}")

# --------------------------------------------------------------------------------------------
if result.calibration is not None:
    st.subheader("Calibration of the aggregation and the weights")
    st.markdown(
        "Candidate aggregations of the structural pillars (power means after a pillar floor), "
        f"each scored by its ROC AUC on the train years (up to {settings['train_last_year']}) "
        "only; the highest mean was chosen."
    )
    st.dataframe(shown(calibration_table(result), 3), hide_index=True, width="stretch")
    weight_steps = weight_search_table(result)
    if not weight_steps.empty:
        st.markdown(
            "Then the structural pillar weights, under the chosen aggregation: a search from "
            "equal weights, one pillar's weight changed per step while the mean train AUC rose."
        )
        st.dataframe(shown(weight_steps, 3), hide_index=True, width="stretch")
        for line in weight_lines(result):
            st.markdown(f"- {escape_markdown(line)}")
    indicator_steps = indicator_search_table(result)
    if not indicator_steps.empty:
        st.markdown(indicator_search_method())
        st.dataframe(shown(indicator_steps, 3), hide_index=True, width="stretch")
        for line in indicator_lines(result):
            st.markdown(f"- {escape_markdown(line)}")
