"""A campaign's poster (募捐公示牌) as a one-page A4 PDF for the station's table: what
the law asks to be shown where the public is asked for money (the organisation and its
qualification, the plan's filing number, purpose, period, how to check), and a QR code
to the campaign's public page, where the figures are live.

``GET /public/campaigns/{id}/poster.pdf``: public, like the page it points to. Text is
set with ``server.certificates.markup`` (escaped, Chinese in STSong-Light).
"""

from __future__ import annotations

import io
from typing import Any

from server.certificates import CJK_FONT, LATIN_BOLD, font_runs, markup


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


def render_poster(page: dict[str, Any], url: str, receipt_url: str) -> bytes:
    """The poster of ``page`` (``reports.campaign_page``); ``url`` is its public page."""
    from reportlab.lib import colors
    from reportlab.lib.enums import TA_CENTER
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    if CJK_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(CJK_FONT))
    ink, muted, rule = colors.HexColor("#1a1a1a"), colors.HexColor("#555555"), colors.HexColor("#9a9a9a")
    base = ParagraphStyle("base", fontName="Helvetica", fontSize=11, leading=15, textColor=ink,
                          wordWrap="CJK")
    styles = {
        "kicker": ParagraphStyle("kicker", parent=base, fontSize=13, leading=18,
                                 alignment=TA_CENTER, textColor=muted),
        "title": ParagraphStyle("title", parent=base, fontSize=30, leading=40, alignment=TA_CENTER),
        "org": ParagraphStyle("org", parent=base, fontSize=15, leading=21, alignment=TA_CENTER),
        "label": ParagraphStyle("label", parent=base, fontSize=10.5, leading=14),
        "label_en": ParagraphStyle("label_en", parent=base, fontSize=7.5, leading=9.5,
                                   textColor=muted),
        "value": ParagraphStyle("value", parent=base, fontSize=13, leading=18),
        "big": ParagraphStyle("big", parent=base, fontName=LATIN_BOLD, fontSize=14, leading=19),
        "note": ParagraphStyle("note", parent=base, fontSize=9, leading=13, textColor=muted),
        "scan": ParagraphStyle("scan", parent=base, fontSize=10, leading=14, alignment=TA_CENTER),
    }
    latin = {k: ParagraphStyle(f"{k}_latin", parent=v, wordWrap=None) for k, v in styles.items()}

    def para(text: str, style: str) -> Paragraph:
        chosen = styles if any(f == CJK_FONT for f, _ in font_runs(text)) else latin
        return Paragraph(markup(text), chosen[style])

    def label(zh: str, en: str) -> list[Paragraph]:
        return [para(zh, "label"), para(en, "label_en")]

    width = A4[0] - 36 * mm
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
    table = Table(rows, colWidths=[42 * mm, width - 42 * mm], hAlign="CENTER")
    table.setStyle(TableStyle([
        ("GRID", (0, 0), (-1, -1), 0.5, rule),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#f3f3f3")),
        ("TOPPADDING", (0, 0), (-1, -1), 4), ("BOTTOMPADDING", (0, 0), (-1, -1), 6),
    ]))
    qr_size = 66 * mm
    check = Table([[
        _qr_drawing(url, qr_size),
        [para("扫码查看募捐信息与实时募款情况", "value"),
         para("Scan for this campaign's details and what it has raised so far", "note"),
         Spacer(1, 3 * mm),
         para(f"查验方式:登录“慈善中国”({page['check_platform']})按备案编号 "
              f"{page['filing_number']} 查询本募捐方案;凭收据号与校验码在 {receipt_url} "
              "查询您的捐赠。", "note"),
         para("How to check: look up the filing number on China Charity (慈善中国), the "
              "national charity information platform; check your own gift with the receipt "
              f"number and code at {receipt_url}.", "note"),
         Spacer(1, 2 * mm), para(url, "note")],
    ]], colWidths=[qr_size + 6 * mm, width - qr_size - 6 * mm], hAlign="CENTER")
    check.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                               ("LEFTPADDING", (0, 0), (0, 0), 0)]))
    story = [
        para("公开募捐信息公示", "kicker"),
        para("Public fundraising notice", "kicker"),
        Spacer(1, 4 * mm),
        para(page["name"], "title"),
        Spacer(1, 2 * mm),
        para(page["organisation"], "org"),
        Spacer(1, 7 * mm),
        table,
        Spacer(1, 8 * mm),
        check,
        Spacer(1, 6 * mm),
        para("善款由上述慈善组织接收和管理,工作人员当场开具收据;请勿向个人账户转账。"
             "Gifts are received and held by the organisation above; staff give a receipt on "
             "the spot. Never pay into a personal account.", "note"),
    ]
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm,
                            topMargin=16 * mm, bottomMargin=14 * mm,
                            title=f"{page['name']} · 募捐公示", author=page["organisation"],
                            subject=page["filing_number"])
    doc.build(story)
    return buffer.getvalue()


qr_drawing = _qr_drawing
"""A QR code as vector squares (the round's poster uses it too: server/rounds_public.py)."""

__all__ = ["qr_drawing", "render_poster"]
