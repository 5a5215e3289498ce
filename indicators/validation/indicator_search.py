"""The indicator weights within the structural pillars and their transforms, chosen on the train
years only (methodology 5).

After the aggregation and the pillar weights (`calibration`), the last structural choices are the
indicators' own: each one's weight within its pillar and its transform (goalposts on the raw
value, or on `log1p` of it, INFORM's treatment of skewed counts and rates). They are searched the
same way as the pillar weights: a coordinate search from the **design values** (`DESIGN`: the
weights and transforms of methodology 1–4, chosen by reading the sources, not by a backtest), so
every run retraces the whole path whatever the configuration now holds. Each round tries every
structural indicator with its transform switched and at every weight of `INDICATOR_WEIGHT_GRID`,
the others kept, and takes the one change that raises the mean train AUC most if it raises it by
at least `calibration.MIN_GAIN`; it stops when no change does.

Rescoring the whole panel per trial would cost seconds each. A trial changes only how raw values
become pillar scores, so the year-end raw values are read once from the scored frames
(`year_end_inputs`) and each trial recomputes the pillar scores from them (`pillar_scores`, the
engine's own rule: a weighted mean of the available indicators' goalposts scores, or the strongest
one in a "max" pillar) and then V. A test checks that, under the configured settings, these equal
the engine's pillar scores.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from indicators.catalogue import Catalogue
from indicators.normalise import goalposts_score
from indicators.scoring import ScoreFrames
from indicators.validation.calibration import (
    Candidate,
    aggregate,
    coordinate_search,
    train_aucs,
)


@dataclass(frozen=True)
class IndicatorSetting:
    """What the search chooses for one indicator: its weight within its pillar, and whether its
    goalposts apply to `log1p` of the value."""

    weight: float
    log: bool

    def to_dict(self) -> dict[str, object]:
        """Plain values for JSON."""
        return {"weight": self.weight, "log": self.log}

    @property
    def label(self) -> str:
        """e.g. `weight 1, log`."""
        return f"weight {self.weight:g}, {'log' if self.log else 'linear'}"


# The structural indicators' weights and transforms of methodology 1–4 (config.toml as it was
# before this search ran). The halves split one weight between two measures of one thing (two
# CPI sources; youth unemployment by sex) or mark a proxy (homicides). An indicator not listed
# here (one a user adds) starts from its configured setting.
DESIGN: Mapping[str, IndicatorSetting] = {
    "cpi_inflation": IndicatorSetting(0.5, False),
    "imf_cpi_inflation": IndicatorSetting(0.5, False),
    "unemployment": IndicatorSetting(1.0, False),
    "youth_unemployment_male": IndicatorSetting(0.5, False),
    "youth_unemployment_female": IndicatorSetting(0.5, False),
    "gdp_growth": IndicatorSetting(1.0, False),
    "fx_depreciation_12m": IndicatorSetting(1.0, False),
    "gini": IndicatorSetting(1.0, False),
    "top10_income_share": IndicatorSetting(1.0, False),
    "poverty_national": IndicatorSetting(1.0, False),
    "poverty_international": IndicatorSetting(1.0, True),
    "wgi_control_of_corruption": IndicatorSetting(1.0, False),
    "wgi_government_effectiveness": IndicatorSetting(1.0, False),
    "wgi_rule_of_law": IndicatorSetting(1.0, False),
    "wgi_voice_accountability": IndicatorSetting(1.0, False),
    "ti_cpi": IndicatorSetting(1.0, False),
    "wgi_political_stability": IndicatorSetting(1.0, False),
    "protest_events": IndicatorSetting(1.0, True),
    "conflict_events": IndicatorSetting(1.0, True),
    "ucdp_fatalities": IndicatorSetting(1.0, True),
    "homicide_rate": IndicatorSetting(0.5, True),
    "acled_protest_events": IndicatorSetting(1.0, True),
    "acled_fatalities": IndicatorSetting(1.0, True),
    "resource_rents": IndicatorSetting(1.0, True),
    "fuel_exports_share": IndicatorSetting(1.0, True),
}

# An indicator's weight is one of these (relative to its pillar's other indicators). No zero:
# an indicator is dropped by the catalogue, not by a search on a few hundred onsets.
INDICATOR_WEIGHT_GRID: tuple[float, ...] = (0.25, 0.5, 1.0, 2.0, 3.0)


@dataclass(frozen=True)
class YearEndInputs:
    """The structural indicators' raw values as of each 31 Dec Y−1, one row per country-year.

    Attributes:
        keys: `country, year` of each row (the country-years with a V).
        values: rows × indicators raw values (a `fixed` indicator: its 0–10 score); NaN where the
            engine scored nothing.
        indicators: the indicator ids, in column order.
        fixed: per indicator, True when it is not goalposts-normalised (a z-score, a step): its
            engine score enters as it is and the search leaves it alone.
        pillar_of: each indicator's pillar id.
        lower, upper: each indicator's goalposts.
        riskier_high: whether a higher value is riskier, per indicator.
        strongest: pillar ids that take their strongest indicator (`aggregation = "max"`).
    """

    keys: pd.DataFrame
    values: np.ndarray
    indicators: tuple[str, ...]
    fixed: np.ndarray
    pillar_of: tuple[str, ...]
    lower: np.ndarray
    upper: np.ndarray
    riskier_high: np.ndarray
    strongest: frozenset[str]


def configured_settings(catalogue: Catalogue, ids: tuple[str, ...]) -> dict[str, IndicatorSetting]:
    """Indicator id → the configured weight and transform."""
    return {
        item: IndicatorSetting(
            float(catalogue.indicator(item).weight),
            bool(catalogue.indicator(item).normalisation.log),
        )
        for item in ids
    }


def pillar_indicators(catalogue: Catalogue, pillar_ids: set[str]) -> tuple[str, ...]:
    """The enabled indicators of positive weight in the given structural pillars."""
    return tuple(
        item.id
        for item in catalogue.enabled_indicators
        if item.pillar in pillar_ids and item.weight > 0
    )


def year_end_inputs(
    frames: ScoreFrames, catalogue: Catalogue, pillar_ids: set[str]
) -> YearEndInputs:
    """Read the searchable indicators' year-end raw values from frames scored on 31 Dec dates.

    Args:
        frames: `score_latest` output on 31 Dec Y−1 dates.
        catalogue: the catalogue the frames were scored with.
        pillar_ids: the structural pillars of positive weight.

    Returns:
        The inputs of the country-years with at least one scored structural input.
    """
    ids = pillar_indicators(catalogue, pillar_ids)
    fixed_ids = {
        item for item in ids if catalogue.indicator(item).normalisation.method != "goalposts"
    }
    rows = frames.contributions
    rows = rows[rows["indicator"].astype(str).isin(ids)]
    used = rows["scored"].notna().to_numpy()
    is_fixed = rows["indicator"].astype(str).isin(fixed_ids).to_numpy()
    raw = np.where(
        is_fixed, rows["scored"].to_numpy(dtype="float64"), rows["value"].to_numpy(dtype="float64")
    )
    wide = (
        pd.DataFrame(
            {
                "country": rows["country"].astype(str).to_numpy(),
                "year": pd.DatetimeIndex(rows["date"]).year.to_numpy() + 1,
                "indicator": rows["indicator"].astype(str).to_numpy(),
                "value": np.where(used, raw, np.nan),
            }
        )
        .pivot_table(index=["country", "year"], columns="indicator", values="value", dropna=False)
        .reindex(columns=list(ids))
    )
    wide = wide[wide.notna().any(axis=1)]
    items = [catalogue.indicator(item) for item in ids]
    strongest = (
        frozenset(pillar.id for pillar in catalogue.pillars if pillar.aggregation == "max")
        & pillar_ids
    )
    return YearEndInputs(
        keys=wide.index.to_frame(index=False),
        values=wide.to_numpy(dtype="float64"),
        indicators=ids,
        fixed=np.array([item in fixed_ids for item in ids], dtype=bool),
        pillar_of=tuple(item.pillar for item in items),
        lower=np.array([item.normalisation.lower for item in items], dtype="float64"),
        upper=np.array([item.normalisation.upper for item in items], dtype="float64"),
        riskier_high=np.array([item.higher_is_riskier for item in items], dtype=bool),
        strongest=strongest,
    )


class _Scores:
    """Each indicator's goalposts scores under both transforms, computed once."""

    def __init__(self, inputs: YearEndInputs) -> None:
        self.inputs = inputs
        self.by_log = {
            log: np.where(
                inputs.fixed,
                inputs.values,
                goalposts_score(
                    inputs.values, inputs.lower, inputs.upper, log, inputs.riskier_high
                ),
            )
            for log in (False, True)
        }
        self.columns = {
            pillar: [j for j, owner in enumerate(inputs.pillar_of) if owner == pillar]
            for pillar in dict.fromkeys(inputs.pillar_of)
        }

    def pillar_scores(
        self, settings: Mapping[str, IndicatorSetting], pillar_weights: Mapping[str, float]
    ) -> pd.DataFrame:
        """`country, year, pillar, score, weight` (pillars with a score), as the engine scores."""
        inputs = self.inputs
        frames = []
        for pillar, columns in self.columns.items():
            chosen = [settings[inputs.indicators[j]] for j in columns]
            scores = np.column_stack(
                [self.by_log[setting.log][:, j] for setting, j in zip(chosen, columns, strict=True)]
            )
            weights = np.array([setting.weight for setting in chosen], dtype="float64")
            present = ~np.isnan(scores)
            if pillar in inputs.strongest:
                with np.errstate(invalid="ignore"):
                    score = np.where(
                        present.any(axis=1), np.nanmax(scores, axis=1, initial=-1.0), np.nan
                    )
            else:
                total = (present * weights).sum(axis=1)
                weighted = np.where(present, scores, 0.0) @ weights
                with np.errstate(invalid="ignore", divide="ignore"):
                    score = np.where(total > 0, weighted / total, np.nan)
            keep = ~np.isnan(score)
            frames.append(
                inputs.keys[keep].assign(
                    pillar=pillar,
                    score=np.clip(score[keep], 0.0, 10.0),
                    weight=float(pillar_weights[pillar]),
                )
            )
        frame = pd.concat(frames, ignore_index=True)
        return frame.sort_values(["country", "year", "pillar"], kind="mergesort").reset_index(
            drop=True
        )


