"""The bundled real-data snapshot: loads `flashpoint/snapshot_data/` into a store, idempotently.

The files are built from the repository's `data/` by `scripts/build_snapshot.py` (provenance and
licences in `snapshot_data/SOURCES.md` and `LICENCES`). Loading stages the observations outside
the write lock (`store.staging`), then switches them in with the event annotations in one short
write transaction, recorded as a fetch run of source `snapshot`: it either all lands or nothing
does, and loading again changes nothing.

Snapshot rows never overwrite what a live fetcher stored (a newer vintage of the same value)
unless `force=True`; rows an earlier snapshot stored are updated like any other upsert.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import json
import time
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any

import pandas as pd
from sqlalchemy.engine import Connection, Engine

from flashpoint import store
from flashpoint.errors import FlashpointError
from flashpoint.store.staging import ObservationStage
from indicators.observations import conform_observations

SNAPSHOT_SOURCE = "snapshot"  # the fetch-run source; observations carry "snapshot:<dataset>"
SNAPSHOT_FORMAT = 1
_OBSERVATIONS_FILE = "observations.csv.gz"
_EVENTS_FILE = "events.csv"
_MANIFEST_FILE = "manifest.json"
_TEXT_COLUMNS = ("indicator", "country", "unit", "source", "vintage")
_STAGE_CHUNK = 50_000  # rows bound per staging statement batch


class SnapshotError(FlashpointError):
    """The bundled snapshot files are missing, corrupt or of an unknown format."""


@dataclass(frozen=True)
class SnapshotLoadResult:
    """What loading the snapshot did."""

    observations: store.UpsertCounts
    events: store.UpsertCounts
    skipped_live: int  # snapshot rows not written because a live fetcher holds that key
    fetch_run_id: int
    seconds: float
    built_at: str


def _snapshot_file(name: str) -> Traversable:
    return resources.files("flashpoint").joinpath("snapshot_data", name)


def snapshot_manifest() -> dict[str, Any]:
    """The snapshot's manifest: per dataset origin, licence, rows, indicators and input hashes.

    Raises:
        SnapshotError: when the manifest is missing, unreadable or of an unknown format.
    """
    try:
        manifest: dict[str, Any] = json.loads(_snapshot_file(_MANIFEST_FILE).read_text("utf-8"))
    except (OSError, ValueError) as error:
        raise SnapshotError(f"cannot read the bundled snapshot manifest: {error}") from None
    if manifest.get("snapshot_format") != SNAPSHOT_FORMAT:
        raise SnapshotError(
            f"bundled snapshot has format {manifest.get('snapshot_format')!r}, "
            f"this Flashpoint reads format {SNAPSHOT_FORMAT}"
        )
    return manifest


def read_snapshot_observations(manifest: dict[str, Any] | None = None) -> pd.DataFrame:
    """The bundled observations as a canonical frame (`fetched_at` not set).

    Raises:
        SnapshotError: when the file is missing or does not match the manifest's checksum.
    """
    manifest = manifest or snapshot_manifest()
    expected = manifest["files"][_OBSERVATIONS_FILE]
    try:
        raw = gzip.decompress(_snapshot_file(_OBSERVATIONS_FILE).read_bytes())
    except (OSError, EOFError, gzip.BadGzipFile) as error:
        raise SnapshotError(f"cannot read the bundled observations: {error}") from None
    if hashlib.sha256(raw).hexdigest() != expected["sha256_uncompressed"]:
        raise SnapshotError("the bundled observations do not match the manifest's checksum")
    text = pd.read_csv(io.BytesIO(raw), dtype=str, keep_default_na=False)
    if len(text) != expected["rows"]:
        raise SnapshotError(
            f"bundled observations have {len(text)} rows, manifest says {expected['rows']}"
        )
    frame = pd.DataFrame({name: text[name] for name in _TEXT_COLUMNS})
    frame["period"] = pd.to_datetime(text["period"], format="%Y-%m-%d")
    frame["value"] = pd.to_numeric(text["value"]).astype("float64")
    frame["is_forecast"] = text["is_forecast"].eq("true")
    frame["published_at"] = pd.to_datetime(
        text["published_at"].replace("", None), format="%Y-%m-%d"
    )
    return conform_observations(frame)


def read_snapshot_events() -> pd.DataFrame:
    """The bundled annotations: country, date, title, description, source_url."""
    try:
        text = _snapshot_file(_EVENTS_FILE).read_text("utf-8")
    except OSError as error:
        raise SnapshotError(f"cannot read the bundled events: {error}") from None
    events = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    events["date"] = pd.to_datetime(events["date"], format="%Y-%m-%d")
    return events


def load_snapshot(engine: Engine, *, force: bool = False) -> SnapshotLoadResult:
    """Load the bundled snapshot into the store in one transaction; idempotent.

    Args:
        engine: a store whose schema exists (`store.init_schema`).
        force: also overwrite rows a live fetcher stored (their old values go to `revisions`);
            by default those keys are left alone and counted in `skipped_live`.

    Returns:
        The counts of new, changed and unchanged observations and events, and the time taken.

    Raises:
        SnapshotError: when the bundled files are missing or corrupt (nothing is written).
    """
    started = time.perf_counter()
    manifest = snapshot_manifest()
    frame = read_snapshot_observations(manifest)
    events = read_snapshot_events()
    run_id = store.start_fetch_run(engine, SNAPSHOT_SOURCE)
    event_counts = store.UpsertCounts()

    def upsert_events(connection: Connection) -> None:
        nonlocal event_counts
        event_counts = store.upsert_events(connection, events)

    try:
        # Staged outside the write lock, then switched in with the events in one short
        # transaction: readers and other writers are never held up for the whole load.
        with ObservationStage(engine) as stage:
            for start in range(0, len(frame), _STAGE_CHUNK):
                stage.add(frame.iloc[start : start + _STAGE_CHUNK])
            switched = stage.switch(
                fetch_run_id=run_id,
                skip_live_except=None if force else f"{SNAPSHOT_SOURCE}:",
                also=upsert_events,
            )
        counts = switched.counts
    except Exception as error:
        # The transaction rolled back; record why, but never let the bookkeeping hide the error.
        with contextlib.suppress(Exception):
            store.finish_fetch_run(
                engine, run_id, status="error", requests=0, counts=None, error=str(error)[:500]
            )
        raise
    skipped = switched.skipped_live
    store.finish_fetch_run(
        engine,
        run_id,
        status="ok",
        requests=0,
        counts=counts,
        detail={
            "built_at": manifest["built_at"],
            "force": force,
            "skipped_live": skipped,
            "events_new": event_counts.new,
            "events_changed": event_counts.changed,
        },
    )
    return SnapshotLoadResult(
        observations=counts,
        events=event_counts,
        skipped_live=skipped,
        fetch_run_id=run_id,
        seconds=time.perf_counter() - started,
        built_at=str(manifest["built_at"]),
    )


def ensure_snapshot_loaded(engine: Engine) -> SnapshotLoadResult | None:
    """Load the snapshot into a store that holds no observations; None when it was not empty."""
    if not store.is_empty(engine):
        return None
    return load_snapshot(engine)
