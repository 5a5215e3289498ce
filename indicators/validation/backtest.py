"""The backtest: event study, structural discrimination against baselines, and alert load.

Pure: observations, the catalogue, alert rules, episodes and coup labels in; plain dataclasses
out (each with `to_dict`), rendered by `flashpoint backtest`, docs/VALIDATION.md and (later) the
dashboard's Validation page. Definitions (also in docs/VALIDATION.md):

* **Event study** — per episode, the score replayed daily from T−60 to T+30. Reported: composite,
  V, trigger and band at T−30, T−7, T−1, T, T+1, T+7; the first band rise (band above the day
  before) and the first alert (default rules, `panels.alert_firings`) on or after T−30, in days
  from T and from onset; **hit** when the composite rose at least `RISE_POINTS` above its value
  at T−8 on some day in [T−7, T+2] or an alert fired in that window. Controls the same.
* **Structural discrimination** — for each label family and country-year Y: V as of 31 Dec Y−1
  against the onset label, ROC AUC and AUPRC with a stratified bootstrap 95 % CI, next to three
  baselines on the **same rows**: WGI Political Stability alone (negated: lower = riskier), last
  year's unrest (the country's share of the world's GDELT protest events in Y−1), and the base
  rate (a constant). Rows need all three scores; the train split is Y ≤ `TRAIN_LAST_YEAR`, the
  report split `REPORT_YEARS`.
* **Alert load** — the default rules stepped at month ends over the report years for every
  scored country; firings within `EPISODE_WINDOW_DAYS` of any episode's T are left out; load =
  firings per country-year.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace

import numpy as np
import pandas as pd

from indicators.alert_rules import AlertRule
from indicators.catalogue import Catalogue
from indicators.scoring import ScoreFrames
from indicators.validation.alert_load import EPISODE_WINDOW_DAYS, AlertLoad, alert_load
from indicators.validation.before_after import (
    PREVIOUS_METHODOLOGY,
    BeforeCalibration,
    as_previous,
    hit_counts,
)
from indicators.validation.calibration import (
    CANDIDATES,
    EQUAL_WEIGHT,
    PREVIOUS,
    CalibrationResult,
    Candidate,
    aggregate,
    calibrate,
    calibrate_weights,
    candidate_scores,
    structural_weights,
    weights_label,
)
from indicators.validation.indicator_search import (
    DESIGN,
    YearEndInputs,
    configured_settings,
    pillar_scores,
    search_indicators,
    with_indicator_settings,
    year_end_inputs,
)
from indicators.validation.labels import (
    LabelFamily,
    conflict_family,
    coup_family,
    episode_family,
    protest_surge_family,
    surge_months,
)
from indicators.validation.metrics import Estimate, bootstrap_paired
from indicators.validation.panels import (
    PreparedPool,
    alert_firings,
    indicator_values,
    prepare,
    score_dates,
    subset_frames,
)

OFFSETS = (-30, -7, -1, 0, 1, 7)
HIT_WINDOW = (-7, 2)
RISE_POINTS = 0.1
REPLAY_BEFORE, REPLAY_AFTER = 60, 30
TRAIN_LAST_YEAR = 2015
REPORT_YEARS = (2016, 2024)
FIRST_YEAR = 1997
POLITICAL_STABILITY = "wgi_political_stability"

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    return None


def _number(value: object) -> float | None:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return round(number, 3) if np.isfinite(number) else None


@dataclass(frozen=True)
class EpisodeOutcome:
    """One episode of the event study (None = no score that day / no such change)."""

    id: str
    country: str
    kind: str
    reference: str
    reference_basis: str
    onset: str | None
    domestic_series: bool
    composite: dict[int, float | None]
    vulnerability: dict[int, float | None]
    trigger: dict[int, float | None]
    band: dict[int, str | None]
    first_band_rise_from_t: int | None
    first_band_rise_from_onset: int | None
    first_alert_from_t: int | None
    first_alert_from_onset: int | None
    first_alert_rule: str | None
    rise: float | None
    hit: bool | None

    def to_dict(self) -> dict[str, object]:
        """Plain values for JSON (offset keys as strings, e.g. "-7")."""
        out = asdict(self)
        for name in ("composite", "vulnerability", "trigger", "band"):
            out[name] = {str(k): v for k, v in getattr(self, name).items()}
        return out


@dataclass(frozen=True)
class DiscriminationRow:
    """One predictor on one label family and split."""

    family: str
    split: str
    predictor: str
    rows: int
    positives: int
    auc: Estimate
    auprc: Estimate

    def to_dict(self) -> dict[str, object]:
        """Plain values for JSON."""
        return {
            "family": self.family,
            "split": self.split,
            "predictor": self.predictor,
            "rows": self.rows,
            "positives": self.positives,
            "auc": self.auc.to_dict(),
            "auprc": self.auprc.to_dict(),
        }


@dataclass(frozen=True)
class BacktestResult:
    """Everything the backtest reports."""

    episodes: tuple[EpisodeOutcome, ...]
    discrimination: tuple[DiscriminationRow, ...]
    alert_load: AlertLoad
    families: tuple[dict[str, object], ...]
    calibration: CalibrationResult | None = None
    settings: dict[str, object] = field(default_factory=dict)
    # The aggregation of methodology 2 scored in the same run (None when it is the configured one).
    before: BeforeCalibration | None = None

    def hit_rate(self, kind: str, *, domestic_only: bool = False) -> tuple[int, int]:
        """(hits, scored episodes) of `kind`, optionally only those with a domestic series."""
        chosen = [
            e
            for e in self.episodes
            if e.kind == kind and e.hit is not None and (e.domestic_series or not domestic_only)
        ]
        return sum(bool(e.hit) for e in chosen), len(chosen)

    def to_dict(self) -> dict[str, object]:
        """Plain values for JSON."""
        return {
            "settings": self.settings,
            "families": list(self.families),
            "event_study": {
                "summary": hit_counts(self.episodes),
                "episodes": [e.to_dict() for e in self.episodes],
            },
            "discrimination": [row.to_dict() for row in self.discrimination],
            "alert_load": self.alert_load.to_dict(),
            "calibration": None if self.calibration is None else self.calibration.to_dict(),
            "before": None if self.before is None else self.before.to_dict(),
        }


# ---- event study -------------------------------------------------------------------------------


def _has_domestic_series(observations: pd.DataFrame, country: str, day: pd.Timestamp) -> bool:
    """A domestic fuel retail price (`fuel_*_retail`) observed for the country in the year to T."""
    indicator = observations["indicator"].astype(str)
    rows = observations[
        (observations["country"].astype(str) == country)
        & indicator.str.startswith("fuel_")
        & indicator.str.endswith("_retail")
    ]
    periods = pd.to_datetime(rows["period"])
    return bool(((periods <= day) & (periods > day - pd.Timedelta(days=365))).any())


def _days(day: pd.Timestamp | None, origin: pd.Timestamp | None) -> int | None:
    if day is None or origin is None or pd.isna(origin):
        return None
    return int((day - origin).days)


def episode_dates(reference: object) -> pd.DatetimeIndex:
    """The replay days of an episode: T−`REPLAY_BEFORE` … T+`REPLAY_AFTER`."""
    t = pd.Timestamp(reference)  # type: ignore[arg-type]
    return pd.date_range(t - pd.Timedelta(days=REPLAY_BEFORE), t + pd.Timedelta(days=REPLAY_AFTER))


# Episodes scored per call of the scoring core: each call has a fixed cost and a cost per
# (date, country) unit of its grid (dates ∪ × countries ∪), so small groups are cheapest.
EPISODES_PER_BATCH = 4


def study_episodes(
    episodes: pd.DataFrame,
    pool: PreparedPool,
    catalogue: Catalogue,
    rules: Sequence[AlertRule],
    observations: pd.DataFrame,
) -> tuple[EpisodeOutcome, ...]:
    """The event study of every episode, scoring them in small batches ordered by T."""
    records = [
        {str(k): v for k, v in row.items()}
        for row in episodes.sort_values("reference", kind="mergesort").to_dict("records")
    ]
    outcomes: dict[str, EpisodeOutcome] = {}
    for start in range(0, len(records), EPISODES_PER_BATCH):
        batch = records[start : start + EPISODES_PER_BATCH]
        dates = pd.DatetimeIndex(
            sorted(set().union(*(episode_dates(e["reference"]) for e in batch)))
        )
        countries = sorted({str(e["country"]) for e in batch})
        frames = score_dates(pool, catalogue, dates, countries)
        for episode in batch:
            window = episode_dates(episode["reference"])
            own = subset_frames(frames, str(episode["country"]), window)
            outcome = study_episode(episode, own, catalogue, rules, observations)
            outcomes[str(episode["id"])] = outcome
    return tuple(outcomes[str(ident)] for ident in episodes["id"])


def study_episode(
    episode: dict[str, object],
    frames: ScoreFrames,
    catalogue: Catalogue,
    rules: Sequence[AlertRule],
    observations: pd.DataFrame,
) -> EpisodeOutcome:
    """Read off the event-study figures of one episode from its country's replay around T."""
    country = str(episode["country"])
    t = pd.Timestamp(episode["reference"])  # type: ignore[arg-type]
    onset = pd.Timestamp(episode["onset"])  # type: ignore[arg-type]
    onset_day = None if pd.isna(onset) else onset
    dates = episode_dates(t)
    table = frames.countries.set_index("date").sort_index()
    table.index = pd.DatetimeIndex(table.index)
    table = table.reindex(dates)

    def at(offset: int, column: str) -> object:
        return table[column].get(t + pd.Timedelta(days=offset))

    order = {b.name: r for r, b in enumerate(sorted(catalogue.bands, key=lambda b: b.lower))}
    rank = table["band"].map(order).astype("float64")
    rises = rank > rank.shift(1)
    rises &= table.index >= t - pd.Timedelta(days=30)
    first_rise = table.index[rises.to_numpy()].min() if rises.any() else None
    firings = alert_firings(rules, frames, catalogue, dates)
    firings = firings[firings["date"] >= t - pd.Timedelta(days=30)]
    first_alert = firings.iloc[0] if not firings.empty else None
    first_alert_day = pd.Timestamp(first_alert["date"]) if first_alert is not None else None
    low, high = (t + pd.Timedelta(days=d) for d in HIT_WINDOW)
    composite = table["composite"].astype("float64")
    before = composite.get(low - pd.Timedelta(days=1))
    window = composite[(composite.index >= low) & (composite.index <= high)]
    rise = None if before is None or pd.isna(before) or window.isna().all() else float(
        window.max() - before
    )
    fired = bool(((firings["date"] >= low) & (firings["date"] <= high)).any())
    hit = None if rise is None and not fired else bool(fired or (rise or 0.0) >= RISE_POINTS)
    band = {offset: at(offset, "band") for offset in OFFSETS}
    return EpisodeOutcome(
        id=str(episode["id"]),
        country=country,
        kind=str(episode["kind"]),
        reference=t.date().isoformat(),
        reference_basis=str(episode["reference_basis"]),
        onset=None if onset_day is None else onset_day.date().isoformat(),
        domestic_series=_has_domestic_series(observations, country, t),
        composite={offset: _number(at(offset, "composite")) for offset in OFFSETS},
        vulnerability={offset: _number(at(offset, "vulnerability")) for offset in OFFSETS},
        trigger={offset: _number(at(offset, "trigger")) for offset in OFFSETS},
        band={k: (v if isinstance(v, str) else None) for k, v in band.items()},
        first_band_rise_from_t=_days(first_rise, t),
        first_band_rise_from_onset=_days(first_rise, onset_day),
        first_alert_from_t=_days(first_alert_day, t),
        first_alert_from_onset=_days(first_alert_day, onset_day),
        first_alert_rule=None if first_alert is None else str(first_alert["rule_id"]),
        rise=None if rise is None else round(rise, 3),
        hit=hit,
    )


