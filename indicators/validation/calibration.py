"""Calibration of the structural aggregation, chosen on the train years only.

V is an aggregate of the structural pillar scores. Methodology 1–2 used a weighted geometric mean
with each pillar floored at 0.1 (`PREVIOUS`), so one near-zero pillar (no resource rents) pulled
V down however bad the others were. The candidates here are weighted **power means**
`M_p = (Σ w·s^p / Σ w)^(1/p)` (`indicators.structural_mean`; p = 0: the geometric mean; p = 1:
arithmetic; larger p lets the riskiest pillars dominate; p = ∞: the maximum) with a floor that
applies before aggregating. Each candidate's V is recomputed from the same point-in-time pillar
scores as of 31 Dec Y−1, its ROC AUC is taken per label family on the **train** country-years
only (Y ≤ 2015), and the candidate with the highest mean train AUC is chosen. The configured
aggregation (`[model]` `vulnerability_power`, `pillar_floor`) is the one adopted from that choice;
the reported years are scored for the previous and the configured rule side by side. Nothing is
chosen on the reported years.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from indicators.catalogue import ModelParameters
from indicators.structural_mean import power_mean
from indicators.validation.metrics import roc_auc


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

    @classmethod
    def of(cls, model: ModelParameters) -> Candidate:
        """The aggregation a catalogue's model parameters configure."""
        return cls(float(model.vulnerability_power), float(model.pillar_floor))


# The aggregation of methodology versions 1–2: the geometric mean, each pillar floored at 0.1.
PREVIOUS = Candidate(0.0, 0.1)


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
    return power_mean(
        pillars["score"].to_numpy(dtype="float64"),
        pillars["weight"].to_numpy(dtype="float64"),
        [pillars["country"].to_numpy(), pillars["year"].to_numpy()],
        power=candidate.power,
        floor=candidate.floor,
    )


@dataclass(frozen=True)
class CalibrationResult:
    """Train AUC of every candidate per family, the chosen one, the configured one (`current`)
    and the aggregation of methodology 1–2 (`previous`)."""

    train_last_year: int
    candidates: tuple[dict[str, object], ...]
    chosen: str
    current: str
    previous: str = PREVIOUS.name

    def to_dict(self) -> dict[str, object]:
        """Plain values for JSON."""
        return {
            "train_last_year": self.train_last_year,
            "candidates": list(self.candidates),
            "chosen": self.chosen,
            "current": self.current,
            "previous": self.previous,
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
