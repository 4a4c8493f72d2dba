"""Records that leave a phone's scope leave the phone.

When a write changes a record's scope (a volunteer's home station, an event's station),
the phones of the old scope must get a removal on their next pull and the phones of the
new scope the record; a device whose grant changes gets a reset that replaces its
replica. Every device ends equal to a fresh pull of what it may see. SQLite and
PostgreSQL (the ``api`` fixture).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
from sqlalchemy import func, select, update

from schemas.wire import PushRequest
from server.auth import issue_token
from server.domain.people import memberships
from sync.client import SyncClient
from sync.push import push
from sync.retention import prune_tombstones
from sync.scopes import Grant
from sync.tables import changes
from tests.conftest import Api
from tests.devices import Device, fresh_snapshot, settle
from tests.helpers import MoveArgs, event_args, move_event, mutation, new_id, station_args

pytestmark = pytest.mark.anyio

TH1, TH2, YX1 = "TH-001", "TH-002", "YX-001"
TIANHE, YUEXIU = "天河区", "越秀区"
PHONE = "13800138000"
VOLUNTEER_PHONE = "13900000042"


class Phones:
    """Stations in two districts, an admin, and a phone of each kind at each place."""

    def __init__(self, api: Api, tmp: Path) -> None:
        self.api = api
        self.tmp = tmp
        self.clients: list[SyncClient] = []

    async def setup(self) -> None:
        api = self.api
        api.state.registry.mutation("test.event_move", 1, MoveArgs)(move_event)
        self.admin = Device(api, await api.token("admin", "admin"))
        for code, district in ((TH1, TIANHE), (TH2, TIANHE), (YX1, YUEXIU)):
            assert (await self.admin.send("station.create", station_args(code, district, f"{code} 站")))[
                "status"
            ] == "applied"
        self.devices: dict[str, Device] = {
            "staff_th1": Device(api, await api.token("staff-th1", "staff", TH1)),
            "staff_th2": Device(api, await api.token("staff-th2", "staff", TH2)),
            "staff_yx1": Device(api, await api.token("staff-yx1", "staff", YX1)),
            "vol_th1": Device(api, await api.token("vol-th1", "volunteer", TH1)),
            "vol_yx1": Device(api, await api.token("vol-yx1", "volunteer", YX1)),
            "mover": Device(api, await api.token("vol-mover", "volunteer", TH1)),
            "dm_tianhe": Device(api, await api.token("dm-tianhe", "district_manager", district=TIANHE)),
            "dm_yuexiu": Device(api, await api.token("dm-yuexiu", "district_manager", district=YUEXIU)),
            "admin": self.admin,
        }
        # the staff phone of TH-001 is the real Python client
        self.staff_th1_client = await self.client(self.devices["staff_th1"].token, "staff_th1")

    async def client(self, token: str, name: str) -> SyncClient:
        made = SyncClient("http://test", token, self.tmp / f"{name}.sqlite", http=self.api.http)
        self.clients.append(made)
        return made

    async def pull_all(self) -> None:
        await settle(self.api)
        for device in self.devices.values():
            await device.pull()
        for made in self.clients:
            await made.pull()

    async def assert_replicas_are_fresh_pulls(self) -> None:
        """Every device (and the real client) holds exactly what a fresh pull gives it."""
        for name, device in self.devices.items():
            assert device.replica == await fresh_snapshot(self.api, device.token), name
        fresh = await fresh_snapshot(self.api, self.devices["staff_th1"].token)
        assert replica_of(self.staff_th1_client, self.api) == fresh

    async def close(self) -> None:
        for made in self.clients:
            await made.close()


def replica_of(client: SyncClient, api: Api) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (type_name, record_id): data
        for type_name in api.state.registry.record_types
        for record_id, data in client.replica(type_name).items()
    }


def holds(replica: dict[tuple[str, str], dict[str, Any]], type_name: str, record_id: str) -> bool:
    return (type_name, record_id) in replica


@pytest.fixture
async def world(api: Api, tmp_path: Path) -> AsyncIterator[Phones]:
    phones = Phones(api, tmp_path)
    await phones.setup()
    yield phones
    await phones.close()


async def exit_rows(api: Api, type_name: str, record_id: str) -> list[tuple[str | None, str | None]]:
    """(station, district) of the record's scope exits in the feed."""
    async with api.state.db.read() as conn:
        rows = await conn.execute(
            select(changes.c.station, changes.c.district).where(
                changes.c.type == type_name, changes.c.record_id == record_id, changes.c.exited_at.is_not(None)
            ).order_by(changes.c.seq)
        )
        return [(r.station, r.district) for r in rows]


