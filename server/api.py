"""HTTP routes of the sync contract (``/api/v1/sync/*``) and the health check."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from typing import Any

import msgspec
from litestar import Request, Response, get, post
from litestar.response import ServerSentEvent, ServerSentEventMessage

from schemas.export import contract_schema
from schemas.wire import (
    PROTOCOL_VERSION,
    ErrorBody,
    Message,
    PullRequest,
    PullResponse,
    PushRequest,
    PushResponse,
)
from server import request_id
from server.auth import bearer_token, grant_resolver, resolve_grant, revoke_tag
from server.openapi import TOKEN, answer, errors
from server.state import state_of
from sync import pull as pull_module
from sync import push as push_module
from sync.errors import Overloaded, ProtocolError
from sync.timeutil import now_iso

JSON = "application/json"


def error_response(exc: ProtocolError) -> Response[bytes]:
    body = ErrorBody(
        code=exc.code, message=exc.message,
        expected=exc.extra.get("expected"), field=exc.extra.get("field"),
        request_id=request_id.current(),
    )
    retry_after = exc.extra.get("retry_after")
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    encoded = msgspec.json.encode(body)
    if "received" in exc.extra:  # an upload's offset mismatch says where to go on from
        encoded = encoded[:-1] + b',"received":' + msgspec.json.encode(exc.extra["received"]) + b"}"
    return Response(encoded, status_code=exc.status, media_type=JSON, headers=headers)


def overloaded_response(exc: Overloaded) -> Response[bytes]:
    body = ErrorBody(
        code="overloaded",
        message=Message(
            zh=f"服务器繁忙,请 {exc.retry_after} 秒后重试",
            en=f"server busy; retry in {exc.retry_after}s",
        ),
        request_id=request_id.current(),
    )
    return Response(
        msgspec.json.encode(body), status_code=503, media_type=JSON,
        headers={"Retry-After": str(exc.retry_after)},
    )


def decode_body(body: bytes, kind: type[Any]) -> Any:
    """The envelope, or a 400 naming what is wrong. The whole body is checked to be UTF-8
    first: msgspec leaves ``args`` raw, and a bad byte there would only surface when the
    mutation is applied. JSON nested deeper than the interpreter's recursion limit is
    refused as not JSON."""
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ProtocolError(400, "not_json", "请求不是有效的 UTF-8 文本",
                            f"the body is not valid UTF-8 (byte {exc.start})") from None
    try:
        return msgspec.json.decode(body, type=kind)
    except RecursionError:
        raise ProtocolError(400, "not_json", "请求的 JSON 嵌套过深",
                            "the body's JSON is nested too deeply") from None
    except msgspec.ValidationError as exc:
        detail = str(exc)
        field = detail.rsplit(" - at `", 1)[1].rstrip("`") if " - at `" in detail else None
        raise ProtocolError(400, "malformed_envelope", f"请求格式不正确:{detail}",
                            f"malformed request: {detail}", field=field) from None
    except msgspec.DecodeError as exc:
        raise ProtocolError(400, "not_json", "请求不是有效的 JSON", f"the body is not valid JSON: {exc}") from None



APP_VERSION = "x-app-version"


@post("/api/v1/sync/push", status_code=200, security=TOKEN, tags=["sync"],
      summary="Push a batch of mutations",
      description="The phone's queued writes, applied in id order; each gets an outcome "
                  "(`applied`, `rejected` with a reason, or `duplicate`). Body: `PushRequest` "
                  "(docs/protocol.md; argument types: `GET /api/v1/sync/schema`).",
      responses={**answer("one outcome per mutation", PushResponse),
                 **errors(400, 401, 403, 409, 413, 426, 503)})
async def push_route(request: Request[Any, Any, Any]) -> Response[bytes]:
    state = state_of(request)
    async with state.gate.enter():
        token = bearer_token(request.headers.get("authorization"))
        envelope: PushRequest = decode_body(await request.body(), PushRequest)
        resolver = grant_resolver(
            token, app_version=request.headers.get(APP_VERSION), write=True,
            pending_count=envelope.pending, pending_summary=envelope.pending_summary,
        )
        outcome = await push_module.push(
            state.db, state.registry, state.clock, resolver, envelope, state.push_limits,
            state.pokes,
        )
    return Response(msgspec.json.encode(outcome.response), media_type=JSON)


@post("/api/v1/sync/pull", status_code=200, security=TOKEN, tags=["sync"],
      summary="Pull changes since a cursor",
      description="The records the token may see that changed after `cursor` (null: from "
                  "the start), a page at a time, with the next cursor. Body: `PullRequest`.",
      responses={**answer("a page of changes and the next cursor", PullResponse),
                 **errors(400, 401, 403, 426, 503)})
async def pull_route(request: Request[Any, Any, Any]) -> Response[bytes]:
    state = state_of(request)
    async with state.gate.enter():
        token = bearer_token(request.headers.get("authorization"))
        envelope: PullRequest = decode_body(await request.body(), PullRequest)
        resolver = grant_resolver(token, app_version=request.headers.get(APP_VERSION))
        page = await pull_module.pull(
            state.db, state.registry, resolver, envelope, min_protocol=state.settings.min_protocol,
        )
        if resolver.grant is not None and resolver.grant.sign_out:
            page = msgspec.structs.replace(page, sign_out=True)
        await resolver.touch(state.db)
    # stamped last, as close to sending as the route gets: the phone's clock check
    page = msgspec.structs.replace(page, server_time=now_iso())
    return Response(msgspec.json.encode(page), media_type=JSON)


@get("/api/v1/sync/events", security=TOKEN, tags=["sync"],
     summary="Change notifications (server-sent events)",
     responses={**answer("`event: ready`, then `event: poke` when something to pull landed",
                         media_type="text/event-stream"),
                **errors(401, 403)})
async def events_route(request: Request[Any, Any, Any]) -> ServerSentEvent:
    """``event: poke`` whenever a change lands in one of the caller's scopes; a comment
    every 15 s keeps proxies and phones from dropping an idle stream. The stream ends
    within seconds of its token being revoked or its grant changing."""
    state = state_of(request)
    authorization = request.headers.get("authorization")
    grant = await resolve_grant(state.db, authorization,
                                app_version=request.headers.get(APP_VERSION))
    recheck = min(state.keepalive_seconds, state.token_recheck_seconds)

    async def still_valid() -> bool:
        try:
            now = await resolve_grant(state.db, authorization)
        except ProtocolError:
            return False
        return now.fingerprint() == grant.fingerprint()

    async def stream() -> AsyncGenerator[ServerSentEventMessage, None]:
        loop = asyncio.get_running_loop()
        async with state.broker.subscribe(grant.poke_tags()) as queue, \
                state.broker.subscribe({revoke_tag(grant.token_id)}) as revoked:
            yield ServerSentEventMessage(event="ready", data="")
            next_check = loop.time() + recheck
            next_keepalive = loop.time() + state.keepalive_seconds
            while True:
                timeout = max(0.0, min(next_check, next_keepalive) - loop.time())
                poke = asyncio.ensure_future(queue.get())
                gone = asyncio.ensure_future(revoked.get())
                done, pending = await asyncio.wait({poke, gone}, timeout=timeout,
                                                   return_when=asyncio.FIRST_COMPLETED)
                for task in pending:
                    task.cancel()
                if gone in done or loop.time() >= next_check:
                    if not await still_valid():
                        yield ServerSentEventMessage(event="revoked", data="")
                        return
                    next_check = loop.time() + recheck
                if poke in done:
                    yield ServerSentEventMessage(event="poke", data="")
                elif loop.time() >= next_keepalive:
                    yield ServerSentEventMessage(comment="keepalive")
                    next_keepalive = loop.time() + state.keepalive_seconds

    return ServerSentEvent(stream(), headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


@get("/api/v1/sync/schema", tags=["sync"],
     summary="The sync contract's JSON Schema",
     description="Envelopes, records and every mutation's arguments, as JSON Schema.",
     responses=answer("JSON Schema of the wire format"))
async def schema_route(request: Request[Any, Any, Any]) -> Response[bytes]:
    state = state_of(request)
    schema = contract_schema(state.registry.args_types(), state.registry.record_shapes())
    return Response(msgspec.json.encode(schema), media_type=JSON)


@get("/healthz", tags=["operations"], summary="Health check",
     description="Answers once the database answers: status, database kind, protocol version.")
async def health_route(request: Request[Any, Any, Any]) -> dict[str, Any]:
    state = state_of(request)
    async with state.db.engine.connect() as conn:
        await conn.exec_driver_sql("SELECT 1")
    return {
        "status": "ok",
        "database": "postgresql" if state.db.is_postgres else "sqlite",
        "protocol": PROTOCOL_VERSION,
    }


ROUTES = [push_route, pull_route, events_route, schema_route, health_route]
