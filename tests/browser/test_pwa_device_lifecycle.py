"""A phone's life after enrolment: reported lost (wiped at its next contact), signed out
(delivered first, then forgotten), re-enrolled with donations still queued (all delivered,
receipts check out), and the app lock."""

from __future__ import annotations

import sqlite3
from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import Phone, Server
from tests.browser.steps import (
    PIN,
    enrol_by_link,
    make_code,
    person,
    record_money,
    setup_station,
    wait_for_series,
    wide_shot,
)

STORES_EMPTY = """async () => {
  const db = await new Promise((ok, bad) => { const r = indexedDB.open('charity'); r.onsuccess = () => ok(r.result); r.onerror = bad; });
  const count = (name) => new Promise((ok) => { const r = db.transaction(name).objectStore(name).count(); r.onsuccess = () => ok(r.result); });
  const token = await new Promise((ok) => { const r = db.transaction('meta').objectStore('meta').get('token'); r.onsuccess = () => ok(r.result ?? null); });
  const out = { outbox: await count('outbox'), replica: await count('replica'), outcomes: await count('outcomes'), token };
  db.close();
  return out;
}"""


def phone_device(server: Server, user: str) -> dict[str, Any]:
    """The device the phone enrolled (the CLI's token, used to make the person, has no name)."""
    listed = server.http.get("/api/v1/devices", params={"person": user},
                             headers={"Authorization": f"Bearer {server.admin}"}).json()
    found: dict[str, Any] = next(d for d in listed if d["name"])
    return found


def revoke(server: Server, token_id: str, mode: str) -> None:
    answer = server.http.post(f"/api/v1/devices/{token_id}/revoke", json={"mode": mode},
                              headers={"Authorization": f"Bearer {server.admin}"})
    assert answer.status_code == 200, answer.text


def offline_event(phone: Phone, title: str) -> None:
    page = phone.page
    phone.go("/events/new")
    page.locator("input[name=title]").fill(title)
    page.locator("input[name=date]").fill("2026-12-21")
    page.get_by_test_id("save-event").click()
    expect(page.get_by_test_id("event-title")).to_have_text(title)


def enrolled_staff(phones: Any, server: Server, station: str, user: str) -> Phone:
    server.station(station)
    person(server, user, "staff", station)
    phone: Phone = phones(user)
    phone.page.goto("/")
    enrol_by_link(phone, make_code(server, user)["secret"])
    return phone


def test_lost_phone_is_wiped_at_next_contact(phones: Any, server: Server) -> None:
    event_id, _ = setup_station(server, "LC-001")
    person(server, "lost-staff", "staff", "LC-001")
    phone: Phone = phones("lost")
    enrol_by_link(phone, make_code(server, "lost-staff")["secret"])
    wait_for_series(phone)
    phone.offline(True)
    record_money(phone, event_id, "50", donor="赵先生")
    assert phone.pending() >= 1
    phone.go("/events")
    token_id = phone_device(server, "lost-staff")["token_id"]
    revoke(server, token_id, "lost")
    phone.offline(False)
    page = phone.page
    expect(page.get_by_test_id("enrol-notice")).to_have_attribute("data-code", "device_wiped")
    expect(page.get_by_test_id("enrol-notice")).to_contain_text("挂失")
    assert page.evaluate(STORES_EMPTY) == {"outbox": 0, "replica": 0, "outcomes": 0, "token": None}
    assert "赵先生" not in page.content()
    phone.shot("77-wiped")
    wide_shot(phone, "77-wiped")


def test_sign_out_delivers_first(phones: Any, server: Server) -> None:
    phone = enrolled_staff(phones, server, "LC-002", "out-staff")
    page = phone.page
    token_id = phone_device(server, "out-staff")["token_id"]
    phone.offline(True)
    offline_event(phone, "退出前离线建的活动")
    phone.go("/me")
    page.get_by_test_id("signout-button").click()
    page.get_by_test_id("signout-confirm").click()
    expect(page.get_by_test_id("signout-left")).to_contain_text("1 条")  # warned, nothing lost
    phone.shot("78-signout-left")
    wide_shot(phone, "78-signout-left")
    assert page.evaluate(STORES_EMPTY)["outbox"] == 1
    phone.offline(False)
    page.get_by_role("button", name="再试一次").click()
    expect(page.get_by_test_id("enrol-notice")).to_have_attribute("data-code", "signed_out")
    assert page.evaluate(STORES_EMPTY) == {"outbox": 0, "replica": 0, "outcomes": 0, "token": None}
    assert "退出前离线建的活动" in [e["title"] for e in server.records("event").values()]
    assert phone_device(server, "out-staff")["revoke_reason"] == "signed_out"
    assert phone_device(server, "out-staff")["token_id"] == token_id


