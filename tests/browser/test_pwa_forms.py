"""The phone's forms (docs/pwa.md "Forms"):

- a double tap never makes two records: manual hours, a new service activity and a money
  gift, each submitted twice at once while offline, queue exactly one mutation and land as
  one record on the server (and the page throws nothing);
- the args are checked against the server's JSON Schema before they are queued: an amount
  over the maximum shows the field's error and queues nothing; a valid amount above the
  large-gift line asks to confirm first;
- the phone fetches and caches the server's settings (``GET /api/v1/client-config``).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import Phone, Server, eventually
from tests.browser.steps import (
    back_online,
    enrol_phone,
    seed_volunteer,
    setup_station,
    wait_for_series,
)

QUEUED = """name => new Promise((resolve, reject) => {
  const open = indexedDB.open('charity');
  open.onerror = () => reject(open.error);
  open.onsuccess = () => {
    const all = open.result.transaction('outbox').objectStore('outbox').getAll();
    all.onsuccess = () => { resolve(all.result.filter((m) => m.name === name).length); open.result.close(); };
  };
})"""

META = """key => new Promise((resolve, reject) => {
  const open = indexedDB.open('charity');
  open.onerror = () => reject(open.error);
  open.onsuccess = () => {
    const got = open.result.transaction('meta').objectStore('meta').get(key);
    got.onsuccess = () => { resolve(got.result ?? null); open.result.close(); };
  };
})"""

DOUBLE_SUBMIT = "form => { form.requestSubmit(); form.requestSubmit(); }"


def queued(phone: Phone, name: str) -> int:
    return int(phone.page.evaluate(QUEUED, name))


def no_page_errors(phone: Phone) -> None:
    errors = [m for m in phone.messages if m.startswith("pageerror") or "Uncaught" in m]
    assert not errors, errors


def test_double_tap_on_manual_hours_and_new_activity_makes_one_record(phones: Any, server: Server) -> None:
    station = f"FT-{uuid.uuid4().hex[:6]}"
    seed_volunteer(server, station, "vol-ft", "王志愿")
    volunteer = enrol_phone(phones, server, "volunteer", "vol-ft", "volunteer", station=station)
    staff = enrol_phone(phones, server, "staff", "staff-ft", "staff", station=station)

    # Manual hours: two submits of one filled form, offline, as a double tap does.
    volunteer.go("/hours")
    page = volunteer.page
    page.get_by_text("补录时数").click()
    form = page.get_by_test_id("manual-form")
    yesterday = (dt.date.today() - dt.timedelta(days=1)).isoformat()
    form.locator("input[name=date]").fill(yesterday)
    form.locator("input[name=note]").fill("整理物资")
    volunteer.offline(True)
    form.evaluate(DOUBLE_SUBMIT)
    expect(page.get_by_test_id("form-saved")).to_be_visible()
    expect(page.get_by_test_id("manual-form")).to_be_hidden()  # closed after saving
    volunteer.shot("60-manual-hours-saved")
    assert queued(volunteer, "hours.manual") == 1
    expect(page.get_by_test_id("hour-log")).to_have_count(1)
    # reopened, the form is empty again (a third tap would be a new intent, on purpose)
    page.get_by_text("补录时数").click()
    expect(form.locator("input[name=note]")).to_have_value("")
    back_online(volunteer)
    mine = [log for log in server.records("hour_log").values() if log["volunteer_id"] == "vol-ft"]
    assert len(mine) == 1 and mine[0]["note"] == "整理物资" and mine[0]["source"] == "manual"

    # A new service activity, double-submitted from the staff check-in screen.
    staff.go("/hours/staff")
    spage = staff.page
    spage.get_by_text("新建服务活动").click()
    activity_form = spage.get_by_test_id("activity-form")
    activity_form.locator("input[name=title]").fill("周末义诊")
    staff.offline(True)
    activity_form.evaluate(DOUBLE_SUBMIT)
    expect(spage.get_by_test_id("form-saved")).to_contain_text("已新建服务活动")
    expect(activity_form).to_be_hidden()
    expect(spage.get_by_test_id("staff-activity").locator("option:checked")).to_contain_text("周末义诊")
    staff.shot("61-activity-created")
    assert queued(staff, "activity.create") == 1
    back_online(staff)
    made = [a for a in server.records("service_activity").values() if a["title"] == "周末义诊"]
    assert len(made) == 1 and made[0]["station"] == station
    no_page_errors(volunteer)
    no_page_errors(staff)


def test_donation_form_checks_the_schema_confirms_large_gifts_and_saves_once(phones: Any, server: Server) -> None:
    event_id, _ = setup_station(server, "FD-001")
    phone = enrol_phone(phones, server, "staff", "staff-fd", "staff", station="FD-001")
    wait_for_series(phone)
    page = phone.page

    # The server's settings reached the phone and are kept in IndexedDB.
    served = server.http.get("/api/v1/client-config",
                             headers={"Authorization": f"Bearer {server.admin}"}).json()
    assert served["correction_approval_threshold_fen"] == 50_000
    assert server.http.get("/api/v1/client-config").status_code == 401
    eventually(page, f"({META})('client_config').then(c => c && c.large_donation_fen)", served["large_donation_fen"])

    phone.offline(True)  # all of it works offline; nothing may leave the phone meanwhile
    phone.go("/donations")
    page.get_by_test_id("don-event").select_option(event_id)
    page.get_by_test_id("new-money").click()

    # Over the schema's maximum (100,000,000 yuan): the field says so, nothing is queued.
    page.locator("input[name=amount]").fill("100000000.01")
    page.get_by_test_id("save-donation").click()
    error = page.get_by_test_id("field-error-amount_fen")
    expect(error).to_contain_text("不能超过 ¥100,000,000.00")
    expect(page.locator("input[name=amount]")).to_have_attribute("aria-invalid", "true")
    phone.shot("62-donation-amount-too-large")
    assert queued(phone, "donation.record") == 0
    assert page.evaluate(f"({META})('receipt_counters')") in (None, {})  # no receipt number spent

    # Above the large-gift line (5,000 yuan by default): asked to confirm, nothing queued yet.
    page.locator("input[name=amount]").fill("6000")
    expect(error).to_be_hidden()
    page.get_by_test_id("save-donation").click()
    confirm = page.get_by_test_id("confirm-amount")
    expect(confirm).to_be_visible()
    expect(page.get_by_test_id("confirm-figure")).to_have_text("¥6,000.00")
    phone.shot("63-donation-confirm-large")
    assert queued(phone, "donation.record") == 0
    page.get_by_test_id("confirm-back").click()
    expect(confirm).to_be_hidden()
    expect(page.locator("input[name=amount]")).to_have_value("6000")

    # Confirmed with a double tap: one mutation, one receipt.
    page.get_by_test_id("save-donation").click()
    page.get_by_test_id("confirm-save").dblclick()
    expect(page.get_by_test_id("receipt-amount")).to_have_text("¥6,000.00")
    number = page.get_by_test_id("receipt-number").inner_text()
    assert queued(phone, "donation.record") == 1

    # A small gift needs no confirmation; a double submit of it is still one gift.
    phone.go("/donations")
    page.get_by_test_id("new-money").click()
    page.locator("input[name=amount]").fill("20")
    page.get_by_test_id("donation-form").evaluate(DOUBLE_SUBMIT)
    expect(page.get_by_test_id("receipt-amount")).to_have_text("¥20.00")
    assert queued(phone, "donation.record") == 2

    back_online(phone)
    gifts = [d for d in server.records("donation").values() if d["station"] == "FD-001"]
    assert sorted(d["amount_fen"] for d in gifts) == [2000, 600_000]
    assert number in {d["receipt_number"] for d in gifts}
    no_page_errors(phone)


def test_field_errors_read_in_english(phones: Any, server: Server) -> None:
    setup_station(server, "FE-001")
    phone = enrol_phone(phones, server, "staff", "staff-fe", "staff", station="FE-001")
    phone.page.evaluate("localStorage.setItem('charity.lang', 'en')")
    phone.page.reload()
    phone.go("/donations/new/money")
    phone.page.locator("input[name=wants-receipt]").uncheck()
    phone.page.locator("input[name=amount]").fill("100000000.01")
    phone.page.get_by_test_id("save-donation").click()
    expect(phone.page.get_by_test_id("field-error-amount_fen")).to_contain_text("must be at most ¥100,000,000.00")
    assert queued(phone, "donation.record") == 0
