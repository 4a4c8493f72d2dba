"""The contract's guarantees (docs: /work/shared/design/sync-contract.md), one or more tests each.

Every test runs on SQLite and on PostgreSQL through the ``api`` fixture. Guarantees 4
(no skipped change) and 5 (convergence) have their own module.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
from collections.abc import AsyncIterator
from typing import Any, cast

import httpx
import msgspec
import pytest
from sqlalchemy import func, select, update

import sync.push as push_module
from server.app import create_app
from server.auth import issue_token, revoke_token
from server.domain.events import events as events_table
from server.domain.people import memberships
from sync.push import PushLimits
from sync.registry import MutationSpec
from sync.tables import changes, clients, conflicts, mutations, sync_issues
from sync.timeutil import now_ms
from sync.unit import MutationContext, Tx
from tests.conftest import Api, apply_page
from tests.devices import Device, admin_with_stations, fresh_snapshot, pull_page
from tests.helpers import event_args, mutation, new_id, stamp, station_args

pytestmark = pytest.mark.anyio

TH1, TH2, YX1 = "TH-001", "TH-002", "YX-001"
TIANHE, YUEXIU = "天河区", "越秀区"
COUNTED = {
    "mutations": mutations,
    "changes": changes,
    "events": events_table,
    "clients": clients,
    "sync_issues": sync_issues,
    "conflicts": conflicts,
}


# -- helpers ----------------------------------------------------------------------------


def ids_of(snapshot: dict[tuple[str, str], dict[str, Any]], type_name: str) -> set[str]:
    return {rid for (t, rid) in snapshot if t == type_name}


async def count_rows(api: Api) -> dict[str, int]:
    async with api.state.db.engine.connect() as conn:
        return {
            name: int((await conn.execute(select(func.count()).select_from(table))).scalar_one())
            for name, table in COUNTED.items()
        }


async def all_rows(api: Api, table: Any, order: Any) -> list[dict[str, Any]]:
    async with api.state.db.engine.connect() as conn:
        return [dict(r) for r in (await conn.execute(select(table).order_by(*order))).mappings()]


@contextlib.asynccontextmanager
async def api_with(api: Api, **state_changes: Any) -> AsyncIterator[Api]:
    """The same database behind an app whose state differs (limits, settings)."""
    state = dataclasses.replace(api.state, **state_changes)
    app = create_app(state=state)
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield Api(state, http)


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == code
    assert body["message"]["zh"] and body["message"]["en"]
    return cast(dict[str, Any], body)


# -- 1. exactly once ---------------------------------------------------------------------


async def test_guarantee_01_exactly_once_resend_whole_and_partial_batches(api: Api) -> None:
    await admin_with_stations(api, (TH1, TIANHE))
    staff = Device(api, await api.token("staff-a", "staff", station=TH1))
    e1, e2 = new_id(), new_id()
    batch = [
        staff.m("event.create", event_args(e1, TH1, title="义卖一")),
        staff.m("event.create", event_args(e2, TH1, title="义卖二")),
        staff.m("event.update", {"id": new_id(), "fields": {"title": "无此活动"}}),  # rejected
    ]
    first = await staff.push(*batch)
    assert [r["status"] for r in first["results"]] == ["applied", "applied", "rejected"]
    assert first["last_mutation_id"] == 3
    rejected = first["results"][2]
    after_first = await count_rows(api)
    outcomes_first = await all_rows(api, mutations, [mutations.c.client_id, mutations.c.mutation_id])

    # The whole batch again, twice: nothing is done again, the stored outcomes are repeated.
    for _ in range(2):
        again = await staff.push(*batch)
        assert again["last_mutation_id"] == 3
        assert [r["status"] for r in again["results"]] == ["duplicate"] * 3
        assert again["results"][2]["code"] == "not_found"
        assert again["results"][2]["issue_id"] == rejected["issue_id"]
        assert again["results"][2]["message"] == rejected["message"]
    # A part of it, and a part overlapping a new mutation.
    partial = await staff.push(*batch[1:])
    assert [r["status"] for r in partial["results"]] == ["duplicate", "duplicate"]
    assert await count_rows(api) == after_first
    assert await all_rows(api, mutations, [mutations.c.client_id, mutations.c.mutation_id]) == outcomes_first

    e3 = new_id()
    overlap = await staff.push(batch[2], staff.m("event.create", event_args(e3, TH1, title="义卖三")))
    assert [(r["id"], r["status"]) for r in overlap["results"]] == [(3, "duplicate"), (4, "applied")]
    assert overlap["last_mutation_id"] == 4

    snapshot = await fresh_snapshot(api, staff.token)
    assert ids_of(snapshot, "event") == {e1, e2, e3}
    assert len(ids_of(snapshot, "sync_issue")) == 1
    final = await count_rows(api)
    assert final["events"] == 3 and final["sync_issues"] == 1 and final["mutations"] == 1 + 4  # the admin's station, then 4


async def test_guarantee_01_reused_key_under_new_id_and_new_client_of_same_user_is_duplicate(api: Api) -> None:
    await admin_with_stations(api, (TH1, TIANHE))
    phone = Device(api, await api.token("staff-a", "staff", station=TH1))
    key = new_id()
    e1 = new_id()
    assert (await phone.send("event.create", event_args(e1, TH1), key=key))["status"] == "applied"

    # Same device lost its counter state: the same act under a new id (and even other args).
    e_same_device = new_id()
    result = await phone.send("event.create", event_args(e_same_device, TH1), key=key)
    assert result["status"] == "duplicate"

    # The same user on a new phone (new token, new client id) re-sends the act.
    new_phone = Device(api, await api.token("staff-a", "staff", station=TH1))
    e_new_phone = new_id()
    body = await new_phone.push(new_phone.m("event.create", event_args(e_new_phone, TH1), key=key))
    assert [r["status"] for r in body["results"]] == ["duplicate"]
    assert body["last_mutation_id"] == 1  # acknowledged, so the new phone drops it from its outbox

    # A different user may by chance use the same key: it is not theirs to deduplicate.
    other_user = Device(api, await api.token("staff-b", "staff", station=TH1))
    e_other = new_id()
    assert (await other_user.send("event.create", event_args(e_other, TH1), key=key))["status"] == "applied"

    snapshot = await fresh_snapshot(api, phone.token)
    assert ids_of(snapshot, "event") == {e1, e_other}
    assert (await count_rows(api))["events"] == 2


# -- 2. per-client order -----------------------------------------------------------------


async def test_guarantee_02_gap_is_refused_with_409_and_expected(api: Api) -> None:
    await admin_with_stations(api, (TH1, TIANHE))
    token = await api.token("staff-a", "staff", station=TH1)
    client_id = new_id()

    before = await count_rows(api)
    response = await api.push(token, client_id, [mutation(2, "event.create", event_args(new_id(), TH1))])
    body = assert_error(response, 409, "mutation_gap")
    assert body["expected"] == 1
    assert await count_rows(api) == before  # not even the client row

    ok = await api.push(token, client_id, [mutation(1, "event.create", event_args(new_id(), TH1)),
                                           mutation(2, "event.create", event_args(new_id(), TH1))])
    assert ok.json()["last_mutation_id"] == 2
    before = await count_rows(api)
    response = await api.push(token, client_id, [mutation(4, "event.create", event_args(new_id(), TH1)),
                                                 mutation(5, "event.create", event_args(new_id(), TH1))])
    assert assert_error(response, 409, "mutation_gap")["expected"] == 3
    # An old id before the gap does not make the gap acceptable.
    response = await api.push(token, client_id, [mutation(2, "event.create", event_args(new_id(), TH1)),
                                                 mutation(4, "event.create", event_args(new_id(), TH1))])
    assert assert_error(response, 409, "mutation_gap")["expected"] == 3
    assert await count_rows(api) == before
    pulled = (await pull_page(api, token, client_id)).json()
    assert pulled["last_mutation_id"] == 2


async def test_guarantee_02_mutations_apply_in_id_order(api: Api) -> None:
    await admin_with_stations(api, (TH1, TIANHE))
    staff = Device(api, await api.token("staff-a", "staff", station=TH1))
    e1, e2 = new_id(), new_id()
    body = await staff.push(
        staff.m("event.create", event_args(e1, TH1, title="初稿")),
        staff.m("event.update", {"id": e1, "fields": {"title": "定稿"}}),
        staff.m("event.update", {"id": e1, "fields": {"title": "终稿", "notes": "带横幅"}}),
        # An update of e2 before e2 is created: in id order the update finds nothing.
        staff.m("event.update", {"id": e2, "fields": {"title": "早到的修改"}}),
        staff.m("event.create", event_args(e2, TH1, title="后建")),
    )
    assert [r["status"] for r in body["results"]] == ["applied", "applied", "applied", "rejected", "applied"]
    assert body["results"][3]["code"] == "not_found"
    await staff.pull()
    events = staff.of_type("event")
    assert events[e1]["title"] == "终稿" and events[e1]["notes"] == "带横幅"
    assert events[e2]["title"] == "后建"

    # Across batches too: the next batch continues after the last one.
    assert (await staff.send("event.update", {"id": e2, "fields": {"title": "再改"}}))["status"] == "applied"
    await staff.pull()
    assert staff.of_type("event")[e2]["title"] == "再改"


# -- 3. nothing lost, nothing stuck ------------------------------------------------------


async def test_guarantee_03_rejected_does_not_block_later_ones_and_is_visible_as_sync_issue(api: Api) -> None:
    await admin_with_stations(api, (TH1, TIANHE), (YX1, YUEXIU))

    async def boom(tx: Tx, ctx: MutationContext, args: Any) -> None:
        raise RuntimeError("a mutator bug")

    class NoArgs(msgspec.Struct, forbid_unknown_fields=True):
        pass

    api.state.registry.add_mutation(MutationSpec("test.boom", 1, NoArgs, boom))

    author = Device(api, await api.token("staff-a", "staff", station=TH1))
    e1, e2 = new_id(), new_id()
    body = await author.push(
        author.m("event.create", event_args(e1, YX1)),  # another station: forbidden
        author.m("event.create", event_args(e2, TH1)),
        author.m("test.boom", {}),  # the server fails: rejected, not stuck
        author.m("event.update", {"id": e2, "fields": {"notes": "已确认"}}),
    )
    statuses = [(r["status"], r.get("code")) for r in body["results"]]
    assert statuses == [("rejected", "forbidden"), ("applied", None),
                        ("rejected", "internal_error"), ("applied", None)]
    assert body["last_mutation_id"] == 4
    issue_ids = {body["results"][0]["issue_id"], body["results"][2]["issue_id"]}
    assert None not in issue_ids

    # The author sees the issues, with both languages, and that the queue moved on.
    await author.pull()
    issues = author.of_type("sync_issue")
    assert set(issues) == issue_ids
    forbidden_issue = issues[body["results"][0]["issue_id"]]
    assert forbidden_issue["mutation_id"] == 1 and forbidden_issue["client_id"] == author.client_id
    assert forbidden_issue["mutation"] == "event.create" and forbidden_issue["status"] == "rejected"
    assert forbidden_issue["user"] == "staff-a" and forbidden_issue["station"] == TH1
    assert forbidden_issue["message"]["zh"] and forbidden_issue["message"]["en"]
    assert author.of_type("event")[e2]["notes"] == "已确认"
    assert e1 not in author.of_type("event")

    # The station's manager sees them; another station's manager does not.
    manager = await fresh_snapshot(api, await api.token("mgr-th", "manager", station=TH1))
    assert ids_of(manager, "sync_issue") == issue_ids
    elsewhere = await fresh_snapshot(api, await api.token("mgr-yx", "manager", station=YX1))
    assert ids_of(elsewhere, "sync_issue") == set()

    pulled = (await pull_page(api, author.token, author.client_id)).json()
    assert pulled["last_mutation_id"] == 4


# -- 6. conflicts are decided, then shown ------------------------------------------------


async def _event_with_two_editors(api: Api) -> tuple[str, Device, Device, Device]:
    """An event at TH-001 and two staff devices of two users that both pulled it."""
    await admin_with_stations(api, (TH1, TIANHE))
    creator = Device(api, await api.token("staff-c", "staff", station=TH1))
    event_id = new_id()
    assert (await creator.send("event.create", event_args(event_id, TH1, date="2026-09-05")))["status"] == "applied"
    a = Device(api, await api.token("staff-a", "staff", station=TH1))
    b = Device(api, await api.token("staff-b", "staff", station=TH1))
    await a.pull()
    await b.pull()
    return event_id, creator, a, b


@pytest.mark.parametrize("order", ["lower_first", "higher_first"])
async def test_guarantee_06_concurrent_edit_decided_by_hlc_with_conflict_record(api: Api, order: str) -> None:
    event_id, _, a, b = await _event_with_two_editors(api)
    base = a.of_type("event")[event_id]["field_hlc"]["date"]
    assert b.of_type("event")[event_id]["field_hlc"]["date"] == base
    now = now_ms()
    low, high = stamp(now + 1_000, "phone-a"), stamp(now + 2_000, "phone-b")
    edit_a = a.m("event.update", {"id": event_id, "fields": {"date": "2026-09-06"}, "base": {"date": base}},
                 stamp=low)
    edit_b = b.m("event.update", {"id": event_id, "fields": {"date": "2026-09-07"}, "base": {"date": base}},
                 stamp=high)
    first, second = (a, edit_a), (b, edit_b)
    if order == "higher_first":
        first, second = second, first
    r_first = (await first[0].push(first[1]))["results"][0]
    r_second = (await second[0].push(second[1]))["results"][0]
    assert r_first["status"] == "applied"
    assert r_second["status"] == "flagged" and r_second["code"] == "conflict_recorded"

    # The higher HLC wins in either order, and every device converges on it.
    for device in (a, b):
        await device.pull()
        assert device.of_type("event")[event_id]["date"] == "2026-09-07"
        assert device.of_type("event")[event_id]["field_hlc"]["date"] == high
        assert device.of_type("conflict") == {}  # conflicts are for managers

    manager = Device(api, await api.token("mgr-th", "manager", station=TH1))
    await manager.pull()
    (conflict,) = manager.of_type("conflict").values()
    assert conflict["record_type"] == "event" and conflict["record_id"] == event_id
    assert conflict["field"] == "date" and conflict["status"] == "open"
    assert (conflict["kept_value"], conflict["lost_value"]) == ("2026-09-07", "2026-09-06")
    assert (conflict["kept_hlc"], conflict["lost_hlc"]) == (high, low)
    assert (conflict["kept_by"], conflict["lost_by"]) == ("staff-b", "staff-a")

    # The manager reverses the decision: the lost value comes back as a new edit.
    assert (await manager.send("conflict.resolve", {"id": conflict["id"], "action": "restore"}))["status"] == "applied"
    await manager.pull()
    assert manager.of_type("event")[event_id]["date"] == "2026-09-06"
    resolved = manager.of_type("conflict")[conflict["id"]]
    assert resolved["status"] == "restored" and resolved["resolved_by"] == "mgr-th"
    assert resolved["lost_value"] == "2026-09-06"
    await a.pull()
    assert a.of_type("event")[event_id]["date"] == "2026-09-06"
    assert a.of_type("event")[event_id]["field_hlc"]["date"] > high
    # A resolved conflict cannot be resolved again.
    again = await manager.send("conflict.resolve", {"id": conflict["id"], "action": "accept"})
    assert again["status"] == "rejected" and again["code"] == "already_resolved"


async def test_guarantee_06_clock_hours_ahead_is_clamped(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """Device A's clock runs 5 h ahead. Device B (correct clock, had not seen A's edit)
    edits the same field 61 s later by the server's clock. Without the clamp A's stamp
    (now + 5 h) would beat B's for 5 hours; clamped to server time + 60 s, it loses."""
    event_id, _, a, b = await _event_with_two_editors(api)
    base = a.of_type("event")[event_id]["field_hlc"]["date"]
    server_ms = {"now": now_ms()}
    monkeypatch.setattr(push_module, "now_ms", lambda: server_ms["now"])
    t0 = server_ms["now"]

    ahead = stamp(t0 + 5 * 3600 * 1000, "phone-a")
    result_a = await a.send("event.update", {"id": event_id, "fields": {"date": "2026-09-06"},
                                             "base": {"date": base}}, stamp=ahead)
    assert result_a["status"] == "applied"  # A's own edit applies (it was sequential) ...
    await a.pull()
    stored = a.of_type("event")[event_id]["field_hlc"]["date"]
    assert stored == stamp(t0 + push_module.MAX_CLOCK_LEAD_MS, "phone-a", 9999)  # ... but clamped

    server_ms["now"] = t0 + 61_000  # 61 s later by the server clock
    honest = stamp(t0 + 61_000, "phone-b")
    assert honest < ahead  # unclamped, A would win this one
    result_b = await b.send("event.update", {"id": event_id, "fields": {"date": "2026-09-07"},
                                             "base": {"date": base}}, stamp=honest)
    assert result_b["status"] == "flagged"  # concurrent: decided and recorded

    manager = Device(api, await api.token("mgr-th", "manager", station=TH1))
    await manager.pull()
    assert manager.of_type("event")[event_id]["date"] == "2026-09-07"
    (conflict,) = manager.of_type("conflict").values()
    assert (conflict["kept_value"], conflict["lost_value"]) == ("2026-09-07", "2026-09-06")
    assert conflict["lost_hlc"] == stored and conflict["kept_hlc"] == honest


