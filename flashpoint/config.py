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
"""

from __future__ import annotations

import argparse
import csv
import functools
import os
import re
import tomllib
import types
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal, Union

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
)
from pydantic_core import PydanticCustomError
from sqlalchemy.engine import make_url

from flashpoint.errors import ConfigError
from indicators.catalogue import (
    DEFAULT_BANDS,
    Band,
    Catalogue,
    Indicator,
    ModelParameters,
    Normalisation,
    Pillar,
)

CONFIG_ENV = "FLASHPOINT_CONFIG"
DATABASE_URL_ENV = "FLASHPOINT_DATABASE_URL"
DEFAULT_COUNTRIES = ("KAZ", "KGZ", "UZB", "TJK", "TKM", "RUS", "AZE", "MNG", "IRN", "NGA", "ECU")

_PACKAGE_DIR = Path(__file__).resolve().parent
_PACKAGED_DEFAULT = _PACKAGE_DIR / "default_config.toml"
_REPO_DEFAULT = _PACKAGE_DIR.parent / "config.toml"
_ISO3_FILE = _PACKAGE_DIR / "iso3_countries.csv"

# Indicator `source` values that are not fetchers configured under [sources.*].
NON_FETCHER_SOURCES = ("derived", "snapshot")
WATCHED = "watched"


# --------------------------------------------------------------------------------------------
# Reference lists and reusable validated types
# --------------------------------------------------------------------------------------------


@functools.cache
def iso3_countries() -> dict[str, str]:
    """ISO3 code → name of every country code Flashpoint accepts (incl. `WLD`, the world)."""
    with _ISO3_FILE.open(encoding="utf-8", newline="") as handle:
        return {row["iso3"]: row["name"] for row in csv.DictReader(handle)}


def _custom_error(message: str) -> PydanticCustomError:
    # A custom error keeps pydantic from prefixing "Value error, " to our message.
    return PydanticCustomError("flashpoint_config", message)


def _check_iso3(value: str) -> str:
    if value not in iso3_countries():
        raise _custom_error(f"unknown country code {value!r} (expected an ISO3 code such as 'KAZ')")
    return value


def _check_cron(value: str) -> str:
    # Imported here: apscheduler is only needed to validate, and pulls in tzlocal at import.
    from flashpoint.schedules import parse_schedule

    try:
        parse_schedule(value, timezone="UTC")
    except ValueError as error:
        raise _custom_error(
            f"invalid schedule {value!r}: expected a crontab line (minute hour day month "
            f"weekday) or an interval such as 'every 15m': {error}"
        ) from error
    return value


def _check_env_name(value: str) -> str:
    if value and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value):
        raise _custom_error(
            f"{value!r} is not an environment variable name: give the NAME of the variable that "
            "holds the secret, never the secret itself"
        )
    return value


def _check_identifier(value: str) -> str:
    if not re.fullmatch(r"[a-z][a-z0-9_]*", value):
        raise _custom_error(
            f"{value!r} is not a valid id (lower-case letters, digits and underscores, "
            "starting with a letter)"
        )
    return value


def _check_timezone(value: str) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise _custom_error(
            f"unknown timezone {value!r} (use an IANA name such as 'UTC' or 'Asia/Almaty')"
        ) from None
    return value


def _scope_from_toml(value: object) -> object:
    # `scope = "watched"` is accepted as shorthand for `scope = ["watched"]`.
    return [value] if isinstance(value, str) else value


def _check_scope_item(value: str) -> str:
    return value if value == WATCHED else _check_iso3(value)


Iso3 = Annotated[str, AfterValidator(_check_iso3)]
CronString = Annotated[str, AfterValidator(_check_cron)]
EnvName = Annotated[str, AfterValidator(_check_env_name)]
Identifier = Annotated[str, AfterValidator(_check_identifier)]
ScopeItem = Annotated[str, AfterValidator(_check_scope_item)]
TimezoneName = Annotated[str, AfterValidator(_check_timezone)]
HexColour = Annotated[str, Field(pattern=r"^#[0-9a-fA-F]{6}$")]


class ConfigModel(BaseModel):
    """Base of every config table: unknown keys are refused, TOML types are taken as they are."""

    # strict: TOML is typed, so `timeout_seconds = "30"` is a mistake worth reporting.
    model_config = ConfigDict(extra="forbid", strict=True, validate_default=False)


# --------------------------------------------------------------------------------------------
# [general], [store]
# --------------------------------------------------------------------------------------------


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


class StoreSettings(ConfigModel):
    """`[store]`: the database URL (overridden by $FLASHPOINT_DATABASE_URL)."""

    url: str = Field(
        default="",
        description="SQLAlchemy URL, e.g. `postgresql+psycopg://user@host/flashpoint`. Empty: "
        "a SQLite file `<data_dir>/flashpoint.db`. Passwords belong in the environment "
        "($FLASHPOINT_DATABASE_URL), not here.",
    )


# --------------------------------------------------------------------------------------------
# [sources.*]
# --------------------------------------------------------------------------------------------


class SourceSettings(ConfigModel):
    """Settings every source has; each source's table may add its own options."""

    enabled: bool = Field(default=True, description="Fetch this source on refresh/schedule.")
    schedule: CronString = Field(
        default="0 6 * * *",
        description="When the scheduler refreshes this source: a 5-field crontab string "
        "(minute hour day month weekday) in the scheduler's timezone.",
    )
    base_url: str = Field(default="", description="Root URL of the source's API.")
    timeout_seconds: float = Field(
        default=30.0, gt=0, description="Timeout of one HTTP request, seconds."
    )
    max_retries: int = Field(
        default=3, ge=0, description="Retries of a failed request (timeouts, 429, 5xx)."
    )
    min_interval_seconds: float = Field(
        default=0.0, ge=0, description="Minimum pause between two requests (rate limit), seconds."
    )


