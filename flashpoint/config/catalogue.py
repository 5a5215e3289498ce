"""`[[indicators]]`, `[pillars.*]`, `[model]`, `[[bands]]` and their conversion to the catalogue."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from flashpoint.config.base import ConfigModel, HexColour, Identifier
from flashpoint.config.defaults import _default_document
from indicators.catalogue import DEFAULT_BANDS, Indicator, ModelParameters, Normalisation


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
    release_calendar: str = Field(
        default="",
        description="Release calendar giving each data year's first-release day for point-in-time "
        "replay (`wgi`, `ti_cpi`, `wdi`, `wdi_survey`, `ucdp_ged`; see "
        "indicators/data/release_calendar.csv); empty = published_at or period end + lag.",
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
            "daily_spike",
            "seasonal_deviation",
        ]
        | None
    ) = Field(default=None, description="For derived indicators: how they are computed.")
    derived_from: list[str] = Field(
        default_factory=list,
        description="For derived indicators: the base indicator ids; `prefix*` names every "
        "indicator with that prefix.",
    )
    window_days: int = Field(
        default=31, ge=1, description="Trailing window (days) for step changes."
    )
    in_force_sources: list[str] = Field(
        default_factory=list,
        description="Sources whose rows of this indicator are official price revisions (one row "
        "per revision, the price in force until the next): a step compares a new price with the "
        "price in force the day before, whatever the gap. Other sources' rows are samples.",
    )
    description: str = Field(default="", description="What the indicator measures and why.")
    valid_min: float | None = Field(
        default=None,
        description="Smallest plausible raw value: imports refuse anything below (e.g. 0 for a "
        "share). Absent: prices must be > 0 and counts >= 0, judged by the unit.",
    )
    valid_max: float | None = Field(
        default=None, description="Largest plausible raw value (e.g. 100 for a share in %)."
    )
    normalisation: NormalisationSettings = Field(
        default_factory=NormalisationSettings, description="Normalisation to 0–10."
    )


class PillarSettings(ConfigModel):
    """One `[pillars.<id>]` table."""

    name: str = Field(default="", description="Human-readable name.")
    kind: Literal["structural", "trigger", "context"] = Field(
        default="structural",
        description="structural: feeds vulnerability (a power mean, see `[model]`); trigger: "
        "amplified by vulnerability; context: shown, never scored.",
    )
    weight: float = Field(default=1.0, ge=0, description="Weight among pillars of its kind.")
    factors: list[str] = Field(
        default_factory=list, description="The report's risk factors this pillar covers."
    )
    description: str = Field(default="", description="What the pillar captures.")
    aggregation: Literal["mean", "max"] = Field(
        default="mean",
        description="mean: weighted mean of the available indicators; max: the strongest "
        "available one (indicators measuring one thing at several time scales).",
    )
    signal: str = Field(
        default="",
        description="Trigger pillars: what a fresh input is, as a blind trigger's reason names it "
        "(\"domestic fuel price\"). Default: the name in lower case.",
    )


class ModelSettings(ConfigModel):
    """`[model]`: parameters of the trigger × vulnerability aggregation."""

    trigger_amplification: float = Field(
        default=ModelParameters.trigger_amplification,
        ge=0,
        le=10,
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
    trigger_active_at: float = Field(
        default=ModelParameters.trigger_active_at,
        ge=0,
        le=10,
        description="Trigger level (0–10) from which a trigger with fresh inputs is 'active' "
        "rather than 'quiet'.",
    )
    vulnerability_power: float = Field(
        default=ModelParameters.vulnerability_power,
        ge=-10,
        le=10,
        description="Exponent p of the weighted power mean of the structural pillars that gives "
        "vulnerability (0: geometric mean, 1: arithmetic, negative: closer to the lowest pillar).",
    )
    pillar_floor: float = Field(
        default=ModelParameters.pillar_floor,
        ge=0.01,
        le=5,
        description="Each structural pillar enters the power mean at least at this score (0–10): "
        "one near-zero pillar must not hide several terrible ones.",
    )


class BandSettings(ConfigModel):
    """One `[[bands]]` entry: the composite is in this band when it is ≥ `lower`."""

    name: str = Field(default="", min_length=1, description="Band name.")
    lower: float = Field(default=0.0, ge=0, le=10, description="Lower cut-off on the 0–10 scale.")
    colour: HexColour = Field(default="#999999", description="Colour, `#rrggbb`.")


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
        in_force_sources=tuple(item.in_force_sources),
        description=item.description,
        release_calendar=item.release_calendar,
        valid_min=item.valid_min,
        valid_max=item.valid_max,
    )


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
