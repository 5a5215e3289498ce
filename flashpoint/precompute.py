"""The precompute: store the latest scored panel and each country's daily composite history.

Readers (the dashboard, `flashpoint score`) then read stored rows plus only the open country's
observations instead of reading the whole store and re-scoring it. Written after every pipeline
pass that changed data, after `load-snapshot` and when `serve` starts.

* **The panel** is keyed on the observations' version, the methodology version, a digest of the
  catalogue and the as-of day (`PanelKey`); a reader whose key differs (new data, another day,
  another config) gets None and scores live — a stale panel is never shown as current. With it
  is stored the reference panel the dashboard's "change" compares against (the previous refresh,
  or a week earlier), so a first visit scores nothing.
* **The history** (`HISTORY_COLUMNS`, one row per country and day, point in time) covers a
  bounded window (`HISTORY_WINDOW_DAYS`, 400 days: the 1-year sparkline plus a margin). A pass
  recomputes only the days whose inputs could have changed: from the earliest publication (or
  period) of the rows fetched since the last pass, and the days since its last end. A change of
  methodology or catalogue refills the window. Countries are replayed in chunks, with progress.
* **The recent movers** (`store.read_recent_movers`): each country's change since yesterday and
  last week with the inputs that moved it, as of the history's last day, from the same replay
  (which always reaches back over the last week for them).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pandas as pd
from sqlalchemy.engine import Engine

from flashpoint import store
from flashpoint.config import Settings
from flashpoint.scoring import read_scoring_observations, real_countries, today
from flashpoint.store.precomputed import (
    HISTORY_COLUMNS,
    PanelKey,
    delete_composite_history,
    earliest_change_since,
    observations_version,
    read_precompute_state,
    read_stored_panel,
    read_stored_panel_key,
    write_composite_history,
    write_precompute_state,
    write_stored_panel,
)
from indicators.catalogue import Catalogue
from indicators.explain import RECENT_CHANGES, recent_movers
from indicators.methodology import METHODOLOGY_VERSION
from indicators.replay import score_days
from indicators.scoring import PanelScore, score_panel

log = logging.getLogger("flashpoint.precompute")

HISTORY_WINDOW_DAYS = 400
# Countries replayed together: bounds the replay's memory (its contribution rows grow with
# countries x days x indicators) while keeping the per-chunk derivation overhead small.
HISTORY_CHUNK_COUNTRIES = 24
SUCCESSFUL_RUN_STATUSES = ("ok", "not_modified", "partial")
_PANEL_FRAMES = ("countries", "pillars", "contributions", "latest")

Progress = Callable[[str], None]


def settings_fingerprint(catalogue: Catalogue) -> str:
    """A digest of everything scoring reads from the configuration (the catalogue dataclasses:
    indicators, weights, normalisation, pillars, bands)."""
    return hashlib.sha256(repr(catalogue).encode("utf-8")).hexdigest()[:32]


def panel_key(engine: Engine, catalogue: Catalogue, as_of: dt.date) -> PanelKey:
    """The key a panel scored now from this store, catalogue and day would be stored under."""
    return PanelKey(
        data_version=observations_version(engine),
        methodology_version=METHODOLOGY_VERSION,
        settings_fingerprint=settings_fingerprint(catalogue),
        as_of=as_of,
    )


def _reader(engine: Engine, settings: Settings) -> Callable[[], pd.DataFrame]:
    """Reads the scoring observations on first call only (the panel and the history share them;
    neither reads them when what is stored is already current)."""
    read: list[pd.DataFrame] = []

    def observations() -> pd.DataFrame:
        if not read:
            read.append(read_scoring_observations(engine, settings))
        return read[0]

    return observations


# --------------------------------------------------------------------------------------------
# The panel and its reference


@dataclass(frozen=True)
class PanelWithReference:
    """The panel scored now, and as it stood before the last data change.

    Attributes:
        now: the score as of the day (point in time).
        previous: the reference score for "change" and "what changed", or None.
        previous_label: what the reference is, in words ("the previous refresh (…)").
    """

    now: PanelScore
    previous: PanelScore | None
    previous_label: str


def previous_refresh_cutoff(observations: pd.DataFrame, runs: pd.DataFrame) -> pd.Timestamp | None:
    """When the refresh before the latest data change finished, or None.

    The latest change is the newest `fetched_at` among the observations; the cutoff is the newest
    successful fetch run that finished before it. Scoring only rows fetched by then, as of that
    day, reproduces what the dashboard showed at that refresh.
    """
    if observations.empty or runs.empty:
        return None
    latest_change = pd.Timestamp(observations["fetched_at"].max())
    finished = runs[runs["status"].isin(SUCCESSFUL_RUN_STATUSES)]["finished_at"].dropna()
    earlier = finished[pd.to_datetime(finished) < latest_change - pd.Timedelta(seconds=1)]
    if earlier.empty:
        return None
    cutoff = pd.Timestamp(earlier.max())
    if not (observations["fetched_at"] <= cutoff).any():
        return None
    return cutoff


def score_with_reference(
    observations: pd.DataFrame,
    catalogue: Catalogue,
    runs: pd.DataFrame,
    *,
    as_of: dt.date,
    countries: list[str],
    now: PanelScore | None = None,
    live: bool = True,
) -> PanelWithReference:
    """Score `countries` as of `as_of` and at the reference point.

    The reference is the previous refresh when the fetch runs show one before the latest data
    change; otherwise (e.g. a store holding only the bundled snapshot) the score a week earlier.
    A past day (`live=False`, the dashboard's "as of" picker) always compares with the week
    before it: a refresh made years later says nothing about that day.
    `now`, when given, is the panel already scored as of `as_of` (not scored again).
    """
    if now is None:
        now = score_panel(observations, catalogue, as_of=as_of, countries=countries)
    cutoff = previous_refresh_cutoff(observations, runs) if live else None
    if cutoff is not None:
        known_then = observations[observations["fetched_at"] <= cutoff]
        previous = score_panel(known_then, catalogue, as_of=cutoff.normalize(), countries=countries)
        label = f"the previous refresh ({cutoff:%d %b %Y %H:%M} UTC)"
    else:
        reference = pd.Timestamp(as_of) - pd.Timedelta(days=7)
        previous = score_panel(observations, catalogue, as_of=reference, countries=countries)
        why = "; no earlier refresh recorded" if live else ""
        label = f"{reference:%d %b %Y} (a week earlier{why})"
    return PanelWithReference(now=now, previous=previous, previous_label=label)


def _frames_of(result: PanelWithReference) -> dict[str, pd.DataFrame]:
    frames = {f"now.{name}": getattr(result.now, name) for name in _PANEL_FRAMES}
    if result.previous is not None:
        frames.update(
            {f"previous.{name}": getattr(result.previous, name) for name in _PANEL_FRAMES}
        )
    return frames


def _panel_of(frames: dict[str, pd.DataFrame], role: str, as_of: pd.Timestamp) -> PanelScore:
    return PanelScore(as_of=as_of, **{name: frames[f"{role}.{name}"] for name in _PANEL_FRAMES})


def panel_is_current(engine: Engine, catalogue: Catalogue, as_of: dt.date) -> bool:
    """Whether the stored panel is current for this store, catalogue, methodology and day
    (compares keys only: no frame is decoded)."""
    return read_stored_panel_key(engine) == panel_key(engine, catalogue, as_of)


def read_panel(
    engine: Engine,
    catalogue: Catalogue,
    as_of: dt.date,
    *,
    with_reference: bool = True,
    countries: Sequence[str] | None = None,
) -> PanelWithReference | None:
    """The stored panel when it is current for this store, catalogue, methodology and day;
    None otherwise (the caller scores live).

    Args:
        with_reference: False skips decoding the reference panel (`previous` is then None).
        countries: only these countries' rows (the `countries` frame in this order; codes the
            panel does not hold are left out): `flashpoint score --country KAZ` decodes one
            country's rows of each frame, not the whole panel's.
    """
    roles = ("now", "previous") if with_reference else ("now",)
    names = [f"{role}.{name}" for role in roles for name in _PANEL_FRAMES]
    rows_where = None if countries is None else ("country", list(countries))
    stored = read_stored_panel(
        engine, panel_key(engine, catalogue, as_of), names=names, rows_where=rows_where
    )
    if stored is None:
        return None
    if countries is not None:
        for role in roles:
            frame = stored.frames[f"{role}.countries"]
            held = [code for code in countries if code in frame.index]
            stored.frames[f"{role}.countries"] = frame.loc[held]
    note = json.loads(stored.note or "{}")
    now = _panel_of(stored.frames, "now", pd.Timestamp(note["now_as_of"]))
    previous = None
    if with_reference and note.get("previous_as_of"):
        previous = _panel_of(stored.frames, "previous", pd.Timestamp(note["previous_as_of"]))
    return PanelWithReference(now=now, previous=previous, previous_label=str(note["label"]))


def store_panel(
    engine: Engine,
    settings: Settings,
    *,
    as_of: dt.date | None = None,
    now: PanelScore | None = None,
    observations: Callable[[], pd.DataFrame] | None = None,
) -> PanelWithReference:
    """Score every country (unless the stored panel is already current) and store the result.

    Args:
        engine: the store (writable).
        settings: the configuration.
        as_of: the day (default today, UTC).
        now: the full panel already scored as of `as_of` from this store (reused, not rescored).
        observations: returns the scoring observations (shared with the history update).

    Returns:
        The panel and its reference, as stored.
    """
    catalogue = settings.catalogue()
    day = as_of or today().date()
    key = panel_key(engine, catalogue, day)
    current = read_panel(engine, catalogue, day)
    if current is not None:
        return current
    frame = (observations or _reader(engine, settings))()
    countries = real_countries(frame["country"].unique())
    if now is not None and (
        pd.Timestamp(now.as_of).date() != day or list(now.countries.index) != countries
    ):
        now = None  # scored for another day or another set of countries: not the full panel
    runs = store.read_fetch_runs(engine, limit=500)
    result = score_with_reference(frame, catalogue, runs, as_of=day, countries=countries, now=now)
    note = {
        "now_as_of": f"{pd.Timestamp(result.now.as_of):%Y-%m-%d}",
        "previous_as_of": (
            None if result.previous is None else f"{pd.Timestamp(result.previous.as_of):%Y-%m-%d}"
        ),
        "label": result.previous_label,
    }
    write_stored_panel(engine, key, _frames_of(result), note=json.dumps(note))
    return result


# --------------------------------------------------------------------------------------------
# Daily composite history


@dataclass(frozen=True)
class HistoryUpdate:
    """What one history update did."""

    start: dt.date | None
    end: dt.date
    countries: int
    rows: int
    refilled: bool
    seconds: float

    def in_words(self) -> str:
        """ "composite history: 218 countries, 2026-11-30…2026-12-03 (872 rows) in 4.1 s"."""
        if self.start is None:
            return "composite history: already up to date"
        what = "refilled" if self.refilled else "updated"
        return (
            f"composite history {what}: {self.countries} countries, {self.start}…{self.end} "
            f"({self.rows:,} rows) in {self.seconds:.1f} s"
        )


def _history_fingerprint(catalogue: Catalogue) -> str:
    return f"{METHODOLOGY_VERSION}|{settings_fingerprint(catalogue)}"


def _max_fetched_at(engine: Engine) -> str:
    version = observations_version(engine)
    return version.split("|")[1]


def movers_are_current(engine: Engine, catalogue: Catalogue, as_of: dt.date) -> bool:
    """True when the stored recent movers are as of `as_of` and current like the history."""
    state = read_precompute_state(engine)
    return state.get("movers_end") == as_of.isoformat() and history_is_current(
        engine, catalogue, as_of
    )


def history_is_current(engine: Engine, catalogue: Catalogue, as_of: dt.date) -> bool:
    """True when the stored history reaches `as_of` and was computed from the store's current
    observations with this methodology and catalogue (readers may then use its rows)."""
    state = read_precompute_state(engine)
    return (
        state.get("history_fingerprint") == _history_fingerprint(catalogue)
        and state.get("history_end") == as_of.isoformat()
        and state.get("history_data_version") == observations_version(engine)
    )


def history_start_for(
    state: dict[str, str],
    fingerprint: str,
    changed_from: dt.date | None,
    *,
    window_start: dt.date,
    end: dt.date,
) -> tuple[dt.date | None, bool]:
    """The first day to recompute and whether the whole window is refilled.

    Args:
        state: the stored precompute facts (`read_precompute_state`).
        fingerprint: methodology and catalogue the history must be scored with.
        changed_from: the earliest day new rows can count on (None: nothing new).
        window_start: the first day of the window kept.
        end: the last day to have (today).

    Returns:
        (first day, refilled); first day None when the history is already complete.
    """
    stored_start = state.get("history_start")
    stored_end = state.get("history_end")
    if (
        state.get("history_fingerprint") != fingerprint
        or stored_start is None
        or stored_end is None
        or dt.date.fromisoformat(stored_start) > window_start
    ):
        return window_start, True
    candidates = [dt.date.fromisoformat(stored_end) + dt.timedelta(days=1)]
    if changed_from is not None:
        candidates.append(changed_from)
    start = max(min(candidates), window_start)
    return (start if start <= end else None), False


def update_composite_history(
    engine: Engine,
    settings: Settings,
    *,
    end: dt.date | None = None,
    window_days: int = HISTORY_WINDOW_DAYS,
    observations: Callable[[], pd.DataFrame] | None = None,
    progress: Progress | None = None,
) -> HistoryUpdate:
    """Bring the stored daily composite history up to `end` (default today), incrementally.

    Args:
        engine: the store (writable).
        settings: the configuration.
        end: the last day (default today, UTC).
        window_days: how many days the history keeps (ending at `end`).
        observations: returns the scoring observations (shared with the panel).
        progress: called with a line of progress per chunk of countries.

    Returns:
        What was recomputed.
    """
    started = time.monotonic()
    catalogue = settings.catalogue()
    last_day = end or today().date()
    window_start = last_day - dt.timedelta(days=window_days - 1)
    fingerprint = _history_fingerprint(catalogue)
    # Read the watermark before the observations: a row written in between is recomputed next.
    fetched_through = _max_fetched_at(engine)
    data_version = observations_version(engine)
    state = read_precompute_state(engine)
    changed_from = None
    if state.get("history_fetched_through"):
        changed_from = earliest_change_since(engine, state["history_fetched_through"])
    elif state:
        changed_from = window_start  # no watermark recorded: assume anything may have changed
    start, refilled = history_start_for(
        state, fingerprint, changed_from, window_start=window_start, end=last_day
    )
    # The movers need the scores of the last week's days, whatever the history has to redo.
    movers_from = last_day - dt.timedelta(days=max(days for _, days in RECENT_CHANGES))
    if start is None and state.get("movers_end") != last_day.isoformat():
        start = max(movers_from, window_start)  # a store precomputed before the movers existed
    if start is None:
        write_precompute_state(engine, {"history_data_version": data_version})
        return HistoryUpdate(None, last_day, 0, 0, False, time.monotonic() - started)
    frame = (observations or _reader(engine, settings))()
    countries = real_countries(frame["country"].unique())
    if refilled:
        delete_composite_history(engine)
    else:
        delete_composite_history(engine, before=window_start)
    rows = 0
    chunks = [
        countries[index : index + HISTORY_CHUNK_COUNTRIES]
        for index in range(0, len(countries), HISTORY_CHUNK_COUNTRIES)
    ]
    days = (last_day - start).days + 1
    # The days to store, and the days the movers compare (today, yesterday, a week ago): scored
    # in one pass, so a daily update scores three or so days, not the week the movers span.
    scored_days = pd.date_range(start, last_day, freq="D").union(
        pd.DatetimeIndex(
            [last_day - dt.timedelta(days=back) for _, back in RECENT_CHANGES] + [last_day]
        )
    )
    movers: list[pd.DataFrame] = []
    for number, chunk in enumerate(chunks, start=1):
        frames = score_days(frame, catalogue, countries=chunk, dates=scored_days)
        rows += write_composite_history(engine, history_rows(frames.countries, since=start))
        movers.append(recent_movers(frames, chunk, last_day))
        if progress is not None:
            progress(
                f"composite history: {min(number * HISTORY_CHUNK_COUNTRIES, len(countries))}"
                f" of {len(countries)} countries, {days} days from {start}"
            )
    if movers:
        store.replace_recent_movers(engine, pd.concat(movers, ignore_index=True))
    write_precompute_state(
        engine,
        {
            "movers_end": last_day.isoformat(),
            "history_fingerprint": fingerprint,
            "history_start": window_start.isoformat(),
            "history_end": last_day.isoformat(),
            "history_fetched_through": fetched_through,
            "history_data_version": data_version,
        },
    )
    update = HistoryUpdate(
        start, last_day, len(countries), rows, refilled, time.monotonic() - started
    )
    log.info(
        "composite history updated",
        extra={"event": "precompute", "rows": rows, "duration_s": round(update.seconds, 3)},
    )
    return update


def history_rows(replay_countries: pd.DataFrame, *, since: dt.date | None = None) -> pd.DataFrame:
    """The history columns of a replay's per-(date, country) frame (from `since` on)."""
    rows = replay_countries
    if since is not None:
        rows = rows[pd.to_datetime(rows["date"]) >= pd.Timestamp(since)]
    return rows[list(HISTORY_COLUMNS)].reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# The first day with published data (the as-of picker's lower bound)

