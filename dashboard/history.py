"""Composite history and recent change: the trend sparklines and "what moved it" of Overview and
Compare, cached on the data version.

When the precomputed daily history (`store.read_composite_history`, written by
`flashpoint.precompute`) is current for the store and covers the window, the trend lines read
its rows, for any number of countries; only the movers (which need contributions) are replayed,
over the last week alone. Otherwise every loader scores the past point in time
(`indicators.replay`: each date sees only what had been published by then), from the
observations of the countries asked for only.

Cost (`bench/bench_history.py`, bundled snapshot, 2-core machine): most of a replay is deriving
the series once, whatever the number of dates, so for up to `DAILY_YEAR_AT_MOST` countries one
daily replay of the last year serves both trend lines and the recent change together (measured:
KAZ 0.30–0.35 s against 0.8–1.1 s for three separate replays; the 11 watched countries 0.8–1.1 s
against 1.3–1.5 s). For many countries a daily year grows too long (all 218: 18.9 s against
2.9 s for a weekly year), so the year is drawn weekly and the 90 days and the recent change are
replayed on their own. Compare replays only the countries it shows.
"""

from __future__ import annotations

import datetime as dt
from typing import Final

import pandas as pd

from dashboard import data
from flashpoint import store
from flashpoint.precompute import history_is_current, movers_are_current
from indicators import explain
from indicators.explain import RECENT_CHANGES, recent_movers
from indicators.observations import WORLD
from indicators.replay import Every, replay_scores, replay_table
from indicators.scoring import ScoreFrames

# The stored history's columns, which the replay fallback returns too.
HISTORY_COLUMNS: Final[tuple[str, ...]] = store.HISTORY_COLUMNS
# The trend windows: label → days back from the day shown (that day included).
TREND_WINDOWS: Final[dict[str, int]] = {"90 days": 90, "1 year": 365}
YEAR_DAYS: Final = 365
# Up to this many countries the last year is replayed daily in one pass (see the docstring).
DAILY_YEAR_AT_MOST: Final = 40
# "Change since": label → days back (and the movers' columns and thresholds), as the
# precompute stores them.
RECENT: Final = RECENT_CHANGES
MOVER_COLUMNS: Final = explain.MOVER_COLUMNS
MOVED_AT_LEAST: Final = explain.MOVED_AT_LEAST
TOP_MOVERS: Final = explain.TOP_MOVERS
_MAX_ENTRIES = 64


def _countries_or_all(version: str, countries: tuple[str, ...] | None) -> list[str]:
    wanted = data.scored_countries(version) if countries is None else list(countries)
    return sorted({code for code in wanted if code != WORLD})


def _observations_of(version: str, countries: list[str]) -> pd.DataFrame:
    """The actual (not forecast) observations of `countries` and the world series."""
    parts = [data.load_country_observations(version, code) for code in countries]
    if not parts:
        return pd.DataFrame()
    frame = pd.concat(parts, ignore_index=True)
    # Every country's slice carries the world series: keep one copy.
    world = frame["country"] == WORLD
    frame = pd.concat(
        [
            frame[~world],
            frame[world].drop_duplicates(["indicator", "country", "period", "vintage"]),
        ],
        ignore_index=True,
    )
    return frame[~frame["is_forecast"].to_numpy(dtype=bool)].reset_index(drop=True)


def _empty_history() -> pd.DataFrame:
    return pd.DataFrame({name: pd.Series(dtype="object") for name in HISTORY_COLUMNS}).astype(
        {
            "date": "datetime64[ns]",
            "composite": "float64",
            "composite_high": "float64",
            "vulnerability": "float64",
            "trigger": "float64",
        }
    )


def _scores(
    version: str, wanted: list[str], start: dt.date, end: dt.date, every: Every
) -> ScoreFrames:
    return replay_scores(
        _observations_of(version, wanted),
        data.get_catalogue(),
        countries=wanted,
        start=start,
        end=end,
        every=every,
    )


def _history_table(frames: ScoreFrames) -> pd.DataFrame:
    table = replay_table(frames, data.get_catalogue())
    table["date"] = pd.to_datetime(table["date"])
    return table[list(HISTORY_COLUMNS)].sort_values(["country", "date"]).reset_index(drop=True)


@data.cache_data(max_entries=_MAX_ENTRIES)
def _replayed_history(
    version: str, countries: tuple[str, ...] | None, start: dt.date, end: dt.date, every: Every
) -> pd.DataFrame:
    wanted = _countries_or_all(version, countries)
    if not wanted or end < start:
        return _empty_history()
    return _history_table(_scores(version, wanted, start, end, every))


