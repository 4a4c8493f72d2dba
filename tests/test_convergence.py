"""Guarantees 4 (no skipped change) and 5 (convergence), on SQLite and PostgreSQL.

``test_guarantee_05_convergence_property`` lets hypothesis write a program for a few
phones (random mutations, valid and invalid, interleaved with "go online" steps in
random order) and runs it against the real app in process, through a transport that
duplicates requests, loses responses after the server processed them, fails before
sending, or crashes the device in the middle of a sync (the SyncClient object is
dropped without closing and a new one is opened on the same state file). At the end
every phone syncs with the faults off, and then:

(a) every replica equals a fresh snapshot of the phone's scopes;
(b) every mutation took effect exactly once (one outcome row per id and per key,
    as many events as applied event.create);
(c) nothing was lost: every mutation has an outcome on the phone and on the server,
    and a rejection keeps its reason on both.

``test_guarantee_04_...`` runs concurrent pushers and pullers in one process and
checks that no puller misses an event and that ``last_mutation_id`` never runs ahead
of the data.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import random
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from server.app import create_app, open_state
from server.auth import issue_token
from server.domain.events import events as events_table
from server.settings import Settings
from server.state import AppState
from sync.client import SyncClient
from sync.tables import mutations as mutations_table
from tests.conftest import Api, _truncate_pg, apply_page
from tests.devices import Crash, FaultyTransport
from tests.helpers import event_args, mutation, new_id, station_args

BASE = "http://test"
DISTRICT = "天河区"
OTHER_DISTRICT = "越秀区"
STATIONS = {"TH-001": DISTRICT, "TH-002": DISTRICT, "YX-001": OTHER_DISTRICT}

# (user, role, station, district) of the phones; a program uses the first 3 or 4.
DEVICES: list[tuple[str, str, str | None, str | None]] = [
    ("alice", "staff", "TH-001", None),
    ("bob", "manager", "TH-001", None),
    ("dave", "district_manager", None, DISTRICT),
    ("carol", "manager", "TH-002", None),
]


# --------------------------------------------------------------------------- faults


# --------------------------------------------------------------------------- program

FAULTS = ["ok", "dup_first", "dup_second", "lose", "connect", "crash"]
TITLE_CHARS = "义卖募捐探访敬老社区活动 abcXYZ0123-"

titles = st.text(alphabet=TITLE_CHARS, min_size=1, max_size=12)
dates = st.dates(dt.date(2026, 1, 1), dt.date(2026, 12, 31)).map(dt.date.isoformat)
phones = st.one_of(st.none(), st.sampled_from(["13800138000", "+86 20 8888 1234", "020-12345678"]))
edit_fields = st.fixed_dictionaries(
    {},
    optional={"date": dates, "title": titles, "notes": st.sampled_from(["", "带水", "雨天改期"]),
              "contact_phone": phones},
)

KINDS = ["create", "create", "create", "update", "update", "update", "update", "delete",
         "delete", "bad_create", "bad_update", "foreign_create"]

mutation_step = st.tuples(
    st.just("mut"), st.integers(0, 3), st.sampled_from(KINDS), st.integers(0, 10_000),
    dates, titles, phones, edit_fields,
)
online = st.tuples(st.integers(0, 3), st.lists(st.sampled_from(FAULTS), max_size=3))
rounds = st.tuples(
    st.lists(mutation_step, max_size=6),  # what the phones do offline in this round
    st.lists(online, min_size=1, max_size=4),  # who comes online, in order, with which faults
    st.booleans(),  # come online one after another, or all at once
)
programs = st.fixed_dictionaries(
    {
        "devices": st.integers(3, 4),
        "batch_sizes": st.lists(st.integers(1, 4), min_size=4, max_size=4),
        "rounds": st.lists(rounds, min_size=2, max_size=7),
    }
)


# --------------------------------------------------------------------------- devices


@dataclass
class Device:
    index: int
    user: str
    role: str
    station: str | None
    district: str | None
    token: str
    state_file: Path
    transport: FaultyTransport
    http: httpx.AsyncClient
    batch_size: int
    sleeps: list[float]
    client: SyncClient
    enqueued: dict[int, dict[str, Any]] = field(default_factory=dict)  # id -> name, key, kind
    created: list[str] = field(default_factory=list)
    overlay: dict[str, dict[str, str]] = field(default_factory=dict)  # event -> field -> our hlc
    crashes: int = 0

    @property
    def stations(self) -> list[str]:
        if self.station:
            return [self.station]
        return sorted(code for code, district in STATIONS.items() if district == self.district)

    def open_client(self) -> SyncClient:
        async def no_sleep(seconds: float) -> None:
            self.sleeps.append(seconds)

        return SyncClient(
            BASE, self.token, self.state_file, http=self.http, batch_size=self.batch_size,
            sleep=no_sleep, rng=random.Random(self.index),
        )

    def known_events(self) -> list[str]:
        return sorted(set(self.client.replica("event")) | set(self.created))

    def base_for(self, event_id: str, names: list[str]) -> dict[str, str]:
        seen = dict(self.client.replica("event").get(event_id, {}).get("field_hlc") or {})
        seen.update(self.overlay.get(event_id, {}))
        return {name: seen[name] for name in names if name in seen}


def _enqueue(device: Device, name: str, args: dict[str, Any], kind: str) -> int:
    mid = device.client.enqueue(name, args)
    row = next(r for r in device.client.pending() if r["id"] == mid)
    device.enqueued[mid] = {"name": name, "key": row["key"], "kind": kind, "hlc": row["hlc"]}
    return mid


def _mutate(device: Device, step: tuple[Any, ...]) -> None:
    _, _, kind, pick, date, title, phone, fields = step
    known = device.known_events()
    if pick % 3:
        # Mostly edit a few "hot" events (the same ones on every phone that knows them),
        # so that phones often edit the same field without having seen each other's edit.
        known = known[:2]
    if kind in ("update", "bad_update", "delete") and not known:
        kind = "create"
    if kind == "create":
        event_id = new_id()
        station = device.stations[pick % len(device.stations)]
        args = event_args(event_id, station, date=date, title=title, contact_phone=phone)
        mid = _enqueue(device, "event.create", args, kind)
        device.created.append(event_id)
        device.overlay[event_id] = {n: device.enqueued[mid]["hlc"]
                                    for n in ("date", "title", "notes", "contact_phone")}
    elif kind == "foreign_create":
        event_id = new_id()
        _enqueue(device, "event.create", event_args(event_id, "YX-001", date=date, title=title), kind)
        device.created.append(event_id)
    elif kind == "bad_create":
        _enqueue(device, "event.create", event_args(new_id(), device.stations[0], title=""), kind)
    elif kind == "bad_update":
        event_id = known[pick % len(known)]
        _enqueue(device, "event.update", {"id": event_id, "fields": {"title": ""}}, kind)
    elif kind == "update":
        event_id = known[pick % len(known)]
        edits = dict(fields) or {"title": title}
        if pick % 2:
            edits.setdefault("date", date)  # a field that matters: concurrent edits get flagged
        base = device.base_for(event_id, list(edits))
        mid = _enqueue(device, "event.update", {"id": event_id, "fields": edits, "base": base}, kind)
        device.overlay.setdefault(event_id, {}).update(
            {n: device.enqueued[mid]["hlc"] for n in edits}
        )
    elif kind == "delete":
        event_id = known[pick % len(known)]
        _enqueue(device, "event.delete", {"id": event_id}, kind)
    else:  # pragma: no cover - the strategy draws only the kinds above
        raise AssertionError(kind)


async def _go_online(device: Device, faults: list[str], graveyard: list[SyncClient]) -> None:
    device.transport.faults = list(faults)
    try:
        await device.client.sync()
        if device.client.pending_count() == 0:
            device.overlay.clear()
    except Crash:
        # The phone died mid-sync: drop the object as is (no close) and start again
        # from the state file, as a restarted app would.
        graveyard.append(device.client)
        device.crashes += 1
        device.client = device.open_client()
    finally:
        device.transport.faults = []


# --------------------------------------------------------------------------- scenario


async def _snapshot(http: httpx.AsyncClient, token: str) -> dict[tuple[str, str], dict]:
    client_id = str(uuid.uuid4())
    replica: dict[tuple[str, str], dict] = {}
    cursor = None
    while True:
        response = await http.post(
            "/api/v1/sync/pull",
            json={"protocol": 1, "client_id": client_id, "cursor": cursor, "limit": 50},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code == 200, response.text
        page = response.json()
        apply_page(replica, page)
        cursor = page["cursor"]
        if not page["more"]:
            return replica


def _replica_of(client: SyncClient, types: list[str]) -> dict[tuple[str, str], dict]:
    out: dict[tuple[str, str], dict] = {}
    for type_name in types:
        for record_id, data in client.replica(type_name).items():
            out[(type_name, record_id)] = data
    return out


async def _scenario(database_url: str, work_dir: Path, program: dict[str, Any],
                    sqlite_template: Path) -> None:
    work_dir.mkdir(parents=True)
    if database_url.startswith("sqlite"):
        # each example on a database of its own: a copy of the session's migrated one
        target = work_dir / "charity.db"
        for suffix in ("", "-wal"):
            if Path(f"{sqlite_template}{suffix}").exists():
                shutil.copyfile(f"{sqlite_template}{suffix}", f"{target}{suffix}")
        database_url = f"sqlite:///{target}"
    # migrated once per session (the template, ``pg_database_url``); PostgreSQL is emptied below
    state: AppState = await open_state(
        Settings(data_dir=work_dir, database_url=database_url, serve_static=False),
        run_migrations=False,
    )
    graveyard: list[SyncClient] = []
    devices: list[Device] = []
    try:
        if state.db.is_postgres:
            await _truncate_pg(state)
        app = create_app(state=state)
        asgi = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=asgi, base_url=BASE) as plain:
            await _run_program(state, asgi, plain, work_dir, program, devices, graveyard)
    finally:
        for device in devices:
            await device.client.close()
            await device.http.aclose()
        for dead in graveyard:
            dead._db.close()  # only now, long after the "crash", to keep warnings quiet
        await state.db.dispose()


async def _run_program(
    state: AppState,
    asgi: httpx.ASGITransport,
    plain: httpx.AsyncClient,
    work_dir: Path,
    program: dict[str, Any],
    devices: list[Device],
    graveyard: list[SyncClient],
) -> None:
    # Stations, made by an admin phone without faults.
    _, admin_token = await issue_token(state.db, user="root", role="admin", station=None, district=None)
    async with SyncClient(BASE, admin_token, work_dir / "admin.db", http=plain) as admin:
        for code, district in STATIONS.items():
            admin.enqueue("station.create", station_args(code, district, f"{code} 社工站"))
        await admin.sync()
        assert all(admin.outcome(i)["status"] == "applied" for i in (1, 2, 3))
        admin_client_id = admin.client_id

    for index, (user, role, station, district) in enumerate(DEVICES[: program["devices"]]):
        _, token = await issue_token(state.db, user=user, role=role, station=station, district=district)
        transport = FaultyTransport(asgi)
        http = httpx.AsyncClient(transport=transport, base_url=BASE)
        device = Device(
            index=index, user=user, role=role, station=station, district=district, token=token,
            state_file=work_dir / f"phone-{index}.db", transport=transport, http=http,
            batch_size=program["batch_sizes"][index], sleeps=[], client=None,  # type: ignore[arg-type]
        )
        device.client = device.open_client()
        devices.append(device)

    # The program: phones act offline and come online in the drawn order, with faults.
    for offline, comers, at_once in program["rounds"]:
        for step in offline:
            _mutate(devices[step[1] % len(devices)], step)
        if at_once:
            chosen = {index % len(devices): faults for index, faults in comers}
            await asyncio.gather(
                *(_go_online(devices[i], faults, graveyard) for i, faults in chosen.items())
            )
        else:
            for index, faults in comers:
                await _go_online(devices[index % len(devices)], faults, graveyard)

    # The end: faults off, everyone drains its outbox, then everyone pulls once more.
    for device in devices:
        await device.client.sync()
        assert device.client.pending_count() == 0, (device.user, device.client.pending())
    for device in devices:
        await device.client.pull()

    types = sorted(state.registry.record_types)

    # (a) every replica equals a fresh snapshot of its scopes.
    for device in devices:
        expected = await _snapshot(plain, device.token)
        replica = _replica_of(device.client, types)
        assert replica == expected, f"{device.user}'s replica differs from a fresh snapshot"
        # And its counter: everything it sent is in the data it pulled.
        assert device.client.last_mutation_id == len(device.enqueued)

    # (b) exactly once.
    async with state.db.engine.connect() as conn:
        rows = (await conn.execute(select(mutations_table))).mappings().all()
        event_count = (await conn.execute(select(func.count()).select_from(events_table))).scalar_one()
    per_client: dict[str, int] = {}
    by_client_id: dict[tuple[str, int], dict[str, Any]] = {}
    by_key: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        per_client[row["client_id"]] = per_client.get(row["client_id"], 0) + 1
        by_client_id[(row["client_id"], int(row["mutation_id"]))] = dict(row)
        if row["key"] is not None:
            by_key.setdefault(row["key"], []).append(dict(row))
    assert per_client.pop(admin_client_id) == len(STATIONS)
    assert per_client == {d.client.client_id: len(d.enqueued) for d in devices if d.enqueued}
    for device in devices:
        assert sorted(device.enqueued) == list(range(1, len(device.enqueued) + 1))
        for mid, sent in device.enqueued.items():
            assert len(by_key.get(sent["key"], [])) == 1, (device.user, mid, sent)
            stored = by_client_id[(device.client.client_id, mid)]
            assert stored["key"] == sent["key"] and stored["name"] == sent["name"]
    assert len(rows) == len(STATIONS) + sum(len(d.enqueued) for d in devices)
    applied_creates = sum(
        1 for row in rows if row["name"] == "event.create" and row["status"] in ("applied", "flagged")
    )
    assert event_count == applied_creates

    # (c) nothing lost: an outcome on the phone and on the server; rejections keep their reason.
    for device in devices:
        for mid, sent in device.enqueued.items():
            stored = by_client_id[(device.client.client_id, mid)]
            assert stored["status"] in ("applied", "rejected", "flagged"), stored
            outcome = device.client.outcome(mid)
            assert outcome is not None, f"{device.user}: mutation {mid} has no outcome on the phone"
            assert outcome["status"] in (stored["status"], "duplicate"), (outcome, stored)
            assert outcome["code"] == stored["code"], (outcome, stored)
            if stored["status"] != "applied":
                assert outcome["issue_id"] == stored["issue_id"] is not None
                issues = device.client.replica("sync_issue")
                assert stored["issue_id"] in issues, "the phone cannot see why its mutation failed"
            if sent["kind"] in ("bad_create", "bad_update"):
                assert (stored["status"], stored["code"]) == ("rejected", "invalid_args"), stored
            if sent["kind"] == "foreign_create":
                assert (stored["status"], stored["code"]) == ("rejected", "forbidden"), stored
            if sent["kind"] == "delete" and device.role == "staff":
                assert stored["status"] == "rejected", stored

    # No real sleeping: each transient fault (lost response, no network) cost one backoff,
    # and every backoff went to the recorder.
    for device in devices:
        transient = sum(1 for _, f in device.transport.log if f in ("lose", "connect"))
        assert len(device.sleeps) == transient, (device.user, device.sleeps, device.transport.log)
    # What this example exercised (shown by --hypothesis-show-statistics).
    faults = [f for d in devices for _, f in d.transport.log if f != "ok"]
    crashes = sum(d.crashes for d in devices)
    deleted = any(r["name"] == "event.delete" and r["status"] == "applied" for r in rows)
    statuses = {row["status"] for row in rows}
    event(f"faults injected: {'none' if not faults else '1-5' if len(faults) <= 5 else '6+'}")
    event(f"phone crashes: {'3+' if crashes >= 3 else crashes}")
    event(f"events deleted: {'yes' if deleted else 'no'}")
    for status in ("rejected", "flagged"):
        event(f"{status} mutations: {'yes' if status in statuses else 'no'}")


_examples = itertools.count()


@pytest.mark.slow  # 41 programs on each database: about a minute or more
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(program=programs)
@example(  # a conflict on a field that matters, a delete, and each fault at least once
    program={
        "devices": 4,
        "batch_sizes": [1, 2, 3, 4],
        "rounds": [
            ([("mut", 1, "create", 3, "2026-01-01", "义卖", "13800138000", {}),
              ("mut", 3, "create", 0, "2026-01-02", "敬老", None, {}),
              ("mut", 0, "bad_create", 0, "2026-01-03", "x", None, {})],
             [(1, ["dup_second"]), (3, ["lose"]), (0, ["connect", "dup_first"]), (2, [])], False),
            ([("mut", 0, "update", 1, "2026-02-02", "b", None, {"contact_phone": "020-12345678"}),
              ("mut", 1, "update", 1, "2026-03-03", "c", None, {}),
              ("mut", 2, "update", 1, "2026-04-04", "d", None, {}),
              ("mut", 2, "foreign_create", 0, "2026-04-05", "e", None, {}),
              ("mut", 0, "delete", 0, "2026-01-01", "f", None, {})],
             [(0, ["crash"]), (1, ["ok", "crash"]), (2, ["lose", "lose"]), (3, [])], True),
            ([("mut", 1, "delete", 0, "2026-01-01", "g", None, {}),
              ("mut", 2, "bad_update", 0, "2026-01-01", "", None, {})],
             [(1, ["dup_first", "crash"]), (2, [])], False),
        ],
    }
)
def test_guarantee_05_convergence_property(
    database_url: str, tmp_path: Path, sqlite_template: Path, program: dict[str, Any]
) -> None:
    asyncio.run(_scenario(database_url, tmp_path / f"example-{next(_examples)}", program,
                          sqlite_template))


# --------------------------------------------------------------------------- guarantee 4

PUSHERS = 4
BATCHES = 30
BATCH = 10
PULLERS = 3


@pytest.mark.anyio
async def test_guarantee_04_no_skipped_change_with_concurrent_pushers_and_pullers(api: Api) -> None:
    admin = await api.token("root", "admin")
    response = await api.push(admin, new_id(), [mutation(1, "station.create", station_args())])
    assert response.json()["results"][0]["status"] == "applied"

    created: set[str] = set()
    done = asyncio.Event()

    async def pusher(n: int) -> None:
        token = await api.token(f"pusher-{n}", "staff", station="TH-001")
        client_id = new_id()
        mine: dict[int, str] = {}  # mutation id -> event id
        seen: set[str] = set()
        cursor = None
        for b in range(BATCHES):
            batch = []
            for i in range(BATCH):
                mid = b * BATCH + i + 1
                event_id = new_id()
                mine[mid] = event_id
                batch.append(mutation(mid, "event.create", event_args(event_id, title=f"{n}-{mid}")))
            answer = await api.push(token, client_id, batch)
            assert answer.status_code == 200, answer.text
            body = answer.json()
            assert [r["status"] for r in body["results"]] == ["applied"] * BATCH
            assert body["last_mutation_id"] == (b + 1) * BATCH
            created.update(mine[m["id"]] for m in batch)
            # This pusher pulls too: last_mutation_id must never run ahead of the data.
            while True:
                page = (await api.pull(token, client_id, cursor, limit=17)).json()
                for change in page["changes"]:
                    if change["type"] == "event":
                        seen.add(change["id"])
                cursor = page["cursor"]
                ahead = [m for m in range(1, page["last_mutation_id"] + 1) if mine[m] not in seen]
                assert not ahead, f"last_mutation_id {page['last_mutation_id']} is ahead of the data"
                assert page["last_mutation_id"] <= (b + 1) * BATCH
                if not page["more"]:
                    break

    async def puller(n: int) -> set[str]:
        token = await api.token(f"puller-{n}", "manager", station="TH-001")
        client_id = new_id()
        received: set[str] = set()
        cursor = None
        pages = 0

        async def page_once() -> dict[str, Any]:
            nonlocal cursor, pages
            response = await api.pull(token, client_id, cursor, limit=23)
            assert response.status_code == 200, response.text
            page = response.json()
            pages += 1
            assert page["last_mutation_id"] == 0  # this client never pushed
            for change in page["changes"]:
                if change["type"] == "event":
                    assert change["op"] == "put"
                    received.add(change["id"])
            cursor = page["cursor"]
            return page

        while not done.is_set():
            page = await page_once()
            if not page["more"]:
                await asyncio.sleep(0)
        while (await page_once())["more"]:
            pass
        assert pages > 2
        return received

    pullers = [asyncio.create_task(puller(n)) for n in range(PULLERS)]
    try:
        await asyncio.gather(*(pusher(n) for n in range(PUSHERS)))
    finally:
        done.set()
    results = await asyncio.gather(*pullers)

    assert len(created) == PUSHERS * BATCHES * BATCH
    async with api.state.db.engine.connect() as conn:
        stored = {r[0] for r in await conn.execute(select(events_table.c.id))}
    assert stored == created
    for n, received in enumerate(results):
        missing = created - received
        assert not missing, f"puller {n} skipped {len(missing)} of {len(created)} events"
        assert received == created