class WorldBankSource(SourceSettings):
    """`[sources.worldbank]`: World Bank Indicators API v2 (WDI and WGI)."""

    schedule: CronString = Field(default="0 4 2 * *", description="Monthly (2nd, 04:00).")
    base_url: str = Field(default="https://api.worldbank.org/v2", description="API v2 root.")
    per_page: int = Field(
        default=20000, ge=1, description="Rows per page; large pages fetch all countries at once."
    )
    date_range: str = Field(
        default="1990:2030", description="`date=` filter of every request (years, `from:to`)."
    )
    wgi_source: int = Field(
        default=3, ge=1, description="World Bank source id of the WGI (codes ending in `.EST`)."
    )
    timeout_seconds: float = Field(default=60.0, gt=0, description="Per-request timeout, s.")


class ImfSource(SourceSettings):
    """`[sources.imf]`: IMF DataMapper API (WEO inflation incl. projections)."""

    schedule: CronString = Field(default="0 4 3 * *", description="Monthly (3rd, 04:00).")
    base_url: str = Field(
        default="https://www.imf.org/external/datamapper/api/v1", description="DataMapper root."
    )
    timeout_seconds: float = Field(default=60.0, gt=0, description="Per-request timeout, s.")
    min_interval_seconds: float = Field(default=1.0, ge=0, description="Pause between requests.")


class FredSource(SourceSettings):
    """`[sources.fred]`: FRED (Brent, WTI, Henry Hub, propane)."""

    schedule: CronString = Field(default="30 6 * * *", description="Daily, 06:30.")
    base_url: str = Field(
        default="https://api.stlouisfed.org/fred", description="FRED API root (needs a key)."
    )
    csv_url: str = Field(
        default="https://fred.stlouisfed.org/graph/fredgraph.csv",
        description="Keyless CSV endpoint, used when the API key variable is unset.",
    )
    api_key_env: EnvName = Field(
        default="FRED_API_KEY", description="Environment variable holding the FRED API key."
    )
    min_interval_seconds: float = Field(
        default=0.5, ge=0, description="FRED allows 120 requests/minute per key."
    )


class EiaSource(SourceSettings):
    """`[sources.eia]`: EIA API v2 (propane and crude spot prices)."""

    enabled: bool = Field(
        default=False, description="Off by default: FRED serves the same EIA series keylessly."
    )
    schedule: CronString = Field(default="45 6 * * *", description="Daily, 06:45.")
    base_url: str = Field(default="https://api.eia.gov/v2", description="EIA API v2 root.")
    api_key_env: EnvName = Field(
        default="EIA_API_KEY", description="Environment variable holding the EIA API key."
    )
    page_length: int = Field(
        default=5000, ge=1, le=5000, description="Rows per JSON page (EIA's maximum is 5000)."
    )
    min_interval_seconds: float = Field(
        default=0.25, ge=0, description="EIA asks for at most 5 requests per second."
    )


class GdeltSource(SourceSettings):
    """`[sources.gdelt]`: GDELT event counts (protests, conflict)."""

    schedule: CronString = Field(default="0 * * * *", description="Hourly, on the hour.")
    base_url: str = Field(
        default="https://api.gdeltproject.org/api/v2/doc/doc", description="DOC 2.0 API."
    )
    events_url: str = Field(
        default="http://data.gdeltproject.org",
        description="Root of the bulk event exports: `events/YYYYMMDD.export.CSV.zip` (1.0 "
        "daily) and `gdeltv2/` (2.0 15-minute files, lastupdate.txt).",
    )
    events_variant: Literal["daily", "15min"] = Field(
        default="daily",
        description="Which export files to count: 1.0 daily files (one request a day) or 2.0 "
        "15-minute files (96 a day; for short windows).",
    )
    max_files_per_run: int = Field(
        default=0,
        ge=0,
        description="Most export files one run downloads (0 = the fetcher's default: 62 daily "
        "or 96 15-minute files); the rest follow in later runs.",
    )
    min_interval_seconds: float = Field(
        default=5.0, ge=0, description="GDELT allows one request every 5 seconds."
    )
    timeout_seconds: float = Field(default=60.0, gt=0, description="Per-request timeout, s.")


class AcledSource(SourceSettings):
    """`[sources.acled]`: ACLED events with the user's own account (never exported or bundled)."""

    enabled: bool = Field(
        default=False, description="Off by default: needs your own myACLED account."
    )
    schedule: CronString = Field(
        default="0 5 * * thu", description="Weekly (Thursday 05:00; ACLED releases on Wednesdays)."
    )
    base_url: str = Field(default="https://acleddata.com/api", description="ACLED API root.")
    token_url: str = Field(
        default="https://acleddata.com/oauth/token", description="OAuth password-grant endpoint."
    )
    username_env: EnvName = Field(
        default="ACLED_USERNAME", description="Environment variable holding the myACLED e-mail."
    )
    password_env: EnvName = Field(
        default="ACLED_PASSWORD", description="Environment variable holding the password."
    )
    page_limit: int = Field(default=5000, ge=1, description="Rows per page (`limit=`).")
    timeout_seconds: float = Field(default=60.0, gt=0, description="Per-request timeout, s.")
    min_interval_seconds: float = Field(default=1.0, ge=0, description="Pause between requests.")


class NbkSource(SourceSettings):
    """`[sources.nbk]`: National Bank of Kazakhstan official exchange rates."""

    schedule: CronString = Field(default="15 7 * * *", description="Daily, 07:15.")
    base_url: str = Field(
        default="https://nationalbank.kz/rss", description="Root of get_rates.cfm / rates_all.xml."
    )
    backfill_days: int = Field(
        default=45,
        ge=0,
        description="Days fetched one by one (one request per date) when the store has no newer "
        "rate; older history comes from the snapshot.",
    )
    currency: str = Field(default="USD", description="Currency quoted in KZT per unit.")
    min_interval_seconds: float = Field(default=0.5, ge=0, description="Pause between requests.")