async def test_guarantee_06_sequential_edit_with_seen_base_wins_even_with_older_clock(api: Api) -> None:
    event_id, creator, a, b = await _event_with_two_editors(api)
    stale_base = b.of_type("event")[event_id]["field_hlc"]["date"]
    now = now_ms()
    result = await a.send("event.update", {"id": event_id, "fields": {"date": "2026-09-06"},
                                           "base": {"date": stale_base}}, stamp=stamp(now + 30_000, "phone-a"))
    assert result["status"] == "applied"

    # B pulls, sees A's edit, then edits with a clock an hour slow: sequential, so it applies.
    await b.pull()
    seen = b.of_type("event")[event_id]["field_hlc"]["date"]
    assert b.of_type("event")[event_id]["date"] == "2026-09-06"
    slow = stamp(now - 3_600_000, "phone-b")
    result = await b.send("event.update", {"id": event_id, "fields": {"date": "2026-09-08"},
                                           "base": {"date": seen}}, stamp=slow)
    assert result == {"id": 1, "status": "applied"}

    # The creator, who saw neither, edits with the stale base and a stamp newer than B's slow
    # one: it still loses, because B's sequential edit was stamped after the value it replaced.
    result = await creator.send("event.update", {"id": event_id, "fields": {"date": "2026-09-09"},
                                                 "base": {"date": stale_base}},
                                stamp=stamp(now - 1_800_000, "phone-c"))
    assert result["status"] == "flagged"

    await b.pull()
    assert b.of_type("event")[event_id]["date"] == "2026-09-08"
    assert b.of_type("event")[event_id]["field_hlc"]["date"] > seen > slow
    rows = await all_rows(api, conflicts, [conflicts.c.created_at])
    assert [(json.loads(r["kept_value"]), json.loads(r["lost_value"])) for r in rows] == [
        ("2026-09-08", "2026-09-09")
    ]


