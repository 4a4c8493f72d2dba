"""The console's routes for online gifts from the joint fundraising platform (广益联募):
platforms and their statement mapping, funds' and projects' pages on a platform, the
import of a statement (upload -> preview -> book, in chunks the console repeats with a
progress bar), and the reconciliation of the platform against the ledger.
``server/domain/online.py`` holds the rules; docs/online-gifts.md the how.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec
from litestar import Request, get, post

from server import audit
from server.api import APP_VERSION, decode_body
from server.auth import resolve_grant
from server.domain import online
from server.domain.people import system_write
from server.openapi import TOKEN, errors
from sync.errors import ProtocolError
from sync.ids import uuid7
from sync.scopes import Grant
from sync.timeutil import now_iso
from sync.unit import MutationContext, Tx

PREFIX = "/api/v1/admin/online"


class PlatformBody(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    id: str
    name: str
    host: str = ""
    mapping: dict[str, list[str]] = msgspec.field(default_factory=lambda: dict(online.DEFAULT_MAPPING))
    time_format: str = online.DEFAULT_TIME_FORMAT


class LinkBody(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    target_kind: Literal["fund", "project"]
    target_id: str
    platform: str
    url: str
    label: str = ""


class BookBody(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    limit: int = online.BOOK_CHUNK


class OrderBookBody(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    platform: str
    order_no: str
    fund_id: str
    project_id: str | None = None


class ExplainBody(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    platform: str
    order_no: str
    category: str
    reason: str = ""


async def _grant(request: Request[Any, Any, Any]) -> Grant:
    from server.state import state_of

    grant = await resolve_grant(state_of(request).db, request.headers.get("authorization"),
                                app_version=request.headers.get(APP_VERSION))
    online.federation(grant)
    return grant


@get(f"{PREFIX}/platforms", security=TOKEN, tags=["online gifts"],
     summary="Fundraising platforms and their statement mapping (federation)",
     responses=errors(401, 403))
async def platforms_route(request: Request[Any, Any, Any]) -> dict[str, Any]:
    from server.state import state_of

    await _grant(request)
    async with state_of(request).db.read() as conn:
        return {"platforms": await online.list_platforms(conn),
                "fields": list(online.FIELDS), "required": list(online.REQUIRED),
                "default_mapping": online.DEFAULT_MAPPING,
                "default_time_format": online.DEFAULT_TIME_FORMAT}


@post(f"{PREFIX}/platforms", status_code=200, security=TOKEN, tags=["online gifts"],
      summary="Set up or change a platform and its column mapping (admins)",
      responses=errors(400, 401, 403))
async def platform_save_route(request: Request[Any, Any, Any]) -> dict[str, Any]:
    from server.state import state_of

    grant = await _grant(request)
    body: PlatformBody = decode_body(await request.body(), PlatformBody)

    async def work(conn: Any) -> dict[str, Any]:
        return await online.save_platform(conn, grant, body.id, body.name, body.host.strip().lower(),
                                          body.mapping, body.time_format, now_iso())

    return await state_of(request).db.run_write(work)


@get(f"{PREFIX}/links", security=TOKEN, tags=["online gifts"],
     summary="Funds' and projects' pages on the platforms (federation)",
     responses=errors(401, 403))
async def links_route(request: Request[Any, Any, Any]) -> dict[str, Any]:
    from server.state import state_of

    await _grant(request)
    async with state_of(request).db.read() as conn:
        return {"links": await online.list_links(conn)}


@post(f"{PREFIX}/links", status_code=200, security=TOKEN, tags=["online gifts"],
      summary="Set or remove a fund's or project's page on a platform (its federation)",
      responses=errors(400, 401, 403, 404, 409))
async def link_set_route(request: Request[Any, Any, Any]) -> dict[str, Any]:
    from server.state import state_of

    grant = await _grant(request)
    body: LinkBody = decode_body(await request.body(), LinkBody)

    async def work(conn: Any) -> dict[str, Any]:
        return await online.set_link(conn, grant, body.target_kind, body.target_id, body.platform,
                                     body.url, body.label, now_iso())

    return await state_of(request).db.run_write(work)


@post(f"{PREFIX}/statements", status_code=200, security=TOKEN, tags=["online gifts"],
      summary="Upload a platform's donation statement (CSV or .xlsx) and preview it",
      description="The body is the file itself; `?platform=` and `?filename=`. Nothing is "
                  "booked: the answer is the preview (or the bad lines, named).",
      responses=errors(400, 401, 403, 404, 413))
async def statement_upload_route(request: Request[Any, Any, Any], platform: str = "",
                                 filename: str = "") -> dict[str, Any]:
    from server.state import state_of

    grant = await _grant(request)
    data = await request.body()
    if not data:
        raise ProtocolError(400, "invalid_file", "没有收到文件", "no file was sent")
    statement_id = str(uuid7())
    state = state_of(request)
    if len(data) > online.MAX_BYTES:
        await audit.record_now(state.db, grant, "online.statement_import", "gift_statement",
                               statement_id, detail={"platform": platform[:36], "status": "unreadable",
                                                     "code": "file_too_large", "bytes": len(data)})
        raise ProtocolError(413, "file_too_large",
                            f"文件过大(上限 {online.MAX_BYTES // (1024 * 1024)} MB)",
                            f"the file is too large (at most {online.MAX_BYTES // (1024 * 1024)} MB)")

    async def work(conn: Any) -> dict[str, Any]:
        return await online.import_statement(conn, grant, platform, filename, data, parsed,
                                             statement_id, now_iso())

    try:
        parsed = await online.parse_for(state.db, platform, data)
        await state.db.run_write(work)
    except ProtocolError as refused:
        if refused.code not in ("forbidden", "not_found"):  # an unreadable file, audited too
            await audit.record_now(state.db, grant, "online.statement_import", "gift_statement",
                                   statement_id, detail={"platform": platform[:36],
                                                         "status": "unreadable",
                                                         "code": refused.code,
                                                         "bytes": len(data)})
        raise
    async with state.db.read() as conn:
        return await online.preview(conn, grant, statement_id)


@get(f"{PREFIX}/statements", security=TOKEN, tags=["online gifts"],
     summary="Imported statements, newest first (federation)", responses=errors(401, 403))
async def statements_route(request: Request[Any, Any, Any]) -> dict[str, Any]:
    from server.state import state_of

    await _grant(request)
    async with state_of(request).db.read() as conn:
        return {"statements": await online.list_statements(conn)}


@get(f"{PREFIX}/statements/{{statement_id:str}}", security=TOKEN, tags=["online gifts"],
     summary="A statement's preview: lines, states, totals per project and day",
     responses=errors(400, 401, 403, 404))
async def statement_route(request: Request[Any, Any, Any], statement_id: str) -> dict[str, Any]:
    from server.state import state_of

    grant = await _grant(request)
    async with state_of(request).db.read() as conn:
        return await online.preview(conn, grant, statement_id)


@post(f"{PREFIX}/statements/{{statement_id:str}}/book", status_code=200, security=TOKEN,
      tags=["online gifts"],
      summary="Book the next chunk of a statement's new lines into the fund ledger",
      description="Books at most `limit` orders in one transaction and says how many remain; "
                  "the console repeats until none do. A statement with bad lines books "
                  "nothing (409 `statement_refused`, naming the first).",
      responses=errors(400, 401, 403, 404, 409))
async def statement_book_route(request: Request[Any, Any, Any], statement_id: str) -> dict[str, Any]:
    from server.state import state_of

    grant = await _grant(request)
    raw = await request.body()
    body: BookBody = decode_body(raw, BookBody) if raw.strip() else BookBody()
    if not 1 <= body.limit <= 10 * online.BOOK_CHUNK:
        raise ProtocolError(400, "invalid_args", "每次入账笔数须为 1 至 20000",
                            "limit must be 1 to 20000", field="limit")
    state = state_of(request)

    async def work(tx: Tx, ctx: MutationContext) -> dict[str, Any]:
        return await online.book_statement(tx, ctx, statement_id, body.limit)

    return await system_write(state.db, state.registry, state.pokes, grant, "online.book", work)


@get(f"{PREFIX}/reconcile", security=TOKEN, tags=["online gifts"],
     summary="Reconciliation: the platform's totals against the ledger's, per project and day",
     description="`?platform=&start=YYYY-MM-DD&end=YYYY-MM-DD` (at most 92 days).",
     responses=errors(400, 401, 403, 404))
async def reconcile_route(request: Request[Any, Any, Any], platform: str = "", start: str = "",
                          end: str = "") -> dict[str, Any]:
    from server.state import state_of

    grant = await _grant(request)
    async with state_of(request).db.read() as conn:
        return await online.reconcile(conn, grant, platform, start, end)


@post(f"{PREFIX}/reconcile/book", status_code=200, security=TOKEN, tags=["online gifts"],
      summary="Resolve an unmatched order by booking it onto a fund or project",
      responses=errors(400, 401, 403, 404, 409))
async def reconcile_book_route(request: Request[Any, Any, Any]) -> dict[str, Any]:
    from server.state import state_of

    grant = await _grant(request)
    body: OrderBookBody = decode_body(await request.body(), OrderBookBody)
    state = state_of(request)

    async def work(tx: Tx, ctx: MutationContext) -> dict[str, Any]:
        return await online.book_order(tx, ctx, body.platform, body.order_no, body.fund_id,
                                       body.project_id)

    return await system_write(state.db, state.registry, state.pokes, grant, "online.resolve", work)


@post(f"{PREFIX}/reconcile/explain", status_code=200, security=TOKEN, tags=["online gifts"],
      summary="Resolve an unmatched order by marking it explained (a reason category)",
      responses=errors(400, 401, 403, 404, 409))
async def reconcile_explain_route(request: Request[Any, Any, Any]) -> dict[str, Any]:
    from server.state import state_of

    grant = await _grant(request)
    body: ExplainBody = decode_body(await request.body(), ExplainBody)

    async def work(conn: Any) -> dict[str, Any]:
        return await online.explain_order(conn, grant, body.platform, body.order_no,
                                          body.category, body.reason, now_iso())

    return await state_of(request).db.run_write(work)


ROUTES = [
    platforms_route, platform_save_route, links_route, link_set_route, statement_upload_route,
    statements_route, statement_route, statement_book_route, reconcile_route,
    reconcile_book_route, reconcile_explain_route,
]