class FxSource(SourceSettings):
    """`[sources.fx]`: keyless USD exchange rates for watched countries other than Kazakhstan."""

    schedule: CronString = Field(default="30 7 * * *", description="Daily, 07:30.")
    base_url: str = Field(
        default="https://open.er-api.com/v6/latest/USD",
        description="Latest rates per USD (open.er-api.com; attribution per its terms).",
    )
    min_interval_seconds: float = Field(default=1.0, ge=0, description="Pause between requests.")
    currencies: dict[str, str] = Field(
        default_factory=lambda: dict(_default_fx_currencies()),
        description="ISO3 country → ISO 4217 currency. Countries missing here (KAZ: NBK; ECU: "
        "uses the US dollar) get no FX series from this source.",
    )


def _default_fx_currencies() -> Mapping[str, str]:
    # The fx fetcher owns the table (one copy); imported lazily to keep config loading light.
    from fetchers.fx import DEFAULT_CURRENCIES

    return DEFAULT_CURRENCIES


class AnalystSource(SourceSettings):
    """`[sources.analyst]`: the analyst's own CSV series, re-imported on a schedule."""

    schedule: CronString = Field(default="0 8 * * *", description="Daily, 08:00.")
    files: list[str] = Field(
        default_factory=list,
        description="CSV files (paths relative to the config file, or http(s) URLs) in the "
        "`flashpoint import` format.",
    )


class SourcesSettings(ConfigModel):
    """`[sources.*]`: one table per source registered in `fetchers.REGISTRY`."""

    worldbank: WorldBankSource = Field(default_factory=WorldBankSource, description="World Bank.")
    imf: ImfSource = Field(default_factory=ImfSource, description="IMF DataMapper.")
    fred: FredSource = Field(default_factory=FredSource, description="FRED.")
    eia: EiaSource = Field(default_factory=EiaSource, description="EIA API v2.")
    gdelt: GdeltSource = Field(default_factory=GdeltSource, description="GDELT.")
    acled: AcledSource = Field(default_factory=AcledSource, description="ACLED.")
    nbk: NbkSource = Field(default_factory=NbkSource, description="National Bank of Kazakhstan.")
    fx: FxSource = Field(default_factory=FxSource, description="Keyless FX rates.")
    analyst: AnalystSource = Field(default_factory=AnalystSource, description="Analyst CSVs.")

    def names(self) -> tuple[str, ...]:
        """The configured source names, in declaration order."""
        return tuple(type(self).model_fields)

    def items(self) -> list[tuple[str, SourceSettings]]:
        """(name, settings) of every source, in declaration order."""
        return [(name, self.get(name)) for name in self.names()]

    def get(self, name: str) -> SourceSettings:
        """The settings of source `name` (KeyError if there is no such source)."""
        if name not in type(self).model_fields:
            raise KeyError(name)
        settings: SourceSettings = getattr(self, name)
        return settings


# --------------------------------------------------------------------------------------------
# [[indicators]], [pillars.*], [model], [[bands]]
# --------------------------------------------------------------------------------------------


class NormalisationSettings(ConfigModel):
    """`[indicators.normalisation]`: how a raw value becomes a 0–10 risk score."""

    method: Literal["goalposts", "zscore", "step"] = Field(
        default="goalposts",
        description="goalposts: min–max between lower and upper (capped); zscore: against the "
        "country's own trailing history; step: % step change.",
    )
    lower: float | None = Field(
        default=None, description="goalposts: the value scoring 0 (or 10 if lower is riskier)."
    )
    upper: float | None = Field(
        default=None, description="goalposts: the value scoring 10 (or 0 if lower is riskier)."
    )
    log: bool = Field(default=False, description="goalposts: apply log1p before scaling.")
    window: int = Field(default=24, ge=2, description="zscore: trailing observations used.")
    z_at_10: float = Field(default=3.0, gt=0, description="zscore: the z that scores 10.")
    step_at_10: float = Field(default=100.0, gt=0, description="step: the % step that scores 10.")


class IndicatorSettings(ConfigModel):
    """One `[[indicators]]` entry (fields mirror `indicators.catalogue.Indicator`)."""

    id: Identifier = Field(default="", description="Catalogue id, e.g. `cpi_inflation`.")
    name: str = Field(default="", description="Human-readable name.")
    pillar: str = Field(default="context", description="Pillar id (a `[pillars.<id>]` table).")
    factor: str = Field(default="", description="The report's risk factor it proxies, quoted.")
    source: str = Field(
        default="derived",
        description="Source name (a `[sources.<name>]` table), `derived` or `snapshot`.",
    )
    source_code: str = Field(default="", description="The source's own code (e.g. `SI.POV.GINI`).")
    unit: str = Field(default="", description="Unit of the stored value.")
    higher_is_riskier: bool = Field(default=True, description="Direction of risk.")
    frequency: Literal["daily", "weekly", "monthly", "quarterly", "annual"] = Field(
        default="annual", description="Observation frequency."
    )
    weight: float = Field(default=1.0, ge=0, description="Weight within its pillar (≥ 0).")
    max_age_days: int = Field(
        default=730, ge=1, description="Older than this (by period) counts as stale."
    )
    publication_lag_days: int = Field(
        default=0,
        ge=0,
        description="Days after the period's end when a value typically becomes public "
        "(used for point-in-time replay when the source gives no publication date).",
    )
    licence: str = Field(default="", description="Licence of the data.")
    source_url: str = Field(default="", description="Where a human can read about the series.")
    enabled: bool = Field(
        default=True, description="Disabled indicators are neither fetched nor scored."
    )
    derivation: (
        Literal[
            "step_change",
            "change_mom",
            "change_yoy",
            "depreciation_1m",
            "depreciation_3m",
            "depreciation_12m",
            "price_gap",
            "spike",
        ]
        | None
    ) = Field(default=None, description="For derived indicators: how they are computed.")
    derived_from: list[str] = Field(
        default_factory=list, description="For derived indicators: the base indicator ids."
    )
    window_days: int = Field(
        default=31, ge=1, description="Trailing window (days) for step changes."
    )
    description: str = Field(default="", description="What the indicator measures and why.")
    normalisation: NormalisationSettings = Field(
        default_factory=NormalisationSettings, description="Normalisation to 0–10."
    )


