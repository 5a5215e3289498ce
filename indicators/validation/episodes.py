"""The episodes file (price-trigger events and controls) and each episode's reference date T.

Format: `data/episodes/PROVENANCE.md` — columns `id, country_iso3, kind, trigger, announced,
effective, onset, …` (ISO dates, `YYYY-MM` where only the month is known, empty when unknown);
optional `sources`, `verification_note`, `domestic_series`. Users may pass their own file.

Reference date T (the PROVENANCE's rule): `effective`, except where unrest began before the new
price applied (onset < effective), then `announced`; without `effective`: `announced`, else
`onset`. A month-only date counts from the first of the month.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

REQUIRED_COLUMNS = ("id", "country_iso3", "kind", "announced", "effective", "onset")
KINDS = ("event", "control")
EPISODE_COLUMNS = (
    "id",
    "country",
    "kind",
    "trigger",
    "announced",
    "effective",
    "onset",
    "reference",
    "reference_basis",
    "domestic_series",
)
BUNDLED_EPISODES = Path(__file__).resolve().parents[1] / "data" / "labels" / "training-episodes.csv"

_DAY = re.compile(r"^\d{4}-\d{2}(-\d{2})?$")


class EpisodeFileError(ValueError):
    """The episodes file cannot be used; the message names the file, the row and the problem."""


def _date(text: str, where: str) -> pd.Timestamp:
    text = text.strip()
    if not text:
        return pd.Timestamp("NaT")
    if not _DAY.match(text):
        raise EpisodeFileError(f"{where}: {text!r} is not a date (YYYY-MM-DD or YYYY-MM)")
    try:
        return pd.Timestamp(text if len(text) == 10 else text + "-01")
    except ValueError as exc:
        raise EpisodeFileError(f"{where}: {text!r} is not a date ({exc})") from exc


def reference_date(
    announced: pd.Timestamp, effective: pd.Timestamp, onset: pd.Timestamp
) -> tuple[pd.Timestamp, str]:
    """T and which field it came from (see the module docstring)."""
    if pd.notna(effective):
        if pd.notna(onset) and pd.notna(announced) and onset < effective:
            return announced, "announced"
        return effective, "effective"
    if pd.notna(announced):
        return announced, "announced"
    return onset, "onset"


def read_episodes(path: Path | None = None) -> pd.DataFrame:
    """Read and check an episodes file.

    Args:
        path: the CSV; None = the bundled, verified training episodes.

    Returns:
        One row per episode, `EPISODE_COLUMNS` (dates as Timestamps, NaT when unknown).

    Raises:
        EpisodeFileError: a required column is missing, an id repeats, a kind is not
            event/control, a country is not three letters, a date is malformed, or an episode
            has no date at all.
    """
    source = path or BUNDLED_EPISODES
    try:
        raw = pd.read_csv(source, dtype=str, keep_default_na=False, encoding="utf-8")
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise EpisodeFileError(f"{source}: cannot read the episodes file ({exc})") from exc
    missing = [name for name in REQUIRED_COLUMNS if name not in raw.columns]
    if missing:
        raise EpisodeFileError(f"{source.name}: missing column(s) {', '.join(missing)}")
    records = []
    seen: set[str] = set()
    for line, row in enumerate(raw.to_dict("records"), start=2):
        where = f"{source.name} line {line}"
        ident = str(row["id"]).strip()
        if not ident or ident in seen:
            raise EpisodeFileError(f"{where}: id {ident!r} is empty or repeated")
        seen.add(ident)
        kind = str(row["kind"]).strip()
        if kind not in KINDS:
            raise EpisodeFileError(f"{where}: kind {kind!r} is not 'event' or 'control'")
        country = str(row["country_iso3"]).strip().upper()
        if not re.fullmatch(r"[A-Z]{3}", country):
            raise EpisodeFileError(f"{where}: country {country!r} is not an ISO3 code")
        announced = _date(str(row["announced"]), where)
        effective = _date(str(row["effective"]), where)
        onset = _date(str(row["onset"]), where)
        reference, basis = reference_date(announced, effective, onset)
        if pd.isna(reference):
            raise EpisodeFileError(f"{where}: episode {ident} has no announced, effective or onset")
        records.append(
            {
                "id": ident,
                "country": country,
                "kind": kind,
                "trigger": str(row.get("trigger", "")),
                "announced": announced,
                "effective": effective,
                "onset": onset,
                "reference": reference,
                "reference_basis": basis,
                "domestic_series": str(row.get("domestic_series", "")).strip(),
            }
        )
    return pd.DataFrame.from_records(records, columns=list(EPISODE_COLUMNS))
