"""Phones as the console sees them (docs/accounts.md), on SQLite and PostgreSQL: the device
list, lost phones (wiped, push subscriptions gone, event streams ended), sign-out, idle
expiry, and re-enrolment of a phone with queued donations."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, insert, select, update

from server.auth import issue_token
from server.notify.tables import push_subscriptions
from server.state import AppState
from sync.tables import device_tokens
from sync.timeutil import iso, utc_now
from tests.conftest import Api
from tests.devices import Device, pull_page
from tests.donation_setup import campaign_at, claim_series, code, money
from tests.helpers import mutation, new_id, station_args
from tests.serverproc import ServerProcess

pytestmark = pytest.mark.anyio

A, B = "TH-001", "YX-001"


async def _world(api: Api) -> tuple[Device, Device]:
    admin = Device(api, await api.token("admin", "admin"))
    for args in (station_args(A, "天河区", "天河一站"), station_args(B, "越秀区", "越秀一站")):
        assert (await admin.send("station.create", args))["status"] == "applied"
    manager = Device(api, await api.token("mgr", "manager", station=A))
    return admin, manager


def _refused(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == code and body["message"]["zh"] and body["message"]["en"], body


async def _devices(api: Api, token: str, **query: str) -> httpx.Response:
    return await api.http.get("/api/v1/devices", params=query, headers=api.auth(token))


async def _revoke(api: Api, token: str, token_id: str, mode: str) -> httpx.Response:
    return await api.http.post(f"/api/v1/devices/{token_id}/revoke", json={"mode": mode},
                               headers=api.auth(token))


async def test_the_device_list_shows_what_each_phone_reported(api: Api) -> None:
    _, manager = await _world(api)
    token_id, token = await issue_token(api.state.db, user="st", role="staff", station=A,
                                        district=None, name="王芳的手机", device_id=new_id())
    body = {"protocol": 1, "client_id": new_id(), "pending": 4,
            "pending_summary": {"donation.record": 3, "hours.check_in": 1},
            "mutations": [mutation(1, "event.create", {"id": new_id(), "station": A,
                                                         "date": "2026-11-26", "title": "义卖"})]}
    pushed = await api.http.post("/api/v1/sync/push", json=body,
                                 headers={**api.auth(token), "X-App-Version": "1.4.2"})
    assert pushed.status_code == 200, pushed.text
    listed = await _devices(api, manager.token, station=A)
    assert listed.status_code == 200, listed.text
    (row,) = [d for d in listed.json() if d["token_id"] == token_id]
    assert row["name"] == "王芳的手机" and row["person"] == {"id": "st", "name": "st"}
    assert row["app_version"] == "1.4.2" and row["pending_count"] == 4
    assert row["pending_summary"] == {"donation.record": 3, "hours.check_in": 1}
    assert row["roles"] == [{"id": row["roles"][0]["id"], "role": "staff", "station": A,
                             "district": "天河区"}]
    assert row["last_seen_at"] and row["revoked_at"] is None
    # A manager of another station, and staff, may not list this station's phones.
    other = await api.token("mgr-b", "manager", station=B)
    _refused(await _devices(api, other, station=A), 403, "forbidden")
    _refused(await _devices(api, token, station=A), 403, "forbidden")
    mine = await _devices(api, token)  # anyone: their own
    assert [d["token_id"] for d in mine.json()] == [token_id]
    bad = await api.http.post("/api/v1/sync/push", json={**body, "pending_summary": {"x": -1}},
                              headers=api.auth(token))
    _refused(bad, 400, "malformed_envelope")


async def test_a_lost_phone_is_wiped_and_its_push_subscriptions_deleted(api: Api) -> None:
    _, manager = await _world(api)
    token_id, token = await issue_token(api.state.db, user="st", role="staff", station=A,
                                        district=None)
    other_id, other = await issue_token(api.state.db, user="st", role="staff", station=A,
                                        district=None)
    async with api.state.db.engine.begin() as conn:
        for n, owner in enumerate((token_id, other_id)):
            await conn.execute(insert(push_subscriptions).values(
                id=new_id(), endpoint=f"https://push.example/{n}", p256dh="x", auth="y",
                user_id="st", token_id=owner, vapid_key_id=1, created_at=iso(utc_now()),
                updated_at=iso(utc_now())))
    colleague = await api.token("st-2", "staff", station=A)
    _refused(await _revoke(api, colleague, token_id, "lost"), 403, "forbidden")  # staff: no
    revoked = await _revoke(api, manager.token, token_id, "lost")
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["wiped"] is True and revoked.json()["revoke_reason"] == "lost"
    for response in (await pull_page(api, token, new_id()),
                     await api.http.get("/api/v1/me", headers=api.auth(token))):
        _refused(response, 403, "device_wiped")
    async with api.state.db.read() as conn:
        left = (await conn.execute(select(push_subscriptions.c.token_id))).scalars().all()
    assert left == [other_id]  # the person's other phone keeps its subscription
    assert (await pull_page(api, other, new_id())).status_code == 200


async def test_sign_out_from_the_console(api: Api) -> None:
    _, manager = await _world(api)
    token_id, token = await issue_token(api.state.db, user="st", role="staff", station=A,
                                        district=None)
    client = new_id()
    assert (await pull_page(api, token, client)).json()["sign_out"] is False
    asked = await _revoke(api, manager.token, token_id, "sign_out")
    assert asked.status_code == 200 and asked.json()["sign_out_requested_at"]
    page = await pull_page(api, token, client)
    assert page.status_code == 200 and page.json()["sign_out"] is True
    me = await api.http.get("/api/v1/me", headers=api.auth(token))
    assert me.json()["sign_out"] is True
    out = await api.http.post("/api/v1/me/sign-out", headers=api.auth(token))
    assert out.status_code == 200, out.text
    _refused(await pull_page(api, token, client), 403, "device_revoked")
    (row,) = [d for d in (await _devices(api, manager.token, person="st")).json()
              if d["token_id"] == token_id]
    assert row["revoke_reason"] == "signed_out" and row["revoked_at"]


async def test_a_phone_unused_for_the_idle_period_must_enrol_again(api: Api) -> None:
    await _world(api)
    token_id, token = await issue_token(api.state.db, user="st", role="staff", station=A,
                                        district=None)
    days = api.state.settings.device_idle_days
    assert days == 60
    long_ago = iso(utc_now() - dt.timedelta(days=days, hours=1))
    async with api.state.db.engine.begin() as conn:
        await conn.execute(update(device_tokens).where(device_tokens.c.id == token_id)
                           .values(last_seen_at=long_ago, created_at=long_ago))
    _refused(await pull_page(api, token, new_id()), 401, "device_expired")
    recent = iso(utc_now() - dt.timedelta(days=days - 1))
    async with api.state.db.engine.begin() as conn:
        await conn.execute(update(device_tokens).where(device_tokens.c.id == token_id)
                           .values(last_seen_at=recent))
    assert (await pull_page(api, token, new_id())).status_code == 200
    async with api.state.db.read() as conn:
        seen = (await conn.execute(select(device_tokens.c.last_seen_at).where(
            device_tokens.c.id == token_id))).scalar_one()
    assert seen > recent  # the request counted as use


async def test_a_phone_enrolled_again_delivers_its_queued_donations_with_valid_receipts(
        api: Api) -> None:
    admin, manager = await _world(api)
    await campaign_at(admin, A, "天河区")
    device_id = new_id()
    made = await manager.send("person.create", {
        "id": "st", "name": "王芳", "membership": {"id": new_id(), "role": "staff", "station": A}})
    assert made["status"] == "applied"
    _, old_token = await issue_token(api.state.db, user="st", role="staff", station=A,
                                     district=None, device_id=device_id)
    phone = Device(api, old_token)
    series = await claim_series(phone, A)
    # Offline: two donations with receipts from the series wait in the outbox ...
    receipts = [{"number": f"{series}-{n:05d}", "code": code()} for n in (1, 2)]
    queued = [phone.m("donation.record", money(new_id(), 1_000 * n, receipt=r))
              for n, r in enumerate(receipts, start=1)]
    # ... while the token lapses; the phone enrols again with its own device_id.
    async with api.state.db.engine.begin() as conn:
        await conn.execute(update(device_tokens).where(device_tokens.c.token_hash.is_not(None),
                                                       device_tokens.c.device_id == device_id)
                           .values(last_seen_at="2020-01-01T00:00:00.000Z",
                                   created_at="2020-01-01T00:00:00.000Z"))
    _refused(await api.push(old_token, phone.client_id, queued), 401, "device_expired")
    code_body = (await api.http.post("/api/v1/enrol/codes", json={"user_id": "st"},
                                     headers=api.auth(manager.token))).json()
    enrolled = await api.http.post("/api/v1/enrol", json={
        "code": code_body["secret"], "device_name": "王芳的手机", "device_id": device_id})
    assert enrolled.status_code == 200 and enrolled.json()["device_id"] == device_id
    phone.token = enrolled.json()["token"]
    body = await phone.push(*queued)  # the same client id, the same mutation ids
    # recorded, into the station's fund (its campaign raises for it)
    assert [(r["status"], r.get("code")) for r in body["results"]] == [("applied", None)] * 2, body
    for receipt in receipts:
        checked = await api.http.get(f"/api/v1/public/receipts/{receipt['number']}",
                                     params={"code": receipt["code"]})
        assert checked.status_code == 200, checked.text
    # Another person cannot take over the device id (a fresh one is handed out).
    assert (await manager.send("person.create", {"id": "st2", "name": "李雷", "membership": {
        "id": new_id(), "role": "staff", "station": A}}))["status"] == "applied"
    second = (await api.http.post("/api/v1/enrol/codes", json={"user_id": "st2"},
                                  headers=api.auth(manager.token))).json()
    stranger = await api.http.post("/api/v1/enrol", json={
        "code": second["secret"], "device_name": "李雷的手机", "device_id": device_id})
    assert stranger.status_code == 200 and stranger.json()["device_id"] != device_id
    foreign = await api.push(stranger.json()["token"], phone.client_id,
                             [mutation(3, "event.create", {"id": new_id(), "station": A,
                                                           "date": "2026-11-26", "title": "x"})])
    _refused(foreign, 403, "client_not_yours")


@pytest.mark.slow
async def test_a_lost_phones_event_stream_ends_within_seconds(
        state: AppState, database_url: str, tmp_path: Path) -> None:
    """Against a real server process (event streams need a real connection)."""
    _, manager_token = await issue_token(state.db, user="mgr", role="manager", station=A,
                                         district=None)
    token_id, token = await issue_token(state.db, user="st", role="staff", station=A,
                                        district=None)
    server = ServerProcess(database_url=database_url, data_dir=tmp_path)
    with server.start():
        async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as http:
            events: list[str] = []

            async def listen() -> float:
                async with http.stream("GET", "/api/v1/sync/events",
                                       headers={"Authorization": f"Bearer {token}"}) as stream:
                    assert stream.status_code == 200
                    async for line in stream.aiter_lines():
                        events.append(line)
                return time.monotonic()

            listener = asyncio.create_task(listen())
            for _ in range(100):
                if "event: ready" in events:
                    break
                await asyncio.sleep(0.05)
            assert "event: ready" in events, server.log()
            revoked_at = time.monotonic()
            response = await http.post(f"/api/v1/devices/{token_id}/revoke", json={"mode": "lost"},
                                       headers={"Authorization": f"Bearer {manager_token}"})
            assert response.status_code == 200, response.text
            ended_at = await asyncio.wait_for(listener, timeout=10)
            assert ended_at - revoked_at < 5, ended_at - revoked_at
            assert "event: revoked" in events
            again = await http.get("/api/v1/sync/events", headers={"Authorization": f"Bearer {token}"})
            assert again.status_code == 403 and again.json()["code"] == "device_wiped"
    async with state.db.read() as conn:
        assert (await conn.execute(select(func.count()).select_from(push_subscriptions))).scalar() == 0