# -- 7. append-only ----------------------------------------------------------------------


async def test_guarantee_07_outcomes_and_tombstones_are_append_only(api: Api) -> None:
    """No ledgers exist yet: this checks what is append-only today. A deleted record stays
    as a tombstone (``op: del`` on pull) and stored mutation outcomes are never rewritten."""
    await admin_with_stations(api, (TH1, TIANHE))
    staff = Device(api, await api.token("staff-a", "staff", station=TH1))
    manager = Device(api, await api.token("mgr-th", "manager", station=TH1))
    event_id = new_id()
    await staff.push(
        staff.m("event.create", event_args(event_id, TH1)),
        staff.m("event.delete", {"id": event_id}),  # staff may not delete: rejected
    )
    await staff.pull()
    assert event_id in staff.of_type("event")

    delete = manager.m("event.delete", {"id": event_id})
    assert (await manager.push(delete))["results"][0]["status"] == "applied"
    received = await staff.pull()
    assert {"type": "event", "id": event_id, "op": "del"} in received
    assert event_id not in staff.of_type("event")
    assert event_id not in ids_of(await fresh_snapshot(api, manager.token), "event")
    async with api.state.db.engine.connect() as conn:
        row = (await conn.execute(select(events_table).where(events_table.c.id == event_id))).mappings().one()
    assert row["deleted_at"] is not None  # a tombstone, not a hard delete
    rejected = await staff.send("event.update", {"id": event_id, "fields": {"title": "复活"}})
    assert rejected["status"] == "rejected" and rejected["code"] == "record_deleted"

    order = [mutations.c.client_id, mutations.c.mutation_id]
    outcomes = await all_rows(api, mutations, order)
    issues = await all_rows(api, sync_issues, [sync_issues.c.id])
    # Re-send everything, and the delete once more under a new id with the same key.
    await staff.push(*staff.sent)
    await manager.push(*manager.sent)
    again = await manager.push(manager.m("event.delete", {"id": event_id}, key=delete["key"]))
    assert again["results"][0]["status"] == "duplicate"
    after = await all_rows(api, mutations, order)
    assert [r for r in after if r in outcomes] == outcomes  # every stored outcome unchanged
    (appended,) = [r for r in after if r not in outcomes]
    assert (appended["client_id"], appended["mutation_id"]) == (manager.client_id, 2)
    assert (appended["status"], appended["key"], appended["name"]) == ("duplicate", None, "event.delete")
    assert await all_rows(api, sync_issues, [sync_issues.c.id]) == issues


