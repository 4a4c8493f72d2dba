"""The volunteer service certificate (志愿服务证明) as a PDF: a one-page certificate
with the approved hours, the issuing station and a place for its seal, then an appendix
listing every approved service record (a table that breaks across pages and repeats
its header).

``GET /api/v1/timebank/volunteers/{user_id}/certificate?from=YYYY-MM-DD&to=YYYY-MM-DD``
with the device token. A volunteer downloads their own; staff and up of the
stations the volunteer serves (or where the hours were served) any of theirs.
Periods are calendar days in Asia/Shanghai.

Text from the database (names, ids, station names, activity titles) is never reportlab
markup: every paragraph is built by :func:`markup`, which escapes each run, so a name
such as ``<img src="/etc/passwd"/>`` is printed, not obeyed. Chinese is set in
reportlab's built-in CID font STSong-Light (no font files ship with the server; PDF
readers supply the face) and Latin text in Helvetica; a character neither covers (e.g.
a rare name character outside the Basic Multilingual Plane) prints as 〓, the
typesetter's mark for a missing glyph, instead of an empty box.
"""

from __future__ import annotations

import asyncio
import bisect
import datetime as dt
import io
import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import escape

from litestar import Request, Response, get
from sqlalchemy import select

from server.auth import resolve_grant
from server.domain import training as training_module
from server.domain.stations import stations as station_rows
from server.domain.volunteers import hour_logs, parse_time, service_activities, volunteers
from server.openapi import TOKEN, answer, errors
from server.state import AppState, query_day, state_of
from sync.errors import ProtocolError
from sync.scopes import STAFF, Grant

SHANGHAI = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")
SERVICE_TYPE_NAMES = {
    "elder_care": ("扶老", "elder care"),
    "hardship_relief": ("助困", "hardship relief"),
    "orphan_care": ("恤孤", "orphan care"),
    "disability_support": ("助残", "disability support"),
    "community_governance": ("社区治理", "community governance"),
    "event_support": ("活动保障", "event support"),
    "training": ("培训", "training"),
}

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


@dataclass(frozen=True)
class ServiceRecord:
    """One approved session, as the appendix lists it."""

    day: dt.date
    """Check-in day in Asia/Shanghai."""
    station: str
    title: str
    service_type: str
    minutes: int


@dataclass(frozen=True)
class TrainingLine:
    """One training attended, as the certificate's "培训" section lists it."""

    day: dt.date
    topic: str
    speaker: str
    occasion: str
    station: str
    hours: float


OCCASION_NAMES = {
    "charity_day": ("中华慈善日", "China Charity Day"),
    "social_work_week": ("社会工作宣传周", "Social work week"),
    "99_giving_day": ("99公益日", "99 Giving Day"),
    "other": ("", ""),
}


@dataclass
class ServiceSummary:
    """Approved service of one volunteer in a period (minutes)."""

    volunteer: dict[str, Any]
    start: dt.date | None
    end: dt.date | None
    sessions: int = 0
    minutes: int = 0
    by_month: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    by_type: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    stations: set[str] = field(default_factory=set)
    districts: dict[str, str] = field(default_factory=dict)
    """The district of each station the volunteer serves or served at: who acts for a
    station (a district manager) depends on the station's own district."""
    station_names: dict[str, str] = field(default_factory=dict)
    records: list[ServiceRecord] = field(default_factory=list)
    trainings: list[TrainingLine] = field(default_factory=list)
    """Trainings attended in the period (docs/training.md): their hours are training,
    listed apart from service hours and not added to them."""

    @property
    def training_hours(self) -> float:
        return sum(t.hours for t in self.trainings)

    def station_name(self, code: str) -> str:
        return self.station_names.get(code) or code