# -- a volunteer moves home station -----------------------------------------------------------


async def test_volunteer_moving_home_leaves_the_old_station(world: Phones) -> None:
    d, admin = world.devices, world.admin
    registered = await admin.send("volunteer.register", {
        "user_id": "vol-mover", "name": "搬家的志愿者", "phone": VOLUNTEER_PHONE, "stations": [TH1],
    })
    assert registered["status"] == "applied", registered
    await world.pull_all()
    staff_th1 = replica_of(world.staff_th1_client, world.api)
    assert staff_th1[("volunteer", "vol-mover")]["phone"] == VOLUNTEER_PHONE
    assert not holds(d["staff_th2"].replica, "volunteer", "vol-mover")
    assert holds(d["mover"].replica, "volunteer", "vol-mover")

    moved = await admin.send("volunteer.update", {"user_id": "vol-mover", "fields": {"stations": [TH2]}})
    assert moved["status"] == "applied", moved
    await world.pull_all()

    staff_th1 = replica_of(world.staff_th1_client, world.api)
    assert not holds(staff_th1, "volunteer", "vol-mover")
    assert VOLUNTEER_PHONE not in json.dumps(list(staff_th1.values()), ensure_ascii=False), "the phone number stayed behind"
    assert not holds(d["vol_th1"].replica, "volunteer", "vol-mover")
    profile = d["staff_th2"].replica[("volunteer", "vol-mover")]
    assert (profile["station"], profile["phone"]) == (TH2, VOLUNTEER_PHONE)
    # still seen: by the volunteer themselves, by the district (both stations are in it)
    assert d["mover"].replica[("volunteer", "vol-mover")]["station"] == TH2
    assert d["dm_tianhe"].replica[("volunteer", "vol-mover")]["station"] == TH2
    # the time bank account follows its owner's home station, and leaves the old one too
    accounts_th1 = [k for k in staff_th1 if k[0] == "timebank_account" and "vol-mover" in k[1]]
    accounts_th2 = [k for k in d["staff_th2"].replica if k[0] == "timebank_account" and "vol-mover" in k[1]]
    assert (accounts_th1, len(accounts_th2)) == ([], 1)
    assert await exit_rows(world.api, "volunteer", "vol-mover") == [(TH1, TIANHE)]
    await world.assert_replicas_are_fresh_pulls()


# -- an event moves to another station ----------------------------------------------------------


async def test_event_moved_to_another_station(world: Phones) -> None:
    d, admin = world.devices, world.admin
    event_id = new_id()
    assert (await admin.send("event.create", event_args(event_id, TH1, contact_phone=PHONE)))["status"] == "applied"
    stays = new_id()
    assert (await admin.send("event.create", event_args(stays, TH1, title="留下的活动")))["status"] == "applied"
    await world.pull_all()
    assert holds(replica_of(world.staff_th1_client, world.api), "event", event_id)
    assert d["vol_th1"].replica[("event", event_id)]["contact_phone"] is None  # redacted for volunteers

    moved = await admin.send("test.event_move", {"id": event_id, "stations": [YX1]})
    assert moved["status"] == "applied", moved
    await world.pull_all()

    for name in ("staff_th1", "vol_th1", "dm_tianhe"):  # the old station, and its district
        assert not holds(d[name].replica, "event", event_id), name
        assert holds(d[name].replica, "event", stays), name
    staff_th1 = replica_of(world.staff_th1_client, world.api)
    assert not holds(staff_th1, "event", event_id) and holds(staff_th1, "event", stays)
    for name in ("staff_yx1", "dm_yuexiu", "admin"):
        assert d[name].replica[("event", event_id)]["contact_phone"] == PHONE, name
        assert d[name].replica[("event", event_id)]["station"] == YX1
    # redaction still applies at the new station
    assert d["vol_yx1"].replica[("event", event_id)]["contact_phone"] is None
    await world.assert_replicas_are_fresh_pulls()