@data.cache_data(max_entries=_MAX_ENTRIES)
def _daily_year(
    version: str, countries: tuple[str, ...], end: dt.date
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The last year's daily history and the recent movers of a few countries, from one replay
    (the frames themselves are not kept: only the small tables are cached)."""
    wanted = list(countries)
    frames = _scores(version, wanted, end - dt.timedelta(days=YEAR_DAYS - 1), end, "day")
    return _history_table(frames), recent_movers(frames, wanted, end)


@data.cache_data(max_entries=_MAX_ENTRIES)
def _stored_history(
    version: str, countries: tuple[str, ...] | None, start: dt.date, end: dt.date
) -> pd.DataFrame | None:
    """The precomputed daily history of `countries` from `start` to `end`, or None when it is
    not current for this store (or does not reach back to `start`): the caller replays then."""
    engine = data.get_engine()
    if not history_is_current(engine, data.get_catalogue(), end):
        return None
    stored_start = store.read_precompute_state(engine).get("history_start")
    if not stored_start or dt.date.fromisoformat(stored_start) > start:
        return None
    wanted = _countries_or_all(version, countries)
    if not wanted:
        return _empty_history()
    frame = store.read_composite_history(engine, wanted, start, end)
    frame["date"] = pd.to_datetime(frame["date"])
    return frame[list(HISTORY_COLUMNS)].reset_index(drop=True)


def _few(version: str, countries: tuple[str, ...] | None) -> tuple[str, ...] | None:
    """The countries as a sorted key when few enough for one daily year, else None."""
    wanted = _countries_or_all(version, countries)
    return tuple(wanted) if 0 < len(wanted) <= DAILY_YEAR_AT_MOST else None


def load_composite_history(
    version: str, countries: tuple[str, ...] | None, start: dt.date, end: dt.date
) -> pd.DataFrame:
    """Each country's composite on every day from `start` to `end`, point in time.

    Args:
        version: the store's data version (the cache key).
        countries: ISO3 codes, or None for every scored country.
        start: first day.
        end: last day (included).

    Returns:
        Columns `HISTORY_COLUMNS`, one row per (country, day); a day without a score has NaN
        `composite` (a gap, never 0).
    """
    stored = _stored_history(version, countries, start, end)
    if stored is not None:
        return stored
    return _replayed_history(version, countries, start, end, "day")


def _year_is_stored(version: str, countries: tuple[str, ...] | None, end: dt.date) -> bool:
    start = end - dt.timedelta(days=YEAR_DAYS - 1)
    return _stored_history(version, countries, start, end) is not None


def trend_step(version: str, countries: tuple[str, ...] | None, window: str) -> Every:
    """The step `load_trend` draws `window` at for these countries ("day" or "week")."""
    if window == "1 year" and _year_is_stored(version, countries, data.today()):
        return "day"
    if window == "1 year" and _few(version, countries) is None:
        return "week"
    return "day"


def load_trend(
    version: str, countries: tuple[str, ...] | None, end: dt.date, window: str
) -> pd.DataFrame:
    """The composite over one of `TREND_WINDOWS` ending on `end` (columns `HISTORY_COLUMNS`),
    daily, except the year of many countries, which is weekly (`trend_step`)."""
    days = TREND_WINDOWS[window]
    start = end - dt.timedelta(days=days - 1)
    stored = _stored_history(version, countries, start, end)
    if stored is not None:
        return stored
    few = _few(version, countries)
    if few is not None:
        year, _ = _daily_year(version, few, end)
        return year[year["date"] >= pd.Timestamp(start)].reset_index(drop=True)
    if days > 90:
        return _replayed_history(version, countries, start, end, "week")
    return load_composite_history(version, countries, start, end)


def trend_values(history: pd.DataFrame, country: str) -> list[float] | None:
    """A country's scored composite values in date order, for a table's line-chart cell (which
    cannot draw a gap: unscored dates are left out and counted by `unscored_dates`); None when
    no date has a score."""
    rows = history[history["country"] == country].sort_values("date")
    values = pd.to_numeric(rows["composite"], errors="coerce").dropna()
    return [round(float(value), 3) for value in values] if not values.empty else None


def unscored_dates(history: pd.DataFrame, country: str) -> tuple[int, int]:
    """(dates without a score, dates in the window) of a country's trend."""
    rows = history[history["country"] == country]
    return int(rows["composite"].isna().sum()), len(rows)


def load_recent_movers(version: str, countries: tuple[str, ...], as_of: dt.date) -> pd.DataFrame:
    """How much each country's composite moved since yesterday and since last week, and the
    inputs that moved it most (point in time: each day scored from what was published by then).

    Args:
        version: the store's data version (the cache key).
        countries: ISO3 codes.
        as_of: the day the change runs to.

    Returns:
        What `indicators.explain.recent_movers` returns: stored by the precompute when it is
        current, else replayed here.
    """
    stored = _stored_movers(version, countries, as_of)
    if stored is not None:
        return stored
    few = _few(version, countries)
    if few is not None and not _year_is_stored(version, countries, as_of):
        _, movers = _daily_year(version, few, as_of)  # the same replay draws the trend lines
        return movers
    return _many_movers(version, countries, as_of)


@data.cache_data(max_entries=_MAX_ENTRIES)
def _stored_movers(version: str, countries: tuple[str, ...], as_of: dt.date) -> pd.DataFrame | None:
    """The precomputed recent movers of `countries` as of `as_of`, or None when they are not
    current for this store (or lack one of the countries): the caller replays then."""
    engine = data.get_engine()
    if not movers_are_current(engine, data.get_catalogue(), as_of):
        return None
    wanted = _countries_or_all(version, countries)
    frame = store.read_recent_movers(engine, wanted)
    if set(frame["country"]) != set(wanted):
        return None
    return frame


@data.cache_data(max_entries=_MAX_ENTRIES)
def _many_movers(version: str, countries: tuple[str, ...], as_of: dt.date) -> pd.DataFrame:
    wanted = _countries_or_all(version, countries)
    if not wanted:
        return pd.DataFrame(columns=list(MOVER_COLUMNS))
    longest = max(days for _, days in RECENT)
    frames = _scores(version, wanted, as_of - dt.timedelta(days=longest), as_of, "day")
    return recent_movers(frames, wanted, as_of)


def movers_in_words(movers: tuple[tuple[str, float], ...], names: dict[str, str]) -> str:
    """ "Domestic fuel price step +0.42, Protest event spike -0.03"; "" when nothing moved."""
    return ", ".join(
        f"{names.get(indicator, indicator)} {delta:+.2f}" for indicator, delta in movers
    )
