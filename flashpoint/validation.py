"""Backtest results as tables and as docs/VALIDATION.md: the CLI and the docs render one object.

`read_coups` and `_default_rules` supply the packaged coup labels and the configured default
rules the pure backtest needs; `episode_table`,
`discrimination_table` and `alert_load_lines` are the CLI's tables; `validation_markdown` is the
document, byte-for-byte reproducible from the bundled data (no timings, no run dates).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from flashpoint.config import Settings
from flashpoint.validation_indicators import (
    indicator_lines,
    indicator_search_method,
    indicator_search_table,
)
from indicators.methodology import METHODOLOGY_VERSION
from indicators.validation import alert_load, labels
from indicators.validation import backtest as bt
from indicators.validation.backtest import BacktestResult, DiscriminationRow
from indicators.validation.before_after import PREVIOUS_METHODOLOGY, hit_counts
from indicators.validation.calibration import MIN_GAIN, weights_label
from indicators.validation.episodes import BUNDLED_EPISODES

COUPS_FILE = BUNDLED_EPISODES.parent / "powell_thyne_coups_country_month_1985-2025.csv"

# Fixed before any weight was moved (issue 12 §3); never edited to fit a result.
PRE_REGISTERED_TARGETS: tuple[tuple[str, str], ...] = (
    ("auc", "V's ROC AUC above the PV.EST-alone AUC on every label family (report years)"),
    (
        "hit_rate",
        "event-study hit rate ≥ 70 % on episodes whose country has a domestic price or daily "
        "unrest series",
    ),
    ("alert_load", "at most 1 default-rule alert per country-year outside episode windows"),
)


def read_coups(path: Path = COUPS_FILE) -> pd.DataFrame:
    """The Powell & Thyne country-month coup file packaged with Flashpoint."""
    return pd.read_csv(path, dtype={"country_iso3": str, "year_month": str})


def _default_rules(settings: Settings) -> list[Any]:
    from flashpoint.alerts.rules import config_rules

    return list(config_rules(settings))


def _fmt(value: float | None, digits: int = 2) -> str:
    return "–" if value is None or pd.isna(value) else f"{value:.{digits}f}"


def episode_table(result: BacktestResult) -> pd.DataFrame:
    """One row per episode: scores around T, first band rise / alert, hit."""
    rows = []
    for e in result.episodes:
        row: dict[str, Any] = {
            "id": e.id,
            "kind": e.kind,
            "T": e.reference,
            "T from": e.reference_basis,
        }
        for offset in bt.OFFSETS:
            row[f"C{offset:+d}"] = e.composite[offset]
        row["V@T"] = e.vulnerability[0]
        row["trig@T"] = e.trigger[0]
        row["band@T-1"] = e.band[-1] or "–"
        row["band@T+7"] = e.band[7] or "–"
        row["band↑ d(T)"] = e.first_band_rise_from_t
        row["alert d(T)"] = e.first_alert_from_t
        row["alert d(onset)"] = e.first_alert_from_onset
        row["rule"] = e.first_alert_rule or "–"
        row["rise"] = e.rise
        row["hit"] = "–" if e.hit is None else ("yes" if e.hit else "no")
        row["domestic"] = "yes" if e.domestic_series else ""
        rows.append(row)
    frame = pd.DataFrame(rows)
    for name in ("band↑ d(T)", "alert d(T)", "alert d(onset)"):
        frame[name] = frame[name].astype("Int64")
    return frame


def discrimination_table(result: BacktestResult) -> pd.DataFrame:
    """Long table: family, split, predictor, rows, positives, AUC and AUPRC with their CIs."""
    rows = []
    for r in result.discrimination:
        rows.append(
            {
                "family": r.family,
                "split": r.split,
                "predictor": r.predictor,
                "rows": r.rows,
                "positives": r.positives,
                "AUC": r.auc.value,
                "AUC low": r.auc.low,
                "AUC high": r.auc.high,
                "AUPRC": r.auprc.value,
                "AUPRC low": r.auprc.low,
                "AUPRC high": r.auprc.high,
            }
        )
    return pd.DataFrame(rows)


def hit_summary(result: BacktestResult) -> list[str]:
    """Hit-rate lines for events and controls (all, and those with a domestic series)."""
    lines = []
    for kind, label in (("event", "events"), ("control", "controls (a hit = a false alarm)")):
        for domestic in (False, True):
            hits, total = result.hit_rate(kind, domestic_only=domestic)
            share = f"{100 * hits / total:.0f} %" if total else "n/a"
            scope = " with a domestic price series" if domestic else ""
            lines.append(f"{label}{scope}: {hits} of {total} hit ({share})")
    return lines


def alert_load_lines(result: BacktestResult) -> list[str]:
    """The alert load in words."""
    load = result.alert_load
    rules = ", ".join(f"{name} {count}" for name, count in load.by_rule.items()) or "none"
    return [
        f"{load.firings} default-rule alerts outside episode windows over {load.country_years} "
        f"country-years ({load.countries} countries, {load.years[0]}–{load.years[1]}, month-end "
        f"evaluation): {_fmt(load.per_country_year)} per country-year",
        f"by rule: {rules}",
        f"not replayed: {', '.join(load.not_replayed) or 'none'}",
        *band_margin_lines(result),
    ]


def band_margin_lines(result: BacktestResult) -> list[str]:
    """The band-rise margin's candidates and the choice made on the train years, in words."""
    calibration = result.alert_load.band_margin
    if calibration is None:
        return []
    first, last = calibration.train_years
    report = result.alert_load.years
    candidates = "; ".join(
        f"{row.margin:g}: {_fmt(row.train_per_country_year)} train, "
        f"{_fmt(row.report_per_country_year)} report"
        for row in calibration.rows
    )
    target = alert_load.TARGET_PER_COUNTRY_YEAR
    how = (
        f"the smallest margin with at most {target:g} per country-year"
        if any(alert_load.meets_target(row) for row in calibration.rows)
        else f"no candidate reached {target:g} per country-year, so the lowest train load"
    )
    configured = (
        "configured the same"
        if calibration.configured == calibration.chosen
        else f"configured {calibration.configured:g}, which differs from the train choice"
    )
    return [
        f"band-rise margin (points inside the higher band before a rise counts), alerts per "
        f"country-year on the train years {first}–{last} and the report years "
        f"{report[0]}–{report[1]}: {candidates}",
        f"chosen on the train years ({how}): {calibration.chosen:g}; {configured}",
    ]


