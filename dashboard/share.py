"""Share and print: the country brief's download buttons (HTML and PDF) on Overview and Country.

The brief is built from the same cached loaders the page uses (the panel as of the page's day and
the composite's weekly history over the year to it), only when a button is pressed.
"""

from __future__ import annotations

import datetime as dt

import streamlit as st

from dashboard import data
from dashboard.brief import TREND_DAYS, CountryBrief, build_brief
from dashboard.brief_html import brief_html
from dashboard.brief_pdf import brief_pdf


def country_brief(version: str, country: str, day: dt.date) -> CountryBrief:
    """The brief of `country` as of `day`, from the dashboard's cached panel and history."""
    panel = data.load_panel(version, day)
    history = data.load_replay(version, country, day - dt.timedelta(days=TREND_DAYS), day, "week")
    return build_brief(
        panel.now,
        data.get_catalogue(),
        country,
        name=data.country_names().get(country, country),
        history=history,
        generated_at=dt.datetime.now(dt.UTC).replace(tzinfo=None),
    )


def brief_downloads(version: str, country: str, day: dt.date) -> None:
    """ "Country brief (HTML)" and "(PDF)" buttons for the country and day in view."""
    stem = f"flashpoint_brief_{country}_{day.isoformat()}"

    def as_html() -> bytes:
        return brief_html(country_brief(version, country, day)).encode("utf-8")

    def as_pdf() -> bytes:
        return brief_pdf(country_brief(version, country, day))

    columns = st.columns([1, 1, 3], vertical_alignment="center")
    columns[0].download_button(
        "Country brief (HTML)",
        data=as_html,
        file_name=f"{stem}.html",
        mime="text/html",
        key="brief_html",
        icon=":material/description:",
        on_click="ignore",
        help="A one-page summary to share: headline, band, trend, pillars, trigger, confidence, "
        "top drivers and sources with their data dates.",
    )
    columns[1].download_button(
        "Country brief (PDF)",
        data=as_pdf,
        file_name=f"{stem}.pdf",
        mime="application/pdf",
        key="brief_pdf",
        icon=":material/picture_as_pdf:",
        on_click="ignore",
        help="The same brief, ready to print (A4).",
    )
    columns[2].caption(
        f"Scored as of {day:%d %b %Y}. The address bar holds this view (country, page, window, "
        "as-of date): copy it to share what you see."
    )
