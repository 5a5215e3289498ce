"""The policy calendar as people read it: one row per announcement, with what it does in the
trigger today. Pure (frames in, frames out) so the page, the Country detail and the tests share it.

A URL becomes a link only when it is http(s) with a host (`is_safe_link`); anything else — and
every product, note and name — is shown as plain text in a data frame, never as HTML.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import pandas as pd
import streamlit as st

from fetchers.policy_calendar import INDICATOR, is_safe_link
from indicators.announced_shocks import product_of, scored_announcements

NOT_RECORDED = "not recorded"
DISPLAY_COLUMNS: tuple[str, ...] = (
    "Country",
    "Product",
    "Announced",
    "Effective",
    "Expected change (%)",
    "In the trigger",
    "Source",
    "Note",
    "Recorded by",
    "Last edited",
)


def counted_rows(stored: pd.DataFrame) -> pd.Series:
    """True for the announcement that makes its (country, effective date)'s shock: the largest
    change, of equal ones the earliest announcement (`indicators.announced_shocks`)."""
    if stored.empty:
        return pd.Series(dtype=bool)
    kept = scored_announcements(stored).index
    return pd.Series(stored.index.isin(kept), index=stored.index)


def trigger_status(
    announced: pd.Timestamp, effective: pd.Timestamp, *, counted: bool, today: dt.date,
    fresh_days: int, counted_instead: str = "",
) -> str:
    """What an announcement does in the trigger on `today`, in words.

    `counted_instead` names, for an announcement that does not count, the one of its country and
    date that does ("LPG +100 %").
    """
    if not counted:
        instead = f" ({counted_instead})" if counted_instead else ""
        return f"counted once, with a larger change of the same country and date{instead}"
    day = pd.Timestamp(today)
    if day < announced:
        return f"from {announced:%d %b %Y} (its announcement)"
    ends = effective + pd.Timedelta(days=fresh_days)
    if day > ends:
        return f"no longer (done {ends:%d %b %Y}, {fresh_days} days after it took effect)"
    if day < effective:
        return f"yes: scheduled shock, takes effect in {(effective - day).days} day(s)"
    return f"yes: in effect since {effective:%d %b %Y}"


def display_frame(
    stored: pd.DataFrame, *, today: dt.date, fresh_days: int, labels: Mapping[str, str]
) -> pd.DataFrame:
    """`store.read_announcements` rows → the table shown (columns `DISPLAY_COLUMNS`, index id).

    Args:
        stored: the stored announcements.
        today: the day "in the trigger" is judged on.
        fresh_days: `max_age_days` of `announced_price_change` (how long after taking effect an
            announcement still counts).
        labels: ISO3 → country label.
    """
    if stored.empty:
        return pd.DataFrame(columns=list(DISPLAY_COLUMNS))
    counted = counted_rows(stored)
    announced = pd.to_datetime(stored["announced"])
    effective = pd.to_datetime(stored["effective"])
    # The calendar is small (an analyst's records): a loop over its counted rows is fine.
    scored_as = {
        (row["country"], pd.Timestamp(row["effective"])):
            f"{product_of(row)} {float(row['expected_change_pct']):+.0f} %"
        for _, row in stored[counted.to_numpy()].iterrows()
    }
    status = [
        trigger_status(
            start, end, counted=bool(flag), today=today, fresh_days=fresh_days,
            counted_instead="" if flag else scored_as.get((country, end), ""),
        )
        for start, end, flag, country in zip(
            announced, effective, counted, stored["country"], strict=True
        )
    ]
    frame = pd.DataFrame(
        {
            "Country": [labels.get(code, code) for code in stored["country"]],
            "Product": stored["product"].where(stored["product"].notna(), NOT_RECORDED),
            "Announced": announced.dt.date,
            "Effective": effective.dt.date,
            "Expected change (%)": stored["expected_change_pct"].astype("float64"),
            "In the trigger": status,
            "Source": [url if is_safe_link(url) else None for url in stored["source_url"]],
            "Note": stored["note"].fillna(""),
            "Recorded by": stored["created_by"].fillna(""),
            "Last edited": [
                f"{pd.Timestamp(at):%d %b %Y %H:%M} UTC by {who}" if pd.notna(at) else ""
                for at, who in zip(stored["updated_at"], stored["updated_by"], strict=True)
            ],
        }
    )
    frame.index = stored["id"].astype(int).to_numpy()
    return frame


def show_table(frame: pd.DataFrame, *, key: str) -> None:
    """The display frame as a read-only data frame; URLs as links, a missing one as empty."""
    st.dataframe(
        frame,
        hide_index=True,
        width="stretch",
        key=key,
        column_config={
            "Source": st.column_config.LinkColumn(
                "Source", help=f"Where it was announced (empty = {NOT_RECORDED})"
            ),
            "Expected change (%)": st.column_config.NumberColumn(format="%+.1f %%"),
            "Announced": st.column_config.DateColumn(format="D MMM YYYY"),
            "Effective": st.column_config.DateColumn(format="D MMM YYYY"),
        },
    )


def export_csv(stored: pd.DataFrame, licence: str) -> bytes:
    """The announcements in the columns `flashpoint import-announcements` reads, with licence."""
    columns = ["country", "product", "announced", "effective", "expected_change_pct",
               "source_url", "note"]
    frame = stored.loc[:, columns].copy()
    for name in ("announced", "effective"):
        frame[name] = pd.to_datetime(frame[name]).dt.strftime("%Y-%m-%d")
    frame["licence"] = licence
    return frame.to_csv(index=False).encode("utf-8")


def show_country_calendar(country: str) -> None:
    """The Country detail's "Announced price changes" expander (nothing when none is recorded)."""
    from dashboard import data
    from flashpoint import store

    stored = store.read_announcements(data.get_engine(), countries=[country])
    if stored.empty:
        return
    indicator = data.get_catalogue().indicator(INDICATOR)
    with st.expander(f"Announced price changes ({len(stored)})", expanded=False):
        st.caption(
            "The policy calendar (Announcements page): each counts in the trigger as a scheduled "
            f"shock from its announcement until {indicator.max_age_days} days after it takes "
            "effect."
        )
        labels = {country: data.country_label(country)}
        table = display_frame(
            stored, today=data.today(), fresh_days=indicator.max_age_days, labels=labels
        )
        show_table(table.drop(columns=["Country"]), key=f"country_calendar_{country}")