async def test_an_event_that_left_and_came_back(world: Phones) -> None:
    d, admin = world.devices, world.admin
    event_id = new_id()
    assert (await admin.send("event.create", event_args(event_id, TH1, contact_phone=PHONE)))["status"] == "applied"
    await world.pull_all()
    # a second TH-001 phone that pulls only before and after the round trip
    late = Device(world.api, await world.api.token("staff-th1-late", "staff", TH1))
    await late.pull()
    assert holds(late.replica, "event", event_id)

    assert (await admin.send("test.event_move", {"id": event_id, "stations": [TH2]}))["status"] == "applied"
    await world.pull_all()
    assert not holds(d["staff_th1"].replica, "event", event_id)
    assert holds(d["staff_th2"].replica, "event", event_id)
    assert await exit_rows(world.api, "event", event_id) == [(TH1, TIANHE)]

    assert (await admin.send("test.event_move", {"id": event_id, "stations": [TH1]}))["status"] == "applied"
    edited = await admin.send("event.update", {"id": event_id, "fields": {"title": "回来了"}})
    assert edited["status"] == "applied", edited
    await world.pull_all()
    await late.pull()
    for replica in (d["staff_th1"].replica, late.replica, replica_of(world.staff_th1_client, world.api)):
        assert replica[("event", event_id)]["title"] == "回来了"
        assert replica[("event", event_id)]["contact_phone"] == PHONE
    assert not holds(d["staff_th2"].replica, "event", event_id)
    # compacted: the exit from TH-001 no longer applies (it is back), the one from TH-002 does
    assert await exit_rows(world.api, "event", event_id) == [(TH2, TIANHE)]

    # and away again: one exit per record and old scope, the newest
    assert (await admin.send("test.event_move", {"id": event_id, "stations": [TH2]}))["status"] == "applied"
    await world.pull_all()
    await late.pull()
    assert not holds(late.replica, "event", event_id)
    assert await exit_rows(world.api, "event", event_id) == [(TH1, TIANHE)]
    assert late.replica == await fresh_snapshot(world.api, late.token)
    await world.assert_replicas_are_fresh_pulls()


async def test_moves_inside_one_mutation_leave_only_the_scope_phones_knew(world: Phones) -> None:
    """A round trip within one push leaves no exit; A -> B -> Y leaves the exit from A only."""
    d, admin = world.devices, world.admin
    round_trip, onward = new_id(), new_id()
    for event_id in (round_trip, onward):
        assert (await admin.send("event.create", event_args(event_id, TH1)))["status"] == "applied"
    await world.pull_all()
    await admin.push(
        admin.m("test.event_move", {"id": round_trip, "stations": [TH2, TH1]}),
        admin.m("test.event_move", {"id": onward, "stations": [TH2, YX1]}),
    )
    received = await d["staff_th1"].pull()
    assert await exit_rows(world.api, "event", round_trip) == []
    assert await exit_rows(world.api, "event", onward) == [(TH1, TIANHE)]
    assert {(c["id"], c["op"]) for c in received} == {(round_trip, "put"), (onward, "del")}
    assert await d["staff_th2"].pull() == []  # never saw either there
    await world.pull_all()
    assert holds(d["staff_yx1"].replica, "event", onward)
    await world.assert_replicas_are_fresh_pulls()


async def test_an_edit_that_keeps_the_scope_writes_no_exit(world: Phones) -> None:
    admin = world.admin
    event_id = new_id()
    assert (await admin.send("event.create", event_args(event_id, TH1)))["status"] == "applied"
    for title in ("一", "二"):
        assert (await admin.send("event.update", {"id": event_id, "fields": {"title": title}}))["status"] == "applied"
    async with world.api.state.db.read() as conn:
        count = (await conn.execute(
            select(func.count()).select_from(changes).where(changes.c.record_id == event_id)
        )).scalar_one()
    assert count == 1
    assert await exit_rows(world.api, "event", event_id) == []


