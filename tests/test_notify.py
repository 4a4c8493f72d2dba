"""Notifications: triggers -> outbox -> inbox records and Web Push, against a push
service on loopback that verifies VAPID and decrypts the payload (tests/pushservice.py).

Domain events are emitted by a test-only mutation (``test.emit``), as the donation
and Time Bank modules will emit them; time is moved by handing ``now`` to the
background task's round instead of waiting.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import itertools
from collections.abc import AsyncIterator, Mapping
from typing import Any

import msgspec
import pytest
from sqlalchemy import func, select

from schemas.events import EVENTS
from server.app import open_state
from server.notify.sender import send_due
from server.notify.tables import notify_outbox, push_deliveries, push_subscriptions
from server.notify.vapid import key_count, rotate_key
from server.notify.worker import Notifier
from sync.errors import Rejected
from sync.timeutil import utc_now
from sync.unit import MutationContext, Tx
from tests.conftest import Api
from tests.helpers import mutation, new_id, station_args
from tests.pushservice import PushService, b64url, sent_pairs, unb64url

pytestmark = pytest.mark.anyio

SHANGHAI = dt.timezone(dt.timedelta(hours=8))


class Emit(msgspec.Struct):
    kind: str
    data: dict[str, Any]
    fail_after: bool = False


async def emit_mutator(tx: Tx, ctx: MutationContext, args: Emit) -> None:
    await tx.emit(ctx, msgspec.convert(args.data, EVENTS[args.kind]))
    if args.fail_after:
        raise Rejected("invalid_args", "测试拒绝", "refused by the test")


@dataclasses.dataclass
class Env:
    api: Api
    service: PushService
    notifier: Notifier
    admin: str
    counters: dict[str, itertools.count[int]] = dataclasses.field(default_factory=dict)
    clients: dict[str, str] = dataclasses.field(default_factory=dict)

    async def push(self, token: str, name: str, args: Mapping[str, Any], **extra: Any) -> dict[str, Any]:
        client = self.clients.setdefault(token, new_id())
        counter = self.counters.setdefault(token, itertools.count(1))
        body = (await self.api.push(token, client, [mutation(next(counter), name, dict(args))],
                                    **extra)).json()
        return body["results"][0]

    async def emit(self, kind: str, data: Mapping[str, Any], *, fail: bool = False) -> dict[str, Any]:
        return await self.push(self.admin, "test.emit", {"kind": kind, "data": dict(data),
                                                         "fail_after": fail})

    async def subscribe(self, token: str) -> dict[str, Any]:
        sub = self.service.subscription()
        response = await self.api.http.post("/api/v1/push/subscriptions", json=sub,
                                            headers=self.api.auth(token))
        assert response.status_code == 201, response.text
        return sub

    async def inbox(self, token: str) -> list[dict[str, Any]]:
        snapshot = await self.api.snapshot(token)
        return sorted((data for (kind, _), data in snapshot.items() if kind == "notification"),
                      key=lambda n: (n["created_at"], n["id"]))

    async def tick(self, now: dt.datetime | None = None) -> None:
        await self.notifier.tick(now or utc_now())

    async def count(self, table: Any, *where: Any) -> int:
        async with self.api.state.db.read() as conn:
            return int((await conn.execute(
                select(func.count()).select_from(table).where(*where))).scalar_one())


@pytest.fixture
async def env(api: Api) -> AsyncIterator[Env]:
    api.state.settings = dataclasses.replace(
        api.state.settings, push_allow_http=True, push_any_host=True, push_timeout_seconds=2,
        push_retry_base_seconds=10, notify_check_seconds=0,
    )
    api.state.registry.mutation("test.emit", 1, Emit)(emit_mutator)
    service = await PushService().start()
    notifier = Notifier(api.state)
    await notifier.open()
    admin = await api.token("admin-1", "admin")
    environment = Env(api, service, notifier, admin)
    for code, district in (("TH-001", "天河区"), ("TH-002", "天河区"), ("HZ-001", "海珠区")):
        result = await environment.push(admin, "station.create",
                                        station_args(code=code, district=district))
        assert result["status"] == "applied", result
    try:
        yield environment
    finally:
        await notifier.stop()
        await service.stop()


def donation(amount_fen: int, station: str = "TH-001", district: str = "天河区") -> dict[str, Any]:
    return {"donation_id": new_id(), "station": station, "district": district,
            "event_id": new_id(), "kind": "money", "amount_fen": amount_fen,
            "donor_display": "王女士"}


# -- VAPID keys and subscriptions ----------------------------------------------------------


async def test_vapid_key_is_made_once_served_and_rotated(env: Env) -> None:
    first = (await env.api.http.get("/api/v1/push/vapid-public-key")).json()
    again = (await env.api.http.get("/api/v1/push/vapid-public-key")).json()
    assert first == again and len(first["public_key"]) == 87  # 65 bytes, base64url
    assert await key_count(env.api.state.db) == 1
    rotated = await rotate_key(env.api.state.db)
    served = (await env.api.http.get("/api/v1/push/vapid-public-key")).json()
    assert served == {"public_key": rotated.public_key, "key_id": first["key_id"] + 1}
    assert served["public_key"] != first["public_key"]


async def test_malformed_subscriptions_are_refused_with_a_reason(env: Env) -> None:
    manager = await env.api.token("m1", "manager", station="TH-001")
    good = env.service.subscription()
    point = bytearray(unb64url(good["keys"]["p256dh"]))
    point[-1] ^= 1  # y with its parity flipped is never on the curve for that x
    bad_point = b64url(bytes(point))
    cases = [
        (b"not json", "body"),
        ({"endpoint": good["endpoint"]}, "keys"),
        ({**good, "endpoint": "ftp://push.example/x"}, "endpoint"),
        ({**good, "keys": {**good["keys"], "p256dh": "AAAA"}}, "keys.p256dh"),
        ({**good, "keys": {**good["keys"], "p256dh": bad_point}}, "keys.p256dh"),
        ({**good, "keys": {**good["keys"], "auth": "c2hvcnQ"}}, "keys.auth"),
        ({**good, "keys": {**good["keys"], "auth": "***"}}, "keys.auth"),
    ]
    for body, field in cases:
        kwargs = {"content": body} if isinstance(body, bytes) else {"json": body}
        response = await env.api.http.post("/api/v1/push/subscriptions",
                                           headers=env.api.auth(manager), **kwargs)
        assert response.status_code == 400, (body, response.text)
        error = response.json()
        assert error["code"] == "invalid_subscription" and error["field"] == field, error
        assert error["message"]["zh"] and error["message"]["en"]
    insecure = await env.api.http.post(
        "/api/v1/push/subscriptions", json=good, headers=env.api.auth(manager))
    assert insecure.status_code == 201  # http allowed in this test's settings ...
    env.api.state.settings = dataclasses.replace(env.api.state.settings, push_allow_http=False)
    refused = await env.api.http.post(
        "/api/v1/push/subscriptions", json=good, headers=env.api.auth(manager))
    assert refused.status_code == 400 and refused.json()["field"] == "endpoint"  # ... not by default
    anonymous = await env.api.http.post("/api/v1/push/subscriptions", json=good)
    assert anonymous.status_code == 401
    assert await env.count(push_subscriptions) == 1


async def test_subscription_upsert_delete_and_rotation(env: Env) -> None:
    manager = await env.api.token("m1", "manager", station="TH-001")
    sub = env.service.subscription()
    key = (await env.api.http.get("/api/v1/push/vapid-public-key")).json()
    made = await env.api.http.post("/api/v1/push/subscriptions", headers=env.api.auth(manager),
                                   json={**sub, "application_server_key": key["public_key"]})
    assert made.status_code == 201
    renewed = await env.api.http.post("/api/v1/push/subscriptions", json=sub,
                                      headers=env.api.auth(manager))
    assert renewed.status_code == 200 and renewed.json()["id"] == made.json()["id"]
    assert await env.count(push_subscriptions) == 1

    await rotate_key(env.api.state.db)
    stale = await env.api.http.post("/api/v1/push/subscriptions", headers=env.api.auth(manager),
                                    json={**sub, "application_server_key": key["public_key"]})
    assert stale.status_code == 409 and stale.json()["code"] == "vapid_key_changed"
    # a subscription from before the rotation gets no push; the inbox still gets it
    await env.emit("donation.recorded", donation(900_000))
    await env.tick()
    assert len(await env.inbox(manager)) == 1 and env.service.received == []

    removed = await env.api.http.delete("/api/v1/push/subscriptions",
                                        params={"endpoint": sub["endpoint"]},
                                        headers=env.api.auth(manager))
    assert removed.status_code == 200 and removed.json() == {"removed": 1}
    assert await env.count(push_subscriptions) == 0


# -- triggers, recipients, the payload -----------------------------------------------------


async def test_large_donation_reaches_the_right_inboxes_and_pushes(env: Env) -> None:
    m1 = await env.api.token("m1", "manager", station="TH-001")
    d1 = await env.api.token("d1", "district_manager", district="天河区")
    m_other = await env.api.token("m2", "manager", station="TH-002")
    d_other = await env.api.token("d2", "district_manager", district="海珠区")
    staff = await env.api.token("s1", "staff", station="TH-001")
    sub_m1 = await env.subscribe(m1)
    sub_d1 = await env.subscribe(d1)
    sub_other = await env.subscribe(m_other)

    small = await env.emit("donation.recorded", donation(499_999))
    big = donation(500_000)
    await env.emit("donation.recorded", big)
    assert small["status"] == "applied"
    await env.tick()

    for token in (m_other, d_other, staff):
        assert await env.inbox(token) == []
    [note] = await env.inbox(m1)
    assert note["kind"] == "donation.large" and note["read_at"] is None
    assert note["title"]["zh"] == "大额捐赠 ¥5,000.00" and "5,000.00" in note["title"]["en"]
    assert note["target"]["donation_id"] == big["donation_id"]
    assert len(await env.inbox(d1)) == 1

    assert env.service.errors == []
    [got] = env.service.for_endpoint(sub_m1["endpoint"])
    assert got.payload["id"] == note["id"] and got.payload["title"] == note["title"]
    assert got.payload["url"] == note["url"] and got.payload["kind"] == "donation.large"
    assert got.ttl == 24 * 3600 and got.urgency == "normal" and got.topic
    key = (await env.api.http.get("/api/v1/push/vapid-public-key")).json()
    assert got.vapid_key == key["public_key"]
    assert len(env.service.for_endpoint(sub_d1["endpoint"])) == 1
    assert env.service.for_endpoint(sub_other["endpoint"]) == []

    await env.tick()  # nothing new: nothing sent again
    assert len(env.service.received) == 2


async def test_station_threshold_overrides_the_default(env: Env) -> None:
    m1 = await env.api.token("m1", "manager", station="TH-001")
    m2 = await env.api.token("m2", "manager", station="TH-002")
    refused = await env.push(m2, "alert.set_donation_threshold", {"station": "TH-001", "amount_fen": 1})
    assert refused["status"] == "rejected" and refused["code"] == "forbidden"
    applied = await env.push(m1, "alert.set_donation_threshold",
                             {"station": "TH-001", "amount_fen": 10_000})
    assert applied["status"] == "applied"
    await env.emit("donation.recorded", donation(10_000))
    await env.emit("donation.recorded", donation(10_000, station="TH-002"))
    await env.tick()
    assert [n["station"] for n in await env.inbox(m1)] == ["TH-001"]
    assert await env.inbox(m2) == []
    lines = [d for (kind, _), d in (await env.api.snapshot(m1)).items() if kind == "alert_threshold"]
    assert lines and lines[0]["amount_fen"] == 10_000


async def test_a_rejected_mutation_leaves_no_notification(env: Env) -> None:
    m1 = await env.api.token("m1", "manager", station="TH-001")
    result = await env.emit("donation.recorded", donation(9_000_000), fail=True)
    assert result["status"] == "rejected"
    assert await env.count(notify_outbox) == 0
    await env.tick()
    assert await env.inbox(m1) == []


async def test_correction_goes_to_the_other_managers_not_the_requester(env: Env) -> None:
    m1 = await env.api.token("m1", "manager", station="TH-001")
    m1b = await env.api.token("m1b", "manager", station="TH-001")
    await env.emit("correction.awaiting_approval", {
        "correction_id": new_id(), "donation_id": new_id(), "station": "TH-001",
        "district": "天河区", "amount_fen": 12_345, "requested_by": "m1"})
    await env.tick()
    assert await env.inbox(m1) == []
    [note] = await env.inbox(m1b)
    assert note["kind"] == "correction.waiting" and "¥123.45" in note["body"]["zh"]


async def test_a_conflict_flagged_by_the_engine_notifies_the_station(env: Env) -> None:
    m1 = await env.api.token("m1", "manager", station="TH-001")
    staff = await env.api.token("s1", "staff", station="TH-001")
    event_id = new_id()
    await env.push(staff, "event.create", {"id": event_id, "station": "TH-001",
                                           "date": "2026-09-05", "title": "义卖"})
    await env.push(staff, "event.update", {"id": event_id, "fields": {"date": "2026-09-06"}})
    old = "0000000000000001:0000:old-phone"
    flagged = await env.push(staff, "event.update", {"id": event_id, "fields": {"date": "2026-09-07"},
                                                     "base": {"date": old}})
    assert flagged["status"] == "flagged"
    await env.tick()
    [note] = await env.inbox(m1)
    assert note["kind"] == "review.flagged" and note["target"]["issue_id"] == flagged["issue_id"]
    assert note["title"]["en"] == "An edit conflict needs review"


async def test_fund_low_once_per_day_and_per_fund_line(env: Env) -> None:
    m1 = await env.api.token("m1", "manager", station="TH-001")
    fund_id = new_id()
    change = {"fund_id": fund_id, "fund_name": "助学基金", "station": "TH-001",
              "district": "天河区", "balance_fen": 90_000, "available_fen": 90_000}
    await env.emit("fund.balance_changed", {**change, "available_fen": 150_000})  # above: quiet
    await env.emit("fund.balance_changed", change)
    await env.emit("fund.balance_changed", {**change, "available_fen": 80_000})
    now = utc_now()
    await env.tick(now)
    [note] = await env.inbox(m1)
    assert note["kind"] == "fund.low" and "¥800.00" not in note["body"]["zh"]  # the first one
    await env.emit("fund.balance_changed", {**change, "available_fen": 70_000})
    await env.tick(now + dt.timedelta(hours=25))
    assert len(await env.inbox(m1)) == 2  # still low a day later: said again

    other_fund = new_id()
    line = await env.push(m1, "alert.set_fund_low_water",
                          {"fund_id": other_fund, "station": "TH-001", "amount_fen": 5_000_000})
    assert line["status"] == "applied"
    await env.emit("fund.balance_changed", {**change, "fund_id": other_fund,
                                            "available_fen": 4_000_000})
    await env.tick(now + dt.timedelta(hours=26))
    newest = (await env.inbox(m1))[-1]
    assert newest["target"]["fund_id"] == other_fund and "¥50,000.00" in newest["body"]["zh"]


async def test_hours_waiting_too_long_remind_once(env: Env) -> None:
    m1 = await env.api.token("m1", "manager", station="TH-001")
    submitted = utc_now()
    logs = [new_id(), new_id(), new_id()]
    for log_id in logs:
        await env.emit("hours.submitted", {"log_id": log_id, "volunteer_id": "v1",
                                           "station": "TH-001", "district": "天河区",
                                           "minutes": 120, "submitted_at": submitted.isoformat()})
    await env.emit("hours.decided", {"log_id": logs[0], "station": "TH-001", "district": "天河区",
                                     "decision": "approved"})
    await env.tick(submitted + dt.timedelta(hours=47))
    assert await env.inbox(m1) == []
    await env.tick(submitted + dt.timedelta(hours=49))
    [note] = await env.inbox(m1)
    assert note["kind"] == "hours.waiting" and sorted(note["target"]["log_ids"]) == sorted(logs[1:])
    assert note["title"]["zh"] == "2 条服务时长待审批"
    await env.tick(submitted + dt.timedelta(hours=60))
    assert len(await env.inbox(m1)) == 1


async def test_a_silent_station_phone_with_unsynced_work_alerts_once_per_silence(env: Env) -> None:
    m1 = await env.api.token("m1", "manager", station="TH-001")
    phone = await env.api.token("s1", "staff", station="TH-001")
    idle = await env.api.token("s2", "staff", station="TH-001")
    client = new_id()
    assert (await env.api.push(phone, client, [], pending=3)).status_code == 200
    assert (await env.api.push(idle, new_id(), [], pending=0)).status_code == 200
    start = utc_now()
    await env.tick(start + dt.timedelta(hours=5))
    assert await env.inbox(m1) == []
    await env.tick(start + dt.timedelta(hours=7))
    [note] = await env.inbox(m1)
    assert note["kind"] == "phone.stale" and note["target"]["client_id"] == client
    assert "3" in note["body"]["zh"]
    await env.tick(start + dt.timedelta(hours=9))
    assert len(await env.inbox(m1)) == 1  # the same silence is not told twice
    assert (await env.api.push(phone, client, [], pending=2)).status_code == 200
    await env.tick(start + dt.timedelta(hours=14))
    assert len(await env.inbox(m1)) == 2  # it spoke, then fell silent again


# -- preferences ---------------------------------------------------------------------------


async def test_preferences_mute_kinds_and_stations(env: Env) -> None:
    d1 = await env.api.token("d1", "district_manager", district="天河区")
    result = await env.push(d1, "notification_prefs.set",
                            {"fields": {"muted_kinds": ["fund.low"], "stations": ["TH-002"]}})
    assert result["status"] == "applied", result
    await env.emit("donation.recorded", donation(600_000, station="TH-001"))
    await env.emit("donation.recorded", donation(600_000, station="TH-002"))
    await env.emit("fund.balance_changed", {"fund_id": new_id(), "fund_name": "f", "station": "TH-002",
                                            "district": "天河区", "balance_fen": 1, "available_fen": 1})
    await env.tick()
    assert [(n["kind"], n["station"]) for n in await env.inbox(d1)] == [("donation.large", "TH-002")]
    [prefs] = [d for (kind, _), d in (await env.api.snapshot(d1)).items()
               if kind == "notification_prefs"]
    assert prefs["muted_kinds"] == ["fund.low"] and prefs["stations"] == ["TH-002"]


async def test_quiet_hours_defer_the_push_and_reading_first_cancels_it(env: Env) -> None:
    m1 = await env.api.token("m1", "manager", station="TH-001")
    sub = await env.subscribe(m1)
    await env.push(m1, "notification_prefs.set",
                   {"fields": {"quiet_start": "22:00", "quiet_end": "07:00"}})
    night = dt.datetime(2026, 11, 25, 23, 30, tzinfo=SHANGHAI)
    morning = dt.datetime(2026, 11, 26, 7, 0, 1, tzinfo=SHANGHAI)
    await env.emit("donation.recorded", donation(700_000))
    await env.emit("donation.recorded", donation(800_000))
    await env.tick(night)
    inbox = await env.inbox(m1)
    assert len(inbox) == 2  # the inbox has them at once ...
    await env.tick(night + dt.timedelta(hours=3))
    assert env.service.received == []  # ... the push waits for the morning
    read = await env.push(m1, "notification.mark_read", {"ids": [inbox[0]["id"]]})
    assert read["status"] == "applied"
    await env.tick(morning)
    [got] = env.service.for_endpoint(sub["endpoint"])
    assert got.payload["id"] == inbox[1]["id"]  # the one read in the app is not pushed


# -- inbox mutations -----------------------------------------------------------------------


async def test_mark_read_unread_and_all_read(env: Env) -> None:
    m1 = await env.api.token("m1", "manager", station="TH-001")
    m1b = await env.api.token("m1b", "manager", station="TH-001")
    for amount in (600_000, 700_000, 800_000):
        await env.emit("donation.recorded", donation(amount))
    await env.tick()
    mine = await env.inbox(m1)
    theirs = await env.inbox(m1b)
    assert len(mine) == 3 and len(theirs) == 3
    forbidden = await env.push(m1, "notification.mark_read", {"ids": [theirs[0]["id"]]})
    assert forbidden["status"] == "rejected" and forbidden["code"] == "not_found"
    await env.push(m1, "notification.mark_read", {"ids": [mine[0]["id"], mine[1]["id"]]})
    await env.push(m1, "notification.mark_read", {"ids": [mine[1]["id"]], "read": False})
    state = {n["id"]: n["read_at"] is not None for n in await env.inbox(m1)}
    assert state == {mine[0]["id"]: True, mine[1]["id"]: False, mine[2]["id"]: False}
    assert all(n["read_at"] is None for n in await env.inbox(m1b))
    await env.push(m1, "notification.mark_all_read", {"up_to": mine[2]["created_at"]})
    assert all(n["read_at"] is not None for n in await env.inbox(m1))


# -- only public push services ----------------------------------------------------------


async def test_push_endpoints_must_be_on_a_public_push_service(env: Env) -> None:
    """Off the development setting, a subscription may not point the server at itself, the
    LAN or any other host: only FCM, Mozilla, Apple and Microsoft push hosts over https."""
    env.api.state.settings = dataclasses.replace(env.api.state.settings, push_allow_http=False,
                                                 push_any_host=False)
    manager = await env.api.token("m1", "manager", station="TH-001")
    keys = env.service.subscription()["keys"]
    refused = [
        "https://127.0.0.1:9/push/x", "https://localhost/push/x", "https://10.0.0.5/push/x",
        "https://192.168.1.20/push/x", "https://[::1]/push/x", "https://169.254.169.254/latest",
        "http://fcm.googleapis.com/fcm/send/x",  # plain http
        "https://fcm.googleapis.com.evil.example/fcm/send/x",
        "https://evil.example/fcm.googleapis.com/x", "https://user@fcm.googleapis.com/fcm/send/x",
        "https://fcm.googleapis.com:8443/fcm/send/x", "https://notpush.apple.com/x",
        env.service.subscription()["endpoint"],  # the tests' own push service on localhost
    ]
    for endpoint in refused:
        response = await env.api.http.post("/api/v1/push/subscriptions", headers=env.api.auth(
            manager), json={"endpoint": endpoint, "keys": keys})
        assert response.status_code == 400, (endpoint, response.text)
        error = response.json()
        assert error["code"] == "invalid_subscription" and error["field"] == "endpoint", error
        assert error["message"]["zh"].startswith("推送订阅无效") and error["message"]["en"]
    assert await env.count(push_subscriptions) == 0
    for endpoint in ("https://fcm.googleapis.com/fcm/send/dGVzdA:APA91b",
                     "https://updates.push.services.mozilla.com/wpush/v2/gAAAA",
                     "https://web.push.apple.com/QGt1",
                     "https://wns2-par02p.notify.windows.com/w/?token=BQYAAA"):
        response = await env.api.http.post("/api/v1/push/subscriptions", headers=env.api.auth(
            manager), json={"endpoint": endpoint, "keys": keys})
        assert response.status_code == 201, (endpoint, response.text)
    assert await env.count(push_subscriptions) == 4


async def test_the_sender_refuses_a_stored_endpoint_off_the_list(env: Env) -> None:
    """A row stored before the check (here: while the development setting was on) is never
    sent to once the setting is off; the delivery fails with the reason, not retried."""
    m1 = await env.api.token("m1", "manager", station="TH-001")
    await env.subscribe(m1)
    env.api.state.settings = dataclasses.replace(env.api.state.settings, push_any_host=False)
    await env.emit("donation.recorded", donation(600_000))
    await env.tick()
    assert env.service.received == [] and len(await env.inbox(m1)) == 1
    async with env.api.state.db.read() as conn:
        rows = (await conn.execute(select(push_deliveries.c.state, push_deliveries.c.last_error)
                                   )).all()
    assert [r.state for r in rows] == ["failed"]
    assert "not on a public push service" in rows[0].last_error


# -- the push service's answers ------------------------------------------------------------


async def test_410_removes_the_subscription(env: Env) -> None:
    m1 = await env.api.token("m1", "manager", station="TH-001")
    sub = await env.subscribe(m1)
    env.service.respond(sub["endpoint"], [(410, {})])
    await env.emit("donation.recorded", donation(600_000))
    await env.tick()
    assert len(env.service.for_endpoint(sub["endpoint"])) == 1
    assert await env.count(push_subscriptions) == 0
    assert await env.count(push_deliveries, push_deliveries.c.state == "gone") == 1
    await env.emit("donation.recorded", donation(600_000))
    await env.tick()
    assert len(env.service.received) == 1 and len(await env.inbox(m1)) == 2


async def test_503_and_429_are_retried_with_backoff_honouring_retry_after(env: Env) -> None:
    m1 = await env.api.token("m1", "manager", station="TH-001")
    sub = await env.subscribe(m1)
    env.service.respond(sub["endpoint"], [(503, {"Retry-After": "120"}), (429, {})])
    await env.emit("donation.recorded", donation(600_000))
    start = utc_now()
    await env.tick(start)
    async with env.api.state.db.read() as conn:
        row = (await conn.execute(select(push_deliveries))).mappings().one()
    assert row["state"] == "pending" and row["last_status"] == 503 and row["attempts"] == 1
    await env.tick(start + dt.timedelta(seconds=100))
    assert len(env.service.received) == 1  # Retry-After: 120 is honoured
    await env.tick(start + dt.timedelta(seconds=121))
    # the 429 has no Retry-After: backoff, 10 s doubled for the second attempt
    assert len(env.service.received) == 2
    await env.tick(start + dt.timedelta(seconds=139))
    assert len(env.service.received) == 2
    await env.tick(start + dt.timedelta(seconds=142))
    sent = env.service.for_endpoint(sub["endpoint"])
    assert [r.answered for r in sent] == [503, 429, 201]
    assert len({r.payload["id"] for r in sent}) == 1 and len({r.topic for r in sent}) == 1
    assert await env.count(push_deliveries, push_deliveries.c.state == "sent") == 1


async def test_a_send_that_times_out_is_retried(env: Env) -> None:
    m1 = await env.api.token("m1", "manager", station="TH-001")
    sub = await env.subscribe(m1)
    await env.emit("donation.recorded", donation(600_000))
    env.service.hold()
    start = utc_now()
    await env.tick(start)  # gives up after push_timeout_seconds
    env.service.release()
    async with env.api.state.db.read() as conn:
        row = (await conn.execute(select(push_deliveries))).mappings().one()
    assert row["state"] == "pending" and "Timeout" in (row["last_error"] or "")
    await env.tick(start + dt.timedelta(seconds=11))
    assert await env.count(push_deliveries, push_deliveries.c.state == "sent") == 1
    assert len(env.service.for_endpoint(sub["endpoint"])) == 2


async def test_a_restart_in_the_middle_of_draining_sends_each_notification_once(
    env: Env, database_url: str
) -> None:
    """The sender dies with sends in flight; a new server on the same database finishes the
    work. Every answered send stays sent; only the in-flight ones go again, with the
    same Topic (a push service replaces the copy it still holds)."""
    m1 = await env.api.token("m1", "manager", station="TH-001")
    subs = [await env.subscribe(m1), await env.subscribe(m1)]
    for amount in range(600_000, 612_000, 1000):
        await env.emit("donation.recorded", donation(amount))
    env.api.state.settings = dataclasses.replace(env.api.state.settings, push_concurrency=2)
    env.service.hold_after = 5  # five answered, then sends hang
    total = 12 * len(subs)
    crash = asyncio.create_task(env.notifier.tick())
    while env.service.held < 1:
        await asyncio.sleep(0.01)
    crash.cancel()  # the worker dies with a send in flight
    with pytest.raises(asyncio.CancelledError):
        await crash
    await env.notifier.stop()
    recorded = await sent_pairs(env.api.state)
    await asyncio.sleep(0.2)  # the push service sees the connections drop
    before = {(r.subscription, r.payload["id"]) for r in env.service.received}
    in_flight = {(r.subscription, r.payload["id"]) for r in env.service.received
                 if r.answered is None}
    assert len(recorded) >= 4 and len(in_flight) >= 1
    env.service.release()

    restarted = await open_state(env.api.state.settings)
    try:
        restarted.settings = env.api.state.settings
        notifier = Notifier(restarted)
        await notifier.open()
        later = utc_now() + dt.timedelta(seconds=60)  # the dead worker's claims have expired
        for _ in range(10):
            await notifier.tick(later)
        await notifier.stop()
    finally:
        await restarted.db.dispose()

    assert env.service.errors == []
    pairs = [(r.subscription, r.payload["id"]) for r in env.service.received]
    assert len(set(pairs)) == total  # every notification reached every subscription
    assert all(pairs.count(pair) == 2 for pair in in_flight)  # what was in flight went again
    repeats = {pair for pair in pairs if pairs.count(pair) > 1}
    assert not repeats & recorded  # nothing recorded as sent before the crash went again
    assert repeats <= before - recorded  # only what was on the wire when the worker died
    for pair in repeats:  # and then under the same Topic
        topics = {r.topic for r in env.service.received if (r.subscription, r.payload["id"]) == pair}
        assert len(topics) == 1
    assert await env.count(push_deliveries, push_deliveries.c.state == "sent") == total


async def test_two_workers_draining_together_send_each_push_once(env: Env) -> None:
    m1 = await env.api.token("m1", "manager", station="TH-001")
    subs = [await env.subscribe(m1) for _ in range(3)]
    for amount in range(600_000, 620_000, 1000):
        await env.emit("donation.recorded", donation(amount))
    other = await open_state(env.api.state.settings)
    try:
        other.settings = env.api.state.settings
        second = Notifier(other)
        await second.open()
        for _ in range(6):
            await asyncio.gather(env.notifier.tick(), second.tick())
        await second.stop()
    finally:
        await other.db.dispose()
    pairs = [(r.subscription, r.payload["id"]) for r in env.service.received]
    assert len(pairs) == len(set(pairs)) == 20 * len(subs)
    assert len(await env.inbox(m1)) == 20


async def test_send_due_is_quiet_when_nothing_is_due(env: Env) -> None:
    assert await send_due(env.api.state, env.notifier._session) == []  # type: ignore[arg-type]


def test_quiet_hours_with_and_without_midnight() -> None:
    from zoneinfo import ZoneInfo

    from server.notify.outbox import Prefs, quiet_until

    zone = ZoneInfo("Asia/Shanghai")
    night = Prefs(quiet_start="22:00", quiet_end="07:00")
    lunch = Prefs(quiet_start="12:00", quiet_end="13:30")
    at = dt.datetime(2026, 11, 25, 23, 0, tzinfo=SHANGHAI)
    assert quiet_until(night, at, zone) == dt.datetime(2026, 11, 26, 7, 0, tzinfo=SHANGHAI)
    early = dt.datetime(2026, 11, 26, 6, 59, tzinfo=SHANGHAI)
    assert quiet_until(night, early, zone) == dt.datetime(2026, 11, 26, 7, 0, tzinfo=SHANGHAI)
    assert quiet_until(night, dt.datetime(2026, 11, 26, 7, 0, tzinfo=SHANGHAI), zone) is None
    noon = dt.datetime(2026, 11, 26, 12, 15, tzinfo=SHANGHAI)
    assert quiet_until(lunch, noon, zone) == dt.datetime(2026, 11, 26, 13, 30, tzinfo=SHANGHAI)
    assert quiet_until(lunch, at, zone) is None
    assert quiet_until(Prefs(), at, zone) is None


def test_retry_after_in_seconds_or_as_a_date() -> None:
    from server.notify.sender import retry_after_seconds

    now = dt.datetime(2026, 11, 25, 8, 0, tzinfo=dt.UTC)
    assert retry_after_seconds("30", now) == 30
    assert retry_after_seconds("Wed, 25 Nov 2026 08:02:00 GMT", now) == 120
    assert retry_after_seconds("soon", now) is None and retry_after_seconds(None, now) is None


async def test_bad_preferences_are_rejected_naming_the_field(env: Env) -> None:
    m1 = await env.api.token("m1", "manager", station="TH-001")
    unknown = await env.push(m1, "notification_prefs.set", {"fields": {"muted_kinds": ["spam"]}})
    assert unknown["status"] == "rejected" and unknown["code"] == "invalid_args"
    assert "muted_kinds" in unknown["message"]["en"]
    hour = await env.push(m1, "notification_prefs.set", {"fields": {"quiet_start": "25:00"}})
    assert hour["status"] == "rejected" and "quiet_start" in hour["message"]["en"]
    empty = await env.push(m1, "notification_prefs.set", {"fields": {}})
    assert empty["status"] == "rejected"
