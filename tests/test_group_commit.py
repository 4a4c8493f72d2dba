"""Write transactions that run at the same time stay all-or-nothing each.

On SQLite, concurrent writes share one commit (group commit, a savepoint each); on
PostgreSQL each runs in its own transaction. Either way a write that fails leaves
nothing behind and does not take the others down with it.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import func, insert, select

from server.state import AppState
from sync.tables import changes, clients, users
from tests.conftest import Api
from tests.helpers import event_args, mutation, new_id, station_args

pytestmark = pytest.mark.anyio


async def _user_ids(state: AppState) -> set[str]:
    async with state.db.read() as conn:
        return {row[0] for row in await conn.execute(select(users.c.id))}


async def test_a_failing_write_leaves_nothing_and_the_others_commit(state: AppState) -> None:
    async def writes(name: str, fail: bool) -> Any:
        async def work(conn: Any) -> str:
            await conn.execute(insert(users).values(id=name, created_at="2026-11-25T00:00:00.000Z"))
            await conn.execute(insert(users).values(id=name + "-2", created_at="2026-11-25T00:00:00.000Z"))
            if fail:
                raise ValueError(f"{name} changed its mind")
            return name

        return await state.db.run_write(work)

    writer = state.db._writer
    rounds_before = writer.rounds if writer is not None else 0
    results = await asyncio.gather(
        writes("ann", False), writes("bob", True), writes("cai", False), writes("dee", True),
        return_exceptions=True,
    )

    assert results[0] == "ann" and results[2] == "cai"
    assert isinstance(results[1], ValueError) and "bob" in str(results[1])
    assert isinstance(results[3], ValueError) and "dee" in str(results[3])
    assert await _user_ids(state) == {"ann", "ann-2", "cai", "cai-2"}
    if writer is not None:  # SQLite: the four really shared one round
        assert writer.rounds == rounds_before + 1


async def test_concurrent_pushes_one_refused_others_applied(api: Api) -> None:
    admin = await api.token("admin", "admin")
    assert (await api.push(admin, new_id(), [mutation(1, "station.create", station_args())])).status_code == 200
    staff = await api.token("staff-a", "staff", station="TH-001")
    good = [new_id() for _ in range(3)]
    gap_client = new_id()
    event_ids = [[new_id(), new_id()] for _ in good]

    responses = await asyncio.gather(
        *(
            api.push(staff, client, [mutation(1, "event.create", event_args(ids[0])),
                                     mutation(2, "event.create", event_args(ids[1]))])
            for client, ids in zip(good, event_ids)
        ),
        # a gap: refused after its client row was already inserted in its savepoint
        api.push(staff, gap_client, [mutation(5, "event.create", event_args(new_id()))]),
    )

    assert [r.status_code for r in responses] == [200, 200, 200, 409]
    assert all(r.json()["last_mutation_id"] == 2 for r in responses[:3])
    async with api.state.db.read() as conn:
        gap_row = (await conn.execute(select(clients).where(clients.c.client_id == gap_client))).first()
        fed = (await conn.execute(select(func.count()).select_from(changes).where(changes.c.type == "event"))).scalar_one()
    assert gap_row is None
    assert fed == 6
    snapshot = await api.snapshot(staff)
    assert {key[1] for key in snapshot if key[0] == "event"} == {i for ids in event_ids for i in ids}
    # the refused client starts from nothing
    again = await api.push(staff, gap_client, [mutation(1, "event.create", event_args(new_id()))])
    assert again.status_code == 200 and again.json()["last_mutation_id"] == 1
