"""Public pages (server-rendered, Chinese first with English, no login) and their JSON:
live event totals (SSE), fund disclosure with the ledger's chain head, receipt check.

HTML under ``/public/...``; the same figures as JSON under ``/api/v1/public/...``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import msgspec
from jinja2 import Environment, FileSystemLoader, select_autoescape
from litestar import Request, Response, get
from litestar.response import ServerSentEvent, ServerSentEventMessage
from sqlalchemy.ext.asyncio import AsyncConnection

from server import reports
from server.domain import online
from server.domain.funds import verify_fund
from server.openapi import answer, errors
from server.posters import render_poster
from server.state import AppState, state_of
from sync.errors import ProtocolError

TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).with_name("templates")),
    autoescape=select_autoescape(["html"]),
)
TEMPLATES.globals.update(yuan=reports.yuan, when=reports.public_day,
                         # the receipt check only: its holder's own gift, to the minute
                         receipt_time=reports.local_text)
JSON = "application/json"
HTML = "text/html"
"""Litestar adds ``; charset=utf-8`` to every ``text/`` type: naming it here sent it twice."""



@contextlib.asynccontextmanager
async def _reading(request: Request[Any, Any, Any]) -> AsyncIterator[AsyncConnection]:
    """One consistent snapshot per page (REPEATABLE READ on PostgreSQL)."""
    async with state_of(request).db.read() as conn:
        yield conn


def _json(data: Any) -> Response[bytes]:
    return Response(msgspec.json.encode(data), media_type=JSON,
                    headers={"Cache-Control": "no-store"})


def _html(template: str, status: int = 200, **context: Any) -> Response[str]:
    return Response(TEMPLATES.get_template(template).render(**context), media_type=HTML,
                    status_code=status)


NO_EVENT = ("找不到该活动", "no such event")
NO_FUND = ("找不到该基金", "no such fund")


def _missing(what: tuple[str, str]) -> ProtocolError:
    return ProtocolError(404, "not_found", *what)


async def _load(request: Request[Any, Any, Any], load: Callable[[AsyncConnection, str], Awaitable[Any]],
                key: str) -> Any:
    async with _reading(request) as conn:
        return await load(conn, key)


def _json_or_missing(found: Any, what: tuple[str, str]) -> Response[bytes]:
    if found is None:
        raise _missing(what)
    return _json(found)


def _page_or_missing(found: Any, what: tuple[str, str], template: str, **context: Any
                     ) -> Response[str]:
    if found is None:
        return _html("notfound.html", 404, zh=what[0], en=what[1])
    return _html(template, **context)


# ----------------------------------------------------------------------------- events


@get("/api/v1/public/events/{event_id:str}", tags=["public"],
     summary="An event's donation totals (JSON)",
     responses={**answer("money and goods totals of the event"), **errors(400, 404)})
async def event_totals_json(request: Request[Any, Any, Any], event_id: str) -> Response[bytes]:
    return _json_or_missing(await _load(request, reports.event_totals, event_id), NO_EVENT)


@get("/public/events/{event_id:str}", tags=["public pages"],
     summary="An event's donation totals (page)",
     responses=answer("not found page", media_type="text/html", status=404))
async def event_page(request: Request[Any, Any, Any], event_id: str) -> Response[str]:
    totals = await _load(request, reports.event_totals, event_id)
    return _page_or_missing(totals, NO_EVENT, "event.html", t=totals,
                            stream_url=f"/api/v1/public/events/{event_id}/stream")


async def totals_stream(state: AppState, event_id: str, station: str
                        ) -> AsyncGenerator[dict[str, Any] | None, None]:
    """The event's totals now, then again whenever a change lands at its station; None
    after ``keepalive_seconds`` of quiet (the route sends a comment then)."""
    async with state.broker.subscribe({f"s:{station}"}) as queue:
        last = None
        while True:
            async with state.db.read() as conn:
                totals = await reports.event_totals(conn, event_id)
            if totals is None:
                return
            if totals != last:
                last = totals
                yield totals
            while True:
                try:
                    await asyncio.wait_for(queue.get(), timeout=state.keepalive_seconds)
                    break
                except TimeoutError:
                    yield None


@get("/api/v1/public/events/{event_id:str}/stream", tags=["public"],
     summary="An event's totals, live (server-sent events)",
     responses={**answer("`event: totals` with the figures, at once and after every change",
                         media_type="text/event-stream"), **errors(400, 404)})
async def event_totals_stream(request: Request[Any, Any, Any], event_id: str) -> ServerSentEvent:
    """``event: totals`` with the figures as JSON, at once and after every sync at the
    event's station; a comment every 15 s keeps the stream open through proxies."""
    state = state_of(request)
    totals = await _load(request, reports.event_totals, event_id)
    if totals is None:
        raise _missing(NO_EVENT)

    async def stream() -> AsyncGenerator[ServerSentEventMessage, None]:
        async for figures in totals_stream(state, event_id, totals["station"]):
            if figures is None:
                yield ServerSentEventMessage(comment="keepalive")
            else:
                yield ServerSentEventMessage(event="totals",
                                             data=msgspec.json.encode(figures).decode())

    return ServerSentEvent(stream(), headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


# ----------------------------------------------------------------------------- funds


@get("/api/v1/public/funds", tags=["public"], summary="Community funds (JSON)",
     responses=answer("every fund with its balance and projects"))
async def funds_json(request: Request[Any, Any, Any]) -> Response[bytes]:
    async with _reading(request) as conn:
        return _json(await reports.fund_list(conn))


@get("/public/funds", tags=["public pages"], summary="Community funds (page)")
async def funds_page(request: Request[Any, Any, Any]) -> Response[str]:
    async with _reading(request) as conn:
        return _html("funds.html", funds=await reports.fund_list(conn))


async def _disclosure(request: Request[Any, Any, Any], fund_id: str, page: int
                      ) -> dict[str, Any] | None:
    """The disclosure with one page of gifts; figures and verification cached by the
    fund's chain head (``reports.DisclosureCache``)."""
    if page < 1:
        raise ProtocolError(400, "invalid_args", "页码须为正整数", "page must be 1 or more",
                            field="page")
    async with _reading(request) as conn:
        found = await reports.fund_disclosure(conn, fund_id, page,
                                              cache=state_of(request).disclosures)
        if found is None:
            return None
        # the fund's and its projects' pages on the fundraising platform: outside the
        # cache (kept by chain head), since a link changes no ledger entry
        return {**found, "platform": await online.public_links(conn, fund_id)}


@get("/api/v1/public/funds/{fund_id:str}", tags=["public"],
     summary="A fund's disclosure (JSON)",
     description=f"Gifts come {reports.PAGE_SIZE} a page, newest first: `?page=` (from 1).",
     responses={**answer("income, spending and balance of the fund"), **errors(400, 404)})
async def fund_json(request: Request[Any, Any, Any], fund_id: str, page: int = 1
                    ) -> Response[bytes]:
    return _json_or_missing(await _disclosure(request, fund_id, page), NO_FUND)


@get("/public/funds/{fund_id:str}", tags=["public pages"], summary="A fund's disclosure (page)",
     responses=answer("not found page", media_type="text/html", status=404))
async def fund_page(request: Request[Any, Any, Any], fund_id: str, page: int = 1) -> Response[str]:
    disclosure = await _disclosure(request, fund_id, page)
    return _page_or_missing(disclosure, NO_FUND, "fund.html", d=disclosure)


@get("/api/v1/public/funds/{fund_id:str}/verify", tags=["public"],
     summary="Verify a fund's ledger",
     responses={**answer("whether the hash chain, pairs and balance hold, and any problems"),
                **errors(400, 404)})
async def fund_verify(request: Request[Any, Any, Any], fund_id: str) -> Response[bytes]:
    """Recompute the hash chain, the pairs and the balance from the stored ledger (always:
    this is the auditor's check; the disclosure page shows a cached result)."""
    report = await _load(request, verify_fund, fund_id)
    return _json_or_missing(report.__dict__ if report else None, NO_FUND)


# ----------------------------------------------------------------------------- receipts


@get("/api/v1/public/receipts/{number:str}", tags=["public"],
     summary="Check a donation receipt (JSON)",
     description="`?code=` is the check code printed on the receipt.",
     responses={**answer("the receipt as issued and its current state"), **errors(400, 404)})
async def receipt_json(request: Request[Any, Any, Any], number: str, code: str = "") -> Response[bytes]:
    async with _reading(request) as conn:
        found = await reports.check_receipt(conn, number, code)
    return _json_or_missing(found, ("未找到该收据,或校验码不正确",
                                    "no such receipt, or the code is wrong"))


@get("/public/receipts/{number:str}", tags=["public pages"],
     summary="Check a donation receipt (page)",
     responses=answer("no such receipt, or the code is wrong", media_type="text/html",
                      status=404))
async def receipt_page(request: Request[Any, Any, Any], number: str, code: str = "") -> Response[str]:
    async with _reading(request) as conn:
        found = await reports.check_receipt(conn, number, code)
    settings = state_of(request).settings
    return _html("receipt.html", 200 if found else 404, r=found,
                 holder={"zh": settings.receipt_holder_zh, "en": settings.receipt_holder_en})


# ----------------------------------------------------------------------------- campaigns

NO_CAMPAIGN = ("找不到该募捐活动", "no such campaign")


@get("/api/v1/public/campaigns/{campaign_id:str}", tags=["public"],
     summary="A fundraising campaign's on-site disclosure (JSON)",
     responses={**answer("organisation, qualification, filing number, purpose, period, "
                         "totals against target"), **errors(400, 404)})
async def campaign_json(request: Request[Any, Any, Any], campaign_id: str) -> Response[bytes]:
    return _json_or_missing(await _load(request, reports.campaign_page, campaign_id), NO_CAMPAIGN)


@get("/public/campaigns/{campaign_id:str}", tags=["public pages"],
     summary="A fundraising campaign's on-site disclosure (page)",
     responses=answer("not found page", media_type="text/html", status=404))
async def campaign_html(request: Request[Any, Any, Any], campaign_id: str) -> Response[str]:
    page = await _load(request, reports.campaign_page, campaign_id)
    base = state_of(request).settings.base_url
    return _page_or_missing(page, NO_CAMPAIGN, "campaign.html", c=page,
                            page_url=f"{base}/public/campaigns/{campaign_id}")


@get("/public/campaigns/{campaign_id:str}/poster.pdf", tags=["public pages"],
     summary="A fundraising campaign's poster with its QR code (PDF)",
     responses={**answer("the A4 poster", media_type="application/pdf"), **errors(400, 404)})
async def campaign_poster(request: Request[Any, Any, Any], campaign_id: str) -> Response[bytes]:
    page = await _load(request, reports.campaign_page, campaign_id)
    if page is None:
        raise _missing(NO_CAMPAIGN)
    base = state_of(request).settings.base_url
    pdf = await asyncio.to_thread(render_poster, page, f"{base}/public/campaigns/{campaign_id}",
                                  f"{base}/public/funds")
    return Response(pdf, media_type="application/pdf", headers={
        "Content-Disposition": 'inline; filename="campaign-poster.pdf"',
        "Cache-Control": "no-store",
    })


ROUTES = [
    event_totals_json, event_page, event_totals_stream, funds_json, funds_page, fund_json,
    fund_page, fund_verify, receipt_json, receipt_page, campaign_json, campaign_html,
    campaign_poster,
]
