"""`[general]`, `[store]` and `Settings`, the whole configuration."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, Field
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from flashpoint.config.alerting import AlertsSettings, NotificationsSettings
from flashpoint.config.base import ConfigModel, Iso3, _custom_error
from flashpoint.config.catalogue import (
    BandSettings,
    IndicatorSettings,
    ModelSettings,
    PillarSettings,
    _default_bands,
    _default_indicators,
    _default_pillars,
    _to_indicator,
)
from flashpoint.config.dashboard import DashboardSettings, SchedulerSettings
from flashpoint.config.sources import SourceSettings, SourcesSettings
from indicators.catalogue import DEFAULT_BANDS, Band, Catalogue, ModelParameters, Pillar

DEFAULT_COUNTRIES = ("KAZ", "KGZ", "UZB", "TJK", "TKM", "RUS", "AZE", "MNG", "IRN", "NGA", "ECU")


class GeneralSettings(ConfigModel):
    """`[general]`: which countries are watched and where Flashpoint keeps its files."""

    countries: list[Iso3] = Field(
        default_factory=lambda: list(DEFAULT_COUNTRIES),
        description="Watched countries (ISO3). Scoring, alerts and the dashboard cover these.",
    )
    default_country: Iso3 = Field(
        default="KAZ", description="Country shown first; must be one of `countries`."
    )
    data_dir: str = Field(
        default="~/.local/share/flashpoint",
        description="Directory for the SQLite store, the scheduler lock and exports. `~` is "
        "expanded; a relative path is relative to the config file.",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="Logging level of the CLI, the scheduler and the dashboard."
    )


def store_url_problem(url: str) -> str:
    """Why `url` is not a usable SQLAlchemy URL ("" when it is). Never repeats the URL: it can
    hold a password."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        return (
            "not a database URL (expected e.g. `sqlite:///path/flashpoint.db` or "
            "`postgresql+psycopg://user@host/flashpoint`)"
        )
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        return (
            f"unsupported database {parsed.get_backend_name()!r} (Flashpoint stores data in "
            "SQLite or PostgreSQL)"
        )
    return ""


def _check_store_url(value: str) -> str:
    problem = store_url_problem(value) if value else ""
    if problem:
        raise _custom_error(problem)
    return value


class StoreSettings(ConfigModel):
    """`[store]`: the database URL (overridden by $FLASHPOINT_DATABASE_URL)."""

    url: Annotated[str, AfterValidator(_check_store_url)] = Field(
        default="",
        description="SQLAlchemy URL, e.g. `postgresql+psycopg://user@host/flashpoint`. Empty: "
        "a SQLite file `<data_dir>/flashpoint.db`. Passwords belong in the environment "
        "($FLASHPOINT_DATABASE_URL), not here.",
    )


class Settings(ConfigModel):
    """The whole configuration."""

    general: GeneralSettings = Field(default_factory=GeneralSettings, description="[general]")
    store: StoreSettings = Field(default_factory=StoreSettings, description="[store]")
    sources: SourcesSettings = Field(default_factory=SourcesSettings, description="[sources.*]")
    indicators: list[IndicatorSettings] = Field(
        default_factory=lambda: _default_indicators(), description="[[indicators]]"
    )
    pillars: dict[str, PillarSettings] = Field(
        default_factory=lambda: _default_pillars(), description="[pillars.*]"
    )
    model: ModelSettings = Field(default_factory=ModelSettings, description="[model]")
    bands: list[BandSettings] = Field(
        default_factory=lambda: _default_bands(), description="[[bands]]"
    )
    alerts: AlertsSettings = Field(default_factory=AlertsSettings, description="[alerts]")
    notifications: NotificationsSettings = Field(
        default_factory=NotificationsSettings, description="[notifications]"
    )
    dashboard: DashboardSettings = Field(
        default_factory=DashboardSettings, description="[dashboard]"
    )
    scheduler: SchedulerSettings = Field(
        default_factory=SchedulerSettings, description="[scheduler]"
    )
    # Where the settings were read from (None when built in code). Not a TOML key.
    config_path: Path | None = Field(default=None, exclude=True, description="Source file.")

    @property
    def data_path(self) -> Path:
        """The data directory, `~` expanded, relative paths resolved against the config file."""
        path = Path(self.general.data_dir).expanduser()
        if not path.is_absolute():
            base = self.config_path.parent if self.config_path is not None else Path.cwd()
            path = base / path
        return path

    @property
    def database_url(self) -> str:
        """The effective store URL: `[store] url`, else a SQLite file in the data directory."""
        if self.store.url:
            return self.store.url
        return f"sqlite:///{self.data_path / 'flashpoint.db'}"

    @property
    def lock_path(self) -> Path:
        """The scheduler's lock file (SQLite stores; PostgreSQL uses an advisory lock)."""
        if not self.scheduler.lock_file:
            database = make_url(self.database_url).database or ""
            if database and database != ":memory:":
                path = Path(database)
                return path.with_name(path.name + ".scheduler.lock")
            return self.data_path / "scheduler.lock"
        path = Path(self.scheduler.lock_file).expanduser()
        return path if path.is_absolute() else self.data_path / path

    def source(self, name: str) -> SourceSettings:
        """The settings of source `name`, e.g. `settings.source("fred").timeout_seconds`."""
        return self.sources.get(name)

    def indicator(self, indicator_id: str) -> IndicatorSettings:
        """The `[[indicators]]` entry with this id (KeyError if unknown)."""
        for item in self.indicators:
            if item.id == indicator_id:
                return item
        raise KeyError(indicator_id)

    def indicators_for_source(self, source: str) -> list[IndicatorSettings]:
        """Enabled indicators fetched from `source`."""
        return [item for item in self.indicators if item.enabled and item.source == source]

    def catalogue(self) -> Catalogue:
        """The pure catalogue dataclasses scoring, the dashboard and alerts read."""
        indicators = tuple(_to_indicator(item) for item in self.indicators)
        pillars = tuple(
            Pillar(
                id=pillar_id,
                name=pillar.name or pillar_id,
                kind=pillar.kind,
                weight=pillar.weight,
                factors=tuple(pillar.factors),
                description=pillar.description,
                aggregation=pillar.aggregation,
                signal=pillar.signal,
            )
            for pillar_id, pillar in self.pillars.items()
        )
        bands = tuple(Band(b.name, b.lower, b.colour) for b in self.bands) or DEFAULT_BANDS
        model = ModelParameters(
            trigger_amplification=self.model.trigger_amplification,
            vulnerability_pivot=self.model.vulnerability_pivot,
            min_coverage=self.model.min_coverage,
            trigger_active_at=self.model.trigger_active_at,
            vulnerability_power=self.model.vulnerability_power,
            pillar_floor=self.model.pillar_floor,
        )
        return Catalogue(indicators=indicators, pillars=pillars, bands=bands, model=model)
