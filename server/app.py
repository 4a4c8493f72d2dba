"""The Litestar application factory."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import gc
import html
import logging
import os
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote_to_bytes

from litestar import Litestar, Request, Response
from litestar.datastructures import CacheControlHeader
from litestar.exceptions import HTTPException
from litestar.static_files import create_static_files_router
from litestar.types import Message as AsgiMessage
from litestar.types import Scope, Send

from server import (
    accounts,
    audit,
    ballots_public,
    client_config,
    dashboard,
    disclosures,
    enrol,
    erasure,
    exports,
    files,
    online,
    public,
    rounds_public,
    service_projects_public,
    year_summary,
)
from server import request_id as rid
from server.api import JSON, ROUTES, error_response, overloaded_response
from server.auth import configure as configure_auth
from server.certificates import CERTIFICATE_ROUTES
from server.disclosure_sweep import remind_forever
from server.domain import build_registry
from server.domain.funds import chain_all_pending
from server.filestore import open_store
from server.headers import secure
from server.hours_sweep import sweep_hours_forever
from server.migrate import migrate
from server.notify.api import ROUTES as PUSH_ROUTES
from server.notify.worker import start_notifier
from server.openapi import openapi_config
from server.project_sweep import remind_follow_ups_forever
from server.pwa import pwa_routes
from server.ratelimit import (
    STATIC,
    TOO_MANY_EN,
    TOO_MANY_PAGE,
    TOO_MANY_ZH,
    RateLimiter,
    group_of,
)
from server.settings import Settings
from server.shedding import RequestGate
from server.state import AppState
from server.training_sweep import remind_forever as remind_trainings_forever
from sync.db import Database, database_unavailable, pool_shape, postgres_connection_budget
from sync.errors import Overloaded, ProtocolError
from sync.hlc import HybridLogicalClock
from sync.pokes import POKE_CHANNEL, PokeBroker, PostgresPokeListener
from sync.push import PushLimits
from sync.retention import prune_tombstones

log = logging.getLogger("server")
PUBLIC_STATIC = Path(__file__).with_name("static")
"""Script files of the server's own pages (``/public/static/``): no inline script anywhere."""
PRUNE_EVERY_SECONDS = 3600


