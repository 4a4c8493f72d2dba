"""The Litestar application factory."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import gc
import logging
import os
from collections.abc import AsyncIterator
from typing import Any

from litestar import Litestar, Request, Response
from litestar.exceptions import HTTPException

from server import exports, public
from server.api import ROUTES, error_response, overloaded_response
from server.certificates import CERTIFICATE_ROUTES
from server.domain import build_registry
from server.hours_sweep import sweep_hours_forever
from server.migrate import migrate
from server.notify.api import ROUTES as PUSH_ROUTES
from server.notify.worker import start_notifier
from server.pwa import me_route, pwa_routes
from server.settings import Settings
from server.shedding import RequestGate
from server.state import AppState
from sync.db import Database
from sync.errors import Overloaded, ProtocolError
from sync.hlc import HybridLogicalClock
from sync.pokes import POKE_CHANNEL, PokeBroker, PostgresPokeListener
from sync.push import PushLimits
from sync.retention import prune_tombstones

log = logging.getLogger("server")
PRUNE_EVERY_SECONDS = 3600


async def open_state(settings: Settings, *, run_migrations: bool = True) -> AppState:
    """Connect, migrate and assemble everything the routes need."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.resolved_database_url, pool_size=settings.db_pool_size)
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
            settings.max_active_requests, settings.max_queued_requests, settings.retry_after_seconds
        ),
        push_limits=PushLimits(max_batch=settings.max_batch, min_protocol=settings.min_protocol),
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
        notifier = await start_notifier(own)
        # what start-up built lives as long as the process: out of the collector's sight,
        # a full collection no longer walks it (tens of ms, felt by every request in flight)
        gc.collect()
        gc.freeze()
        log.info("charity server ready on %s", "postgresql" if own.db.is_postgres else "sqlite")
        try:
            yield
        finally:
            for task in (pruner, sweeper):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await notifier.stop()
            if listener is not None:
                await listener.stop()
            await own.db.dispose()

    route_handlers: list[Any] = [
        *ROUTES, me_route, *public.ROUTES, *exports.ROUTES, *CERTIFICATE_ROUTES, *PUSH_ROUTES,
    ]
    if settings.serve_static:
        route_handlers += pwa_routes()
    app = Litestar(
        route_handlers=route_handlers,
        lifespan=[lifespan],
        exception_handlers={
            ProtocolError: _protocol_error,
            Overloaded: _overloaded,
            HTTPException: _http_error,
        },
        request_max_body_size=settings.max_body_bytes,
        logging_config=None,
        openapi_config=None,
    )
    if state is not None:
        app.state["charity"] = state
    return app


def create_app_from_env() -> Litestar:
    """Entry point for uvicorn workers: settings come from ``CHARITY_*`` variables."""
    return create_app(Settings.from_env())


def _protocol_error(_request: Request[Any, Any, Any], exc: ProtocolError) -> Response[bytes]:
    return error_response(exc)


def _overloaded(_request: Request[Any, Any, Any], exc: Overloaded) -> Response[bytes]:
    return overloaded_response(exc)


def _http_error(_request: Request[Any, Any, Any], exc: HTTPException) -> Response[bytes]:
    """Litestar's own refusals (413 body too large, 404, 405) in the contract's error shape."""
    status = exc.status_code
    codes = {413: ("body_too_large", "请求体过大", "request body too large"),
             404: ("not_found", "找不到该地址", "not found"),
             405: ("method_not_allowed", "不支持该方法", "method not allowed")}
    code, zh, en = codes.get(status, ("http_error", "请求错误", str(exc.detail)))
    return error_response(ProtocolError(status, code, zh, en))


def _asyncpg_dsn(db: Database) -> str:
    url = db.engine.url
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


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
        await asyncio.sleep(PRUNE_EVERY_SECONDS)