# -- 8. scopes both ways -----------------------------------------------------------------


async def _conflict_at(api: Api, device: Device, event_id: str) -> str:
    """Two edits of the event's date with the same stale base in one batch: a conflict."""
    await device.pull()
    base = device.of_type("event")[event_id]["field_hlc"]["date"]
    now = now_ms()
    body = await device.push(
        device.m("event.update", {"id": event_id, "fields": {"date": "2026-10-01"}, "base": {"date": base}},
                 stamp=stamp(now + 1_000, "phone-x")),
        device.m("event.update", {"id": event_id, "fields": {"date": "2026-10-02"}, "base": {"date": base}},
                 stamp=stamp(now + 2_000, "phone-y")),
    )
    assert [r["status"] for r in body["results"]] == ["applied", "flagged"]
    return str(body["results"][1]["issue_id"])


async def test_guarantee_08_scopes_pull_only_granted_records_and_redacts_personal_fields(api: Api) -> None:
    admin = await admin_with_stations(api, (TH1, TIANHE), (TH2, TIANHE), (YX1, YUEXIU))
    e_th1, e_th2, e_yx = new_id(), new_id(), new_id()
    body = await admin.push(
        admin.m("event.create", event_args(e_th1, TH1, contact_phone="+86 138 0000 0001")),
        admin.m("event.create", event_args(e_th2, TH2, contact_phone="+86 138 0000 0002")),
        admin.m("event.create", event_args(e_yx, YX1, contact_phone="+86 138 0000 0003")),
    )
    assert [r["status"] for r in body["results"]] == ["applied"] * 3

    tokens = {
        "volunteer": await api.token("vol-th", "volunteer", station=TH1),
        "staff": await api.token("staff-th", "staff", station=TH1),
        "manager": await api.token("mgr-th", "manager", station=TH1),
        "district_manager": await api.token("dm-th", "district_manager", district=TIANHE),
        "admin": admin.token,
    }
    vol = Device(api, tokens["volunteer"])
    i_vol = (await vol.send("event.create", event_args(new_id(), TH1)))["issue_id"]  # forbidden
    staff_th = Device(api, tokens["staff"])
    i_th = await _conflict_at(api, staff_th, e_th1)
    staff_th2 = Device(api, await api.token("staff-th2", "staff", station=TH2))
    i_th2 = (await staff_th2.send("event.update", {"id": new_id(), "fields": {"title": "x"}}))["issue_id"]
    staff_yx = Device(api, await api.token("staff-yx", "staff", station=YX1))
    i_yx = await _conflict_at(api, staff_yx, e_yx)
    conflict_rows = await all_rows(api, conflicts, [conflicts.c.station])
    c_by_station = {r["station"]: r["id"] for r in conflict_rows}
    assert set(c_by_station) == {TH1, YX1}
    c_th, c_yx = c_by_station[TH1], c_by_station[YX1]

    every_station = {TH1, TH2, YX1}
    expected = {
        #  role               events                      conflicts       sync issues
        "volunteer":        ({e_th1},                     set(),          {i_vol}),
        "staff":            ({e_th1},                     set(),          {i_vol, i_th}),
        "manager":          ({e_th1},                     {c_th},         {i_vol, i_th}),
        "district_manager": ({e_th1, e_th2},              {c_th},         {i_vol, i_th, i_th2}),
        "admin":            ({e_th1, e_th2, e_yx},        {c_th, c_yx},   {i_vol, i_th, i_th2, i_yx}),
    }
    for role, (want_events, want_conflicts, want_issues) in expected.items():
        seen = await fresh_snapshot(api, tokens[role])
        assert {t for t, _ in seen} <= {"station", "event", "conflict", "sync_issue",
                                          "district", "membership"}, role
        got = (ids_of(seen, "station"), ids_of(seen, "event"), ids_of(seen, "conflict"),
               ids_of(seen, "sync_issue"))
        assert got == (every_station, want_events, want_conflicts, want_issues), role
        phone = seen[("event", e_th1)]["contact_phone"]
        assert phone == (None if role == "volunteer" else "+86 138 0000 0001"), role


