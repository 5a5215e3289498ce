"""The country brief as a printable A4 PDF (the same rows as the HTML; vector trend and bars).

Drawn with `dashboard.pdf_writer` (no dependency): text in Helvetica, the trend as vector lines
over band stripes, pillars as bars, tables wrapped to their columns, new pages as needed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from dashboard import brief as content
from dashboard.brief import CountryBrief
from dashboard.pdf_writer import BLACK, Colour, PdfDocument, PdfPage, wrap

MARGIN = 48.0
GREY: Colour = (0.37, 0.42, 0.48)
LIGHT: Colour = (0.85, 0.87, 0.9)
TRACK: Colour = (0.93, 0.94, 0.95)
BLIND_FILL: Colour = (0.99, 0.92, 0.83)
BLIND_TEXT: Colour = (0.54, 0.29, 0.0)
LINE_GAP = 1.35


def hex_colour(colour: str, fallback: Colour = GREY) -> Colour:
    """#rrggbb as an RGB triple in 0–1 (`fallback` for anything else)."""
    text = colour or ""
    if len(text) != 7 or not text.startswith("#"):
        return fallback
    try:
        return (int(text[1:3], 16) / 255, int(text[3:5], 16) / 255, int(text[5:7], 16) / 255)
    except ValueError:
        return fallback


def _tint(colour: Colour, share: float) -> Colour:
    red, green, blue = colour
    return (1 - share + share * red, 1 - share + share * green, 1 - share + share * blue)


class _Layout:
    """A cursor down the pages: each block asks for its height and gets a new page if needed."""

    def __init__(self, document: PdfDocument, footer: str) -> None:
        self.document = document
        self.footer = footer
        self.page: PdfPage = self._start_page()
        self.y = MARGIN

    @property
    def width(self) -> float:
        return self.page.width - 2 * MARGIN

    def _start_page(self) -> PdfPage:
        page = self.document.new_page()
        page.text(MARGIN, page.height - 24, self.footer, size=7, colour=GREY)
        return page

    def need(self, height: float) -> None:
        if self.y + height > self.page.height - MARGIN:
            self.page = self._start_page()
            self.y = MARGIN

    def paragraph(
        self, text: str, *, size: float = 9.5, bold: bool = False, colour: Colour = BLACK
    ) -> None:
        for line in wrap(text, self.width, size, bold=bold):
            self.need(size * LINE_GAP)
            self.y += size * LINE_GAP
            self.page.text(MARGIN, self.y, line, size=size, bold=bold, colour=colour)

    def heading(self, text: str) -> None:
        self.need(40)
        self.y += 20
        self.page.text(MARGIN, self.y, text, size=12, bold=True)
        self.y += 5
        self.page.line([(MARGIN, self.y), (MARGIN + self.width, self.y)], colour=LIGHT)
        self.y += 4

    def table(
        self, headers: Sequence[str], rows: Sequence[Sequence[str]], widths: Sequence[float]
    ) -> None:
        """Rows of cells wrapped to their column (widths are shares of the text width)."""
        size = 8.0
        columns = [share * self.width for share in widths]
        # Empty headers: a plain two-column list (the headline block), no header row.
        with_header = any(headers)
        for index, row in enumerate([tuple(headers), *rows] if with_header else list(rows)):
            header = with_header and index == 0
            cells = [
                wrap(cell, width - 4, size, bold=header)
                for cell, width in zip(row, columns, strict=True)
            ]
            height = max(len(lines) for lines in cells) * size * LINE_GAP + 4
            self.need(height)
            x = MARGIN
            for lines, width in zip(cells, columns, strict=True):
                for number, line in enumerate(lines, start=1):
                    self.page.text(
                        x,
                        self.y + number * size * LINE_GAP,
                        line,
                        size=size,
                        bold=header,
                        colour=GREY if header else BLACK,
                    )
                x += width
            self.y += height
            self.page.line([(MARGIN, self.y - 1), (MARGIN + self.width, self.y - 1)], colour=TRACK)