class PillarSettings(ConfigModel):
    """One `[pillars.<id>]` table."""

    name: str = Field(default="", description="Human-readable name.")
    kind: Literal["structural", "trigger", "context"] = Field(
        default="structural",
        description="structural: feeds vulnerability (geometric mean); trigger: amplified by "
        "vulnerability; context: shown, never scored.",
    )
    weight: float = Field(default=1.0, ge=0, description="Weight among pillars of its kind.")
    factors: list[str] = Field(
        default_factory=list, description="The report's risk factors this pillar covers."
    )
    description: str = Field(default="", description="What the pillar captures.")


class ModelSettings(ConfigModel):
    """`[model]`: parameters of the trigger × vulnerability aggregation."""

    trigger_amplification: float = Field(
        default=ModelParameters.trigger_amplification,
        ge=0,
        description="How strongly a full trigger (10) lifts the composite above vulnerability.",
    )
    vulnerability_pivot: float = Field(
        default=ModelParameters.vulnerability_pivot,
        gt=0,
        le=10,
        description="Vulnerability at which a trigger passes through fully.",
    )
    min_coverage: float = Field(
        default=ModelParameters.min_coverage,
        ge=0,
        le=1,
        description="Minimum share of expected inputs before a composite is reported.",
    )


class BandSettings(ConfigModel):
    """One `[[bands]]` entry: the composite is in this band when it is ≥ `lower`."""

    name: str = Field(default="", min_length=1, description="Band name.")
    lower: float = Field(default=0.0, ge=0, le=10, description="Lower cut-off on the 0–10 scale.")
    colour: HexColour = Field(default="#999999", description="Colour, `#rrggbb`.")


# --------------------------------------------------------------------------------------------
# [[alerts.rules]], [notifications.channels.*]
# --------------------------------------------------------------------------------------------

AlertKind = Literal["level", "change", "spike", "stale", "band_change"]
_KINDS_NEEDING_THRESHOLD: tuple[str, ...] = ("level", "change", "spike")


class AlertRule(ConfigModel):
    """One `[[alerts.rules]]` entry, evaluated per country in scope after every scoring.

    kind:
      level        the target's latest value is above/below `threshold`
      change       its % change over `window_days` is above/below `threshold`
      spike        z-score of its latest value against its own trailing history ≥ `threshold`
      stale        the target has no new data for more than `threshold` days
                   (indicator: defaults to its `max_age_days`; source: days since the last
                   successful fetch run)
      band_change  the composite band moved up (`above`) or down (`below`) against window_days ago
    target: `composite` (0–10 score), `pillar:<id>` (0–10 score), `indicator:<id>` (the raw
      value in its unit), `source:<name>` or `source:*` (every enabled source; stale only).
    """

    id: Identifier = Field(default="", description="Unique rule id.")
    name: str = Field(default="", description="Human-readable name used in notifications.")
    description: str = Field(default="", description="Why the rule exists.")
    kind: AlertKind = Field(default="level", description="What is compared (see above).")
    target: str = Field(default="composite", description="What the rule watches (see above).")
    scope: Annotated[list[ScopeItem], BeforeValidator(_scope_from_toml)] = Field(
        default_factory=lambda: [WATCHED],
        description='ISO3 codes, or "watched" for every watched country.',
    )
    condition: Literal["above", "below"] = Field(
        default="above", description="Fire when the measure is above or below `threshold`."
    )
    threshold: float | None = Field(
        default=None, description="Level, % change, z or days (by kind)."
    )
    recovery: float | None = Field(
        default=None,
        description="Resolve only once the measure is back past this value (hysteresis); must "
        "be on the safe side of `threshold`. Absent: resolve at `threshold`.",
    )
    window_days: int = Field(
        default=30, ge=1, description="change, spike, band_change: the comparison window, days."
    )
    pending_evaluations: int = Field(
        default=1, ge=1, description="Consecutive breaching evaluations before it fires."
    )
    renotify_hours: float = Field(
        default=24.0, ge=0, description="Repeat a notification while firing; 0 = never."
    )
    severity: Literal["info", "warning", "critical"] = Field(
        default="warning", description="Severity shown in notifications."
    )
    channels: list[str] = Field(
        default_factory=lambda: ["log"], description="Channel names (`[notifications.channels.*]`)."
    )
    enabled: bool = Field(default=True, description="Disabled rules are not evaluated.")

    def countries(self, watched: Iterable[str]) -> list[str]:
        """The ISO3 codes this rule covers, with "watched" expanded to `watched`."""
        out: list[str] = []
        for item in self.scope:
            for code in watched if item == WATCHED else (item,):
                if code not in out:
                    out.append(code)
        return out

    @property
    def target_kind(self) -> str:
        """`composite`, `pillar`, `indicator` or `source`."""
        return self.target.split(":", 1)[0]

    @property
    def target_id(self) -> str:
        """The id after the colon (`""` for `composite`)."""
        return self.target.split(":", 1)[1] if ":" in self.target else ""


class AlertsSettings(ConfigModel):
    """`[alerts]`: the configured rules (admins may override them in the dashboard)."""

    rules: list[AlertRule] = Field(
        default_factory=lambda: _default_rules(), description="The alert rules."
    )


class ChannelBase(ConfigModel):
    """Settings every notification channel has."""

    enabled: bool = Field(default=True, description="Disabled channels send nothing.")


class LogChannel(ChannelBase):
    """`type = "log"`: writes each notification to the `flashpoint.alerts` logger."""

    type: Literal["log"] = Field(default="log", description="Channel type.")
    level: Literal["INFO", "WARNING", "ERROR"] = Field(
        default="WARNING", description="Log level of the message."
    )


class EmailChannel(ChannelBase):
    """`type = "email"`: sends each notification by SMTP."""

    type: Literal["email"] = Field(default="email", description="Channel type.")
    host: str = Field(default="localhost", description="SMTP server host.")
    port: int = Field(default=587, ge=1, le=65535, description="SMTP port.")
    security: Literal["starttls", "ssl", "none"] = Field(
        default="starttls", description="Connection security."
    )
    sender: str = Field(default="flashpoint@localhost", description="From address.")
    recipients: list[str] = Field(default_factory=list, description="To addresses.")
    username_env: EnvName = Field(
        default="", description="Environment variable with the SMTP user (empty: no login)."
    )
    password_env: EnvName = Field(
        default="", description="Environment variable with the SMTP password."
    )
    timeout_seconds: float = Field(default=30.0, gt=0, description="SMTP timeout, seconds.")


