"""The bundled real-data snapshot: loads `flashpoint/snapshot_data/` into a store, idempotently.

The files are built from the repository's `data/` by `scripts/build_snapshot.py` (provenance and
licences in `snapshot_data/SOURCES.md` and `LICENCES`). Into an empty store (a fresh install)
the observations go in with one bulk insert (`store.insert_into_empty`: nothing to compare
against). Otherwise they are staged outside the write lock (`store.staging`), then switched in
with the event annotations in one short write transaction. Either way the load is recorded as a
fetch run of source `snapshot`, either all lands or nothing does, and loading again changes
nothing. A `progress` callback hears what is happening, line by line (rows and percent, then
"done in N s"), so a first start never sits silent.

Snapshot rows never overwrite what a live fetcher stored (a newer vintage of the same value)
unless `force=True`; rows an earlier snapshot stored are updated like any other upsert.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from importlib.util import find_spec
from typing import Any, Literal, TextIO

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

# pyarrow's CSV reader (Streamlit's dependency, so always there beside the dashboard) parses the
# half-million rows about three times faster than pandas' own, and yields the same frame of text.
_CSV_ENGINE: Literal["pyarrow", "c"] = "pyarrow" if find_spec("pyarrow") is not None else "c"

# Told each line of progress text while the snapshot loads.
SnapshotProgress = Callable[[str], None]


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
    bulk: bool = False  # True when the store was empty and the rows went in with one bulk insert


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
    text = pd.read_csv(io.BytesIO(raw), dtype=str, keep_default_na=False, engine=_CSV_ENGINE)
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


def load_snapshot(
    engine: Engine,
    *,
    force: bool = False,
    progress: SnapshotProgress | None = None,
    allow_bulk: bool = True,
) -> SnapshotLoadResult:
    """Load the bundled snapshot into the store in one transaction; idempotent.

    Args:
        engine: a store whose schema exists (`store.init_schema`).
        force: also overwrite rows a live fetcher stored (their old values go to `revisions`);
            by default those keys are left alone and counted in `skipped_live`.
        progress: told each line of progress (reading, rows and percent, "done in N s").
        allow_bulk: False always takes the classifying path that a non-empty store takes, even
            into an empty store (the benchmark and the tests compare the two paths).

    Returns:
        The counts of new, changed and unchanged observations and events, and the time taken.

    Raises:
        SnapshotError: when the bundled files are missing or corrupt (nothing is written).
    """
    started = time.perf_counter()
    say = progress or (lambda _line: None)
    manifest = snapshot_manifest()
    expected_rows = int(manifest["files"][_OBSERVATIONS_FILE]["rows"])
    say(f"snapshot: reading the bundled data ({expected_rows:,} observations)")
    frame = read_snapshot_observations(manifest)
    events = read_snapshot_events()
    run_id = store.start_fetch_run(engine, SNAPSHOT_SOURCE)
    event_counts = store.UpsertCounts()

    def upsert_events(connection: Connection) -> None:
        nonlocal event_counts
        event_counts = store.upsert_events(connection, events)

    def rows_done(verb: str) -> store.BulkProgress:
        def report(done: int, total: int) -> None:
            percent = 100 * done // total if total else 100
            say(f"snapshot: {verb} {done:,} of {total:,} rows ({percent}%)")

        return report

    bulk_counts: store.UpsertCounts | None = None
    skipped = 0
    try:
        if allow_bulk and store.is_empty(engine):
            # Nothing to compare against: one bulk insert (None if a writer got there first).
            bulk_counts = store.insert_into_empty(
                engine,
                frame,
                fetch_run_id=run_id,
                progress=rows_done("loaded"),
                also=upsert_events,
            )
        if bulk_counts is not None:
            counts = bulk_counts
        else:
            counts, skipped = _load_staged(
                engine, frame, run_id, force=force, also=upsert_events, report=rows_done, say=say
            )
    except Exception as error:
        # The transaction rolled back; record why, but never let the bookkeeping hide the error.
        with contextlib.suppress(Exception):
            store.finish_fetch_run(
                engine, run_id, status="error", requests=0, counts=None, error=str(error)[:500]
            )
        raise
    store.finish_fetch_run(
        engine,
        run_id,
        status="ok",
        requests=0,
        counts=counts,
        detail={
            "built_at": manifest["built_at"],
            "force": force,
            "bulk": bulk_counts is not None,
            "skipped_live": skipped,
            "events_new": event_counts.new,
            "events_changed": event_counts.changed,
        },
    )
    seconds = time.perf_counter() - started
    say(f"snapshot: done in {seconds:.1f} s")
    return SnapshotLoadResult(
        observations=counts,
        events=event_counts,
        skipped_live=skipped,
        fetch_run_id=run_id,
        seconds=seconds,
        built_at=str(manifest["built_at"]),
        bulk=bulk_counts is not None,
    )


def _load_staged(
    engine: Engine,
    frame: pd.DataFrame,
    run_id: int,
    *,
    force: bool,
    also: Callable[[Connection], None],
    report: Callable[[str], store.BulkProgress],
    say: SnapshotProgress,
) -> tuple[store.UpsertCounts, int]:
    """Stage the rows outside the write lock, then switch them in with the events in one short
    transaction: readers and other writers are never held up for the whole load."""
    staged = report("staged")
    with ObservationStage(engine) as stage:
        for start in range(0, len(frame), _STAGE_CHUNK):
            stage.add(frame.iloc[start : start + _STAGE_CHUNK])
            staged(stage.rows, len(frame))
        say("snapshot: comparing with the stored rows and switching them in")
        switched = stage.switch(
            fetch_run_id=run_id,
            skip_live_except=None if force else f"{SNAPSHOT_SOURCE}:",
            also=also,
        )
    return switched.counts, switched.skipped_live


def print_progress(stream: TextIO | None = None) -> SnapshotProgress:
    """A progress callback that prints each line to `stream` (stderr by default), flushed."""

    def show(line: str) -> None:
        print(line, file=stream or sys.stderr, flush=True)

    return show


def ensure_snapshot_loaded(
    engine: Engine, *, progress: SnapshotProgress | None = None
) -> SnapshotLoadResult | None:
    """Load the snapshot into a store that holds no observations; None when it was not empty."""
    if not store.is_empty(engine):
        return None
    return load_snapshot(engine, progress=progress)
