"""Donations on the phone: receipt numbers issued offline from the phone's own series, the
receipt with its QR code, reprints marked as copies, totals from the local replica, a
correction waiting for a second manager, a rejected correction that does not block later
work, and 1,000 donations in the replica."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Phone, Server
from tests.browser.steps import (
    back_online,
    dismiss_sync_alert,
    edit_event,
    enrol_phone,
    record_money,
    setup_station,
    sync_problem,
    wait_for_series,
)


def test_offline_donation_keeps_its_receipt_number(phones: Any, server: Server) -> None:
    event_id, fund_id = setup_station(server, "DN-001")
    phone = enrol_phone(phones, server, "donations", "staff-dn", "staff", station="DN-001")
    page = phone.page
    series = wait_for_series(phone)
    assert series.startswith("DN-001-S")
    phone.wait_synced()

    # No network from here on, and a reload: the app starts from the precache.
    phone.offline(True)
    page.reload()
    expect(page.get_by_test_id("sync-state")).to_have_text("离线")
    phone.go("/donations")
    page.get_by_test_id("don-event").select_option(event_id)
    page.get_by_test_id("new-money").click()
    page.locator("input[name=amount]").fill("88.50")
    page.get_by_test_id("seg-method").locator("[data-value=cash]").click()
    page.get_by_test_id("seg-donor").locator("[data-value=person]").click()
    page.locator("input[name=donor-name]").fill("张三")
    page.locator("input[name=donor-phone]").fill("13800138000")
    phone.shot("20-donation-money-form")
    page.get_by_test_id("save-donation").click()

    # The receipt at once, offline: number from this phone's series, code, QR code.
    expect(page.get_by_test_id("receipt-number")).to_have_text(f"{series}-00001")
    code = page.get_by_test_id("receipt-code").inner_text()
    assert re.fullmatch(r"[A-Z2-9]{8}", code), code
    expect(page.get_by_test_id("receipt-amount")).to_have_text("¥88.50")
    expect(page.get_by_test_id("receipt-qr").locator("svg")).to_be_visible()
    phone.shot("21-receipt")
    number = f"{series}-00001"

    # It survives a reload, still offline; the totals come from the phone's own data.
    page.reload()
    expect(page.get_by_test_id("receipt-number")).to_have_text(number)
    expect(page.get_by_test_id("receipt-code")).to_have_text(code)
    phone.go("/donations")
    page.get_by_test_id("don-event").select_option(event_id)
    expect(page.get_by_test_id("total-money")).to_have_text("¥88.50")
    expect(page.get_by_test_id("total-count")).to_have_text("1 笔")
    expect(page.get_by_test_id("donation-card")).to_contain_text("张三")
    # A goods gift too, without a receipt (waived).
    page.get_by_test_id("new-goods").click()
    page.locator("input[name=item-name-0]").fill("大米")
    page.locator("input[name=item-qty-0]").fill("10")
    page.locator("input[name=item-unit-0]").fill("袋")
    page.locator("input[name=item-value-0]").fill("500")
    page.get_by_test_id("add-item").click()
    page.locator("input[name=item-name-1]").fill("食用油")
    page.locator("input[name=item-qty-1]").fill("5")
    page.locator("input[name=item-unit-1]").fill("桶")
    page.locator("input[name=item-value-1]").fill("300")
    page.locator("input[name=wants-receipt]").uncheck()
    phone.shot("22-donation-goods-form")
    page.get_by_test_id("save-donation").click()
    expect(page.get_by_test_id("donation-amount")).to_contain_text("¥800.00")
    phone.go("/donations")
    expect(page.get_by_test_id("total-goods")).to_have_text("¥800.00")
    expect(page.get_by_test_id("total-count")).to_have_text("2 笔")
    phone.shot("23-donations-offline")
    assert phone.pending() == 2
    assert not [d for d in server.records("donation").values() if d["station"] == "DN-001"]  # nothing sent yet

    # Online: it reaches the server with the same number, and the code checks out.
    back_online(phone)
    donations = {k: d for k, d in server.records("donation").items() if d["station"] == "DN-001"}
    money = [d for d in donations.values() if d["kind"] == "money"]
    assert len(money) == 1 and len(donations) == 2
    assert money[0]["receipt_number"] == number
    assert (money[0]["amount_fen"], money[0]["method"], money[0]["donor_name"]) == (8850, "cash", "张三")
    assert money[0]["event_id"] == event_id and money[0]["fund_id"] == fund_id
    assert server.records("receipt")[number]["code"] == code
    checked = server.http.get(f"/api/v1/public/receipts/{number}", params={"code": code})
    assert checked.status_code == 200 and checked.json()["current_amount_fen"] == 8850
    assert server.http.get(f"/api/v1/public/receipts/{number}", params={"code": "AAAAAAAA"}).status_code == 404
    # The QR code's address is the public check page on this server.
    page_url = f"{server.base_url}/public/receipts/{number}?code={code}"
    assert server.http.get(page_url).status_code == 200
    assert server.records("fund")[fund_id]["balance_fen"] == 8850

    # Reprint: marked as a copy on the phone, counted on the server.
    phone.go(f"/receipts/{number}")
    page.get_by_test_id("reprint").click()
    expect(page.get_by_test_id("receipt-copy")).to_be_visible()
    phone.shot("24-receipt-copy")
    server.wait_for(lambda: server.records("receipt")[number]["reprints"] == 1, "the reprint", page=page)

    # In English too.
    page.get_by_role("button", name="EN").click()
    expect(page.get_by_test_id("receipt-copy")).to_have_text("COPY 副本")
    expect(page.get_by_role("button", name="Reprint (copy)")).to_be_visible()
    phone.go("/donations")
    expect(page.get_by_test_id("total-count")).to_have_text("2 gifts")
    expect(page.get_by_role("link", name="+ Money")).to_be_visible()
    phone.shot("29-donations-en")
    page.get_by_role("button", name="中文").click()


def test_correction_waits_for_second_manager_and_rejection_does_not_block(phones: Any, server: Server) -> None:
    event_id, fund_id = setup_station(server, "DC-001")
    staff = enrol_phone(phones, server, "staff", "staff-dc", "staff", station="DC-001")
    manager = enrol_phone(phones, server, "manager", "mgr-dc", "manager", station="DC-001")
    wait_for_series(staff)
    big, _ = record_money(staff, event_id, "1000", donor="李四")
    small, _ = record_money(staff, event_id, "20")
    staff.wait_synced()
    donations = {d["receipt_number"]: d for d in server.records("donation").values()}
    big_id, small_id = donations[big]["id"], donations[small]["id"]
    page = staff.page

    # A correction above the threshold waits for a second person.
    staff.go(f"/donations/d/{big_id}")
    page.get_by_test_id("open-correction").click()
    page.get_by_test_id("correction-form").locator("[data-value=correct]").click()
    page.locator("input[name=new-amount]").fill("100")
    page.locator("input[name=reason]").fill("多记了一个零")
    expect(page.get_by_text("需另一位管理者审批")).to_be_visible()
    page.get_by_test_id("submit-correction").click()
    expect(page.get_by_test_id("correction-status")).to_have_text("等待第二人审批")
    staff.wait_synced()
    staff.shot("25-donation-correction-waiting")

    # Offline, the staff member voids the small gift, which another person voided on the
    # server meanwhile; then records one more.
    staff.offline(True)
    staff.go(f"/donations/d/{small_id}")
    page.get_by_test_id("open-correction").click()
    page.locator("input[name=reason]").fill("捐赠人要求退回")
    page.get_by_test_id("submit-correction").click()
    expect(page.get_by_test_id("donation-amount")).to_contain_text("作废")
    server.push("donation.correct", {"id": str(uuid.uuid4()), "donation_id": small_id,
                                     "action": "void", "reason": "重复记录"})
    later, _ = record_money(staff, event_id, "66")
    assert staff.pending() == 2

    back_online(staff)
    assert later in {d["receipt_number"] for d in server.records("donation").values()}
    problem = sync_problem(staff, "1 项未被接受", "already_voided")
    expect(problem.get_by_test_id("sync-reason")).to_have_text("该捐赠已作废")
    expect(problem).to_contain_text("无需再处理")
    expect(problem).to_contain_text(small)  # which gift: its receipt number
    expect(problem).to_contain_text("捐赠人要求退回")
    staff.shot("26-sync-rejected-void")
    dismiss_sync_alert(staff)

    # The manager sees it waiting from the donations tab and approves it on the funds
    # screen; both phones then show it.
    manager.page.get_by_role("link", name="捐赠").click()
    link = manager.page.get_by_test_id("funds-link")
    expect(link).to_contain_text("1 项待审批")
    manager.shot("31-donations-manager")
    link.click()
    approval = manager.page.get_by_test_id("approval")
    expect(approval).to_have_count(1)
    expect(approval).to_contain_text("多记了一个零")
    fund = manager.page.locator(f'[data-testid=fund][data-id="{fund_id}"]')
    expect(fund.get_by_test_id("fund-balance")).to_have_text("¥1,066.00")  # 1000 + 20 + 66 - 20 void
    manager.shot("27-funds-approvals")
    approval.get_by_test_id("approve-correction").click()
    expect(manager.page.get_by_test_id("approval")).to_have_count(0)
    server.wait_for(lambda: server.records("fund")[fund_id]["balance_fen"] == 16600,
                    "the approved correction in the fund", page=manager.page)
    expect(fund.get_by_test_id("fund-balance")).to_have_text("¥166.00")
    staff.go(f"/donations/d/{big_id}")
    expect(page.get_by_test_id("correction-status")).to_have_text("已生效")
    expect(page.get_by_test_id("donation-amount")).to_contain_text("¥100.00")
    staff.go("/donations")
    page.get_by_test_id("don-event").select_option(event_id)
    expect(page.get_by_test_id("total-money")).to_have_text("¥166.00")
    expect(page.get_by_test_id("total-count")).to_have_text("2 笔")


def test_thousand_donations_in_the_replica(phones: Any, server: Server) -> None:
    """A season's worth of donations: the screen reads them from IndexedDB and shows the
    totals and the newest first, the rest behind a button (a windowed list)."""
    event_id, _ = setup_station(server, "DK-001")
    phone = enrol_phone(phones, server, "thousand", "staff-dk", "staff", station="DK-001")
    page = phone.page
    page.evaluate(
        """([eventId, n]) => new Promise((resolve, reject) => {
          const open = indexedDB.open('charity');
          open.onsuccess = () => {
            const db = open.result;
            const tx = db.transaction(['replica', 'meta'], 'readwrite');
            const now = Date.now();
            for (let i = 0; i < n; i++) {
              const id = `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
              tx.objectStore('replica').put({ type: 'donation', id, data: {
                id, kind: 'money', amount_fen: 100 + i, method: 'cash', items: [], donor_anonymous: true,
                donor_name: null, donor_phone: null, donor_organisation: null, wants_receipt: false,
                public_name_consent: false, direction: 'undirected', fund_id: null, project_id: null,
                station: 'DK-001', district: '天河区', event_id: eventId, recorded_by: 'staff-dk', client_id: 'x',
                device_time: new Date(now - i * 1000).toISOString(), recorded_at: new Date(now).toISOString(),
                receipt_number: null, note: '' } });
            }
            const meta = tx.objectStore('meta');
            const rev = meta.get('replica_rev');
            rev.onsuccess = () => meta.put((rev.result || 0) + 1, 'replica_rev');
            tx.oncomplete = () => resolve(true);
            tx.onerror = () => reject(tx.error);
          };
          open.onerror = () => reject(open.error);
        })""",
        [event_id, 1000],
    )
    page.reload()
    phone.go("/donations")
    page.get_by_test_id("don-event").select_option(event_id)
    expect(page.get_by_test_id("total-count")).to_have_text("1000 笔")
    # sum(100 + i for i < 1000) = 599,500 fen
    expect(page.get_by_test_id("total-money")).to_have_text("¥5,995.00")
    expect(page.get_by_test_id("donation-card")).to_have_count(30)
    page.get_by_role("button", name="显示更早的 970 笔").click()
    # all of them on the list, only those on screen rendered (tests/browser/test_pwa_city_scale.py)
    expect(page.locator('[data-testid="don-list"].windowlist')).to_have_attribute("data-total", "1000")
    assert page.get_by_test_id("donation-card").count() < 100
    # A new donation on top of them shows at once.
    page.get_by_test_id("new-money").click()
    page.locator("input[name=amount]").fill("5")
    page.locator("input[name=wants-receipt]").uncheck()
    page.get_by_test_id("save-donation").click()
    expect(page.get_by_test_id("donation-amount")).to_contain_text("¥5.00")
    phone.go("/donations")
    expect(page.get_by_test_id("total-count")).to_have_text("1001 笔")


def shown_donations(phone: Phone, event_id: str) -> tuple[set[str], str, str, str]:
    """(donation ids on the list, money total, goods total, count) as the phone shows them."""
    phone.go("/donations")
    page = phone.page
    page.get_by_test_id("don-event").select_option(event_id)
    ids = {card.get_attribute("data-id") or "" for card in page.get_by_test_id("donation-card").all()}
    return (ids, page.get_by_test_id("total-money").inner_text(),
            page.get_by_test_id("total-goods").inner_text(), page.get_by_test_id("total-count").inner_text())


@pytest.mark.parametrize(
    "server", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
def test_two_offline_phones_record_donations_and_edit_the_event(phones: Any, server: Server) -> None:
    event_id, fund_id = setup_station(server, "DT-001")
    one = enrol_phone(phones, server, "staff-one", "staff-dt1", "staff", station="DT-001")
    two = enrol_phone(phones, server, "staff-two", "staff-dt2", "staff", station="DT-001")
    manager = enrol_phone(phones, server, "manager", "mgr-dt", "manager", station="DT-001")
    series = {wait_for_series(one), wait_for_series(two)}
    assert len(series) == 2  # each phone its own series
    for phone in (one, two):
        phone.wait_synced()
        phone.offline(True)

    # Both offline: donations at the same event, and the same field of the event edited.
    numbers = [record_money(one, event_id, "100")[0], record_money(one, event_id, "50", method="cash")[0],
               record_money(two, event_id, "30", donor="王小明")[0]]
    edit_event(one, event_id, date="2026-12-06")
    edit_event(two, event_id, date="2026-12-07", title="中华慈善日义卖(广场)")
    assert one.pending() == 3 and two.pending() == 2

    back_online(one, two)

    # The server: three donations, no duplicate, receipt numbers unique, the fund holds them.
    stored = {k: d for k, d in server.records("donation").items() if d["station"] == "DT-001"}
    assert sorted(d["receipt_number"] for d in stored.values()) == sorted(numbers)
    assert len(set(numbers)) == 3
    assert server.records("fund")[fund_id]["balance_fen"] == 18000
    # Both phones (the first learns of the second's work by an SSE poke) and the manager's
    # show the same donations and totals.
    expected = (set(stored), "¥180.00", "¥0.00", "3 笔")
    for phone in (one, two, manager):
        deadline_ok = False
        for _ in range(50):
            if shown_donations(phone, event_id) == expected:
                deadline_ok = True
                break
            phone.page.wait_for_timeout(200)
        assert deadline_ok, (phone.name, shown_donations(phone, event_id), expected)
    one.shot("28-donations-two-phones")
    event = server.records("event")[event_id]
    assert event["date"] == "2026-12-07" and event["title"] == "中华慈善日义卖(广场)"
    for phone in (one, two):
        phone.go(f"/events/{event_id}")
        expect(phone.page.get_by_test_id("event-date")).to_contain_text("2026-12-07")

    # The manager's review screen shows the event's conflict with both dates.
    manager.go("/review")
    conflict = manager.page.get_by_test_id("conflict").filter(has_text="中华慈善日义卖")
    expect(conflict).to_have_count(1)
    expect(conflict.get_by_test_id("conflict-kept")).to_have_text("2026-12-07")
    expect(conflict.get_by_test_id("conflict-lost")).to_have_text("2026-12-06")


def test_disbursement_refused_then_requested_approved_and_paid(phones: Any, server: Server) -> None:
    """A request that would overdraw the fund is refused with its reason on the phone; a
    smaller one is approved by the federation on its phone and paid by a third person."""
    _, fund_id = setup_station(server, "DB-001")
    project_id = str(uuid.uuid4())
    server.push("project.create", {"id": project_id, "fund_id": fund_id, "name": "长者食堂"})
    server.push("fund.seed", {"id": str(uuid.uuid4()), "fund_id": fund_id, "amount_fen": 10000})
    manager = enrol_phone(phones, server, "station-manager", "mgr-db", "manager", station="DB-001")
    federation = enrol_phone(phones, server, "district-manager", "dm-db", "district_manager",
                             district="天河区")
    page = manager.page

    def request(yuan: str) -> None:
        manager.go("/funds")
        page.get_by_test_id("new-disbursement").click()
        form = page.get_by_test_id("disbursement-form")
        form.locator("select[name=fund]").select_option(fund_id)
        form.locator("select[name=project]").select_option(project_id)
        form.locator("input[name=disb-amount]").fill(yuan)
        form.locator("input[name=payee]").fill("社区长者食堂")
        form.locator("input[name=purpose]").fill("十二月餐费")
        page.get_by_test_id("submit-disbursement").click()
        expect(page.get_by_test_id("disbursement-form")).to_have_count(0)

    request("500")
    manager.wait_synced()
    problem = sync_problem(manager, "1 项未被接受", "fund_insufficient")
    expect(problem.get_by_test_id("sync-reason")).to_contain_text("可用 100.00 元,申请 500.00 元")
    expect(problem).to_contain_text("请减少金额")
    dismiss_sync_alert(manager)

    request("60")
    manager.wait_synced()
    [stored] = [d for d in server.records("disbursement").values() if d["fund_id"] == fund_id]
    assert (stored["status"], stored["amount_fen"], stored["requested_by"]) == ("requested", 6000, "mgr-db")
    expect(page.get_by_test_id("approve-disbursement")).to_have_count(0)  # the station cannot approve

    federation.go("/funds")
    item = federation.page.get_by_test_id("disbursement").filter(has_text="社区长者食堂")
    # the approver sees what the paying fund has left before deciding
    expect(item.get_by_test_id("disbursement-fund-available")).to_contain_text("¥100.00")
    item.get_by_test_id("approve-disbursement").click()
    server.wait_for(lambda: server.records("disbursement")[stored["id"]]["status"] == "approved",
                    "the approval", page=federation.page)
    federation.shot("30-funds-disbursement")
    server.push("disbursement.pay", {"id": stored["id"], "reference": "BANK-2026-001"})
    fund = page.locator(f'[data-testid=fund][data-id="{fund_id}"]')
    expect(fund.get_by_test_id("fund-balance")).to_have_text("¥40.00")
    expect(page.get_by_test_id("disbursement").filter(has_text="社区长者食堂")).to_have_count(0)
