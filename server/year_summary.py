"""The year's summary (总结提高) for the bureau's year-end meeting: a place's year (the city,
a district or a station), its totals and its breakdown per district and per station, as a
PDF (reportlab, CJK font STSong-Light as in ``certificates.py``) and an Excel workbook
(openpyxl, every text cell neutralised as in ``exports.py``).

Every number comes from the dashboard's row queries (``server.dashboard``): the summary is
those rows grouped by month, by station and by district, so it agrees with the dashboard
and its drill-downs for the same place and year. No personal data: the same rows.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import io
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from litestar import Request, Response, get
from openpyxl import Workbook
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from server import audit, charts, dashboard, reports
from server.auth import resolve_grant
from server.domain.stations import stations
from server.exports import XLSX, neutralise
from server.openapi import TOKEN, answer, errors
from server.pdf import LATIN_BOLD, MUTED, RULE, Styles
from server.state import state_of
from sync.errors import ProtocolError

PDF = "application/pdf"


@dataclass
class PlaceLine:
    """One district's or station's year in the breakdown."""

    code: str
    name: str
    district: str
    money_fen: int = 0
    minutes: int = 0
    volunteers: int = 0
    credits_earned: int = 0
    credits_redeemed: int = 0
    goods_in: int = 0
    goods_out: int = 0


@dataclass
class YearSummary:
    year: int
    view: dashboard.View
    place_name: str
    figures: dict[str, Any]
    by_month: list[tuple[str, int, int]] = field(default_factory=list)
    """(month, money fen, minutes)"""
    districts: list[PlaceLine] = field(default_factory=list)
    stations: list[PlaceLine] = field(default_factory=list)
    made_at: str = ""


def _lines(rows: dict[str, list[dashboard.Row]], names: Mapping[str, tuple[str, str]],
           level: str) -> list[PlaceLine]:
    """Rows grouped by station (``level`` station) or district. A volunteer who served at
    two places counts at each (the totals count them once)."""
    lines: dict[str, PlaceLine] = {}

    def line(code: str | None) -> PlaceLine:
        code = code or ""
        if code not in lines:
            name, district = names.get(code, (code, code)) if level == "station" else (code, code)
            lines[code] = PlaceLine(code, name or "—", district or "—")
        return lines[code]

    def place(row: dashboard.Row) -> list[str]:
        value = row["station"] if level == "station" else row["district"]
        return str(value or "").split("、")

    income = dashboard.BY_NAME["money_by_month"]
    for row in income.rows(rows["income"]):
        line(place(row)[0]).money_fen += income.value(row)
    for row in rows["hours"]:
        line(place(row)[0]).minutes += int(row["minutes"])
    for row in rows["volunteers"]:
        for code in place(row):
            line(code).volunteers += 1
    for row in rows["credits"]:
        target = line(place(row)[0])
        if row["flow"] == "earned":
            target.credits_earned += int(row["credits_cents"])
        else:
            target.credits_redeemed += int(row["credits_cents"])
    received, handed = dashboard.BY_NAME["goods_received"], dashboard.BY_NAME["goods_handed_out"]
    for row in received.rows(rows["goods"]):
        line(place(row)[0]).goods_in += received.value(row)
    for row in handed.rows(rows["goods"]):
        line(place(row)[0]).goods_out += handed.value(row)
    return sorted(lines.values(), key=lambda p: (p.district, p.code))


async def year_summary(conn: AsyncConnection, view: dashboard.View, year: int) -> YearSummary:
    rows = await dashboard.load_sources(conn, view)
    figures = await dashboard.figures_of(conn, view, rows)
    station_names = {str(r.code): (str(r.name), str(r.district)) for r in await conn.execute(
        select(stations.c.code, stations.c.name, stations.c.district))}
    months: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for row in dashboard.BY_NAME["money_by_month"].rows(rows["income"]):
        months[row["month"]][0] += int(row["amount_fen"])
    for row in rows["hours"]:
        months[row["month"]][1] += int(row["minutes"])
    if view.station:
        place_name = station_names.get(view.station, (view.station, ""))[0]
    else:
        place_name = view.district or "全市"
    summary = YearSummary(year, view, place_name, figures,
                          [(m, v[0], v[1]) for m, v in sorted(months.items())])
    if view.level == "city":
        summary.districts = _lines(rows, station_names, "district")
    if view.level != "station":
        summary.stations = _lines(rows, station_names, "station")
    summary.made_at = dt.datetime.now(reports.SHANGHAI).strftime("%Y-%m-%d %H:%M")
    return summary


# ----------------------------------------------------------------------------- shared words

LEVEL_WORDS = {"city": ("全市", "city-wide"), "district": ("区", "district"),
               "station": ("站点", "station")}


def title_of(summary: YearSummary) -> tuple[str, str]:
    zh_level, en_level = LEVEL_WORDS[summary.view.level]
    suffix = "" if summary.view.level == "city" else f"（{zh_level}）"
    return (f"{summary.year} 年度总结 · {summary.place_name}{suffix}",
            f"Year summary {summary.year} · {summary.place_name} ({en_level})")


def overview(summary: YearSummary) -> list[tuple[str, str, str]]:
    """(Chinese, English, value in words) lines of the year's totals."""
    f = summary.figures
    credits = {g["key"]: g["value"] for g in f["credits"]["groups"]}
    return [
        ("善款收入", "money received", charts.amount(f["money_by_month"]["total"], "fen")),
        ("基金期末余额合计", "fund balances at year end",
         charts.amount(f["fund_balances"]["total"], "fen")),
        ("服务时长", "hours served", charts.amount(f["hours_by_type"]["total"], "minutes")),
        ("活跃志愿者", "active volunteers", charts.amount(f["active_volunteers"]["total"], "people")),
        ("时间积分获得", "credits earned", charts.amount(credits.get("earned", 0), "cents")),
        ("时间积分兑换", "credits redeemed", charts.amount(credits.get("redeemed", 0), "cents")),
        ("收到物资(件数)", "goods received (units)",
         charts.amount(f["goods_received"]["total"], "quantity")),
        ("发放物资(件数)", "goods handed out (units)",
         charts.amount(f["goods_handed_out"]["total"], "quantity")),
    ]


