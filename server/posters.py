"""A4 posters for a station's table, one layout for all of them (``A4Poster``): a kicker,
a title, a table of facts with bilingual labels, and a QR code to a public page beside what
scanning it does.

- A campaign's poster (募捐公示牌, ``render_poster``): what the law asks to be shown where
  the public is asked for money (the organisation and its qualification, the plan's filing
  number, purpose, period, how to check), the QR code to the campaign's public page, where
  the figures are live. ``GET /public/campaigns/{id}/poster.pdf``.
- A micro-venture round's poster (``server/rounds_public.py``) uses the same layout.

Text is set through ``server/pdf.py`` (escaped, Chinese in STSong-Light).
"""

from __future__ import annotations

import io
from typing import Any

from server.pdf import LATIN_BOLD, MUTED, RULE, Styles


def _qr_drawing(url: str, size: float) -> Any:
    """The QR code as vector squares (segno's matrix, no image files)."""
    import segno
    from reportlab.graphics.shapes import Drawing, Rect
    from reportlab.lib import colors

    qr = segno.make(url, error="m", micro=False)
    matrix = [list(row) for row in qr.matrix_iter(scale=1, border=2)]
    cells = len(matrix)
    unit = size / cells
    drawing = Drawing(size, size)
    for y, row in enumerate(matrix):
        x = 0
        while x < cells:
            if row[x]:
                start = x
                while x < cells and row[x]:
                    x += 1
                drawing.add(Rect(start * unit, size - (y + 1) * unit, (x - start) * unit, unit,
                                 fillColor=colors.black, strokeColor=None, strokeWidth=0))
            else:
                x += 1
    return drawing


class A4Poster:
    """One poster's styles and building blocks; ``pdf`` lays out the page.

    ``title_size`` is the title's font size (a long round title wants it a little smaller).
    """

    def __init__(self, *, title_size: float = 30) -> None:
        from reportlab.lib import colors
        from reportlab.lib.enums import TA_CENTER
        from reportlab.lib.pagesizes import A4
        from reportlab.lib.units import mm

        self.colors = colors
        self.mm = mm
        self.width = A4[0] - 36 * mm
        self.text = Styles(
            size=11, leading=15,
            kicker={"fontSize": 13, "leading": 18, "alignment": TA_CENTER, "textColor": MUTED},
            title={"fontSize": title_size, "leading": title_size + 10, "alignment": TA_CENTER},
            org={"fontSize": 15, "leading": 21, "alignment": TA_CENTER},
            label={"fontSize": 10.5, "leading": 14},
            label_en={"fontSize": 7.5, "leading": 9.5, "textColor": MUTED},
            value={"fontSize": 13, "leading": 18},
            call={"fontSize": 18, "leading": 25},
            big={"fontName": LATIN_BOLD, "fontSize": 14, "leading": 19},
            note={"fontSize": 9, "leading": 13, "textColor": MUTED},
        )
        self.para = self.text.para

    def label(self, zh: str, en: str) -> list[Any]:
        return [self.para(zh, "label"), self.para(en, "label_en")]

    def spacer(self, height_mm: float) -> Any:
        from reportlab.platypus import Spacer

        return Spacer(1, height_mm * self.mm)

    def facts(self, rows: list[list[Any]]) -> Any:
        """The table of facts: a grey label column, the values beside."""
        from reportlab.platypus import Table, TableStyle

        mm = self.mm
        table = Table(rows, colWidths=[42 * mm, self.width - 42 * mm], hAlign="CENTER")
        table.setStyle(TableStyle([
            ("GRID", (0, 0), (-1, -1), 0.5, self.colors.HexColor(RULE)),
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ("BACKGROUND", (0, 0), (0, -1), self.colors.HexColor("#f3f3f3")),
            ("TOPPADDING", (0, 0), (-1, -1), 4), ("BOTTOMPADDING", (0, 0), (-1, -1), 6),
        ]))
        return table

    def scan_block(self, url: str, qr_mm: float, beside: list[Any]) -> Any:
        """The QR code to ``url`` with ``beside`` to its right, and the address under them."""
        from reportlab.platypus import Table, TableStyle

        mm = self.mm
        qr_size = qr_mm * mm
        block = Table([[
            _qr_drawing(url, qr_size),
            [*beside, self.spacer(2), self.para(url, "note")],
        ]], colWidths=[qr_size + 6 * mm, self.width - qr_size - 6 * mm], hAlign="CENTER")
        block.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                                   ("LEFTPADDING", (0, 0), (0, 0), 0)]))
        return block

    def pdf(self, story: list[Any], *, title: str, author: str, subject: str) -> bytes:
        from reportlab.lib.pagesizes import A4
        from reportlab.platypus import SimpleDocTemplate

        mm = self.mm
        buffer = io.BytesIO()
        doc = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm,
                                topMargin=16 * mm, bottomMargin=14 * mm,
                                title=title, author=author, subject=subject)
        doc.build(story)
        return buffer.getvalue()


