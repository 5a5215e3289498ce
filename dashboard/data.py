"""The dashboard's one door to the store: settings, the engine, loaders cached on the data version.

Pages never run SQL or scoring themselves. Each script run reads the store's cheap data version
once, uncached (`current_version()`), and passes it to the loaders, whose caches are keyed on it:
data the scheduler writes from another process shows on the next run (or the next tick of an
auto-refreshing fragment) without a manual reload, and unchanged data is never re-read or
re-scored. The scored panel is read from the precompute (`flashpoint.precompute`) when it is
current, else scored once per data version from the whole store; either way it is shared by every
page and country, and a country's page reads only that country's observations.

`FLASHPOINT_DISABLE_CACHE=1` turns every cache off (the benchmark's baseline).
"""

from __future__ import annotations

import datetime as dt
import functools
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import pandas as pd
import streamlit as st
from sqlalchemy.engine import Engine

from dashboard.fuel_prices import (
    DEFAULT_SHOCK_THRESHOLD,
    FUEL_PRICE_INDICATORS,
    FUEL_SHOCK_INDICATOR,
    WORLD_PRICE_INDICATORS,
    fuel_price_frame,
    fuel_shock_rule,
    fuel_shock_threshold,
    trigger_window_start,
)
from fetchers.redact import redact
from flashpoint import store
from flashpoint.config import (
    CONFIG_ENV,
    DATABASE_URL_ENV,
    Settings,
    iso3_countries,
    load_config,
)
from flashpoint.precompute import (
    SUCCESSFUL_RUN_STATUSES,
    PanelWithReference,
    first_day_published,
    panel_is_current,
    previous_refresh_cutoff,
    read_panel,
    score_with_reference,
)
from indicators.catalogue import Catalogue
from indicators.observations import WORLD
from indicators.scoring import PanelScore

# Re-exported for the pages and tests that read them from here.
__all__ = [
    "DEFAULT_SHOCK_THRESHOLD",
    "FUEL_PRICE_INDICATORS",
    "FUEL_SHOCK_INDICATOR",
    "SUCCESSFUL_RUN_STATUSES",
    "WORLD_PRICE_INDICATORS",
    "fuel_price_frame",
    "fuel_shock_rule",
    "fuel_shock_threshold",
    "previous_refresh_cutoff",
    "trigger_window_start",
]
CACHE_DISABLED_ENV = "FLASHPOINT_DISABLE_CACHE"
# Bound every cache: a few data versions and the watched countries of each.
_MAX_VERSIONS = 4
_MAX_PER_COUNTRY = 64

P = ParamSpec("P")
R = TypeVar("R")


def caching_enabled() -> bool:
    """False when `FLASHPOINT_DISABLE_CACHE` is set to 1/true (read on every call)."""
    return os.environ.get(CACHE_DISABLED_ENV, "").strip().lower() not in ("1", "true", "yes")


def _switchable(cached: Callable[P, R], plain: Callable[P, R]) -> Callable[P, R]:
    @functools.wraps(plain)
    def call(*args: P.args, **kwargs: P.kwargs) -> R:
        if caching_enabled():
            return cached(*args, **kwargs)
        return plain(*args, **kwargs)

    call.clear = cached.clear  # type: ignore[attr-defined]
    return call


def cache_data(**options: Any) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """`st.cache_data` that steps aside when caching is disabled."""

    def decorate(function: Callable[P, R]) -> Callable[P, R]:
        return _switchable(st.cache_data(show_spinner=False, **options)(function), function)

    return decorate


def cache_resource(**options: Any) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """`st.cache_resource` that steps aside when caching is disabled (results are shared between
    sessions and must never be mutated)."""

    def decorate(function: Callable[P, R]) -> Callable[P, R]:
        return _switchable(st.cache_resource(show_spinner=False, **options)(function), function)

    return decorate


# --------------------------------------------------------------------------------------------
# Settings and the engine


