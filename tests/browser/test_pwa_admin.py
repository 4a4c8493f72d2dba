"""The administration console on a phone (docs/pwa.md "Console"): an administrator sets
up a district, a station, a fund with seed money, a project, catalogue items and a rate,
adds a person with a membership while offline and gets an enrolment code once online
(the QR code, decoded from a screenshot as a camera would, is the link); the station's
devices show what a phone last reported unsynced and one is revoked as lost; the
donations export downloads a CSV with the right rows. Screenshots of every console
screen at 360x740 and 1280x800.
"""

from __future__ import annotations

import csv
import io
import re
import uuid
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import expect

from tests.browser.conftest import PHONE, SHOTS, Phone, Server
from tests.browser.steps import (
    decode_qr,
    enrol_phone,
    open_campaign,
    open_section,
    pick_station,
    save,
)
from tests.donation_setup import money

OFFICE = {"width": 1280, "height": 800}


def shots(phone: Phone, name: str, top: bool = True) -> None:
    """The screen at phone size and at office size (from its top unless told otherwise)."""
    phone.page.set_viewport_size(PHONE)
    if top:
        phone.page.evaluate("scrollTo(0, 0)")
    phone.shot(f"70-admin-{name}-360")
    phone.page.set_viewport_size(OFFICE)
    phone.shot(f"70-admin-{name}-1280")
    phone.page.set_viewport_size(PHONE)


