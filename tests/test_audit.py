"""The audit log (issue 13, docs/security.md): every security- or money-relevant act leaves
one row with the right actor and device; a refused mutation leaves none; the table
refuses UPDATE and DELETE; district managers read their district only; others get 403."""

from __future__ import annotations

import asyncio
import csv
import io
import logging
from typing import Any

import pytest
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import DBAPIError

from server.audit import audit_log
from server.enrol import make_first_admin_code
from tests.conftest import Api
from tests.devices import Device
from tests.donation_setup import DISTRICT, OTHER_STATION, STATION, build_world, money, phone
from tests.helpers import new_id

pytestmark = pytest.mark.anyio


async def rows(api: Api, action: str | None = None) -> list[dict[str, Any]]:
    """Audit rows (but the campaign the shared world sets up: ``build_world``)."""
    async with api.state.db.engine.connect() as conn:
        stmt = select(audit_log).where(audit_log.c.action != "campaign.create").order_by(audit_log.c.id)
        if action is not None:
            stmt = stmt.where(audit_log.c.action == action)
        return [dict(r) for r in (await conn.execute(stmt)).mappings()]


async def me(api: Api, token: str) -> dict[str, Any]:
    response = await api.http.get("/api/v1/me", headers=api.auth(token))
    assert response.status_code == 200
    return dict(response.json())


async def only(api: Api, action: str, device: Device | str) -> dict[str, Any]:
    """The one row of ``action``, checked to be by the holder of this token and device."""
    found = await rows(api, action)
    assert len(found) == 1, (action, found)
    who = await me(api, device if isinstance(device, str) else device.token)
    row = found[0]
    assert row["actor_id"] == who["user"] and row["actor_name"] == who["name"]
    assert row["token_id"] == who["token_id"] and row["device_id"] == who["device_id"]
    assert row["at"] and row["request_id"]
    return row


async def test_exports_are_audited_with_actor_device_and_request(api: Api) -> None:
    world = await build_world(api)
    manager = world.manager
    response = await api.http.get("/api/v1/exports/donations.csv", headers=api.auth(manager.token),
                                  params={"from": "2026-01-01"})
    assert response.status_code == 200
    row = await only(api, "export.donations", manager)
    assert row["request_id"] == response.headers["x-request-id"]
    assert row["client_ip"] and row["station"] == STATION and row["district"] == DISTRICT
    statement = await api.http.get(f"/api/v1/exports/funds/{world.fund_id}/statement.xlsx",
                                   headers=api.auth(world.district.token))
    assert statement.status_code == 200
    assert (await only(api, "export.fund_statement", world.district))["target_id"] == world.fund_id
    refused = await api.http.get("/api/v1/exports/donations.csv", headers=api.auth(world.staff.token))
    assert refused.status_code == 403 and len(await rows(api)) == 2  # a refusal is no export


async def test_money_acts_are_audited_in_the_mutation_and_refusals_leave_none(api: Api) -> None:
    world = await build_world(api, seed_fen=100_000)
    disbursement_id = new_id()
    assert (await world.staff.send("disbursement.request", {
        "id": disbursement_id, "fund_id": world.fund_id, "project_id": world.project_id,
        "amount_fen": 20_000, "payee": "服务队", "purpose": "改造"}))["status"] == "applied"
    own = await world.staff.send("disbursement.decide", {"id": disbursement_id, "decision": "approve"})
    assert own["status"] == "rejected"
    assert await rows(api) == []  # the refused approval left no row
    assert (await world.district.send("disbursement.decide", {
        "id": disbursement_id, "decision": "approve"}))["status"] == "applied"
    approved = await only(api, "disbursement.approve", world.district)
    assert approved["target_id"] == disbursement_id and approved["district"] == DISTRICT
    assert '"amount_fen":20000' in approved["detail"]
    assert (await world.admin.send("disbursement.pay", {
        "id": disbursement_id, "reference": "BANK-1"}))["status"] == "applied"
    paid = await only(api, "disbursement.pay", world.admin)
    assert "BANK-1" not in paid["detail"] and "服务队" not in paid["detail"]  # no free text

    p = await phone(world, "staff2")
    donation_id, correction_id = new_id(), new_id()
    await p.device.send("donation.record", money(donation_id, 100_000, fund_id=world.fund_id))
    assert (await p.device.send("donation.correct", {
        "id": correction_id, "donation_id": donation_id, "action": "correct",
        "new_amount_fen": 9_000, "reason": "小数点错位"}))["status"] == "applied"
    assert (await world.manager.send("correction.decide", {
        "id": correction_id, "decision": "approve", "note": "核对"}))["status"] == "applied"
    decided = await only(api, "correction.approve", world.manager)
    assert decided["target_id"] == correction_id and decided["station"] == STATION
    assert "核对" not in decided["detail"] and "小数点" not in decided["detail"]


