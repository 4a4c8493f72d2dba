"""No poison batch: a mutation the server fails on is set aside, never jams the queue.

A database error is never a mutation's outcome (``sync/push.py``): it ends the
transaction, the batch is run again, and if the same mutation fails again it alone is
``rejected internal_error`` with nothing of it written while the rest of the batch,
and later batches, apply. A transient error (a deadlock) is simply rerun and applies.
Each test registers a test-only mutator on the app's registry; SQLite and PostgreSQL.
"""

from __future__ import annotations

import contextlib
from typing import Any

import msgspec
import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.exc import OperationalError

from server.domain.events import events as events_table
from server.domain.stations import stations as stations_table
from sync.db import RERUNS
from sync.unit import MutationContext, Tx
from tests.conftest import Api
from tests.devices import Device
from tests.helpers import event_args, mutation, new_id, station_args

pytestmark = pytest.mark.anyio

TH1, TIANHE = "TH-001", "天河区"


class Probe(msgspec.Struct, forbid_unknown_fields=True):
    event_id: str


async def _setup(api: Api) -> Device:
    admin = Device(api, await api.token("root", "admin"))
    body = await admin.push(admin.m("station.create", station_args(TH1, TIANHE)))
    assert body["results"][0]["status"] == "applied"
    return Device(api, await api.token("staff-a", "staff", station=TH1))


def _stage_event(tx: Tx, ctx: MutationContext, event_id: str) -> None:
    """What a bad mutator would have written had it not failed: an event."""
    tx.insert("event", {
        "id": event_id, "station": TH1, "district": TIANHE, "date": "2026-09-05", "title": "不应写入",
        "notes": "", "contact_phone": None, "created_by": ctx.user_id, "created_at": ctx.now,
        "updated_at": ctx.now, "field_meta": "{}", "deleted_at": None,
    })


BAD_STATION = insert(stations_table).values(code="BAD-1", name=None, district="x", created_at="x",
                                            updated_at="x", field_meta="{}")
"""Violates NOT NULL (``name``): an IntegrityError on both databases, never rerun by itself."""


async def _count(api: Api, table: Any, *where: Any) -> int:
    async with api.state.db.read() as conn:
        return int((await conn.execute(select(func.count()).select_from(table).where(*where))).scalar_one())


def _statuses(body: dict[str, Any]) -> list[tuple[str, str | None]]:
    return [(r["status"], r.get("code")) for r in body["results"]]


@pytest.mark.parametrize("where", ["in_mutator", "at_flush"])
async def test_a_mutation_that_makes_the_database_fail_is_set_aside_and_the_rest_applies(
    api: Api, where: str
) -> None:
    """The failing statement runs inside the mutator (``tx.query``), or only when the
    batch writes (``tx.defer``, so the first run cannot tell whose it was)."""
    runs = 0

    async def bad(tx: Tx, ctx: MutationContext, args: Probe) -> None:
        nonlocal runs
        runs += 1
        _stage_event(tx, ctx, args.event_id)
        if where == "in_mutator":
            await tx.query(BAD_STATION)
        else:
            tx.defer(BAD_STATION)

    api.state.registry.mutation("test.bad", 1, Probe)(bad)
    staff = await _setup(api)
    e1, e2, poison_event = new_id(), new_id(), new_id()
    body = await staff.push(
        staff.m("event.create", event_args(e1, TH1)),
        staff.m("test.bad", {"event_id": poison_event}),
        staff.m("event.create", event_args(e2, TH1)),
        staff.m("event.update", {"id": e1, "fields": {"notes": "已确认"}}),
    )
    assert _statuses(body) == [("applied", None), ("rejected", "internal_error"),
                               ("applied", None), ("applied", None)]
    assert body["last_mutation_id"] == 4
    rejected = body["results"][1]
    assert rejected["issue_id"] and rejected["message"]["zh"] and rejected["message"]["en"]
    assert runs == 2  # the first run, the careful rerun; then set aside without running
    # nothing of the poisoned mutation is written; everything else is
    assert await _count(api, events_table, events_table.c.id == poison_event) == 0
    assert await _count(api, stations_table, stations_table.c.code == "BAD-1") == 0
    assert await _count(api, events_table, events_table.c.id.in_([e1, e2])) == 2

    # the queue moved on: the next batch applies, and a resend is a duplicate
    e3 = new_id()
    body = await staff.push(staff.m("event.create", event_args(e3, TH1)))
    assert _statuses(body) == [("applied", None)]
    assert body["last_mutation_id"] == 5
    again = await api.push(staff.token, staff.client_id, [mutation(2, "test.bad", {"event_id": poison_event})])
    assert again.status_code == 200
    assert [(r["status"], r.get("code")) for r in again.json()["results"]] == [("duplicate", "internal_error")]


