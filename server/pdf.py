"""What every PDF the server prints shares (reportlab): the fonts, how text enters a
paragraph, paragraph styles, and the ruled table.

Text from the database (names, ids, station names, titles) is never reportlab markup: every
paragraph is built by :func:`markup`, which escapes each run, so a name such as
``<img src="/etc/passwd"/>`` is printed, not obeyed. Chinese is set in reportlab's built-in
CID font STSong-Light (no font files ship with the server; PDF readers supply the face) and
Latin text in Helvetica; a character neither covers (e.g. a rare name character outside the
Basic Multilingual Plane) prints as 〓, the typesetter's mark for a missing glyph, instead
of an empty box.

The documents: the service certificate (``server/certificates.py``), the disclosure report
(``server/disclosures.py``), the year summary (``server/year_summary.py``), a project's
evaluation (``server/evaluation_pdf.py``) and the posters (``server/posters.py``).
reportlab is imported inside the functions: it is only needed when a PDF is asked for.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from typing import Any
from xml.sax.saxutils import escape

LATIN_FONT = "Helvetica"
LATIN_BOLD = "Helvetica-Bold"
CJK_FONT = "STSong-Light"
MISSING_GLYPH = "\u3013"  # 〓

# Unicode code points the CMap UniGB-UCS2-H (the encoding reportlab uses for STSong-Light)
# maps to a glyph of Adobe-GB1, taken from Adobe's cmap-resources: all of CJK Unified
# Ideographs 4E00-9FA5 and Extension A, CJK punctuation, full-width forms, pinyin vowels,
# Greek and Cyrillic. Characters outside it (Extension B and later, emoji) cannot be shown.
_CID_RANGES = """
    0020-007e 00a4-00a5 00a7-00a8 00b0-00b1 00d7 00e0-00e1 00e8-00ea 00ec-00ed 00f2-00f3
    00f7 00f9-00fa 00fc 0101 0113 011b 012b 014d 016b 01ce 01d0 01d2 01d4 01d6 01d8 01da
    01dc 01f9 02c7 02c9-02cb 02d9 0391-03a1 03a3-03a9 03b1-03c1 03c3-03c9 0401 0410-044f
    0451 1e3f 2010 2013-2016 2018-2019 201c-201d 2025-2026 2030 2032-2033 2035 203b 20ac
    2103 2105 2109 2116 2121 2160-216b 2170-2179 2190-2193 2196-2199 2208 220f 2211 2215
    221a 221d-2220 2223 2225 2227-222b 222e 2234-2237 223d 2248 224c 2252 2260-2261
    2264-2267 226e-226f 2295 2299 22a5 22bf 22ef 2312 2460-2469 2474-249b 2500-254b
    2550-2573 2581-258f 2593-2595 25a0-25a1 25b2-25b3 25bc-25bd 25c6-25c7 25cb 25ce-25cf
    25e2-25e5 2605-2606 2609 2640 2642 2e80-2e99 2e9b-2ef3 2f00-2fd5 2ff0-2ffb 3000-3003
    3005-3017 301d-301e 3021-3029 3033-3035 3038-303a 303e-303f 3041-3094 309b-309e
    30a1-30fe 3105-312c 31a0-31b7 3220-3229 3231 32a3 338e-338f 339c-339e 33a1 33c4 33ce
    33d1-33d2 33d5 3400-4db5 4e00-9fa5 e816-e818 e81e e826 e82b-e82c e831-e832 e83b e843
    e854-e855 e864 f92c fa0d-fa0f fa11 fa13-fa14 fa18 fa1f-fa21 fa23-fa24 fa27-fa29 fe30
    fe49-fe52 fe54-fe57 fe59-fe66 fe68-fe6b ff01-ff5e ffe0-ffe5
