"""What managers hear and what leaves their lists (issue 18, "Managers"): disbursements
waiting for approval or payment reach the people who may act, in words; settled things
are marked resolved in the inbox and the review lists; free text typed on two offline
phones is kept in a conflict record. SQLite and PostgreSQL (the ``api`` fixture)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select

from server.notify.tables import notify_outbox
from server.notify.worker import Notifier
from sync.timeutil import utc_now
from tests.conftest import Api
from tests.devices import Device
from tests.donation_setup import DISTRICT, STATION, World, build_world
from tests.helpers import event_args, new_id

pytestmark = pytest.mark.anyio


@pytest.fixture
async def notifier(api: Api) -> AsyncIterator[Notifier]:
    worker = Notifier(api.state)
    await worker.open()
    try:
        yield worker
    finally:
        await worker.stop()


async def inbox(api: Api, token: str) -> list[dict[str, Any]]:
    snapshot = await api.snapshot(token)
    return sorted((data for (kind, _), data in snapshot.items() if kind == "notification"),
                  key=lambda n: (n["created_at"], n["id"]))


async def expand(api: Api, notifier: Notifier) -> None:
    """Run background rounds until the outbox is empty (one round may leave a batch)."""
    for _ in range(5):
        await notifier.tick(utc_now())
        async with api.state.db.read() as conn:
            if (await conn.execute(select(notify_outbox.c.id)
                                   .where(notify_outbox.c.state == "pending").limit(1))).first() is None:
                return


async def managers(api: Api) -> dict[str, str]:
    """Three district managers (requester, approver, payer) and a station manager."""
    return {
        "dm1": await api.token("dm1", "district_manager", district=DISTRICT),
        "dm2": await api.token("dm2", "district_manager", district=DISTRICT),
        "dm3": await api.token("dm3", "district_manager", district=DISTRICT),
        "mgr": await api.token("mgr-x", "manager", station=STATION),
    }


async def test_a_disbursement_is_announced_to_who_may_approve_then_to_who_may_pay(
    api: Api, notifier: Notifier,
) -> None:
    world = await build_world(api, seed_fen=100_000)
    tokens = await managers(api)
    dm1, dm2, dm3 = (Device(api, tokens[k]) for k in ("dm1", "dm2", "dm3"))
    ident = new_id()
    requested = await dm1.send("disbursement.request", {
        "id": ident, "fund_id": world.fund_id, "project_id": world.project_id,
        "amount_fen": 30_000, "payee": "耆乐安居服务队", "purpose": "适老化改造"})
    assert requested["status"] == "applied", requested
    await expand(api, notifier)

    def about(notes: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
        return [n for n in notes if n["kind"] == kind and n["target"].get("disbursement_id") == ident]

    # Everyone who may approve hears it, not the requester, not a station manager (who
    # cannot approve: only the federation holds the money).
    assert about(await inbox(api, tokens["dm1"]), "disbursement.waiting_approval") == []
    assert about(await inbox(api, tokens["mgr"]), "disbursement.waiting_approval") == []
    waiting = about(await inbox(api, tokens["dm2"]), "disbursement.waiting_approval")
    assert len(waiting) == 1 and len(about(await inbox(api, tokens["dm3"]), "disbursement.waiting_approval")) == 1
    note = waiting[0]
    assert note["title"] == {"zh": "拨付申请待审批 ¥300.00", "en": "Disbursement waiting for approval ¥300.00"}
    assert "天河社区慈善基金" in note["body"]["zh"] and "dm1" in note["body"]["en"]
    assert note["url"] == f"/#/funds/{world.fund_id}" and note["resolved_at"] is None

    decided = await dm2.send("disbursement.decide", {"id": ident, "decision": "approve"})
    assert decided["status"] == "applied", decided
    await expand(api, notifier)
    # The approval request is settled in every inbox that had it ...
    for user in ("dm2", "dm3"):
        (old,) = about(await inbox(api, tokens[user]), "disbursement.waiting_approval")
        assert old["resolved_at"] is not None and old["read_at"] is not None
    # ... and only the third person (neither requester nor approver) is asked to pay.
    assert about(await inbox(api, tokens["dm1"]), "disbursement.waiting_payment") == []
    assert about(await inbox(api, tokens["dm2"]), "disbursement.waiting_payment") == []
    (pay,) = about(await inbox(api, tokens["dm3"]), "disbursement.waiting_payment")
    assert pay["title"]["zh"] == "拨付已批准,待付款 ¥300.00" and "dm2" in pay["body"]["zh"]
    assert pay["resolved_at"] is None

    paid = await dm3.send("disbursement.pay", {"id": ident, "reference": "工行 0042"})
    assert paid["status"] == "applied", paid
    await expand(api, notifier)
    (pay,) = about(await inbox(api, tokens["dm3"]), "disbursement.waiting_payment")
    assert pay["resolved_at"] is not None


async def test_a_refused_disbursement_settles_its_request_and_asks_nobody_to_pay(
    api: Api, notifier: Notifier,
) -> None:
    world = await build_world(api, seed_fen=100_000)
    tokens = await managers(api)
    ident = new_id()
    await Device(api, tokens["dm1"]).send("disbursement.request", {
        "id": ident, "fund_id": world.fund_id, "project_id": world.project_id,
        "amount_fen": 10_000, "payee": "服务队", "purpose": ""})
    # Decided perhaps before the background task announced it: then nobody is asked at all;
    # otherwise the request is settled. Either way nothing is left to act on.
    assert (await Device(api, tokens["dm2"]).send(
        "disbursement.decide", {"id": ident, "decision": "reject"}))["status"] == "applied"
    await expand(api, notifier)
    for user in ("dm2", "dm3"):
        notes = [n for n in await inbox(api, tokens[user]) if n["kind"].startswith("disbursement.")]
        assert [n["kind"] for n in notes] in ([], ["disbursement.waiting_approval"])
        assert all(n["resolved_at"] for n in notes)


async def test_a_thing_settled_before_it_was_announced_is_not_announced(
    api: Api, notifier: Notifier,
) -> None:
    """The outbox holds both rows (the request and its settling) when the task runs."""
    world = await build_world(api, seed_fen=100_000)
    tokens = await managers(api)
    await expand(api, notifier)
    ident = new_id()
    async with api.state.db.read() as conn:
        before = len((await conn.execute(select(notify_outbox.c.id))).all())
    await Device(api, tokens["dm1"]).send("disbursement.request", {
        "id": ident, "fund_id": world.fund_id, "project_id": world.project_id,
        "amount_fen": 10_000, "payee": "服务队", "purpose": ""})
    await Device(api, tokens["dm2"]).send("disbursement.decide", {"id": ident, "decision": "reject"})
    async with api.state.db.read() as conn:
        rows = (await conn.execute(select(notify_outbox.c.kind, notify_outbox.c.state)
                                   .order_by(notify_outbox.c.id))).all()[before:]
    if any(state != "pending" for _, state in rows):
        pytest.skip("the app's own background task got there first")
    assert [kind for kind, _ in rows] == ["disbursement.waiting_approval", "resolve"]
    await expand(api, notifier)
    for user in ("dm2", "dm3"):
        assert [n for n in await inbox(api, tokens[user]) if n["kind"].startswith("disbursement.")] == []


async def test_muting_the_disbursement_kinds_is_a_preference(api: Api, notifier: Notifier) -> None:
    world = await build_world(api, seed_fen=100_000)
    tokens = await managers(api)
    dm3 = Device(api, tokens["dm3"])
    muted = await dm3.send("notification_prefs.set", {"fields": {
        "muted_kinds": ["disbursement.waiting_approval", "disbursement.waiting_payment"]}})
    assert muted["status"] == "applied", muted
    await Device(api, tokens["dm1"]).send("disbursement.request", {
        "id": new_id(), "fund_id": world.fund_id, "project_id": world.project_id,
        "amount_fen": 10_000, "payee": "服务队", "purpose": ""})
    await expand(api, notifier)
    assert [n["kind"] for n in await inbox(api, tokens["dm2"])] == ["disbursement.waiting_approval"]
    assert await inbox(api, tokens["dm3"]) == []


# -- held submissions are settled ----------------------------------------------------------


async def concurrent_notes(world: World, event_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Two offline phones edit the same event's notes from the same base."""
    phone_a = Device(world.api, await world.api.token("staff-a", "staff", station=STATION))
    phone_b = Device(world.api, await world.api.token("staff-b", "staff", station=STATION))
    await phone_a.pull()
    base = phone_a.of_type("event")[event_id]["field_hlc"]
    first = await phone_a.send("event.update", {"id": event_id, "fields": {"notes": "带二十把椅子"},
                                                "base": {"notes": base["notes"]}})
    second = await phone_b.send("event.update", {"id": event_id, "fields": {"notes": "下午两点前搭好帐篷"},
                                                 "base": {"notes": base["notes"]}})
    return first, second