# ---- structural discrimination -----------------------------------------------------------------


def year_end_scores(
    pool: PreparedPool, catalogue: Catalogue, years: Sequence[int]
) -> tuple[pd.DataFrame, YearEndInputs]:
    """Scores as of 31 Dec Y−1 for every country.

    Returns:
        (`country, year, V, pv` — V and the PV.EST value visible then;
        the structural indicators' raw values then, from which the calibration recomputes the
        structural pillars under each candidate choice).
    """
    dates = pd.DatetimeIndex([pd.Timestamp(f"{year - 1}-12-31") for year in years])
    frames = score_dates(pool, catalogue, dates, list(pool.countries))
    countries = frames.countries[["date", "country", "vulnerability"]].copy()
    countries["country"] = countries["country"].astype(str)
    pv = indicator_values(frames, POLITICAL_STABILITY, include_stale=True)
    keys = pd.MultiIndex.from_frame(countries[["date", "country"]])
    countries["pv"] = pv.reindex(keys).to_numpy()
    countries["year"] = pd.DatetimeIndex(countries["date"]).year + 1
    scores = countries.rename(columns={"vulnerability": "V"})[["country", "year", "V", "pv"]]
    return scores, year_end_inputs(frames, catalogue, set(structural_weights(catalogue)))


def unrest_last_year(protest_monthly: pd.DataFrame) -> pd.DataFrame:
    """Each country's share of the world's GDELT protest events in Y−1: `country, year, unrest`."""
    months = surge_months(protest_monthly)
    months["year"] = months["period"].dt.year + 1
    totals = months.groupby(["country", "year"])["events"].sum().reset_index()
    world = totals.groupby("year")["events"].transform("sum")
    totals["unrest"] = np.where(world > 0, totals["events"] / world, np.nan)
    return totals[["country", "year", "unrest"]]