def _trend(layout: _Layout, brief: CountryBrief) -> None:
    height, left_pad, bottom_pad = 150.0, 22.0, 16.0
    layout.need(height + 8)
    page = layout.page
    left, right = MARGIN + left_pad, MARGIN + layout.width
    top, bottom = layout.y + 6, layout.y + height - bottom_pad
    scale = content.TrendScale(brief.as_of, left, right, top, bottom)
    start, end = scale.start, brief.as_of
    x_of, y_of = scale.x, scale.y

    uppers = [band.lower for band in brief.bands[1:]] + [10.0]
    for band, upper in zip(brief.bands, uppers, strict=True):
        page.rect(
            left,
            y_of(upper),
            right - left,
            max(y_of(band.lower) - y_of(upper), 0.0),
            fill=_tint(hex_colour(band.colour), 0.15),
        )
    for tick in range(0, 11, 2):
        y = y_of(float(tick))
        page.line([(left, y), (right, y)], width=0.3, colour=LIGHT)
        page.text(left - 14, y + 3, str(tick), size=7, colour=GREY)
    for day in (start, scale.middle, end):
        label = content.day_text(day)
        page.text(min(max(x_of(day) - 20, left), right - 42), bottom + 11, label, size=7)
    segment: list[tuple[float, float]] = []
    for day, value in [*brief.trend, (end + dt.timedelta(days=1), None)]:
        if value is None:
            # A day without a score ends the line: a gap, never a drop to zero.
            if len(segment) == 1:
                x, y = segment[0]
                page.rect(x - 1.2, y - 1.2, 2.4, 2.4, fill=BLACK)
            page.line(segment, width=1.3)
            segment = []
        else:
            segment.append((x_of(day), y_of(value)))
    layout.y += height
    layout.paragraph(content.trend_caption(brief), size=8, colour=GREY)


def _pillars(layout: _Layout, brief: CountryBrief) -> None:
    name_width, score_width = layout.width * 0.5, 50.0
    bar_left = MARGIN + name_width + score_width
    bar_width = layout.width - name_width - score_width
    for line, (name, _kind, shown) in zip(brief.pillars, content.pillar_rows(brief), strict=True):
        layout.need(16)
        page, y = layout.page, layout.y
        page.text(MARGIN, y + 11, name, size=8.5)
        page.text(MARGIN + name_width, y + 11, shown, size=8.5, bold=line.score is not None)
        page.rect(bar_left, y + 3, bar_width, 9, fill=TRACK)
        if line.score is not None:
            colour = GREY
            for band in brief.bands:
                if line.score >= band.lower:
                    colour = hex_colour(band.colour)
            page.rect(bar_left, y + 3, bar_width * min(max(line.score, 0), 10) / 10, 9, fill=colour)
        layout.y += 15


def brief_pdf(brief: CountryBrief) -> bytes:
    """The brief as the bytes of a PDF file."""
    document = PdfDocument(title=content.title_line(brief), created=brief.generated_at)
    layout = _Layout(
        document,
        footer=f"Flashpoint country brief · {brief.name} ({brief.country}) · as of "
        f"{brief.as_of:%d %b %Y} · methodology v{brief.methodology_version}",
    )
    layout.paragraph(content.title_line(brief), size=16, bold=True)
    layout.paragraph(content.as_of_line(brief), size=8, colour=GREY)
    layout.y += 8
    if brief.band:
        layout.need(24)
        page = layout.page
        colour = hex_colour(brief.band_colour)
        page.rect(MARGIN, layout.y, 8, 18, fill=colour)
        page.text(MARGIN + 14, layout.y + 13, brief.headline, size=13, bold=True)
        layout.y += 24
    if brief.blind:
        text = (
            f"Trigger blind. {brief.trigger_text}. We cannot see whether a shock is under way: "
            "the composite is a range, from what can be seen up to what a full trigger would "
            "make of this vulnerability."
        )
        lines = wrap(text, layout.width - 12, 9)
        height = len(lines) * 9 * LINE_GAP + 8
        layout.need(height)
        layout.page.rect(MARGIN, layout.y, layout.width, height, fill=BLIND_FILL)
        for number, line in enumerate(lines, start=1):
            layout.page.text(
                MARGIN + 6, layout.y + 2 + number * 9 * LINE_GAP, line, size=9, colour=BLIND_TEXT
            )
        layout.y += height + 4
    layout.table(("", ""), content.summary_rows(brief), (0.34, 0.66))
    layout.heading("Trend: the composite over the last year")
    _trend(layout, brief)
    if brief.pillars:
        layout.heading("Pillars (0-10)")
        layout.paragraph("Trigger pillars first, then the structural pillars.", size=8)
        _pillars(layout, brief)
    if brief.drivers:
        layout.heading("Top drivers")
        layout.paragraph("The inputs that add the most points to the composite.", size=8)
        layout.table(
            content.DRIVER_HEADERS,
            content.driver_rows(brief),
            (0.25, 0.17, 0.15, 0.11, 0.07, 0.07, 0.18),
        )
    if brief.sources:
        layout.heading("Sources and data dates")
        layout.table(
            content.SOURCE_HEADERS, content.source_rows(brief), (0.36, 0.1, 0.1, 0.22, 0.22)
        )
    layout.y += 10
    layout.paragraph(content.FOOTER, size=7.5, colour=GREY)
    layout.paragraph(f"Methodology version {brief.methodology_version}.", size=7.5, colour=GREY)
    return document.to_bytes()