def pillar_scores(
    inputs: YearEndInputs,
    settings: Mapping[str, IndicatorSetting],
    pillar_weights: Mapping[str, float],
) -> pd.DataFrame:
    """The structural pillar scores of `inputs` under `settings` (see `_Scores.pillar_scores`)."""
    return _Scores(inputs).pillar_scores(settings, pillar_weights)


@dataclass(frozen=True)
class IndicatorSearch:
    """The indicator weights and transforms chosen on the train years, and how.

    Attributes:
        aggregation: the aggregation searched under.
        pillar_weights: the pillar weights searched under (pillar id → weight).
        steps: one row per state of the search: `step` (0 = the design values), `change` (e.g.
            `gini: weight 1 → 2`, empty at step 0), each family's train AUC and their `mean`.
        start: indicator id → the setting the search started from (`DESIGN`).
        chosen: indicator id → the setting where the search stopped.
        current: indicator id → the configured setting.
    """

    aggregation: str
    pillar_weights: dict[str, float]
    steps: tuple[dict[str, object], ...]
    start: dict[str, IndicatorSetting]
    chosen: dict[str, IndicatorSetting]
    current: dict[str, IndicatorSetting]

    def changed(self, against: Mapping[str, IndicatorSetting] | None = None) -> dict[str, str]:
        """Indicator id → `from → to` where `chosen` differs from `against` (default: start)."""
        base = self.start if against is None else against
        return {
            item: f"{base[item].label} → {setting.label}"
            for item, setting in self.chosen.items()
            if item in base and base[item] != setting
        }

    def to_dict(self) -> dict[str, object]:
        """Plain values for JSON."""

        def plain(settings: Mapping[str, IndicatorSetting]) -> dict[str, object]:
            return {item: setting.to_dict() for item, setting in settings.items()}

        return {
            "aggregation": self.aggregation,
            "pillar_weights": dict(self.pillar_weights),
            "steps": list(self.steps),
            "start": plain(self.start),
            "chosen": plain(self.chosen),
            "current": plain(self.current),
        }


