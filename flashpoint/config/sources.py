"""`[sources.*]`: one settings class per source, and the `SourcesSettings` aggregate at the end.

A new source adds its class here (subclassing `SourceSettings`, overriding the defaults it
needs) and one field on `SourcesSettings` named as in `fetchers.REGISTRY`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from pydantic import Field

from flashpoint.config.base import (
    MAX_RETRIES,
    MAX_TIMEOUT_SECONDS,
    ConfigModel,
    CronString,
    EnvName,
)

# Indicator `source` values that are not fetchers configured under [sources.*].
NON_FETCHER_SOURCES = ("derived", "snapshot")


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
        default=30.0, gt=0, le=MAX_TIMEOUT_SECONDS,
        description="Timeout of one HTTP request, seconds."
    )
    max_retries: int = Field(
        default=3,
        ge=0,
        le=MAX_RETRIES,
        description="Retries of a failed request (timeouts, 429, 5xx); at most 10.",
    )
    min_interval_seconds: float = Field(
        default=0.0, ge=0, le=MAX_TIMEOUT_SECONDS,
        description="Minimum pause between two requests (rate limit), seconds."
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
    timeout_seconds: float = Field(
        default=60.0, gt=0, le=MAX_TIMEOUT_SECONDS, description="Per-request timeout, s."
    )


class ImfSource(SourceSettings):
    """`[sources.imf]`: IMF DataMapper API (WEO inflation incl. projections)."""

    schedule: CronString = Field(default="0 4 3 * *", description="Monthly (3rd, 04:00).")
    base_url: str = Field(
        default="https://www.imf.org/external/datamapper/api/v1", description="DataMapper root."
    )
    timeout_seconds: float = Field(
        default=60.0, gt=0, le=MAX_TIMEOUT_SECONDS, description="Per-request timeout, s."
    )
    min_interval_seconds: float = Field(
        default=1.0, ge=0, le=MAX_TIMEOUT_SECONDS, description="Pause between requests."
    )


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
        default=0.5, ge=0, le=MAX_TIMEOUT_SECONDS,
        description="FRED allows 120 requests/minute per key."
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
        default=0.25, ge=0, le=MAX_TIMEOUT_SECONDS,
        description="EIA asks for at most 5 requests per second."
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
        default=5.0, ge=0, le=MAX_TIMEOUT_SECONDS,
        description="GDELT allows one request every 5 seconds."
    )
    timeout_seconds: float = Field(
        default=60.0, gt=0, le=MAX_TIMEOUT_SECONDS, description="Per-request timeout, s."
    )


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
    timeout_seconds: float = Field(
        default=60.0, gt=0, le=MAX_TIMEOUT_SECONDS, description="Per-request timeout, s."
    )
    min_interval_seconds: float = Field(
        default=1.0, ge=0, le=MAX_TIMEOUT_SECONDS, description="Pause between requests."
    )


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
    min_interval_seconds: float = Field(
        default=0.5, ge=0, le=MAX_TIMEOUT_SECONDS, description="Pause between requests."
    )


class FxSource(SourceSettings):
    """`[sources.fx]`: keyless USD exchange rates for watched countries other than Kazakhstan."""

    schedule: CronString = Field(default="30 7 * * *", description="Daily, 07:30.")
    base_url: str = Field(
        default="https://open.er-api.com/v6/latest/USD",
        description="Latest rates per USD (open.er-api.com; attribution per its terms).",
    )
    min_interval_seconds: float = Field(
        default=1.0, ge=0, le=MAX_TIMEOUT_SECONDS, description="Pause between requests."
    )
    currencies: dict[str, str] = Field(
        default_factory=lambda: dict(_default_fx_currencies()),
        description="ISO3 country → ISO 4217 currency. Countries missing here (KAZ: NBK; ECU: "
        "uses the US dollar) get no FX series from this source.",
    )


def _default_fx_currencies() -> Mapping[str, str]:
    # The fx source owns the table (one copy): a data module, no HTTP; imported when needed.
    from fetchers.fx_currencies import DEFAULT_CURRENCIES

    return DEFAULT_CURRENCIES


class EuOilBulletinSource(SourceSettings):
    """`[sources.eu_oil_bulletin]`: European Commission Weekly Oil Bulletin (EU-27, weekly)."""

    schedule: CronString = Field(default="0 9 * * tue", description="Weekly, Tuesday 09:00.")
    base_url: str = Field(
        default="https://energy.ec.europa.eu/document/download/"
        "906e60ca-8b6a-44e7-8589-652854d2fd3f_en"
        "?filename=Weekly_Oil_Bulletin_Prices_History_maticni_4web.xlsx",
        description="The full URL of the price-history workbook (or of a raw-data CSV table).",
    )
    timeout_seconds: float = Field(default=120.0, gt=0, description="Per-request timeout, s.")


class NzMbieSource(SourceSettings):
    """`[sources.nz_mbie]`: New Zealand MBIE weekly fuel price monitoring table."""

    schedule: CronString = Field(default="0 9 * * sat", description="Weekly, Saturday 09:00.")
    base_url: str = Field(
        default="https://www.mbie.govt.nz/assets/Data-Files/Energy/"
        "Weekly-fuel-price-monitoring/weekly-table.csv",
        description="The full URL of MBIE's weekly-table.csv.",
    )
    timeout_seconds: float = Field(default=60.0, gt=0, description="Per-request timeout, s.")


class MalaysiaFuelpriceSource(SourceSettings):
    """`[sources.malaysia_fuelprice]`: data.gov.my weekly fuel prices (dataset `fuelprice`)."""

    schedule: CronString = Field(default="0 9 * * thu", description="Weekly, Thursday 09:00.")
    base_url: str = Field(
        default="https://storage.data.gov.my/commodities/fuelprice.csv",
        description="The full URL of the `fuelprice` CSV.",
    )


class BrazilAnpSource(SourceSettings):
    """`[sources.brazil_anp]`: ANP weekly price survey, national summary workbook."""

    schedule: CronString = Field(default="0 10 * * sat", description="Weekly, Saturday 10:00.")
    base_url: str = Field(
        default="https://www.gov.br/anp/pt-br/assuntos/precos-e-defesa-da-concorrencia/precos/"
        "precos-revenda-e-de-distribuicao-combustiveis/shlp/semanal/semanal-brasil-desde-2013.xlsx",
        description="The full URL of ANP's semanal-brasil-desde-2013.xlsx.",
    )
    timeout_seconds: float = Field(default=60.0, gt=0, description="Per-request timeout, s.")


class AnalystSource(SourceSettings):
    """`[sources.analyst]`: the analyst's own CSV series, re-imported on a schedule."""

    schedule: CronString = Field(default="0 8 * * *", description="Daily, 08:00.")
    files: list[str] = Field(
        default_factory=list,
        description="CSV files (paths relative to the config file, or http(s) URLs) in the "
        "`flashpoint import` format.",
    )


