"""A district's federation imports the fundraising platform's statement from the console
(docs/online-gifts.md): uploads a GB18030 CSV, reads the preview (new lines, totals per
project and day, a line whose project is linked to nothing), books it with the progress
bar, then reconciles and resolves the unlinked order by booking it onto a project.
Screenshots at 360x740 and 1280x800."""

from __future__ import annotations

import uuid
from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import PHONE, Phone, Server
from tests.browser.steps import enrol_phone, open_section
from tests.helpers import statement_csv, station_args

OFFICE = {"width": 1280, "height": 800}


def shots(phone: Phone, name: str, focus: str) -> None:
    """At both sizes, with ``focus`` (a test id) scrolled to the top of the screen."""
    for size, suffix in ((PHONE, "360"), (OFFICE, "1280")):
        phone.page.set_viewport_size(size)
        phone.page.get_by_test_id(focus).first.evaluate(
            "e => window.scrollTo(0, e.getBoundingClientRect().top + window.scrollY - 110)")
        phone.page.wait_for_timeout(100)
        phone.shot(f"80-online-{name}-{suffix}")
    phone.page.set_viewport_size(PHONE)


def test_a_district_manager_imports_books_and_reconciles_a_statement(phones: Any, server: Server) -> None:
    tag = uuid.uuid4().hex[:4].lower()
    code, platform = f"OL-{tag.upper()}", f"gylm-{tag}"
    assert server.push("station.create", station_args(code, "天河区"))["status"] == "applied"
    fund, project = str(uuid.uuid4()), str(uuid.uuid4())
    server.push("fund.create", {"id": fund, "name": f"网络基金{tag}", "district": "天河区",
                                "station": code, "purpose": "社区服务"})
    server.push("project.create", {"id": project, "fund_id": fund, "name": "耆乐安居"})
    admin = {"Authorization": f"Bearer {server.admin}"}
    answer = server.http.post("/api/v1/admin/online/platforms", headers=admin, json={
        "id": platform, "name": "广益联募", "host": "gylm.example.cn"})
    assert answer.status_code == 200, answer.text
    for kind, target, label in (("fund", fund, f"网络基金{tag}"), ("project", project, f"耆乐{tag}")):
        answer = server.http.post("/api/v1/admin/online/links", headers=admin, json={
            "target_kind": kind, "target_id": target, "platform": platform,
            "url": f"https://www.gylm.example.cn/p/{target}", "label": label})
        assert answer.status_code == 200, answer.text
    rows = [(f"GY{tag}{n:04d}", f"2026-11-{20 + n % 3} 1{n % 10}:05:00", f"{n}.{n % 100:02d}",
             f"网友{n}", f"耆乐{tag}" if n % 2 else f"网络基金{tag}", "微信" if n % 3 else "支付宝")
            for n in range(1, 31)]
    rows.append((f"GY{tag}9999", "2026-11-22 20:00:00", "66.60", "某人", "未登记的项目名称", "微信"))
    data = statement_csv(rows, encoding="gb18030")

    dm = enrol_phone(phones, server, "online-dm", f"online-dm-{tag}", "district_manager",
                     district="天河区")
    page = dm.page
    open_section(dm, "online")
    if page.get_by_test_id("online-platform").count():
        page.get_by_test_id("online-platform").select_option(platform)
    page.get_by_test_id("online-file").set_input_files(files=[{
        "name": "广益联募对账单.csv", "mimeType": "text/csv", "buffer": data}])
    page.get_by_test_id("online-upload-go").click()
    preview = page.get_by_test_id("online-preview")
    expect(preview).to_have_attribute("data-status", "preview")
    counts = page.get_by_test_id("online-counts")
    expect(counts.locator('[data-state="new"] strong')).to_have_text("30")
    expect(counts.locator('[data-state="unassigned"] strong')).to_have_text("1")
    expect(page.get_by_test_id("online-totals")).to_contain_text("未登记的项目名称")
    shots(dm, "preview", "online-preview")
    page.get_by_test_id("online-book").click()
    expect(page.get_by_test_id("online-book-status")).to_contain_text("已入账 30 笔")
    expect(page.get_by_test_id("online-progress")).to_contain_text("30 / 30")
    expect(counts.locator('[data-state="booked"] strong')).to_have_text("30")
    shots(dm, "booked", "online-book-status")

    page.get_by_test_id("online-tab-reconcile").click()
    page.get_by_test_id("online-start").fill("2026-11-20")
    page.get_by_test_id("online-end").fill("2026-11-22")
    page.get_by_test_id("online-reconcile-go").click()
    missing = page.locator(f'[data-testid="online-unmatched"][data-order="GY{tag}9999"]')
    expect(missing).to_contain_text("账本中没有")
    expect(page.get_by_test_id("online-sums")).to_contain_text("相差 ¥66.60")
    shots(dm, "reconcile", "online-sums")
    missing.get_by_role("button", name="补记入账").click()
    missing.get_by_test_id("online-target").select_option(f"{fund}|{project}")
    missing.get_by_test_id("online-resolve-book").click()
    expect(page.get_by_test_id("online-sums")).to_contain_text("一致")
    expect(page.locator('[data-testid="online-unmatched"]')).to_have_count(0)
    shots(dm, "reconciled", "online-sums")
    assert not [m for m in dm.messages if m.startswith("pageerror")], dm.messages
    public = server.http.get(f"/public/funds/{fund}")
    assert f"https://www.gylm.example.cn/p/{project}" in public.text
