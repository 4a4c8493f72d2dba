"""Planner statistics after bulk growth (PostgreSQL): the server analyses a table that
grew well past its statistics as the rows arrive (``Database.note_growth``), so the
feed's plan does not wait for autovacuum; a table that barely changed is left alone."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from server.state import AppState
from sync import db as dbmod
from tests.conftest import Api
from tests.helpers import event_args, station_args

pytestmark = pytest.mark.anyio


async def _analyze_count(state: AppState, table: str) -> int:
    async with state.db.engine.connect() as conn:
        return int((await conn.execute(text(
            "SELECT analyze_count + autoanalyze_count FROM pg_stat_user_tables "
            "WHERE relname = :t AND schemaname = current_schema()"), {"t": table})).scalar_one())


async def test_growth_of_the_feed_refreshes_its_statistics(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    state = api.state
    if not state.db.is_postgres:
        state.db.note_growth(10**6)  # SQLite: nothing to do, nothing scheduled
        assert state.db._analyzing is None
        return
    monkeypatch.setattr(dbmod, "GROWTH_CHECK_ROWS", 50)
    monkeypatch.setattr(dbmod, "STALE_FLOOR_ROWS", 20)
    token = await api.token("admin", "admin")
    from tests.devices import Device

    admin = Device(api, token)
    assert (await admin.send("station.create", station_args()))["status"] == "applied"
    before = await _analyze_count(state, "changes")
    from tests.helpers import new_id

    body = await admin.push(*[admin.m("event.create", event_args(new_id())) for _ in range(120)])
    assert {r["status"] for r in body["results"]} == {"applied"}
    # the statistics collector reports a transaction's row counts within about a second
    for _ in range(50):
        if state.db._analyzing is not None:
            await state.db._analyzing
        if await _analyze_count(state, "changes") > before:
            break
        await asyncio.sleep(0.1)
        state.db.note_growth(dbmod.GROWTH_CHECK_ROWS)  # look again
    assert await _analyze_count(state, "changes") > before
    assert dbmod.ANALYZED["changes"] >= 1
    # fresh now: another look analyses nothing more of the feed
    analysed = await state.db._analyze_if_stale()
    assert "changes" not in analysed