"""


def _parse_ranges(text: str) -> tuple[list[int], list[int]]:
    lows: list[int] = []
    highs: list[int] = []
    for token in text.split():
        low, _, high = token.partition("-")
        lows.append(int(low, 16))
        highs.append(int(high or low, 16))
    return lows, highs


_CID_LOWS, _CID_HIGHS = _parse_ranges(_CID_RANGES)


def cjk_font_has(char: str) -> bool:
    """STSong-Light (through UniGB-UCS2-H) has a glyph for ``char``."""
    code = ord(char)
    at = bisect.bisect_right(_CID_LOWS, code) - 1
    return at >= 0 and code <= _CID_HIGHS[at]


def latin_font_has(char: str) -> bool:
    """Helvetica (WinAnsiEncoding, i.e. cp1252) has a printable glyph for ``char``."""
    code = ord(char)
    if code < 0x20 or 0x7F <= code < 0xA0:
        return False
    try:
        char.encode("cp1252")
    except UnicodeEncodeError:
        return False
    return True


def font_runs(text: str) -> list[tuple[str, str]]:
    """``text`` cut into (font, characters) runs: Latin-1 text in Helvetica, Chinese in
    STSong-Light, control characters as spaces, anything neither font has as 〓."""
    runs: list[tuple[str, str]] = []
    for char in str(text):
        if latin_font_has(char):
            font, shown = LATIN_FONT, char
        elif cjk_font_has(char):
            font, shown = CJK_FONT, char
        elif ord(char) < 0x20 or 0x7F <= ord(char) < 0xA0:
            font, shown = LATIN_FONT, " "
        else:
            font, shown = CJK_FONT, MISSING_GLYPH
        if runs and runs[-1][0] == font:
            runs[-1] = (font, runs[-1][1] + shown)
        else:
            runs.append((font, shown))
    return runs


def markup(text: str) -> str:
    """Paragraph markup that prints ``text`` literally: each run escaped (``&``, ``<``,
    ``>``), Chinese runs switched to the CID font. The only way text enters a Paragraph."""
    return "".join(
        escape(run) if font == LATIN_FONT else f'<font face="{CJK_FONT}">{escape(run)}</font>'
        for font, run in font_runs(text)
    )


INK, MUTED, RULE = "#1a1a1a", "#555555", "#9a9a9a"
"""Body text, secondary text (English lines, notes), table rules."""


class Styles:
    """A document's paragraph styles over one base, and :meth:`para` to set text in them.

    ``named`` maps a style's name to its ``ParagraphStyle`` settings over the base
    (``fontSize``, ``leading``, ``alignment``, ...; ``textColor`` as a hex string). Each style
    has a Latin twin that wraps at spaces: the CJK line breaker would cut English words
    anywhere, so text without Chinese is set in the twin.
    """

    def __init__(self, *, font: str = LATIN_FONT, size: float = 10, leading: float = 14,
                 **named: dict[str, Any]) -> None:
        from reportlab.lib import colors
        from reportlab.lib.styles import ParagraphStyle
        from reportlab.pdfbase import pdfmetrics
        from reportlab.pdfbase.cidfonts import UnicodeCIDFont

        if CJK_FONT not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(UnicodeCIDFont(CJK_FONT))
        self.base = ParagraphStyle("base", fontName=font, fontSize=size, leading=leading,
                                   textColor=colors.HexColor(INK), wordWrap="CJK")
        self.styles: dict[str, Any] = {}
        for name, settings in named.items():
            if "textColor" in settings:
                settings = {**settings, "textColor": colors.HexColor(settings["textColor"])}
            self.styles[name] = ParagraphStyle(name, parent=self.base, **settings)
        self.latin = {name: ParagraphStyle(f"{name}_latin", parent=style, wordWrap=None)
                      for name, style in self.styles.items()}

    def __contains__(self, name: str) -> bool:
        return name in self.styles

    def para(self, text: str, style: str) -> Any:
        """``text`` printed literally (:func:`markup`) in ``style``."""
        from reportlab.platypus import Paragraph

        cjk = any(font == CJK_FONT for font, _ in font_runs(text))
        return Paragraph(markup(text), (self.styles if cjk else self.latin)[style])

    def figures(self, header: Sequence[tuple[str, str]], rows: Sequence[Sequence[Any]],
                widths: Sequence[float], numbers_from: int = 1) -> Any:
        """A table of figures: a header of (Chinese, English) pairs, then ``rows`` whose
        columns from ``numbers_from`` on are right-aligned (styles ``cell``, ``cell_right``
        and ``note``); the header repeats on every page."""
        head = [[self.para(zh, "cell"), self.para(en, "note")] for zh, en in header]
        body = [[self.para(str(value), "cell_right" if index >= numbers_from else "cell")
                 for index, value in enumerate(row)] for row in rows]
        return ruled_table([head, *body], list(widths), repeat=1)


def ruled_table(rows: list[list[Any]], widths: list[float], *, header: bool = True,
                total_row: bool = False, padded: bool = True, repeat: int = 0) -> Any:
    """A table with thin rules: a grey header row, optionally a shaded total row last."""
    from reportlab.lib import colors
    from reportlab.platypus import Table, TableStyle

    table = Table(rows, colWidths=widths, repeatRows=repeat, hAlign="LEFT")
    style: list[tuple[Any, ...]] = [
        ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor(RULE)),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
    ]
    if padded:
        style += [("TOPPADDING", (0, 0), (-1, -1), 3), ("BOTTOMPADDING", (0, 0), (-1, -1), 4)]
    if header:
        style.append(("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")))
    if total_row:
        style.append(("BACKGROUND", (0, -1), (-1, -1), colors.HexColor("#f6f6f6")))
    table.setStyle(TableStyle(style))
    return table
