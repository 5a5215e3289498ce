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

The structural **pillar weights** are chosen the same way, after the aggregation: a coordinate
search (`calibrate_weights`) from equal weights (those of methodology 1–3) under the chosen
aggregation. Each round tries every pillar at every weight of `WEIGHT_GRID` with the others kept,
and takes the one change that raises the mean train AUC most, if it raises it by at least
`MIN_GAIN` (a smaller gain is within the noise of a few hundred train onsets); it stops when no
change does. The configured weights (`[pillars.<id>]` `weight`) are the ones adopted from it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

import numpy as np
import pandas as pd

from indicators.catalogue import Catalogue, ModelParameters
from indicators.structural_mean import power_mean
from indicators.validation.metrics import roc_auc

if TYPE_CHECKING:
    # Only for the annotation: the indicator search builds on this module.
    from indicators.validation.indicator_search import IndicatorSearch


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


# The structural pillar weights of methodology 1–3: all equal. The weight search starts here.
EQUAL_WEIGHT = 1.0
# Each pillar's weight is one of these (relative to the others: only ratios matter). No zero: a
# pillar is dropped by the catalogue, not by a search on a few hundred onsets.
WEIGHT_GRID: tuple[float, ...] = (0.5, 1.0, 2.0, 3.0)
# The least rise of the mean train AUC a weight change must bring to be taken.
MIN_GAIN = 0.005


def aggregate(
    pillars: pd.DataFrame, candidate: Candidate, weights: Mapping[str, float] | None = None
) -> pd.Series:
    """V under `candidate` per (country, year) from structural pillar scores.

    Args:
        pillars: columns `country, year, score, weight` (structural pillars with a score), and
            `pillar` when `weights` is given.
        candidate: the aggregation.
        weights: pillar id → weight, replacing the `weight` column (default: that column).

    Returns:
        A Series indexed by (country, year).
    """
    if weights is None:
        weight = pillars["weight"].to_numpy(dtype="float64")
    else:
        weight = pillars["pillar"].map(dict(weights)).to_numpy(dtype="float64")
    return power_mean(
        pillars["score"].to_numpy(dtype="float64"),
        weight,
        [pillars["country"].to_numpy(), pillars["year"].to_numpy()],
        power=candidate.power,
        floor=candidate.floor,
    )


@dataclass(frozen=True)
class WeightSearch:
    """The structural pillar weights chosen on the train years, and how.

    Attributes:
        aggregation: the candidate the weights were searched under (the chosen aggregation).
        steps: one row per state of the search: `step` (0 = equal weights), `change` (e.g.
            `security 1 → 3`, empty at step 0), `weights` (pillar id → weight), each family's
            train AUC and their `mean`.
        chosen: pillar id → weight where the search stopped.
        current: pillar id → configured weight.
    """

    aggregation: str
    steps: tuple[dict[str, object], ...]
    chosen: dict[str, float]
    current: dict[str, float]

    def to_dict(self) -> dict[str, object]:
        """Plain values for JSON."""
        return {
            "aggregation": self.aggregation,
            "steps": list(self.steps),
            "chosen": dict(self.chosen),
            "current": dict(self.current),
        }


@dataclass(frozen=True)
class CalibrationResult:
    """Train AUC of every candidate per family, the chosen one, the configured one (`current`)
    and the aggregation of methodology 1–2 (`previous`); the pillar-weight search (`weights`)."""

    train_last_year: int
    candidates: tuple[dict[str, object], ...]
    chosen: str
    current: str
    previous: str = PREVIOUS.name
    weights: WeightSearch | None = None
    indicators: IndicatorSearch | None = None

    def to_dict(self) -> dict[str, object]:
        """Plain values for JSON."""
        document: dict[str, object] = {
            "train_last_year": self.train_last_year,
            "candidates": list(self.candidates),
            "chosen": self.chosen,
            "current": self.current,
            "previous": self.previous,
        }
        if self.weights is not None:
            document["weights"] = self.weights.to_dict()
        if self.indicators is not None:
            document["indicators"] = self.indicators.to_dict()
        return document


def candidate_scores(
    pillars: pd.DataFrame, candidates: Sequence[Candidate] = CANDIDATES
) -> dict[str, pd.Series]:
    """Every candidate's V per (country, year)."""
    return {candidate.name: aggregate(pillars, candidate) for candidate in candidates}


def train_aucs(
    series: pd.Series, families: Mapping[str, pd.DataFrame], train_last_year: int
) -> dict[str, float | None]:
    """ROC AUC of `series` per family on the train country-years (rounded to 4 places; None
    where a family has no train onsets), and their `mean`."""
    row: dict[str, float | None] = {}
    aucs = []
    for family, rows in families.items():
        train = rows[rows["year"] <= train_last_year]
        keys = pd.MultiIndex.from_frame(train[["country", "year"]])
        value = roc_auc(series.reindex(keys).to_numpy(), train["label"].to_numpy())
        row[family] = None if np.isnan(value) else round(value, 4)
        if not np.isnan(value):
            aucs.append(value)
    row["mean"] = round(float(np.mean(aucs)), 4) if aucs else None
    return row