async def service_summary(
    state: AppState, user_id: str, start: dt.date | None, end: dt.date | None
) -> ServiceSummary:
    """Approved logs whose check-in falls in [start, end] (Shanghai days)."""
    async with state.db.read() as conn:
        volunteer = (await conn.execute(select(volunteers).where(volunteers.c.user_id == user_id))).mappings().first()
        if volunteer is None:
            raise ProtocolError(404, "not_found", f"找不到志愿者:{user_id}", f"no such volunteer: {user_id}")
        rows = (await conn.execute(
            select(hour_logs.c.check_in_at, hour_logs.c.service_type, hour_logs.c.station,
                   hour_logs.c.approved_minutes, service_activities.c.title)
            .select_from(hour_logs.outerjoin(
                service_activities, service_activities.c.id == hour_logs.c.activity_id))
            .where(hour_logs.c.volunteer_id == user_id, hour_logs.c.status == "approved")
            .order_by(hour_logs.c.check_in_at, hour_logs.c.id)
        )).all()
        attended = await training_module.attended(conn, user_id)
        codes = {*json.loads(volunteer["stations"]), volunteer["station"], *(r.station for r in rows)}
        places = (await conn.execute(
            select(station_rows.c.code, station_rows.c.district, station_rows.c.name)
            .where(station_rows.c.code.in_(codes))
        )).all()
    summary = ServiceSummary(volunteer=dict(volunteer), start=start, end=end,
                             districts={str(code): str(district) for code, district, _ in places},
                             station_names={str(code): str(name) for code, _, name in places})
    for check_in_at, service_type, station, minutes, title in rows:
        local = parse_time(check_in_at).astimezone(SHANGHAI)
        if (start and local.date() < start) or (end and local.date() > end):
            continue
        summary.sessions += 1
        summary.minutes += int(minutes or 0)
        summary.by_month[local.strftime("%Y-%m")] += int(minutes or 0)
        summary.by_type[service_type] += int(minutes or 0)
        summary.stations.add(station)
        summary.records.append(ServiceRecord(local.date(), station, title or "", service_type,
                                             int(minutes or 0)))
    for row in attended:
        day = parse_time(row["starts_at"]).astimezone(SHANGHAI).date()
        if (start and day < start) or (end and day > end):
            continue
        summary.trainings.append(TrainingLine(day, str(row["topic"]), str(row["speaker"]),
                                                str(row["occasion"]), str(row["station"]),
                                                int(row["minutes"] or 0) / 60))
    return summary


def may_read(grant: Grant, summary: ServiceSummary) -> bool:
    volunteer = summary.volunteer
    if grant.user_id == volunteer["user_id"]:
        return True
    if grant.rank < STAFF:
        return False
    stations = {*json.loads(volunteer["stations"]), *summary.stations}
    return any(grant.rank_at(code, summary.districts.get(code)) >= STAFF for code in stations)


def _hours(minutes: int) -> str:
    return f"{minutes / 60:.2f}"


def _training_hours(hours: float) -> str:
    return f"{hours:.2f}"


def _type_names(service_type: str) -> tuple[str, str]:
    return SERVICE_TYPE_NAMES.get(service_type, (service_type, service_type))


def period_text(start: dt.date | None, end: dt.date | None, today: dt.date) -> tuple[str, str]:
    """The period in words: "截至 … 累计" when it has no start."""
    until = (end or today).isoformat()
    if start is None:
        return f"截至 {until} 累计", f"up to {until}"
    return f"{start.isoformat()} 至 {until}", f"{start.isoformat()} to {until}"


def issuer_of(summary: ServiceSummary) -> tuple[str, str]:
    """The issuing organisation: the volunteer's home station, the one that registers
    them and whose staff approve their hours, with its district."""
    home = str(summary.volunteer["station"])
    district = summary.districts.get(home) or str(summary.volunteer.get("district") or "")
    return summary.station_name(home), district