class WebhookChannel(ChannelBase):
    """`type = "webhook"`: POSTs each notification as JSON (or a Slack message)."""

    type: Literal["webhook"] = Field(default="webhook", description="Channel type.")
    url: str = Field(default="", description="Target URL (prefer `url_env` for secret URLs).")
    url_env: EnvName = Field(
        default="", description="Environment variable holding the URL (Slack webhooks are secret)."
    )
    format: Literal["json", "slack"] = Field(default="json", description="Body format.")
    timeout_seconds: float = Field(default=10.0, gt=0, description="HTTP timeout, seconds.")


Channel = Annotated[Union[LogChannel, EmailChannel, WebhookChannel], Field(discriminator="type")]  # noqa: UP007


def _default_channels() -> dict[str, LogChannel | EmailChannel | WebhookChannel]:
    return {"log": LogChannel()}


def _with_log_channel(
    channels: dict[str, LogChannel | EmailChannel | WebhookChannel],
) -> dict[str, LogChannel | EmailChannel | WebhookChannel]:
    # The `log` channel always exists, so adding an e-mail channel does not silently break every
    # default rule that notifies `log`. Defining `[notifications.channels.log]` configures it.
    if "log" not in channels:
        channels = {"log": LogChannel(), **channels}
    return channels


class NotificationsSettings(ConfigModel):
    """`[notifications]`: where alert notifications go (`log` always exists)."""

    channels: Annotated[dict[str, Channel], AfterValidator(_with_log_channel)] = Field(
        default_factory=_default_channels,
        description="Named channels; rules refer to them by name.",
    )


# --------------------------------------------------------------------------------------------
# [dashboard], [scheduler]
# --------------------------------------------------------------------------------------------


class DashboardSettings(ConfigModel):
    """`[dashboard]`: the Streamlit app."""

    title: str = Field(default="Flashpoint", description="Page title.")
    default_country: Iso3 = Field(default="KAZ", description="Country selected on first load.")
    public_url: str = Field(
        default="http://localhost:8501", description="URL used for links in notifications."
    )
    address: str = Field(default="127.0.0.1", description="Address `flashpoint dashboard` binds.")
    port: int = Field(default=8501, ge=1, le=65535, description="Port `flashpoint dashboard` uses.")
    admin_password_env: EnvName = Field(
        default="FLASHPOINT_ADMIN_PASSWORD",
        description="Environment variable with the admin password (editing alert rules); unset: "
        "editing is disabled.",
    )
    refresh_seconds: int = Field(
        default=300, ge=0, description="How often open pages re-read the store; 0 = never."
    )
    chart_renderer: Literal["basic", "streamlit"] = Field(
        default="basic",
        description="basic: line and bar charts are drawn by plotly.js's basic bundle, served by "
        "the app (a fraction of the browser's start-up cost); streamlit: every chart by "
        "st.plotly_chart. Maps always use st.plotly_chart.",
    )


class SchedulerSettings(ConfigModel):
    """`[scheduler]`: the `flashpoint serve` process."""

    timezone: TimezoneName = Field(
        default="UTC", description="Timezone of the sources' cron schedules."
    )
    misfire_grace_seconds: int = Field(
        default=900, ge=0, description="Run a job missed by up to this many seconds."
    )
    jitter_seconds: int = Field(
        default=30, ge=0, description="Random delay added to each run (spreads requests)."
    )
    lock_file: str = Field(
        default="",
        description="Lock file that keeps a second scheduler from starting against a SQLite "
        "store. Empty: `<database file>.scheduler.lock`, beside the database, so every config "
        "pointing at one store shares it. PostgreSQL stores use an advisory lock instead.",
    )


# --------------------------------------------------------------------------------------------
# Settings
# --------------------------------------------------------------------------------------------


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
            )
            for pillar_id, pillar in self.pillars.items()
        )
        bands = tuple(Band(b.name, b.lower, b.colour) for b in self.bands) or DEFAULT_BANDS
        model = ModelParameters(
            trigger_amplification=self.model.trigger_amplification,
            vulnerability_pivot=self.model.vulnerability_pivot,
            min_coverage=self.model.min_coverage,
        )
        return Catalogue(indicators=indicators, pillars=pillars, bands=bands, model=model)


def _to_indicator(item: IndicatorSettings) -> Indicator:
    norm = item.normalisation
    source_code = item.source_code
    if not source_code and item.derived_from:
        source_code = ",".join(item.derived_from)
    return Indicator(
        id=item.id,
        name=item.name or item.id,
        pillar=item.pillar,
        factor=item.factor,
        source=item.source,
        source_code=source_code,
        unit=item.unit,
        higher_is_riskier=item.higher_is_riskier,
        frequency=item.frequency,
        normalisation=Normalisation(
            method=norm.method,
            lower=norm.lower,
            upper=norm.upper,
            log=norm.log,
            window=norm.window,
            z_at_10=norm.z_at_10,
            step_at_10=norm.step_at_10,
        ),
        weight=item.weight,
        max_age_days=item.max_age_days,
        publication_lag_days=item.publication_lag_days,
        licence=item.licence,
        source_url=item.source_url,
        enabled=item.enabled,
        derivation=item.derivation,
        derived_from=tuple(item.derived_from),
        window_days=item.window_days,
        description=item.description,
    )


# --------------------------------------------------------------------------------------------
# Defaults read from the packaged default file
# --------------------------------------------------------------------------------------------


def default_config_path() -> Path:
    """The packaged default config (wheel), else the repository's `config.toml` (editable)."""
    return _PACKAGED_DEFAULT if _PACKAGED_DEFAULT.is_file() else _REPO_DEFAULT