def render_poster(page: dict[str, Any], url: str, receipt_url: str) -> bytes:
    """The poster of ``page`` (``reports.campaign_page``); ``url`` is its public page."""
    poster = A4Poster()
    para, label = poster.para, poster.label
    period = f"{page['starts_on']} 至 {page['ends_on']}"
    raises_for = "、".join(page["funds"] + page["projects"]) or "—"
    stations = "、".join(s["name"] for s in page["stations"]) or "—"
    rows = [
        [label("募捐主体(慈善组织)", "organisation"), para(page["organisation"], "value")],
        [label("统一社会信用代码", "unified social credit code"),
         para(page["organisation_code"], "big")],
        [label("公开募捐资格", "qualification"),
         para(f"{page['qualification']}  证书编号 {page['certificate_number']}", "value")],
        [label("募捐方案备案编号", "filing number of the plan"), para(page["filing_number"], "big")],
        [label("募捐目的", "purpose"), para(page["purpose"], "value")],
        [label("募捐期限", "period"), para(period, "value")],
        [label("募集用于", "raising for"), para(raises_for, "value")],
        [label("募捐地点", "collected at"), para(stations, "value")],
    ]
    if page["matching"]:
        matched = "；".join(
            f"{r['sponsor']} 按每捐 1 元配捐 {r['ratio_percent'] / 100:g} 元,单笔最多 "
            f"{r['cap_per_gift_fen'] / 100:,.0f} 元,总额最多 {r['cap_total_fen'] / 100:,.0f} 元"
            f"({r['starts_on']} 至 {r['ends_on']})" for r in page["matching"])
        rows.append([label("配捐", "matched giving"), para(matched, "value")])
    check = poster.scan_block(url, 66, [
        para("扫码查看募捐信息与实时募款情况", "value"),
        para("Scan for this campaign's details and what it has raised so far", "note"),
        poster.spacer(3),
        para(f"查验方式:登录“慈善中国”({page['check_platform']})按备案编号 "
             f"{page['filing_number']} 查询本募捐方案;凭收据号与校验码在 {receipt_url} "
             "查询您的捐赠。", "note"),
        para("How to check: look up the filing number on China Charity (慈善中国), the "
             "national charity information platform; check your own gift with the receipt "
             f"number and code at {receipt_url}.", "note"),
    ])
    story = [
        para("公开募捐信息公示", "kicker"),
        para("Public fundraising notice", "kicker"),
        poster.spacer(4),
        para(page["name"], "title"),
        poster.spacer(2),
        para(page["organisation"], "org"),
        poster.spacer(7),
        poster.facts(rows),
        poster.spacer(8),
        check,
        poster.spacer(6),
        para("善款由上述慈善组织接收和管理,工作人员当场开具收据;请勿向个人账户转账。"
             "Gifts are received and held by the organisation above; staff give a receipt on "
             "the spot. Never pay into a personal account.", "note"),
    ]
    return poster.pdf(story, title=f"{page['name']} · 募捐公示", author=page["organisation"],
                      subject=page["filing_number"])


__all__ = ["A4Poster", "render_poster"]