async def test_notes_edited_on_two_phones_keep_the_losing_text_and_a_manager_can_merge(
    api: Api, notifier: Notifier,
) -> None:
    world = await build_world(api)
    manager = await api.token("mgr-x", "manager", station=STATION)
    first, second = await concurrent_notes(world, world.event_id)
    assert first["status"] == "applied" and second["status"] == "flagged", second
    assert second["code"] == "conflict_recorded"
    await expand(api, notifier)
    snapshot = await api.snapshot(manager)
    (conflict,) = [c for (k, _), c in snapshot.items() if k == "conflict"]
    assert conflict["field"] == "notes" and conflict["record_type"] == "event"
    assert {conflict["kept_value"], conflict["lost_value"]} == {"带二十把椅子", "下午两点前搭好帐篷"}
    issue = next(i for (k, _), i in snapshot.items() if k == "sync_issue" and i["id"] == second["issue_id"])
    assert issue["subject"] == f"event:{world.event_id}" and issue["resolved_at"] is None
    (flagged,) = [n for n in await inbox(api, manager) if n["kind"] == "review.flagged"]
    # Words, and the station's name, not codes.
    assert "hours" not in flagged["body"]["zh"] and "conflict_recorded" not in flagged["body"]["zh"]
    assert "修改活动" in flagged["body"]["zh"] and "与另一台手机的修改冲突" in flagged["body"]["zh"]
    assert "Event edit" in flagged["body"]["en"] and "conflicts with another phone" in flagged["body"]["en"]
    assert "社工站" in flagged["body"]["zh"] or "TH-001" not in flagged["body"]["zh"]

    mgr = Device(api, manager)
    bad = await mgr.send("conflict.resolve", {"id": conflict["id"], "action": "merge"})
    assert bad["status"] == "rejected" and bad["code"] == "invalid_args"
    merged = "带二十把椅子;下午两点前搭好帐篷"
    done = await mgr.send("conflict.resolve", {"id": conflict["id"], "action": "merge", "value": merged})
    assert done["status"] == "applied", done
    await expand(api, notifier)
    snapshot = await api.snapshot(manager)
    assert snapshot[("event", world.event_id)]["notes"] == merged
    assert snapshot[("conflict", conflict["id"])]["status"] == "merged"
    assert snapshot[("sync_issue", second["issue_id"])]["resolved_at"] is not None
    (flagged,) = [n for n in await inbox(api, manager) if n["kind"] == "review.flagged"]
    assert flagged["resolved_at"] is not None


