"""Benchmark: `flashpoint import` of a 1M-row CSV — peak memory, wall time, longest write lock.

The file is synthetic (generated here, labelled as such): daily `fuel_lpg_retail` and
`fuel_diesel_retail` prices in the catalogue's unit for 100 ISO3 countries over 5,000 days,
1,000,000 rows. Each run is a real `flashpoint import` subprocess on a temporary SQLite store;
its peak resident memory is the child's own `getrusage(RUSAGE_SELF).ru_maxrss`. Meanwhile a
probe thread in this process tries `BEGIN IMMEDIATE` with no busy timeout every 10 ms: the
longest stretch in which it could not get the write lock is how long the import held it (it
also bounds how long any other writer would have waited).

Three runs: into an empty store, the same file again (everything unchanged), and the file with
every value changed (a million revisions).

    .venv/bin/python bench/bench_import_memory.py [--rows 1000000]

Target (issue 14): peak memory under 500 MB for 1M rows.
"""

from __future__ import annotations

import argparse
import csv
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
INDICATORS = (("fuel_lpg_retail", "KZT/litre"), ("fuel_diesel_retail", "KZT/litre"))
COUNTRIES = 100
MEMORY_TARGET_MB = 500
# The import command in a child that reports its own peak resident memory on exit.
CHILD = (
    "import resource, sys\n"
    "from flashpoint.cli import main\n"
    "code = main(sys.argv[1:])\n"
    "print('MAXRSS', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
    "sys.exit(code)\n"
)


def write_csv(path: Path, rows: int, bump: float) -> None:
    """The synthetic file: `rows` rows, round-robin over indicator × country × day."""
    sys.path.insert(0, str(ROOT))
    from indicators.countries import iso3_countries

    countries = sorted(iso3_countries())[:COUNTRIES]
    days = -(-rows // (len(INDICATORS) * len(countries)))
    written = 0
    with path.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(["indicator", "country", "period", "value", "unit"])
        import datetime as dt

        start = dt.date(2000, 1, 1)
        for day in range(days):
            period = (start + dt.timedelta(days=day)).isoformat()
            for c, country in enumerate(countries):
                for i, (indicator, unit) in enumerate(INDICATORS):
                    if written == rows:
                        return
                    value = 50 + (day % 97) + c * 0.5 + i + bump
                    out.writerow([indicator, country, period, f"{value:.2f}", unit])
                    written += 1


class LockProbe(threading.Thread):
    """Measures the longest interval in which the store's write lock could not be taken."""

    def __init__(self, database: Path) -> None:
        super().__init__(daemon=True)
        self.database = database
        self.stop = threading.Event()
        self.longest = 0.0

    def run(self) -> None:
        connection = sqlite3.connect(self.database, timeout=0, isolation_level=None)
        blocked_since: float | None = None
        try:
            while not self.stop.is_set():
                now = time.monotonic()
                try:
                    connection.execute("BEGIN IMMEDIATE")
                    connection.execute("ROLLBACK")
                    blocked_since = None
                except sqlite3.OperationalError:
                    blocked_since = now if blocked_since is None else blocked_since
                    self.longest = max(self.longest, now - blocked_since)
                self.stop.wait(0.01)
        finally:
            connection.close()


def run_import(config: Path, csv_path: Path, database: Path) -> tuple[float, float, float, str]:
    """(seconds, peak RSS in MB, longest write-lock hold in s, the command's summary line)."""
    probe = LockProbe(database)
    probe.start()
    started = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, "-c", CHILD, "import", str(csv_path), "--config", str(config)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    probe.stop.set()
    probe.join()
    if completed.returncode != 0:
        raise SystemExit(f"import failed: {completed.stderr.strip()}")
    peak_kib = next(
        int(line.split()[1]) for line in completed.stderr.splitlines() if line.startswith("MAXRSS")
    )
    peak_mb = peak_kib / 1024  # ru_maxrss is in KiB on Linux
    return seconds, peak_mb, probe.longest, completed.stdout.strip().splitlines()[0]


def main() -> int:
    """Run the three imports and print a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="fp-bench-import-") as folder:
        directory = Path(folder)
        database = directory / "bench.db"
        config = directory / "config.toml"
        config.write_text(f'[store]\nurl = "sqlite:///{database}"\n', encoding="utf-8")
        subprocess.run(
            [sys.executable, "-m", "flashpoint.cli", "init", "--config", str(config)],
            cwd=ROOT, capture_output=True, check=True,
        )
        first, changed = directory / "series.csv", directory / "series-changed.csv"
        write_csv(first, args.rows, bump=0.0)
        write_csv(changed, args.rows, bump=1.0)
        size_mb = first.stat().st_size / 1e6
        print(f"synthetic CSV: {args.rows:,} rows, {size_mb:.0f} MB")
        print(f"{'run':<22}{'seconds':>9}{'peak RSS MB':>13}{'write lock s':>14}")
        peaks = []
        for label, path in (("empty store", first), ("same file again", first),
                            ("every value changed", changed)):
            seconds, peak, lock, summary = run_import(config, path, database)
            peaks.append(peak)
            print(f"{label:<22}{seconds:>9.1f}{peak:>13.0f}{lock:>14.2f}   {summary[-70:]}")
        worst = max(peaks)
        verdict = "OK" if worst < MEMORY_TARGET_MB else "OVER"
        print(f"peak memory {worst:.0f} MB (target < {MEMORY_TARGET_MB} MB): {verdict}")
        return 0 if worst < MEMORY_TARGET_MB else 1


if __name__ == "__main__":
    raise SystemExit(main())
