"""Alert load: what an analyst's inbox would have received from the default rules.

The rules are stepped with the real state machine at month ends for every scored country; a
firing within `EPISODE_WINDOW_DAYS` of any episode's T is left out (the inbox should ring then);
the load is the firings per country-year.

The band-rise rule (`band_change` on the composite) fires each time the composite crosses into a
higher band than 30 days earlier, so a score hovering at a band's edge rings on every wobble. Its
`margin` (score points the composite must be inside the higher band) is the hysteresis, and it is
**chosen on the train years only**: each candidate in `MARGINS` is stepped over the month ends of
`TRAIN_ALERT_YEARS` and the smallest whose train load meets the pre-registered target (at most
`TARGET_PER_COUNTRY_YEAR` alerts per country-year) is the choice; if none does, the one with the
lowest train load. The report years are shown for every candidate as they fall.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace

import pandas as pd

from indicators.alert_rules import AlertRule
from indicators.catalogue import Catalogue
from indicators.scoring import ScoreFrames
from indicators.validation.panels import PreparedPool, alert_firings, replayable, score_dates

EPISODE_WINDOW_DAYS = 30
TARGET_PER_COUNTRY_YEAR = 1.0
MARGINS: tuple[float, ...] = (0.0, 0.1, 0.25, 0.5, 0.75, 1.0)
# The last ten train years: as many as the report years, where the world data is densest; the
# years before add little but scoring time.
TRAIN_ALERT_YEARS = (2006, 2015)


@dataclass(frozen=True)
class MarginRow:
    """One candidate band-rise margin: its alert load on the train and the report years."""

    margin: float
    train_firings: int
    train_per_country_year: float | None
    report_firings: int
    report_per_country_year: float | None


@dataclass(frozen=True)
class MarginCalibration:
    """The band-rise margin's candidates, the choice made on the train years, and the config's."""

    train_years: tuple[int, int]
    rows: tuple[MarginRow, ...]
    chosen: float
    configured: float

    def to_dict(self) -> dict[str, object]:
        """Plain values for JSON."""
        out = asdict(self)
        out["train_years"] = list(self.train_years)
        out["rows"] = [asdict(row) for row in self.rows]
        return out


@dataclass(frozen=True)
class AlertLoad:
    """Default-rule alerts outside episode windows (month-end evaluation)."""

    years: tuple[int, int]
    countries: int
    country_years: int
    firings: int
    per_country_year: float | None
    by_rule: dict[str, int]
    not_replayed: tuple[str, ...]
    band_margin: MarginCalibration | None = None

    def to_dict(self) -> dict[str, object]:
        """Plain values for JSON."""
        out = asdict(self)
        out["years"] = list(self.years)
        out["not_replayed"] = list(self.not_replayed)
        out["band_margin"] = None if self.band_margin is None else self.band_margin.to_dict()
        return out


@dataclass(frozen=True)
class _MonthEnds:
    """Month-end scores of every country over some years, and their country-years."""

    dates: pd.DatetimeIndex
    frames: ScoreFrames
    country_years: pd.DataFrame


def _month_ends(pool: PreparedPool, catalogue: Catalogue, years: tuple[int, int]) -> _MonthEnds:
    dates = pd.date_range(f"{years[0]}-01-31", f"{years[1]}-12-31", freq="ME")
    frames = score_dates(pool, catalogue, dates, list(pool.countries))
    scored = frames.countries.dropna(subset=["composite"])
    country_years = scored.assign(
        year=pd.DatetimeIndex(scored["date"]).year, country=scored["country"].astype(str)
    )[["country", "year"]].drop_duplicates()
    return _MonthEnds(dates, frames, country_years)


def _outside_episodes(firings: pd.DataFrame, episodes: pd.DataFrame) -> pd.DataFrame:
    inside = pd.Series(False, index=firings.index)
    days = pd.to_datetime(firings["date"])
    for country, reference in zip(episodes["country"], episodes["reference"], strict=True):
        distance = (days - pd.Timestamp(reference)).abs()
        inside |= (firings["country"] == country) & (
            distance <= pd.Timedelta(days=EPISODE_WINDOW_DAYS)
        )
    return firings[~inside]


def _per_country_year(firings: int, country_years: int) -> float | None:
    return round(firings / country_years, 3) if country_years else None


def _is_band_rise(rule: AlertRule) -> bool:
    return rule.kind == "band_change" and rule.target == "composite" and rule.condition == "above"


def with_band_margin(rules: Sequence[AlertRule], margin: float) -> list[AlertRule]:
    """`rules` with every composite band-rise rule's margin set to `margin`."""
    return [replace(rule, margin=margin) if _is_band_rise(rule) else rule for rule in rules]