def _report_rows(result: BacktestResult) -> dict[str, dict[str, DiscriminationRow]]:
    out: dict[str, dict[str, DiscriminationRow]] = {}
    for r in result.discrimination:
        if r.split.startswith("report"):
            out.setdefault(r.family, {})[r.predictor] = r
    return out


def target_outcomes(result: BacktestResult) -> list[tuple[str, str, bool | None]]:
    """Each pre-registered target with what was found and whether it was met (None: untestable)."""
    outcomes: list[tuple[str, str, bool | None]] = []
    report = _report_rows(result)
    parts, met = [], True
    for family, by_predictor in report.items():
        v, pv = by_predictor["V"].auc.value, by_predictor["PV.EST (negated)"].auc.value
        parts.append(f"{family} V {_fmt(v)} vs PV.EST {_fmt(pv)}")
        met = met and bool(v > pv)
    outcomes.append((PRE_REGISTERED_TARGETS[0][1], "; ".join(parts), met if report else None))
    hits, total = result.hit_rate("event", domestic_only=True)
    outcomes.append(
        (
            PRE_REGISTERED_TARGETS[1][1],
            f"{hits} of {total} episodes with a domestic series hit"
            + (" (too few to conclude)" if 0 < total < 10 else ""),
            None if total == 0 else hits / total >= 0.7,
        )
    )
    load = result.alert_load.per_country_year
    outcomes.append(
        (
            PRE_REGISTERED_TARGETS[2][1],
            f"{_fmt(load)} per country-year",
            None if load is None else load <= 1.0,
        )
    )
    return outcomes


def calibration_table(result: BacktestResult) -> pd.DataFrame:
    """Train-year AUC per family of every aggregation candidate (the choice's evidence)."""
    calibration = result.calibration
    if calibration is None:
        return pd.DataFrame()
    frame = pd.DataFrame(list(calibration.candidates))

    def mark(name: str) -> str:
        words = [
            word
            for word, applies in (
                ("chosen", name == calibration.chosen),
                ("configured", name == calibration.current),
                (f"methodology {PREVIOUS_METHODOLOGY}", name == calibration.previous),
            )
            if applies
        ]
        return ", ".join(words)

    frame.insert(1, "", frame["name"].map(mark))
    return frame.rename(columns={"name": "candidate", "mean": "mean train AUC"})


def weight_search_table(result: BacktestResult) -> pd.DataFrame:
    """The pillar-weight search on the train years, one row per step (empty when not run)."""
    calibration = result.calibration
    if calibration is None or calibration.weights is None:
        return pd.DataFrame()
    search = calibration.weights
    rows = []
    for step in search.steps:
        weights = step["weights"]
        assert isinstance(weights, dict)
        row: dict[str, object] = {
            "step": step["step"],
            "change": step["change"] or "equal weights (start)",
        }
        row.update({f"w {pillar}": weight for pillar, weight in sorted(weights.items())})
        row.update(
            {key: value for key, value in step.items() if key not in ("step", "change", "weights")}
        )
        rows.append(row)
    return pd.DataFrame(rows).rename(columns={"mean": "mean train AUC"})


