"""A small PDF 1.4 writer: pages of text in the standard Helvetica fonts, lines and rectangles.

Enough for a printable brief with no dependency: no embedded fonts (Helvetica and Helvetica-Bold
are two of the fourteen fonts every PDF reader has), WinAnsi text, Flate-compressed page streams,
and a cross-reference table whose byte offsets are counted as the file is written.

Text outside Windows-1252 never fails: accents are stripped ("Nẵng" → "Nang", "Đ" → "D"), a few
symbols get an ASCII spelling ("→" → "->"), anything else becomes "?" (`to_winansi`).

Coordinates are PDF points (1/72 inch) from the page's top-left corner (the writer flips them
to PDF's bottom-left origin), so layout code reads top to bottom.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field

A4 = (595.28, 841.89)
Colour = tuple[float, float, float]
BLACK: Colour = (0.0, 0.0, 0.0)

# Symbols Windows-1252 lacks, spelled in ASCII (others keep their cp1252 glyph: – — ’ “ ” • …).
_SPELLED = {
    "→": "->",
    "←": "<-",
    "↑": "^",
    "↓": "v",
    "≥": ">=",
    "≤": "<=",
    "−": "-",
    "×": "x",
    "≈": "~",
    # Letters with a stroke have no decomposition to strip.
    "Đ": "D",
    "đ": "d",
    "Ł": "L",
    "ł": "l",
    "ı": "i",
    "Ħ": "H",
    "ħ": "h",
    "\u00a0": " ",
    "\u202f": " ",
}
# Approximate Helvetica advance widths (em fraction) by character class, erring wide so wrapped
# lines never overrun their box. Digits are exact (all Helvetica digits are 0.556 em).
_NARROW = set("ijl'|")
_THIN = set('ftI .,:;!()[]-r/"`')
_WIDE = set("mwMW@%")
_BOLD_FACTOR = 1.07


def to_winansi(text: str) -> bytes:
    """`text` in Windows-1252 (WinAnsiEncoding): never raises, whatever the script."""
    out = bytearray()
    for char in text:
        char = _SPELLED.get(char, char)
        try:
            out += char.encode("cp1252")
            continue
        except UnicodeEncodeError:
            pass
        # Accented letters lose their accent (NFKD then drop the combining marks).
        stripped = "".join(
            part for part in unicodedata.normalize("NFKD", char) if not unicodedata.combining(part)
        )
        try:
            out += stripped.encode("cp1252") if stripped else b"?"
        except UnicodeEncodeError:
            out += b"?"
    return bytes(out)


def pdf_string(text: str) -> bytes:
    """`text` as a PDF literal string `( … )`, WinAnsi, with every special byte escaped."""
    out = bytearray(b"(")
    for byte in to_winansi(text):
        if byte in b"\\()":
            out += b"\\" + bytes([byte])
        elif byte < 32 or byte > 126:
            out += f"\\{byte:03o}".encode("ascii")
        else:
            out.append(byte)
    out += b")"
    return bytes(out)


def text_width(text: str, size: float, *, bold: bool = False) -> float:
    """The (slightly generous) width of `text` in points at font size `size`."""
    total = 0.0
    for char in text:
        if char.isdigit():
            total += 0.556
        elif char in _NARROW:
            total += 0.24
        elif char in _THIN:
            total += 0.34
        elif char in _WIDE:
            total += 0.92
        elif char.isupper():
            total += 0.74
        else:
            total += 0.57
    return total * size * (_BOLD_FACTOR if bold else 1.0)


def wrap(text: str, width: float, size: float, *, bold: bool = False) -> list[str]:
    """`text` broken into lines no wider than `width` points (a word longer than a line is cut)."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        current = ""
        for word in paragraph.split():
            candidate = f"{current} {word}" if current else word
            if text_width(candidate, size, bold=bold) <= width:
                current = candidate
                continue
            if current:
                lines.append(current)
            while text_width(word, size, bold=bold) > width and len(word) > 1:
                cut = len(word)
                while cut > 1 and text_width(word[:cut], size, bold=bold) > width:
                    cut -= 1
                lines.append(word[:cut])
                word = word[cut:]
            current = word
        lines.append(current)
    return lines


def _number(value: float) -> str:
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _colour(colour: Colour) -> str:
    return " ".join(_number(min(max(part, 0.0), 1.0)) for part in colour)