GROUP_TABLES = (
    ("money_by_channel", "善款渠道", "money by channel"),
    ("hours_by_type", "服务类型", "hours by service type"),
    ("fund_balances", "基金余额(年末)", "fund balances (year end)"),
    ("goods_received", "收到物资", "goods received"),
    ("goods_handed_out", "发放物资", "goods handed out"),
    ("projects_by_category", "服务项目领域", "service projects by category"),
)

PLACE_COLUMNS = (("善款", "money"), ("服务时长", "hours"), ("活跃志愿者", "volunteers"),
                 ("时间积分获得", "credits earned"), ("时间积分兑换", "credits redeemed"),
                 ("物资收到", "goods in"), ("物资发放", "goods out"))


def place_cells(line: PlaceLine) -> list[str]:
    return [charts.amount(line.money_fen, "fen"), charts.amount(line.minutes, "minutes"),
            str(line.volunteers), charts.amount(line.credits_earned, "cents"),
            charts.amount(line.credits_redeemed, "cents"), str(line.goods_in), str(line.goods_out)]


NOT_YET = [(zh, en) for zh, en in dashboard.PENDING.values()]

PROGRAMME_LINES: tuple[tuple[str, str, str, str | None], ...] = (
    ("服务项目", "service projects", "projects_by_kind", None),
    ("其中品牌项目", "of which brand projects", "projects_by_kind", "brand"),
    ("其中微创投项目", "of which micro-ventures", "projects_by_kind", "micro_venture"),
    ("进行中", "active", "projects_by_status", "active"),
    ("结项中", "closing", "projects_by_status", "closing"),
    ("已结项", "closed", "projects_by_status", "closed"),
    ("平均加权进度", "mean weighted progress", "project_progress", None),
    ("已签资助协议", "grants signed", "grants_signed", None),
    ("已拨付资助款", "grant tranches paid", "tranches_paid", None),
    ("完成评估", "evaluations done", "evaluations_done", None),
    ("评估总分(平均)", "mean overall score", "evaluation_overall", None),
    ("需求评价(平均分)", "needs (mean score)", "evaluation_methods", "needs"),
    ("绩效管理(平均分)", "performance (mean score)", "evaluation_methods", "performance"),
    ("跟踪反馈(平均分)", "feedback (mean score)", "evaluation_methods", "feedback"),
    ("监督检查(平均分)", "supervision (mean score)", "evaluation_methods", "supervision"),
    ("已举办培训", "trainings held", "trainings_held", None),
    ("培训出席人次", "training attendances", "training_attendances", None),
    ("培训时长", "training hours", "training_hours", None),
)
"""The year's service projects and training, each line a dashboard figure's total or one
of its groups (the same numbers the dashboard opens the rows of)."""


