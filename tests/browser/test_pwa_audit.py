"""The audit log in the console (issue 13): an admin sees who exported, filters by person
and action, at phone size (360x740) and office size (1280x800)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import PHONE, SHOTS, Phone, Server
from tests.browser.steps import enrol_phone

OFFICE = {"width": 1280, "height": 800}
COPY_TO = Path("/work/wt/shots/h13-audit")


def shots(phone: Phone, name: str) -> None:
    for size, label in ((PHONE, "360"), (OFFICE, "1280")):
        phone.page.set_viewport_size(size)
        phone.page.evaluate("scrollTo(0, 0)")
        width = phone.page.evaluate("document.documentElement.scrollWidth")
        assert width <= size["width"], f"the page is {width}px wide at {size['width']}px"
        phone.shot(f"75-audit-{name}-{label}")
        if COPY_TO.parent.exists():
            COPY_TO.mkdir(parents=True, exist_ok=True)
            shutil.copy(SHOTS / f"75-audit-{name}-{label}.png", COPY_TO)
    phone.page.set_viewport_size(PHONE)


def test_admin_reads_the_audit_log_and_filters_it(phones: Any, server: Server) -> None:
    server.station("AU-001")
    manager = server.token("audit-mgr", "manager", station="AU-001")
    district = server.token("audit-dm", "district_manager", district="天河区")
    for token in (manager, manager, district):
        answer = server.http.get("/api/v1/exports/donations.csv",
                                 headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 200
    phone = enrol_phone(phones, server, "audit-admin", "audit-admin", "admin")
    page = phone.page
    phone.go("/admin")
    page.get_by_test_id("admin-link-audit").click()
    expect(page.get_by_test_id("admin-audit")).to_be_visible()
    rows = page.get_by_test_id("audit-row")
    expect(rows.first).to_be_visible()
    assert rows.count() >= 3
    page.get_by_test_id("audit-person").fill("audit-mgr")
    page.get_by_test_id("audit-apply").click()
    expect(rows).to_have_count(2)
    expect(rows.first).to_have_attribute("data-action", "export.donations")
    expect(rows.first).to_contain_text("导出捐赠明细")
    expect(rows.first).to_contain_text("audit-mgr")
    expect(rows.first).to_contain_text("AU-001")
    shots(phone, "filtered")
    page.get_by_test_id("audit-person").fill("audit-dm")
    page.get_by_test_id("audit-action").select_option("export.*")
    page.get_by_test_id("audit-apply").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("天河区")
    page.get_by_test_id("audit-action").select_option("disbursement.pay")
    page.get_by_test_id("audit-apply").click()
    expect(page.get_by_test_id("audit-empty")).to_be_visible()
    expect(rows).to_have_count(0)