def render_certificate(summary: ServiceSummary, issued_at: dt.datetime) -> bytes:
    """The PDF: Chinese first, English beneath, in A4 portrait."""
    from reportlab.lib import colors
    from reportlab.lib.enums import TA_CENTER, TA_RIGHT
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen.canvas import Canvas
    from reportlab.platypus import (
        Flowable,
        KeepTogether,
        PageBreak,
        Paragraph,
        SimpleDocTemplate,
        Spacer,
        Table,
        TableStyle,
    )

    if CJK_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(CJK_FONT))
    ink, muted, rule = colors.HexColor("#1a1a1a"), colors.HexColor("#555555"), colors.HexColor("#9a9a9a")
    base = ParagraphStyle("base", fontName=LATIN_FONT, fontSize=10.5, leading=15, textColor=ink,
                          wordWrap="CJK")
    styles = {
        "title": ParagraphStyle("title", parent=base, fontSize=26, leading=34, alignment=TA_CENTER),
        "subtitle": ParagraphStyle("subtitle", parent=base, fontName=LATIN_BOLD, fontSize=12,
                                   leading=16, alignment=TA_CENTER, textColor=muted),
        "body": ParagraphStyle("body", parent=base, fontSize=13, leading=23, firstLineIndent=26),
        "body_en": ParagraphStyle("body_en", parent=base, fontSize=10, leading=14, textColor=muted),
        "label": ParagraphStyle("label", parent=base, fontSize=10.5, leading=14),
        "label_en": ParagraphStyle("label_en", parent=base, fontSize=8, leading=10, textColor=muted),
        "cell": ParagraphStyle("cell", parent=base, fontSize=9.5, leading=12.5),
        "cell_right": ParagraphStyle("cell_right", parent=base, fontSize=9.5, leading=12.5,
                                     alignment=TA_RIGHT),
        "heading": ParagraphStyle("heading", parent=base, fontSize=14, leading=20),
        "heading_en": ParagraphStyle("heading_en", parent=base, fontName=LATIN_BOLD, fontSize=10,
                                     leading=14, textColor=muted),
        "note": ParagraphStyle("note", parent=base, fontSize=8.5, leading=12, textColor=muted),
        "seal": ParagraphStyle("seal", parent=base, fontSize=12, leading=16, alignment=TA_CENTER,
                               textColor=rule),
        "footer": ParagraphStyle("footer", parent=base, fontSize=8, leading=10, textColor=muted),
    }

    latin_styles = {key: ParagraphStyle(f"{key}_latin", parent=style, wordWrap=None)
                    for key, style in styles.items()}

    def para(text: str, style: str) -> Paragraph:
        """``text`` printed literally; Latin-only text wraps at spaces (the CJK line
        breaker would cut English words anywhere)."""
        runs = font_runs(text)
        chosen = styles if any(font == CJK_FONT for font, _ in runs) else latin_styles
        return Paragraph(markup(text), chosen[style])

    def two(zh: str, en: str, style: str = "label") -> list[Flowable]:
        """A Chinese line with its English beneath."""
        return [para(zh, style), para(en, f"{style}_en" if f"{style}_en" in styles else style)]

    volunteer = summary.volunteer
    name, user_id = str(volunteer["name"]), str(volunteer["user_id"])
    issued_day = issued_at.astimezone(SHANGHAI).date()
    period_zh, period_en = period_text(summary.start, summary.end, issued_day)
    issuer, district = issuer_of(summary)
    served = [*json.loads(volunteer["stations"])]
    served += sorted(summary.stations - set(served))
    station_list = "、".join(
        summary.station_name(code) + ("" if summary.station_name(code) == code else f"（{code}）")
        for code in served)
    total = _hours(summary.minutes)
    times = "1 session" if summary.sessions == 1 else f"{summary.sessions} sessions"
    width = A4[0] - 40 * mm  # the frame: 20 mm margins

    def grid(rows: list[list[Any]], widths: list[float], *, header: bool = True,
             repeat: int = 0, total_row: bool = False) -> Table:
        built = Table(rows, colWidths=widths, repeatRows=repeat, hAlign="LEFT")
        style: list[tuple[Any, ...]] = [
            ("GRID", (0, 0), (-1, -1), 0.4, rule),
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ("TOPPADDING", (0, 0), (-1, -1), 3),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
        ]
        if header:
            style.append(("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")))
        if total_row:
            style.append(("BACKGROUND", (0, -1), (-1, -1), colors.HexColor("#f6f6f6")))
        built.setStyle(TableStyle(style))
        return built

    def head(zh: str, en: str, right: bool = False) -> list[Flowable]:
        return [para(zh, "cell_right" if right else "cell"), para(en, "cell_right" if right else "cell")]

    # -- page 1: the certificate ---------------------------------------------------------
    details = [
        [two("志愿者", "Volunteer"), para(name, "cell")],
        [two("志愿者编号", "Volunteer ID"), para(user_id, "cell")],
        [two("服务站点", "Stations"), para(station_list or "—", "cell")],
        [two("统计期间", "Period"), [para(period_zh, "cell"), para(period_en, "cell")]],
        [two("服务次数", "Approved sessions"), para(str(summary.sessions), "cell")],
        [two("累计服务时数", "Total hours"), para(f"{total} 小时 hours", "cell")],
        [two("培训时数", "Training hours"),
         para(f"{_training_hours(summary.training_hours)} 小时 hours"
              f"（{len(summary.trainings)} 次培训 trainings）", "cell")],
    ]
    details_table = grid(details, [45 * mm, width - 45 * mm], header=False)
    details_table.setStyle(TableStyle([("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#f4f4f4"))]))

    type_rows: list[list[Any]] = [[head("服务类型", "Service type"), head("时数", "Hours", right=True)]]
    for service_type, minutes in sorted(summary.by_type.items()):
        type_zh, type_en = _type_names(service_type)
        type_rows.append([para(f"{type_zh} {type_en}", "cell"), para(_hours(minutes), "cell_right")])
    type_rows.append([para("合计 Total", "cell"), para(total, "cell_right")])

    seal_box = Table([[[para("盖章", "seal"), para("Seal", "seal")]]], colWidths=[38 * mm],
                     rowHeights=[38 * mm])
    seal_box.setStyle(TableStyle([("BOX", (0, 0), (-1, -1), 0.8, rule),
                                  ("VALIGN", (0, 0), (-1, -1), "MIDDLE")]))
    issuer_lines = [
        *two("出具单位（盖章）：" + issuer + (f"（{district}）" if district else ""),
             "Issued by (seal): " + issuer + (f" ({district})" if district else "")),
        Spacer(1, 4 * mm),
        *two(f"出具日期：{issued_day.year}年{issued_day.month}月{issued_day.day}日",
             f"Date of issue: {issued_day.isoformat()}"),
    ]
    signature = Table([[issuer_lines, seal_box]], colWidths=[width - 44 * mm, 44 * mm])
    signature.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                                   ("ALIGN", (1, 0), (1, 0), "RIGHT")]))

    story: list[Flowable] = [
        para("志愿服务证明", "title"),
        para("Volunteer Service Certificate", "subtitle"),
        Spacer(1, 8 * mm),
        para(f"兹证明志愿者 {name}（志愿者编号：{user_id}）{'' if summary.start is None else '于 '}"
             f"{period_zh}{'' if summary.start is None else ' 期间'}参加志愿服务 {summary.sessions} 次，"
             f"经服务站点审核确认的志愿服务时数共计 {total} 小时。特此证明。", "body"),
        Spacer(1, 2 * mm),
        para(f"This is to certify that {name} (volunteer ID {user_id}) served as a volunteer in "
             f"{times} {'up to ' + (summary.end or issued_day).isoformat() if summary.start is None else 'from ' + period_en}, "
             f"and that the service stations approved {total} hours of service in total.", "body_en"),
        Spacer(1, 8 * mm),
        details_table,
        Spacer(1, 6 * mm),
        grid(type_rows, [width - 40 * mm, 40 * mm], total_row=True),
        Spacer(1, 3 * mm),
        para("本证明仅统计经站点工作人员审核批准、未被冲销的志愿服务时数；服务记录明细见附表。", "note"),
        para("Only hours approved by station staff and not reversed are counted; "
             "the service records are listed in the appendix.", "note"),
        Spacer(1, 8 * mm),
        KeepTogether([signature]),
        # -- the appendix: every record ------------------------------------------------------
        PageBreak(),
        *two("附表 服务记录明细", "Appendix: service records", "heading"),
        Spacer(1, 3 * mm),
    ]
    if summary.by_month:
        month_rows: list[list[Any]] = [[head("月份", "Month"), head("时数", "Hours", right=True)]]
        month_rows += [[para(month, "cell"), para(_hours(m), "cell_right")]
                       for month, m in sorted(summary.by_month.items())]
        story += [*two("按月统计", "Hours by month"), Spacer(1, 2 * mm),
                  grid(month_rows, [50 * mm, 30 * mm], repeat=1), Spacer(1, 6 * mm)]
    # -- training (docs/training.md): apart from the service hours, never added to them ------
    training_rows: list[list[Any]] = [[
        head("序号", "No."), head("日期", "Date"), head("培训", "Training"),
        head("主讲", "Speaker"), head("时数", "Hours", right=True)]]
    for number, course in enumerate(summary.trainings, 1):
        occasion_zh, occasion_en = OCCASION_NAMES.get(course.occasion, ("", ""))
        topic = [para(course.topic, "cell")]
        if occasion_zh:
            topic.append(para(f"{occasion_zh} {occasion_en}", "cell"))
        training_rows.append([str(number), course.day.isoformat(), topic,
                              para(course.speaker, "cell"), _training_hours(course.hours)])
    if summary.trainings:
        training_rows.append([para("", "cell"), para("合计 Total", "cell"), "", "",
                              para(_training_hours(summary.training_hours), "cell_right")])
    else:
        training_rows.append([para("该期间没有参加培训的记录。No training attended in this period.",
                                   "cell"), "", "", "", ""])
    fixed_t = [12 * mm, 23 * mm, 34 * mm, 16 * mm]  # no., date, speaker, hours
    training_table = grid(training_rows, [*fixed_t[:2], width - sum(fixed_t), *fixed_t[2:]],
                          repeat=1, total_row=bool(summary.trainings))
    training_table.setStyle(TableStyle([
        ("SPAN", (1, -1) if summary.trainings else (0, -1), (-2, -1)),
        ("FONT", (0, 1), (-1, -1), LATIN_FONT, 9.5),
        ("ALIGN", (-1, 1), (-1, -1), "RIGHT"),
    ]))
    story += [*two("培训", "Training"), Spacer(1, 2 * mm), training_table,
              Spacer(1, 2 * mm),
              para("培训时数为参加站点组织的讲座和课程并在现场签到的时数，单列，不计入志愿服务时数。", "note"),
              para("Training hours are lectures and courses attended (signed in at the door); "
                   "they are listed apart and not added to the service hours.", "note"),
              Spacer(1, 6 * mm)]

    record_rows: list[list[Any]] = [[
        head("序号", "No."), head("日期", "Date"), head("服务站点", "Station"),
        head("活动", "Activity"), head("服务类型", "Service type"), head("时数", "Hours", right=True)]]
    for number, record in enumerate(summary.records, 1):
        type_zh, type_en = _type_names(record.service_type)
        # Our own ASCII figures go in as plain strings (never markup): each Paragraph costs
        # about a millisecond to wrap, and a long table is wrapped again at every page break.
        record_rows.append([
            str(number), record.day.isoformat(),
            para(summary.station_name(record.station), "cell"), para(record.title, "cell"),
            [para(type_zh, "cell"), para(type_en, "cell")], _hours(record.minutes),
        ])
    if summary.records:
        record_rows.append([para("", "cell"), para("合计 Total", "cell"), "", "", "",
                            para(total, "cell_right")])
    else:
        record_rows.append([para("该期间没有经审核批准的服务记录。No approved service in this period.",
                                 "cell"), "", "", "", "", ""])
    fixed = [12 * mm, 23 * mm, 37 * mm, 36 * mm, 16 * mm]  # no., date, station, type, hours
    columns = [*fixed[:3], width - sum(fixed), *fixed[3:]]  # the activity takes the rest
    records_table = grid(record_rows, columns, repeat=1, total_row=bool(summary.records))
    span = (1, -1) if summary.records else (0, -1)
    records_table.setStyle(TableStyle([
        ("SPAN", span, (-2, -1)),
        ("FONT", (0, 1), (-1, -1), LATIN_FONT, 9.5),
        ("ALIGN", (-1, 1), (-1, -1), "RIGHT"),
    ]))
    story += [*two("服务记录", "Service records"), Spacer(1, 2 * mm), records_table]

    footer_text = f"志愿服务证明 Volunteer Service Certificate · {name} · {user_id}"

    def footer(canvas: Canvas, doc: Any) -> None:
        canvas.saveState()
        canvas.setStrokeColor(rule)
        canvas.setLineWidth(0.4)
        canvas.line(20 * mm, 15 * mm, A4[0] - 20 * mm, 15 * mm)
        left = para(footer_text, "footer")
        left.wrapOn(canvas, width - 30 * mm, 10 * mm)
        left.drawOn(canvas, 20 * mm, 10 * mm)
        page = Paragraph(markup(f"第 {doc.page} 页 Page {doc.page}"),
                         ParagraphStyle("page", parent=styles["footer"], alignment=TA_RIGHT))
        page.wrapOn(canvas, 30 * mm, 10 * mm)
        page.drawOn(canvas, A4[0] - 50 * mm, 10 * mm)
        canvas.restoreState()

    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=20 * mm, rightMargin=20 * mm,
                            topMargin=20 * mm, bottomMargin=22 * mm,
                            title="志愿服务证明 Volunteer Service Certificate",
                            author=issuer, subject=user_id)
    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return buffer.getvalue()