@cache_resource(max_entries=4)
def _settings_for(config_path: str, database_url: str) -> Settings:
    # `database_url` is part of the key only: load_config reads $FLASHPOINT_DATABASE_URL itself.
    del database_url
    return load_config(config_path or None)


def get_settings() -> Settings:
    """The validated settings ($FLASHPOINT_CONFIG, ./config.toml or the packaged default), with
    $FLASHPOINT_DATABASE_URL applied. Raises `ConfigError` for a bad file."""
    return _settings_for(os.environ.get(CONFIG_ENV, ""), os.environ.get(DATABASE_URL_ENV, ""))


@cache_resource(max_entries=4)
def _catalogue_for(config_path: str, database_url: str) -> Catalogue:
    return _settings_for(config_path, database_url).catalogue()


def get_catalogue() -> Catalogue:
    """The catalogue scoring uses, built once from the settings."""
    return _catalogue_for(os.environ.get(CONFIG_ENV, ""), os.environ.get(DATABASE_URL_ENV, ""))


@cache_resource(max_entries=4, on_release=lambda engine: engine.dispose())
def _engine_for(url: str) -> Engine:
    try:
        # Reads never take the write lock; only an admin's `begin_write` action may write.
        return store.open_for_reading(url, explicit_writes=True)
    except store.StoreNotReadyError as error:
        if error.kind not in ("missing", "uninitialised"):
            raise  # an older or newer schema: `flashpoint init` (a writing command) decides
    # A store with no schema yet holds nothing to read and nobody else is writing it: create the
    # empty tables once, so a dashboard started before any other command shows its guidance.
    store.open_for_writing(url).dispose()
    return store.open_for_reading(url, explicit_writes=True)


def get_engine() -> Engine:
    """The store's engine (one per URL per process; never mutate it). Raises `StoreError`."""
    return _engine_for(get_settings().database_url)


def current_version() -> str:
    """The store's data version, read uncached now: the key of every loader below."""
    return store.data_version(get_engine())


_RUN_VERSION_KEY = "_flashpoint_data_version"


def begin_run() -> str:
    """Read the data version once at the start of a full script run (app.py calls it) and keep it
    for the pages of this run."""
    version = current_version()
    st.session_state[_RUN_VERSION_KEY] = version
    return version


def run_version() -> str:
    """The data version this run renders (read by `begin_run`; read now when there was none)."""
    version = st.session_state.get(_RUN_VERSION_KEY)
    return str(version) if version is not None else begin_run()