@functools.cache
def _default_document() -> dict[str, Any]:
    path = default_config_path()
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError):
        # The default file is validated by load_config and the test suite; a broken copy
        # must not make `Settings()` itself unusable.
        return {}


def _default_indicators() -> list[IndicatorSettings]:
    raw = _default_document().get("indicators", [])
    return [IndicatorSettings.model_validate(item) for item in raw]


def _default_pillars() -> dict[str, PillarSettings]:
    raw = _default_document().get("pillars", {})
    return {key: PillarSettings.model_validate(value) for key, value in raw.items()}


def _default_bands() -> list[BandSettings]:
    raw = _default_document().get("bands")
    if raw is None:
        return [BandSettings(name=b.name, lower=b.lower, colour=b.colour) for b in DEFAULT_BANDS]
    return [BandSettings.model_validate(item) for item in raw]


def _default_rules() -> list[AlertRule]:
    raw = _default_document().get("alerts", {}).get("rules", [])
    return [AlertRule.model_validate(item) for item in raw]


# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------


def resolve_config_path(path: Path | str | None = None) -> Path:
    """Which file `load_config(path)` reads: `path`, $FLASHPOINT_CONFIG, ./config.toml, default."""
    if path is not None and str(path) != "":
        return Path(path)
    from_env = os.environ.get(CONFIG_ENV, "")
    if from_env:
        return Path(from_env)
    local = Path("config.toml")
    if local.is_file():
        return local
    return default_config_path()


def load_config(path: Path | str | None = None) -> Settings:
    """Read, validate and cross-check a config file.

    Args:
        path: the file to read; None resolves $FLASHPOINT_CONFIG, ./config.toml, then the
            packaged default.

    Returns:
        The validated settings, with $FLASHPOINT_DATABASE_URL applied to `store.url`.

    Raises:
        ConfigError: naming the file, the key path and the problem.
    """
    config_path = resolve_config_path(path)
    shown = str(config_path)
    try:
        with config_path.open("rb") as handle:
            document = tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(shown, "", "file not found") from None
    except IsADirectoryError:
        raise ConfigError(shown, "", "is a directory, not a TOML file") from None
    except OSError as error:
        raise ConfigError(shown, "", f"cannot read: {error.strerror or error}") from None
    except tomllib.TOMLDecodeError as error:
        raise _toml_syntax_error(shown, error) from None

    try:
        settings = Settings.model_validate(document)
    except ValidationError as error:
        raise _validation_error(shown, document, error) from None
    settings = settings.model_copy(update={"config_path": config_path.resolve()})
    _resolve_analyst_files(settings)

    problems = check_references(settings)
    if problems:
        key_path, problem = problems[0]
        more = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
        raise ConfigError(shown, key_path, problem + more)

    database_url = os.environ.get(DATABASE_URL_ENV, "")
    if database_url:
        settings.store = settings.store.model_copy(update={"url": database_url})
    return settings


def _resolve_analyst_files(settings: Settings) -> None:
    """Make relative analyst CSV paths relative to the config file, as the docs promise.

    The fetcher runs wherever the scheduler was started; resolving here keeps
    `files = ["prices.csv"]` next to config.toml working from any working directory.
    """
    if settings.config_path is None:
        return
    base = settings.config_path.parent
    analyst = settings.sources.analyst
    resolved = [
        item if "://" in item or Path(item).expanduser().is_absolute()
        else str(base / item)
        for item in analyst.files
    ]
    settings.sources.analyst = analyst.model_copy(update={"files": resolved})


def _toml_syntax_error(shown: str, error: tomllib.TOMLDecodeError) -> ConfigError:
    message = str(error)
    match = re.search(r"\s*\(at line (\d+), column (\d+)\)$", message)
    if message.endswith("(at end of document)"):
        problem = message[: -len("(at end of document)")].rstrip()
        return ConfigError(shown, "end of file", f"invalid TOML: {problem}")
    if match:
        problem = message[: match.start()]
        return ConfigError(
            shown, f"line {match.group(1)}, column {match.group(2)}", f"invalid TOML: {problem}"
        )
    return ConfigError(shown, "", f"invalid TOML: {message}")


def _validation_error(
    shown: str, document: Mapping[str, Any], error: ValidationError
) -> ConfigError:
    details = error.errors(include_url=False)
    first = details[0]
    key_path = format_key_path(document, first["loc"])
    if str(first["type"]).startswith("union_tag"):
        key_path += ".type"  # the tag itself is the offending key
    problem = _describe(first, Settings, first["loc"])
    if len(details) > 1:
        problem += f" (and {len(details) - 1} more problem(s))"
    return ConfigError(shown, key_path, problem)


def format_key_path(document: Any, loc: Sequence[int | str]) -> str:
    """Turn a pydantic `loc` into the TOML key path, e.g. `indicators[3].normalisation.lower`.

    The raw document is walked alongside, so segments pydantic adds that are not TOML keys
    (the tag of a tagged union such as a channel's `email`) are dropped.
    """
    parts: list[str] = []
    node: Any = document
    for position, segment in enumerate(loc):
        is_last = position == len(loc) - 1
        if isinstance(segment, int) and isinstance(node, list):
            parts.append(f"[{segment}]")
            node = node[segment] if segment < len(node) else None
            continue
        key = str(segment)
        if isinstance(node, dict):
            if key in node:
                parts.append(key if not parts else f".{key}")
                node = node[key]
                continue
            if not is_last and node.get("type") == key:
                continue  # the tagged-union tag
        elif not is_last and node is not None:
            continue  # a union member's name inside a scalar or list value
        parts.append(key if not parts else f".{key}")
        node = None
    return "".join(parts)


