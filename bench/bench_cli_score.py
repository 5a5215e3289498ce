"""Benchmark: `flashpoint score --country KAZ` as a real command, warm, beside named baselines.

Issue 13's CLI line: the command answers in under 1 s warm on the bundled data. Most of a short
command's time is Python starting and importing, so the figure is printed beside what any pandas
command pays before it does anything. Run side by side in rounds (the order rotates each round,
so a machine's changing load falls on all of them alike), each a fresh subprocess:

- `python -c "import pandas"` (the named baseline): the floor of any pandas CLI.
- `python -c "import pandas, sqlalchemy, pydantic"`: the floor of this stack (a store and a
  validated config) — what `score` cannot avoid importing.
- `flashpoint score --country KAZ`: the installed console script, as a user runs it.
- with `--compare-tree DIR`, the same command run from another source tree on `PYTHONPATH`
  (e.g. the commit before a change: `git archive <commit> | tar -x -C DIR`), same store.

Warm means: one untimed run of each first, so the OS page cache holds the store and the
libraries, and Python's bytecode caches exist (the child processes run without
`PYTHONDONTWRITEBYTECODE`, as an installed package has its `.pyc` files). Each figure is the
median of the rounds, wall time and the child's CPU time (user + system). On a shared machine the
wall time also measures the other work; the CPU time and the ratios to the baseline less so.

    .venv/bin/python bench/bench_cli_score.py [--rounds 9] [--database-url URL]
                                              [--compare-tree DIR]

The store: `--database-url`, else `$FLASHPOINT_DATABASE_URL`, else a temporary SQLite store into
which the bundled snapshot is loaded first (`flashpoint load-snapshot`: a minute or two, untimed).
Every timed `score` run must exit 0 and print the same text as the first. Not a test: it prints
figures and asserts no speed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

TARGET_SECONDS = 1.0
SCORE_ARGS = ("score", "--country", "KAZ")
BASELINE = "python -c 'import pandas'"


@dataclass(frozen=True)
class Run:
    """One timed command: its label, argv and extra environment."""

    label: str
    argv: tuple[str, ...]
    environment: dict[str, str]


@dataclass(frozen=True)
class Timing:
    """One run's wall and CPU seconds and its stdout."""

    wall: float
    cpu: float
    stdout: str


def timed(run: Run, environment: dict[str, str]) -> Timing:
    """Run `run` once: wall and CPU seconds, stdout (SystemExit naming the command if it fails)."""
    started = time.perf_counter()
    process = subprocess.Popen(
        run.argv,
        env={**environment, **run.environment},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and process.stderr is not None
    stdout = process.stdout.read()
    stderr = process.stderr.read()
    # wait4 reaps this child and returns its own resource usage (getrusage(RUSAGE_CHILDREN) would
    # mix in every child this process ever waited for).
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"{run.label}: exit {process.returncode}\n{stderr.strip()}")
    return Timing(wall, usage.ru_utime + usage.ru_stime, stdout)


def measure(runs: list[Run], environment: dict[str, str], rounds: int) -> dict[str, list[Timing]]:
    """One untimed warm-up of each run, then `rounds` rounds in rotating order."""
    for run in runs:
        timed(run, environment)
    timings: dict[str, list[Timing]] = {run.label: [] for run in runs}
    for round_number in range(rounds):
        shift = round_number % len(runs)
        for run in runs[shift:] + runs[:shift]:
            timings[run.label].append(timed(run, environment))
    return timings


def check_same_output(timings: dict[str, list[Timing]], labels: list[str]) -> None:
    """Every `score` run printed the same text (the runs from another tree included)."""
    outputs = {timing.stdout for label in labels for timing in timings[label]}
    if len(outputs) != 1:
        raise SystemExit(f"the score runs printed {len(outputs)} different outputs")


def report(timings: dict[str, list[Timing]], score_label: str) -> None:
    """Print each run's medians, its ratio to the baseline and the target verdict."""
    wall = {label: statistics.median(t.wall for t in values) for label, values in timings.items()}
    cpu = {label: statistics.median(t.cpu for t in values) for label, values in timings.items()}
    rounds = len(timings[BASELINE])
    print(f"median of {rounds} warm rounds (load average now {os.getloadavg()[0]:.1f})")
    print(f"{'run':<52}{'wall s':>8}{'vs base':>9}{'CPU s':>8}{'vs base':>9}   wall, all rounds")
    for label, values in timings.items():
        each = " ".join(f"{t.wall:.2f}" for t in values)
        print(
            f"{label:<52}{wall[label]:>8.2f}{wall[label] / wall[BASELINE]:>8.2f}x"
            f"{cpu[label]:>8.2f}{cpu[label] / cpu[BASELINE]:>8.2f}x   {each}"
        )
    verdict = "OK" if wall[score_label] < TARGET_SECONDS else "OVER TARGET"
    print(
        f"{score_label}: {wall[score_label]:.2f} s wall, {cpu[score_label]:.2f} s CPU "
        f"(target < {TARGET_SECONDS:.0f} s warm): {verdict}; "
        f"{wall[score_label] - wall[BASELINE]:+.2f} s wall over `import pandas`"
    )


def prepared_store(folder: Path, environment: dict[str, str], flashpoint: str) -> str:
    """A temporary SQLite store with the bundled snapshot (and its precompute) loaded."""
    url = f"sqlite:///{folder / 'flashpoint.db'}"
    print("loading the bundled snapshot into a temporary store (untimed) …", flush=True)
    subprocess.run(
        [flashpoint, "load-snapshot"],
        env={**environment, "FLASHPOINT_DATABASE_URL": url},
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return url


def main() -> int:
    """Time the real command beside the baselines and print the medians."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--database-url", default=os.environ.get("FLASHPOINT_DATABASE_URL"))
    parser.add_argument(
        "--compare-tree",
        type=Path,
        default=None,
        help="also run the command from this source tree (on PYTHONPATH), e.g. the old commit",
    )
    args = parser.parse_args()
    python = sys.executable
    flashpoint = str(Path(python).with_name("flashpoint"))
    environment = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    with tempfile.TemporaryDirectory(prefix="fp-bench-cli-") as folder:
        url = args.database_url or prepared_store(Path(folder), environment, flashpoint)
        environment["FLASHPOINT_DATABASE_URL"] = url
        score_label = "flashpoint " + " ".join(SCORE_ARGS)
        runs = [
            Run(BASELINE, (python, "-c", "import pandas"), {}),
            Run(
                "python -c 'import pandas, sqlalchemy, pydantic'",
                (python, "-c", "import pandas, sqlalchemy, pydantic"),
                {},
            ),
            Run(score_label, (flashpoint, *SCORE_ARGS), {}),
        ]
        score_labels = [score_label]
        if args.compare_tree is not None:
            tree = args.compare_tree.resolve()
            label = f"{score_label} (from {tree.name})"
            entry = "import sys; from flashpoint.cli import main; sys.exit(main())"
            # -P: the current directory must not come before PYTHONPATH (it may be this tree).
            argv = (python, "-P", "-c", entry, *SCORE_ARGS)
            runs.append(Run(label, argv, {"PYTHONPATH": str(tree)}))
            score_labels.append(label)
        timings = measure(runs, environment, args.rounds)
    check_same_output(timings, score_labels)
    report(timings, score_label)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