async def test_a_transient_deadlock_is_rerun_and_applied(api: Api) -> None:
    """A deadlock-like error raised once: the batch runs again and everything applies once."""
    runs = 0

    class DeadlockDetected(Exception):
        sqlstate = "40P01"

    async def flaky(tx: Tx, ctx: MutationContext, args: Probe) -> None:
        nonlocal runs
        runs += 1
        _stage_event(tx, ctx, args.event_id)
        if runs == 1:
            raise OperationalError("SELECT ... FOR UPDATE", {}, DeadlockDetected("deadlock detected"))

    api.state.registry.mutation("test.flaky", 1, Probe)(flaky)
    staff = await _setup(api)
    e1, flaky_event = new_id(), new_id()
    before = RERUNS.total()
    body = await staff.push(
        staff.m("event.create", event_args(e1, TH1)),
        staff.m("test.flaky", {"event_id": flaky_event}),
    )
    assert _statuses(body) == [("applied", None), ("applied", None)]
    assert runs == 2
    assert RERUNS.total() == before + 1  # PostgreSQL: run_write's rerun; SQLite: the batch's
    assert await _count(api, events_table, events_table.c.id.in_([e1, flaky_event])) == 2


async def test_a_deadlock_that_never_clears_does_not_jam_the_queue(api: Api) -> None:
    """A database error that recurs on every rerun ends as ``rejected internal_error``."""

    class DeadlockDetected(Exception):
        sqlstate = "40P01"

    async def stuck(tx: Tx, ctx: MutationContext, args: Probe) -> None:
        _stage_event(tx, ctx, args.event_id)
        raise OperationalError("SELECT ... FOR UPDATE", {}, DeadlockDetected("deadlock detected"))

    api.state.registry.mutation("test.stuck", 1, Probe)(stuck)
    staff = await _setup(api)
    e1, stuck_event = new_id(), new_id()
    body = await staff.push(
        staff.m("test.stuck", {"event_id": stuck_event}),
        staff.m("event.create", event_args(e1, TH1)),
    )
    assert _statuses(body) == [("rejected", "internal_error"), ("applied", None)]
    assert await _count(api, events_table, events_table.c.id == stuck_event) == 0
    assert await _count(api, events_table, events_table.c.id == e1) == 1


async def test_a_swallowed_database_error_is_pinned_on_the_mutation_that_swallowed_it(api: Api) -> None:
    """A mutator that catches a database error and carries on: on PostgreSQL the
    transaction is aborted (the next statement fails with 25P02, whoever runs it); the
    rerun finds the mutation after which the transaction was dead and sets it aside, and
    the innocent mutation after it applies. On SQLite the failed statement alone is undone,
    so the swallowing mutation applies."""

    async def swallow(tx: Tx, ctx: MutationContext, args: Probe) -> None:
        _stage_event(tx, ctx, args.event_id)
        with contextlib.suppress(Exception):  # the bug under test
            await tx.query(BAD_STATION)

    api.state.registry.mutation("test.swallow", 1, Probe)(swallow)
    staff = await _setup(api)
    e1, swallowed_event = new_id(), new_id()
    body = await staff.push(
        staff.m("test.swallow", {"event_id": swallowed_event}),
        staff.m("event.create", event_args(e1, TH1)),
    )
    assert body["results"][1]["status"] == "applied"
    assert await _count(api, events_table, events_table.c.id == e1) == 1
    if api.state.db.is_postgres:
        assert _statuses(body)[0] == ("rejected", "internal_error")
        assert await _count(api, events_table, events_table.c.id == swallowed_event) == 0
    else:
        assert _statuses(body)[0] == ("applied", None)
    assert await _count(api, stations_table, stations_table.c.code == "BAD-1") == 0
