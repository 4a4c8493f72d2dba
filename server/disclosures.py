"""The disclosure calendar over HTTP: managers' calendar, preview and publish (device
token), and the published reports as public page, JSON and PDF (docs/disclosure.md).

Publishing is a route, not a sync mutation: it freezes what the server's ledger holds
at that moment, so it needs the server anyway, and the manager looks at the preview
(the same figures) before pressing the button.
"""

from __future__ import annotations

import asyncio
import io
from typing import Any

import msgspec
from litestar import Request, Response, get, post

from server.auth import resolve_grant
from server.domain import disclosure
from server.openapi import TOKEN, answer, errors
from server.pdf import MUTED, Styles, ruled_table
from server.public import HTML, _html, _json, _reading
from server.state import state_of
from sync.errors import ProtocolError
from sync.scopes import MANAGER, Grant

NO_REPORT = ("找不到该公开报告", "no such disclosure report")


async def _manager(request: Request[Any, Any, Any]) -> Grant:
    grant = await resolve_grant(state_of(request).db, request.headers.get("authorization"))
    if grant.rank < MANAGER:
        raise ProtocolError(403, "forbidden", "无权限:只有管理者可以查看信息公开日程",
                            "not allowed: only managers see the disclosure calendar")
    return grant


@get("/api/v1/disclosure/calendar", security=TOKEN, tags=["disclosure"],
     summary="The disclosure calendar of the funds (and campaigns) the caller answers for",
     responses={**answer("each period with its due date and status"), **errors(401, 403)})
async def calendar_route(request: Request[Any, Any, Any]) -> Response[bytes]:
    grant = await _manager(request)
    now = disclosure.now()
    async with _reading(request) as conn:
        lines = await disclosure.calendar(conn, disclosure.today_in_shanghai(now), grant=grant)
    views = [line.view() for line in lines]
    waiting = sorted((v for v in views if not v["status"].startswith("published")),
                     key=lambda v: (v["status"] != "overdue", v["due"], v["subject_name"]))
    done = sorted((v for v in views if v["status"].startswith("published")),
                  key=lambda v: (v["due"], v["subject_name"]), reverse=True)
    return _json({"today": disclosure.today_in_shanghai(now).isoformat(),
                  "remind_days": state_of(request).settings.disclosure_remind_days,
                  "lines": waiting + done})


@get("/api/v1/disclosure/{kind:str}/{subject_id:str}/{seq:int}/preview", security=TOKEN,
     tags=["disclosure"], summary="The figures publishing this period would freeze (preview)",
     responses={**answer("the period's line and figures (none while it runs)"),
                **errors(400, 401, 403, 404)})
async def preview_route(request: Request[Any, Any, Any], kind: str, subject_id: str, seq: int
                        ) -> Response[bytes]:
    grant = await _manager(request)
    async with _reading(request) as conn:
        return _json(await disclosure.preview(conn, grant, kind, subject_id, seq, disclosure.now()))


@post("/api/v1/disclosure/{kind:str}/{subject_id:str}/{seq:int}/publish", security=TOKEN,
      status_code=201, tags=["disclosure"],
      summary="Publish the period's disclosure: freeze its figures and chain heads (once)",
      responses={**answer("the published report", status=201),
                 **errors(400, 401, 403, 404, 409)})
async def publish_route(request: Request[Any, Any, Any], kind: str, subject_id: str, seq: int
                        ) -> Response[bytes]:
    grant = await _manager(request)
    state = state_of(request)
    found = await disclosure.publish(state.db, grant, kind, subject_id, seq, disclosure.now())
    return Response(msgspec.json.encode(found), status_code=201, media_type="application/json",
                    headers={"Cache-Control": "no-store"})


def _ident(kind: str, subject_id: str, seq: int) -> str:
    return f"{kind}:{subject_id}:{seq}"


async def _report(request: Request[Any, Any, Any], kind: str, subject_id: str, seq: int
                  ) -> dict[str, Any] | None:
    async with _reading(request) as conn:
        return await disclosure.report(conn, _ident(kind, subject_id, seq))