@get("/api/v1/timebank/volunteers/{user_id:str}/certificate", security=TOKEN,
     tags=["timebank"], summary="A volunteer's service certificate (PDF)",
     description="`?from=`/`?to=` (YYYY-MM-DD) bound the period; the volunteer or staff.",
     responses={**answer("the certificate", media_type="application/pdf"),
                **errors(400, 401, 403, 404)})
async def certificate_route(request: Request[Any, Any, Any], user_id: str) -> Response[bytes]:
    state = state_of(request)
    grant = await resolve_grant(state.db, request.headers.get("authorization"))
    start = query_day(request.query_params.get("from"), "from")
    end = query_day(request.query_params.get("to"), "to")
    if start and end and end < start:
        raise ProtocolError(400, "invalid_args", "结束日期早于开始日期", "`to` is before `from`", field="to")
    if grant.user_id != user_id and grant.rank < STAFF:  # before the look-up: no probing of ids
        raise _not_yours()
    summary = await service_summary(state, user_id, start, end)
    if not may_read(grant, summary):
        raise _not_yours()
    # rendering is CPU work (about 8 ms per listed record): off the event loop
    pdf = await asyncio.to_thread(render_certificate, summary, dt.datetime.now(dt.UTC))
    return Response(pdf, media_type="application/pdf", headers={
        "Content-Disposition": 'attachment; filename="volunteer-certificate.pdf"',
        "Cache-Control": "no-store",
    })


def _not_yours() -> ProtocolError:
    return ProtocolError(403, "forbidden", "无权限查看该志愿者的服务证明",
                         "not allowed to read this volunteer's certificate")


CERTIFICATE_ROUTES = [certificate_route]
