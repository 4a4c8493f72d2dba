"""The volunteer service certificate (志愿服务证明) as a PDF: a one-page certificate
with the approved hours, the issuing station and a place for its seal, then an appendix
listing every approved service record (a table that breaks across pages and repeats
its header).

``GET /api/v1/timebank/volunteers/{user_id}/certificate?from=YYYY-MM-DD&to=YYYY-MM-DD``
with the device token. A volunteer downloads their own; staff and up of the
stations the volunteer serves (or where the hours were served) any of theirs.
Periods are calendar days in Asia/Shanghai.

Text from the database (names, ids, station names, activity titles) is printed, never
obeyed, and Chinese and Latin get their fonts: ``server/pdf.py`` says how.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from litestar import Request, Response, get
from sqlalchemy import select

from server.auth import resolve_grant
from server.domain import training as training_module
from server.domain.stations import stations as station_rows
from server.domain.volunteers import hour_logs, parse_time, service_activities, volunteers
from server.openapi import TOKEN, answer, errors
from server.pdf import LATIN_BOLD, LATIN_FONT, MUTED, RULE, Styles, markup, ruled_table
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

    text = Styles(
        size=10.5, leading=15,
        title={"fontSize": 26, "leading": 34, "alignment": TA_CENTER},
        subtitle={"fontName": LATIN_BOLD, "fontSize": 12, "leading": 16, "alignment": TA_CENTER,
                  "textColor": MUTED},
        body={"fontSize": 13, "leading": 23, "firstLineIndent": 26},
        body_en={"fontSize": 10, "leading": 14, "textColor": MUTED},
        label={"fontSize": 10.5, "leading": 14},
        label_en={"fontSize": 8, "leading": 10, "textColor": MUTED},
        cell={"fontSize": 9.5, "leading": 12.5},
        cell_right={"fontSize": 9.5, "leading": 12.5, "alignment": TA_RIGHT},
        heading={"fontSize": 14, "leading": 20},
        heading_en={"fontName": LATIN_BOLD, "fontSize": 10, "leading": 14, "textColor": MUTED},
        note={"fontSize": 8.5, "leading": 12, "textColor": MUTED},
        seal={"fontSize": 12, "leading": 16, "alignment": TA_CENTER, "textColor": RULE},
        footer={"fontSize": 8, "leading": 10, "textColor": MUTED},
    )
    para = text.para
    rule = colors.HexColor(RULE)

    def two(zh: str, en: str, style: str = "label") -> list[Flowable]:
        """A Chinese line with its English beneath."""
        return [para(zh, style), para(en, f"{style}_en" if f"{style}_en" in text else style)]

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
    details_table = ruled_table(details, [45 * mm, width - 45 * mm], header=False)
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
        ruled_table(type_rows, [width - 40 * mm, 40 * mm], total_row=True),
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
                  ruled_table(month_rows, [50 * mm, 30 * mm], repeat=1), Spacer(1, 6 * mm)]
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
    training_table = ruled_table(training_rows, [*fixed_t[:2], width - sum(fixed_t), *fixed_t[2:]],
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
    records_table = ruled_table(record_rows, columns, repeat=1, total_row=bool(summary.records))
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
                         ParagraphStyle("page", parent=text.styles["footer"], alignment=TA_RIGHT))
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
