"""Before and after calibration in one run: the previous aggregation beside the adopted one.

"After" is the configured model (methodology 3 adopts the aggregation the train years chose).
"Before" is the aggregation of methodology 1–2 (`calibration.PREVIOUS`: geometric mean, pillar
floor 0.1) applied to the same observations, episodes and rules in the same run, so a difference
between the two is the calibration's doing and nothing else. Only what calibration chooses
differs: the previous catalogue is the configured one with `vulnerability_power` and
`pillar_floor` replaced and the structural pillars weighted equally (`as_previous`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Protocol

from indicators.catalogue import Catalogue
from indicators.validation.calibration import structural_weights


class _Outcome(Protocol):
    """What `hit_counts` reads of an `EpisodeOutcome`."""

    @property
    def kind(self) -> str: ...

    @property
    def hit(self) -> bool | None: ...

    @property
    def domestic_series(self) -> bool: ...


PREVIOUS_METHODOLOGY = "2"


def with_aggregation(catalogue: Catalogue, power: float, floor: float) -> Catalogue:
    """The catalogue with only its structural aggregation replaced."""
    model = replace(catalogue.model, vulnerability_power=power, pillar_floor=floor)
    return replace(catalogue, model=model)


def with_structural_weights(catalogue: Catalogue, weights: Mapping[str, float]) -> Catalogue:
    """The catalogue with the weights of the named structural pillars replaced."""
    pillars = tuple(
        replace(pillar, weight=float(weights[pillar.id]))
        if pillar.kind == "structural" and pillar.id in weights
        else pillar
        for pillar in catalogue.pillars
    )
    return replace(catalogue, pillars=pillars)


def as_previous(catalogue: Catalogue, power: float, floor: float, weight: float) -> Catalogue:
    """The catalogue as methodology 2 scored: aggregation (`power`, `floor`) and every structural
    pillar of positive weight weighted `weight`."""
    structural = dict.fromkeys(structural_weights(catalogue), weight)
    return with_structural_weights(with_aggregation(catalogue, power, floor), structural)


def hit_counts(outcomes: Iterable[_Outcome]) -> dict[str, dict[str, int]]:
    """Hits and scored episodes per kind, all and with a domestic series (the JSON summary)."""
    chosen = [o for o in outcomes if o.hit is not None]
    summary: dict[str, dict[str, int]] = {}
    for kind in ("event", "control"):
        for domestic in (False, True):
            rows = [o for o in chosen if o.kind == kind and (o.domestic_series or not domestic)]
            key = f"{kind}{'_domestic' if domestic else ''}"
            summary[key] = {"hits": sum(bool(o.hit) for o in rows), "scored": len(rows)}
    return summary


@dataclass(frozen=True)
class BeforeCalibration:
    """The previous aggregation's event-study hits and alert load, from the same run.

    Attributes:
        aggregation: the previous candidate's name (`p=0 floor=0.1`).
        methodology_version: the version that scored with it.
        hits: `hit_counts` of its event study.
        alert_firings: its default-rule alerts outside episode windows.
        alert_country_years: the country-years those alerts are counted over.
        alerts_per_country_year: firings per country-year (None without country-years).
        alerts_by_rule: firings per rule id.
    """

    aggregation: str
    methodology_version: str
    hits: dict[str, dict[str, int]]
    alert_firings: int
    alert_country_years: int
    alerts_per_country_year: float | None
    alerts_by_rule: dict[str, int]

    def to_dict(self) -> dict[str, object]:
        """Plain values for JSON."""
        return {
            "aggregation": self.aggregation,
            "methodology_version": self.methodology_version,
            "hits": {key: dict(value) for key, value in self.hits.items()},
            "alert_firings": self.alert_firings,
            "alert_country_years": self.alert_country_years,
            "alerts_per_country_year": self.alerts_per_country_year,
            "alerts_by_rule": dict(self.alerts_by_rule),
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> BeforeCalibration:
        """The inverse of `to_dict` (KeyError / TypeError / ValueError on a malformed document)."""
        per = raw["alerts_per_country_year"]
        return cls(
            aggregation=str(raw["aggregation"]),
            methodology_version=str(raw["methodology_version"]),
            hits={
                str(key): {"hits": int(value["hits"]), "scored": int(value["scored"])}
                for key, value in raw["hits"].items()
            },
            alert_firings=int(raw["alert_firings"]),
            alert_country_years=int(raw["alert_country_years"]),
            alerts_per_country_year=None if per is None else float(per),
            alerts_by_rule={str(k): int(v) for k, v in raw["alerts_by_rule"].items()},
        )
