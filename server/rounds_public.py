"""A micro-venture round's public page (docs/programme.md, "Rounds and phases" and
"Needs"): the phase and its dates, the budget and rules, the needs published so far,
the proposals once reviewed, and in the needs phase a form where a resident raises a
need; the same as JSON; and the QR poster for the station's wall that leads to it.

Only what staff wrote for the public is shown: a need's ``public_title`` (never the
resident's own words, contact or photos), its category, community and how many raised
it; a proposal's title, group, adjusted price, outcome and review score (never its
beneficiaries or team). Needs raised through the form go through the same write path as
a phone's (``rounds.record_need`` inside ``sync.write.run_unit``): they reach the
station's phones like any other record.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Mapping
from typing import Any
from urllib.parse import parse_qs

import msgspec
from litestar import Request, Response, get, post
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from schemas.rounds import NEED_CATEGORIES, NEED_CATEGORY_NAMES, PHASE_NAMES, PHASES, NeedSubmitArgs
from server.auth import SYSTEM
from server.domain import rounds as rounds_module
from server.domain.ballots import public_results
from server.domain.funds import funds
from server.domain.people import system_write
from server.domain.rounds import community_groups, needs, proposals, rounds
from server.domain.stations import stations
from server.openapi import answer, errors
from server.posters import A4Poster
from server.public import TEMPLATES, _html, _json, _missing
from server.state import state_of
from sync.errors import Rejected
from sync.unit import MutationContext, Tx

NO_ROUND = ("找不到该微创投", "no such micro-venture round")
MAX_FORM_BYTES = 16_384
SHOWN_PROPOSALS = ("feasible", "infeasible", "funded", "unfunded")
"""Proposals the public page lists: those with a review conclusion."""


@contextlib.asynccontextmanager
async def _reading(request: Request[Any, Any, Any]) -> AsyncIterator[AsyncConnection]:
    async with state_of(request).db.read() as conn:
        yield conn


def _names(pairs: Mapping[str, tuple[str, str]], key: str) -> dict[str, str]:
    zh, en = pairs.get(key, (key, key))
    return {"zh": zh, "en": en}


async def round_page(conn: AsyncConnection, round_id: str) -> dict[str, Any] | None:
    """What anyone may see of a round (page and JSON alike)."""
    row = (await conn.execute(select(rounds).where(rounds.c.id == round_id))).mappings().first()
    if row is None:
        return None
    wire = rounds_module.round_wire(dict(row))
    fund = (await conn.execute(select(funds.c.name).where(funds.c.id == row["fund_id"]))).scalar()
    station = (await conn.execute(
        select(stations.c.name).where(stations.c.code == row["station"]))).scalar()
    published = [
        {"id": str(n.id), "category": str(n.category),
         "category_name": _names(NEED_CATEGORY_NAMES, str(n.category)),
         "community": str(n.community), "public_title": str(n.public_title),
         "raised_count": int(n.raised_count)}
        for n in await conn.execute(
            select(needs.c.id, needs.c.category, needs.c.community, needs.c.public_title,
                   needs.c.raised_count)
            .where(needs.c.round_id == round_id, needs.c.status.in_(("published", "addressed")),
                   needs.c.public_title != "")
            .order_by(needs.c.raised_count.desc(), needs.c.id))
    ]
    raised = (await conn.execute(
        select(func.count(), func.coalesce(func.sum(needs.c.raised_count), 0))
        .where(needs.c.round_id == round_id, needs.c.status != "merged"))).one()
    phase_index = PHASES.index(row["phase"])
    shown = []
    if phase_index >= PHASES.index("voting"):
        shown = [
            {"id": str(p.id), "title": str(p.title), "group": str(p.name or ""),
             "adjusted_price_fen": p.adjusted_price_fen, "status": str(p.status),
             "review_score": None if p.review_score is None else int(p.review_score) / 100,
             "need_ids": msgspec.json.decode(p.need_ids)}
            for p in await conn.execute(
                select(proposals.c.id, proposals.c.title, proposals.c.adjusted_price_fen,
                       proposals.c.status, proposals.c.review_score, proposals.c.need_ids,
                       community_groups.c.name)
                .join(community_groups, community_groups.c.id == proposals.c.group_id,
                      isouter=True)
                .where(proposals.c.round_id == round_id,
                       proposals.c.status.in_(SHOWN_PROPOSALS))
                .order_by(proposals.c.status, proposals.c.title, proposals.c.id))
        ]
    submitted = (await conn.execute(
        select(func.count()).select_from(proposals).where(
            proposals.c.round_id == round_id, proposals.c.status != "withdrawn"))).scalar()
    return {
        "id": wire["id"], "title": wire["title"], "year": wire["year"],
        "fund_id": wire["fund_id"], "fund": fund or "", "station": wire["station"],
        "station_name": station or wire["station"], "district": wire["district"],
        "budget_fen": wire["budget_fen"], "min_project_fen": wire["min_project_fen"],
        "max_project_fen": wire["max_project_fen"], "method": wire["method"],
        "voters": wire["voters"], "rules_locked": wire["rules_locked"],
        "phase": wire["phase"], "phase_name": _names(PHASE_NAMES, wire["phase"]),
        "phases": [{"phase": p, "name": _names(PHASE_NAMES, p), **wire["phases"].get(p, {}),
                    "current": p == wire["phase"], "done": PHASES.index(p) < phase_index}
                   for p in PHASES],
        "criteria": wire["criteria"],
        "needs_open": wire["phase"] == "needs",
        "needs_raised": int(raised[1] or 0), "needs_count": int(raised[0] or 0),
        "needs": published, "proposals_submitted": int(submitted or 0), "proposals": shown,
        "results": await public_results(conn, round_id),
    }


# ----------------------------------------------------------------------------- routes


@get("/api/v1/public/rounds/{round_id:str}", tags=["public"],
     summary="A micro-venture round: phase, dates, published needs and reviewed proposals (JSON)",
     responses={**answer("the round's public figures"), **errors(400, 404)})
async def round_json(request: Request[Any, Any, Any], round_id: str) -> Response[bytes]:
    async with _reading(request) as conn:
        page = await round_page(conn, round_id)
    if page is None:
        raise _missing(NO_ROUND)
    return _json(page)


FORM_FIELDS = ("category", "community", "description", "contact_name", "contact_phone")


def _render(page: dict[str, Any], request: Request[Any, Any, Any], status: int = 200,
            form: Mapping[str, str] | None = None, **extra: Any) -> Response[str]:
    """The page; ``form``: what the resident typed, given back when it must be corrected."""
    base = state_of(request).settings.base_url
    categories = [{"key": k, **_names(NEED_CATEGORY_NAMES, k)} for k in NEED_CATEGORIES]
    typed = {name: (form or {}).get(name, "") for name in FORM_FIELDS}
    return _html("round.html", status, r=page, categories=categories, form=typed,
                 page_url=f"{base}/public/rounds/{page['id']}", **extra)


@get("/public/rounds/{round_id:str}", tags=["public pages"],
     summary="A micro-venture round (page, with the need form in the needs phase)",
     responses=answer("not found page", media_type="text/html", status=404))
async def round_html(request: Request[Any, Any, Any], round_id: str) -> Response[str]:
    async with _reading(request) as conn:
        page = await round_page(conn, round_id)
    if page is None:
        return _html("notfound.html", 404, zh=NO_ROUND[0], en=NO_ROUND[1])
    return _render(page, request)


def _form_fields(body: bytes) -> dict[str, str]:
    return {k: v[-1].strip() for k, v in parse_qs(body.decode("utf-8", "replace"),
                                                  max_num_fields=20).items()
            if k in FORM_FIELDS}


def _form_args(round_id: str, fields: Mapping[str, str]) -> NeedSubmitArgs:
    """The form's fields as the mutation's args (the same checks as a phone's)."""
    contact = {k: fields[f"contact_{k}"] for k in ("name", "phone") if fields.get(f"contact_{k}")}
    raw: dict[str, Any] = {
        "id": str(uuid.uuid4()), "round_id": round_id, "category": fields.get("category", ""),
        "community": fields.get("community", ""),
        "description": fields.get("description", "").replace("\r\n", "\n"),
        "raised_via": "staff"}
    if contact:
        raw["contact"] = contact
    return msgspec.convert(raw, NeedSubmitArgs)


FORM_ERRORS = {
    "category": ("请选择需求类别", "choose the kind of need"),
    "community": ("请填写所在社区(100 字以内)", "give your community (up to 100 characters)"),
    "description": ("请描述需求(2000 字以内)", "describe the need (up to 2000 characters)"),
    "contact": ("联系方式格式不对(电话只能是数字)", "the contact is not valid (a phone is digits)"),
}


def _which(exc: msgspec.ValidationError) -> str:
    text = str(exc)
    for name in FORM_ERRORS:
        if f"$.{name}" in text:
            return name
    return "description"


@post("/public/rounds/{round_id:str}/needs", tags=["public pages"], status_code=200,
      summary="A resident raises a need from the round's page (form; rate limited)",
      responses={**answer("the page again, thanking them (or saying what to correct)",
                          media_type="text/html"), **errors(400, 404, 409, 429)})
async def round_need(request: Request[Any, Any, Any], round_id: str) -> Response[str]:
    state = state_of(request)
    body = await request.body()
    async with _reading(request) as conn:
        page = await round_page(conn, round_id)
    if page is None:
        return _html("notfound.html", 404, zh=NO_ROUND[0], en=NO_ROUND[1])
    if len(body) > MAX_FORM_BYTES:
        return _render(page, request, 400, error=FORM_ERRORS["description"])
    try:
        fields = _form_fields(body)
    except ValueError:
        return _render(page, request, 400, error=FORM_ERRORS["description"])
    try:
        args = _form_args(round_id, fields)
    except msgspec.ValidationError as exc:
        return _render(page, request, 400, form=fields, error=FORM_ERRORS[_which(exc)])

    async def work(tx: Tx, ctx: MutationContext) -> None:
        round_row = await rounds_module.round_of(tx, round_id)
        if round_row["phase"] != "needs":
            raise Rejected("needs_closed", "本轮已不在征集需求阶段,不再接受新需求",
                           "the round is no longer collecting needs", field="round_id")
        await rounds_module.record_need(tx, ctx, args, raised_via="public", owner=None)

    try:
        await system_write(state.db, state.registry, state.pokes, SYSTEM, "need.submit", work)
    except Rejected as exc:
        return _render(page, request, 409, form=fields, error=(exc.message.zh, exc.message.en))
    async with _reading(request) as conn:
        page = await round_page(conn, round_id)
    assert page is not None
    return _render(page, request, sent=True)


@get("/public/rounds/{round_id:str}/poster.pdf", tags=["public pages"],
     summary="A micro-venture round's poster with its QR code (PDF)",
     responses={**answer("the A4 poster", media_type="application/pdf"), **errors(400, 404)})
async def round_poster(request: Request[Any, Any, Any], round_id: str) -> Response[bytes]:
    async with _reading(request) as conn:
        page = await round_page(conn, round_id)
    if page is None:
        raise _missing(NO_ROUND)
    base = state_of(request).settings.base_url
    pdf = await asyncio.to_thread(render_round_poster, page, f"{base}/public/rounds/{round_id}")
    return Response(pdf, media_type="application/pdf", headers={
        "Content-Disposition": 'inline; filename="round-poster.pdf"',
        "Cache-Control": "no-store",
    })


# ----------------------------------------------------------------------------- poster


def _yuan(fen: int) -> str:
    return f"{fen / 100:,.0f}"


def render_round_poster(page: dict[str, Any], url: str) -> bytes:
    """The round's A4 poster: what it is, its budget and dates, and a QR code to its page
    (where residents raise needs in the needs phase, and follow the round after)."""
    poster = A4Poster(title_size=28)
    para, label = poster.para, poster.label
    rows = [
        [label("资助来源", "funded by"), para(page["fund"], "value")],
        [label("本轮预算", "budget"), para(f"{_yuan(page['budget_fen'])} 元", "value")],
        [label("单个项目资助", "per project"),
         para(f"{_yuan(page['min_project_fen'])} – {_yuan(page['max_project_fen'])} 元", "value")],
    ]
    for phase in page["phases"]:
        if phase.get("starts"):
            rows.append([label(phase["name"]["zh"], phase["name"]["en"]),
                         para(f"{phase['starts']} 至 {phase['ends']}", "value")])
    scan = poster.scan_block(url, 70, [
        para("扫码提出您身边最迫切的需求", "call"),
        para("Scan to tell us what your community needs most", "note"),
        poster.spacer(3),
        para("居民需求经工作人员整理后公布(不公开您的姓名、电话和原话);社区社会组织据此"
             "提交项目方案,评审后由居民投票决定资助哪些项目。也可以到社工站当面提出。", "note"),
        para("Staff publish a short title for each need (never your name, phone or words); "
             "community groups propose projects for them, and after review residents vote "
             "on which are funded. You can also tell the station's staff in person.", "note"),
    ])
    story = [
        para("社区公益微创投", "kicker"),
        para("Community micro-venture round", "kicker"),
        poster.spacer(4),
        para(page["title"], "title"),
        poster.spacer(2),
        para(page["station_name"], "org"),
        poster.spacer(7),
        poster.facts(rows),
        poster.spacer(8),
        scan,
    ]
    return poster.pdf(story, title=f"{page['title']} · 社区公益微创投", author=page["fund"],
                      subject=page["station_name"])


ROUTES = [round_json, round_html, round_need, round_poster]

__all__ = ["ROUTES", "TEMPLATES", "render_round_poster", "round_page"]