def weight_lines(result: BacktestResult) -> list[str]:
    """Where the weight search stopped and whether the configuration adopted it."""
    calibration = result.calibration
    if calibration is None or calibration.weights is None:
        return []
    search = calibration.weights
    lines = [
        f"Stopped at: {weights_label(search.chosen)} (under {search.aggregation}).",
        f"Configured (`[pillars.<id>]` `weight`): {weights_label(search.current)}.",
    ]
    if search.chosen != search.current:
        lines.append(
            "**The train years now choose other weights than the configured ones**: their "
            "report-year figures are the \"V chosen\" rows above; adopting them is a methodology "
            "change (a new version)."
        )
    return lines


def calibration_lines(result: BacktestResult) -> list[str]:
    """Report-year AUC of V before (methodology 2's aggregation) and after (the configured one)
    calibration next to PV.EST, per family; empty when the two are the same rule."""
    lines = []
    for family, by_predictor in _report_rows(result).items():
        if bt.before_predictor() not in by_predictor:
            continue
        before = by_predictor[bt.before_predictor()].auc
        after = by_predictor["V"].auc
        pv = by_predictor["PV.EST (negated)"].auc
        lines.append(
            f"{family}: V {_fmt(before.value, 3)} before → {_fmt(after.value, 3)} after "
            f"{_ci(after.low, after.high)}; PV.EST {_fmt(pv.value, 3)}"
        )
    return lines


def _configured_weights(result: BacktestResult) -> str | None:
    calibration = result.calibration
    if calibration is None or calibration.weights is None:
        return None
    return weights_label(calibration.weights.current)


def _indicator_status(result: BacktestResult) -> str:
    calibration = result.calibration
    if calibration is None or calibration.indicators is None:
        return " The indicator weights within pillars and the transforms were not calibrated."
    changed = calibration.indicators.changed(calibration.indicators.start)
    configured = {
        item: setting
        for item, setting in calibration.indicators.current.items()
        if calibration.indicators.start.get(item) != setting
    }
    if not configured:
        return (
            " The indicator weights within pillars and the transforms are the design values"
            + (" (the train years chose other ones: below)." if changed else ".")
        )
    listed = "; ".join(f"{item} {setting.label}" for item, setting in sorted(configured.items()))
    return (
        " The indicators' weights and transforms are the design values except where the train "
        f"years chose otherwise: {listed}."
    )


def _aggregation_name(result: BacktestResult) -> str:
    raw = result.settings.get("aggregation")
    return str(raw["name"]) if isinstance(raw, dict) else "the configured aggregation"


def before_after_lines(result: BacktestResult) -> list[str]:
    """What calibration changed, from the same run: the rule, hit rates and alert load."""
    before = result.before
    if before is None:
        return []
    after_hits = hit_counts(result.episodes)
    lines = [
        f"aggregation: {before.aggregation} (methodology {before.methodology_version}) before → "
        f"{_aggregation_name(result)} (methodology {METHODOLOGY_VERSION}, configured) after",
    ]
    weights = _configured_weights(result)
    if weights is not None:
        lines.append(f"structural pillar weights: all equal before → {weights} after")
    for key, label in (
        ("event", "events hit"),
        ("event_domestic", "events with a domestic price series hit"),
        ("control", "controls hit (false alarms)"),
    ):
        old, new = before.hits[key], after_hits[key]
        lines.append(
            f"{label}: {old['hits']} of {old['scored']} before → {new['hits']} of "
            f"{new['scored']} after"
        )
    lines.append(
        f"alert load: {_fmt(before.alerts_per_country_year)} before → "
        f"{_fmt(result.alert_load.per_country_year)} after per country-year "
        f"({before.alert_firings} → {result.alert_load.firings} alerts)"
    )
    return lines


def _markdown_table(frame: pd.DataFrame, digits: int = 2) -> str:
    def cell(value: Any) -> str:
        if value is None or (not isinstance(value, str) and pd.isna(value)):
            return "–"
        if isinstance(value, float):
            return f"{value:.{digits}f}"
        return str(value).replace("|", "\\|")

    header = "| " + " | ".join(str(c) for c in frame.columns) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([header, rule, *body])


def _ci(low: float, high: float) -> str:
    return f"[{_fmt(low)}, {_fmt(high)}]"