def _weight_label(weight: float) -> str:
    return f"{weight:g}"


def weights_label(weights: Mapping[str, float]) -> str:
    """Short label of pillar weights, e.g. `governance 2, macro 1, …` (sorted by pillar)."""
    return ", ".join(f"{pillar} {_weight_label(weights[pillar])}" for pillar in sorted(weights))


def structural_weights(catalogue: Catalogue) -> dict[str, float]:
    """Pillar id → weight of the catalogue's scored structural pillars (weight > 0)."""
    return {
        pillar.id: float(pillar.weight)
        for pillar in catalogue.pillars
        if pillar.kind == "structural" and pillar.weight > 0
    }


Key = TypeVar("Key")
Value = TypeVar("Value")


def coordinate_search(
    start: Mapping[Key, Value],
    moves: Callable[[Key, Value], Iterable[Value]],
    evaluate: Callable[[Mapping[Key, Value]], dict[str, float | None]],
    describe: Callable[[Key, Value, Value], str],
) -> tuple[dict[Key, Value], list[tuple[str, dict[Key, Value], dict[str, float | None]]]]:
    """Greedy coordinate ascent of the mean train AUC, the search every weight choice uses.

    Each round tries every key at each of its `moves` with the others kept and takes the one
    change that raises `evaluate(...)["mean"]` most, if it raises it by at least `MIN_GAIN` (a
    smaller gain is within the noise of a few hundred train onsets); it stops when none does.
    Ties go to the first key and move tried.

    Returns:
        The state where it stopped, and the path: (change described, state, evaluation) per
        step, the start first (with an empty change).
    """

    def mean_of(row: dict[str, float | None]) -> float:
        mean = row["mean"]
        return -1.0 if mean is None else float(mean)

    state = dict(start)
    row = evaluate(state)
    best = mean_of(row)
    path = [("", dict(state), row)]
    # Each accepted step raises the mean by MIN_GAIN, and the mean is at most 1: this ends.
    while True:
        trial: tuple[float, Key, Value, dict[str, float | None]] | None = None
        for key, now in state.items():
            for move in moves(key, now):
                row = evaluate({**state, key: move})
                if trial is None or mean_of(row) > trial[0]:
                    trial = (mean_of(row), key, move, row)
        if trial is None or trial[0] < best + MIN_GAIN:
            return state, path
        best, key, move, row = trial
        change = describe(key, state[key], move)
        state[key] = move
        path.append((change, dict(state), row))


def calibrate_weights(
    families: Mapping[str, pd.DataFrame],
    pillars: pd.DataFrame,
    aggregation: Candidate,
    *,
    train_last_year: int,
    current: Mapping[str, float],
) -> WeightSearch:
    """Choose the structural pillar weights by a coordinate search on the train years.

    Args:
        families: family name → its rows (`country, year, label`).
        pillars: `country, year, pillar, score` of the structural pillars (the year-end scores).
        aggregation: the aggregation to search under.
        train_last_year: the last year the search may look at.
        current: pillar id → configured weight (reported beside the choice).

    Returns:
        The search's steps and the weights it stopped at.
    """
    ids = sorted(str(pillar) for pillar in pd.unique(pillars["pillar"]))

    def evaluate(candidate: Mapping[str, float]) -> dict[str, float | None]:
        return train_aucs(aggregate(pillars, aggregation, candidate), families, train_last_year)

    weights, path = coordinate_search(
        dict.fromkeys(ids, EQUAL_WEIGHT),
        lambda _, now: [value for value in WEIGHT_GRID if value != now],
        evaluate,
        lambda pillar, now, value: f"{pillar} {_weight_label(now)} → {_weight_label(value)}",
    )
    steps: tuple[dict[str, object], ...] = tuple(
        {"step": number, "change": change, "weights": state, **row}
        for number, (change, state, row) in enumerate(path)
    )
    return WeightSearch(
        aggregation=aggregation.name,
        steps=steps,
        chosen=weights,
        current={pillar: float(current[pillar]) for pillar in ids if pillar in current},
    )


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
    table: list[dict[str, object]] = [
        {"name": name, **train_aucs(series, families, train_last_year)}
        for name, series in scores.items()
    ]

    def rank(row: dict[str, object]) -> tuple[float, bool]:
        mean = row["mean"]
        return (float(mean) if isinstance(mean, float) else -1.0, row["name"] == current)

    best = max(table, key=rank)
    return CalibrationResult(train_last_year, tuple(table), str(best["name"]), current)
