"""Flashpoint's configuration: `config.toml` parsed with tomllib into pydantic models.

Every model forbids unknown keys and gives every field a default and a description, so a typo
(`api_key = "..."` instead of `api_key_env = "..."`, `shedule = ...`) is an error, never silently
ignored. Any problem — a missing file, bad TOML, a wrong type, an unknown key, country, indicator,
pillar, channel or source, a bad cron string, inconsistent weights or thresholds — raises
`ConfigError` whose message is `<file>: <dotted.key.path[index]>: <problem>`.

Path resolution (`load_config(None)`): `$FLASHPOINT_CONFIG`, else `./config.toml`, else the packaged
default (`flashpoint/default_config.toml` in the wheel, the repository's `config.toml` in an
editable install). `$FLASHPOINT_DATABASE_URL` overrides `[store] url`.

Tables that describe the methodology (`[[indicators]]`, `[pillars.*]`, `[[bands]]`,
`[[alerts.rules]]`) default to what the packaged default file says, so a small user config that
only changes `[general] countries` still gets the full catalogue.

The package (this module re-exports the public API of all of it): `base` (`ConfigModel` and the
validated field types), `sources` (one settings class per `[sources.<name>]`, then the
`SourcesSettings` aggregate), `catalogue` (indicators, pillars, model, bands and their conversion
to `indicators.catalogue`), `alerting` (alert rules, notification channels), `dashboard`
(`[dashboard]`, `[scheduler]`), `settings` (`[general]`, `[store]`, `Settings`), `defaults` (the
packaged default file), `messages` (key paths and problem texts), `checks` (cross-reference
checks) and `loading` (`load_config`, path resolution, the CLI's `--config`).
"""

from __future__ import annotations

from flashpoint.config.alerting import (
    AlertKind,
    AlertRule,
    AlertsSettings,
    Channel,
    ChannelBase,
    EmailChannel,
    LogChannel,
    NotificationsSettings,
    WebhookChannel,
)
from flashpoint.config.base import (
    WATCHED,
    ConfigModel,
    CronString,
    EnvName,
    HexColour,
    Identifier,
    Iso3,
    ScopeItem,
    TimezoneName,
)
from flashpoint.config.catalogue import (
    BandSettings,
    IndicatorSettings,
    ModelSettings,
    NormalisationSettings,
    PillarSettings,
)
from flashpoint.config.checks import Problem, check_references
from flashpoint.config.dashboard import DashboardSettings, SchedulerSettings
from flashpoint.config.defaults import default_config_path
from flashpoint.config.loading import (
    CONFIG_ENV,
    DATABASE_URL_ENV,
    add_config_argument,
    load_config,
    resolve_config_path,
    settings_from_args,
)
from flashpoint.config.messages import format_key_path
from flashpoint.config.settings import DEFAULT_COUNTRIES, GeneralSettings, Settings, StoreSettings
from flashpoint.config.sources import (
    NON_FETCHER_SOURCES,
    AcledSource,
    AnalystSource,
    EiaSource,
    FredSource,
    FxSource,
    GdeltSource,
    ImfSource,
    NbkSource,
    SourceSettings,
    SourcesSettings,
    WfpSource,
    WorldBankSource,
)
from indicators.countries import iso3_countries

__all__ = [
    "CONFIG_ENV",
    "DATABASE_URL_ENV",
    "DEFAULT_COUNTRIES",
    "NON_FETCHER_SOURCES",
    "WATCHED",
    "AcledSource",
    "AlertKind",
    "AlertRule",
    "AlertsSettings",
    "AnalystSource",
    "BandSettings",
    "Channel",
    "ChannelBase",
    "ConfigModel",
    "CronString",
    "DashboardSettings",
    "EiaSource",
    "EmailChannel",
    "EnvName",
    "FredSource",
    "FxSource",
    "GdeltSource",
    "GeneralSettings",
    "HexColour",
    "Identifier",
    "ImfSource",
    "IndicatorSettings",
    "Iso3",
    "LogChannel",
    "ModelSettings",
    "NbkSource",
    "NormalisationSettings",
    "NotificationsSettings",
    "PillarSettings",
    "Problem",
    "SchedulerSettings",
    "ScopeItem",
    "Settings",
    "SourceSettings",
    "SourcesSettings",
    "StoreSettings",
    "TimezoneName",
    "WebhookChannel",
    "WfpSource",
    "WorldBankSource",
    "add_config_argument",
    "check_references",
    "default_config_path",
    "format_key_path",
    "iso3_countries",
    "load_config",
    "resolve_config_path",
    "settings_from_args",
]
