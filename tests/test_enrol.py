"""Enrolment codes, the first administrator, volunteer sign-up and its poster
(docs/accounts.md), on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from server.enrol import enrolment_codes
from tests.conftest import Api
from tests.devices import Device, fresh_snapshot
from tests.helpers import new_id, station_args
from tests.serverproc import ServerProcess

pytestmark = pytest.mark.anyio

A = "TH-001"


async def _world(api: Api) -> tuple[Device, Device, str]:
    """A station, its manager, and a person (staff there) without a phone."""
    admin = Device(api, await api.token("admin", "admin"))
    assert (await admin.send("station.create", station_args(A, "天河区", "天河一站")))["status"] == "applied"
    manager = Device(api, await api.token("mgr", "manager", station=A))
    person = new_id()
    made = await manager.send("person.create", {
        "id": person, "name": "王芳", "membership": {"id": new_id(), "role": "staff", "station": A}})
    assert made["status"] == "applied", made
    return admin, manager, person


async def _code(api: Api, token: str, user_id: str) -> httpx.Response:
    return await api.http.post("/api/v1/enrol/codes", json={"user_id": user_id},
                               headers=api.auth(token))


async def _enrol(api: Api, **body: Any) -> httpx.Response:
    return await api.http.post("/api/v1/enrol", json={"device_name": "王芳的手机", **body})


def _refused(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == code and body["message"]["zh"] and body["message"]["en"], body


async def test_a_code_is_made_exchanged_once_and_gives_a_working_token(api: Api) -> None:
    _, manager, person = await _world(api)
    response = await _code(api, manager.token, person)
    assert response.status_code == 201, response.text
    code = response.json()
    assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}", code["short_code"])
    assert code["link"].endswith(f"/#/enrol?code={code['secret']}")
    device_id = new_id()
    enrolled = await _enrol(api, code=code["secret"], device_id=device_id)
    assert enrolled.status_code == 200, enrolled.text
    body = enrolled.json()
    assert body["device_id"] == device_id and body["me"]["user"] == person
    assert body["me"]["name"] == "王芳" and body["me"]["role"] == "staff"
    seen = await fresh_snapshot(api, body["token"])
    assert ("station", A) in seen
    # Once only, whichever form is used.
    _refused(await _enrol(api, code=code["secret"]), 409, "enrol_code_used")
    _refused(await _enrol(api, short_code=code["short_code"]), 409, "enrol_code_used")


async def test_short_code_any_case_without_dash_and_refusals(api: Api) -> None:
    _, manager, person = await _world(api)
    first = (await _code(api, manager.token, person)).json()
    second = (await _code(api, manager.token, person)).json()
    # A new code revokes the person's older unused one.
    _refused(await _enrol(api, code=first["secret"]), 410, "enrol_code_revoked")
    typed = second["short_code"].replace("-", "").lower()
    enrolled = await _enrol(api, short_code=typed)
    assert enrolled.status_code == 200, enrolled.text
    _refused(await _enrol(api, short_code="ZZZZ-ZZZZ"), 404, "enrol_code_unknown")
    _refused(await _enrol(api, code="x" * 43), 404, "enrol_code_unknown")
    third = (await _code(api, manager.token, person)).json()
    async with api.state.db.engine.begin() as conn:
        await conn.execute(update(enrolment_codes).where(enrolment_codes.c.id == third["id"])
                           .values(expires_at="2020-01-01T00:00:00.000Z"))
    _refused(await _enrol(api, code=third["secret"]), 410, "enrol_code_expired")
    # Who may make codes: not staff for staff, not a stranger.
    staff = Device(api, await api.token("st", "staff", station=A))
    _refused(await _code(api, staff.token, person), 403, "forbidden")
    _refused(await _code(api, manager.token, "nobody"), 404, "not_found")
    bad = await api.http.post("/api/v1/enrol", json={"device_name": "x"})
    _refused(bad, 400, "invalid_args")


async def test_failed_attempts_are_rate_limited_per_address(api: Api) -> None:
    await _world(api)
    limit = api.state.settings.enrol_failures_per_ip
    for _ in range(limit):
        _refused(await _enrol(api, short_code="ABCD-EFGH"), 404, "enrol_code_unknown")
    limited = await _enrol(api, short_code="ABCD-EFGH")
    _refused(limited, 429, "rate_limited")
    assert 1 <= int(limited.headers["Retry-After"]) <= 600


async def test_staff_make_codes_for_their_volunteers(api: Api) -> None:
    _admin, manager, _ = await _world(api)
    staff = Device(api, await api.token("st", "staff", station=A))
    assert (await manager.send("person.create", {
        "id": "vol-1", "name": "李华", "membership": {"id": new_id(), "role": "volunteer",
                                                      "station": A}}))["status"] == "applied"
    made = await _code(api, staff.token, "vol-1")
    assert made.status_code == 201, made.text


async def test_volunteer_sign_up_from_the_station_poster(api: Api) -> None:
    from pypdf import PdfReader

    _, manager, _ = await _world(api)
    staff = Device(api, await api.token("st", "staff", station=A))
    poster = await api.http.get(f"/api/v1/stations/{A}/signup-poster.pdf", headers=api.auth(staff.token))
    assert poster.status_code == 200 and poster.headers["content-type"].startswith("application/pdf")
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(poster.content)).pages)
    assert "天河一站" in text and "扫码报名" in text
    link = (await api.http.get(f"/api/v1/stations/{A}/signup-code", headers=api.auth(staff.token))).json()
    secret = link["secret"]
    assert link["link"].endswith(f"/#/signup?code={secret}")
    public = await api.http.get(f"/api/v1/public/signup/{secret}")
    assert public.json() == {"station": {"code": A, "name": "天河一站"}}
    body = {"code": secret, "name": "赵敏", "phone": "13700000000", "consent": True,
            "device_name": "赵敏的手机"}
    _refused(await api.http.post("/api/v1/signup", json={**body, "consent": False}), 400,
             "consent_required")
    signed = await api.http.post("/api/v1/signup", json=body)
    assert signed.status_code == 200, signed.text
    me = signed.json()["me"]
    assert me["role"] == "volunteer" and me["station"] == A and me["name"] == "赵敏"
    mine = await fresh_snapshot(api, signed.json()["token"])
    assert mine[("volunteer", me["user"])]["name"] == "赵敏"  # the volunteer profile
    # Staff of the station see the new sign-up (its membership record).
    seen = await fresh_snapshot(api, manager.token)
    assert any(t == "membership" and r["user_id"] == me["user"] and r["role"] == "volunteer"
               for (t, _), r in seen.items())
    # A rotated code stops the old poster.
    rotated = await api.http.post(f"/api/v1/stations/{A}/signup-code/rotate",
                                  headers=api.auth(manager.token))
    assert rotated.status_code == 200 and rotated.json()["secret"] != secret
    _refused(await api.http.get(f"/api/v1/public/signup/{secret}"), 410, "enrol_code_revoked")
    _refused(await api.http.get(f"/api/v1/stations/{A}/signup-poster.pdf",
                                headers=api.auth(signed.json()["token"])), 403, "forbidden")


@pytest.mark.slow
def test_first_admin_through_serves_printed_link(tmp_path: Path) -> None:
    """``serve`` on an empty database prints a link (and a QR code); exchanging it makes
    the first administrator, once."""
    server = ServerProcess(database_url=f"sqlite:///{tmp_path / 'charity.db'}", data_dir=tmp_path)
    with server.start():
        log = server.log()
        match = re.search(r"(http://\S+/#/enrol\?code=(\S+))", log)
        assert match, log
        assert "▀" in log or "█" in log  # the terminal QR code
        secret = match.group(2)
        with httpx.Client(base_url=server.base_url, timeout=10) as http:
            enrolled = http.post("/api/v1/enrol", json={"code": secret, "device_name": "笔记本"})
            assert enrolled.status_code == 200, enrolled.text
            me = enrolled.json()["me"]
            assert me["role"] == "admin" and me["name"] == "管理员"
            again = http.post("/api/v1/enrol", json={"code": secret, "device_name": "另一台"})
            assert again.status_code == 409 and again.json()["code"] == "enrol_code_used"
            token = enrolled.json()["token"]
            pushed = http.post("/api/v1/sync/push", headers={"Authorization": f"Bearer {token}"},
                               json={"protocol": 1, "client_id": new_id(), "mutations": [{
                                   "id": 1, "name": "station.create", "version": 1, "key": new_id(),
                                   "hlc": "0000000000000001:0000:t",
                                   "args": station_args(A, "天河区", "天河一站")}]})
            assert pushed.json()["results"][0]["status"] == "applied", pushed.text
    # Once an administrator exists, serve prints no link.
    again = ServerProcess(database_url=f"sqlite:///{tmp_path / 'charity.db'}", data_dir=tmp_path)
    with again.start():
        assert "#/enrol?code=" not in again.log()
