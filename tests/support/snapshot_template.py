"""The bundled snapshot loaded into a SQLite file once per test run, for every xdist worker.

Loading the snapshot takes tens of seconds; copying the loaded file takes well under one. The
first worker to ask loads it under an exclusive file lock in the run's shared temporary
directory; the others wait on the lock and then find the file there. Callers copy the template
and never open it for writing.
"""

from __future__ import annotations

import fcntl
import os
import shutil
from pathlib import Path

import pytest


def shared_run_directory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The temporary directory all workers of this run share (the basetemp without xdist)."""
    base = tmp_path_factory.getbasetemp()
    # Under xdist each worker's basetemp is `<run dir>/popen-gwN`: their parent is shared.
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def loaded_snapshot_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The path of a SQLite store holding the bundled snapshot (built on first use, read-only)."""
    from flashpoint import snapshot, store

    root = shared_run_directory(tmp_path_factory)
    target = root / "snapshot-template" / "flashpoint.db"
    with (root / "snapshot-template.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_name("loading.db")
            partial.unlink(missing_ok=True)
            engine = store.make_engine(f"sqlite:///{partial}")
            try:
                store.init_schema(engine)
                snapshot.ensure_snapshot_loaded(engine)
            finally:
                engine.dispose()
            # Renamed only once complete: a worker never sees a half-loaded template.
            partial.rename(target)
    return target


def copy_of_template(template: Path, directory: Path) -> Path:
    """A private copy of the snapshot template in `directory` (created)."""
    directory.mkdir(parents=True, exist_ok=True)
    copy = directory / "flashpoint.db"
    shutil.copyfile(template, copy)
    return copy