def family_rows(family: LabelFamily, scores: pd.DataFrame) -> pd.DataFrame:
    """The family's country-years joined to the scores (census: unlisted = 0), not-at-risk out."""
    listed = family.rows[["country", "year", "label"]]
    rows = scores.merge(listed, on=["country", "year"], how="left" if family.census else "inner")
    rows["label"] = rows["label"].fillna(0).astype("int64")
    if not family.excluded.empty:
        out = pd.MultiIndex.from_frame(family.excluded[["country", "year"]])
        rows = rows[~pd.MultiIndex.from_frame(rows[["country", "year"]]).isin(out)]
    if not family.census:
        # Only the years the family covers (its first and last listed year).
        rows = rows[rows["year"].between(family.rows["year"].min(), family.rows["year"].max())]
    return rows.dropna(subset=["V", "pv", "unrest"]).reset_index(drop=True)


def discriminate(
    rows: pd.DataFrame,
    family: str,
    *,
    replicates: int,
    seed: int,
    extra: dict[str, pd.Series] | None = None,
) -> list[DiscriminationRow]:
    """AUC and AUPRC of V and the three baselines on the train and report splits of `rows`.

    `extra` adds predictors given per (country, year) (e.g. the calibrated V), on the same rows.
    """
    out = []
    splits = {
        f"train ≤{TRAIN_LAST_YEAR}": rows[rows["year"] <= TRAIN_LAST_YEAR],
        f"report {REPORT_YEARS[0]}–{REPORT_YEARS[1]}": rows[
            rows["year"].between(*REPORT_YEARS)
        ],
    }
    for split, part in splits.items():
        predictors = {
            "V": part["V"],
            "PV.EST (negated)": -part["pv"],
            "last year's unrest": part["unrest"],
            "base rate": pd.Series(0.0, index=part.index),
        }
        keys = pd.MultiIndex.from_frame(part[["country", "year"]])
        for name, series in (extra or {}).items():
            predictors[name] = pd.Series(series.reindex(keys).to_numpy(), index=part.index)
        # Every predictor on the same rows: a row missing any of them leaves for all.
        table = pd.DataFrame(predictors).assign(label=part["label"]).dropna()
        estimates = bootstrap_paired(
            {name: table[name].to_numpy() for name in predictors},
            table["label"].to_numpy(),
            replicates=replicates,
            seed=seed,
        )
        positives = int(table["label"].sum())
        for name, (auc, auprc) in estimates.items():
            out.append(DiscriminationRow(family, split, name, len(table), positives, auc, auprc))
    return out