@get("/api/v1/public/disclosures/{kind:str}/{subject_id:str}/{seq:int}", tags=["public"],
     summary="A published disclosure report (JSON)",
     responses={**answer("the frozen figures, chain heads and digest"), **errors(400, 404)})
async def report_json(request: Request[Any, Any, Any], kind: str, subject_id: str, seq: int
                      ) -> Response[bytes]:
    found = await _report(request, kind, subject_id, seq)
    if found is None:
        raise ProtocolError(404, "not_found", *NO_REPORT)
    return _json(found)


@get("/public/disclosures/{kind:str}/{subject_id:str}/{seq:int}", tags=["public pages"],
     summary="A published disclosure report (page)",
     responses=answer("not found page", media_type="text/html", status=404))
async def report_page(request: Request[Any, Any, Any], kind: str, subject_id: str, seq: int
                      ) -> Response[str]:
    found = await _report(request, kind, subject_id, seq)
    if found is None:
        return _html("notfound.html", 404, zh=NO_REPORT[0], en=NO_REPORT[1])
    return _html("disclosure.html", r=found, f=found["figures"], period_words=PERIOD_WORDS)


@get("/public/disclosures/{kind:str}/{subject_id:str}/{seq:int}/report.pdf", tags=["public pages"],
     summary="A published disclosure report (PDF)",
     responses={**answer("the report", media_type="application/pdf"), **errors(400, 404)})
async def report_pdf(request: Request[Any, Any, Any], kind: str, subject_id: str, seq: int
                     ) -> Response[bytes]:
    found = await _report(request, kind, subject_id, seq)
    if found is None:
        raise ProtocolError(404, "not_found", *NO_REPORT)
    base = state_of(request).settings.base_url
    pdf = await asyncio.to_thread(render_report, found, base)
    return Response(pdf, media_type="application/pdf", headers={
        "Content-Disposition": f'inline; filename="disclosure-{kind}-{seq}.pdf"',
        "Cache-Control": "public, max-age=3600"})


PERIOD_WORDS = {"quarter": ("季度公开", "quarterly disclosure"),
                "interim": ("阶段公开", "interim disclosure"),
                "final": ("结项公开", "final disclosure")}
SUBJECT_WORDS = {"fund": ("基金", "fund"), "campaign": ("募捐活动", "campaign")}