async def test_role_changes_are_audited_and_a_refused_one_leaves_none(api: Api) -> None:
    world = await build_world(api)
    person = new_id()
    assert (await world.admin.send("person.create", {"id": person, "name": "王芳"}))["status"] == "applied"
    staff_try = await world.staff.send("membership.add", {
        "id": new_id(), "user_id": person, "role": "staff", "station": STATION})
    assert staff_try["status"] == "rejected" and await rows(api) == []
    membership = new_id()
    # one batch: the refused mutation's row vanishes, the applied one's stays
    result = await world.manager.push(
        world.manager.m("membership.add", {"id": new_id(), "user_id": person,
                                           "role": "manager", "station": OTHER_STATION}),
        world.manager.m("membership.add", {"id": membership, "user_id": person, "role": "staff",
                                           "station": STATION}))
    assert [o["status"] for o in result["results"]] == ["rejected", "applied"], result
    added = await only(api, "membership.add", world.manager)
    assert added["target_id"] == person and added["station"] == STATION
    assert added["district"] == DISTRICT and '"role":"staff"' in added["detail"]
    assert (await world.manager.send("membership.end", {"id": membership}))["status"] == "applied"
    assert (await only(api, "membership.end", world.manager))["target_id"] == person


async def test_devices_and_enrolment_codes_are_audited(api: Api) -> None:
    world = await build_world(api)
    person = new_id()
    assert (await world.manager.send("person.create", {
        "id": person, "name": "王芳", "membership": {"id": new_id(), "role": "staff",
                                                    "station": STATION}}))["status"] == "applied"
    code = await api.http.post("/api/v1/enrol/codes", json={"user_id": person},
                               headers=api.auth(world.manager.token))
    assert code.status_code == 201
    issued = await only(api, "enrol.code_issue", world.manager)
    assert issued["target_id"] == person and issued["district"] == DISTRICT
    assert code.json()["secret"] not in issued["detail"]
    enrolled = await api.http.post("/api/v1/enrol", json={"code": code.json()["secret"],
                                                          "device_name": "王芳的手机"})
    assert enrolled.status_code == 200
    token = enrolled.json()["token"]
    used = await only(api, "enrol.code_use", token)
    assert used["target_id"] == enrolled.json()["token_id"] and used["station"] == STATION

    victim = await me(api, token)
    asked = await api.http.post(f"/api/v1/devices/{victim['token_id']}/revoke",
                                json={"mode": "sign_out"}, headers=api.auth(world.manager.token))
    assert asked.status_code == 200
    assert (await only(api, "device.sign_out_request", world.manager))["target_id"] == victim["token_id"]
    gone = await api.http.post("/api/v1/me/sign-out", headers=api.auth(token))
    assert gone.status_code == 200
    signed_out = await rows(api, "device.sign_out")
    assert len(signed_out) == 1 and signed_out[0]["actor_id"] == person
    assert signed_out[0]["token_id"] == victim["token_id"]

    lost_token = await api.token(person, "staff", station=STATION)
    lost = await me(api, lost_token)
    cut = await api.http.post(f"/api/v1/devices/{lost['token_id']}/revoke", json={"mode": "lost"},
                              headers=api.auth(world.manager.token))
    assert cut.status_code == 200
    row = await only(api, "device.revoke_lost", world.manager)
    assert row["target_id"] == lost["token_id"] and row["district"] == DISTRICT


async def test_first_admin_setup_is_audited(api: Api) -> None:
    made = await make_first_admin_code(api.state.db, api.state.settings, fresh=True)
    issued = await rows(api, "enrol.code_issue")
    assert len(issued) == 1 and issued[0]["actor_id"] == "system"
    enrolled = await api.http.post("/api/v1/enrol", json={"code": made.secret, "device_name": "笔记本"})
    assert enrolled.status_code == 200, enrolled.text
    setup = await only(api, "admin.first_setup", enrolled.json()["token"])
    assert setup["target_id"] == setup["actor_id"] and setup["district"] is None


async def test_the_table_refuses_update_and_delete(api: Api) -> None:
    world = await build_world(api)
    await api.http.get("/api/v1/exports/donations.csv", headers=api.auth(world.manager.token))
    assert len(await rows(api)) == 1
    for statement in (update(audit_log).values(actor_name="someone else"), delete(audit_log)):
        with pytest.raises(DBAPIError, match="append-only"):
            async with api.state.db.engine.begin() as conn:
                await conn.execute(statement)
    kept = await rows(api)
    assert len(kept) == 1 and kept[0]["actor_name"] != "someone else"