def validation_markdown(result: BacktestResult) -> str:
    """docs/VALIDATION.md from a backtest of the bundled data (deterministic)."""
    settings: dict[str, Any] = dict(result.settings)
    disc = pd.DataFrame(
        [
            {
                "family": r.family,
                "split": r.split,
                "predictor": r.predictor,
                "rows": r.rows,
                "onsets": r.positives,
                "AUC": r.auc.value,
                "AUC 95 % CI": _ci(r.auc.low, r.auc.high),
                "AUPRC": r.auprc.value,
                "AUPRC 95 % CI": _ci(r.auprc.low, r.auprc.high),
            }
            for r in result.discrimination
        ]
    )
    targets = target_outcomes(result)
    lines = [
        "# Validation — does the score see what happened?",
        "",
        "<!-- Generated by `flashpoint backtest --write-docs docs/VALIDATION.md` from the bundled "
        "data; do not edit by hand. tests/flashpoint/test_backtest_cli.py fails when it is "
        "stale. -->",
        "",
        f"Methodology version **{METHODOLOGY_VERSION}**. Data: the bundled snapshot "
        "(`flashpoint/snapshot_data/`), the verified training episodes and the Powell & Thyne "
        "coups packaged in `indicators/data/labels/`. Every score below is point in time "
        "(docs/METHODOLOGY.md §2, with the release calendars of issue 12 §1).",
        "",
        "## Pre-registered targets (fixed before any weight moves)",
        "",
        "Stated here before calibration and never changed to fit a result (issue 12 §3):",
        "",
        *[f"{i}. {text}" for i, (_, text) in enumerate(PRE_REGISTERED_TARGETS, start=1)],
        "",
        f"**Split.** Choices (weights, transforms, aggregation) may be tuned only on the train "
        f"years (Y ≤ {settings['train_last_year']}); figures are reported on "
        f"{settings['report_years'][0]}–{settings['report_years'][1]}.",
        "",
        *_status_paragraph(result),
        "",
        "## Outcome against the targets (report years, the configured scoring)",
        "",
        "| target | found | met |",
        "|---|---|---|",
        *[
            f"| {text} | {found} | {'–' if met is None else ('yes' if met else '**no**')} |"
            for text, found, met in targets
        ],
        "",
        *(
            [
                "Before → after calibration (the same run; ROC AUC on the report years):",
                "",
                *[f"* {line}" for line in before_after_lines(result)],
                *[f"* {line}" for line in calibration_lines(result)],
                "",
            ]
            if result.before is not None
            else []
        ),
        "## Definitions",
        "",
        f"* **Event study.** Per episode the score is replayed daily from T−{bt.REPLAY_BEFORE} to "
        f"T+{bt.REPLAY_AFTER} (T: `effective`, or `announced` when unrest began before the price "
        "applied; without `effective` `announced`, else `onset`). A **hit**: the composite rose "
        f"at least {bt.RISE_POINTS} points above its T−8 value on some day in "
        f"[T{bt.HIT_WINDOW[0]:+d}, T{bt.HIT_WINDOW[1]:+d}], or a default-rule alert fired in that "
        "window. Controls are scored the same way; a control hit is a false alarm. *Domestic* = "
        "a domestic retail fuel price (`fuel_*_retail`) observed for the country in the year "
        "before T.",
        "* **Structural discrimination.** For each country-year Y with a score: V as of 31 Dec "
        "Y−1 against the onset label of Y; baselines on the same rows: WGI Political Stability "
        "(PV.EST, the value visible on 31 Dec Y−1, negated), last year's unrest (the country's "
        "share of the world's GDELT protest events in Y−1) and the base rate (a constant). "
        f"Bootstrap: {settings['replicates']} replicates stratified by class, seed "
        f"{settings['seed']}, percentile 95 % CI.",
        *[f"* **{f['title']}** (`{f['name']}`): {f['rule']}." for f in result.families],
        f"  GDELT surge constants: ratio {labels.SURGE_RATIO:g}, at least "
        f"{labels.SURGE_MIN_EVENTS:g} events, {labels.SURGE_HISTORY_MONTHS}-month history "
        f"(at least {labels.SURGE_MIN_HISTORY}); UCDP onset at {labels.CONFLICT_DEATHS:g} deaths.",
        "* **Alert load.** The configured default rules stepped with the real state machine at "
        "month ends of the report years for every scored country; alerts within "
        f"{alert_load.EPISODE_WINDOW_DAYS} days of any episode's T are left out. The band-rise "
        "rule's margin (the points the composite must be inside the higher band) is chosen on "
        f"the train years {alert_load.TRAIN_ALERT_YEARS[0]}–{alert_load.TRAIN_ALERT_YEARS[1]}: "
        "the smallest candidate whose train load is at most 1 per country-year, else the one "
        "with the lowest train load.",
        "",
        "## Event study",
        "",
        *[f"* {line}" for line in hit_summary(result)],
        "",
        _markdown_table(episode_table(result)),
        "",
        "## Structural discrimination",
        "",
        _markdown_table(disc, digits=3),
        "",
        "## Alert load",
        "",
        *[f"* {line}" for line in alert_load_lines(result)],
        "",
        "## Calibration of the aggregation and the weights (chosen on the train years only)",
        "",
        "Candidates: weighted power means of the structural pillar scores, each pillar floored "
        "first (p = 0 geometric, 1 arithmetic, ∞ the worst pillar); the floor is the answer to "
        "\"one near-zero pillar hides several terrible ones\". Chosen: the highest mean train "
        f"AUC (Y ≤ {settings['train_last_year']}) over the label families; the reported years "
        "played no part in the choice.",
        "",
        _markdown_table(calibration_table(result), digits=3),
        "",
        *_choice_lines(result),
        "Then the structural pillar weights, under the chosen aggregation: a coordinate search "
        "from equal weights; each step is the one change of one pillar's weight (to 0.5, 1, 2 "
        "or 3) that raised the mean train AUC most, taken when it raised it by at least "
        f"{MIN_GAIN:g}; the search stops when no change does.",
        "",
        _markdown_table(weight_search_table(result), digits=3),
        "",
        *[f"* {line}" for line in weight_lines(result)],
        "",
        *_indicator_section(result),
        "Report years, before → after calibration (ROC AUC, 95 % CI of the configured V):",
        "",
        *[f"* {line}" for line in calibration_lines(result)],
        "",
    ]
    return "\n".join(lines)