_FIRST_PUBLISHED_KEY = "first_published"


def _first_published_key(engine: Engine, catalogue: Catalogue) -> str:
    # Publication lags come from the catalogue: a config change moves the bound too.
    return f"{observations_version(engine)}|{settings_fingerprint(catalogue)}"


def compute_first_day_published(engine: Engine, catalogue: Catalogue) -> dt.date | None:
    """The first day on which any stored actual observation had been published (point in
    time), from each indicator's first-period rows only; None for an empty store."""
    from indicators.pointintime import publication_dates

    observations = store.read_first_observations(engine)
    if observations.empty:
        return None
    first = publication_dates(observations, catalogue).min()
    return None if pd.isna(first) else pd.Timestamp(first).date()


def store_first_day_published(engine: Engine, catalogue: Catalogue) -> dt.date | None:
    """Compute the first published day and store it with what it was computed from."""
    day = compute_first_day_published(engine, catalogue)
    value = f"{_first_published_key(engine, catalogue)}|{'' if day is None else day.isoformat()}"
    write_precompute_state(engine, {_FIRST_PUBLISHED_KEY: value})
    return day


def first_day_published(engine: Engine, catalogue: Catalogue) -> dt.date | None:
    """The first published day: the stored one when current for this store and catalogue,
    else computed now (`compute_first_day_published`)."""
    stored = read_precompute_state(engine).get(_FIRST_PUBLISHED_KEY)
    if stored is not None:
        key, _, day = stored.rpartition("|")
        if key == _first_published_key(engine, catalogue):
            return dt.date.fromisoformat(day) if day else None
    return compute_first_day_published(engine, catalogue)


