"""Domain events: a handler's writes commit with the mutation that emitted the event,
and vanish with it when the mutation is rejected."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import msgspec
import pytest
from sqlalchemy import select

from schemas.events import DomainEvent, MutationFlagged, event_data
from server.domain.stations import stations
from sync.errors import Rejected
from sync.unit import MutationContext, Tx
from tests.conftest import Api
from tests.helpers import hlc, mutation, new_id, station_args

pytestmark = pytest.mark.anyio


class Probe(msgspec.Struct):
    code: str
    fail_after_emit: bool = False


class ProbeHappened(DomainEvent, frozen=True, kw_only=True):
    EVENT_NAME: ClassVar[str] = "probe.happened"
    code: str


async def test_handler_writes_commit_with_the_mutation_and_drop_with_a_rejection(api: Api) -> None:
    registry = api.state.registry
    seen: list[str] = []

    async def on_probe(tx: Tx, ctx: MutationContext, event: ProbeHappened) -> None:
        seen.append(event.code)
        tx.insert("station", {"code": event.code, "name": "由事件写入", "district": "天河区",
                              "created_at": ctx.now, "updated_at": ctx.now, "field_meta": "{}",
                              "deleted_at": None})

    async def probe(tx: Tx, ctx: MutationContext, args: Probe) -> None:
        await tx.emit(ctx, ProbeHappened(code=args.code))
        if args.fail_after_emit:
            raise Rejected("invalid_args", "探针拒绝", "probe refused")

    registry.on(ProbeHappened, on_probe)
    registry.mutation("test.probe", 1, Probe)(probe)

    token = await api.token("admin-1", "admin")
    client = new_id()
    body = (await api.push(token, client, [
        mutation(1, "test.probe", {"code": "EV-KEPT"}),
        mutation(2, "test.probe", {"code": "EV-DROPPED", "fail_after_emit": True}),
    ])).json()
    assert [r["status"] for r in body["results"]] == ["applied", "rejected"], body
    assert seen == ["EV-KEPT", "EV-DROPPED"]  # both handlers ran ...
    async with api.state.db.read() as conn:
        codes = {row.code for row in await conn.execute(select(stations.c.code))}
    assert "EV-KEPT" in codes and "EV-DROPPED" not in codes  # ... only the applied one's write stays


async def test_a_flagged_mutation_emits_mutation_flagged(api: Api) -> None:
    flagged: list[Mapping[str, Any]] = []

    async def on_flagged(tx: Tx, ctx: MutationContext, event: MutationFlagged) -> None:
        flagged.append(event_data(event))

    api.state.registry.on(MutationFlagged, on_flagged)
    admin = await api.token("admin-1", "admin")
    client = new_id()
    event_id = new_id()
    await api.push(admin, client, [
        mutation(1, "station.create", station_args()),
        mutation(2, "event.create", {"id": event_id, "station": "TH-001", "date": "2026-09-05",
                                     "title": "义卖"}),
    ])
    old = "0000000000000001:0000:old-phone"
    body = (await api.push(admin, client, [
        mutation(3, "event.update", {"id": event_id, "fields": {"date": "2026-09-06"}}, stamp=hlc()),
        mutation(4, "event.update", {"id": event_id, "fields": {"date": "2026-09-07"},
                                     "base": {"date": old}}, stamp=old),
    ])).json()
    statuses = [r["status"] for r in body["results"]]
    assert "flagged" in statuses, body
    issue_ids = [r["issue_id"] for r in body["results"] if r["status"] == "flagged"]
    assert [f["issue_id"] for f in flagged] == issue_ids
    assert flagged[0]["mutation"] == "event.update" and flagged[0]["user_id"] == "admin-1"


async def test_only_domain_event_types_can_be_heard(api: Api) -> None:
    """A kind named by a string (say, misspelt) is refused at registration, not ignored."""

    async def handler(tx: Tx, ctx: MutationContext, event: Any) -> None:
        raise AssertionError("never runs")

    with pytest.raises(TypeError):
        api.state.registry.on("donation.recorded", handler)  # type: ignore[arg-type]
