"""Label families for structural discrimination: which country-years saw an onset.

Every family gives one row per (country, year) **at risk** with `label` 1 (onset in that year) or
0. Rules, defined once here and quoted in docs/VALIDATION.md:

* **coups** — Powell & Thyne: at least one coup attempt (successful or failed) in year Y. The
  dataset is a global census, so a country-year without a listed attempt had none (label 0).
* **conflict** — armed-conflict onset from UCDP GED: at least `CONFLICT_DEATHS` best-estimate
  deaths in organised violence in Y after fewer than that in Y−1; country-years already at or
  above it in Y−1 are not at risk and are left out. GED is a global census: a country without
  GED rows had no coded violence (0 deaths).
* **protest_surge** — GDELT: month m is a surge when the country's protest events are at least
  `SURGE_MIN_EVENTS` and its **share of the world's protest events** is at least `SURGE_RATIO`
  times the median share of the previous `SURGE_HISTORY_MONTHS` months (at least
  `SURGE_MIN_HISTORY` of them); the world share removes GDELT's changes in total volume. Onset:
  a surge month in Y and none in Y−1 (years after a surge year are not at risk). Only countries
  with GDELT rows are in the family (no rows = no data, not calm).
* **episodes** — the training episodes: a `kind = event` episode whose reference date falls in Y.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

CONFLICT_DEATHS = 25.0
SURGE_RATIO = 3.0
SURGE_MIN_EVENTS = 25.0
SURGE_HISTORY_MONTHS = 24
SURGE_MIN_HISTORY = 12

LABEL_COLUMNS = ("country", "year", "label")


@dataclass(frozen=True)
class LabelFamily:
    """One family of onset labels.

    Attributes:
        name: short id (`coups`, `conflict`, `protest_surge`, `episodes`).
        title: what a reader sees.
        rule: the rule in one sentence.
        rows: listed country-years (`LABEL_COLUMNS`); with `census` True, every other country-year
            of a scored country is label 0, else only the listed rows are in the family.
        census: whether absence from `rows` means "no onset" (a global census) or "no data".
        excluded: country-years not at risk (already in conflict / surge the year before), left out
            even under `census`.
    """

    name: str
    title: str
    rule: str
    rows: pd.DataFrame
    census: bool
    excluded: pd.DataFrame

    def to_dict(self) -> dict[str, object]:
        """The family's description (not its rows) for reports."""
        return {"name": self.name, "title": self.title, "rule": self.rule, "census": self.census}


def _empty() -> pd.DataFrame:
    return pd.DataFrame({"country": pd.Series(dtype=object), "year": pd.Series(dtype="int64")})


def coup_family(coups: pd.DataFrame) -> LabelFamily:
    """Coup attempts per country-year from the Powell & Thyne country-month file.

    Args:
        coups: columns `country_iso3, year_month, pt_coup_count` (one row per month with attempts).

    Returns:
        The `coups` family (census: a year without a listed attempt is label 0).
    """
    frame = pd.DataFrame(
        {
            "country": coups["country_iso3"].astype(str),
            "year": pd.to_datetime(coups["year_month"].astype(str) + "-01").dt.year,
            "count": pd.to_numeric(coups["pt_coup_count"], errors="coerce").fillna(0),
        }
    )
    yearly = frame.groupby(["country", "year"])["count"].sum().reset_index()
    yearly["label"] = (yearly["count"] > 0).astype("int64")
    return LabelFamily(
        name="coups",
        title="Coup attempts (Powell & Thyne)",
        rule="at least one coup attempt, successful or failed, in year Y",
        rows=yearly[list(LABEL_COLUMNS)],
        census=True,
        excluded=_empty(),
    )


def _yearly(monthly: pd.DataFrame) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "country": monthly["country"].astype(str).to_numpy(),
            "year": pd.to_datetime(monthly["period"]).dt.year.to_numpy(),
            "value": pd.to_numeric(monthly["value"], errors="coerce").to_numpy(),
        }
    )
    return frame.groupby(["country", "year"])["value"].sum(min_count=1).reset_index()