def _change_label(item: str, before: IndicatorSetting, after: IndicatorSetting) -> str:
    if before.log != after.log:
        return f"{item}: {'log' if before.log else 'linear'} → {'log' if after.log else 'linear'}"
    return f"{item}: weight {before.weight:g} → {after.weight:g}"


def search_indicators(
    families: Mapping[str, pd.DataFrame],
    inputs: YearEndInputs,
    aggregation: Candidate,
    pillar_weights: Mapping[str, float],
    *,
    train_last_year: int,
    start: Mapping[str, IndicatorSetting],
    current: Mapping[str, IndicatorSetting],
) -> IndicatorSearch:
    """Choose the indicators' weights and transforms by a coordinate search on the train years.

    Args:
        families: family name → its rows (`country, year, label`).
        inputs: `year_end_inputs` output.
        aggregation: the aggregation to search under.
        pillar_weights: pillar id → weight to search under.
        train_last_year: the last year the search may look at.
        start: indicator id → the setting to start from (every searched indicator).
        current: indicator id → the configured setting (reported beside the choice).

    Returns:
        The search's steps and the settings it stopped at.
    """
    scores = _Scores(inputs)
    fixed = {
        item for item, is_fixed in zip(inputs.indicators, inputs.fixed, strict=True) if is_fixed
    }

    def moves(item: str, now: IndicatorSetting) -> list[IndicatorSetting]:
        if item in fixed:
            return []
        weights = [replace(now, weight=w) for w in INDICATOR_WEIGHT_GRID if w != now.weight]
        return [replace(now, log=not now.log), *weights]

    def evaluate(trial: Mapping[str, IndicatorSetting]) -> dict[str, float | None]:
        pillars = scores.pillar_scores(trial, pillar_weights)
        return train_aucs(aggregate(pillars, aggregation), families, train_last_year)

    settings, path = coordinate_search(
        {item: start[item] for item in inputs.indicators}, moves, evaluate, _change_label
    )
    steps: tuple[dict[str, object], ...] = tuple(
        {"step": number, "change": change, **row} for number, (change, _, row) in enumerate(path)
    )
    return IndicatorSearch(
        aggregation=aggregation.name,
        pillar_weights={pillar: float(weight) for pillar, weight in pillar_weights.items()},
        steps=steps,
        start={item: start[item] for item in inputs.indicators},
        chosen=settings,
        current={item: current[item] for item in inputs.indicators if item in current},
    )


def with_indicator_settings(
    catalogue: Catalogue, settings: Mapping[str, IndicatorSetting]
) -> Catalogue:
    """The catalogue with the named indicators' weights and transforms replaced."""
    indicators = tuple(
        replace(
            item,
            weight=settings[item.id].weight,
            normalisation=replace(item.normalisation, log=settings[item.id].log),
        )
        if item.id in settings
        else item
        for item in catalogue.indicators
    )
    return replace(catalogue, indicators=indicators)
