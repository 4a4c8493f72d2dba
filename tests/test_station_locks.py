"""Stations are share-locked (docs/architecture.md, "Lock order").

Nearly every mutation reads its station only to check it; those reads lock the row
``FOR SHARE`` on PostgreSQL, so checking batches never queue behind (or deadlock with)
each other, while a batch that writes the station (``@locks_exclusive``) still waits for
them and they for it. ``Tx.update`` refuses a row read under a share lock, on both
databases, so a writer that forgot to say so fails here and not in production.
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection

from server.state import AppState
from sync.unit import Tx
from tests.conftest import Api
from tests.helpers import event_args, mutation, new_id, station_args

pytestmark = pytest.mark.anyio

TH1, TIANHE = "TH-001", "天河区"


async def _push(api: Api, token: str, client_id: str, mid: int, name: str, args: dict[str, Any]) -> dict[str, Any]:
    response = await api.push(token, client_id, [mutation(mid, name, args)])
    assert response.status_code == 200, response.text
    return cast(dict[str, Any], response.json()["results"][0])


async def _station(api: Api) -> str:
    """The station, created by an admin whose token is returned."""
    admin = await api.token("root", "admin")
    assert (await _push(api, admin, new_id(), 1, "station.create", station_args(TH1, TIANHE)))["status"] == "applied"
    return admin


async def test_a_share_locked_station_cannot_be_written_by_a_mutator_that_did_not_say_so(
    state: AppState, api: Api
) -> None:
    await _station(api)

    async def work(conn: AsyncConnection) -> None:
        tx = Tx(conn, state.db, state.registry, await state.db.next_txid(conn))
        assert (await tx.get("station", TH1) or {})["district"] == TIANHE
        with pytest.raises(RuntimeError, match="locks_exclusive"):
            tx.update("station", TH1, {"name": "改名"})
        writer = Tx(conn, state.db, state.registry, await state.db.next_txid(conn), exclusive={"station"})
        assert await writer.get("station", TH1) is not None
        writer.update("station", TH1, {"name": "改名"})  # locked FOR UPDATE: allowed

    await state.db.run_write(work)


async def test_station_update_still_applies_and_claims_still_get_distinct_series(
    state: AppState, api: Api
) -> None:
    """The two ``locks_exclusive`` mutators of the station work as before."""
    admin = await _station(api)
    manager = await api.token("mgr", "manager", station=TH1)
    done = await _push(api, manager, new_id(), 1, "station.update", {"code": TH1, "fields": {"name": "新名"}})
    assert done["status"] == "applied", done
    for i in range(2):
        staff = await api.token(f"staff-{i}", "staff", station=TH1)
        claimed = await _push(api, staff, new_id(), 1, "receipt_series.claim", {"id": new_id(), "station": TH1})
        assert claimed["status"] == "applied", claimed
    snapshot = await api.snapshot(admin)
    codes = sorted(row["code"] for (kind, _), row in snapshot.items() if kind == "receipt_series")
    assert codes == [f"{TH1}-S001", f"{TH1}-S002"]
    assert snapshot[("station", TH1)]["name"] == "新名"


@pytest.mark.parametrize("database_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
async def test_checkers_share_the_station_and_a_writer_waits_for_them(state: AppState, api: Api) -> None:
    """PostgreSQL only: SQLite has one writer and no row locks at all."""
    assert state.db.is_postgres
    await _station(api)
    staff = await api.token("staff-a", "staff", station=TH1)
    manager = await api.token("mgr", "manager", station=TH1)
    holding, release = asyncio.Event(), asyncio.Event()

    async def checker(conn: AsyncConnection) -> None:
        """A batch that checked the station and has not committed yet."""
        tx = Tx(conn, state.db, state.registry, await state.db.next_txid(conn))
        assert await tx.get("station", TH1) is not None
        holding.set()
        await release.wait()

    held = asyncio.create_task(state.db.run_write(checker))
    await asyncio.wait_for(holding.wait(), 10)
    try:
        # another batch that checks the station (an event on it) goes through meanwhile
        created = await asyncio.wait_for(
            _push(api, staff, new_id(), 1, "event.create", event_args(new_id(), TH1)), 10)
        assert created["status"] == "applied", created
        # a batch that writes the station waits until the checker commits
        writer = asyncio.create_task(
            _push(api, manager, new_id(), 1, "station.update", {"code": TH1, "fields": {"name": "新名"}}))
        await asyncio.sleep(0.5)
        assert not writer.done()
    finally:
        release.set()
        await held
    assert (await asyncio.wait_for(writer, 10))["status"] == "applied"