def programme_lines(summary: YearSummary) -> list[tuple[str, str, int, str]]:
    """(Chinese, English, value, unit) of each line of ``PROGRAMME_LINES``; a mean with no
    rows behind it (no evaluation this year) is left out rather than shown as 0."""
    units = {f.name: f.unit for f in dashboard.FIGURES}
    lines = []
    for zh, en, name, key in PROGRAMME_LINES:
        figure = summary.figures[name]
        if key is None:
            value, rows = int(figure["total"]), int(figure["rows"])
        else:
            found = [g for g in figure["groups"] if g["key"] == key]
            value, rows = (int(found[0]["value"]), 1) if found else (0, 0)
        if figure["mean"] and not rows:
            continue
        lines.append((zh, en, value, units[name]))
    return lines


def campaign_lines(summary: YearSummary) -> list[tuple[str, str, str, str, str]]:
    """(name, period, raised, target, percent reached) of each campaign of the place: raised
    from the ledger up to the year's end (``dashboard.campaign_rows``)."""
    lines = []
    for g in summary.figures["campaigns"]["groups"]:
        target = g.get("target")
        lines.append((str(g["zh"]), f"{g['starts_on']} – {g['ends_on']}",
                      charts.amount(g["value"], "fen"),
                      charts.amount(target, "fen") if target else "—",
                      f"{g['value'] * 100 // target}%" if target else "—"))
    return lines


# ----------------------------------------------------------------------------- PDF