def in_range(stored: pd.DataFrame, start: dt.date, end: dt.date, fresh_days: int) -> pd.DataFrame:
    """The announcements that count in the trigger on some day of [start, end]: announced by
    `end`, and still fresh (effective + `fresh_days`) on or after `start`."""
    if stored.empty:
        return stored
    announced = pd.to_datetime(stored["announced"])
    ends = pd.to_datetime(stored["effective"]) + pd.Timedelta(days=fresh_days)
    keep = (announced <= pd.Timestamp(end)) & (ends >= pd.Timestamp(start))
    return stored.loc[keep.to_numpy()]


def show_replay_calendar(country: str, start: dt.date, end: dt.date) -> None:
    """The Replay's "Announced price changes in this range" expander (nothing when none)."""
    from dashboard import data
    from flashpoint import store

    indicator = data.get_catalogue().indicator(INDICATOR)
    stored = store.read_announcements(data.get_engine(), countries=[country])
    shown = in_range(stored, start, end, indicator.max_age_days)
    if shown.empty:
        return
    with st.expander(f"Announced price changes in this range ({len(shown)})", expanded=True):
        st.caption(
            "Each counts in the replayed trigger as a scheduled shock from its announcement "
            f"until {indicator.max_age_days} days after it takes effect (of one date, the "
            "largest change)."
        )
        table = display_frame(
            shown, today=end, fresh_days=indicator.max_age_days,
            labels={country: data.country_label(country)},
        )
        counts_from = pd.to_datetime(shown["announced"]).dt.date.to_numpy()
        counts_until = (
            pd.to_datetime(shown["effective"]) + pd.Timedelta(days=indicator.max_age_days)
        ).dt.date.to_numpy()
        table = table.drop(columns=["Country", "In the trigger", "Recorded by", "Last edited"])
        table.insert(4, "Counts from", counts_from)
        table.insert(5, "Counts until", counts_until)
        show_table(table, key=f"replay_calendar_{country}")
