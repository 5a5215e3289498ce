"""The country brief: its content read off the scored panel, the HTML escaped, the PDF well formed.

Expected values come from `score_panel` / `replay` on the bundled snapshot (never literals); the
hostile names and sources are synthetic, labelled where they are made.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pypdf
import pytest

from dashboard import brief as content
from dashboard.brief import CountryBrief, build_brief
from dashboard.brief_html import brief_html
from dashboard.brief_pdf import brief_pdf
from dashboard.pdf_writer import PdfDocument, pdf_string, to_winansi
from flashpoint import store
from flashpoint.config import load_config
from indicators.catalogue import Catalogue
from indicators.replay import replay
from indicators.scoring import PanelScore, score_panel
from indicators.trigger_state import describe_composite, describe_trigger
from tests.dashboard.conftest import CONFIG, sqlite_url

DAY = dt.date(2022, 1, 5)  # the Kazakhstan case: the LPG jump of 1 Jan 2022 is visible
MADE = dt.datetime(2026, 1, 2, 3, 4)
HOSTILE_NAME = '<img src=x onerror="alert(1)">Land & "Co" </title><script>alert(2)</script>'
HOSTILE_SOURCE = "<script>alert('source')</script>"


@pytest.fixture(scope="module")
def observations(snapshot_store: Path) -> pd.DataFrame:
    engine = store.make_engine(sqlite_url(snapshot_store))
    try:
        return store.read_observations(engine, include_forecasts=False)
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_config(CONFIG).catalogue()


@pytest.fixture(scope="module")
def panel(observations: pd.DataFrame, catalogue: Catalogue) -> PanelScore:
    return score_panel(observations, catalogue, as_of=DAY, countries=["KAZ", "NGA", "CHE"])


@pytest.fixture(scope="module")
def history(observations: pd.DataFrame, catalogue: Catalogue) -> pd.DataFrame:
    subset = observations[observations["country"].isin(["KAZ", "WLD"])]
    start = DAY - dt.timedelta(days=content.TREND_DAYS)
    return replay(subset, catalogue, countries=["KAZ"], start=start, end=DAY, every="week")


@pytest.fixture(scope="module")
def kaz(panel: PanelScore, catalogue: Catalogue, history: pd.DataFrame) -> CountryBrief:
    return build_brief(
        panel, catalogue, "KAZ", name="Kazakhstan", history=history, generated_at=MADE
    )


@pytest.fixture(scope="module")
def blind(observations: pd.DataFrame, catalogue: Catalogue) -> tuple[CountryBrief, pd.Series]:
    """A country whose trigger is blind today (found in the scored panel, not named here)."""
    today = dt.datetime.now(dt.UTC).date()
    watched = list(load_config(CONFIG).general.countries)
    scored = score_panel(observations, catalogue, as_of=today, countries=watched)
    blind_rows = scored.countries[scored.countries["trigger_state"] == "blind"]
    assert not blind_rows.empty, "the snapshot has a watched country with a blind trigger today"
    code = str(blind_rows.index[0])
    made = build_brief(
        scored, catalogue, code, name=code, history=pd.DataFrame(), generated_at=MADE
    )
    return made, blind_rows.loc[code]


def test_the_headline_is_the_scored_row(kaz: CountryBrief, panel: PanelScore) -> None:
    row = panel.countries.loc["KAZ"]
    assert kaz.as_of == DAY and pd.Timestamp(panel.as_of).date() == DAY
    assert kaz.composite == pytest.approx(row["composite"])
    assert kaz.headline == describe_composite(row)
    assert kaz.band == row["band"] and kaz.band_colour == row["band_colour"]
    assert kaz.vulnerability == pytest.approx(row["vulnerability"])
    assert kaz.trigger_state == row["trigger_state"]
    assert kaz.trigger == pytest.approx(row["trigger"])
    assert kaz.trigger_text == describe_trigger(row)
    assert (kaz.inputs_present, kaz.inputs_expected, kaz.inputs_stale) == (
        row["inputs_present"],
        row["inputs_expected"],
        row["inputs_stale"],
    )
    assert kaz.methodology_version == content.METHODOLOGY_VERSION


def test_pillars_and_drivers_are_the_panels(kaz: CountryBrief, panel: PanelScore) -> None:
    pillars = panel.pillars[panel.pillars["country"] == "KAZ"]
    by_name = {line.name: line for line in kaz.pillars}
    names = {pillar.id: pillar.name for pillar in load_config(CONFIG).catalogue().pillars}
    assert len(by_name) == len(pillars)
    for item in pillars.itertuples():
        line = by_name[names[item.pillar]]
        if pd.isna(item.score):
            assert line.score is None and line.note == "no data", "missing is never a zero"
        else:
            assert line.score == pytest.approx(item.score)
    kinds = [line.kind for line in kaz.pillars]
    assert kinds == sorted(kinds, key=lambda kind: kind != "trigger"), "trigger pillars first"

    contributions = panel.contributions[panel.contributions["country"] == "KAZ"]
    top = contributions.dropna(subset=["contribution"]).nlargest(
        content.TOP_DRIVERS, "contribution"
    )
    assert [line.points for line in kaz.drivers] == pytest.approx(top["contribution"].tolist())
    assert kaz.drivers[0].points >= kaz.drivers[-1].points


def test_sources_carry_their_data_dates(kaz: CountryBrief, panel: PanelScore) -> None:
    contributions = panel.contributions[
        (panel.contributions["country"] == "KAZ") & panel.contributions["value"].notna()
    ]
    for line in kaz.sources:
        rows = contributions[
            contributions["source"].fillna("").replace("", "derived") == line.source
        ]
        assert line.inputs == len(rows)
        assert line.newest == pd.Timestamp(rows["period"].max()).date()
        assert line.oldest == pd.Timestamp(rows["period"].min()).date()
    assert sum(line.inputs for line in kaz.sources) == len(contributions)


def test_the_trend_is_the_replayed_composite(kaz: CountryBrief, history: pd.DataFrame) -> None:
    assert len(kaz.trend) == len(history)
    assert [day for day, _ in kaz.trend] == [pd.Timestamp(day).date() for day in history["date"]]
    assert [value for _, value in kaz.trend] == pytest.approx(history["composite"].tolist())
    assert kaz.trend[-1][0] == DAY


def test_a_blind_trigger_is_blind_never_zero(blind: tuple[CountryBrief, pd.Series]) -> None:
    made, row = blind
    assert made.blind and made.trigger is None
    assert made.composite_high == pytest.approx(row["composite_high"])
    assert "trigger blind" in made.headline
    triggers = [line for line in made.pillars if line.kind == "trigger"]
    assert triggers and all(line.score is None and line.note == "blind" for line in triggers)
    summary = dict(content.summary_rows(made))
    assert summary["Trigger"].startswith("trigger blind")
    text = brief_html(made)
    assert "Trigger blind." in text
    pdf_text = "".join(
        page.extract_text() for page in pypdf.PdfReader(io.BytesIO(brief_pdf(made))).pages
    )
    assert "Trigger blind." in pdf_text and "blind" in pdf_text


def test_an_unscored_country_says_so(panel: PanelScore, catalogue: Catalogue) -> None:
    made = build_brief(
        panel, catalogue, "ATA", name="Antarctica", history=pd.DataFrame(), generated_at=MADE
    )
    assert not made.scored and made.composite is None
    assert dict(content.summary_rows(made))["Composite risk (0–10)"] == "no score"
    assert "no score" in brief_html(made)


# --------------------------------------------------------------------------------------------
# HTML: every stored string escaped


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attributes: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes += [name for name, _ in attrs]

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_the_html_escapes_hostile_names_and_sources(
    observations: pd.DataFrame, catalogue: Catalogue
) -> None:
    # SYNTHETIC: Kazakhstan's WGI rows relabelled with a hostile source name.
    hostile = observations[observations["country"].isin(["KAZ", "WLD"])].copy()
    hostile["source"] = hostile["source"].astype(str)
    hostile.loc[hostile["indicator"].astype(str).str.startswith("wgi_"), "source"] = HOSTILE_SOURCE
    scored = score_panel(hostile, catalogue, as_of=DAY, countries=["KAZ"])
    made = build_brief(
        scored, catalogue, "KAZ", name=HOSTILE_NAME, history=pd.DataFrame(), generated_at=MADE
    )
    assert HOSTILE_SOURCE in [line.source for line in made.sources], "the hostile source is listed"
    page = brief_html(made)
    assert "<script" not in page and "<img" not in page and 'onerror="' not in page
    parsed = _Elements()
    parsed.feed(page)
    assert "script" not in parsed.tags and "img" not in parsed.tags
    assert "onerror" not in parsed.attributes
    shown = "".join(parsed.text)
    assert HOSTILE_SOURCE in shown, "shown as text, exactly"
    assert HOSTILE_NAME in shown
    assert "default-src 'none'" in page, "a CSP forbids scripts even if something slipped through"


def test_the_html_draws_the_trend_as_inline_svg(kaz: CountryBrief) -> None:
    page = brief_html(kaz)
    svg = page[page.index("<svg") : page.index("</svg>")]
    polyline = re.search(r'<polyline points="([^"]+)"', svg)
    assert polyline is not None
    points = polyline.group(1).split()
    # One vertex per scored day (the weekly replay has no gaps for Kazakhstan).
    assert len(points) == sum(1 for _, value in kaz.trend if value is not None)
    external = re.findall(r"(?:src|href)=\"?(?:https?:)?//", page)
    assert not external, "no external resource"


# --------------------------------------------------------------------------------------------
# PDF: structure and text


def _check_xref(data: bytes) -> None:
    """Every xref entry points at its own `N 0 obj`, and startxref at the table."""
    start = int(data.rsplit(b"startxref", 1)[1].split()[0])
    assert data[start : start + 4] == b"xref"
    header = data[start:].split(b"\n", 2)[1]
    first, count = (int(part) for part in header.split())
    assert first == 0
    table = data[start:].split(b"\n", 2)[2]
    for number in range(count):
        entry = table[number * 20 : (number + 1) * 20]
        assert len(entry) == 20 and entry.endswith(b"\r\n")
        offset, generation, kind = entry[:10], entry[11:16], entry[17:18]
        if number == 0:
            assert kind == b"f"
            continue
        assert kind == b"n" and generation == b"00000"
        assert data[int(offset) :].startswith(f"{number} 0 obj".encode())


def test_the_pdf_parses_strictly_with_exact_offsets(kaz: CountryBrief) -> None:
    data = brief_pdf(kaz)
    assert data.startswith(b"%PDF-1.4\n") and data.rstrip().endswith(b"%%EOF")
    _check_xref(data)
    reader = pypdf.PdfReader(io.BytesIO(data), strict=True)
    assert len(reader.pages) >= 1
    assert reader.metadata is not None and reader.metadata.title == content.title_line(kaz)


def test_the_pdf_text_is_the_brief(kaz: CountryBrief) -> None:
    reader = pypdf.PdfReader(io.BytesIO(brief_pdf(kaz)))
    text = " ".join(page.extract_text() for page in reader.pages)
    flat = " ".join(text.split())
    assert content.title_line(kaz) in flat
    assert kaz.headline in flat
    assert f"As of {kaz.as_of:%d %B %Y}" in flat
    assert f"methodology v{kaz.methodology_version}" in flat
    for line in kaz.pillars:
        assert line.name in flat
    for source in kaz.sources:
        assert source.source in flat
    assert kaz.drivers[0].name in flat


def test_the_pdf_draws_vector_lines(kaz: CountryBrief) -> None:
    reader = pypdf.PdfReader(io.BytesIO(brief_pdf(kaz)))
    stream = reader.pages[0].get_contents()
    assert stream is not None
    operations = stream.get_data().decode("latin-1")
    # The trend is one path with a vertex per scored day: a moveto then linetos, stroked.
    longest = max(operations.split("\n"), key=lambda line: line.count(" l"))
    assert longest.count(" l") == sum(1 for _, value in kaz.trend if value is not None) - 1
    assert longest.endswith(" S")
    assert " re f" in operations, "pillar bars and band stripes are filled rectangles"


def test_non_latin_text_never_breaks_the_pdf(kaz: CountryBrief) -> None:
    assert to_winansi("Đà Nẵng → Łódź ≥ 5") == "Dà Nang -> Lódz >= 5".encode("cp1252")
    assert to_winansi("Ελλάδα 中国 🔥") == b"?????? ?? ?"
    assert to_winansi("Côte d’Ivoire – “Türkiye”") == "Côte d’Ivoire – “Türkiye”".encode("cp1252")
    assert pdf_string("a (b) \\ c") == b"(a \\(b\\) \\\\ c)"
    from dataclasses import replace

    renamed = replace(kaz, name="Türkiye · Việt Nam · Ελλάδα · 中国 🔥")
    reader = pypdf.PdfReader(io.BytesIO(brief_pdf(renamed)), strict=True)
    text = reader.pages[0].extract_text()
    assert "Türkiye · Viet Nam · ?????? · ?? ?" in text


def test_a_document_without_pages_is_still_valid() -> None:
    data = PdfDocument(title="(empty) \\ test").to_bytes()
    _check_xref(data)
    reader = pypdf.PdfReader(io.BytesIO(data), strict=True)
    assert len(reader.pages) == 1
    assert reader.metadata is not None and reader.metadata.title == "(empty) \\ test"
