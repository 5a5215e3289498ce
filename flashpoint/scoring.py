"""The scoring service: read the store, call the pure scoring in `indicators/`, save the scores.

The shell around `indicators.scoring` / `indicators.replay`: it chooses which observations to read
(the catalogue's enabled indicators, the requested countries plus the `WLD` world series), which
countries to score (real ISO3 codes only — the World Bank files also carry regional aggregates
such as `ECS` or `ARB`, which are never scored), and turns a panel into `scores` table rows.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy.engine import Connection, Engine

from flashpoint import store
from flashpoint.config import Settings, iso3_countries
from indicators.catalogue import Catalogue
from indicators.methodology import METHODOLOGY_VERSION
from indicators.observations import WORLD
from indicators.replay import Every, replay_scores, replay_table
from indicators.scoring import PanelScore, ScoreFrames, score_panel
from indicators.trigger_state import describe_trigger


def today() -> pd.Timestamp:
    """Today's date (UTC) as a naive midnight Timestamp: the default as-of day."""
    return pd.Timestamp(datetime.now(UTC).date())


def catalogue_indicator_ids(catalogue: Catalogue) -> list[str]:
    """Every stored indicator scoring needs: enabled catalogue ids and their derivation bases."""
    ids = {item.id for item in catalogue.enabled_indicators}
    for item in catalogue.enabled_indicators:
        ids.update(item.derived_from)
    return sorted(ids)


def real_countries(codes: Iterable[str]) -> list[str]:
    """The codes that are countries (in Flashpoint's ISO3 list), never `WLD` or a WB aggregate."""
    known = iso3_countries()
    return sorted({str(code) for code in codes if str(code) in known} - {WORLD})


def read_scoring_observations(
    engine: Engine | Connection,
    settings: Settings,
    countries: Iterable[str] | None = None,
) -> pd.DataFrame:
    """The observations scoring needs (actuals only), for `countries` plus `WLD` (None: all).

    Args:
        engine: the store.
        settings: supplies the catalogue.
        countries: ISO3 codes, or None for every country in the store.

    Returns:
        A canonical observation frame.
    """
    catalogue = settings.catalogue()
    wanted = None if countries is None else sorted({*countries, WORLD})
    return store.read_observations(
        engine,
        indicators=catalogue_indicator_ids(catalogue),
        countries=wanted,
        include_forecasts=False,
    )


def score_from_store(
    engine: Engine | Connection,
    settings: Settings,
    *,
    as_of: Any | None = None,
    countries: Iterable[str] | None = None,
) -> PanelScore:
    """Score countries from the store as of a date (default today), point in time.

    Args:
        engine: the store.
        settings: the configuration (catalogue, bands, model parameters).
        as_of: the as-of day (default: today, UTC).
        countries: ISO3 codes to score (default: every real country in the store).

    Returns:
        The `PanelScore`.
    """
    requested = None if countries is None else [str(code).upper() for code in countries]
    observations = read_scoring_observations(engine, settings, requested)
    scored = real_countries(observations["country"].unique()) if requested is None else requested
    day = today() if as_of is None else as_of
    return score_panel(observations, settings.catalogue(), as_of=day, countries=scored)


def replay_frames_from_store(
    engine: Engine | Connection,
    settings: Settings,
    *,
    countries: Iterable[str],
    start: Any,
    end: Any,
    every: Every = "day",
) -> tuple[ScoreFrames, pd.DataFrame]:
    """The replay's scoring frames and the observations it used (for alert replays).

    Args:
        engine: the store.
        settings: the configuration.
        countries: ISO3 codes.
        start: first as-of day.
        end: last as-of day (included).
        every: "day" or "week".

    Returns:
        (`ScoreFrames` with a `date` column, the observations read).
    """
    wanted = [str(code).upper() for code in countries]
    observations = read_scoring_observations(engine, settings, wanted)
    frames = replay_scores(
        observations, settings.catalogue(), countries=wanted, start=start, end=end, every=every
    )
    return frames, observations


def replay_from_store(
    engine: Engine | Connection,
    settings: Settings,
    *,
    countries: Iterable[str],
    start: Any,
    end: Any,
    every: Every = "day",
) -> pd.DataFrame:
    """The replay table (see `indicators.replay.replay`) of countries read from the store."""
    frames, _ = replay_frames_from_store(
        engine, settings, countries=countries, start=start, end=end, every=every
    )
    return replay_table(frames, settings.catalogue())


def _number(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return None if np.isnan(number) else round(number, 4)


def _count(value: Any) -> int:
    return int(value)


def score_detail(panel: PanelScore, country: str, *, top: int = 5) -> dict[str, Any]:
    """A JSON-ready summary of one country's score: pillars, confidence, top contributors."""
    row = panel.country(country)
    pillars = panel.pillars[panel.pillars["country"] == country]
    contributions = panel.contributions[panel.contributions["country"] == country]
    leaders = contributions[contributions["contribution"].notna()].nlargest(top, "contribution")
    return {
        "methodology_version": METHODOLOGY_VERSION,
        "vulnerability": _number(row["vulnerability"]),
        "trigger": _number(row["trigger"]),
        "trigger_seen": _number(row["trigger_seen"]),
        "trigger_state": str(row["trigger_state"]),
        "blind_since": (
            None if pd.isna(row["blind_since"]) else f"{pd.Timestamp(row['blind_since']):%Y-%m-%d}"
        ),
        "trigger_reason": str(row["trigger_reason"]),
        "trigger_text": describe_trigger(row),
        "composite_high": _number(row["composite_high"]),
        "band_high": str(row["band_high"]),
        "confidence": str(row["confidence"]),
        "inputs_present": _count(row["inputs_present"]),
        "inputs_expected": _count(row["inputs_expected"]),
        "inputs_stale": _count(row["inputs_stale"]),
        "oldest_input_age_days": _number(row["oldest_input_age_days"]),
        "newest_input_age_days": _number(row["newest_input_age_days"]),
        "missing_pillars": str(row["missing_pillars"]),
        "reason": str(row["reason"]),
        "pillars": {
            str(p): _number(s) for p, s in zip(pillars["pillar"], pillars["score"], strict=True)
        },
        "top_contributors": [
            {"indicator": str(i), "contribution": _number(c)}
            for i, c in zip(leaders["indicator"], leaders["contribution"], strict=True)
        ],
    }


def panel_score_rows(panel: PanelScore) -> pd.DataFrame:
    """The `scores` table rows of a panel: country, as_of, composite, band, detail (JSON)."""
    countries = panel.countries
    return pd.DataFrame(
        {
            "country": countries.index.astype(str),
            "as_of": panel.as_of,
            "composite": countries["composite"].to_numpy(dtype="float64"),
            "band": countries["band"].astype(str).to_numpy(),
            "detail": [json.dumps(score_detail(panel, str(code))) for code in countries.index],
        }
    )


def save_panel(engine: Engine | Connection, panel: PanelScore) -> int:
    """Append the panel to the store's `scores` table; returns the number of rows written."""
    return store.save_scores(engine, panel_score_rows(panel))