def meets_target(row: MarginRow) -> bool:
    """Whether a candidate's train load is at most `TARGET_PER_COUNTRY_YEAR` (unknown: no)."""
    load = row.train_per_country_year
    return load is not None and load <= TARGET_PER_COUNTRY_YEAR


def choose_margin(rows: Sequence[MarginRow]) -> float:
    """The smallest margin whose train load meets the target; else the lowest train load."""
    meeting = [row.margin for row in rows if meets_target(row)]
    if meeting:
        return min(meeting)
    scored = [row for row in rows if row.train_per_country_year is not None]
    if not scored:
        return 0.0
    return min(scored, key=lambda row: (row.train_per_country_year, row.margin)).margin


def _firings_outside(
    month_ends: _MonthEnds, catalogue: Catalogue, rules: Sequence[AlertRule], episodes: pd.DataFrame
) -> pd.DataFrame:
    firings = alert_firings(rules, month_ends.frames, catalogue, month_ends.dates)
    return _outside_episodes(firings, episodes)


def alert_load(
    pool: PreparedPool,
    catalogue: Catalogue,
    rules: Sequence[AlertRule],
    episodes: pd.DataFrame,
    years: tuple[int, int],
    *,
    calibrate_margin: bool = False,
) -> AlertLoad:
    """Default-rule firings per country-year outside episode windows (month-end steps).

    Args:
        pool: the prepared point-in-time pool.
        catalogue: the catalogue to score with.
        rules: the configured rules.
        episodes: the episodes (their windows are left out).
        years: first and last year of the load.
        calibrate_margin: also step every candidate band-rise margin over the train years and
            the report years (`MarginCalibration`), when a band-rise rule is configured.
    """
    report = _month_ends(pool, catalogue, years)
    outside = _firings_outside(report, catalogue, rules, episodes)
    total = len(report.country_years)
    calibration = None
    band_rises = [rule for rule in rules if _is_band_rise(rule) and replayable(rule, catalogue)]
    if calibrate_margin and band_rises:
        train = _month_ends(pool, catalogue, TRAIN_ALERT_YEARS)
        train_total = len(train.country_years)
        # Only the band-rise rules change with the margin: the others' firings are counted once.
        others = [rule for rule in rules if not _is_band_rise(rule)]
        train_others = len(_firings_outside(train, catalogue, others, episodes))
        report_others = len(outside[~outside["rule_id"].isin([r.id for r in band_rises])])
        rows = []
        for margin in MARGINS:
            candidate = with_band_margin(band_rises, margin)
            train_firings = train_others + len(
                _firings_outside(train, catalogue, candidate, episodes)
            )
            report_firings = report_others + len(
                _firings_outside(report, catalogue, candidate, episodes)
            )
            rows.append(
                MarginRow(
                    margin=margin,
                    train_firings=train_firings,
                    train_per_country_year=_per_country_year(train_firings, train_total),
                    report_firings=report_firings,
                    report_per_country_year=_per_country_year(report_firings, total),
                )
            )
        calibration = MarginCalibration(
            train_years=TRAIN_ALERT_YEARS,
            rows=tuple(rows),
            chosen=choose_margin(rows),
            configured=band_rises[0].margin,
        )
    return AlertLoad(
        years=years,
        countries=int(report.country_years["country"].nunique()),
        country_years=total,
        firings=len(outside),
        per_country_year=_per_country_year(len(outside), total),
        by_rule={str(k): int(v) for k, v in outside["rule_id"].value_counts().sort_index().items()},
        not_replayed=tuple(r.id for r in rules if r.enabled and not replayable(r, catalogue)),
        band_margin=calibration,
    )
