"""Scored panels and visible series per as-of day, and the measurement of every rule on one day.

Shared by the live evaluation and the replay, so both measure exactly alike.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from indicators.alert_rules import AlertRule, Measurement, measure
from indicators.catalogue import Catalogue
from indicators.derived import derive_indicators
from indicators.pointintime import PUBLISHED, newest_vintage, with_publication
from indicators.scoring import PanelScore, ScoreFrames, score_panel


class _ScoringContext:
    """Panels and visible series for the as-of days an evaluation or a replay needs.

    Panels come from `indicators.scoring.score_panel` (or, in a replay, from one vectorised
    `replay_scores` pass), cached per day. The series rules look at directly (change, spike, the
    steps behind a step change) are derived once and cut per day by publication date, exactly as
    `indicators.replay` does, so every day sees only what had been published by its end.
    """

    def __init__(
        self,
        observations: pd.DataFrame,
        catalogue: Catalogue,
        countries: Sequence[str],
        rules: Sequence[AlertRule],
        last_day: pd.Timestamp,
        frames: ScoreFrames | None = None,
    ) -> None:
        self.observations = observations
        self.catalogue = catalogue
        self.countries = list(countries)
        self.frames = frames
        self.frame_days = (
            set(pd.DatetimeIndex(frames.countries["date"].unique()))
            if frames is not None
            else set()
        )
        self._panels: dict[pd.Timestamp, PanelScore] = {}
        self.series = _series_pool(observations, catalogue, rules, last_day)

    def panel(self, day: pd.Timestamp) -> PanelScore:
        """The panel as of `day`."""
        if day not in self._panels:
            if self.frames is not None and day in self.frame_days:
                self._panels[day] = self.frames.at(day)
            else:
                self._panels[day] = score_panel(
                    self.observations, self.catalogue, as_of=day, countries=self.countries
                )
        return self._panels[day]

    def pool(self, day: pd.Timestamp) -> pd.DataFrame:
        """The watched series' rows visible at the end of `day` (newest visible vintage)."""
        visible = self.series[self.series[PUBLISHED] < day + pd.Timedelta(days=1)]
        return newest_vintage(visible)


def _series_pool(
    observations: pd.DataFrame,
    catalogue: Catalogue,
    rules: Sequence[AlertRule],
    last_day: pd.Timestamp,
) -> pd.DataFrame:
    """Base and derived rows of the indicators that rules read as series, with `published`."""
    wanted: set[str] = set()
    for rule in rules:
        if rule.target_kind != "indicator":
            continue
        wanted.add(rule.target_id)
        try:
            wanted.update(catalogue.indicator(rule.target_id).derived_from)
        except KeyError:
            continue
    base = with_publication(observations[observations["indicator"].isin(wanted)], catalogue)
    base = base[~base["is_forecast"].to_numpy(dtype=bool)]
    derived_ids = {
        item.id for item in catalogue.indicators if item.id in wanted and item.derivation
    }
    if not derived_ids:
        return base
    derived = derive_indicators(observations, catalogue, as_of=last_day)
    derived = derived[derived["indicator"].isin(derived_ids)]
    return pd.concat([base, derived], ignore_index=True)


def _needs_earlier(rule: AlertRule) -> bool:
    return rule.kind == "band_change" or (
        rule.kind == "change" and rule.target_kind in ("composite", "pillar")
    )


def _measure_all(
    rules: Sequence[AlertRule],
    catalogue: Catalogue,
    context: _ScoringContext,
    day: pd.Timestamp,
    watched: Sequence[str],
    source_ages: Mapping[str, float | None],
) -> dict[str, dict[str, Measurement]]:
    panel, pool = context.panel(day), context.pool(day)
    values: dict[str, dict[str, Measurement]] = {}
    for rule in rules:
        if not rule.enabled:
            continue
        earlier = None
        if _needs_earlier(rule):
            earlier = context.panel(day - pd.Timedelta(days=rule.window_days))
        values[rule.id] = measure(
            rule,
            catalogue,
            panel=panel,
            countries=rule.countries(watched),
            pool=pool,
            earlier=earlier,
            source_ages=source_ages,
        )
    return values