async def open_state(settings: Settings, *, run_migrations: bool = True) -> AppState:
    """Connect, migrate and assemble everything the routes need."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    active = settings.max_active_requests
    if settings.resolved_database_url.startswith("postgresql"):
        budget = settings.db_max_connections or await postgres_connection_budget(settings.resolved_database_url)
        pool_size, overflow, most_active = pool_shape(budget, settings.workers, settings.db_pool_size)
        active = min(active, most_active)
        db = Database(settings.resolved_database_url, pool_size=pool_size, max_overflow=overflow)
    else:
        db = Database(settings.resolved_database_url, pool_size=settings.db_pool_size)
    configure_auth(settings.device_idle_days)
    if run_migrations and os.environ.get("CHARITY_SKIP_MIGRATIONS") != "1":
        await migrate(db)
        await db.refresh_statistics()
    return AppState(
        settings=settings,
        db=db,
        registry=build_registry(settings),
        clock=HybridLogicalClock(node="server"),
        broker=PokeBroker(),
        gate=RequestGate(
            active, settings.max_queued_requests, settings.retry_after_seconds,
            settings.max_queue_wait_seconds or None,
        ),
        push_limits=PushLimits(max_batch=settings.max_batch, min_protocol=settings.min_protocol),
        limiter=RateLimiter.from_settings(settings),
        files=open_store(settings.attachment_storage, settings.data_dir, db.is_postgres),
    )


def create_app(settings: Settings | None = None, *, state: AppState | None = None) -> Litestar:
    """The app. Tests hand in a ``state`` opened on their own event loop; the app then
    uses it as is and leaves closing it to them."""
    settings = state.settings if state is not None else (settings or Settings.from_env())

    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        if state is not None:
            app.state["charity"] = state
            yield
            return
        own = await open_state(settings)
        app.state["charity"] = own
        listener = None
        if own.db.is_postgres:
            listener = PostgresPokeListener(_asyncpg_dsn(own.db), POKE_CHANNEL, own.broker)
            await listener.start()
        pruner = asyncio.create_task(_prune_forever(own), name="prune-tombstones")
        sweeper = asyncio.create_task(sweep_hours_forever(own), name="sweep-open-hour-logs")
        reminder = asyncio.create_task(remind_forever(own), name="remind-disclosures")
        follow_ups = asyncio.create_task(remind_follow_ups_forever(own), name="remind-follow-ups")
        trainings = asyncio.create_task(remind_trainings_forever(own), name="remind-trainings")
        chainer = asyncio.create_task(_chain_forever(own), name="link-pending-gifts")
        notifier = await start_notifier(own)
        # what start-up built lives as long as the process: out of the collector's sight,
        # a full collection no longer walks it (tens of ms, felt by every request in flight)
        gc.collect()
        gc.freeze()
        log.info("charity server ready on %s", "postgresql" if own.db.is_postgres else "sqlite")
        try:
            yield
        finally:
            for task in (pruner, sweeper, reminder, follow_ups, trainings, chainer):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await notifier.stop()
            if listener is not None:
                await listener.stop()
            await own.db.dispose()

    route_handlers: list[Any] = [
        *ROUTES, *accounts.ROUTES, *erasure.ROUTES, *enrol.ROUTES, *public.ROUTES, *exports.ROUTES,
        *CERTIFICATE_ROUTES, *disclosures.ROUTES, *PUSH_ROUTES, *client_config.ROUTES, *audit.ROUTES,
        *files.ROUTES, *online.ROUTES, *dashboard.ROUTES, *year_summary.ROUTES, *rounds_public.ROUTES,
        *ballots_public.ROUTES,
        *service_projects_public.ROUTES,
        create_static_files_router(path=STATIC.rstrip("/"), directories=[PUBLIC_STATIC],
                                   include_in_schema=False, name="public-static",
                                   cache_control=CacheControlHeader(no_cache=True)),
    ]
    if settings.serve_static:
        route_handlers += pwa_routes()
    rid.install_log_records()
    app = CharityApp(
        route_handlers=route_handlers,
        lifespan=[lifespan],
        exception_handlers={
            ProtocolError: _protocol_error,
            Overloaded: _overloaded,
            HTTPException: _http_error,
            Exception: _internal_error,
        },
        request_max_body_size=settings.max_body_bytes,
        logging_config=None,
        openapi_config=openapi_config(),
    )
    app.access_log = settings.access_log
    if state is not None:
        app.state["charity"] = state
    return app


def create_app_from_env() -> Litestar:
    """Entry point for uvicorn workers: settings come from ``CHARITY_*`` variables."""
    settings = Settings.from_env()
    configure_logging(settings)
    return create_app(settings)


LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"


def configure_logging(settings: Settings) -> None:
    """The log format with the request id, at the configured level, unless the process
    already has handlers (the command line set them up; a worker process has none)."""
    rid.install_log_records()
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(level=settings.log_level.upper(), format=LOG_FORMAT)


def _protocol_error(_request: Request[Any, Any, Any], exc: ProtocolError) -> Response[bytes]:
    return error_response(exc)


def _overloaded(_request: Request[Any, Any, Any], exc: Overloaded) -> Response[bytes]:
    return overloaded_response(exc)


def _http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    """Litestar's own refusals (413 body too large, 404, 405, 400) in the contract's error
    shape; a 5xx it raises is an internal error like any other."""
    status = exc.status_code
    if status >= 500:
        return _internal_error(request, exc)
    codes = {413: ("body_too_large", "请求体过大", "request body too large"),
             404: ("not_found", "找不到该地址", "not found"),
             405: ("method_not_allowed", "不支持该方法", "method not allowed"),
             400: ("bad_request", "请求不正确", f"bad request: {exc.detail}")}
    code, zh, en = codes.get(status, ("http_error", "请求错误", str(exc.detail)))
    return error_response(ProtocolError(status, code, zh, en))


INTERNAL_ZH = "服务器内部错误,已记录,请联系管理员并提供请求编号"
INTERNAL_EN = "internal error; it was logged, please tell an administrator the request id"
ERROR_PAGE = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>服务器错误 · Server error</title></head>
<body style="font-family:system-ui,sans-serif;padding:24px;max-width:560px">
<h1>服务器内部错误</h1><p>{zh}</p><h2>Internal error</h2><p>{en}</p>
<p>请求编号 / request id: <code>{request_id}</code></p></body></html>"""


def _internal_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """Every unhandled exception: logged with its traceback and the request id, answered
    500 ``internal_error`` with the same id (an HTML page on the public pages)."""
    request_id = rid.current()
    if database_unavailable(exc):
        # the database could take no more connections (or none came free in time): the
        # request was not applied; the phone retries after Retry-After, as when shed
        log.warning("database unavailable on %s %r (request_id=%s): %s", request.method,
                    request.url.path, request_id, exc)
        state = request.app.state.get("charity")
        return overloaded_response(Overloaded(state.settings.retry_after_seconds if state is not None else 2))
    log.error("unhandled error on %s %r (request_id=%s)", request.method, request.url.path,
              request_id, exc_info=exc)
    if request.url.path.startswith("/public/"):
        page = ERROR_PAGE.format(zh=INTERNAL_ZH, en=INTERNAL_EN,
                                 request_id=html.escape(request_id or "-"))
        return Response(page, status_code=500, media_type="text/html")  # + charset by Litestar
    return error_response(ProtocolError(500, "internal_error", INTERNAL_ZH, INTERNAL_EN))


_CONTROL = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")
_CONTROL_BYTES = re.compile(rb"[\x00-\x1f\x7f]")


def _bad_target(scope: Scope) -> bool:
    """A path or query holding a control character (``/%00``) or invalid UTF-8: no route
    of this server takes one, and PostgreSQL refuses NUL in text."""
    if _CONTROL.search(scope.get("path", "")):
        return True
    query = unquote_to_bytes(scope.get("query_string", b"").replace(b"+", b" "))
    if _CONTROL_BYTES.search(query):
        return True
    try:
        query.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