def render_pdf(summary: YearSummary) -> bytes:
    """A4 landscape: the totals, the months, each breakdown, then what is not yet counted."""
    from reportlab.lib import colors
    from reportlab.lib.enums import TA_RIGHT
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.units import mm
    from reportlab.pdfgen.canvas import Canvas
    from reportlab.platypus import Flowable, KeepTogether, SimpleDocTemplate, Spacer

    text = Styles(
        title={"fontSize": 22, "leading": 30},
        subtitle={"fontName": LATIN_BOLD, "fontSize": 11, "leading": 15, "textColor": MUTED},
        heading={"fontSize": 14, "leading": 20, "spaceBefore": 8},
        cell={"fontSize": 9, "leading": 12},
        cell_right={"fontSize": 9, "leading": 12, "alignment": TA_RIGHT},
        note={"fontSize": 8.5, "leading": 12, "textColor": MUTED},
    )
    para, grid = text.para, text.figures
    rule = colors.HexColor(RULE)

    def heading(zh: str, en: str) -> list[Flowable]:
        return [para(f"{zh}  {en}", "heading"), Spacer(1, 2 * mm)]

    page = landscape(A4)
    width = page[0] - 30 * mm
    title_zh, title_en = title_of(summary)
    view = summary.view
    story: list[Flowable] = [
        para(title_zh, "title"), para(title_en, "subtitle"),
        para(f"期间 period: {view.start} – {view.end} · 生成于 made {summary.made_at} (Asia/Shanghai)",
             "note"),
        para("数字均来自账本(基金分录、时间积分分录、服务时长记录、物资出入库),与数据看板一致;"
             "不含任何个人信息。 Every figure is a sum of ledger rows, as on the dashboard; "
             "no personal data.", "note"),
        Spacer(1, 4 * mm),
    ]
    story += heading("年度概况", "the year at a glance")
    story.append(grid([("项目", "item"), ("数值", "value")],
                      [[f"{zh} {en}", value] for zh, en, value in overview(summary)],
                      [width * 0.45, width * 0.25]))
    story += heading("按月", "by month")
    story.append(grid([("月份", "month"), ("善款", "money"), ("服务时长", "hours")],
                      [[m, charts.amount(fen, "fen"), charts.amount(minutes, "minutes")]
                       for m, fen, minutes in summary.by_month] or [["—", "—", "—"]],
                      [width * 0.2, width * 0.25, width * 0.25]))
    for level, lines in (("district", summary.districts), ("station", summary.stations)):
        if not lines:
            continue
        zh, en = ("按区", "by district") if level == "district" else ("按站点", "by station")
        first = [("区", "district")] if level == "district" else [("站点", "station"),
                                                                  ("区", "district")]
        rows = [[line.name] + ([] if level == "district" else [line.district]) + place_cells(line)
                for line in lines]
        columns = len(first) + len(PLACE_COLUMNS)
        story.append(KeepTogether(heading(zh, en)[:1]))
        story.append(grid([*first, *PLACE_COLUMNS], rows, [width / columns] * columns,
                          numbers_from=len(first)))
        if level == "station" or view.level == "district":
            story.append(para("一名志愿者在多个站点服务时,在每个站点各计一次;合计只计一次。 "
                              "A volunteer who served at several places counts at each; the "
                              "totals count them once.", "note"))
    unit_of = {f.name: f.unit for f in dashboard.FIGURES}
    for name, zh, en in GROUP_TABLES:
        groups = summary.figures[name]["groups"]
        story += heading(zh, en)
        story.append(grid([("类别", "group"), ("数值", "value")],
                          [[f"{g['zh']}" + (f" {g['en']}" if g["en"] != g["zh"] else ""),
                            charts.amount(g["value"], unit_of[name])] for g in groups]
                          or [["暂无 none", "—"]], [width * 0.45, width * 0.25]))
    story += heading("募捐活动:已筹与目标", "campaigns against target")
    story.append(grid([("募捐活动", "campaign"), ("期间", "period"), ("已筹", "raised"),
                       ("目标", "target"), ("完成", "reached")],
                      [list(line) for line in campaign_lines(summary)] or [["暂无 none", "", "", "", ""]],
                      [width * 0.34, width * 0.22, width * 0.15, width * 0.15, width * 0.1],
                      numbers_from=2))
    story += heading("服务项目与培训", "service projects and training")
    story.append(grid([("项目", "item"), ("数值", "value")],
                      [[f"{zh} {en}", charts.amount(value, unit)]
                       for zh, en, value, unit in programme_lines(summary)],
                      [width * 0.45, width * 0.25]))
    story.append(para("项目数与状态、进度为年末所见;资助协议按签署日、拨付按账本的拨付分录、"
                      "评估按评估日、培训按开课日计入本年。 Projects, their status and progress "
                      "as they stand; grants by the day signed, tranches by the ledger's "
                      "payments, evaluations by their day, trainings by the day held.", "note"))
    if NOT_YET:
        story += heading("尚未纳入", "not yet counted")
        for zh, en in NOT_YET:
            story.append(para(f"{zh} · {en}", "note"))

    def footer(canvas: Canvas, doc: Any) -> None:
        canvas.saveState()
        canvas.setStrokeColor(rule)
        canvas.line(15 * mm, 12 * mm, page[0] - 15 * mm, 12 * mm)
        line = para(f"{title_zh} · 第 {doc.page} 页 page {doc.page}", "note")
        line.wrapOn(canvas, width, 10 * mm)
        line.drawOn(canvas, 15 * mm, 7 * mm)
        canvas.restoreState()

    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=page, leftMargin=15 * mm, rightMargin=15 * mm,
                            topMargin=15 * mm, bottomMargin=18 * mm, title=title_en,
                            author="社区慈善 community charity", subject=title_zh)
    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return buffer.getvalue()


