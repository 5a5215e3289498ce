"""A country brief for sharing: its content built once, as plain data, from the scored panel.

`build_brief` reads one country off a `PanelScore` (as of one day) and its composite history and
returns a `CountryBrief`; `dashboard.brief_html` and `dashboard.brief_pdf` only lay it out. Missing
is never zero: an unscored value is None (shown as "no data"), a blind trigger is "blind".
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import pandas as pd

from indicators.catalogue import Catalogue
from indicators.methodology import METHODOLOGY_VERSION
from indicators.scoring import PanelScore
from indicators.trigger_state import BLIND, describe_composite, describe_trigger

TOP_DRIVERS = 6
TREND_DAYS = 365


@dataclass(frozen=True)
class TrendScale:
    """Where a day and a score (0–10) fall in the trend chart's box, for both renderers (the
    box's y grows downwards: `bottom` is score 0); the window is the `TREND_DAYS` up to `as_of`."""

    as_of: dt.date
    left: float
    right: float
    top: float
    bottom: float

    @property
    def start(self) -> dt.date:
        """The window's first day."""
        return self.as_of - dt.timedelta(days=TREND_DAYS)

    @property
    def middle(self) -> dt.date:
        """The window's middle day (the axis's middle label)."""
        return self.start + dt.timedelta(days=max((self.as_of - self.start).days, 1) // 2)

    def x(self, day: dt.date) -> float:
        """The horizontal position of `day`."""
        span = max((self.as_of - self.start).days, 1)
        return self.left + (self.right - self.left) * (day - self.start).days / span

    def y(self, score: float) -> float:
        """The vertical position of `score` (clipped to 0–10)."""
        return self.bottom - (self.bottom - self.top) * min(max(score, 0.0), 10.0) / 10.0
# The source of a derived input (steps, changes, spikes): said in words.
DERIVED_SOURCE = "derived"


@dataclass(frozen=True)
class PillarLine:
    """One pillar: its score, or None with the reason in `note` ("blind", "no data")."""

    name: str
    kind: str
    score: float | None
    note: str = ""


@dataclass(frozen=True)
class DriverLine:
    """One input among those that add the most points to the composite."""

    name: str
    pillar: str
    value: float | None
    unit: str
    period: dt.date | None
    frequency: str
    score: float | None
    points: float
    status: str
    source: str


@dataclass(frozen=True)
class SourceLine:
    """One source behind the score: how many inputs, and the dates of their data."""

    source: str
    inputs: int
    stale: int
    oldest: dt.date | None
    newest: dt.date | None


@dataclass(frozen=True)
class BandLine:
    """A score band: its name, lower cut-off and colour (#rrggbb)."""

    name: str
    lower: float
    colour: str


@dataclass(frozen=True)
class CountryBrief:
    """Everything a country brief shows, in the order it shows it.

    `composite` is None when the country could not be scored; with a blind trigger it is the
    floor of the range [`composite`, `composite_high`]. `trend` holds the composite on each
    scored day of the year to `as_of` (None where it could not be scored).
    """

    country: str
    name: str
    as_of: dt.date
    generated_at: dt.datetime
    methodology_version: str
    headline: str
    composite: float | None
    composite_high: float | None
    band: str
    band_colour: str
    vulnerability: float | None
    trigger_state: str
    trigger: float | None
    trigger_text: str
    trigger_driver: str
    confidence: str
    inputs_present: int
    inputs_expected: int
    inputs_stale: int
    newest_input_age_days: float | None
    oldest_input_age_days: float | None
    missing_pillars: tuple[str, ...]
    reason: str
    pillars: tuple[PillarLine, ...]
    drivers: tuple[DriverLine, ...]
    sources: tuple[SourceLine, ...]
    trend: tuple[tuple[dt.date, float | None], ...]
    bands: tuple[BandLine, ...]

    @property
    def blind(self) -> bool:
        """True when the trigger cannot see (no fresh input of the country's own)."""
        return self.trigger_state == BLIND

    @property
    def scored(self) -> bool:
        """True when the composite could be computed."""
        return self.composite is not None

    @property
    def file_stem(self) -> str:
        """The downloaded file's name without extension: flashpoint_brief_KAZ_2022-01-05."""
        return f"flashpoint_brief_{self.country}_{self.as_of.isoformat()}"


def _number(value: object) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def _day(value: object) -> dt.date | None:
    if value is None:
        return None
    stamp = pd.Timestamp(value)  # type: ignore[arg-type]
    return None if pd.isna(stamp) else stamp.date()


def _text(value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value)


def build_brief(
    panel: PanelScore,
    catalogue: Catalogue,
    country: str,
    *,
    name: str,
    history: pd.DataFrame,
    generated_at: dt.datetime,
) -> CountryBrief:
    """The brief of `country` as the panel scored it.

    Args:
        panel: the panel scored as of the brief's day (`panel.as_of`).
        catalogue: names of indicators and pillars, the bands.
        country: ISO3 code.
        name: the country's name as shown.
        history: the composite over the year to `panel.as_of` (columns `date`, `composite`;
            e.g. a weekly replay); may be empty.
        generated_at: when the brief is made (UTC).

    Returns:
        The brief; a country the panel did not score gets a brief that says so (no numbers).
    """
    indicator_names = {item.id: item.name for item in catalogue.indicators}
    frequencies = {item.id: str(item.frequency) for item in catalogue.indicators}
    pillar_names = {pillar.id: pillar.name for pillar in catalogue.pillars}
    bands = tuple(BandLine(band.name, float(band.lower), band.colour) for band in catalogue.bands)
    as_of = pd.Timestamp(panel.as_of).date()
    trend = _trend(history, as_of)
    if country not in panel.countries.index:
        return CountryBrief(
            country=country,
            name=name,
            as_of=as_of,
            generated_at=generated_at,
            methodology_version=METHODOLOGY_VERSION,
            headline="no score",
            composite=None,
            composite_high=None,
            band="",
            band_colour="",
            vulnerability=None,
            trigger_state="",
            trigger=None,
            trigger_text="trigger –",
            trigger_driver="",
            confidence="no inputs",
            inputs_present=0,
            inputs_expected=0,
            inputs_stale=0,
            newest_input_age_days=None,
            oldest_input_age_days=None,
            missing_pillars=(),
            reason="No data stored for this country.",
            pillars=(),
            drivers=(),
            sources=(),
            trend=trend,
            bands=bands,
        )
    row = panel.country(country)
    blind = str(row.get("trigger_state", "")) == BLIND
    contributions = panel.contributions[panel.contributions["country"] == country]
    missing = tuple(
        pillar_names.get(code.strip(), code.strip())
        for code in _text(row.get("missing_pillars")).split(",")
        if code.strip()
    )
    return CountryBrief(
        country=country,
        name=name,
        as_of=as_of,
        generated_at=generated_at,
        methodology_version=METHODOLOGY_VERSION,
        headline=describe_composite(row),
        composite=_number(row["composite"]),
        composite_high=_number(row.get("composite_high")) if blind else None,
        band=_text(row["band"]),
        band_colour=_text(row["band_colour"]),
        vulnerability=_number(row["vulnerability"]),
        trigger_state=_text(row.get("trigger_state")),
        # A blind trigger has no value: never a 0 that would read as calm.
        trigger=None if blind else _number(row["trigger"]),
        trigger_text=describe_trigger(row),
        trigger_driver=_trigger_driver(contributions, indicator_names),
        confidence=_text(row.get("confidence")),
        inputs_present=int(row["inputs_present"]),
        inputs_expected=int(row["inputs_expected"]),
        inputs_stale=int(row["inputs_stale"]),
        newest_input_age_days=_number(row["newest_input_age_days"]),
        oldest_input_age_days=_number(row["oldest_input_age_days"]),
        missing_pillars=missing,
        reason=_text(row.get("reason")),
        pillars=_pillars(panel, catalogue, country, blind=blind),
        drivers=_drivers(contributions, indicator_names, pillar_names, frequencies),
        sources=_sources(contributions),
        trend=trend,
        bands=bands,
    )


def _trend(history: pd.DataFrame, as_of: dt.date) -> tuple[tuple[dt.date, float | None], ...]:
    if history.empty or "composite" not in history.columns:
        return ()
    days = pd.to_datetime(history["date"])
    start = pd.Timestamp(as_of) - pd.Timedelta(days=TREND_DAYS)
    kept = history[(days >= start) & (days <= pd.Timestamp(as_of))].sort_values("date")
    return tuple(
        (pd.Timestamp(day).date(), _number(value))
        for day, value in zip(kept["date"], kept["composite"], strict=True)
    )


def _pillars(
    panel: PanelScore, catalogue: Catalogue, country: str, *, blind: bool
) -> tuple[PillarLine, ...]:
    scores = panel.pillars[panel.pillars["country"] == country].set_index("pillar")
    lines: list[PillarLine] = []
    # Trigger pillars first (what is moving), then the structural ones, in catalogue order.
    ordered = sorted(
        (p for p in catalogue.pillars if p.kind in ("trigger", "structural")),
        key=lambda p: p.kind != "trigger",
    )
    for pillar in ordered:
        if pillar.id not in scores.index:
            continue
        score = _number(scores.loc[pillar.id, "score"])
        if pillar.kind == "trigger" and blind:
            lines.append(PillarLine(pillar.name, pillar.kind, None, "blind"))
        elif score is None:
            lines.append(PillarLine(pillar.name, pillar.kind, None, "no data"))
        else:
            lines.append(PillarLine(pillar.name, pillar.kind, score))
    return tuple(lines)


def _drivers(
    contributions: pd.DataFrame,
    indicator_names: dict[str, str],
    pillar_names: dict[str, str],
    frequencies: dict[str, str],
) -> tuple[DriverLine, ...]:
    present = contributions[contributions["contribution"].notna()]
    top = present.sort_values("contribution", ascending=False).head(TOP_DRIVERS)
    return tuple(
        DriverLine(
            name=indicator_names.get(str(item.indicator), str(item.indicator))
            + (" (world)" if _text(item.broadcast_from) else ""),
            pillar=pillar_names.get(str(item.pillar), str(item.pillar)),
            value=_number(item.value),
            unit=_text(item.unit),
            period=_day(item.period),
            frequency=frequencies.get(str(item.indicator), "daily"),
            score=_number(item.normalised),
            points=float(item.contribution),
            status=_text(item.status),
            source=_text(item.source),
        )
        for item in top.itertuples(index=False)
        if float(item.contribution) > 0
    )


def _trigger_driver(contributions: pd.DataFrame, indicator_names: dict[str, str]) -> str:
    # The trigger's own strongest input (not the composite's top driver).
    triggers = contributions[
        (contributions["kind"] == "trigger") & (contributions["contribution"] > 0)
    ]
    if triggers.empty:
        return ""
    strongest = str(triggers.sort_values("contribution", ascending=False)["indicator"].iloc[0])
    return indicator_names.get(strongest, strongest)


def _sources(contributions: pd.DataFrame) -> tuple[SourceLine, ...]:
    present = contributions[contributions["value"].notna()].copy()
    if present.empty:
        return ()
    present["source"] = present["source"].fillna("").astype(str).replace("", DERIVED_SOURCE)
    present["period"] = pd.to_datetime(present["period"])
    grouped = present.groupby("source", sort=True).agg(
        inputs=("indicator", "size"),
        stale=("stale", "sum"),
        oldest=("period", "min"),
        newest=("period", "max"),
    )
    return tuple(
        SourceLine(
            source=str(source),
            inputs=int(item.inputs),
            stale=int(item.stale),
            oldest=_day(item.oldest),
            newest=_day(item.newest),
        )
        for source, item in grouped.sort_values("newest", ascending=False).iterrows()
    )


# --------------------------------------------------------------------------------------------
# The brief in words: the same rows in the HTML and the PDF


def score_text(value: float | None) -> str:
    """A 0–10 score with one decimal; "no data" when missing (never 0)."""
    return "no data" if value is None else f"{value:.1f}"


def day_text(value: dt.date | None) -> str:
    """A date as "05 Jan 2022"; "—" when unknown."""
    return "—" if value is None else f"{value:%d %b %Y}"


def _age_text(days: float | None) -> str:
    from dashboard.formatting import age_in_words

    return "—" if days is None else age_in_words(days)


def title_line(brief: CountryBrief) -> str:
    """ "Kazakhstan (KAZ): stability-risk brief"."""
    return f"{brief.name} ({brief.country}): stability-risk brief"


def as_of_line(brief: CountryBrief) -> str:
    """When the brief's numbers are from and how they were made."""
    return (
        f"As of {brief.as_of:%d %B %Y} (point in time: only data published by the end of that "
        f"day) · methodology v{brief.methodology_version} · made "
        f"{brief.generated_at:%d %b %Y %H:%M} UTC"
    )


def summary_rows(brief: CountryBrief) -> list[tuple[str, str]]:
    """The headline block: label → value, in order."""
    if not brief.scored:
        return [("Composite risk (0–10)", "no score"), ("Why", brief.reason or "not scored")]
    rows = [
        ("Composite risk (0–10)", brief.headline),
        ("Band", brief.band or "—"),
        ("Trigger", brief.trigger_text),
    ]
    if brief.trigger_driver and not brief.blind:
        rows.append(("Trigger driver", brief.trigger_driver))
    rows += [
        ("Structural vulnerability (0–10)", score_text(brief.vulnerability)),
        (
            "Confidence",
            f"{brief.inputs_present} of {brief.inputs_expected} inputs present, "
            f"{brief.inputs_stale} stale",
        ),
        (
            "Input ages",
            f"newest {_age_text(brief.newest_input_age_days)}, "
            f"oldest {_age_text(brief.oldest_input_age_days)}",
        ),
    ]
    if brief.missing_pillars:
        rows.append(("Pillars with no data", ", ".join(brief.missing_pillars)))
    return rows


def pillar_rows(brief: CountryBrief) -> list[tuple[str, str, str]]:
    """(pillar, kind, score or its note) per pillar, trigger pillars first."""
    return [
        (line.name, line.kind, score_text(line.score) if line.score is not None else line.note)
        for line in brief.pillars
    ]


DRIVER_HEADERS = ("Input", "Pillar", "Latest", "Period", "Score", "Points", "Source")


def driver_rows(brief: CountryBrief) -> list[tuple[str, ...]]:
    """The top drivers as table rows (see `DRIVER_HEADERS`)."""
    from dashboard.formatting import format_value, period_label

    return [
        (
            line.name + (" (stale)" if line.status == "stale" else ""),
            line.pillar,
            format_value(line.value, line.unit),
            period_label(line.period, line.frequency),
            score_text(line.score),
            f"{line.points:.2f}",
            line.source,
        )
        for line in brief.drivers
    ]


SOURCE_HEADERS = ("Source", "Inputs", "Stale", "Oldest data", "Newest data")


def source_rows(brief: CountryBrief) -> list[tuple[str, ...]]:
    """The sources behind the score with their data dates (see `SOURCE_HEADERS`)."""
    return [
        (
            line.source,
            str(line.inputs),
            str(line.stale),
            day_text(line.oldest),
            day_text(line.newest),
        )
        for line in brief.sources
    ]


def trend_caption(brief: CountryBrief) -> str:
    """What the trend chart shows, in words (also its text alternative)."""
    values = [value for _, value in brief.trend if value is not None]
    if not values:
        return "Composite over the last year: no score on any day."
    first, last = brief.trend[0][0], brief.trend[-1][0]
    return (
        f"Composite over the year to {brief.as_of:%d %b %Y}, scored point in time on "
        f"{len(brief.trend)} days from {first:%d %b %Y} to {last:%d %b %Y}: "
        f"low {min(values):.1f}, high {max(values):.1f}, last {values[-1]:.1f}."
    )


FOOTER = (
    "Flashpoint stability-risk monitor. Composite = structural vulnerability amplified by the "
    "trigger (fuel-price shock, unrest spike), 0 = calm, 10 = extreme. A blind trigger (no "
    "fresh input of the country's own) is shown as blind and the composite as a range; missing "
    "data is never counted as zero."
)
