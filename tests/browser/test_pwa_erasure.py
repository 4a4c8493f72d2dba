"""An admin carries out an erasure request from the console (docs/security.md "Erasure
(PIPL)"): finds the donor by phone, sees the gifts and a masked number, picks a reason,
confirms; the server holds no trace of the name afterwards. Screenshots at 360x740 and
1280x800."""

from __future__ import annotations

import uuid
from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import PHONE, Phone, Server
from tests.browser.steps import enrol_phone, open_campaign, open_section
from tests.donation_setup import money
from tests.helpers import station_args

OFFICE = {"width": 1280, "height": 800}


def shots(phone: Phone, name: str) -> None:
    phone.page.set_viewport_size(PHONE)
    phone.shot(f"75-erasure-{name}-360")
    phone.page.set_viewport_size(OFFICE)
    phone.shot(f"75-erasure-{name}-1280")
    phone.page.set_viewport_size(PHONE)


def test_an_admin_erases_a_donor_from_the_console(phones: Any, server: Server) -> None:
    tag = uuid.uuid4().hex[:4].upper()
    code, phone_number, name = f"ER-{tag}", f"139{uuid.uuid4().int % 10**8:08d}", f"欧阳{tag}"
    assert server.push("station.create", station_args(code, "天河区"))["status"] == "applied"
    fund = str(uuid.uuid4())
    server.push("fund.create", {"id": fund, "name": f"{code} 社区基金", "district": "天河区",
                                "station": code})
    open_campaign(server, code, [fund])
    donor = {"name": name, "phone": phone_number, "wants_receipt": False}
    for fen in (5000, 700):
        result = server.push("donation.record", money(str(uuid.uuid4()), fen, station=code,
                                                      donor=donor))
        assert result["status"] in ("applied", "flagged"), result  # no fund yet: flagged
    admin = enrol_phone(phones, server, "erasure-admin", f"erasure-admin-{tag}", "admin")
    page = admin.page
    open_section(admin, "erasure")
    page.get_by_test_id("erase-q").fill(phone_number)
    page.get_by_role("button", name="查找").click()
    candidate = page.get_by_test_id("erase-candidate")
    expect(candidate).to_have_count(1)
    expect(candidate).to_contain_text(name)
    expect(candidate).to_contain_text("2 笔捐赠")
    expect(candidate).not_to_contain_text(phone_number)  # masked on screen
    shots(admin, "found")
    candidate.get_by_role("button").click()
    confirm = page.get_by_test_id("erase-confirm")
    expect(confirm).to_contain_text("不能撤销")
    expect(page.get_by_test_id("erase-go")).to_be_disabled()
    page.get_by_test_id("erase-reason").select_option("subject_request")
    page.get_by_test_id("erase-sure").check()
    shots(admin, "confirm")
    page.get_by_test_id("erase-go").click()
    expect(page.get_by_test_id("erase-status")).to_contain_text("已删除")
    shots(admin, "done")
    gifts = [d for d in server.records("donation").values() if d["station"] == code]
    assert len(gifts) == 2 and all(d["donor_name"] is None and d["donor_phone"] is None
                                   for d in gifts)
    assert sorted(d["amount_fen"] for d in gifts) == [700, 5000]
    assert not [m for m in admin.messages if m.startswith("pageerror")], admin.messages
