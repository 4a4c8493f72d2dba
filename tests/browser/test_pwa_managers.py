"""Managers on their phones (issue 18): a disbursement waiting for approval, then for
payment, reaches the inbox of the person who may act, and leaves it once done; a paid
disbursement stays in a "done" history; notes typed on two offline phones are both kept
and merged on the review screen, after which nothing about them lingers; empty alert
lines show the server's default figure. SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Phone, Server
from tests.browser.steps import back_online, edit_event, enrol_phone, open_campaign
from tests.helpers import mutation

SHOTS = Path("/work/wt/shots/h18-managers")
BOTH = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def shot(phone: Phone, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    phone.page.screenshot(path=str(SHOTS / f"{name}.png"))  # the phone's 360x740 screen


def push_as(server: Server, token: str, name: str, args: dict[str, Any]) -> dict[str, Any]:
    answer = server.http.post("/api/v1/sync/push", headers={"Authorization": f"Bearer {token}"}, json={
        "protocol": 1, "client_id": str(uuid.uuid4()), "mutations": [mutation(1, name, args)]})
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()["results"][0]
    return result


@pytest.mark.parametrize("server", BOTH, indirect=True)
def test_disbursement_chain_reaches_the_inbox_and_leaves_a_history(phones: Any, server: Server) -> None:
    station = "MG-001"
    server.station(station)
    fund_id, project_id = str(uuid.uuid4()), str(uuid.uuid4())
    server.push("fund.create", {"id": fund_id, "name": "石牌社区基金", "district": "天河区",
                                "station": station, "purpose": "社区帮扶"})
    server.push("project.create", {"id": project_id, "fund_id": fund_id, "name": "耆乐安居"})
    open_campaign(server, station, [fund_id])
    server.push("fund.seed", {"id": str(uuid.uuid4()), "fund_id": fund_id, "amount_fen": 2_000_000,
                              "note": "种子资金"})
    approver = enrol_phone(phones, server, "approver", "dm-li", "district_manager", district="天河区")
    payer = enrol_phone(phones, server, "payer", "dm-wang", "district_manager", district="天河区")

    # Someone else asks for money (a third district manager, through the API).
    requester = server.token("dm-zhang", "district_manager", district="天河区")
    disbursement_id = str(uuid.uuid4())
    asked = push_as(server, requester, "disbursement.request", {
        "id": disbursement_id, "fund_id": fund_id, "project_id": project_id, "amount_fen": 800_000,
        "payee": "耆乐安居服务队", "purpose": "上门适老化改造"})
    assert asked["status"] == "applied", asked

    # The approver's inbox says so, in words, with the figure and the fund.
    expect(approver.page.get_by_test_id("badge-inbox")).to_have_text("1")
    approver.go("/inbox")
    item = approver.page.get_by_test_id("inbox-item").filter(has_text="拨付申请待审批")
    expect(item).to_have_count(1)
    expect(item).to_contain_text("¥8,000.00")
    expect(item).to_contain_text("石牌社区基金")
    shot(approver, "01-inbox-disbursement-waiting-approval")
    item.get_by_role("button").first.click()  # opens the fund screen, marks it read
    approver.page.wait_for_url(f"**/#/funds/{fund_id}")
    row = approver.page.get_by_test_id("disbursement").filter(has_text="耆乐安居服务队")
    row.get_by_test_id("approve-disbursement").click()
    approver.wait_synced()

    # Now the third person hears it: approved, waiting for payment.
    expect(payer.page.get_by_test_id("badge-inbox")).to_have_text("1")
    payer.go("/inbox")
    pay_item = payer.page.get_by_test_id("inbox-item").filter(has_text="拨付已批准,待付款")
    expect(pay_item).to_have_count(1)
    expect(pay_item).to_contain_text("dm-li")
    shot(payer, "02-inbox-disbursement-waiting-payment")
    # The approver's request notification moved to "done" (its approval is settled).
    approver.go("/inbox")
    done = approver.page.get_by_test_id("inbox-done")
    expect(done).to_contain_text("已处理(1)")
    expect(approver.page.locator("[data-testid=inbox-item][data-unread='1']")).to_have_count(0)

    pay_item.get_by_role("button").first.click()
    payer.page.wait_for_url(f"**/#/funds/{fund_id}")
    payer.page.get_by_test_id("disbursements").get_by_role("button", name="付款…").click()
    payer.page.locator("input[name=reference]").fill("工行转账 0042")
    payer.page.get_by_test_id("pay-disbursement").click()
    payer.wait_synced()
    server.wait_for(lambda: server.records("disbursement")[disbursement_id]["status"] == "paid",
                    "the payment", page=payer.page)

    # Paid: no longer open, but kept in the "done" history, not gone ("拨付申请(0)" and nothing).
    section = payer.page.get_by_test_id("disbursements")
    expect(section.get_by_role("heading")).to_have_text("拨付申请(0)")
    history = payer.page.get_by_test_id("disbursements-done")
    expect(history).to_contain_text("已完成(")  # (other tests' payments share the server)
    history.locator("summary").click()
    paid = history.get_by_test_id("disbursement-done").filter(has_text="石牌社区基金")
    expect(paid).to_have_count(1)
    expect(paid).to_have_attribute("data-status", "paid")
    expect(paid).to_contain_text("¥8,000.00")
    expect(paid).to_contain_text("工行转账 0042")
    expect(paid).to_contain_text("dm-wang")
    paid.scroll_into_view_if_needed()
    shot(payer, "03-funds-disbursement-history")
    payer.go("/inbox")
    # Both asked the payer to act (approve, then pay); both are settled now.
    expect(payer.page.get_by_test_id("inbox-done")).to_contain_text("已处理(2)")
    expect(payer.page.get_by_test_id("badge-inbox")).to_have_count(0)
    payer.page.get_by_test_id("inbox-done").locator("summary").click()
    shot(payer, "04-inbox-done")

    # English speaks English.
    payer.page.get_by_role("button", name="EN").click()
    expect(payer.page.get_by_test_id("inbox-done")).to_contain_text("Done (2)")
    expect(payer.page.get_by_test_id("inbox-item").first).to_contain_text("Disbursement approved, waiting for payment")
    shot(payer, "05-inbox-done-en")
    payer.page.get_by_role("button", name="中文").click()

    # The alert lines show the default they fall back to, not just "系统默认".
    approver.go("/inbox/prefs")
    donation_line = approver.page.get_by_test_id(f"line-donation-{station}").locator("input")
    expect(donation_line).to_have_attribute("placeholder", "系统默认 ¥5,000")
    fund_line = approver.page.get_by_test_id(f"line-fund-{fund_id}").locator("input")
    expect(fund_line).to_have_attribute("placeholder", "系统默认 ¥1,000")
    fund_line.scroll_into_view_if_needed()
    shot(approver, "06-prefs-default-lines")


@pytest.mark.parametrize("server", BOTH, indirect=True)
def test_notes_from_two_offline_phones_are_kept_merged_and_then_nothing_lingers(
    phones: Any, server: Server,
) -> None:
    station = "MN-001"
    server.station(station)
    event_id = server.event(station, "冬衣募集", date="2026-12-10", notes="")
    staff = enrol_phone(phones, server, "staff", "staff-mn", "staff", station=station)
    manager = enrol_phone(phones, server, "manager", "mgr-mn", "manager", station=station)
    for phone in (staff, manager):
        expect(phone.page.get_by_test_id("event-card")).to_have_count(1)
        phone.offline(True)
    edit_event(staff, event_id, notes="带二十把折叠椅")
    edit_event(manager, event_id, notes="下午两点前搭好帐篷")
    back_online(staff, manager)

    # One text won, the other is kept in a conflict (before: silently overwritten).
    kept = server.records("event")[event_id]["notes"]
    conflicts = [c for c in server.records("conflict").values() if c["record_id"] == event_id]
    assert [c["field"] for c in conflicts] == ["notes"]
    assert {conflicts[0]["kept_value"], conflicts[0]["lost_value"]} == {"带二十把折叠椅", "下午两点前搭好帐篷"}
    assert conflicts[0]["kept_value"] == kept
    expect(manager.page.get_by_test_id("sync-alert")).to_contain_text("1 项待复核")

    # The manager's inbox: in words, with the station's name.
    expect(manager.page.get_by_test_id("badge-inbox")).to_have_text("1")
    manager.go("/inbox")
    note = manager.page.get_by_test_id("inbox-item").first
    expect(note).to_contain_text("有修改冲突待复核")
    expect(note).to_contain_text("MN-001 社工站的「修改活动」待复核:与另一台手机的修改冲突")
    expect(note).not_to_contain_text("event.update")
    expect(note).not_to_contain_text("conflict_recorded")
    shot(manager, "07-inbox-review-in-words")

    manager.go("/review")
    conflict = manager.page.get_by_test_id("conflict").filter(has_text="冬衣募集")
    expect(conflict).to_contain_text("备注")
    expect(conflict.get_by_test_id("conflict-kept")).to_have_text(kept)
    expect(manager.page.get_by_test_id("review-issue")).to_have_count(1)
    shot(manager, "08-review-notes-conflict")
    conflict.get_by_test_id("conflict-merge").click()
    merged = "带二十把折叠椅;下午两点前搭好帐篷"
    manager.page.locator("textarea[name=merged]").fill(merged)
    shot(manager, "09-review-merge-form")
    manager.page.get_by_test_id("conflict-merge-save").click()
    server.wait_for(lambda: server.records("event")[event_id]["notes"] == merged, "the merged notes",
                    page=manager.page)

    # Nothing lingers: the held submission left the list, the banner and the inbox.
    expect(manager.page.locator("[data-testid=conflict][data-status=merged]")).to_have_count(1)
    manager.wait_synced()
    manager.go("/review")
    expect(manager.page.get_by_text("被拒绝与待复核的提交(0)")).to_be_visible()
    expect(manager.page.get_by_test_id("review-handled")).to_contain_text("已处理的提交(1)")
    expect(manager.page.get_by_test_id("sync-alert")).to_have_count(0)
    shot(manager, "10-review-after-merge")
    manager.go("/inbox")
    expect(manager.page.get_by_test_id("inbox-done")).to_contain_text("已处理(1)")
    expect(manager.page.get_by_test_id("badge-inbox")).to_have_count(0)
    staff.go(f"/events/{event_id}")
    expect(staff.page.get_by_test_id("event-notes")).to_have_text(merged)
