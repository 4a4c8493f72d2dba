"""Public pages (event totals over SSE, disclosure, receipt check) and manager exports."""

from __future__ import annotations

import asyncio
import csv
import io

import openpyxl
import pytest

from server.public import totals_stream
from tests.conftest import Api
from tests.devices import settle
from tests.donation_setup import OTHER_STATION, STATION, build_world, money, phone
from tests.helpers import new_id

pytestmark = pytest.mark.anyio


async def test_event_totals_stream_sends_new_figures_after_a_sync(api: Api) -> None:
    world = await build_world(api)
    p = await phone(world, "staff2")
    updates = totals_stream(api.state, world.event_id, STATION)
    first = await anext(updates)
    assert first is not None and first["money_fen"] == 0 and first["title"]
    waiting = asyncio.ensure_future(anext(updates))
    await asyncio.sleep(0)
    await p.device.send("donation.record", money(new_id(), 4_200, fund_id=world.fund_id,
                                                 event_id=world.event_id))
    if api.state.db.is_postgres:
        # In the app a LISTEN connection relays the push's NOTIFY to the broker.
        await settle(api)
        api.state.broker.publish({f"s:{STATION}"})
    second = await asyncio.wait_for(waiting, timeout=10)
    while second is None:  # a keepalive on a slow machine
        second = await asyncio.wait_for(anext(updates), timeout=10)
    assert second["money_fen"] == 4_200 and second["money_count"] == 1
    api.state.keepalive_seconds = 0.01
    quiet = await asyncio.wait_for(anext(updates), timeout=10)
    assert quiet is None  # nothing changed: only a keepalive
    await updates.aclose()


async def test_event_page_and_stream_route_answer(api: Api) -> None:
    world = await build_world(api)
    page = await api.http.get(f"/public/events/{world.event_id}")
    assert page.status_code == 200 and "善款" in page.text and "money raised" in page.text
    assert f"/api/v1/public/events/{world.event_id}/stream" in page.text
    missing = await api.http.get(f"/api/v1/public/events/{new_id()}")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    assert (await api.http.get(f"/public/events/{new_id()}")).status_code == 404


async def test_receipt_check_needs_the_right_code(api: Api) -> None:
    world = await build_world(api)
    p = await phone(world, "staff2")
    receipt = p.next_receipt()
    donor = {"name": "刘德华", "phone": "13900001111", "wants_receipt": True}
    await p.device.send("donation.record", money(new_id(), 9_900, fund_id=world.fund_id,
                                                 receipt=receipt, donor=donor))
    url = f"/public/receipts/{receipt['number']}"
    good = await api.http.get(url, params={"code": receipt["code"]})
    assert good.status_code == 200 and "有效" in good.text and "99.00" in good.text
    assert "爱心人士" in good.text and "刘" not in good.text and "13900001111" not in good.text
    wrong = await api.http.get(url, params={"code": "AAAAAAAA"})
    assert wrong.status_code == 404 and "校验码不正确" in wrong.text
    as_json = await api.http.get(f"/api/v1/public/receipts/{receipt['number']}",
                                 params={"code": receipt["code"].lower()})
    assert as_json.status_code == 200 and as_json.json()["amount_fen"] == 9_900
    listing = await api.http.get("/public/funds")
    assert listing.status_code == 200 and world.fund_id in listing.text


