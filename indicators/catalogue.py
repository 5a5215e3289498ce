"""The indicator catalogue: what each indicator measures, the report factor it proxies, its scoring.

These are the pure domain objects. `flashpoint.config` builds them from `config.toml`; scoring,
the dashboard's Methodology page and the alert rules all read the same objects, so there is never a
second hand-written copy of the methodology.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from indicators.releases import ReleaseCalendars, bundled_release_calendars

Frequency = Literal["daily", "weekly", "monthly", "quarterly", "annual"]
NormalisationMethod = Literal["goalposts", "zscore", "step"]
PillarKind = Literal["structural", "trigger", "context"]
Derivation = Literal[
    "step_change",  # largest single step between consecutive observations in a trailing window, %
    "change_mom",  # % change against the value ~1 month earlier
    "change_yoy",  # % change against the value ~12 months earlier
    "depreciation_1m",  # % depreciation of the local currency over 1 month (LCU per USD rising)
    "depreciation_3m",
    "depreciation_12m",
    "price_gap",  # % gap of a domestic price to a world reference price
    "spike",  # z-score of the latest value against the country's own trailing history
    "daily_spike",  # z-score of a daily count against the country's own trailing N days
    "seasonal_deviation",  # SDs from the series' own seasonal trend (WFP ALPS-like), max of bases
]
# How a pillar combines its indicators: the weighted mean, or the strongest available one.
PillarAggregation = Literal["mean", "max"]


@dataclass(frozen=True)
class Normalisation:
    """How a raw value becomes a 0–10 risk score.

    goalposts: min–max between `lower` and `upper` (values outside are capped: INFORM's outlier
        treatment), optionally after log1p, inverted when lower values are riskier.
    zscore: the latest value against the country's own trailing history (`window` observations),
        z of 0 maps to 0 and z of `z_at_10` maps to 10.
    step: a % step change mapped linearly, 0 % → 0 and `step_at_10` % → 10 (negative steps → 0).
    """

    method: NormalisationMethod = "goalposts"
    lower: float | None = None
    upper: float | None = None
    log: bool = False
    window: int = 24
    z_at_10: float = 3.0
    step_at_10: float = 100.0


@dataclass(frozen=True)
class Indicator:
    """One indicator in the catalogue."""

    id: str
    name: str
    pillar: str
    factor: str  # the report's risk factor it proxies, quoted
    source: str  # registry name of the fetcher (or "derived")
    source_code: str  # e.g. "SI.POV.GINI"; for derived indicators the base indicator id(s)
    unit: str
    higher_is_riskier: bool
    frequency: Frequency
    normalisation: Normalisation
    weight: float = 1.0
    max_age_days: int = 730
    publication_lag_days: int = 0
    licence: str = ""
    source_url: str = ""
    enabled: bool = True
    derivation: Derivation | None = None
    derived_from: tuple[str, ...] = ()
    window_days: int = 31  # trailing window for step changes
    # Sources whose rows of this (base) indicator are official price revisions: one row per
    # revision, the price in force until the next row, so a step is datable across any gap.
    # Every other source's rows are samples (docs/METHODOLOGY.md, "Price-in-force series").
    in_force_sources: tuple[str, ...] = ()
    description: str = ""
    # Name of a release calendar (`Catalogue.releases`) giving each data year's first-release day;
    # "" = none (publication date = published_at, else period end + publication_lag_days).
    release_calendar: str = ""
    # Plausible raw values (imports refuse values outside); None = no bound on that side.
    valid_min: float | None = None
    valid_max: float | None = None


@dataclass(frozen=True)
class Pillar:
    """A pillar groups indicators behind some of the report's risk factors."""

    id: str
    name: str
    kind: PillarKind
    weight: float = 1.0
    factors: tuple[str, ...] = ()
    description: str = ""
    # "max": the pillar is its strongest available indicator (views of one phenomenon at several
    # time scales, e.g. daily and monthly protest spikes); "mean": the weighted mean.
    aggregation: PillarAggregation = "mean"
    # Trigger pillars: what a fresh input of the pillar is, in the words of a blind trigger's
    # reason ("no fresh <signal> or <signal> data"). Empty: the pillar's name in lower case.
    signal: str = ""


@dataclass(frozen=True)
class Band:
    """A named score band: the composite is in this band when it is >= `lower`."""

    name: str
    lower: float
    colour: str


DEFAULT_BANDS: tuple[Band, ...] = (
    Band("very low", 0.0, "#1a9850"),
    Band("low", 2.0, "#91cf60"),
    Band("medium", 3.5, "#fee08b"),
    Band("high", 5.0, "#fc8d59"),
    Band("very high", 6.5, "#d73027"),
)


@dataclass(frozen=True)
class ModelParameters:
    """Parameters of the trigger × vulnerability aggregation (see docs/METHODOLOGY.md)."""

    # How strongly a full trigger (10) lifts the composite above structural vulnerability.
    trigger_amplification: float = 1.0
    # Vulnerability at which the trigger passes through fully (Drabo et al. 2023: the fuel-price
    # effect on unrest is concentrated where inequality, corruption and weak institutions are high).
    vulnerability_pivot: float = 5.0
    # Minimum share of expected inputs before a composite is reported at all.
    min_coverage: float = 0.3
    # A trigger with fresh inputs at or above this (0–10) is "active", below it "quiet". 2.5 is a
    # 25 % domestic fuel-price step (the fuel_price_shock alert's threshold) or a protest z of 1.
    trigger_active_at: float = 2.5
    # Structural vulnerability V = the weighted power mean (exponent `vulnerability_power`) of the
    # structural pillars, each floored at `pillar_floor` first (`indicators.structural_mean`).
    # p = -1 with floor 2 is the aggregation the backtest chose on the train years (Y <= 2015) for
    # methodology 3; methodology 1-2 used p = 0 (geometric mean) with floor 0.1.
    vulnerability_power: float = -1.0
    pillar_floor: float = 2.0


@dataclass(frozen=True)
class Catalogue:
    """Everything scoring needs to know besides the observations."""

    indicators: tuple[Indicator, ...]
    pillars: tuple[Pillar, ...]
    bands: tuple[Band, ...] = DEFAULT_BANDS
    model: ModelParameters = field(default_factory=ModelParameters)
    releases: ReleaseCalendars = field(default_factory=bundled_release_calendars)

    def indicator(self, indicator_id: str) -> Indicator:
        """Return the indicator with this id (KeyError if unknown)."""
        for item in self.indicators:
            if item.id == indicator_id:
                return item
        raise KeyError(indicator_id)

    def pillar(self, pillar_id: str) -> Pillar:
        """Return the pillar with this id (KeyError if unknown)."""
        for item in self.pillars:
            if item.id == pillar_id:
                return item
        raise KeyError(pillar_id)

    @property
    def enabled_indicators(self) -> tuple[Indicator, ...]:
        """Indicators that take part in scoring or display."""
        return tuple(item for item in self.indicators if item.enabled)

    def band_for(self, score: float) -> Band:
        """The band a 0–10 score falls in."""
        chosen = self.bands[0]
        for band in self.bands:
            if score >= band.lower:
                chosen = band
        return chosen
