"""The refresh pipeline one scheduled job (or one `flashpoint refresh`) runs: fetch → score →
precompute (the stored panel and composite history readers use) → alert.

Each stage writes in its own short transactions, so a stop between stages leaves the store
consistent: new rows without a fresh score are simply re-scored by the next run.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import Engine

from flashpoint import store
from flashpoint.alerts import evaluate_alerts
from flashpoint.config import Settings
from flashpoint.precompute import precompute
from flashpoint.refresh import ProgressCallback, SourceRunReport, refresh_sources
from flashpoint.scoring import save_panel, score_from_store

log = logging.getLogger("flashpoint.pipeline")


@dataclass
class PipelineOutcome:
    """What one pass of the pipeline did."""

    reports: list[SourceRunReport] = field(default_factory=list)
    rescored: bool = False
    countries_scored: int = 0
    precomputed: bool = False
    alerts_evaluated: bool = False
    alert_events: int = 0
    failed_deliveries: int = 0
    stopped_early: bool = False
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every source succeeded and scoring/alerting raised nothing."""
        return all(report.ok for report in self.reports) and not self.problems

    @property
    def rows_changed(self) -> int:
        """New plus changed rows over all sources."""
        return sum(report.rows_new + report.rows_changed for report in self.reports)


def run_pipeline(
    engine: Engine,
    settings: Settings,
    *,
    sources: Sequence[str] | None = None,
    countries: Sequence[str] | None = None,
    stop: threading.Event | None = None,
    progress: ProgressCallback | None = None,
    always_rescore: bool = False,
) -> PipelineOutcome:
    """Refresh `sources`, then re-score and evaluate alerts when anything changed.

    Args:
        engine: the store.
        settings: the configuration.
        sources: source names (None = every enabled source).
        countries: ISO3 codes to fetch (None = the watched countries).
        stop: when set (SIGTERM), the pipeline ends after the current stage.
        progress: per-source progress callback (the CLI's progress bar).
        always_rescore: re-score even when no row changed (first run, manual refresh).

    Returns:
        The outcome; failures are recorded in it (and in fetch_runs), never raised.
    """
    outcome = PipelineOutcome()
    started = time.monotonic()
    outcome.reports = refresh_sources(
        engine, settings, sources=sources, countries=countries, progress=progress
    )
    if stop is not None and stop.is_set():
        outcome.stopped_early = True
        return outcome
    needs_scores = always_rescore or outcome.rows_changed > 0 or not _has_scores(engine)
    panel = None
    if needs_scores:
        try:
            panel = score_from_store(engine, settings)
            save_panel(engine, panel)
            outcome.rescored = True
            outcome.countries_scored = len(panel.countries)
        except Exception as error:  # scoring must never take the scheduler down
            log.exception("scoring failed", extra={"event": "score", "outcome": "error"})
            outcome.problems.append(f"scoring failed: {error}")
    if stop is not None and stop.is_set():
        outcome.stopped_early = True
        return outcome
    # The stored panel and history readers use: refreshed when data changed, and on the first
    # pass of a new day (a panel is keyed on its as-of day), otherwise already current.
    try:
        precompute(engine, settings, now=panel)
        outcome.precomputed = True
    except Exception as error:  # readers fall back to live scoring; never take the scheduler down
        log.exception("precompute failed", extra={"event": "precompute", "outcome": "error"})
        outcome.problems.append(f"precompute failed: {error}")
    if stop is not None and stop.is_set():
        outcome.stopped_early = True
        return outcome
    try:
        report = evaluate_alerts(engine, settings)
        outcome.alerts_evaluated = True
        outcome.alert_events = len(report.events)
        outcome.failed_deliveries = len(report.failed_deliveries)
        outcome.problems.extend(report.problems)
    except Exception as error:
        log.exception("alert evaluation failed", extra={"event": "alerts", "outcome": "error"})
        outcome.problems.append(f"alert evaluation failed: {error}")
    log.info(
        "pipeline finished",
        extra={
            "event": "pipeline",
            "sources": ",".join(report.source for report in outcome.reports),
            "rows_changed": outcome.rows_changed,
            "rescored": outcome.rescored,
            "alert_events": outcome.alert_events,
            "duration_s": round(time.monotonic() - started, 3),
            "outcome": "ok" if outcome.ok else "error",
        },
    )
    return outcome


def _has_scores(engine: Engine) -> bool:
    return not store.read_scores(engine).empty
