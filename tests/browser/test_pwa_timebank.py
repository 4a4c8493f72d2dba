"""Volunteer hours and the Time Bank on phones (docs/pwa.md, docs/timebank.md):

- a volunteer checks in offline while staff record the same session on the station phone:
  after reconnecting the manager sees the overlap side by side and keeps one; one session
  is credited (SQLite and PostgreSQL);
- two offline phones of one volunteer redeem against the same balance: the second is held
  for review and shown with its reason, the balance is right on both, later work lands;
- the service certificate downloads as a PDF in the browser.
"""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Phone, Server
from tests.browser.steps import (
    back_online,
    credit_hours,
    dismiss_sync_alert,
    enrol_phone,
    open_sync_alert,
    seed_volunteer,
)


def at(phone: Phone, moment: dt.datetime) -> None:
    """The phone's clock reads ``moment`` (timers keep running)."""
    phone.page.clock.set_fixed_time(moment)


@pytest.mark.parametrize(
    "server", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
def test_offline_check_in_and_staff_record_become_one_credited_session(phones: Any, server: Server) -> None:
    station = f"HR-{uuid.uuid4().hex[:6]}"
    seed_volunteer(server, station, "vol-li", "李志愿")
    volunteer = enrol_phone(phones, server, "volunteer", "vol-li", "volunteer", station=station)
    staff = enrol_phone(phones, server, "staff", "staff-hr", "staff", station=station)
    manager = enrol_phone(phones, server, "manager", "mgr-hr", "manager", station=station)

    start = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(hours=3)
    volunteer.go("/hours")
    expect(volunteer.page.get_by_test_id("activity-select")).to_contain_text("社区敬老探访")
    volunteer.shot("20-hours-volunteer")

    # The volunteer's phone is offline all through the session.
    volunteer.offline(True)
    at(volunteer, start)
    volunteer.page.get_by_test_id("check-in").click()
    running = volunteer.page.get_by_test_id("running-session")
    expect(running).to_contain_text("社区敬老探访")
    expect(running).to_contain_text("服务中")
    volunteer.shot("21-hours-running")
    at(volunteer, start + dt.timedelta(hours=2))
    volunteer.page.get_by_test_id("check-out").click()
    expect(volunteer.page.get_by_test_id("hour-log")).to_have_count(1)
    expect(volunteer.page.get_by_test_id("log-status")).to_have_text("待审核")
    assert volunteer.pending() == 2

    # Meanwhile the station phone records the same session (the volunteer chosen from the
    # station's volunteers).
    at(staff, start + dt.timedelta(minutes=5))
    staff.go("/hours")
    staff.page.get_by_test_id("staff-checkin-link").click()
    staff.page.get_by_test_id("volunteer-chip").filter(has_text="李志愿").click()
    staff.page.get_by_test_id("staff-check-in").click()
    expect(staff.page.get_by_test_id("staff-done")).to_contain_text("已为 李志愿 签到")
    expect(staff.page.get_by_test_id("on-duty")).to_have_count(1)
    staff.shot("22-staff-checkin")
    at(staff, start + dt.timedelta(hours=2, minutes=5))
    staff.page.get_by_test_id("staff-check-out").click()
    expect(staff.page.get_by_test_id("on-duty")).to_have_count(0)
    staff.wait_synced()

    back_online(volunteer)
    logs = {log["id"]: log for log in server.records("hour_log").values() if log["volunteer_id"] == "vol-li"}
    assert len(logs) == 2
    by_source = {log["source"]: log for log in logs.values()}
    staff_log, own_log = by_source["staff_scan"], by_source["self"]
    assert staff_log["overlaps"] == [own_log["id"]] and own_log["overlaps"] == [staff_log["id"]]
    # The volunteer's later-arriving check-in was flagged, and the phone says why.
    open_sync_alert(volunteer, "项待复核")
    expect(volunteer.page.locator('[data-testid=sync-problem][data-code=hours_overlap]')).to_contain_text("不会重复计分")
    dismiss_sync_alert(volunteer, "收起")

    # The manager sees both logs side by side and keeps the station's record.
    manager.go("/hours/review")
    item = manager.page.locator(f'[data-testid=approval][data-id="{staff_log["id"]}"]')
    expect(item.get_by_test_id("overlap-side")).to_have_count(2)
    expect(item.get_by_test_id("overlap")).to_contain_text("工作人员代签")
    expect(item.get_by_test_id("overlap")).to_contain_text("本人签到")
    manager.shot("23-approvals-overlap")
    item.get_by_test_id("keep-this").click()
    manager.wait_synced()
    server.wait_for(lambda: server.records("hour_log")[staff_log["id"]]["status"] == "approved",
                    "the approved staff log", page=manager.page)
    final = server.records("hour_log")
    assert final[own_log["id"]]["status"] == "rejected"
    assert final[staff_log["id"]]["credited_cents"] == 200  # two hours of elder care, once
    account = server.records("timebank_account")["vol:vol-li"]
    assert account["balance_cents"] == 200

    # The volunteer's phone shows one approved session, the duplicate with its reason,
    # and a balance of 2 credits with one ledger entry.
    statuses = volunteer.page.get_by_test_id("log-status")
    expect(volunteer.page.locator("[data-testid=hour-log][data-status=approved]")).to_have_count(1)
    expect(volunteer.page.locator("[data-testid=hour-log][data-status=rejected]")).to_have_count(1)
    expect(statuses).to_have_count(2)
    expect(volunteer.page.get_by_test_id("log-reason")).to_contain_text("以另一条为准")
    volunteer.shot("24-hours-decided")
    volunteer.go("/timebank")
    expect(volunteer.page.get_by_test_id("balance")).to_have_attribute("data-cents", "200")
    expect(volunteer.page.get_by_test_id("ledger-entry")).to_have_count(1)
    expect(volunteer.page.get_by_test_id("ledger-entry")).to_contain_text("+2")


def test_two_offline_phones_redeem_the_same_balance(phones: Any, server: Server) -> None:
    station = f"RD-{uuid.uuid4().hex[:6]}"
    activity = seed_volunteer(server, station, "vol-wang", "王志愿")
    credit_hours(server, activity, "vol-wang", 1)
    item = str(uuid.uuid4())
    server.push("catalogue.add", {"id": item, "station": station, "title": "免费理发一次",
                                  "kind": "service", "cost_cents": 100})
    first: Phone = phones("phone-a")
    second: Phone = phones("phone-b")
    for phone in (first, second):
        phone.enrol(server.token("vol-wang", "volunteer", station=station))
        phone.page.on("dialog", lambda dialog: dialog.accept())
        phone.go("/timebank")
        expect(phone.page.get_by_test_id("balance")).to_have_attribute("data-cents", "100")
        expect(phone.page.get_by_test_id("catalogue-item")).to_contain_text("免费理发一次")
        phone.offline(True)
    first.shot("25-timebank")

    # Both spend the same credit offline; each phone shows it at once.
    for phone in (first, second):
        phone.page.get_by_test_id("redeem").click()
        expect(phone.page.get_by_test_id("my-redemption")).to_have_count(1)
        expect(phone.page.get_by_test_id("balance")).to_have_attribute("data-cents", "0")

    back_online(first, second)

    redemptions = [r for r in server.records("redemption").values() if r["volunteer_id"] == "vol-wang"]
    assert sorted(r["status"] for r in redemptions) == ["needs_review", "requested"]
    held = next(r for r in redemptions if r["status"] == "needs_review")
    assert held["debited"] is False and held["review_reason"] == "balance_insufficient"
    assert server.records("timebank_account")["vol:vol-wang"]["balance_cents"] == 0

    # The second phone shows the outcome with its reason and what to do.
    page = second.page
    held_row = page.locator("[data-testid=my-redemption][data-status=needs_review]")
    expect(held_row.get_by_test_id("redemption-reason")).to_contain_text("积分余额不足")
    expect(held_row).to_contain_text("未扣积分")
    open_sync_alert(second, "1 项待复核")
    problem = page.locator("[data-testid=sync-problem][data-code=balance_insufficient]")
    expect(problem).to_contain_text("免费理发一次")
    expect(problem).to_contain_text("撤回")
    second.shot("26-timebank-held")
    dismiss_sync_alert(second, "收起")
    # Both phones agree on the balance and on the two redemptions.
    for phone in (first, second):
        expect(phone.page.get_by_test_id("balance")).to_have_attribute("data-cents", "0")
        expect(phone.page.get_by_test_id("my-redemption")).to_have_count(2)
    expect(first.page.locator("[data-testid=my-redemption][data-status=needs_review]")).to_have_count(1)

    # Later work still goes through: the volunteer withdraws the held request.
    held_row.get_by_test_id("withdraw").click()
    second.wait_synced()
    server.wait_for(lambda: server.records("redemption")[held["id"]]["status"] == "declined",
                    "the withdrawn redemption", page=page)
    expect(page.locator("[data-testid=my-redemption][data-status=declined]")).to_have_count(1)
    expect(first.page.locator("[data-testid=my-redemption][data-status=declined]")).to_have_count(1)
    assert server.records("timebank_account")["vol:vol-wang"]["balance_cents"] == 0

    # Staff see the remaining request and hand it over.
    staff = enrol_phone(phones, server, "staff", "staff-rd", "staff", station=station)
    staff.go("/hours/review")
    request = staff.page.locator("[data-testid=redemption-decide][data-status=requested]")
    expect(request).to_contain_text("王志愿")
    staff.shot("27-approvals-redemptions")
    request.get_by_test_id("redemption-fulfil").click()
    staff.wait_synced()
    done = next(r for r in redemptions if r["status"] == "requested")
    server.wait_for(lambda: server.records("redemption")[done["id"]]["status"] == "fulfilled",
                    "the fulfilled redemption", page=staff.page)
    expect(first.page.locator("[data-testid=my-redemption][data-status=fulfilled]")).to_have_count(1)


def test_certificate_downloads_as_pdf(phones: Any, server: Server, tmp_path: Path) -> None:
    station = f"CT-{uuid.uuid4().hex[:6]}"
    activity = seed_volunteer(server, station, "vol-zhao", "赵志愿")
    credit_hours(server, activity, "vol-zhao", 3)
    phone = enrol_phone(phones, server, "certificate", "vol-zhao", "volunteer", station=station)
    phone.go("/me")
    qr = phone.page.get_by_test_id("volunteer-qr")
    expect(qr).to_have_attribute("data-volunteer", "vol-zhao")
    qr.get_by_test_id("show-volunteer-qr").click()
    expect(qr.locator("svg")).to_be_visible()
    expect(qr.get_by_test_id("volunteer-qr-expiry")).to_contain_text("有效期至")
    phone.shot("28-me-volunteer-qr")

    phone.go("/timebank")
    expect(phone.page.get_by_test_id("balance")).to_have_attribute("data-cents", "300")
    with phone.page.expect_response("**/certificate*") as response_info, phone.page.expect_download() as download_info:
        phone.page.get_by_test_id("download-certificate").click()
    response = response_info.value
    assert response.status == 200
    assert response.headers["content-type"] == "application/pdf"
    saved = tmp_path / "certificate.pdf"
    download_info.value.save_as(saved)
    assert saved.read_bytes().startswith(b"%PDF")
    assert download_info.value.suggested_filename == "volunteer-certificate-vol-zhao.pdf"
    from pypdf import PdfReader

    first = " ".join(PdfReader(saved).pages[0].extract_text().split())
    assert "赵志愿" in first and f"{station} 社工站" in first  # the name, the station's name
    assert "出具单位" in first and "盖章" in first and "截至" in first and "None" not in first


def test_staff_scan_the_volunteers_signed_code_offline(phones: Any, server: Server) -> None:
    station = f"SC-{uuid.uuid4().hex[:6]}"
    activity = seed_volunteer(server, station, "vol-sun", "孙志愿")
    # What the volunteer's phone received with /api/v1/me and shows as its QR code.
    me = server.http.get("/api/v1/me", headers={
        "Authorization": f"Bearer {server.token('vol-sun', 'volunteer', station=station)}"}).json()
    code = me["volunteer_code"]["code"]
    staff = enrol_phone(phones, server, "scanner", "staff-sc", "staff", station=station)
    staff.go("/hours")
    staff.offline(True)
    staff.go(f"/hours/staff?vc={code}")  # the camera opened the code's link
    selected = staff.page.get_by_test_id("selected-volunteer")
    expect(selected).to_contain_text("孙志愿")
    expect(selected.get_by_test_id("scanned-code")).to_contain_text("已读取志愿者码")
    staff.shot("29-staff-scanned-code")
    staff.page.get_by_test_id("staff-check-in").click()
    expect(staff.page.get_by_test_id("staff-done")).to_contain_text("孙志愿")
    back_online(staff)
    (log,) = [log for log in server.records("hour_log").values() if log["activity_id"] == activity]
    assert (log["volunteer_id"], log["source"], log["recorded_by"]) == ("vol-sun", "staff_scan", "staff-sc")