# -- retention --------------------------------------------------------------------------------


async def test_exits_are_pruned_with_tombstones_and_old_cursors_reset(world: Phones) -> None:
    d, admin = world.devices, world.admin
    event_id = new_id()
    assert (await admin.send("event.create", event_args(event_id, TH1)))["status"] == "applied"
    await world.pull_all()
    staff_th1 = d["staff_th1"]
    cursor_before = staff_th1.cursor
    assert (await admin.send("test.event_move", {"id": event_id, "stations": [YX1]}))["status"] == "applied"
    await settle(world.api)
    await prune_tombstones(world.api.state.db, world.api.state.registry, dt.timedelta(0))
    assert await exit_rows(world.api, "event", event_id) == []
    page = (await world.api.pull(staff_th1.token, staff_th1.client_id, cursor_before)).json()
    assert page["reset"] is True  # it may have missed the pruned exit: a full snapshot
    await staff_th1.pull()
    assert not holds(staff_th1.replica, "event", event_id)
    await d["staff_yx1"].pull()
    assert holds(d["staff_yx1"].replica, "event", event_id)


# -- a changed grant resets and replaces the replica ---------------------------------------------------


async def test_a_changed_grant_replaces_the_replica_of_the_real_client(world: Phones) -> None:
    admin = world.admin
    here, there = new_id(), new_id()
    assert (await admin.send("event.create", event_args(here, TH1, contact_phone=PHONE)))["status"] == "applied"
    assert (await admin.send("event.create", event_args(there, TH2)))["status"] == "applied"
    _, token = await issue_token(world.api.state.db, user="moving-staff", role="staff", station=TH1, district=None)
    client = await world.client(token, "moving-staff")
    await settle(world.api)
    await client.pull()
    assert set(client.replica("event")) == {here}

    async def grant(station: str, role: str) -> None:
        async def work(conn: Any) -> None:
            # what a device sees follows its person's memberships, read at every request
            await conn.execute(
                update(memberships).where(memberships.c.user_id == "moving-staff").values(station=station, role=role)
            )

        await world.api.state.db.run_write(work)

    await grant(TH2, "staff")
    await client.pull()
    assert set(client.replica("event")) == {there}, "a reset must replace the replica, not merge into it"
    assert replica_of(client, world.api) == await fresh_snapshot(world.api, token)

    await grant(TH2, "volunteer")  # narrower: the same station, redacted copies only
    assert (await admin.send("event.update", {"id": there, "fields": {"contact_phone": PHONE}}))["status"] == "applied"
    await settle(world.api)
    await client.pull()
    assert client.replica("event")[there]["contact_phone"] is None
    assert replica_of(client, world.api) == await fresh_snapshot(world.api, token)


async def test_a_move_pokes_the_phones_of_the_scope_it_left(world: Phones) -> None:
    """The old station's phones must be woken to pull the removal, not only the new one's."""
    event_id = new_id()
    assert (await world.admin.send("event.create", event_args(event_id, TH1)))["status"] == "applied"
    state = world.api.state
    grant = Grant(token_id="poke-test", user_id="admin", role="admin", station=None, district=None)

    async def tags_of(name: str, args: dict[str, Any]) -> set[str]:
        request = msgspec.json.decode(msgspec.json.encode(
            {"protocol": 1, "client_id": new_id(), "mutations": [mutation(1, name, args)]}
        ), type=PushRequest)
        outcome = await push(state.db, state.registry, state.clock, grant, request)
        assert outcome.response.results[0].status == "applied"
        return outcome.poke_tags

    moved = await tags_of("test.event_move", {"id": event_id, "stations": [YX1]})
    assert {f"s:{TH1}", f"d:{TIANHE}", f"s:{YX1}", f"d:{YUEXIU}"} <= moved