async def test_readers_see_their_district_only_and_others_are_refused(api: Api) -> None:
    world = await build_world(api)
    other_manager = await api.token("mgr-yx", "manager", station=OTHER_STATION)
    for token in (world.manager.token, other_manager):
        assert (await api.http.get("/api/v1/exports/donations.csv",
                                   headers=api.auth(token))).status_code == 200
    admin = await api.http.get("/api/v1/audit", headers=api.auth(world.admin.token))
    # two exports, and the campaign the world was set up with (build_world)
    assert admin.status_code == 200 and len(admin.json()["items"]) == 3
    district = await api.http.get("/api/v1/audit", headers=api.auth(world.district.token))
    assert district.status_code == 200
    assert [i["station"] for i in district.json()["items"]] == [STATION, None]
    assert district.json()["items"][0]["action_label"]["zh"] == "导出捐赠明细"
    volunteer = await api.token("vol1", "volunteer", station=STATION)
    for token in (world.staff.token, world.manager.token, volunteer):
        for path in ("/api/v1/audit", "/api/v1/audit.csv"):
            assert (await api.http.get(path, headers=api.auth(token))).status_code == 403
    assert (await api.http.get("/api/v1/audit")).status_code == 401
    # the district manager's CSV: their rows, neutralised, and the export itself audited
    exported = await api.http.get("/api/v1/audit.csv", headers=api.auth(world.district.token))
    assert exported.status_code == 200 and exported.headers["cache-control"] == "no-store"
    lines = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert lines[0][:3] == ["编号", "时间", "操作"] and len(lines) == 4  # with campaign.create
    assert await only(api, "export.audit", world.district)


async def test_filters_and_pages(api: Api) -> None:
    world = await build_world(api)
    for _ in range(3):
        await api.http.get("/api/v1/exports/donations.csv", headers=api.auth(world.manager.token))
    await api.http.get(f"/api/v1/exports/funds/{world.fund_id}/statement.csv",
                       headers=api.auth(world.admin.token))
    admin = api.auth(world.admin.token)
    first = (await api.http.get("/api/v1/audit", headers=admin, params={"limit": 2})).json()
    assert len(first["items"]) == 2 and first["next"] is not None
    rest = (await api.http.get("/api/v1/audit", headers=admin,
                               params={"limit": 2, "before": first["next"]})).json()
    assert len(rest["items"]) == 2 and rest["next"] is not None
    last = (await api.http.get("/api/v1/audit", headers=admin,
                               params={"limit": 2, "before": rest["next"]})).json()
    assert [i["action"] for i in last["items"]] == ["campaign.create"] and last["next"] is None
    ids = [i["id"] for i in first["items"] + rest["items"]]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 4
    by_action = (await api.http.get("/api/v1/audit", headers=admin,
                                    params={"action": "export.fund_statement"})).json()["items"]
    assert [i["actor"]["id"] for i in by_action] == ["admin"]
    by_person = (await api.http.get("/api/v1/audit", headers=admin,
                                    params={"person": "mgr1"})).json()["items"]
    assert len(by_person) == 3
    future = (await api.http.get("/api/v1/audit", headers=admin,
                                 params={"from": "2099-01-01"})).json()["items"]
    assert future == []
    bad = await api.http.get("/api/v1/audit", headers=admin, params={"action": "nonsense"})
    assert bad.status_code == 400 and bad.json()["field"] == "action"
    async with api.state.db.engine.connect() as conn:
        assert (await conn.execute(select(func.count()).select_from(audit_log))).scalar() == 5  # with campaign.create


async def test_concurrent_requests_each_record_their_own_request_id(api: Api) -> None:
    """SQLite's single writer runs several requests' writes in one task: each must still
    see its own request's id and address (the writer sets the caller's context)."""
    world = await build_world(api)
    manager = api.auth(world.manager.token)
    answers = await asyncio.gather(*[
        api.http.get("/api/v1/exports/donations.csv", headers={**manager, "X-Request-ID": f"req-{i}"})
        for i in range(6)])
    assert [a.headers["x-request-id"] for a in answers] == [f"req-{i}" for i in range(6)]
    assert sorted(r["request_id"] for r in await rows(api, "export.donations")) == [
        f"req-{i}" for i in range(6)]


async def test_access_log_has_one_line_per_request_without_the_query(
        api: Api, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="server.access")
    answer = await api.http.get("/api/v1/public/receipts/R-00001", params={"code": "SECRETCODE"},
                                headers={"X-Request-ID": "trace-1"})
    assert answer.status_code == 404
    await api.http.get("/api/v1/public/signup/very-secret-link-token")
    lines = [r for r in caplog.records if r.name == "server.access"]
    assert len(lines) == 2
    first = lines[0].getMessage()
    assert first.startswith("GET /api/v1/public/receipts/R-00001 404 ") and "ms" in first
    assert "SECRETCODE" not in first and lines[0].request_id == "trace-1"
    assert "very-secret" not in lines[1].getMessage() and "/signup/***" in lines[1].getMessage()
