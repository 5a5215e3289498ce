"""Unit tests of the dashboard's text helpers (escaping, numbers, ages)."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from dashboard import formatting

# CommonMark: a backslash before any ASCII punctuation character makes it literal.
_ACTIVE = set("\\`*_{}[]()<>#+-.!|~:$=^")


def _unescape(markdown: str) -> str:
    return re.sub(r"\\(.)", r"\1", markdown)


@pytest.mark.parametrize(
    "hostile",
    [
        "<script>alert(1)</script>",
        "[click](javascript:alert(1))",
        "**bold** _it_ `code` # heading",
        "1. not a list",
        "- not a bullet",
        "![img](http://example.org/x.png) :red[x] $x^2$",
    ],
)
def test_escape_markdown_leaves_no_active_character(hostile: str) -> None:
    escaped = formatting.escape_markdown(hostile)
    index = 0
    while index < len(escaped):
        character = escaped[index]
        if character == "\\":
            assert escaped[index + 1] in _ACTIVE
            index += 2
            continue
        assert character not in _ACTIVE, (character, escaped)
        index += 1
    assert _unescape(escaped) == hostile


def test_escape_markdown_folds_newlines() -> None:
    assert formatting.escape_markdown("line one\n\n# two") == "line one \\# two"


def test_safe_link_only_links_http_urls() -> None:
    assert formatting.safe_link("World Bank", "https://data.worldbank.org/x (y)") == (
        "[World Bank](https://data.worldbank.org/x%20%28y%29)"
    )
    assert formatting.safe_link("evil", "javascript:alert(1)") == "evil"
    assert formatting.safe_link("no url", "") == "no url"
    assert formatting.safe_link("FRED [daily]", "https://fred.stlouisfed.org/") == (
        "[FRED \\[daily\\]](https://fred.stlouisfed.org/)"
    )


def test_format_value_and_trend() -> None:
    assert formatting.format_value(431.8, "KZT per USD") == "431.8 KZT per USD"
    assert formatting.format_value(15.03, "%") == "15.0%"
    assert formatting.format_value(20843754.0, "persons") == "20,843,754 persons"
    assert formatting.format_value(-0.267, "") == "-0.27"
    assert formatting.format_value(float("nan"), "%") == "—"
    assert [formatting.trend_arrow(d) for d in (0.4, -0.4, 0.01, None)] == ["↑", "↓", "→", "·"]


def test_ages_and_staleness() -> None:
    assert formatting.age_in_words(0.2) == "today"
    assert formatting.age_in_words(1) == "1 day"
    assert formatting.age_in_words(45) == "45 days"
    assert formatting.age_in_words(400) == "13 months"
    assert formatting.age_in_words(1000) == "2.7 years"
    assert formatting.staleness_badge(800, 730) == "stale"
    assert formatting.staleness_badge(730, 730) == "fresh"
    assert formatting.staleness_badge(None, 730) == "no data"
    assert "background" in formatting.status_style("stale")
    assert formatting.status_style("something else") == ""


def test_period_label_follows_frequency() -> None:
    day = pd.Timestamp("2022-01-01")
    assert formatting.period_label(day, "annual") == "2022"
    assert formatting.period_label(day, "monthly") == "Jan 2022"
    assert formatting.period_label(pd.Timestamp("2022-08-01"), "quarterly") == "2022 Q3"
    assert formatting.period_label(day, "daily") == "2022-01-01"


def test_plain_error_drops_tracebacks() -> None:
    recorded = (
        'Traceback (most recent call last):\n  File "x.py", line 1\n'
        "fetchers.errors.RateLimited: 429 Too Many Requests (retry after 60 s)"
    )
    assert formatting.plain_error(recorded) == (
        "fetchers.errors.RateLimited: 429 Too Many Requests (retry after 60 s)"
    )
    assert formatting.plain_error(None) == ""


@pytest.mark.parametrize(
    ("schedule", "words"),
    [
        ("0 4 * * *", "daily at 04:00 UTC"),
        ("30 6 * * *", "daily at 06:30 UTC"),
        ("0 4 2 * *", "monthly on the 2nd at 04:00 UTC"),
        ("0 4 3 * *", "monthly on the 3rd at 04:00 UTC"),
        ("15 5 11 * *", "monthly on the 11th at 05:15 UTC"),
        ("0 7 * * 1", "weekly on Monday at 07:00 UTC"),
        ("0 7 * * 0", "weekly on Sunday at 07:00 UTC"),
        ("0 8 * * 1-5", "on weekdays at 08:00 UTC"),
        ("every 15m", "every 15 minutes"),
        ("every 1h", "every hour"),
        ("*/5 * * * *", "on a custom schedule"),
        ("0 4 1 1 *", "on a custom schedule"),
        ("", "on a custom schedule"),
    ],
)
def test_schedules_read_as_words_never_as_cron(schedule: str, words: str) -> None:
    assert formatting.schedule_in_words(schedule) == words


def test_schedule_names_the_scheduler_time_zone() -> None:
    assert formatting.schedule_in_words("0 4 * * *", "Asia/Almaty") == "daily at 04:00 Asia/Almaty"


def test_store_kind_never_shows_the_url() -> None:
    secret = "postgresql+psycopg://analyst:hunter2@db.internal:5432/flashpoint"
    assert formatting.store_kind(secret) == "a PostgreSQL database"
    assert formatting.store_kind("sqlite:////srv/flashpoint/data.db") == "a SQLite file"
    assert "hunter2" not in formatting.store_kind(secret)


def test_tables_for_viewers_show_a_dash_not_none() -> None:
    frame = pd.DataFrame(
        {"rule": ["a", None], "threshold": [25.0, float("nan")], "at": [pd.NaT, pd.Timestamp(0)]}
    )
    shown = formatting.for_viewers(frame)
    assert shown.loc[1, "rule"] == "—" and shown.loc[1, "threshold"] == "—"
    assert shown.loc[0, "at"] == "—" and shown.loc[0, "threshold"] == 25.0
    assert "None" not in shown.to_csv() and "nan" not in shown.to_csv().lower()
    assert pd.isna(frame.loc[1, "rule"]), "the input is not modified"
