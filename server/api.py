"""HTTP routes of the sync contract (``/api/v1/sync/*``) and the health check."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator
from typing import Any

import msgspec
from litestar import Request, Response, get, post
from litestar.response import ServerSentEvent, ServerSentEventMessage

from schemas.export import contract_schema
from schemas.wire import PROTOCOL_VERSION, ErrorBody, Message, PullRequest, PushRequest
from server.auth import bearer_token, grant_resolver, resolve_grant
from server.state import state_of
from sync import pull as pull_module
from sync import push as push_module
from sync.errors import Overloaded, ProtocolError

JSON = "application/json"


def error_response(exc: ProtocolError) -> Response[bytes]:
    body = ErrorBody(
        code=exc.code, message=exc.message,
        expected=exc.extra.get("expected"), field=exc.extra.get("field"),
    )
    return Response(msgspec.json.encode(body), status_code=exc.status, media_type=JSON)


def overloaded_response(exc: Overloaded) -> Response[bytes]:
    body = ErrorBody(
        code="overloaded",
        message=Message(
            zh=f"服务器繁忙,请 {exc.retry_after} 秒后重试",
            en=f"server busy; retry in {exc.retry_after}s",
        ),
    )
    return Response(
        msgspec.json.encode(body), status_code=503, media_type=JSON,
        headers={"Retry-After": str(exc.retry_after)},
    )


def _decode(body: bytes, kind: type[Any]) -> Any:
    try:
        return msgspec.json.decode(body, type=kind)
    except msgspec.ValidationError as exc:
        detail = str(exc)
        field = detail.rsplit(" - at `", 1)[1].rstrip("`") if " - at `" in detail else None
        raise ProtocolError(400, "malformed_envelope", f"请求格式不正确:{detail}",
                            f"malformed request: {detail}", field=field) from None
    except msgspec.DecodeError as exc:
        raise ProtocolError(400, "not_json", "请求不是有效的 JSON", f"the body is not valid JSON: {exc}") from None



@post("/api/v1/sync/push", status_code=200)
async def push_route(request: Request[Any, Any, Any]) -> Response[bytes]:
    state = state_of(request)
    async with state.gate.enter():
        token = bearer_token(request.headers.get("authorization"))
        envelope: PushRequest = _decode(await request.body(), PushRequest)
        outcome = await push_module.push(
            state.db, state.registry, state.clock, grant_resolver(token), envelope,
            state.push_limits, state.pokes,
        )
    return Response(msgspec.json.encode(outcome.response), media_type=JSON)


@post("/api/v1/sync/pull", status_code=200)
async def pull_route(request: Request[Any, Any, Any]) -> Response[bytes]:
    state = state_of(request)
    async with state.gate.enter():
        token = bearer_token(request.headers.get("authorization"))
        envelope: PullRequest = _decode(await request.body(), PullRequest)
        page = await pull_module.pull(
            state.db, state.registry, grant_resolver(token), envelope,
            min_protocol=state.settings.min_protocol,
        )
    return Response(msgspec.json.encode(page), media_type=JSON)


@get("/api/v1/sync/events")
async def events_route(request: Request[Any, Any, Any]) -> ServerSentEvent:
    """``event: poke`` whenever a change lands in one of the caller's scopes; a comment
    every 15 s keeps proxies and phones from dropping an idle stream."""
    state = state_of(request)
    grant = await resolve_grant(state.db, request.headers.get("authorization"))

    async def stream() -> AsyncGenerator[ServerSentEventMessage, None]:
        async with state.broker.subscribe(grant.poke_tags()) as queue:
            yield ServerSentEventMessage(event="ready", data="")
            while True:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(queue.get(), timeout=state.keepalive_seconds)
                    yield ServerSentEventMessage(event="poke", data="")
                    continue
                yield ServerSentEventMessage(comment="keepalive")

    return ServerSentEvent(stream(), headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


@get("/api/v1/sync/schema")
async def schema_route(request: Request[Any, Any, Any]) -> Response[bytes]:
    state = state_of(request)
    schema = contract_schema(state.registry.args_types(), state.registry.record_shapes())
    return Response(msgspec.json.encode(schema), media_type=JSON)


@get("/healthz")
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