async def test_a_date_conflict_cannot_be_merged_as_text(api: Api) -> None:
    world = await build_world(api)
    phone_a = Device(api, await api.token("staff-a", "staff", station=STATION))
    phone_b = Device(api, await api.token("staff-b", "staff", station=STATION))
    await phone_a.pull()
    base = phone_a.of_type("event")[world.event_id]["field_hlc"]["date"]
    await phone_a.send("event.update", {"id": world.event_id, "fields": {"date": "2026-12-01"}, "base": {"date": base}})
    await phone_b.send("event.update", {"id": world.event_id, "fields": {"date": "2026-12-02"}, "base": {"date": base}})
    snapshot = await api.snapshot(await api.token("mgr-x", "manager", station=STATION))
    (conflict,) = [c for (k, _), c in snapshot.items() if k == "conflict"]
    refused = await Device(api, await api.token("mgr-x", "manager", station=STATION)).send(
        "conflict.resolve", {"id": conflict["id"], "action": "merge", "value": "2026-12-03"})
    assert refused["status"] == "rejected" and refused["code"] == "invalid_args"


async def test_a_held_submission_without_a_decision_is_marked_handled_by_a_manager(api: Api) -> None:
    world = await build_world(api)
    staff = Device(api, await api.token("staff-x", "staff", station=STATION))
    # A gift at a station with no fund of its own: recorded, held for a manager.
    other = "TH-009"
    await world.admin.send("station.create", {"code": other, "name": "石牌社工站", "district": DISTRICT})
    staff_other = Device(api, await api.token("staff-y", "staff", station=other))
    held = await staff_other.send("donation.record", {
        "id": new_id(), "station": other, "kind": "money", "amount_fen": 1_000, "method": "cash",
        "direction": "undirected", "donor": {"name": "李四", "wants_receipt": False}})
    assert held["status"] == "flagged", held
    manager = Device(api, await api.token("mgr-y", "manager", station=other))
    assert (await staff.send("sync_issue.resolve", {"id": held["issue_id"]}))["code"] == "forbidden"
    assert (await manager.send("sync_issue.resolve", {"id": held["issue_id"]}))["status"] == "applied"
    assert (await manager.send("sync_issue.resolve", {"id": held["issue_id"]}))["status"] == "applied"
    await staff_other.pull()
    issue = staff_other.of_type("sync_issue")[held["issue_id"]]
    assert issue["resolved_at"] is not None and issue["resolved_by"] == "mgr-y"


