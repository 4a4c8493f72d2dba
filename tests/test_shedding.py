"""Load shedding (server/shedding.py): a full queue and a long wait both answer Overloaded
(503 + Retry-After) before any work is done, and a shed request gives its place back."""

from __future__ import annotations

import asyncio
import os
import uuid
from pathlib import Path

import pytest

from server.shedding import RequestGate
from sync.errors import Overloaded


async def _hold(gate: RequestGate, started: asyncio.Event, release: asyncio.Event) -> None:
    async with gate.enter():
        started.set()
        await release.wait()


def test_a_request_waiting_longer_than_max_wait_is_shed_and_the_slot_stays_usable() -> None:
    async def run() -> None:
        gate = RequestGate(max_active=1, max_queued=10, retry_after=3, max_wait=0.05)
        started, release = asyncio.Event(), asyncio.Event()
        holder = asyncio.create_task(_hold(gate, started, release))
        await started.wait()
        with pytest.raises(Overloaded) as shed:
            async with gate.enter():
                raise AssertionError("ran while the only slot was held")
        assert shed.value.retry_after == 3
        assert gate.shed_count == 1
        release.set()
        await holder
        # the slot and the queue count came back: the next request runs at once
        async with gate.enter():
            pass
        assert gate.shed_count == 1

    asyncio.run(run())


def test_without_max_wait_a_queued_request_waits_for_its_turn() -> None:
    async def run() -> None:
        gate = RequestGate(max_active=1, max_queued=10, retry_after=3)
        started, release = asyncio.Event(), asyncio.Event()
        holder = asyncio.create_task(_hold(gate, started, release))
        await started.wait()
        ran = asyncio.Event()

        async def waiter() -> None:
            async with gate.enter():
                ran.set()

        task = asyncio.create_task(waiter())
        await asyncio.sleep(0.1)
        assert not ran.is_set()
        release.set()
        await asyncio.gather(holder, task)
        assert ran.is_set() and gate.shed_count == 0

    asyncio.run(run())


def test_a_full_queue_sheds_at_once() -> None:
    async def run() -> None:
        gate = RequestGate(max_active=1, max_queued=0, retry_after=2, max_wait=5)
        started, release = asyncio.Event(), asyncio.Event()
        holder = asyncio.create_task(_hold(gate, started, release))
        await started.wait()
        with pytest.raises(Overloaded):
            async with gate.enter():
                pass
        release.set()
        await holder
        assert gate.shed_count == 1

    asyncio.run(run())


def test_pool_shape_keeps_the_workers_within_the_connection_budget() -> None:
    from sync.db import pool_shape

    for budget in (10, 37, 87, 200):
        for workers in (1, 2, 4, 8):
            size, overflow, active = pool_shape(budget, workers, pool_size=10)
            # every worker at its most: never more than the budget (or 4 each on a tiny one)
            # with each worker's LISTEN connection
            assert workers * (size + overflow + 1) <= max(budget, workers * 5)
            assert 1 <= active <= size + overflow and size <= 10
    assert pool_shape(77, 4, pool_size=10) == (10, 8, 15)


def test_a_database_out_of_connections_answers_503_and_the_push_is_applied_later(tmp_path) -> None:
    """When PostgreSQL takes no more connections the push is answered 503 with
    Retry-After (not 500), nothing of it is written, and the same push applied once later.
    A real refusal: a role limited to three connections, all three taken elsewhere."""
    from tests.conftest import drop_pg_database, fresh_pg_database

    name = f"charity_limited_{os.getpid()}"
    fresh_pg_database(name)  # skips (or fails under CHARITY_REQUIRE_POSTGRES) without a server
    try:
        asyncio.run(_out_of_connections(tmp_path, name))
    finally:
        drop_pg_database(name)


async def _out_of_connections(tmp_path: Path, name: str) -> None:
    import asyncpg
    import httpx

    from server.app import create_app, open_state
    from server.auth import issue_token
    from server.settings import Settings
    from tests.conftest import PG_ADMIN_URL
    from tests.helpers import event_args, mutation, new_id, station_args

    role = name
    admin_url = PG_ADMIN_URL.replace("postgresql://", "postgres://", 1)
    admin = await asyncpg.connect(admin_url)
    await admin.execute(f'DROP ROLE IF EXISTS "{role}"')
    await admin.execute(f'CREATE ROLE "{role}" LOGIN CONNECTION LIMIT 3')
    await admin.execute(f'ALTER DATABASE "{name}" OWNER TO "{role}"')
    base = PG_ADMIN_URL.rpartition("@")[2].rpartition("/")[0]
    url = f"postgresql://{role}@{base}/{name}"
    held: list[asyncpg.Connection] = []
    state = await open_state(Settings(data_dir=tmp_path, database_url=url, serve_static=False,
                                      db_max_connections=8))
    try:
        _tid, token = await issue_token(state.db, user="root", role="admin", station=None, district=None)
        app = create_app(state=state)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
            client = str(uuid.uuid4())
            event = new_id()
            body = {"protocol": 1, "client_id": client, "mutations": [
                mutation(1, "station.create", station_args()), mutation(2, "event.create", event_args(event))]}
            headers = {"Authorization": f"Bearer {token}"}
            await state.db.engine.dispose()  # the pool's idle connection goes: all three are taken below
            for _ in range(3):
                held.append(await asyncpg.connect(url.replace("postgresql://", "postgres://", 1)))
            refused = await http.post("/api/v1/sync/push", json=body, headers=headers)
            assert refused.status_code == 503, refused.text
            assert refused.headers["Retry-After"] == "2"
            assert refused.json()["code"] == "overloaded" and refused.json()["message"]["zh"]
            for conn in held:
                await conn.close()
            held.clear()
            check = await asyncpg.connect(url.replace("postgresql://", "postgres://", 1))
            written = await check.fetchval("SELECT count(*) FROM events")
            await check.close()
            assert written == 0
            applied = await http.post("/api/v1/sync/push", json=body, headers=headers)
            assert applied.status_code == 200
            assert [r["status"] for r in applied.json()["results"]] == ["applied", "applied"]
            again = await http.post("/api/v1/sync/push", json=body, headers=headers)
            assert [r["status"] for r in again.json()["results"]] == ["duplicate", "duplicate"]
    finally:
        for conn in held:
            await conn.close()
        await state.db.dispose()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'DROP ROLE IF EXISTS "{role}"')
        await admin.close()