async def test_exports_for_managers_in_their_scope(api: Api) -> None:
    world = await build_world(api, seed_fen=5_000)
    p = await phone(world, "staff2")
    donor = {"name": "张三", "phone": "13800138000", "wants_receipt": False}
    await p.device.send("donation.record", money(new_id(), 12_345, fund_id=world.fund_id,
                                                 donor=donor))
    manager = api.auth(await api.token("mgr1", "manager", station=STATION))
    response = await api.http.get("/api/v1/exports/donations.csv", headers=manager)
    assert response.status_code == 200 and response.headers["content-type"] == "text/csv; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))[1:]
    assert len(rows) == 1 and rows[0]["金额(分)"] == "12345" and rows[0]["金额(元)"] == "123.45"
    assert rows[0]["捐赠人电话"] == "13800138000" and rows[0]["状态"] == "已登记 / recorded"

    elsewhere = api.auth(await api.token("m2", "manager", station=OTHER_STATION))
    other = await api.http.get("/api/v1/exports/donations.csv", headers=elsewhere)
    assert len(list(csv.DictReader(io.StringIO(other.content.decode("utf-8-sig"))))) == 1
    staff = api.auth(await api.token("staff1", "staff", station=STATION))
    assert (await api.http.get("/api/v1/exports/donations.csv", headers=staff)).status_code == 403
    assert (await api.http.get("/api/v1/exports/donations.csv")).status_code == 401
    future = await api.http.get("/api/v1/exports/donations.csv", headers=manager,
                                params={"from": "2099-01-01", "to": "2099-01-31"})
    assert len(list(csv.DictReader(io.StringIO(future.content.decode("utf-8-sig"))))) == 1
    bad = await api.http.get("/api/v1/exports/donations.csv", headers=manager,
                             params={"from": "yesterday"})
    assert bad.status_code == 400

    workbook = await api.http.get(f"/api/v1/exports/funds/{world.fund_id}/statement.xlsx",
                                  headers=manager)
    assert workbook.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(workbook.content)).active
    values = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert values[3][:2] == ["期末余额(分) / closing (fen)", 17_345]
    header = values[5]  # English under the Chinese
    lines = [dict(zip(header, r)) for r in values[6:]]
    assert [(line["kind"], line["amount (fen)"], line["balance (fen)"]) for line in lines] == [
        ("种子资金 / seed", 5_000, 5_000), ("捐赠 / donation", 12_345, 17_345)]
    assert lines[1]["counter account"] == f"station:{STATION}"
    assert lines[1]["amount (yuan)"] == 123.45
    donations_xlsx = await api.http.get("/api/v1/exports/donations.xlsx", headers=manager)
    assert openpyxl.load_workbook(io.BytesIO(donations_xlsx.content)).active.max_row == 3
    not_theirs = await api.http.get(f"/api/v1/exports/funds/{world.fund_id}/statement.csv",
                                    headers=elsewhere)
    assert not_theirs.status_code == 403


async def test_goods_receipt_and_city_fund_pages_render(api: Api) -> None:
    world = await build_world(api)
    p = await phone(world, "staff2")
    receipt = p.next_receipt()
    await p.device.send("donation.record", {
        "id": new_id(), "station": STATION, "kind": "goods", "direction": "undirected",
        "donor": {"organisation": "好邻居超市", "public_name_consent": True}, "receipt": receipt,
        "items": [{"name": "大米", "quantity": 3, "unit": "袋", "estimated_value_fen": 15_000}]})
    page = await api.http.get(f"/public/receipts/{receipt['number']}",
                              params={"code": receipt["code"]})
    assert page.status_code == 200 and "大米 3袋" in page.text and "好邻居超市" in page.text
    city = new_id()
    assert (await world.admin.send("fund.create", {"id": city, "name": "市慈善会通用基金"})
            )["status"] == "applied"
    listing = await api.http.get("/public/funds")
    assert "市慈善会 / city" in listing.text and "市慈善会通用基金" in listing.text
    empty = await api.http.get(f"/public/funds/{city}")
    assert empty.status_code == 200 and "无 / none" in empty.text
    assert (await api.http.get(f"/public/funds/{new_id()}")).status_code == 404


async def test_receipt_check_names_the_station_the_gift_time_and_the_holder(api: Api) -> None:
    """The public reads the station's name (not "TH-001"), when the gift was made (the
    recording phone's time, not when it synced) and who holds the money (募用分离)."""
    world = await build_world(api)
    p = await phone(world, "staff2")
    receipt = p.next_receipt()
    donation_id = new_id()
    await p.device.send("donation.record", money(donation_id, 2_000, receipt=receipt))
    code = {"code": receipt["code"]}
    as_json = (await api.http.get(f"/api/v1/public/receipts/{receipt['number']}", params=code)).json()
    assert as_json["station"] == STATION and as_json["station_name"] == "天河社工站"
    snapshot = await api.snapshot(await api.token("mgr1", "manager", station=STATION))
    device_time = snapshot[("donation", donation_id)]["device_time"]
    assert as_json["given_at"] == device_time
    page = await api.http.get(f"/public/receipts/{receipt['number']}", params=code)
    assert "站点 <span class=\"en\">station</span>: 天河社工站" in page.text
    # the holder: the organisation whose fundraising plan the gift was collected under
    assert "善款由广州市天河区慈善会接收和管理" in page.text and "市慈善总会" not in page.text
    assert "公益事业捐赠票据" in page.text


async def test_pull_and_client_config_carry_the_server_clock_and_the_holder(api: Api) -> None:
    token = await api.token("staff1", "staff", station=STATION)
    page = (await api.pull(token, new_id())).json()
    stamp = page["server_time"]
    assert stamp.endswith("Z") and len(stamp) == len("2026-11-28T08:50:12.345Z")
    config = (await api.http.get("/api/v1/client-config", headers=api.auth(token))).json()
    assert config["receipt_holder"] == {"zh": "市慈善总会", "en": "City Charity Federation"}
    assert config["clock_warn_minutes"] == 5.0