def _describe(detail: Mapping[str, Any], root: type[BaseModel], loc: Sequence[int | str]) -> str:
    kind = detail["type"]
    if kind == "extra_forbidden":
        key = str(loc[-1])
        allowed = _allowed_keys(root, loc[:-1])
        if f"{key}_env" in allowed:
            return (
                f"unknown key {key!r}: secrets are never written in the config; set "
                f"`{key}_env` to the NAME of an environment variable holding it"
            )
        hint = f" (allowed: {', '.join(allowed)})" if allowed else ""
        return f"unknown key {key!r}{hint}"
    message = str(detail["msg"])
    if kind == "missing":
        return "required key is missing"
    if kind == "union_tag_invalid":
        context = detail.get("ctx", {})
        return (
            f"unknown type {context.get('tag')!r} (expected one of {context.get('expected_tags')})"
        )
    if kind.startswith("union_tag"):
        return message
    if "input" in detail and not isinstance(detail["input"], dict | list):
        shown = repr(detail["input"])
        if len(shown) > 60:
            shown = shown[:57] + "..."
        if kind != "flashpoint_config":
            message += f" (got {shown})"
    return message


def _allowed_keys(root: type[BaseModel], loc: Sequence[int | str]) -> list[str]:
    """Field names of the model found at `loc` under `root` (empty if it cannot be told)."""
    annotation: Any = root
    for segment in loc:
        model = _as_model(annotation)
        if model is not None:
            field = model.model_fields.get(str(segment))
            if field is None:
                return []
            annotation = field.annotation
            continue
        annotation = _step_into(annotation, segment)
        if annotation is None:
            return []
    model = _as_model(annotation)
    if model is None:
        return []
    return [name for name, field in model.model_fields.items() if not field.exclude]