async def test_guarantee_08_push_is_authorised(api: Api) -> None:
    admin = await admin_with_stations(api, (TH1, TIANHE), (YX1, YUEXIU))
    e_yx = new_id()
    assert (await admin.send("event.create", event_args(e_yx, YX1, title="原标题")))["status"] == "applied"
    before = await count_rows(api)
    staff = Device(api, await api.token("staff-th", "staff", station=TH1))
    e_new = new_id()
    body = await staff.push(
        staff.m("event.create", event_args(e_new, YX1)),
        staff.m("event.update", {"id": e_yx, "fields": {"title": "越权修改"}}),
        staff.m("event.delete", {"id": e_yx}),
        staff.m("station.create", station_args("TH-009", TIANHE, "新站")),
    )
    assert [(r["status"], r["code"]) for r in body["results"]] == [("rejected", "forbidden")] * 4
    after = await count_rows(api)
    assert after["events"] == before["events"] and after["conflicts"] == before["conflicts"]
    assert after["sync_issues"] == before["sync_issues"] + 4  # recorded, nothing else written
    seen = await fresh_snapshot(api, admin.token)
    assert e_new not in ids_of(seen, "event")
    assert seen[("event", e_yx)]["title"] == "原标题"
    assert ("station", "TH-009") not in seen