def _indicator_section(result: BacktestResult) -> list[str]:
    table = indicator_search_table(result)
    if table.empty:
        return []
    return [
        indicator_search_method() + f" A step is taken when it raises the mean by at least "
        f"{MIN_GAIN:g}; the search stops when no change does.",
        "",
        _markdown_table(table, digits=3),
        "",
        *[f"* {line}" for line in indicator_lines(result)],
        "",
    ]


def _status_paragraph(result: BacktestResult) -> list[str]:
    adopted = _aggregation_name(result)
    if result.before is None:
        return [
            f"**Calibration status.** The scores below use the configured aggregation ({adopted}), "
            f"which is the aggregation of methodology {PREVIOUS_METHODOLOGY}: there is no before "
            "and after to compare.",
        ]
    weights = _configured_weights(result)
    weighted = (
        f" and weights them {weights} (`[pillars.<id>]` `weight`)" if weights is not None else ""
    )
    return [
        f"**Calibration status.** The scores below are **after calibration**: methodology "
        f"{METHODOLOGY_VERSION} aggregates the structural pillars with {adopted} (`config.toml` "
        f"`[model]` `vulnerability_power`, `pillar_floor`){weighted}: the aggregation and the "
        f"weights the train years chose (below). **Before calibration** is methodology "
        f"{result.before.methodology_version}'s rule ({result.before.aggregation}: the geometric "
        "mean, each pillar floored at 0.1, the pillars weighted equally) scored in the same run "
        "on the same data, episodes and rules, with the indicators' design weights and "
        "transforms."
        + _indicator_status(result)
        + _margin_status(result),
    ]


def _margin_status(result: BacktestResult) -> str:
    calibration = result.alert_load.band_margin
    if calibration is None:
        return ""
    return (
        f" The band-rise alert's margin ({calibration.configured:g} point"
        f"{'' if calibration.configured == 1 else 's'} inside the higher band) is also a train-"
        "year choice; every candidate's alert load is listed under Alert load."
    )


def _choice_lines(result: BacktestResult) -> list[str]:
    calibration = result.calibration
    if calibration is None or calibration.chosen == calibration.current:
        return []
    return [
        f"**The train years now choose {calibration.chosen}, not the configured "
        f"{calibration.current}**: its report-year figures are the \"V chosen\" rows above; "
        "adopting it is a methodology change (a new version).",
        "",
    ]


__all__ = [
    "PRE_REGISTERED_TARGETS",
    "alert_load_lines",
    "before_after_lines",
    "calibration_lines",
    "calibration_table",
    "discrimination_table",
    "episode_table",
    "hit_summary",
    "read_coups",
    "target_outcomes",
    "validation_markdown",
    "weight_lines",
    "weight_search_table",
]