# ----------------------------------------------------------------------------- Excel


def render_xlsx(summary: YearSummary) -> bytes:
    """Sheets: 概况 overview, 按月 by month, 按区 by district, 按站点 by station, campaigns,
    项目与培训 projects and training, then one per grouped figure. Amounts are numbers (yuan, hours, credits), text cells neutralised."""
    book = Workbook()
    title_zh, title_en = title_of(summary)

    def sheet(name: str, header: Sequence[tuple[str, str]], rows: Sequence[Sequence[Any]],
              first: bool = False) -> None:
        ws = book.active if first else book.create_sheet()
        assert ws is not None
        ws.title = name[:31]
        lines: list[Sequence[Any]] = [[title_zh], [title_en],
                                      [f"{summary.view.start} – {summary.view.end}"],
                                      [zh for zh, _ in header], [en for _, en in header], *rows]
        for r, line in enumerate(lines, start=1):
            for c, value in enumerate(line, start=1):
                cell = ws.cell(row=r, column=c)
                if isinstance(value, str):
                    cell.value = neutralise(value)
                    cell.data_type = "s"
                else:
                    cell.value = value
                    if isinstance(value, float):
                        cell.number_format = "0.00"
        for column in "ABCDEFGHIJ":
            ws.column_dimensions[column].width = 18

    f = summary.figures
    credits = {g["key"]: g["value"] for g in f["credits"]["groups"]}
    sheet("概况 overview", [("项目", "item"), ("数值", "value"), ("单位", "unit")], [
        ["善款收入 money received", f["money_by_month"]["total"] / 100, "元 yuan"],
        ["基金期末余额合计 fund balances", f["fund_balances"]["total"] / 100, "元 yuan"],
        ["服务时长 hours served", round(f["hours_by_type"]["total"] / 60, 2), "小时 hours"],
        ["活跃志愿者 active volunteers", f["active_volunteers"]["total"], "人 people"],
        ["时间积分获得 credits earned", credits.get("earned", 0) / 100, "时间积分 credits"],
        ["时间积分兑换 credits redeemed", credits.get("redeemed", 0) / 100, "时间积分 credits"],
        ["收到物资 goods received", f["goods_received"]["total"], "件 units"],
        ["发放物资 goods handed out", f["goods_handed_out"]["total"], "件 units"],
        *[[f"{zh} {en}", "—", "尚未纳入 not yet counted"] for zh, en in NOT_YET],
    ], first=True)
    sheet("按月 by month", [("月份", "month"), ("善款(元)", "money (yuan)"),
                           ("服务时长(小时)", "hours")],
          [[m, fen / 100, round(minutes / 60, 2)] for m, fen, minutes in summary.by_month])

    def numbers(line: PlaceLine) -> list[Any]:
        return [line.money_fen / 100, round(line.minutes / 60, 2), line.volunteers,
                line.credits_earned / 100, line.credits_redeemed / 100, line.goods_in,
                line.goods_out]

    place_header = [(f"{zh}", en) for zh, en in PLACE_COLUMNS]
    if summary.districts:
        sheet("按区 by district", [("区", "district"), *place_header],
              [[line.name, *numbers(line)] for line in summary.districts])
    if summary.stations:
        sheet("按站点 by station", [("站点", "station"), ("代码", "code"), ("区", "district"),
                                  *place_header],
              [[line.name, line.code, line.district, *numbers(line)] for line in summary.stations])
    sheet("募捐活动 campaigns", [("募捐活动", "campaign"), ("开始", "starts"), ("结束", "ends"),
                                 ("已筹(元)", "raised (yuan)"), ("目标(元)", "target (yuan)")],
          [[str(g["zh"]), str(g["starts_on"]), str(g["ends_on"]), g["value"] / 100,
            g["target"] / 100 if g.get("target") else "—"] for g in f["campaigns"]["groups"]])
    divisor = {"fen": 100, "minutes": 60, "cents": 100}
    unit_words = {"fen": "元 yuan", "minutes": "小时 hours", "count": "个 count",
                  "percent": "% percent", "score": "分 points"}
    sheet("项目与培训 projects", [("项目", "item"), ("数值", "value"), ("单位", "unit")],
          [[f"{zh} {en}", value / divisor[unit] if unit in divisor else value,
            unit_words.get(unit, unit)] for zh, en, value, unit in programme_lines(summary)])
    unit_of = {fig.name: fig.unit for fig in dashboard.FIGURES}
    for name, zh, en in GROUP_TABLES:
        unit = unit_of[name]
        sheet(f"{zh}"[:20], [("类别", "group"), ("数值", "value")],
              [[g["zh"] if g["zh"] == g["en"] else f"{g['zh']} {g['en']}",
                g["value"] / divisor[unit] if unit in divisor else g["value"]]
               for g in f[name]["groups"]])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# ----------------------------------------------------------------------------- routes