def conflict_family(ucdp_monthly: pd.DataFrame) -> LabelFamily:
    """Armed-conflict onsets from monthly UCDP GED deaths (observation rows of `ucdp_fatalities`).

    Args:
        ucdp_monthly: canonical observations (`country, period, value`) of monthly deaths.

    Returns:
        The `conflict` family (census; years after a year at or above the threshold excluded).
    """
    yearly = _yearly(ucdp_monthly)
    yearly = yearly.sort_values(["country", "year"])
    previous = yearly.groupby("country")["value"].shift(1)
    gap = yearly["year"] - yearly.groupby("country")["year"].shift(1)
    previous = previous.where(gap == 1, 0.0).fillna(0.0)
    above = yearly["value"] >= CONFLICT_DEATHS
    was_above = previous >= CONFLICT_DEATHS
    rows = yearly[~was_above].assign(label=above[~was_above].astype("int64"))
    return LabelFamily(
        name="conflict",
        title="Armed-conflict onset (UCDP GED)",
        rule=f"at least {CONFLICT_DEATHS:g} deaths in organised violence in Y after fewer in Y−1",
        rows=rows[list(LABEL_COLUMNS)].reset_index(drop=True),
        census=True,
        excluded=yearly.loc[was_above, ["country", "year"]].reset_index(drop=True),
    )


def surge_months(protest_monthly: pd.DataFrame) -> pd.DataFrame:
    """Monthly protest counts with the world share, its trailing median and the surge flag.

    Args:
        protest_monthly: canonical observations (`country, period, value`), monthly protests.

    Returns:
        Columns `country, period, events, share, baseline, surge`.
    """
    frame = pd.DataFrame(
        {
            "country": protest_monthly["country"].astype(str).to_numpy(),
            "period": pd.to_datetime(protest_monthly["period"]).to_numpy(),
            "events": pd.to_numeric(protest_monthly["value"], errors="coerce").to_numpy(),
        }
    ).dropna(subset=["events"])
    frame = frame.sort_values(["country", "period"], kind="mergesort").reset_index(drop=True)
    world = frame.groupby("period")["events"].transform("sum")
    frame["share"] = np.where(world > 0, frame["events"] / world, np.nan)
    frame["baseline"] = frame.groupby("country")["share"].transform(
        lambda s: s.shift(1).rolling(SURGE_HISTORY_MONTHS, min_periods=SURGE_MIN_HISTORY).median()
    )
    frame["surge"] = (
        (frame["events"] >= SURGE_MIN_EVENTS)
        & frame["baseline"].notna()
        & (frame["share"] >= SURGE_RATIO * frame["baseline"])
        & (frame["baseline"] > 0)
    )
    return frame


def protest_surge_family(protest_monthly: pd.DataFrame) -> LabelFamily:
    """Protest-surge onsets from GDELT monthly protest counts (see the module docstring).

    Args:
        protest_monthly: canonical observations of `protest_events` (monthly).

    Returns:
        The `protest_surge` family (not a census: only countries with GDELT rows; years with a
        surge in Y−1 excluded; years before `SURGE_MIN_HISTORY` months of history left out).
    """
    months = surge_months(protest_monthly)
    months = months[months["baseline"].notna()]
    months["year"] = months["period"].dt.year
    yearly = months.groupby(["country", "year"])["surge"].any().reset_index()
    yearly = yearly.sort_values(["country", "year"])
    before = yearly.groupby("country")["surge"].shift(1)
    gap = yearly["year"] - yearly.groupby("country")["year"].shift(1)
    was = before.where(gap == 1, False).fillna(False).astype(bool)
    rows = yearly[~was].assign(label=yearly.loc[~was, "surge"].astype("int64"))
    return LabelFamily(
        name="protest_surge",
        title="Protest surge (GDELT)",
        rule=(
            f"a month with at least {SURGE_MIN_EVENTS:g} protest events and a share of the world's "
            f"protest events at least {SURGE_RATIO:g}× its median share of the previous "
            f"{SURGE_HISTORY_MONTHS} months, in Y but not in Y−1"
        ),
        rows=rows[list(LABEL_COLUMNS)].reset_index(drop=True),
        census=False,
        excluded=yearly.loc[was, ["country", "year"]].reset_index(drop=True),
    )


def episode_family(episodes: pd.DataFrame) -> LabelFamily:
    """Country-years of the training episodes' events (by reference date).

    Args:
        episodes: output of `indicators.validation.episodes.read_episodes`.

    Returns:
        The `episodes` family (census over scored countries: other country-years are label 0).
    """
    events = episodes[episodes["kind"] == "event"]
    rows = pd.DataFrame(
        {
            "country": events["country"].astype(str).to_numpy(),
            "year": pd.to_datetime(events["reference"]).dt.year.to_numpy(),
            "label": 1,
        }
    ).drop_duplicates(["country", "year"])
    return LabelFamily(
        name="episodes",
        title="Training episodes (price-trigger unrest)",
        rule="a training episode of kind 'event' whose reference date T falls in Y",
        rows=rows.reset_index(drop=True),
        census=True,
        excluded=_empty(),
    )