def in_fragment_rerun() -> bool:
    """True while only a fragment reruns (e.g. on its timer), not the whole page."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    context = get_script_run_ctx()
    return bool(context is not None and context.fragment_ids_this_run)


def fresh_version_for_fragment(rendered: str) -> str:
    """In a fragment's timer rerun, the store's version now (the whole app reruns when it moved
    on from `rendered`); in a full run, `rendered` itself (no second query)."""
    if not in_fragment_rerun():
        return rendered
    version = current_version()
    if version != rendered:
        st.rerun()
    return version


def store_url_for_display() -> str:
    """The store URL with any password masked (`user:pw@` and `?password=` alike)."""
    return redact(store.mask_url(get_settings().database_url))


# --------------------------------------------------------------------------------------------
# Countries


@functools.cache
def country_names() -> dict[str, str]:
    """ISO3 → English short name for every country."""
    return iso3_countries()


def country_label(code: str) -> str:
    """ "Kazakhstan (KAZ)"; the bare code when the name is unknown."""
    name = country_names().get(code)
    return f"{name} ({code})" if name else code


def watched_countries() -> list[str]:
    """The watched countries in config order."""
    return list(get_settings().general.countries)


def country_code(text: object) -> str | None:
    """The ISO3 code `text` names (any case, surrounding spaces ignored), or None when it is not
    a known country code."""
    code = str(text or "").strip().upper()
    # WLD (the world series' pseudo-country) is in the ISO3 table but is never scored.
    return code if code in country_names() and code != WORLD else None


@cache_data(max_entries=_MAX_VERSIONS)
def scored_countries(version: str) -> list[str]:
    """Every real country with stored observations (the countries the panel scores), by code."""
    return [code for code in load_panel(version, today()).now.countries.index if code != WORLD]


def pickable_countries(version: str) -> list[str]:
    """The country picker's options: the watched countries in config order, then every other
    scored country by name."""
    watched = watched_countries()
    names = country_names()
    others = sorted(
        (code for code in scored_countries(version) if code not in watched),
        key=lambda code: names.get(code, code),
    )
    return [*watched, *others]


def default_country() -> str:
    """The country selected on first load: `[dashboard] default_country` when watched, else
    `[general] default_country`."""
    settings = get_settings()
    if settings.dashboard.default_country in settings.general.countries:
        return settings.dashboard.default_country
    return settings.general.default_country


# --------------------------------------------------------------------------------------------
# Store contents


@cache_data(max_entries=_MAX_VERSIONS)
def load_is_empty(version: str) -> bool:
    """True when the store holds no observations."""
    return store.is_empty(get_engine())


@cache_data(max_entries=_MAX_VERSIONS)
def load_store_totals(version: str) -> tuple[int, pd.Timestamp | None]:
    """How many observations the store holds and when the newest was fetched (two indexed
    aggregates: cheap at any store size, unlike the per-series `load_store_summary`)."""
    rows, fetched, _ = store.observations_version(get_engine()).split("|")
    return int(rows), (pd.Timestamp(fetched) if fetched else None)


@cache_data(max_entries=_MAX_VERSIONS)
def load_store_summary(version: str) -> pd.DataFrame:
    """Per source and indicator: rows, countries, first/last period, last fetched."""
    return store.store_summary(get_engine())


@cache_data(max_entries=_MAX_VERSIONS)
def load_fetch_runs(version: str, limit: int = 200) -> pd.DataFrame:
    """Recent fetch runs, newest first."""
    return store.read_fetch_runs(get_engine(), limit=limit)


@cache_data(max_entries=_MAX_VERSIONS * _MAX_PER_COUNTRY)
def load_country_observations(version: str, country: str) -> pd.DataFrame:
    """Every stored observation of `country` and of the world series (`WLD`), forecasts
    included (read for this country only, never the whole store)."""
    return store.read_country_observations(get_engine(), country)


@cache_data(max_entries=_MAX_VERSIONS * _MAX_PER_COUNTRY)
def _country_actuals(version: str, country: str) -> pd.DataFrame:
    # What a replay of `country` scores: its and the world series' actuals (no forecasts).
    return store.read_country_observations(get_engine(), country, include_forecasts=False)


@cache_data(max_entries=_MAX_VERSIONS * _MAX_PER_COUNTRY)
def load_events(version: str, country: str | None = None) -> pd.DataFrame:
    """Event annotations (all countries, or one)."""
    return store.read_events(get_engine(), country)


@cache_data(max_entries=_MAX_VERSIONS * _MAX_PER_COUNTRY)
def load_announcements(version: str, country: str) -> pd.DataFrame:
    """`country`'s stored announcements (the policy calendar), to name a scheduled shock's
    product (`data_version` changes with every calendar write)."""
    return store.read_announcements(get_engine(), countries=[country])


@cache_data(max_entries=_MAX_VERSIONS)
def load_alert_state(version: str) -> pd.DataFrame:
    """Every rule × country alert state, firing first (empty until the alerts have run)."""
    from flashpoint.alerts import read_alert_states

    frame = read_alert_states(get_engine())
    for column in ("since", "last_evaluated_at", "last_notified_at"):
        frame[column] = pd.to_datetime(frame[column])
    return frame


@cache_data(max_entries=_MAX_VERSIONS)
def load_rule_titles(version: str) -> dict[str, str]:
    """Rule id → name of the effective rules (config defaults with the dashboard's overrides)."""
    from flashpoint.alerts import effective_rules

    titles = rule_names(get_settings())
    titles.update({rule.id: rule.title for rule in effective_rules(get_engine(), get_settings())})
    return titles


# --------------------------------------------------------------------------------------------
# The scored panel: scored once per data version (and day), shared by every page and country


# The panel scored now and as it stood before the last data change (`now`, `previous`,
# `previous_label`); see `flashpoint.precompute.PanelWithReference`.
ScoredPanel = PanelWithReference


def _real_countries(observations: pd.DataFrame) -> list[str]:
    # World Bank files carry regional aggregates (ECS, WLD…); only real countries are scored.
    known = country_names()
    return sorted(code for code in observations["country"].unique() if code in known)


@cache_resource(max_entries=2)
def _all_observations(version: str) -> pd.DataFrame:
    # Only when no current precomputed panel exists (live scoring reads the whole store).
    # Shared, not copied: the whole panel is large and only read (never mutate the result).
    return store.read_observations(get_engine())


@cache_resource(max_entries=2)
def _actual_observations(version: str) -> pd.DataFrame:
    # What live scoring reads: never forecasts (shared and read-only, like the whole panel).
    panel = _all_observations(version)
    return panel[~panel["is_forecast"].to_numpy(dtype=bool)].reset_index(drop=True)


@cache_data(max_entries=_MAX_VERSIONS)
def panel_is_precomputed(version: str, as_of: dt.date) -> bool:
    """True when the store holds a scored panel current for its data, the methodology, the
    config and `as_of` (pages then read it instead of scoring the whole store)."""
    return panel_is_current(get_engine(), get_catalogue(), as_of)


@cache_resource(max_entries=_MAX_VERSIONS)
def load_panel(version: str, as_of: dt.date) -> ScoredPanel:
    """Every country's score now (as of `as_of`) and at the reference point.

    Read from the precomputed panel when it is current (`flashpoint.precompute`); otherwise
    (a store the pipeline has not precomputed yet, another day, another config) every country is
    scored live from the whole store, exactly as the precompute would — never a stale panel.

    Shared, not copied (a resource cache): a cache_data copy was unpickled on every call, twice
    per overview run. Pages only read it; never mutate the frames (take a `.copy()` first).
    """
    engine = get_engine()
    catalogue = get_catalogue()
    stored = read_panel(engine, catalogue, as_of)
    if stored is not None:
        return stored
    observations = _actual_observations(version)
    return score_with_reference(
        observations,
        catalogue,
        store.read_fetch_runs(engine, limit=500),
        as_of=as_of,
        countries=_real_countries(observations),
        live=as_of >= today(),
    )


@cache_data(max_entries=_MAX_VERSIONS)
def first_published_day(version: str) -> dt.date | None:
    """The first day on which any stored actual observation had been published (point in time),
    or None for an empty store: no as-of day before it can show anything."""
    # Stored by the precompute when current; else from each indicator's first-period rows (the
    # whole store is never read for a date bound).
    return first_day_published(get_engine(), get_catalogue())


@dataclass(frozen=True)
class InputCounts:
    """How many of a country's scoring inputs are present and stale: the one count every page
    shows (read off the scored panel, never recounted from a table)."""

    present: int
    expected: int
    stale: int

    def in_words(self) -> str:
        """ "31 of 37 inputs present, 9 stale"."""
        return f"{self.present} of {self.expected} inputs present, {self.stale} stale"


def input_counts(panel: PanelScore, country: str) -> InputCounts | None:
    """The scored panel's input counts for `country` (None when it is not scored)."""
    if country not in panel.countries.index:
        return None
    row = panel.countries.loc[country]
    return InputCounts(
        present=int(row["inputs_present"]),
        expected=int(row["inputs_expected"]),
        stale=int(row["inputs_stale"]),
    )


@cache_data(max_entries=_MAX_VERSIONS * _MAX_PER_COUNTRY)
def load_change_explanation(version: str, as_of: dt.date, country: str) -> pd.DataFrame:
    """`explain_change` of `country` between the reference and the current panel (empty when
    there is no earlier score), computed once per data version, day and country."""
    from indicators.explain import EXPLAIN_COLUMNS, explain_change

    panel = load_panel(version, as_of)
    if panel.previous is None or country not in panel.previous.countries.index:
        return pd.DataFrame(columns=list(EXPLAIN_COLUMNS))
    return explain_change(panel.previous, panel.now, country)


def today() -> dt.date:
    """Today's date in UTC (the day scores are as of)."""
    return dt.datetime.now(dt.UTC).date()


# --------------------------------------------------------------------------------------------
# Score history and replay (point in time, per country)


@cache_data(max_entries=_MAX_VERSIONS * _MAX_PER_COUNTRY)
def load_replay(
    version: str, country: str, start: dt.date, end: dt.date, every: str
) -> pd.DataFrame:
    """The score `country` would have had on each date from `start` to `end` (point in time)."""
    from indicators.replay import replay

    return replay(
        _country_actuals(version, country),
        get_catalogue(),
        countries=[country],
        start=start,
        end=end,
        every=every,  # type: ignore[arg-type]
    )


@cache_data(max_entries=_MAX_VERSIONS * _MAX_PER_COUNTRY)
def load_alert_replay(
    version: str, country: str, start: dt.date, end: dt.date, every: str
) -> pd.DataFrame:
    """The alert events the effective rules would have produced over a replay (same evaluator
    as the live alerts, point in time, no silences)."""
    from flashpoint.alerts import effective_rules, replay_alerts

    settings = get_settings()
    return replay_alerts(
        _country_actuals(version, country),
        get_catalogue(),
        effective_rules(get_engine(), settings),
        country=country,
        start=start,
        end=end,
        watched=settings.general.countries,
        every=every,  # type: ignore[arg-type]
    )


# --------------------------------------------------------------------------------------------
# The trigger panel's fuel prices (the pure part is `dashboard.fuel_prices`)


@cache_data(max_entries=_MAX_VERSIONS * _MAX_PER_COUNTRY)
def _fuel_observations(version: str, country: str) -> pd.DataFrame:
    # Only the trigger panel's series of `country` and the world: the overview draws nothing
    # else from observations, and a country's whole history is several times larger.
    wanted = [indicator for indicator, _ in FUEL_PRICE_INDICATORS + WORLD_PRICE_INDICATORS]
    return store.read_country_observations(get_engine(), country, indicators=wanted)


@cache_data(max_entries=_MAX_VERSIONS * _MAX_PER_COUNTRY)
def load_fuel_prices(
    version: str, country: str, window_days: int, as_of: dt.date | None = None
) -> pd.DataFrame:
    """`fuel_price_frame` of the stored observations (cached per data version and country);
    for a past `as_of`, of only those published by the end of that day (point in time)."""
    observations = _fuel_observations(version, country)
    if as_of is not None and as_of < today():
        from indicators.pointintime import visible_observations

        observations = visible_observations(observations, get_catalogue(), as_of)
    return fuel_price_frame(observations, country, window_days, catalogue=get_catalogue())


def rule_names(settings: Settings) -> dict[str, str]:
    """Rule id → human-readable name of the config rules."""
    return {rule.id: rule.name or rule.id for rule in settings.alerts.rules}


# --------------------------------------------------------------------------------------------
# Helpers for pages


def methodology_text() -> str | None:
    """docs/METHODOLOGY.md when the source tree is present (editable installs), else None."""
    path = Path(__file__).resolve().parent.parent / "docs" / "METHODOLOGY.md"
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return None
