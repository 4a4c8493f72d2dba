"""The volunteer service certificate: approved hours by month and by service type, as a PDF.

``GET /api/v1/timebank/volunteers/{user_id}/certificate?from=YYYY-MM-DD&to=YYYY-MM-DD``
with the device token. A volunteer downloads their own; staff and up of the
stations the volunteer serves (or where the hours were served) any of theirs.
Chinese renders with reportlab's built-in CID font (STSong-Light), so no font
files ship with the server. Periods are calendar days in Asia/Shanghai.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from litestar import Request, Response, get
from sqlalchemy import select

from server.auth import resolve_grant
from server.domain.stations import stations as station_rows
from server.domain.volunteers import hour_logs, parse_time, volunteers
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
                   hour_logs.c.approved_minutes)
            .where(hour_logs.c.volunteer_id == user_id, hour_logs.c.status == "approved")
            .order_by(hour_logs.c.check_in_at)
        )).all()
        places = (await conn.execute(
            select(station_rows.c.code, station_rows.c.district).where(
                station_rows.c.code.in_({*json.loads(volunteer["stations"]), *(r.station for r in rows)}))
        )).all()
    summary = ServiceSummary(volunteer=dict(volunteer), start=start, end=end,
                             districts={str(code): str(district) for code, district in places})
    for check_in_at, service_type, station, minutes in rows:
        local = parse_time(check_in_at).astimezone(SHANGHAI)
        if (start and local.date() < start) or (end and local.date() > end):
            continue
        summary.sessions += 1
        summary.minutes += int(minutes or 0)
        summary.by_month[local.strftime("%Y-%m")] += int(minutes or 0)
        summary.by_type[service_type] += int(minutes or 0)
        summary.stations.add(station)
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


def render_certificate(summary: ServiceSummary, issued_at: dt.datetime) -> bytes:
    """The PDF. Chinese in STSong-Light, figures and English in Helvetica."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    if "STSong-Light" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    zh = ParagraphStyle("zh", fontName="STSong-Light", fontSize=11, leading=16)
    title = ParagraphStyle("title", parent=zh, fontSize=20, leading=28, alignment=1)
    en = ParagraphStyle("en", fontName="Helvetica", fontSize=10, leading=14)
    volunteer = summary.volunteer
    period_from = summary.start.isoformat() if summary.start else "—"
    period_to = summary.end.isoformat() if summary.end else issued_at.date().isoformat()
    stations = ", ".join(json.loads(volunteer["stations"]))

    def table(rows: list[list[Any]]) -> Table:
        built = Table(rows, colWidths=[90 * mm, 50 * mm])
        built.setStyle(TableStyle([
            ("FONT", (0, 0), (-1, -1), "STSong-Light", 10),
            ("FONT", (1, 1), (-1, -1), "Helvetica", 10),
            ("GRID", (0, 0), (-1, -1), 0.5, colors.grey),
            ("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke),
            ("ALIGN", (1, 1), (-1, -1), "RIGHT"),
        ]))
        return built

    month_rows: list[list[Any]] = [["月份 Month", "时数 Hours"]]
    month_rows += [[month, _hours(m)] for month, m in sorted(summary.by_month.items())]
    type_rows: list[list[Any]] = [["服务类型 Service type", "时数 Hours"]]
    for service_type, m in sorted(summary.by_type.items()):
        name_zh, name_en = SERVICE_TYPE_NAMES.get(service_type, (service_type, service_type))
        type_rows.append([f"{name_zh} {name_en}", _hours(m)])

    story = [
        Paragraph("志愿服务证明", title),
        Paragraph("Volunteer Service Certificate", ParagraphStyle("t2", parent=en, fontSize=14, alignment=1)),
        Spacer(1, 8 * mm),
        Paragraph(f"兹证明志愿者 {volunteer['name']}(编号 {volunteer['user_id']})"
                  f"在 {period_from} 至 {period_to} 期间,经服务站点审核确认的志愿服务如下。", zh),
        Paragraph(f"Volunteer ID {volunteer['user_id']}, stations {stations}. "
                  f"Period {period_from} to {period_to}. "
                  f"Approved sessions: {summary.sessions}. Total hours: {_hours(summary.minutes)}", en),
        Spacer(1, 6 * mm),
        Paragraph(f"累计服务时数:{_hours(summary.minutes)} 小时,共 {summary.sessions} 次", zh),
        Spacer(1, 4 * mm),
        table(month_rows),
        Spacer(1, 6 * mm),
        table(type_rows),
        Spacer(1, 10 * mm),
        Paragraph(f"开具时间 Issued: {issued_at.astimezone(SHANGHAI).strftime('%Y-%m-%d %H:%M')} (Asia/Shanghai)", zh),
        Paragraph("仅统计经站点工作人员批准、未被冲销的服务时数。"
                  "Only hours approved by station staff and not reversed are counted.", zh),
    ]
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=A4, title="志愿服务证明 Volunteer Service Certificate",
                            author="Social Work + Charity", subject=volunteer["user_id"])
    doc.build(story)
    return buffer.getvalue()


@get("/api/v1/timebank/volunteers/{user_id:str}/certificate")
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
    pdf = render_certificate(summary, dt.datetime.now(dt.UTC))
    return Response(pdf, media_type="application/pdf", headers={
        "Content-Disposition": 'attachment; filename="volunteer-certificate.pdf"',
        "Cache-Control": "no-store",
    })


def _not_yours() -> ProtocolError:
    return ProtocolError(403, "forbidden", "无权限查看该志愿者的服务证明",
                         "not allowed to read this volunteer's certificate")


CERTIFICATE_ROUTES = [certificate_route]