async def test_guarantee_08_revoked_device_gets_403_and_changed_grant_resets_replica(api: Api) -> None:
    admin = await admin_with_stations(api, (TH1, TIANHE), (YX1, YUEXIU))
    e_th, e_yx = new_id(), new_id()
    await admin.push(admin.m("event.create", event_args(e_th, TH1)), admin.m("event.create", event_args(e_yx, YX1)))

    # Revoked: every request is refused with 403, nothing written.
    token_id, token = await issue_token(api.state.db, user="staff-r", role="staff", station=TH1, district=None)
    phone = Device(api, token)
    await phone.pull()
    assert await revoke_token(api.state.db, token_id)
    before = await count_rows(api)
    assert_error(await api.push(token, phone.client_id, [mutation(1, "event.create", event_args(new_id(), TH1))]),
                 403, "device_revoked")
    assert_error(await pull_page(api, token, phone.client_id, phone.cursor), 403, "device_revoked")
    assert await count_rows(api) == before

    # Changed grant: the next pull with the old cursor resets the replica to the new scope.
    token_id, token = await issue_token(api.state.db, user="staff-m", role="staff", station=TH1, district=None)
    mover = Device(api, token)
    await mover.pull()
    assert e_th in mover.of_type("event") and e_yx not in mover.of_type("event")
    async with api.state.db.engine.begin() as conn:  # the person moves to another station
        await conn.execute(update(memberships).where(memberships.c.user_id == "staff-m").values(station=YX1))
    page = (await pull_page(api, token, mover.client_id, mover.cursor)).json()
    assert page["reset"] is True
    assert ("event", e_th) not in {(c["type"], c["id"]) for c in page["changes"]}
    mover.cursor = None
    apply_page(mover.replica, page)
    while page["more"]:
        page = (await pull_page(api, token, mover.client_id, page["cursor"])).json()
        apply_page(mover.replica, page)
    assert set(mover.of_type("event")) == {e_yx}
    # And its writes are authorised against the new grant.
    result = await mover.send("event.create", event_args(new_id(), TH1))
    assert (result["status"], result["code"]) == ("rejected", "forbidden")


# -- 9. old clients keep working ---------------------------------------------------------