def before_predictor() -> str:
    """The discrimination predictor name of V under the previous aggregation."""
    return f"V before ({PREVIOUS.name}, methodology {PREVIOUS_METHODOLOGY})"


# ---- the whole backtest ------------------------------------------------------------------------


def run_backtest(
    observations: pd.DataFrame,
    catalogue: Catalogue,
    rules: Sequence[AlertRule],
    episodes: pd.DataFrame,
    coups: pd.DataFrame,
    *,
    replicates: int = 1000,
    seed: int = 12,
    alert_years: tuple[int, int] = REPORT_YEARS,
    progress: Progress = _quiet,
) -> BacktestResult:
    """Run the event study, the structural discrimination and the alert load.

    Args:
        observations: canonical observations (include `WLD`); the labels for conflict and protest
            surges come from its `ucdp_fatalities` and `protest_events` rows.
        catalogue: the catalogue (with its release calendars).
        rules: the alert rules (the configured defaults).
        episodes: `episodes.read_episodes` output.
        coups: the Powell & Thyne country-month coup file.
        replicates: bootstrap replicates per CI.
        seed: bootstrap seed.
        alert_years: first and last year of the alert load (default: the report years).
        progress: called with a short message at each stage (the CLI prints it on stderr).

    Returns:
        The `BacktestResult`.
    """
    last_day = max(
        pd.Timestamp(f"{max(REPORT_YEARS[1], alert_years[1])}-12-31"),
        pd.Timestamp(episodes["reference"].max()) + pd.Timedelta(days=REPLAY_AFTER),
    )
    progress("preparing the point-in-time pool")
    pool = prepare(observations, catalogue, until=last_day)
    progress(f"event study: {len(episodes)} episodes")
    outcomes = study_episodes(episodes, pool, catalogue, rules, observations)
    progress("structural discrimination: year-end scores")
    years = list(range(FIRST_YEAR, REPORT_YEARS[1] + 1))
    scores, inputs = year_end_scores(pool, catalogue, years)
    indicator = observations["indicator"].astype(str)
    protests = observations[indicator == "protest_events"]
    scores = scores.merge(unrest_last_year(protests), on=["country", "year"], how="left")
    families = (
        coup_family(coups),
        conflict_family(observations[indicator == "ucdp_fatalities"]),
        protest_surge_family(protests),
        episode_family(episodes),
    )
    labelled = {family.name: family_rows(family, scores) for family in families}
    progress("calibration of the aggregation and the weights on the train years")
    adopted = Candidate.of(catalogue.model)
    configured_weights = structural_weights(catalogue)
    configured_indicators = configured_settings(catalogue, inputs.indicators)
    start = {item: DESIGN.get(item, configured_indicators[item]) for item in inputs.indicators}
    pool_of_candidates = CANDIDATES if adopted in CANDIDATES else (*CANDIDATES, adopted)
    # Each stage searches from where the earlier ones left it, never from the configuration, so
    # every run retraces the whole path: the aggregation with the indicators' design settings
    # and the pillars weighted equally (as methodology 2 scored), then the pillar weights under
    # the chosen aggregation, then the indicators' weights and transforms under both.
    pillars = pillar_scores(inputs, start, configured_weights)
    equal = pillars.assign(weight=EQUAL_WEIGHT)
    candidates = candidate_scores(equal, pool_of_candidates)
    calibration = calibrate(
        labelled, candidates, train_last_year=TRAIN_LAST_YEAR, current=adopted.name
    )
    by_name = {candidate.name: candidate for candidate in pool_of_candidates}
    weight_search = calibrate_weights(
        labelled,
        pillars,
        by_name[calibration.chosen],
        train_last_year=TRAIN_LAST_YEAR,
        current=configured_weights,
    )
    indicator_search = search_indicators(
        labelled,
        inputs,
        by_name[calibration.chosen],
        weight_search.chosen,
        train_last_year=TRAIN_LAST_YEAR,
        start=start,
        current=configured_indicators,
    )
    calibration = replace(calibration, weights=weight_search, indicators=indicator_search)
    # "V" is the configured (adopted) scoring; beside it on the same rows: the previous one
    # and, should the train years now prefer another aggregation or other weights, that one.
    calibrated = (
        adopted != PREVIOUS
        or any(weight != EQUAL_WEIGHT for weight in configured_weights.values())
        or configured_indicators != start
    )
    extra: dict[str, pd.Series] = {}
    if calibrated:
        extra[before_predictor()] = candidates[PREVIOUS.name]
    chosen_weights = weight_search.chosen
    if (
        calibration.chosen != adopted.name
        or chosen_weights != configured_weights
        or indicator_search.chosen != configured_indicators
    ):
        name = f"V chosen ({calibration.chosen}, {weights_label(chosen_weights)}"
        changed = len(indicator_search.changed())
        name += f", {changed} indicator change{'s' * (changed != 1)})"
        extra[name] = aggregate(
            pillar_scores(inputs, indicator_search.chosen, chosen_weights),
            by_name[calibration.chosen],
        )
    rows: list[DiscriminationRow] = []
    for family in families:
        progress(f"discrimination: {family.name}")
        rows.extend(
            discriminate(
                labelled[family.name], family.name, replicates=replicates, seed=seed, extra=extra
            )
        )
    progress(f"alert load: month ends of {alert_years[0]}–{alert_years[1]}")
    load = alert_load(pool, catalogue, rules, episodes, alert_years, calibrate_margin=True)
    before = None
    if calibrated:
        progress(f"before calibration ({PREVIOUS.name}, equal weights): event study and alert load")
        previous = with_indicator_settings(
            as_previous(catalogue, PREVIOUS.power, PREVIOUS.floor, EQUAL_WEIGHT), start
        )
        previous_outcomes = study_episodes(episodes, pool, previous, rules, observations)
        previous_load = alert_load(pool, previous, rules, episodes, alert_years)
        before = BeforeCalibration(
            aggregation=PREVIOUS.name,
            methodology_version=PREVIOUS_METHODOLOGY,
            hits=hit_counts(previous_outcomes),
            alert_firings=previous_load.firings,
            alert_country_years=previous_load.country_years,
            alerts_per_country_year=previous_load.per_country_year,
            alerts_by_rule=previous_load.by_rule,
        )
    return BacktestResult(
        episodes=outcomes,
        discrimination=tuple(rows),
        alert_load=load,
        families=tuple(family.to_dict() for family in families),
        calibration=calibration,
        settings={
            "offsets": list(OFFSETS),
            "hit_window": list(HIT_WINDOW),
            "rise_points": RISE_POINTS,
            "train_last_year": TRAIN_LAST_YEAR,
            "report_years": list(REPORT_YEARS),
            "first_year": FIRST_YEAR,
            "replicates": replicates,
            "seed": seed,
            "episode_window_days": EPISODE_WINDOW_DAYS,
            "aggregation": adopted.to_dict(),
        },
        before=before,
    )