def _as_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def _step_into(annotation: Any, segment: int | str) -> Any:
    """Follow one loc segment through list/dict/Annotated/Union annotations."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is Annotated:
        return _step_into(args[0], segment)
    if origin is list:
        return args[0] if isinstance(segment, int) else None
    if origin is dict:
        return args[1]
    if origin in (Union, types.UnionType):
        for member in args:
            model = _unwrap_annotated(member)
            if isinstance(model, type) and issubclass(model, BaseModel):
                type_field = model.model_fields.get("type")
                if type_field is not None and type_field.default == segment:
                    return model
        return None
    return None


def _unwrap_annotated(annotation: Any) -> Any:
    while typing.get_origin(annotation) is Annotated:
        annotation = typing.get_args(annotation)[0]
    return annotation


# --------------------------------------------------------------------------------------------
# Cross-reference checks (the things a single field cannot know)
# --------------------------------------------------------------------------------------------

Problem = tuple[str, str]


def check_references(settings: Settings) -> list[Problem]:
    """Every inconsistency between tables, as (key path, problem), in file order."""
    checks: tuple[Callable[[Settings], list[Problem]], ...] = (
        _check_general,
        _check_indicators,
        _check_pillars,
        _check_bands,
        _check_rules,
        _check_channels,
    )
    problems: list[Problem] = []
    for check in checks:
        problems.extend(check(settings))
    return problems


def _check_general(settings: Settings) -> list[Problem]:
    problems: list[Problem] = []
    general = settings.general
    if not general.countries:
        problems.append(("general.countries", "watch at least one country"))
    for index, count in _duplicates(general.countries):
        problems.append((f"general.countries[{index}]", f"{count!r} is listed twice"))
    if general.countries and general.default_country not in general.countries:
        problems.append(
            (
                "general.default_country",
                f"{general.default_country!r} is not one of general.countries",
            )
        )
    return problems


def _duplicates(values: Sequence[str]) -> list[tuple[int, str]]:
    seen: set[str] = set()
    out: list[tuple[int, str]] = []
    for index, value in enumerate(values):
        if value in seen:
            out.append((index, value))
        seen.add(value)
    return out


def _check_indicators(settings: Settings) -> list[Problem]:
    problems: list[Problem] = []
    ids = [item.id for item in settings.indicators]
    known_ids = set(ids)
    known_sources = set(settings.sources.names()) | set(NON_FETCHER_SOURCES)
    for index, duplicate in _duplicates(ids):
        problems.append((f"indicators[{index}].id", f"duplicate indicator id {duplicate!r}"))
    for index, item in enumerate(settings.indicators):
        where = f"indicators[{index}]"
        if not item.id:
            problems.append((f"{where}.id", "every indicator needs an id"))
        if item.enabled and item.pillar not in settings.pillars:
            problems.append(
                (
                    f"{where}.pillar",
                    f"unknown pillar {item.pillar!r} (known: "
                    f"{', '.join(settings.pillars) or 'none'})",
                )
            )
        if item.source not in known_sources:
            problems.append(
                (
                    f"{where}.source",
                    f"unknown source {item.source!r} (known: {', '.join(sorted(known_sources))})",
                )
            )
        for position, base in enumerate(item.derived_from):
            if base not in known_ids:
                problems.append(
                    (f"{where}.derived_from[{position}]", f"unknown indicator {base!r}")
                )
            elif base == item.id:
                problems.append(
                    (f"{where}.derived_from[{position}]", "an indicator cannot derive from itself")
                )
        if item.source == "derived" and (item.derivation is None or not item.derived_from):
            problems.append(
                (where, "a derived indicator needs both `derivation` and `derived_from`")
            )
        if item.source != "derived" and item.derivation is not None:
            problems.append(
                (f"{where}.derivation", 'only `source = "derived"` indicators have a derivation')
            )
        problems.extend(_check_normalisation(settings, where, item))
    return problems


def _check_normalisation(settings: Settings, where: str, item: IndicatorSettings) -> list[Problem]:
    norm = item.normalisation
    pillar = settings.pillars.get(item.pillar)
    scored = pillar is not None and pillar.kind != "context"
    if norm.method != "goalposts":
        return []
    if norm.lower is None or norm.upper is None:
        if scored and item.enabled:
            missing = "lower" if norm.lower is None else "upper"
            return [(f"{where}.normalisation.{missing}", "goalposts need both lower and upper")]
        return []
    if norm.lower >= norm.upper:
        return [
            (
                f"{where}.normalisation.upper",
                f"upper ({norm.upper:g}) must be greater than lower ({norm.lower:g})",
            )
        ]
    if norm.log and norm.lower <= -1:
        return [(f"{where}.normalisation.lower", "log goalposts need lower > -1 (log1p)")]
    return []


def _check_pillars(settings: Settings) -> list[Problem]:
    problems: list[Problem] = []
    weights: dict[str, list[float]] = {}
    for item in settings.indicators:
        if item.enabled:
            weights.setdefault(item.pillar, []).append(item.weight)
    for pillar_id, pillar in settings.pillars.items():
        if not re.fullmatch(r"[a-z][a-z0-9_]*", pillar_id):
            problems.append((f"pillars.{pillar_id}", "pillar ids are lower-case identifiers"))
        pillar_weights = weights.get(pillar_id, [])
        if pillar.kind != "context" and pillar_weights and not any(pillar_weights):
            problems.append(
                (
                    f"pillars.{pillar_id}",
                    "every enabled indicator of this pillar has weight 0; give at least one a "
                    'positive weight or set the pillar\'s kind to "context"',
                )
            )
    for kind in ("structural", "trigger"):
        kind_weights = [p.weight for p in settings.pillars.values() if p.kind == kind]
        if kind_weights and not any(kind_weights):
            first = next(k for k, p in settings.pillars.items() if p.kind == kind)
            problems.append((f"pillars.{first}.weight", f"all {kind} pillars have weight 0"))
    return problems


def _check_bands(settings: Settings) -> list[Problem]:
    problems: list[Problem] = []
    if not settings.bands:
        return [("bands", "define at least one band")]
    if settings.bands[0].lower != 0:
        problems.append(("bands[0].lower", "the first band must start at 0"))
    for index in range(1, len(settings.bands)):
        previous, current = settings.bands[index - 1], settings.bands[index]
        if current.lower <= previous.lower:
            problems.append(
                (
                    f"bands[{index}].lower",
                    f"band cut-offs must increase: {current.lower:g} is not above "
                    f"{previous.lower:g} ({previous.name!r})",
                )
            )
    for index, name in _duplicates([band.name for band in settings.bands]):
        problems.append((f"bands[{index}].name", f"duplicate band name {name!r}"))
    return problems


def _check_rules(settings: Settings) -> list[Problem]:
    problems: list[Problem] = []
    rules = settings.alerts.rules
    indicator_ids = {item.id for item in settings.indicators}
    for index, duplicate in _duplicates([rule.id for rule in rules]):
        problems.append((f"alerts.rules[{index}].id", f"duplicate rule id {duplicate!r}"))
    for index, rule in enumerate(rules):
        where = f"alerts.rules[{index}]"
        if not rule.id:
            problems.append((f"{where}.id", "every rule needs an id"))
        target_problem = _target_problem(settings, rule, indicator_ids)
        if target_problem:
            problems.append((f"{where}.target", target_problem))
        if rule.kind in _KINDS_NEEDING_THRESHOLD and rule.threshold is None:
            problems.append((f"{where}.threshold", f"a {rule.kind} rule needs a threshold"))
        if rule.threshold is not None and rule.recovery is not None:
            wrong = (
                rule.recovery > rule.threshold
                if rule.condition == "above"
                else rule.recovery < rule.threshold
            )
            if wrong:
                safe = "at or below" if rule.condition == "above" else "at or above"
                problems.append(
                    (
                        f"{where}.recovery",
                        f"recovery ({rule.recovery:g}) must be {safe} the threshold "
                        f"({rule.threshold:g}) for a rule that fires {rule.condition} it",
                    )
                )
        for position, channel in enumerate(rule.channels):
            if channel not in settings.notifications.channels:
                problems.append(
                    (
                        f"{where}.channels[{position}]",
                        f"unknown channel {channel!r} (defined: "
                        f"{', '.join(settings.notifications.channels) or 'none'})",
                    )
                )
    return problems


def _target_problem(settings: Settings, rule: AlertRule, indicator_ids: set[str]) -> str:
    kind, target_id = rule.target_kind, rule.target_id
    if kind == "composite" and rule.target == "composite":
        pass
    elif kind == "pillar":
        if target_id not in settings.pillars:
            return f"unknown pillar {target_id!r}"
    elif kind == "indicator":
        if target_id not in indicator_ids:
            return f"unknown indicator {target_id!r}"
    elif kind == "source":
        if target_id != "*" and target_id not in settings.sources.names():
            return f"unknown source {target_id!r}"
    else:
        return (
            f"{rule.target!r} is not a target: use composite, pillar:<id>, indicator:<id> "
            "or source:<name>"
        )
    allowed: dict[str, tuple[str, ...]] = {
        "level": ("composite", "pillar", "indicator"),
        "change": ("composite", "pillar", "indicator"),
        "spike": ("indicator",),
        "stale": ("indicator", "source"),
        "band_change": ("composite",),
    }
    if kind not in allowed[rule.kind]:
        return f"a {rule.kind} rule cannot watch a {kind} (use: {', '.join(allowed[rule.kind])})"
    return ""


def _check_channels(settings: Settings) -> list[Problem]:
    problems: list[Problem] = []
    for name, channel in settings.notifications.channels.items():
        where = f"notifications.channels.{name}"
        if isinstance(channel, WebhookChannel) and not (channel.url or channel.url_env):
            problems.append((where, "a webhook channel needs `url` or `url_env`"))
        if isinstance(channel, EmailChannel) and channel.enabled and not channel.recipients:
            problems.append((f"{where}.recipients", "an e-mail channel needs recipients"))
    return problems


# --------------------------------------------------------------------------------------------
# CLI glue shared by every command
# --------------------------------------------------------------------------------------------


def add_config_argument(parser: argparse.ArgumentParser) -> None:
    """Add the `--config PATH` option every `flashpoint` command takes."""
    parser.add_argument(
        "--config",
        metavar="PATH",
        default=None,
        help=f"config file (default: ${CONFIG_ENV}, else ./config.toml, else the packaged default)",
    )


def settings_from_args(args: argparse.Namespace) -> Settings:
    """Load the settings named by a parsed `--config` option (see `add_config_argument`)."""
    return load_config(getattr(args, "config", None))