class RetitleV1(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    id: str
    name: str  # what version 1 called the title


class RetitleV2(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    id: str
    title: str


async def _retitle(tx: Tx, ctx: MutationContext, event_id: str, title: str) -> None:
    event = await tx.get("event", event_id)
    if event is None:
        from sync.errors import not_found

        raise not_found("活动", "event", event_id, field="id")
    tx.update("event", event_id, {"title": title, "updated_at": ctx.now})


async def retitle_v1(tx: Tx, ctx: MutationContext, args: RetitleV1) -> None:
    await _retitle(tx, ctx, args.id, args.name)


async def retitle_v2(tx: Tx, ctx: MutationContext, args: RetitleV2) -> None:
    await _retitle(tx, ctx, args.id, args.title)


async def test_guarantee_09_old_mutation_versions_apply_and_retired_ones_are_rejected_cleanly(api: Api) -> None:
    registry = api.state.registry
    registry.add_mutation(MutationSpec("test.retitle", 1, RetitleV1, retitle_v1))  # old, still queued
    registry.add_mutation(MutationSpec("test.retitle", 2, RetitleV2, retitle_v2))  # current
    registry.add_mutation(MutationSpec("test.rename", 1, RetitleV2, retitle_v2, retired=True))

    await admin_with_stations(api, (TH1, TIANHE))
    old_phone = Device(api, await api.token("staff-a", "staff", station=TH1))
    e1, e2 = new_id(), new_id()
    body = await old_phone.push(
        old_phone.m("event.create", event_args(e1, TH1)),
        old_phone.m("test.rename", {"id": e1, "title": "停用版本"}, version=1),
        old_phone.m("test.retitle", {"id": e1, "name": "旧版本"}, version=1),
        old_phone.m("test.retitle", {"id": e1, "title": "新版本"}, version=3),  # no such version
        old_phone.m("event.create", event_args(e2, TH1)),
    )
    got = [(r["status"], r.get("code")) for r in body["results"]]
    assert got == [("applied", None), ("rejected", "mutation_retired"), ("applied", None),
                   ("rejected", "invalid_args"), ("applied", None)]
    assert "version" in body["results"][3]["message"]["en"]
    assert body["results"][1]["message"]["zh"] and body["results"][1]["issue_id"]
    await old_phone.pull()
    assert old_phone.of_type("event")[e1]["title"] == "旧版本"
    assert e2 in old_phone.of_type("event")
    assert len(old_phone.of_type("sync_issue")) == 2

    new_phone = Device(api, await api.token("staff-b", "staff", station=TH1))
    assert (await new_phone.send("test.retitle", {"id": e1, "title": "新版本"}, version=2))["status"] == "applied"
    await new_phone.pull()
    assert new_phone.of_type("event")[e1]["title"] == "新版本"

    schema = (await api.http.get("/api/v1/sync/schema")).json()
    assert {"test.retitle@1", "test.retitle@2"} <= set(schema["mutations"])
    assert "test.rename@1" not in schema["mutations"]  # nobody should build new ones


async def test_guarantee_09_too_old_protocol_gets_426_only_after_queue_drained(api: Api) -> None:
    await admin_with_stations(api, (TH1, TIANHE))
    token = await api.token("staff-a", "staff", station=TH1)
    client_id = new_id()
    e1 = new_id()
    settings = dataclasses.replace(api.state.settings, min_protocol=2)
    async with api_with(api, settings=settings, push_limits=PushLimits(min_protocol=2)) as strict:
        # Its queue still drains: pushes that carry mutations apply.
        response = await strict.push(token, client_id, [mutation(1, "event.create", event_args(e1, TH1)),
                                                        mutation(2, "event.update", {"id": new_id(), "fields": {"title": "x"}})])
        assert response.status_code == 200, response.text
        assert [r["status"] for r in response.json()["results"]] == ["applied", "rejected"]

        before = await count_rows(api)
        assert_error(await strict.push(token, client_id, []), 426, "protocol_too_old")
        assert_error(await strict.pull(token, client_id), 426, "protocol_too_old")
        other_client = new_id()
        assert_error(await strict.push(token, other_client, []), 426, "protocol_too_old")
        assert await count_rows(api) == before

    assert e1 in ids_of(await fresh_snapshot(api, token), "event")


# -- 10. bad input is refused cleanly ----------------------------------------------------


async def _seeded(api: Api) -> tuple[str, str, dict[str, int]]:
    """A station, an applied push from a known client, and the row counts after it."""
    await admin_with_stations(api, (TH1, TIANHE))
    token = await api.token("staff-a", "staff", station=TH1)
    client_id = new_id()
    response = await api.push(token, client_id, [mutation(1, "event.create", event_args(new_id(), TH1))])
    assert response.status_code == 200
    return token, client_id, await count_rows(api)


async def _post(api: Api, path: str, token: str | None, content: bytes) -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return await api.http.post(path, content=content, headers=headers)


async def test_guarantee_10_not_json_is_400(api: Api) -> None:
    token, _, before = await _seeded(api)
    for path in ("/api/v1/sync/push", "/api/v1/sync/pull"):
        assert_error(await _post(api, path, token, b'{"protocol": 1, "client_id": '), 400, "not_json")
        assert_error(await _post(api, path, token, "推送".encode()), 400, "not_json")
    assert await count_rows(api) == before


async def test_guarantee_10_malformed_envelope_is_400(api: Api) -> None:
    token, client_id, before = await _seeded(api)
    body = assert_error(await _post(api, "/api/v1/sync/push", token,
                                    json.dumps({"protocol": 1, "mutations": []}).encode()),
                        400, "malformed_envelope")
    assert "client_id" in body["message"]["en"]
    body = assert_error(await _post(api, "/api/v1/sync/pull", token, json.dumps({"protocol": 1}).encode()),
                        400, "malformed_envelope")
    assert "client_id" in body["message"]["en"]
    # A malformed mutation envelope (no key) refuses the batch: ids and keys are the envelope.
    bad = mutation(2, "event.create", event_args(new_id(), TH1))
    del bad["key"]
    good = mutation(3, "event.create", event_args(new_id(), TH1))
    body = assert_error(await api.push(token, client_id, [bad, good]), 400, "malformed_envelope")
    assert "key" in body["message"]["en"]
    body = assert_error(await pull_page(api, token, client_id, cursor="not-a-cursor"), 400, "bad_cursor")
    assert body["field"] == "cursor"
    assert await count_rows(api) == before


async def test_guarantee_10_ids_not_increasing_is_400(api: Api) -> None:
    token, client_id, before = await _seeded(api)
    for ids in ([3, 2], [2, 2], [2, 3, 3]):
        batch = [mutation(i, "event.create", event_args(new_id(), TH1)) for i in ids]
        assert_error(await api.push(token, client_id, batch), 400, "ids_not_increasing")
    assert await count_rows(api) == before


async def test_guarantee_10_oversized_batch_is_413(api: Api) -> None:
    token, client_id, before = await _seeded(api)
    async with api_with(api, push_limits=PushLimits(max_batch=3)) as small:
        batch = [mutation(i, "event.create", event_args(new_id(), TH1)) for i in range(2, 6)]
        assert_error(await small.push(token, client_id, batch), 413, "batch_too_large")
        assert await count_rows(api) == before
        response = await small.push(token, client_id, batch[:3])
        assert response.status_code == 200 and response.json()["last_mutation_id"] == 4
    # The default limit, one over.
    limit = api.state.push_limits.max_batch
    batch = [mutation(i, "event.create", event_args(new_id(), TH1)) for i in range(5, 5 + limit + 1)]
    after_small = await count_rows(api)
    assert_error(await api.push(token, client_id, batch), 413, "batch_too_large")
    assert await count_rows(api) == after_small


async def test_guarantee_10_body_larger_than_limit_is_413(api: Api) -> None:
    token, client_id, before = await _seeded(api)
    settings = dataclasses.replace(api.state.settings, max_body_bytes=4096)
    async with api_with(api, settings=settings) as small:
        batch = [mutation(i, "event.create", event_args(new_id(), TH1, notes="备注" * 200)) for i in (2, 3, 4)]
        content = json.dumps({"protocol": 1, "client_id": client_id, "mutations": batch}).encode()
        assert len(content) > 4096
        assert_error(await _post(small, "/api/v1/sync/push", token, content), 413, "body_too_large")
        assert await count_rows(api) == before
        response = await small.push(token, client_id, [mutation(2, "event.create", event_args(new_id(), TH1))])
        assert response.status_code == 200, response.text


async def test_guarantee_10_client_id_of_another_token_is_403(api: Api) -> None:
    token, client_id, before = await _seeded(api)
    same_user_other_phone = await api.token("staff-a", "staff", station=TH1)
    other_user = await api.token("staff-b", "staff", station=TH1)
    before = await count_rows(api)  # a new person's membership is a record (a change row)
    for thief in (same_user_other_phone, other_user):
        batch = [mutation(2, "event.create", event_args(new_id(), TH1))]
        assert_error(await api.push(thief, client_id, batch), 403, "client_not_yours")
        assert_error(await pull_page(api, thief, client_id), 403, "client_not_yours")
    assert await count_rows(api) == before
    # The owner carries on.
    response = await api.push(token, client_id, [mutation(2, "event.create", event_args(new_id(), TH1))])
    assert response.json()["last_mutation_id"] == 2


async def test_guarantee_10_missing_or_bad_token_is_401(api: Api) -> None:
    token, client_id, before = await _seeded(api)
    body = json.dumps({"protocol": 1, "client_id": client_id,
                       "mutations": [mutation(2, "event.create", event_args(new_id(), TH1))]}).encode()
    for auth in (None, "not-a-token", ""):
        assert_error(await _post(api, "/api/v1/sync/push", auth, body), 401, "unauthorized")
    assert_error(await api.http.post("/api/v1/sync/push", content=body,
                                      headers={"Authorization": f"Basic {token}"}), 401, "unauthorized")
    pull = json.dumps({"protocol": 1, "client_id": client_id}).encode()
    assert_error(await _post(api, "/api/v1/sync/pull", None, pull), 401, "unauthorized")
    assert_error(await api.http.get("/api/v1/sync/events"), 401, "unauthorized")
    assert await count_rows(api) == before


async def test_guarantee_10_bad_mutation_is_rejected_invalid_args_naming_the_field(api: Api) -> None:
    token, client_id, before = await _seeded(api)
    e_ok = new_id()
    bad = [
        # (mutation, words the English message must contain)
        (mutation(2, "event.frobnicate", {"id": new_id()}), ["event.frobnicate"]),
        (mutation(3, "event.create", {**event_args(new_id(), TH1), "date": 20260905}), ["`$.date`", "int"]),
        (mutation(4, "event.create", event_args(new_id(), TH1, title="")), ["`$.title`"]),
        (mutation(5, "event.create", event_args(new_id(), TH1, title="长" * 201)), ["`$.title`"]),
        (mutation(6, "event.create", event_args(new_id(), TH1, date="5 Sept")), ["`$.date`"]),
        (mutation(7, "event.create", event_args(new_id(), TH1, contact_phone="call me")), ["`$.contact_phone`"]),
        (mutation(8, "event.update", {"id": e_ok, "fields": {"date": "tomorrow"}}), ["`$.fields.date`"]),
        (mutation(9, "event.create", {**event_args(new_id(), TH1), "colour": "red"}), ["`colour`"]),
        (mutation(10, "conflict.resolve", {"id": new_id(), "action": "undo"}), ["`$.action`"]),
        (mutation(11, "event.create", {"station": TH1}), ["`id`"]),
    ]
    batch = [m for m, _ in bad]
    follower = mutation(12, "event.create", event_args(e_ok, TH1, title="排在坏变更之后"))
    response = await api.push(token, client_id, [*batch, follower])
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    for (sent, words), result in zip(bad, results, strict=False):
        assert (result["id"], result["status"], result.get("code")) == (sent["id"], "rejected", "invalid_args"), result
        for word in words:
            assert word in result["message"]["en"], (word, result["message"])
        assert result["message"]["zh"] and result["issue_id"]
    assert results[-1] == {"id": 12, "status": "applied"}
    assert response.json()["last_mutation_id"] == 12
    after = await count_rows(api)
    assert after["events"] == before["events"] + 1
    assert after["sync_issues"] == before["sync_issues"] + len(bad)
    seen = await fresh_snapshot(api, token)
    assert seen[("event", e_ok)]["title"] == "排在坏变更之后"
