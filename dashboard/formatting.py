"""Pure text helpers for the pages: markdown escaping, numbers with units, trend arrows, ages.

Anything that came from a source or a user (source names, event titles, notes, country names) goes
through `escape_markdown` before `st.markdown`/`st.caption`; the app never renders HTML.
"""

from __future__ import annotations

import math
import re
from urllib.parse import urlparse

import pandas as pd

from fetchers.redact import redact

# Characters markdown (CommonMark + Streamlit's extensions) gives a meaning to.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~:$=^])")


def escape_markdown(text: object) -> str:
    """`text` with every markdown-active character backslash-escaped and newlines folded, so it
    shows literally in `st.markdown` (no links, no emphasis, no HTML, no LaTeX)."""
    value = "" if text is None or (isinstance(text, float) and math.isnan(text)) else str(text)
    value = " ".join(value.split())
    return _MARKDOWN_SPECIAL.sub(r"\\\1", value)


def safe_link(label: object, url: object) -> str:
    """A markdown link with an escaped label, only for http(s) URLs; otherwise the escaped label
    alone (a `javascript:` or malformed URL never becomes a link)."""
    text = escape_markdown(label)
    target = "" if url is None else str(url).strip()
    parsed = urlparse(target)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        return text
    # Parentheses and spaces would end the markdown link target early.
    target = target.replace(" ", "%20").replace("(", "%28").replace(")", "%29")
    return f"[{text}]({target})"


def format_value(value: float | None, unit: str = "", *, digits: int | None = None) -> str:
    """A number for people: thousands separators, sensible decimals, the unit after it."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    magnitude = abs(value)
    if digits is None:
        digits = 0 if magnitude >= 1000 else 1 if magnitude >= 10 else 2
    number = f"{value:,.{digits}f}"
    if not unit:
        return number
    if unit == "%":
        return f"{number}%"
    return f"{number} {unit}"


def trend_arrow(delta: float | None, *, tolerance: float = 0.05) -> str:
    """↑, ↓ or → for a score change (changes within `tolerance` count as flat)."""
    if delta is None or (isinstance(delta, float) and math.isnan(delta)):
        return "·"
    if delta > tolerance:
        return "↑"
    if delta < -tolerance:
        return "↓"
    return "→"


def age_in_words(days: float | None) -> str:
    """An age in days as "today", "3 days", "5 months", "2.1 years"."""
    if days is None or (isinstance(days, float) and math.isnan(days)):
        return "never"
    days = max(float(days), 0.0)
    if days < 1:
        return "today"
    if days < 60:
        whole = int(days)
        return f"{whole} day" + ("" if whole == 1 else "s")
    if days < 730:
        months = int(days // 30.4)
        return f"{months} months"
    return f"{days / 365.25:.1f} years"


STATUS_COLOURS: dict[str, str] = {
    "fresh": "background-color: #e3f4e4; color: #1b5e20",
    "stale": "background-color: #fdebd3; color: #8a4b00",
    "no data": "background-color: #eef0f3; color: #5f6b7a",
    "ok": "background-color: #e3f4e4; color: #1b5e20",
    "not modified": "background-color: #e3f4e4; color: #1b5e20",
    "partial": "background-color: #fdebd3; color: #8a4b00",
    "error": "background-color: #fbe0df; color: #8e1b13",
    "running": "background-color: #e1ecf8; color: #1f4e79",
    "interrupted": "background-color: #fdebd3; color: #8a4b00",
    "never fetched": "background-color: #eef0f3; color: #5f6b7a",
    "disabled": "background-color: #eef0f3; color: #5f6b7a",
}


def staleness_badge(age_days: float | None, max_age_days: int | None) -> str:
    """A short status for an indicator's newest value: "fresh", "stale" or "no data"."""
    if age_days is None or (isinstance(age_days, float) and math.isnan(age_days)):
        return "no data"
    if max_age_days is not None and age_days > max_age_days:
        return "stale"
    return "fresh"


def status_style(value: object) -> str:
    """The CSS a status word gets in a styled table cell (empty for anything else)."""
    return STATUS_COLOURS.get(str(value), "")


def period_label(period: object, frequency: str) -> str:
    """A period's start date shown at its frequency: 2021, Jan 2022, 2022-01-06."""
    if period is None or pd.isna(period):
        return "—"
    stamp = pd.Timestamp(period)  # type: ignore[arg-type]
    if frequency == "annual":
        return f"{stamp.year}"
    if frequency == "quarterly":
        return f"{stamp.year} Q{(stamp.month - 1) // 3 + 1}"
    if frequency == "monthly":
        return stamp.strftime("%b %Y")
    return stamp.strftime("%Y-%m-%d")


def plain_error(error: object) -> str:
    """A recorded fetch error in plain words: the first line, without a Python traceback, and
    redacted (rows written before redaction existed may hold a credential)."""
    if error is None or (isinstance(error, float) and math.isnan(error)):
        return ""
    text = str(error).strip()
    if not text:
        return ""
    if "Traceback (most recent call last)" in text:
        lines = [line for line in text.splitlines() if line.strip()]
        text = lines[-1] if lines else text
    first = redact(text.splitlines()[0])
    return first if len(first) <= 240 else first[:239] + "…"


_INTERVAL_WORDS = {"s": "second", "m": "minute", "h": "hour", "d": "day"}
_WEEKDAYS = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")


def _ordinal(day: int) -> str:
    suffix = "th" if 10 <= day % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


def schedule_in_words(schedule: object, timezone: str = "UTC") -> str:
    """A source schedule for people: "daily at 04:00 UTC", "monthly on the 2nd at 04:00 UTC",
    "every 15 minutes"; a crontab line with no simple reading is "on a custom schedule" (never
    the raw cron string)."""
    text = " ".join(str(schedule or "").split())
    interval = re.fullmatch(r"every\s*(\d+)\s*([smhd])", text, flags=re.IGNORECASE)
    if interval:
        count, unit = int(interval.group(1)), _INTERVAL_WORDS[interval.group(2).lower()]
        return f"every {unit}" if count == 1 else f"every {count} {unit}s"
    fields = text.split(" ")
    if len(fields) != 5 or not all(field.isdigit() for field in fields[:2]):
        return "on a custom schedule"
    minute, hour, day, month, weekday = fields
    if int(minute) > 59 or int(hour) > 23:
        return "on a custom schedule"
    at = f"at {int(hour):02d}:{int(minute):02d} {timezone}"
    if (day, month, weekday) == ("*", "*", "*"):
        return f"daily {at}"
    if month == "*" and weekday == "*" and day.isdigit() and 1 <= int(day) <= 31:
        return f"monthly on the {_ordinal(int(day))} {at}"
    if (day, month) == ("*", "*") and weekday.isdigit() and int(weekday) <= 7:
        return f"weekly on {_WEEKDAYS[int(weekday) % 7]} {at}"
    if (day, month, weekday) == ("*", "*", "1-5"):
        return f"on weekdays {at}"
    return "on a custom schedule"


def store_kind(url: str) -> str:
    """What kind of store a SQLAlchemy URL points at, in words (never the URL itself)."""
    scheme = url.split(":", 1)[0].split("+", 1)[0].lower()
    return {"sqlite": "a SQLite file", "postgresql": "a PostgreSQL database"}.get(
        scheme, "a database"
    )


def for_viewers(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of a table to show, with every missing cell (None, NaN, NaT) as "—" (a viewer never
    reads a literal "None")."""
    shown = frame.astype(object)
    return shown.where(frame.notna(), "—")
