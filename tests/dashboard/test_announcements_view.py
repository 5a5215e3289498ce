"""What the calendar table says each announcement does in the trigger, and its CSV download.

The announcements are SYNTHETIC (made up for the test).
"""

from __future__ import annotations

import datetime as dt
import io

import pandas as pd
import pytest

from dashboard.announcements_view import NOT_RECORDED, display_frame, export_csv
from fetchers.policy_calendar import parse_announcements

# SYNTHETIC: two products of one KAZ date (the larger counts), a UZB one without product/URL.
STORED = pd.DataFrame(
    {
        "id": [1, 2, 3],
        "country": ["KAZ", "KAZ", "UZB"],
        "product": ["LPG", "diesel", None],
        "announced": pd.to_datetime(["2021-12-01", "2021-12-05", "2022-03-01"]),
        "effective": pd.to_datetime(["2022-01-01", "2022-01-01", "2022-03-15"]),
        "expected_change_pct": [100.0, 20.0, 15.0],
        "source_url": ["https://example.org/decree", "javascript:alert(1)", None],
        "note": ["", "", ""],
        "created_by": ["ana", "ana", ""],
        "created_at": pd.to_datetime(["2021-12-01"] * 3),
        "updated_at": pd.to_datetime(["2021-12-02"] * 3),
        "updated_by": ["ana", "bob", ""],
    }
)
LABELS = {"KAZ": "Kazakhstan (KAZ)", "UZB": "Uzbekistan (UZB)"}


def status_on(day: str) -> dict[int, str]:
    frame = display_frame(STORED, today=dt.date.fromisoformat(day), fresh_days=31, labels=LABELS)
    return frame["In the trigger"].to_dict()


@pytest.mark.parametrize(
    ("day", "lpg", "uzb"),
    [
        ("2021-11-30", "from 01 Dec 2021 (its announcement)", "from 01 Mar 2022"),
        ("2021-12-10", "yes: scheduled shock, takes effect in 22 day(s)", "from 01 Mar 2022"),
        ("2022-01-20", "yes: in effect since 01 Jan 2022", "from 01 Mar 2022"),
        ("2022-02-05", "no longer (done 01 Feb 2022", "from 01 Mar 2022"),
        ("2022-03-20", "no longer", "yes: in effect since 15 Mar 2022"),
    ],
)
def test_the_status_follows_the_days_of_the_scheduled_shock(day: str, lpg: str, uzb: str) -> None:
    status = status_on(day)
    assert status[1].startswith(lpg)
    assert status[3].startswith(uzb)
    # Diesel shares LPG's country and date with a smaller change: it never counts on its own.
    assert status[2].startswith("counted once, with a larger change")
    assert status[2].endswith("(LPG +100 %)")  # the one that counts instead, by its product


def test_unknown_product_and_unsafe_url_are_shown_as_such() -> None:
    frame = display_frame(STORED, today=dt.date(2022, 1, 1), fresh_days=31, labels=LABELS)
    assert frame.at[3, "Product"] == NOT_RECORDED
    assert frame.at[1, "Source"] == "https://example.org/decree"
    assert pd.isna(frame.at[2, "Source"])  # javascript: is never a link
    assert pd.isna(frame.at[3, "Source"])
    assert frame.at[2, "Last edited"] == "02 Dec 2021 00:00 UTC by bob"
    assert frame.at[1, "Country"] == "Kazakhstan (KAZ)"


def test_the_download_is_what_the_import_reads() -> None:
    known = STORED[STORED["product"].notna() & (STORED["id"] == 1)]
    body = export_csv(known, "CC BY 4.0").decode("utf-8")
    assert pd.read_csv(io.StringIO(body))["licence"].tolist() == ["CC BY 4.0"]
    (record,) = parse_announcements(body).records
    assert (record.country, record.product, record.expected_change_pct) == ("KAZ", "LPG", 100.0)
    assert record.announced == dt.date(2021, 12, 1)
    assert record.source_url == "https://example.org/decree"