async def test_client_config_carries_both_alert_defaults(api: Api) -> None:
    token = await api.token("mgr-x", "manager", station=STATION)
    config = (await api.http.get("/api/v1/client-config", headers=api.auth(token))).json()
    assert config["large_donation_fen"] == api.state.settings.notify_large_donation_fen == 500_000
    assert config["fund_low_fen"] == api.state.settings.notify_fund_low_fen == 100_000


async def test_title_edits_on_two_phones_are_kept_too(api: Api) -> None:
    world = await build_world(api)
    event_id = new_id()
    staff = Device(api, await api.token("staff1", "staff", station=STATION))
    await staff.send("event.create", event_args(event_id, STATION))
    phone_a = Device(api, await api.token("staff-a", "staff", station=STATION))
    phone_b = Device(api, await api.token("staff-b", "staff", station=STATION))
    await phone_a.pull()
    base = phone_a.of_type("event")[event_id]["field_hlc"]["title"]
    await phone_a.send("event.update", {"id": event_id, "fields": {"title": "冬衣募集"}, "base": {"title": base}})
    second = await phone_b.send("event.update", {"id": event_id, "fields": {"title": "冬季衣物募捐"},
                                                 "base": {"title": base}})
    assert second["status"] == "flagged"
    snapshot = await api.snapshot(await api.token("mgr-x", "manager", station=STATION))
    titles = [c for (k, _), c in snapshot.items() if k == "conflict" and c["record_id"] == event_id]
    assert [c["field"] for c in titles] == ["title"]
    assert world.event_id != event_id


async def test_a_volunteers_held_check_in_is_settled_when_staff_decide_the_log(api: Api) -> None:
    """The volunteer's "held for review" (hours_overlap) leaves their phone's list once
    the reviewer decided which of the overlapping logs counts."""
    from tests.timebank_setup import at, world

    w = await world(api)
    own, scanned = new_id(), new_id()
    await w.staff.push(
        w.staff.m("hours.check_in", {"id": scanned, "activity_id": w.activity,
                                     "volunteer_id": "vol-1", "at": at(2)}),
        w.staff.m("hours.check_out", {"id": scanned, "at": at(181)}))
    held = (await w.vol_phone.push(
        w.vol_phone.m("hours.check_in", {"id": own, "activity_id": w.activity, "at": at(0)}),
        w.vol_phone.m("hours.check_out", {"id": own, "at": at(180)})))["results"][0]
    assert held["status"] == "flagged" and held["code"] == "hours_overlap"
    await w.vol_phone.pull()
    issue = w.vol_phone.of_type("sync_issue")[held["issue_id"]]
    assert issue["subject"] == f"hour_log:{own}" and issue["resolved_at"] is None
    decided = await w.staff.send("hours.reject", {"id": own, "reason": "与站点扫码记录重复"})
    assert decided["status"] == "applied", decided
    await w.vol_phone.pull()
    issue = w.vol_phone.of_type("sync_issue")[held["issue_id"]]
    assert issue["resolved_at"] is not None and issue["resolved_by"] == "staff-a"
