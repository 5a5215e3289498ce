"""The country brief as one self-contained HTML page (inline CSS, the trend as inline SVG).

Every string from the store, a source or the configuration goes through `html.escape`; the page
carries no script and a Content-Security-Policy that forbids any, so even a value that slipped
through could not run. Numbers and colours are formatted here (colours checked as #rrggbb).
"""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Iterable, Sequence

from dashboard import brief as content
from dashboard.brief import CountryBrief

_HEX_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
NEUTRAL = "#8a94a6"
CHART_WIDTH, CHART_HEIGHT = 640, 220
_MARGIN_LEFT, _MARGIN_RIGHT, _MARGIN_TOP, _MARGIN_BOTTOM = 34, 12, 10, 26

_STYLE = """
body { font-family: Helvetica, Arial, sans-serif; color: #1f2933; margin: 2rem auto;
       max-width: 760px; line-height: 1.4; padding: 0 1rem; }
h1 { font-size: 1.6rem; margin: 0 0 .2rem; }
h2 { font-size: 1.1rem; margin: 1.6rem 0 .5rem; border-bottom: 1px solid #d9dee5; }
.meta { color: #5f6b7a; font-size: .85rem; }
.band { display: inline-block; padding: .1rem .5rem; border-radius: .3rem; font-weight: bold; }
.blind { background: #fdebd3; color: #8a4b00; padding: .5rem .7rem; border-radius: .3rem; }
table { border-collapse: collapse; width: 100%; font-size: .88rem; }
th, td { text-align: left; padding: .25rem .4rem; border-bottom: 1px solid #eef0f3;
         vertical-align: top; }
th { color: #5f6b7a; font-weight: normal; }
td.num { text-align: right; white-space: nowrap; }
.track { background: #eef0f3; height: .8rem; width: 100%; border-radius: .2rem; }
.fill { height: .8rem; border-radius: .2rem; }
footer { margin-top: 2rem; color: #5f6b7a; font-size: .8rem; }
"""


def escape(value: object) -> str:
    """Any value as HTML text (quotes included: safe in an attribute too)."""
    return html.escape(str(value), quote=True)


def safe_colour(colour: str, fallback: str = NEUTRAL) -> str:
    """`colour` when it is #rrggbb, else `fallback` (nothing else reaches a style attribute)."""
    return colour if _HEX_COLOUR.match(colour or "") else fallback


def band_colour(brief: CountryBrief, score: float | None) -> str:
    """The colour of the band `score` falls in (neutral grey when there is no score)."""
    if score is None:
        return NEUTRAL
    colour = NEUTRAL
    for band in brief.bands:
        if score >= band.lower:
            colour = band.colour
    return safe_colour(colour)


def _is_dark(colour: str) -> bool:
    red, green, blue = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.299 * red + 0.587 * green + 0.114 * blue < 150


def _table(headers: Sequence[str], rows: Iterable[Sequence[str]], numeric: set[int]) -> str:
    head = "".join(f"<th>{escape(header)}</th>" for header in headers)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="num">{escape(cell)}</td>'
            if index in numeric
            else f"<td>{escape(cell)}</td>"
            for index, cell in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def trend_svg(brief: CountryBrief) -> str:
    """The composite over the last year as an inline SVG line chart (0–10, band stripes)."""
    width, height = CHART_WIDTH, CHART_HEIGHT
    left, right = _MARGIN_LEFT, width - _MARGIN_RIGHT
    top, bottom = _MARGIN_TOP, height - _MARGIN_BOTTOM
    scale = content.TrendScale(brief.as_of, left, right, top, bottom)
    start, end = scale.start, brief.as_of
    x_of, y_of = scale.x, scale.y

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="100%" role="img" aria-label="{escape(content.trend_caption(brief))}">'
    ]
    uppers = [band.lower for band in brief.bands[1:]] + [10.0]
    for band, upper in zip(brief.bands, uppers, strict=True):
        y_top, y_bottom = y_of(upper), y_of(band.lower)
        parts.append(
            f'<rect x="{left}" y="{y_top:.1f}" width="{right - left}" '
            f'height="{max(y_bottom - y_top, 0):.1f}" fill="{safe_colour(band.colour)}" '
            'fill-opacity="0.12"/>'
        )
    for tick in range(0, 11, 2):
        y = y_of(float(tick))
        parts.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{right}" y2="{y:.1f}" stroke="#d9dee5" '
            'stroke-width="0.5"/>'
            f'<text x="{left - 6}" y="{y + 3:.1f}" font-size="10" text-anchor="end" '
            f'fill="#5f6b7a">{tick}</text>'
        )
    for day, anchor in (
        (start, "start"),
        (scale.middle, "middle"),
        (end, "end"),
    ):
        parts.append(
            f'<text x="{x_of(day):.1f}" y="{height - 8}" font-size="10" text-anchor="{anchor}" '
            f'fill="#5f6b7a">{escape(content.day_text(day))}</text>'
        )
    for segment in _segments(brief):
        points = " ".join(f"{x_of(day):.1f},{y_of(value):.1f}" for day, value in segment)
        if len(segment) == 1:
            day, value = segment[0]
            parts.append(
                f'<circle cx="{x_of(day):.1f}" cy="{y_of(value):.1f}" r="2" fill="#1f2933"/>'
            )
        else:
            parts.append(
                f'<polyline points="{points}" fill="none" stroke="#1f2933" stroke-width="1.6"/>'
            )
    parts.append("</svg>")
    return "".join(parts)