access_log = logging.getLogger("server.access")
_SECRET_PATHS = re.compile(r"^(/api/v1/public/signup/)[^/]+")


def log_path(path: str) -> str:
    """The path as the access log shows it: never the query (receipt codes, tokens), and a
    sign-up link's secret replaced by ``***``."""
    return _SECRET_PATHS.sub(r"\1***", path)[:300]


class CharityApp(Litestar):
    """Litestar, with a request id around every HTTP request (the header, the log records,
    the error bodies), the security headers on every answer (``server/headers.py``), control
    characters in the request target refused up front, the anonymous routes rate limited
    (``server/ratelimit.py``) before any of their work is done, and one access-log line per
    request (``server.access``: method, path without the query, status, duration, client
    address; the request id is on the record)."""

    access_log: bool = True

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        incoming = next((v for k, v in scope.get("headers", ()) if k.lower() == b"x-request-id"),
                        None)
        request_id = rid.from_header(incoming)
        token = rid.CURRENT.set(request_id)
        client = scope.get("client")
        client_token = rid.CLIENT.set(str(client[0])[:64] if client else None)
        header = (b"x-request-id", request_id.encode())
        started, status = time.perf_counter(), [0]
        https = scope.get("scheme") == "https"

        async def send_with_id(message: AsgiMessage) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                headers = [h for h in message.get("headers", ()) if h[0].lower() != b"x-request-id"]
                message = {**message, "headers": secure([*headers, header], https)}
            await send(message)

        try:
            if _bad_target(scope):
                await _refuse_target(send_with_id)
                return
            if await self._rate_limited(scope, send_with_id, request_id):
                return
            await super().__call__(scope, receive, send_with_id)
        finally:
            if self.access_log:
                access_log.info("%s %s %d %.1fms %s", scope.get("method", "-"),
                                log_path(scope.get("path", "")), status[0] or 500,
                                (time.perf_counter() - started) * 1000,
                                client[0] if client else "-")
            rid.CLIENT.reset(client_token)
            rid.CURRENT.reset(token)

    async def _rate_limited(self, scope: Any, send: Send, request_id: str) -> bool:
        """Answer 429 when the request's group is over its limit for this address."""
        path = scope.get("path", "")
        group = group_of(path)
        state: AppState | None = self.state.get("charity")
        if group is None or state is None:
            return False
        client = scope.get("client")
        wait = state.limiter.take(group, str(client[0]) if client else "unknown")
        if wait is None:
            return False
        extra = [(b"retry-after", str(wait).encode())]
        if path.startswith("/public/"):
            page = TOO_MANY_PAGE.format(wait=wait, request_id=html.escape(request_id))
            await _send_raw(send, 429, "text/html; charset=utf-8", page.encode(), extra)
        else:
            body = error_response(ProtocolError(
                429, "rate_limited", TOO_MANY_ZH.format(wait=wait),
                TOO_MANY_EN.format(wait=wait))).content
            await _send_raw(send, 429, JSON, body, extra)
        return True


async def _send_raw(send: Send, status: int, content_type: str, body: bytes,
                    extra: list[tuple[bytes, bytes]] | None = None) -> None:
    """An answer sent before routing (nothing of Litestar ran)."""
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", content_type.encode()),
                            (b"content-length", str(len(body)).encode()),
                            (b"cache-control", b"no-store"), *(extra or [])]})
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def _refuse_target(send: Send) -> None:
    response = error_response(ProtocolError(
        400, "bad_request", "请求地址含有控制字符或无效的 UTF-8",
        "the request path or query holds a control character or invalid UTF-8"))
    await _send_raw(send, 400, JSON, response.content)


def _asyncpg_dsn(db: Database) -> str:
    url = db.engine.url
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


CHAIN_SWEEP_SECONDS = 5.0


async def _chain_forever(state: AppState) -> None:
    """Link gifts a push committed but did not get to link (its process stopped in
    between): at start-up, then every few seconds (PostgreSQL only; docs/donations.md)."""
    if not state.db.is_postgres:
        return
    older_than = 0.0  # at start-up: whatever a stopped process left
    while True:
        try:
            found = await chain_all_pending(state.db, state.registry, state.pokes, older_than)
            older_than = CHAIN_SWEEP_SECONDS  # then: rows no push in flight is linking
            if found:
                log.info("linked the pending gifts of %d fund(s)", found)
        except Exception:
            log.exception("linking pending gifts failed; will try again")
        await asyncio.sleep(CHAIN_SWEEP_SECONDS)


async def _prune_forever(state: AppState) -> None:
    while True:
        try:
            removed = await prune_tombstones(
                state.db, state.registry, dt.timedelta(days=state.settings.retention_days)
            )
            if removed:
                log.info("pruned %d tombstones", removed)
                await state.db.refresh_statistics()
        except Exception:
            log.exception("pruning tombstones failed; will try again")
        try:
            gone = await files.sweep_files(state)
            if gone:
                log.info("attachment retention deleted %d unreferenced files", len(gone))
        except Exception:
            log.exception("the attachments' retention sweep failed; will try again")
        await asyncio.sleep(PRUNE_EVERY_SECONDS)