class WfpSource(SourceSettings):
    """`[sources.wfp]`: WFP market prices, HDX per-country CSVs (fuel and staple food)."""

    schedule: CronString = Field(default="0 5 * * 2", description="Weekly, Tuesdays 05:00.")
    base_url: str = Field(
        default="https://data.humdata.org/dataset",
        description="HDX datasets root; a country's file is <base_url>/<resources[ISO3]>, or "
        "<base_url>/wfp_food_prices_<iso3>.csv for a country without a resource path.",
    )
    timeout_seconds: float = Field(default=120.0, gt=0, description="Per-request timeout, s.")
    min_interval_seconds: float = Field(default=1.0, ge=0, description="Pause between requests.")
    countries: list[str] = Field(
        default_factory=lambda: sorted(_default_wfp_resources()),
        description="ISO3 codes of the per-country files to fetch (not limited to the watched "
        "countries).",
    )
    resources: dict[str, str] = Field(
        default_factory=lambda: dict(_default_wfp_resources()),
        description="ISO3 → HDX path `<dataset id>/resource/<resource id>/download/<file>`.",
    )
    publication_lag_days: int = Field(
        default=15, ge=0,
        description="Days after a month's end when its value is taken to be public (replay).",
    )


def _default_wfp_resources() -> Mapping[str, str]:
    # The wfp source owns the table (one copy): a data module, no HTTP; imported when needed.
    from fetchers.wfp_resources import DEFAULT_RESOURCES

    return DEFAULT_RESOURCES


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
    eu_oil_bulletin: EuOilBulletinSource = Field(
        default_factory=EuOilBulletinSource, description="EU Weekly Oil Bulletin."
    )
    nz_mbie: NzMbieSource = Field(default_factory=NzMbieSource, description="NZ MBIE fuel prices.")
    malaysia_fuelprice: MalaysiaFuelpriceSource = Field(
        default_factory=MalaysiaFuelpriceSource, description="data.gov.my fuel prices."
    )
    brazil_anp: BrazilAnpSource = Field(
        default_factory=BrazilAnpSource, description="Brazil ANP weekly prices."
    )
    analyst: AnalystSource = Field(default_factory=AnalystSource, description="Analyst CSVs.")
    wfp: WfpSource = Field(default_factory=WfpSource, description="WFP market prices (HDX).")

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