def test_admin_console_sets_up_a_station_and_its_people(phones: Any, server: Server, tmp_path: Path) -> None:
    tag = uuid.uuid4().hex[:4].upper()
    district, code = f"越秀区{tag}", f"YX-{tag}"
    admin = enrol_phone(phones, server, "console-admin", f"console-admin-{tag}", "admin")
    page = admin.page

    # The console's home, from the bottom tab.
    page.get_by_role("link", name="管理").click()
    expect(page.get_by_test_id("admin-home")).to_be_visible()
    shots(admin, "home")

    # Districts and stations.
    open_section(admin, "places")
    save(admin, "district-form", {"name": district})
    save(admin, "station-form", {"code": code, "name": f"{tag} 越秀街道社工站"}, {"district": district})
    expect(page.locator(f'[data-testid=admin-station-row][data-code="{code}"]')).to_be_visible()
    server.wait_for(lambda: code in server.records("station"), "the station", page=page)
    assert server.records("district")[district]["name"] == district
    assert server.records("station")[code]["pin_required"] is True  # on unless turned off

    # The station's managers (and the admin) turn the PIN lock for its staff off.
    row = page.locator(f'[data-testid=admin-station-row][data-code="{code}"]')
    row.get_by_test_id("admin-station-edit-open").click()
    switch = row.get_by_test_id("admin-station-pin")
    expect(switch).to_be_checked()
    expect(row).to_contain_text("要求员工设置 PIN 锁")
    switch.uncheck()
    row.get_by_role("button", name="保存").click()
    expect(row.get_by_test_id("admin-station-no-pin")).to_be_visible()
    server.wait_for(lambda: server.records("station")[code]["pin_required"] is False,
                    "the station's PIN rule", page=page)
    assert server.records("station")[code]["name"] == f"{tag} 越秀街道社工站"
    shots(admin, "places")

    # A fund with seed money, and a project.
    open_section(admin, "funds")
    fund_name = f"{tag} 助老基金"
    save(admin, "fund-form", {"name": fund_name, "purpose": "社区助老"}, {"district": district, "station": code})
    save(admin, "seed-form", {"amount": "1000", "note": "开办资金"},
         {"fund_id": {"label": fund_name}})
    save(admin, "project-form", {"name": f"{tag} 长者饭堂"},
         {"fund_id": {"label": fund_name}})
    fund_row = page.get_by_test_id("admin-fund").filter(has_text=fund_name)
    expect(fund_row).to_contain_text("1,000.00")
    expect(fund_row.get_by_test_id("admin-project")).to_contain_text("长者饭堂")
    admin.wait_synced()
    funds = [f for f in server.records("fund").values() if f["name"] == fund_name]
    assert len(funds) == 1 and funds[0]["balance_fen"] == 100000 and funds[0]["station"] == code
    assert [p["name"] for p in server.records("project").values() if p["fund_id"] == funds[0]["id"]] == [f"{tag} 长者饭堂"]
    shots(admin, "funds")

    # The Time Bank: two catalogue items and a rate.
    open_section(admin, "timebank")
    pick_station(admin, code)
    save(admin, "item-form", {"title": "大米 5kg", "cost": "3", "stock": "5"}, {"kind": "goods"})
    save(admin, "item-form", {"title": "理发服务", "cost": "1.5", "stock": ""}, {"kind": "service"})
    save(admin, "rate-form", {"rate": "1.5"}, {"service_type": "elder_care"})
    expect(page.locator('[data-testid=admin-rate][data-type=elder_care]')).to_have_attribute("data-cents", "150")
    admin.wait_synced()
    items = {i["title"]: i for i in server.records("redemption_item").values() if i["station"] == code}
    assert items["大米 5kg"]["stock"] == 5 and items["大米 5kg"]["cost_cents"] == 300
    assert items["理发服务"]["stock"] is None and items["理发服务"]["cost_cents"] == 150
    assert server.records("timebank_rate")[f"{code}:elder_care"]["rate_cents"] == 150
    shots(admin, "timebank")

    # A person with a first membership, added offline; the code waits for the sync.
    open_section(admin, "people")
    pick_station(admin, code)
    admin.offline(True)
    save_person = {"name": "王芳", "phone": "13900001111"}
    page.get_by_test_id("person-form-open").click()
    for name, value in save_person.items():
        page.get_by_test_id("person-form").locator(f"[name={name}]").fill(value)
    page.get_by_test_id("person-form").locator("select[name=role]").select_option("staff")
    page.get_by_test_id("person-form-submit").click()
    expect(page.get_by_test_id("person-added")).to_contain_text("王芳")
    expect(page.get_by_test_id("code-queued")).to_be_visible()
    user_id = page.url.split("/admin/people/")[1].split("?")[0]
    page.get_by_test_id("make-code").click()
    expect(page.get_by_test_id("enrol-code-status")).to_contain_text("联网")
    admin.offline(False)
    page.get_by_test_id("make-code").click()
    shown = page.get_by_test_id("enrol-code")
    expect(shown).to_be_visible()
    link = shown.get_attribute("data-link") or ""
    assert re.fullmatch(r"https?://[^/]+/#/enrol\?code=[A-Za-z0-9_-]{20,}", link), link
    short = page.get_by_test_id("short-code").inner_text()
    assert re.fullmatch(r"[0-9A-Z]{4}-[0-9A-Z]{4}", short), short
    expect(page.get_by_test_id("code-countdown")).to_contain_text("有效期还剩 1")
    qr_png = page.get_by_test_id("enrol-qr").screenshot()
    (SHOTS / "70-admin-qr.png").write_bytes(qr_png)
    assert decode_qr(qr_png) == link
    people = [m for m in server.records("membership").values() if m["user_id"] == user_id]
    assert [(m["name"], m["role"], m["station"]) for m in people] == [("王芳", "staff", code)]
    shots(admin, "person-code", top=False)
    # The code enrols a phone (the server's side of it).
    enrolled = httpx.post(f"{server.base_url}/api/v1/enrol",
                          json={"short_code": short.lower(), "device_name": "王芳的手机"}, timeout=10)
    assert enrolled.status_code == 200, enrolled.text
    wang_token = enrolled.json()["token"]

    open_section(admin, "people")
    expect(page.get_by_test_id("admin-person").filter(has_text="王芳")).to_be_visible()
    shots(admin, "people")

    # Devices: 王芳's phone reports 3 donations unsent; it is lost, and cut off.
    report = httpx.post(f"{server.base_url}/api/v1/sync/push", headers={"Authorization": f"Bearer {wang_token}"},
                        json={"protocol": 1, "client_id": str(uuid.uuid4()), "mutations": [], "pending": 3,
                              "pending_summary": {"donation.record": 3}}, timeout=10)
    assert report.status_code == 200, report.text
    open_section(admin, "devices")
    pick_station(admin, code)
    device = page.get_by_test_id("admin-device").filter(has_text="王芳的手机")
    expect(device.get_by_test_id("device-summary")).to_contain_text("3 笔捐赠 未同步")
    expect(device.get_by_test_id("device-summary")).to_contain_text("最后联系")
    expect(device).to_contain_text("登记于")  # two phones of one person tell apart by when
    device.get_by_test_id("revoke").click()
    expect(device.get_by_test_id("revoke-choices")).to_contain_text("3 项未同步记录将丢失")
    shots(admin, "devices", top=False)
    device.get_by_test_id("revoke-lost").click()
    expect(page.get_by_test_id("revoke-status")).to_contain_text("已停用")
    wiped = httpx.get(f"{server.base_url}/api/v1/me", headers={"Authorization": f"Bearer {wang_token}"}, timeout=10)
    assert wiped.status_code == 403 and wiped.json()["code"] == "device_wiped", wiped.text

    # Exports: today's donations at the station, as CSV.
    # gifts are collected under a campaign raising for the station's fund (made above)
    fund = next(f["id"] for f in server.records("fund").values() if f["name"] == fund_name)
    open_campaign(server, code, [fund], district=district)
    for fen in (5000, 12345):
        assert server.push("donation.record", money(str(uuid.uuid4()), fen, station=code))[
            "status"] == "applied"
    open_section(admin, "exports")
    with page.expect_download() as info:
        page.get_by_test_id("export-donations-csv").click()
    download = info.value
    assert re.fullmatch(r"donations_\d{4}-\d{2}-\d{2}_\d{4}-\d{2}-\d{2}\.csv", download.suggested_filename)
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    lines = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    rows = [dict(zip(lines[1], line)) for line in lines[2:]]  # under the Chinese headers
    mine = sorted(int(r["amount (fen)"]) for r in rows if r["station"] == f"{tag} 越秀街道社工站")
    assert mine == [5000, 12345], rows
    expect(page.get_by_test_id("export-status")).to_contain_text(download.suggested_filename)
    shots(admin, "exports")
    assert (SHOTS / "70-admin-exports-1280.png").is_file()
    assert not [m for m in admin.messages if m.startswith("pageerror")], admin.messages