def test_console_sign_out_request(phones: Any, server: Server) -> None:
    phone = enrolled_staff(phones, server, "LC-003", "asked-staff")
    token_id = phone_device(server, "asked-staff")["token_id"]
    phone.offline(True)
    offline_event(phone, "被要求退出前的活动")
    revoke(server, token_id, "sign_out")
    phone.offline(False)  # the next pull says sign_out: deliver, then sign out
    expect(phone.page.get_by_test_id("enrol-notice")).to_have_attribute("data-code", "signed_out_by_console")
    assert "被要求退出前的活动" in [e["title"] for e in server.records("event").values()]
    assert phone.page.evaluate(STORES_EMPTY)["token"] is None


def test_reenrol_keeps_queued_donations(phones: Any, server: Server) -> None:
    event_id, _ = setup_station(server, "LC-004")
    person(server, "re-staff", "staff", "LC-004")
    phone: Phone = phones("reenrol")
    page = phone.page
    enrol_by_link(phone, make_code(server, "re-staff")["secret"])
    wait_for_series(phone)
    old = phone_device(server, "re-staff")
    phone.offline(True)
    receipts = [record_money(phone, event_id, yuan) for yuan in ("20", "30")]
    # 60 idle days pass: the token now answers 401 device_expired.
    with sqlite3.connect(server.proc.database_url.removeprefix("sqlite:///")) as db:
        db.execute("UPDATE device_tokens SET last_seen_at = '2000-01-01T00:00:00.000000Z', "
                   "created_at = '2000-01-01T00:00:00.000000Z' WHERE id = ?", (old["token_id"],))
    phone.offline(False)
    phone.go("/events")
    expect(page.get_by_test_id("sync-state")).to_contain_text("太久未使用")
    assert page.evaluate(STORES_EMPTY)["outbox"] >= 2  # kept
    page.goto(f"/#/enrol?code={make_code(server, 're-staff')['secret']}")
    expect(page.get_by_test_id("enrol-replace-who")).to_contain_text("re-staff")
    page.get_by_test_id("enrol-replace-go").click()
    page.wait_for_url("**/#/events")
    phone.wait_synced()
    for number, code in receipts:
        checked = server.http.get(f"/api/v1/public/receipts/{number}", params={"code": code})
        assert checked.status_code == 200, (number, checked.text)
    assert [d["device_id"] for d in server.http.get(
        "/api/v1/devices", params={"person": "re-staff"},
        headers={"Authorization": f"Bearer {server.admin}"}).json() if d["name"]] == [old["device_id"]] * 2


def test_app_lock(phones: Any, server: Server) -> None:
    server.station("LC-005")
    person(server, "lock-staff", "staff", "LC-005")
    server.event("LC-005", "只有解锁后才看得到的活动")
    phone: Phone = phones("lock")
    page = phone.page
    phone.context.add_init_script("localStorage.setItem('charity.lock_idle_ms', '1500')")
    enrol_by_link(phone, make_code(server, "lock-staff")["secret"])
    expect(page.get_by_test_id("event-card")).to_have_count(1)
    page.wait_for_timeout(2500)  # idle
    lock = page.get_by_test_id("lock-screen")
    expect(lock).to_be_visible()
    html = page.content()
    for private in ("lock-staff", "只有解锁后才看得到的活动", "LC-005"):
        assert private not in html, private
    phone.shot("79-locked")
    wide_shot(phone, "79-locked")
    for attempt in range(1, 3):
        page.get_by_test_id("lock-pin").fill("1111")
        page.get_by_test_id("lock-unlock").click()
        expect(page.get_by_test_id("lock-message")).to_contain_text(f"第 {attempt} 次")
    page.get_by_test_id("lock-pin").fill(PIN)
    page.get_by_test_id("lock-unlock").click()
    expect(page.get_by_test_id("event-card")).to_have_count(1)
    page.reload()  # a start locks too
    expect(page.get_by_test_id("lock-screen")).to_be_visible()
    page.get_by_test_id("lock-pin").fill(PIN)
    page.get_by_test_id("lock-unlock").click()
    expect(lock).to_have_count(0)
    stored = page.evaluate("""async () => {
      const db = await new Promise((ok) => { const r = indexedDB.open('charity'); r.onsuccess = () => ok(r.result); });
      return new Promise((ok) => { const r = db.transaction('meta').objectStore('meta').get('pin'); r.onsuccess = () => ok(r.result); });
    }""")
    assert set(stored) == {"salt", "hash", "iterations"} and PIN not in str(stored)