def _segments(brief: CountryBrief) -> list[list[tuple[dt.date, float]]]:
    # A day without a score breaks the line: a gap, never a drop to zero.
    segments: list[list[tuple[dt.date, float]]] = [[]]
    for day, value in brief.trend:
        if value is None:
            if segments[-1]:
                segments.append([])
        else:
            segments[-1].append((day, value))
    return [segment for segment in segments if segment]


def _pillar_table(brief: CountryBrief) -> str:
    rows = []
    for line, (name, kind, shown) in zip(brief.pillars, content.pillar_rows(brief), strict=True):
        width = 0.0 if line.score is None else min(max(line.score, 0.0), 10.0) * 10
        colour = band_colour(brief, line.score)
        bar = (
            f'<div class="track"><div class="fill" style="width:{width:.0f}%;'
            f'background:{colour}"></div></div>'
        )
        rows.append(
            f"<tr><td>{escape(name)}</td><td>{escape(kind)}</td>"
            f'<td class="num">{escape(shown)}</td><td style="width:40%">{bar}</td></tr>'
        )
    head = "<tr><th>Pillar</th><th>Kind</th><th>Score (0–10)</th><th></th></tr>"
    return f"<table><thead>{head}</thead><tbody>{''.join(rows)}</tbody></table>"


def brief_html(brief: CountryBrief) -> str:
    """The brief as a complete HTML document (UTF-8 text)."""
    title = content.title_line(brief)
    colour = safe_colour(brief.band_colour)
    foreground = "#ffffff" if _is_dark(colour) else "#1f2933"
    summary = "".join(
        f"<tr><th>{escape(label)}</th><td>{escape(value)}</td></tr>"
        for label, value in content.summary_rows(brief)
    )
    band = (
        f'<span class="band" style="background:{colour};color:{foreground}">'
        f"{escape(brief.band.upper())}</span>"
        if brief.band
        else ""
    )
    blind = (
        '<p class="blind"><strong>Trigger blind.</strong> '
        f"{escape(brief.trigger_text)}. We cannot see whether a shock is under way: the "
        "composite is a range, from what can be seen up to what a full trigger would make of "
        "this vulnerability.</p>"
        if brief.blind
        else ""
    )
    sections = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta http-equiv="Content-Security-Policy" '
        "content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">",
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        f'<p class="meta">{escape(content.as_of_line(brief))}</p>',
        f"<p><strong>{escape(brief.headline)}</strong> {band}</p>",
        blind,
        f"<table><tbody>{summary}</tbody></table>",
        "<h2>Trend: the composite over the last year</h2>",
        trend_svg(brief),
        f'<p class="meta">{escape(content.trend_caption(brief))}</p>',
    ]
    if brief.pillars:
        sections += ["<h2>Pillars</h2>", _pillar_table(brief)]
    if brief.drivers:
        sections += [
            "<h2>Top drivers</h2>",
            '<p class="meta">The inputs that add the most points to the composite.</p>',
            _table(content.DRIVER_HEADERS, content.driver_rows(brief), numeric={2, 4, 5}),
        ]
    if brief.sources:
        sections += [
            "<h2>Sources and data dates</h2>",
            _table(content.SOURCE_HEADERS, content.source_rows(brief), numeric={1, 2}),
        ]
    sections += [
        f"<footer><p>{escape(content.FOOTER)}</p>",
        f"<p>Methodology version {escape(brief.methodology_version)}.</p></footer>",
        "</body></html>",
    ]
    return "\n".join(section for section in sections if section)
