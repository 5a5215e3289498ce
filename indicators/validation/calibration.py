"""Calibration of the structural aggregation, chosen on the train years only.

V is an aggregate of the structural pillar scores. The configured rule is a weighted geometric
mean with each pillar floored at 0.1, so one near-zero pillar (no resource rents) pulls V down
however bad the others are. The candidates here are weighted **power means**
`M_p = (Σ w·s^p / Σ w)^(1/p)` (p = 0: the geometric mean; p = 1: arithmetic; larger p lets the
worst pillars dominate; p = ∞: the maximum) with a floor that applies before aggregating. Each
candidate's V is recomputed from the same point-in-time pillar scores as of 31 Dec Y−1, its ROC
AUC is taken per label family on the **train** country-years only (Y ≤ 2015), and the candidate
with the highest mean train AUC is chosen. The reported years are then scored once, for the
configured rule and the chosen candidate side by side. Nothing is tuned on the reported years.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from indicators.validation.metrics import roc_auc

CURRENT = (0.0, 0.1)  # the configured aggregation: geometric mean, floor 0.1


@dataclass(frozen=True)
class Candidate:
    """One aggregation: power `power` (np.inf = maximum) after flooring pillars at `floor`."""

    power: float
    floor: float

    @property
    def name(self) -> str:
        """Short label, e.g. `p=0 floor=0.1` (the configured one)."""
        power = "∞" if np.isinf(self.power) else f"{self.power:g}"
        return f"p={power} floor={self.floor:g}"

    def to_dict(self) -> dict[str, object]:
        """Plain values for JSON."""
        power = None if np.isinf(self.power) else self.power
        return {"name": self.name, "power": power, "floor": self.floor}


CANDIDATES: tuple[Candidate, ...] = tuple(
    Candidate(power, floor)
    for power in (-1.0, 0.0, 0.5, 1.0, 2.0, 4.0, np.inf)
    for floor in (0.1, 1.0, 2.0)
)


def aggregate(pillars: pd.DataFrame, candidate: Candidate) -> pd.Series:
    """V under `candidate` per (country, year) from structural pillar scores.

    Args:
        pillars: columns `country, year, score, weight` (structural pillars with a score).
        candidate: the aggregation.

    Returns:
        A Series indexed by (country, year).
    """
    score = np.maximum(pillars["score"].to_numpy(dtype="float64"), candidate.floor)
    weight = pillars["weight"].to_numpy(dtype="float64")
    keys = [pillars["country"].to_numpy(), pillars["year"].to_numpy()]
    p = candidate.power
    if np.isinf(p):
        return pd.Series(score).groupby(keys).max().clip(0.0, 10.0)
    terms = weight * np.log(score) if p == 0 else weight * score**p
    frame = pd.DataFrame({"t": terms, "w": weight}).groupby(keys).sum()
    mean = frame["t"] / frame["w"]
    value = np.exp(mean) if p == 0 else mean ** (1.0 / p)
    return pd.Series(value, index=frame.index).clip(0.0, 10.0)


@dataclass(frozen=True)
class CalibrationResult:
    """Train AUC of every candidate per family and the chosen one."""

    train_last_year: int
    candidates: tuple[dict[str, object], ...]
    chosen: str
    current: str

    def to_dict(self) -> dict[str, object]:
        """Plain values for JSON."""
        return {
            "train_last_year": self.train_last_year,
            "candidates": list(self.candidates),
            "chosen": self.chosen,
            "current": self.current,
        }


def candidate_scores(
    pillars: pd.DataFrame, candidates: Sequence[Candidate] = CANDIDATES
) -> dict[str, pd.Series]:
    """Every candidate's V per (country, year)."""
    return {candidate.name: aggregate(pillars, candidate) for candidate in candidates}


def calibrate(
    families: Mapping[str, pd.DataFrame],
    scores: Mapping[str, pd.Series],
    *,
    train_last_year: int,
    current: str,
) -> CalibrationResult:
    """Choose the candidate with the best mean train AUC over the label families.

    Args:
        families: family name → its rows (`country, year, label`), as discrimination uses them.
        scores: candidate name → V per (country, year).
        train_last_year: the last year choices may look at.
        current: the configured candidate's name (kept on a tie).

    Returns:
        The per-candidate train AUCs and the chosen candidate.
    """
    table = []
    for name, series in scores.items():
        row: dict[str, object] = {"name": name}
        aucs = []
        for family, rows in families.items():
            train = rows[rows["year"] <= train_last_year]
            keys = pd.MultiIndex.from_frame(train[["country", "year"]])
            value = roc_auc(series.reindex(keys).to_numpy(), train["label"].to_numpy())
            row[family] = None if np.isnan(value) else round(value, 4)
            if not np.isnan(value):
                aucs.append(value)
        row["mean"] = round(float(np.mean(aucs)), 4) if aucs else None
        table.append(row)
    def rank(row: dict[str, object]) -> tuple[float, bool]:
        mean = row["mean"]
        return (float(mean) if isinstance(mean, float) else -1.0, row["name"] == current)

    best = max(table, key=rank)
    return CalibrationResult(train_last_year, tuple(table), str(best["name"]), current)