# --------------------------------------------------------------------------------------------
# Both, as the pipeline, load-snapshot and serve call them


@dataclass(frozen=True)
class PrecomputeReport:
    """What `precompute` stored."""

    countries: int
    panel_seconds: float
    history: HistoryUpdate | None

    def in_words(self) -> str:
        text = f"scored panel stored: {self.countries} countries in {self.panel_seconds:.1f} s"
        return text if self.history is None else f"{text}; {self.history.in_words()}"


def precompute(
    engine: Engine,
    settings: Settings,
    *,
    now: PanelScore | None = None,
    history_days: int = HISTORY_WINDOW_DAYS,
    progress: Progress | None = None,
) -> PrecomputeReport:
    """Store the current scored panel and bring the composite history up to today.

    Args:
        engine: the store (writable).
        settings: the configuration.
        now: the full panel already scored today (reused).
        history_days: the history window (0: no history).
        progress: called with progress lines.
    """
    started = time.monotonic()
    if progress is not None:
        progress("scoring every country for the stored panel …")
    observations = _reader(engine, settings)
    result = store_panel(engine, settings, now=now, observations=observations)
    store_first_day_published(engine, settings.catalogue())
    panel_seconds = time.monotonic() - started
    history = None
    if history_days > 0:
        history = update_composite_history(
            engine, settings, window_days=history_days, observations=observations, progress=progress
        )
    return PrecomputeReport(len(result.now.countries), panel_seconds, history)