def _year(request: Request[Any, Any, Any]) -> int:
    raw = request.query_params.get("year") or str(dt.datetime.now(reports.SHANGHAI).year)
    if not raw.isdigit() or not 2000 <= int(raw) <= 2999:
        raise ProtocolError(400, "invalid_args", "年份应为四位数字(2000–2999)",
                            "year must be four digits (2000-2999)", field="year")
    return int(raw)


@get(["/api/v1/dashboard/summary.pdf", "/api/v1/dashboard/summary.xlsx"], security=TOKEN,
     tags=["dashboard"], summary="The year's summary of a place (PDF or Excel)",
     description="`?year=` (default this year), `?district=`/`?station=` as for the "
                 "dashboard; managers and up, for their own places.",
     responses={**answer("the summary, as application/pdf or an .xlsx workbook",
                         media_type=PDF), **errors(400, 401, 403, 404)})
async def summary_route(request: Request[Any, Any, Any]) -> Response[bytes]:
    state = state_of(request)
    grant = await resolve_grant(state.db, request.headers.get("authorization"))
    dashboard.manager_grant(grant)
    year = _year(request)
    fmt = "xlsx" if request.url.path.endswith(".xlsx") else "pdf"
    async with state.db.read() as conn:
        view = await dashboard.resolve_view(
            conn, grant, district=request.query_params.get("district") or None,
            station=request.query_params.get("station") or None,
            start=dt.date(year, 1, 1), end=dt.date(year, 12, 31))
        summary = await year_summary(conn, view, year)
    render = render_xlsx if fmt == "xlsx" else render_pdf
    body = await asyncio.to_thread(render, summary)  # CPU work: off the event loop
    await audit.record_now(state.db, grant, "export.year_summary", "place",
                           view.station or view.district or "city", station=view.station,
                           district=view.district, detail={"format": fmt, "year": year})
    name = f"year_summary_{year}_{view.station or view.district or 'city'}.{fmt}"
    ascii_name = name.encode("ascii", "replace").decode().replace("?", "_")
    return Response(body, media_type=XLSX if fmt == "xlsx" else PDF, headers={
        "Content-Disposition": f'attachment; filename="{ascii_name}"',
        "Cache-Control": "no-store"})


ROUTES = [summary_route]

__all__ = ["ROUTES", "YearSummary", "render_pdf", "render_xlsx", "year_summary"]