@dataclass
class PdfPage:
    """One page's drawing operations (coordinates from the top-left, in points)."""

    width: float
    height: float
    operations: list[bytes] = field(default_factory=list)

    def _y(self, y: float) -> float:
        return self.height - y

    def text(
        self,
        x: float,
        y: float,
        text: str,
        *,
        size: float = 10.0,
        bold: bool = False,
        colour: Colour = BLACK,
    ) -> None:
        """Draw `text` with its baseline at (`x`, `y`)."""
        font = "/F2" if bold else "/F1"
        start = f"BT {font} {_number(size)} Tf {_colour(colour)} rg "
        place = f"{_number(x)} {_number(self._y(y))} Td "
        self.operations.append((start + place).encode("ascii") + pdf_string(text) + b" Tj ET")

    def line(
        self,
        points: Sequence[tuple[float, float]],
        *,
        width: float = 0.5,
        colour: Colour = BLACK,
    ) -> None:
        """Stroke a straight line through `points` (two or more)."""
        if len(points) < 2:
            return
        first, *rest = points
        path = f"{_number(first[0])} {_number(self._y(first[1]))} m " + " ".join(
            f"{_number(x)} {_number(self._y(y))} l" for x, y in rest
        )
        self.operations.append(f"{_number(width)} w {_colour(colour)} RG {path} S".encode("ascii"))

    def rect(
        self,
        x: float,
        y: float,
        width: float,
        height: float,
        *,
        fill: Colour | None = None,
        stroke: Colour | None = None,
    ) -> None:
        """A rectangle whose top-left corner is (`x`, `y`), filled and/or outlined."""
        if fill is None and stroke is None:
            return
        box = f"{_number(x)} {_number(self._y(y + height))} {_number(width)} {_number(height)} re"
        parts = []
        if fill is not None:
            parts.append(f"{_colour(fill)} rg")
        if stroke is not None:
            parts.append(f"0.5 w {_colour(stroke)} RG")
        operator = "B" if fill is not None and stroke is not None else "f" if fill else "S"
        self.operations.append(" ".join([*parts, box, operator]).encode("ascii"))

    def stream(self) -> bytes:
        """The page's content stream (uncompressed)."""
        return b"\n".join(self.operations) + b"\n"


@dataclass
class PdfDocument:
    """A PDF under construction: add pages, then `to_bytes()`."""

    title: str = ""
    size: tuple[float, float] = A4
    created: dt.datetime | None = None
    pages: list[PdfPage] = field(default_factory=list)

    def new_page(self) -> PdfPage:
        """A blank page appended to the document."""
        page = PdfPage(*self.size)
        self.pages.append(page)
        return page

    def to_bytes(self) -> bytes:
        """The complete file: header, objects, cross-reference table, trailer."""
        if not self.pages:
            self.new_page()
        # Object numbers: 1 catalog, 2 page tree, 3-4 fonts, 5 info, then (page, contents) pairs.
        first_page = 6
        page_numbers = [first_page + 2 * index for index in range(len(self.pages))]
        objects: dict[int, bytes] = {
            1: b"<< /Type /Catalog /Pages 2 0 R >>",
            2: (
                b"<< /Type /Pages /Kids ["
                + b" ".join(f"{number} 0 R".encode() for number in page_numbers)
                + f"] /Count {len(self.pages)} >>".encode()
            ),
            3: _font(b"Helvetica"),
            4: _font(b"Helvetica-Bold"),
            5: self._info(),
        }
        width, height = self.size
        for number, page in zip(page_numbers, self.pages, strict=True):
            objects[number] = (
                f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {_number(width)} "
                f"{_number(height)}] /Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> "
                f"/Contents {number + 1} 0 R >>"
            ).encode()
            compressed = zlib.compress(page.stream())
            objects[number + 1] = (
                f"<< /Length {len(compressed)} /Filter /FlateDecode >>\nstream\n".encode()
                + compressed
                + b"\nendstream"
            )
        # A binary comment after the header tells transfer tools the file is binary.
        out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
        offsets: dict[int, int] = {}
        for number in sorted(objects):
            offsets[number] = len(out)
            out += f"{number} 0 obj\n".encode() + objects[number] + b"\nendobj\n"
        count = max(objects) + 1
        xref_at = len(out)
        out += f"xref\n0 {count}\n".encode()
        # Each entry is exactly 20 bytes: 10-digit offset, 5-digit generation, type, CR LF.
        out += b"0000000000 65535 f\r\n"
        for number in range(1, count):
            out += f"{offsets[number]:010d} 00000 n\r\n".encode()
        out += (
            f"trailer\n<< /Size {count} /Root 1 0 R /Info 5 0 R >>\nstartxref\n{xref_at}\n%%EOF\n"
        ).encode()
        return bytes(out)

    def _info(self) -> bytes:
        created = self.created or dt.datetime.now(dt.UTC)
        stamp = created.strftime("D:%Y%m%d%H%M%SZ")
        return (
            b"<< /Title "
            + pdf_string(self.title)
            + b" /Producer (Flashpoint) /CreationDate "
            + pdf_string(stamp)
            + b" >>"
        )


def _font(name: bytes) -> bytes:
    return b"<< /Type /Font /Subtype /Type1 /BaseFont /" + name + b" /Encoding /WinAnsiEncoding >>"
