"""Campaigns on the phone (docs/campaigns.md): the federation sets one up from the console
and finds its public page, poster and QR code; the donation form shows the campaign the
gift goes to and refuses at once where none is open; the receipt names the organisation.
Screenshots at 360x740 (and the console at 1280x800)."""

from __future__ import annotations

import uuid
from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import Server
from tests.browser.steps import decode_qr, enrol_phone, open_section, wait_for_series


def test_a_campaign_from_the_console_to_the_receipt(phones: Any, server: Server) -> None:
    code = f"CP-{uuid.uuid4().hex[:4].upper()}"
    server.station(code)
    fund_id = str(uuid.uuid4())
    server.push("fund.create", {"id": fund_id, "name": f"{code} 社区基金", "district": "天河区",
                                "station": code, "purpose": "社区帮扶"})
    staff = enrol_phone(phones, server, "campaign-staff", f"staff-{code}", "staff", station=code)
    wait_for_series(staff)
    # no campaign yet: the form says so before anything is queued
    staff.go("/donations/new/money")
    expect(staff.page.get_by_test_id("no-campaign")).to_be_visible()
    staff.page.locator("input[name=amount]").fill("20")
    expect(staff.page.get_by_test_id("no-campaign")).to_contain_text("没有进行中的公开募捐活动")
    expect(staff.page.get_by_test_id("save-donation")).to_be_disabled()  # nothing to queue
    staff.shot("90-donation-no-campaign")

    admin = enrol_phone(phones, server, "campaign-admin", f"admin-{code}", "district_manager",
                        district="天河区")
    page = admin.page
    open_section(admin, "campaigns")
    page.get_by_test_id("campaign-form-open").click()
    box = page.get_by_test_id("campaign-form")
    for name, value in {"name": f"{code} 中华慈善日募捐", "organisation": "广州市天河区慈善会",
                        "organisation_code": "53440106MJK582938A",
                        "certificate_number": "穗民公募字〔2024〕012号",
                        "filing_number": "53440106MJK582938A26007",
                        "purpose": "为社区困难群众募集资金", "starts_on": "2020-01-01",
                        "ends_on": "2099-12-31", "target": "50000"}.items():
        box.locator(f"[name='{name}']").fill(value)
    box.locator("select[name=district]").select_option("天河区")
    box.locator(f"input[name='fund:{fund_id}']").check()
    admin.shot("91-campaign-form")
    page.get_by_test_id("campaign-form-submit").click()
    expect(page.get_by_test_id("campaign-form-status")).to_have_attribute("data-tone", "ok")
    admin.wait_synced()
    admin.go("/admin")
    open_section(admin, "campaigns")
    card = page.get_by_test_id("admin-campaign").filter(has_text=f"{code} 中华慈善日募捐")
    expect(card).to_contain_text("53440106MJK582938A26007")
    href = card.get_by_test_id("campaign-page-link").get_attribute("href") or ""
    assert "/public/campaigns/" in href
    card.locator("summary").click()
    qr = card.get_by_test_id("campaign-qr")
    expect(qr.locator("svg")).to_be_visible()
    assert decode_qr(qr.screenshot()) == href
    admin.shot("92-campaigns-admin")
    page.set_viewport_size({"width": 1280, "height": 800})
    admin.shot("93-campaigns-admin-1280")
    page.set_viewport_size({"width": 360, "height": 740})
    poster = server.http.get(card.get_by_test_id("campaign-poster-link").get_attribute("href") or "")
    assert poster.status_code == 200 and poster.content.startswith(b"%PDF")

    # the staff phone, synced, records a gift under it; the receipt names the organisation
    staff.go("/donations")
    staff.wait_synced()
    staff.page.reload()
    staff.go("/donations/new/money")
    expect(staff.page.get_by_test_id("campaign-line")).to_contain_text("广州市天河区慈善会")
    staff.page.locator("input[name=amount]").fill("66")
    staff.shot("94-donation-campaign-line")
    staff.page.get_by_test_id("save-donation").click()
    expect(staff.page.get_by_test_id("receipt-holder")).to_have_text("广州市天河区慈善会")
    expect(staff.page.get_by_test_id("receipt-campaign")).to_contain_text("53440106MJK582938A26007")
    staff.shot("95-receipt-organisation")
    staff.wait_synced()
    public = server.http.get(href.replace(href.split("/public/")[0], server.base_url))
    assert "66.00" in public.text and "广州市天河区慈善会" in public.text