def yuan(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    return f"{sign}¥{abs(fen) // 100:,}.{abs(fen) % 100:02d}"


def render_report(found: dict[str, Any], base_url: str) -> bytes:
    """The report as a one- or two-page A4 PDF: Chinese first, English beneath; every text
    through :func:`server.pdf.markup` (printed, never obeyed)."""
    from reportlab.lib.enums import TA_RIGHT
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.platypus import SimpleDocTemplate, Spacer, Table

    text = Styles(
        title={"fontSize": 18, "leading": 24},
        sub={"fontSize": 10, "leading": 14, "textColor": MUTED},
        h={"fontSize": 12.5, "leading": 18, "spaceBefore": 8},
        cell={"fontSize": 9.5, "leading": 12.5},
        num={"fontSize": 9.5, "leading": 12.5, "alignment": TA_RIGHT},
        late={"fontSize": 12, "leading": 16, "textColor": "#b00020"},
        mono={"fontName": "Courier", "fontSize": 7.5, "leading": 10},
        note={"fontSize": 8, "leading": 11, "textColor": MUTED},
    )

    def para(words: str, style: str = "cell") -> Any:
        return text.para(words, style)

    f = found["figures"]
    subject = f["subject"]
    width = A4[0] - 36 * mm
    kind_zh, kind_en = PERIOD_WORDS.get(found["period_kind"], (found["period_kind"],) * 2)
    what_zh, what_en = SUBJECT_WORDS.get(subject["kind"], (subject["kind"],) * 2)
    place = " · ".join(str(x) for x in (subject.get("station_name"), subject.get("district")) if x)

    def table(header: tuple[str, str], rows: list[tuple[str, int]], total: int | None = None
              ) -> Table:
        data: list[list[Any]] = [[para(header[0]), para(header[1], "num")]]
        data += [[para(label), para(yuan(amount), "num")] for label, amount in rows]
        if not rows:
            data.append([para("无 / none"), para("", "num")])
        if total is not None:
            data.append([para("合计 / total"), para(yuan(total), "num")])
        return ruled_table(data, [width * 0.68, width * 0.32], padded=False)

    def label(pair: Any) -> str:
        zh, en = (list(pair) + [""])[:2] if isinstance(pair, list | tuple) else (str(pair), "")
        return f"{zh} / {en}" if en and en != zh else str(zh)

    story: list[Any] = [
        para(f"{subject['name']} · {kind_zh}", "title"),
        para(f"{what_en.capitalize()} {subject['name']} · {kind_en} no. {found['seq']}", "sub"),
        para(f"{what_zh} {place}" if place else what_zh, "sub"),
        Spacer(1, 4 * mm),
        para(f"第 {found['seq']} 期 · 期间 {found['start']} 至 {found['end']} · "
             f"应于 {found['due']} 前公开 · 公开于 {found['published_on']}"),
        para(f"Period {found['start']} to {found['end']} · due by {found['due']} · "
             f"published on {found['published_on']}", "sub"),
    ]
    if found["late"]:
        story.append(para("迟报:晚于应公开日期发布 / LATE: published after its due date", "late"))
    story += [
        para("余额 Balance", "h"),
        table(("项目 / item", "金额 / amount"), [
            ("期初余额 / balance at start", int(f["opening_fen"])),
            ("本期收入 / income", int(f["income_fen"])),
            ("更正与作废 / corrections and voids", int(f["corrections_fen"])),
            ("本期支出 / spending", -int(f["spending_fen"])),
            ("期末余额 / balance at end", int(f["closing_fen"])),
        ]),
        para("收入(按渠道) Income by channel", "h"),
        table(("渠道 / channel", "金额 / amount"),
              [(f"{label(c['label'])} ({c['count']})", int(c["amount_fen"]))
               for c in f["income_by_channel"]], int(f["income_fen"])),
        para("收入(按去向) Income by destination", "h"),
        table(("去向 / destination", "金额 / amount"),
              [(label(d["label"]), int(d["amount_fen"])) for d in f["income_by_destination"]],
              int(f["income_fen"])),
        para("支出(按用途类别) Spending by purpose category", "h"),
        table(("用途 / purpose", "金额 / amount"),
              [(f"{label(p['label'])} ({p['count']})", int(p["amount_fen"]))
               for p in f["spending_by_category"]], int(f["spending_fen"])),
        para("物资与配捐 Goods and matched gifts", "h"),
        table(("项目 / item", "金额 / amount"), [
            (f"物资捐赠(估值,{f['goods_count']} 笔) / goods given (valued, {f['goods_count']})",
             int(f["goods_value_fen"])),
            ("配捐 / matched gifts", int(f.get("matched_fen", 0))),
        ]),
        para("账本链头 Ledger chain heads", "h"),
    ]
    for head in found["heads"]:
        story += [para(f"基金 fund {head.get('fund_name') or ''} ({head['fund_id']}) · #{head['seq']}"),
                  para(str(head["hash"]), "mono")]
    story += [
        Spacer(1, 3 * mm),
        para("报告摘要 Report digest (SHA-256)", "cell"), para(str(found["digest"]), "mono"),
        Spacer(1, 3 * mm),
        para("本报告发布后不再修改。链头是该期最后一笔账目的哈希,可用公开的账本校验;"
             "捐赠人不具名,只公布类别与合计。", "note"),
        para("This report is never changed once published. A chain head is the hash of the "
             "period's last ledger entry and can be checked against the public ledger; donors "
             "are not named, only categories and sums are published.", "note"),
        para(f"{base_url}/public/disclosures/{found['subject_kind']}/{found['subject_id']}/"
             f"{found['seq']}", "note"),
    ]
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm,
                            topMargin=16 * mm, bottomMargin=16 * mm,
                            title=f"{subject['name']} 信息公开 Disclosure {found['seq']}",
                            author=str(subject.get("district") or ""))
    doc.build(story)
    return buffer.getvalue()


ROUTES = [calendar_route, preview_route, publish_route, report_json, report_page, report_pdf]
__all__ = ["HTML", "ROUTES", "render_report"]
