"""The disclosure calendar on a manager's phone (docs/disclosure.md): overdue periods
first, a period's figures previewed, a confirmed publish, the report marked late on the
public pages. Screenshots at 360x740 (``pwa-disclosure-*``)."""

from __future__ import annotations

import sqlite3
import uuid

from playwright.sync_api import expect

from tests.browser.conftest import SHOTS, Phone, Server

STATION = "DQ-001"


def backdate_fund(server: Server, fund_id: str, created_at: str) -> None:
    """The fund was opened months ago (its record's time; the ledger's entries keep theirs,
    which the chain covers): its past quarters are overdue."""
    with sqlite3.connect(server.proc.database_url.removeprefix("sqlite:///")) as db:
        db.execute("UPDATE funds SET created_at = ? WHERE id = ?", (created_at, fund_id))


def test_a_manager_sees_what_is_overdue_previews_and_publishes(server: Server, phones) -> None:  # type: ignore[no-untyped-def]
    server.push("station.create", {"code": STATION, "name": "大川社工站", "district": "天河区"})
    fund = str(uuid.uuid4())
    server.push("fund.create", {"id": fund, "name": "大川社区基金", "district": "天河区",
                                "station": STATION, "purpose": "社区帮扶"})
    server.push("fund.seed", {"id": str(uuid.uuid4()), "fund_id": fund, "amount_fen": 500_000,
                              "note": "种子资金"})
    backdate_fund(server, fund, "2026-05-10T02:00:00.000Z")
    phone: Phone = phones("disclosure-manager")
    phone.enrol(server.token("mgr-dc", "manager", station=STATION))
    page = phone.page
    phone.go("/admin/disclosure")
    calendar = page.get_by_test_id("disclosure-calendar")
    lines = calendar.get_by_test_id("disclosure-line")
    expect(lines.first).to_have_attribute("data-status", "overdue")
    expect(calendar).to_contain_text("大川社区基金")
    expect(calendar).to_contain_text("已逾期")
    phone.shot("pwa-disclosure-calendar")

    lines.first.click()
    period = page.get_by_test_id("disclosure-period")
    expect(period.get_by_test_id("disclosure-status")).to_have_text("已逾期")
    expect(period.get_by_test_id("disclosure-late-warning")).to_be_visible()
    expect(period.get_by_test_id("disclosure-closing")).to_have_text("¥0.00")
    phone.shot("pwa-disclosure-preview")

    page.get_by_test_id("disclosure-publish").click()
    page.get_by_test_id("disclosure-confirm").click()
    expect(period.get_by_test_id("disclosure-status")).to_have_text("迟报")
    expect(page.get_by_test_id("disclosure-publish-status")).to_contain_text("已公开")
    phone.shot("pwa-disclosure-published")

    # the console on an office screen: the menu beside the calendar
    page.set_viewport_size({"width": 1280, "height": 800})
    phone.go("/admin/disclosure")
    expect(page.get_by_test_id("disclosure-line").last).to_have_attribute("data-status", "published_late")
    phone.shot("pwa-disclosure-calendar-office")
    page.set_viewport_size({"width": 360, "height": 740})

    public = server.http.get(f"/public/disclosures/fund/{fund}/1").text
    assert "迟报" in public and "大川社区基金" in public
    fund_page = server.http.get(f"/public/funds/{fund}").text
    assert "迟报" in fund_page and "逾期未公开" in fund_page  # the first late, the next overdue
    public_page = phone.context.new_page()
    public_page.goto(f"/public/disclosures/fund/{fund}/1")
    SHOTS.mkdir(parents=True, exist_ok=True)
    public_page.screenshot(path=str(SHOTS / "pwa-disclosure-public.png"), full_page=True)
    public_page.close()
    assert not [m for m in phone.messages if m.startswith("pageerror")], phone.messages

