"""People, memberships and districts (docs/accounts.md), on SQLite and PostgreSQL: who may
grant what, that a role change counts from the next request, and several memberships."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from server.domain.people import memberships
from tests.conftest import Api
from tests.devices import Device, fresh_snapshot, pull_page
from tests.donation_setup import campaign_at
from tests.helpers import event_args, new_id, station_args

pytestmark = pytest.mark.anyio

A, B = "TH-001", "YX-001"
TIANHE, YUEXIU = "天河区", "越秀区"


async def _setup(api: Api) -> Device:
    admin = Device(api, await api.token("admin", "admin"))
    for args in (station_args(A, TIANHE, "天河一站"), station_args(B, YUEXIU, "越秀一站")):
        assert (await admin.send("station.create", args))["status"] == "applied"
    return admin


def _outcome(result: dict[str, Any]) -> tuple[str, str | None]:
    return result["status"], result.get("code")


async def _membership_ids(api: Api, user: str) -> dict[tuple[str, str | None], str]:
    async with api.state.db.read() as conn:
        rows = (await conn.execute(select(memberships).where(
            memberships.c.user_id == user, memberships.c.ended_at.is_(None)))).mappings().all()
    return {(r["role"], r["station"] or r["district"]): r["id"] for r in rows}


async def test_who_may_grant_what(api: Api) -> None:
    admin = await _setup(api)
    manager = Device(api, await api.token("mgr", "manager", station=A))
    staff = Device(api, await api.token("st", "staff", station=A))
    person = new_id()
    created = await manager.send("person.create", {
        "id": person, "name": "王芳", "phone": "13900000001", "languages": "zh,en",
        "membership": {"id": new_id(), "role": "staff", "station": A}})
    assert _outcome(created) == ("applied", None)
    refusals = {
        "manager makes a manager": (manager, {"id": new_id(), "user_id": person, "role": "manager",
                                              "station": A}, ("applied", None)),
        "manager makes a district manager": (manager, {
            "id": new_id(), "user_id": person, "role": "district_manager", "district": TIANHE},
            ("rejected", "forbidden")),
        "manager grants at another station": (manager, {
            "id": new_id(), "user_id": person, "role": "volunteer", "station": B},
            ("rejected", "forbidden")),
        "nobody changes their own memberships": (manager, {
            "id": new_id(), "user_id": "mgr", "role": "volunteer", "station": A},
            ("rejected", "forbidden")),
        "staff grants nothing": (staff, {"id": new_id(), "user_id": person, "role": "volunteer",
                                         "station": A}, ("rejected", "forbidden")),
        "a volunteer needs a station": (admin, {"id": new_id(), "user_id": person,
                                                "role": "volunteer"}, ("rejected", "invalid_args")),
        "an unknown district": (admin, {"id": new_id(), "user_id": person,
                                        "role": "district_manager", "district": "海珠区"},
                                ("rejected", "not_found")),
        "the same role twice": (admin, {"id": new_id(), "user_id": person, "role": "staff",
                                        "station": A}, ("rejected", "already_member")),
    }
    for label, (device, args, expected) in refusals.items():
        result = await device.send("membership.add", args)
        assert _outcome(result) == expected, (label, result)
        if expected[0] == "rejected":
            assert result["message"]["zh"] and result["message"]["en"], label
    assert _outcome(await staff.send("person.create", {"id": new_id(), "name": "某人"})) == (
        "rejected", "forbidden")
    # Districts: made by station.create, by an admin, never by a manager.
    assert _outcome(await manager.send("district.create", {"name": "海珠区"})) == ("rejected", "forbidden")
    assert _outcome(await admin.send("district.create", {"name": "海珠区"})) == ("applied", None)
    assert _outcome(await admin.send("district.create", {"name": TIANHE})) == ("rejected", "already_exists")
    seen = await fresh_snapshot(api, manager.token)
    assert {("district", d) for d in (TIANHE, YUEXIU, "海珠区")} <= set(seen)  # public
    # The console's list: the station's memberships, with the person's details (phone for managers).
    mine = [r for (t, _), r in seen.items() if t == "membership" and r["user_id"] == person]
    assert sorted(r["role"] for r in mine) == ["manager", "staff"]
    assert {(r["name"], r["phone"], r["languages"], r["station"], r["district"]) for r in mine} == {
        ("王芳", "13900000001", "zh,en", A, TIANHE)}
    # A staff member sees no memberships but their own.
    staff_view = await fresh_snapshot(api, staff.token)
    assert {r["user_id"] for (t, _), r in staff_view.items() if t == "membership"} == {"st"}
    # person.update rewrites every membership record of the person.
    updated = await manager.send("person.update", {"id": person, "fields": {"name": "王芳芳"}})
    assert _outcome(updated) == ("applied", None)
    seen = await fresh_snapshot(api, manager.token)
    assert {r["name"] for (t, _), r in seen.items() if t == "membership" and r["user_id"] == person} == {"王芳芳"}


async def test_last_admin_cannot_step_down(api: Api) -> None:
    admin = await _setup(api)
    (own,) = (await _membership_ids(api, "admin")).values()
    refused = await admin.send("membership.end", {"id": own})
    assert _outcome(refused) == ("rejected", "last_admin")
    assert "管理员" in refused["message"]["zh"] and "administrator" in refused["message"]["en"]
    second = Device(api, await api.token("admin2", "admin"))
    assert _outcome(await admin.send("membership.end", {"id": own})) == ("applied", None)
    # The first admin's token now holds no membership at all.
    response = await pull_page(api, admin.token, admin.client_id)
    assert response.status_code == 403 and response.json()["code"] == "no_membership"
    (theirs,) = (await _membership_ids(api, "admin2")).values()
    assert _outcome(await second.send("membership.end", {"id": theirs})) == ("rejected", "last_admin")


async def test_a_removed_staff_member_stops_pulling_and_writing_at_the_next_request(api: Api) -> None:
    admin = await _setup(api)
    manager = Device(api, await api.token("mgr", "manager", station=A))
    staff = Device(api, await api.token("st", "staff", station=A))
    donation = new_id()
    gift = {"id": donation, "station": A, "kind": "money", "amount_fen": 5_000, "method": "cash",
            "direction": "undirected", "donor": {"name": "张三", "wants_receipt": False}}
    await campaign_at(admin, A, TIANHE)
    assert (await admin.send("donation.record", gift))["status"] in ("applied", "flagged")
    await staff.pull()
    assert ("donation", donation) in staff.replica
    ids = await _membership_ids(api, "st")
    assert _outcome(await manager.send("membership.end", {"id": ids[("staff", A)]})) == ("applied", None)
    assert _outcome(await manager.send("membership.add", {
        "id": new_id(), "user_id": "st", "role": "volunteer", "station": A})) == ("applied", None)
    # Next pull: the grant changed, so the replica is replaced without the donation.
    page = (await pull_page(api, staff.token, staff.client_id, staff.cursor)).json()
    assert page["reset"] is True
    await staff.pull()
    assert ("donation", donation) not in staff.replica
    refused = await staff.send("donation.record", {**gift, "id": new_id()})
    assert _outcome(refused) == ("rejected", "forbidden")
    # Without any membership, every request is refused.
    ids = await _membership_ids(api, "st")
    assert _outcome(await manager.send("membership.end", {"id": ids[("volunteer", A)]})) == ("applied", None)
    response = await pull_page(api, staff.token, staff.client_id, staff.cursor)
    assert response.status_code == 403
    body = response.json()
    assert body["code"] == "no_membership" and body["message"]["zh"] and body["message"]["en"]


async def test_staff_at_one_station_who_volunteers_at_another_sees_each_as_that_role(api: Api) -> None:
    admin = await _setup(api)
    person = Device(api, await api.token("multi", "staff", station=A))
    assert _outcome(await admin.send("membership.add", {
        "id": new_id(), "user_id": "multi", "role": "volunteer", "station": B})) == ("applied", None)
    gifts = {s: new_id() for s in (A, B)}
    activities = {s: new_id() for s in (A, B)}
    events = {s: new_id() for s in (A, B)}
    for station, district in ((A, TIANHE), (B, YUEXIU)):
        await campaign_at(admin, station, district)
    for station in (A, B):
        assert (await admin.send("donation.record", {
            "id": gifts[station], "station": station, "kind": "money", "amount_fen": 1_000,
            "method": "cash", "direction": "undirected",
            "donor": {"anonymous": True, "wants_receipt": False}}))["status"] in ("applied", "flagged")
        assert (await admin.send("activity.create", {
            "id": activities[station], "station": station, "title": "探访", "date": "2026-11-26",
            "service_type": "elder_care"}))["status"] == "applied"
        assert (await admin.send("event.create", event_args(events[station], station)))[
            "status"] == "applied"
    seen = await fresh_snapshot(api, person.token)
    assert ("donation", gifts[A]) in seen and ("donation", gifts[B]) not in seen
    assert ("service_activity", activities[A]) in seen and ("service_activity", activities[B]) in seen
    # Writes count the rank at the place: staff at A, only a volunteer at B.
    assert (await person.send("event.create", event_args(new_id(), A)))["status"] == "applied"
    assert _outcome(await person.send("event.create", event_args(new_id(), B))) == (
        "rejected", "forbidden")
    me = (await api.http.get("/api/v1/me", headers=api.auth(person.token))).json()
    assert me["role"] == "staff" and me["station"] == A
    assert sorted((m["role"], m["station"]) for m in me["memberships"]) == [
        ("staff", A), ("volunteer", B)]


async def test_exports_and_funds_follow_every_membership_at_its_own_rank(api: Api) -> None:
    """A staff member at A who manages B exports B's gifts (not A's), and may set up a
    project for B's fund but not for A's: each place counts at the rank held there."""
    admin = await _setup(api)
    person = Device(api, await api.token("two-hats", "staff", station=A))
    assert _outcome(await admin.send("membership.add", {
        "id": new_id(), "user_id": "two-hats", "role": "manager", "station": B})) == ("applied", None)
    funds = {s: new_id() for s in (A, B)}
    gifts = {s: new_id() for s in (A, B)}
    for station, district in ((A, TIANHE), (B, YUEXIU)):
        assert (await admin.send("fund.create", {
            "id": funds[station], "name": f"{station} 社区基金", "district": district,
            "station": station}))["status"] == "applied"
        await campaign_at(admin, station, district, funds[station])
        assert (await admin.send("donation.record", {
            "id": gifts[station], "station": station, "kind": "money", "amount_fen": 2_000,
            "method": "cash", "direction": "undirected",
            "donor": {"anonymous": True, "wants_receipt": False}}))["status"] in ("applied", "flagged")
    csv = await api.http.get("/api/v1/exports/donations.csv", headers=api.auth(person.token))
    assert csv.status_code == 200, csv.text
    assert gifts[B] in csv.text and gifts[A] not in csv.text
    statement = await api.http.get(f"/api/v1/exports/funds/{funds[B]}/statement.csv",
                                   headers=api.auth(person.token))
    assert statement.status_code == 200
    refused = await api.http.get(f"/api/v1/exports/funds/{funds[A]}/statement.csv",
                                 headers=api.auth(person.token))
    assert refused.status_code == 403
    assert _outcome(await person.send("project.create", {
        "id": new_id(), "fund_id": funds[B], "name": "助老"})) == ("applied", None)
    assert _outcome(await person.send("project.create", {
        "id": new_id(), "fund_id": funds[A], "name": "助学"})) == ("rejected", "forbidden")
    # managing both stations: both stations' gifts (one headline role would give one)
    both = Device(api, await api.token("both-hats", "manager", station=A))
    assert _outcome(await admin.send("membership.add", {
        "id": new_id(), "user_id": "both-hats", "role": "manager", "station": B})) == ("applied", None)
    csv = await api.http.get("/api/v1/exports/donations.csv", headers=api.auth(both.token))
    assert gifts[A] in csv.text and gifts[B] in csv.text
