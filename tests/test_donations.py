"""Recording donations, receipts, corrections and goods (issue 3), on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from server.domain.donations import corrections, donations, mask_name, receipts
from server.domain.funds import disbursements, funds, ledger_entries
from server.domain.goods import goods_movements, goods_stock
from sync.tables import mutations
from tests.conftest import Api
from tests.devices import Device, fresh_snapshot
from tests.donation_setup import (
    DISTRICT,
    OTHER_STATION,
    STATION,
    build_world,
    claim_series,
    code,
    money,
    phone,
)
from tests.helpers import new_id

pytestmark = pytest.mark.anyio

WRITTEN = (donations, receipts, corrections, funds, ledger_entries, disbursements, goods_stock,
           goods_movements)


async def counts(api: Api) -> dict[str, int]:
    async with api.state.db.engine.connect() as conn:
        return {t.name: int((await conn.execute(select(func.count()).select_from(t))).scalar() or 0)
                for t in WRITTEN}


async def fund_row(api: Api, fund_id: str) -> dict[str, Any]:
    async with api.state.db.engine.connect() as conn:
        row = (await conn.execute(select(funds).where(funds.c.id == fund_id))).mappings().one()
        return dict(row)


async def test_money_donation_with_receipt_books_the_fund_and_is_seen_by_the_station(api: Api) -> None:
    world = await build_world(api)
    p = await phone(world, "staff2")
    receipt = p.next_receipt()
    donation_id = new_id()
    result = await p.device.send("donation.record", money(
        donation_id, 12_345, fund_id=world.fund_id, event_id=world.event_id, receipt=receipt))
    assert result["status"] == "applied", result
    fund = await fund_row(api, world.fund_id)
    assert fund["balance_fen"] == 12_345 and fund["head_seq"] == 2

    staff_view = await fresh_snapshot(api, await api.token("staff1", "staff", station=STATION))
    record = staff_view[("donation", donation_id)]
    assert record["amount_fen"] == 12_345 and record["donor_phone"] == "13800138000"
    assert record["receipt_number"] == receipt["number"] and record["recorded_by"] == "staff2"
    assert record["device_time"].endswith("Z") and record["recorded_at"].endswith("Z")
    assert staff_view[("receipt", receipt["number"])]["code"] == receipt["code"]
    # Another district's manager sees neither the donation nor the donor's phone.
    stranger = await fresh_snapshot(api, await api.token("x", "district_manager", district="越秀区"))
    assert ("donation", donation_id) not in stranger
    assert stranger[("fund", world.fund_id)]["balance_fen"] == 12_345  # funds are public


async def test_receipt_numbers_are_bound_to_the_device_that_owns_the_series(api: Api) -> None:
    world = await build_world(api)
    first = await phone(world, "staff2")
    second = await phone(world, "staff3")
    assert first.series != second.series
    receipt = first.next_receipt()
    ok = await first.device.send("donation.record", money(new_id(), 100, fund_id=world.fund_id,
                                                           receipt=receipt))
    assert ok["status"] == "applied"
    # The same number again (from its owner) and a number from another device's series.
    again = await first.device.send("donation.record", money(new_id(), 100, fund_id=world.fund_id,
                                                              receipt=receipt))
    assert again["code"] == "receipt_number_taken"
    stolen = {"number": f"{first.series}-00077", "code": code()}
    foreign = await second.device.send("donation.record", money(new_id(), 100, fund_id=world.fund_id,
                                                                 receipt=stolen))
    assert foreign["status"] == "rejected" and foreign["code"] == "receipt_series_not_yours"
    assert "号段" in foreign["message"]["zh"] and "series" in foreign["message"]["en"]
    # One number twice within one batch: the second is refused too.
    twice = second.next_receipt()
    body = await second.device.push(*(second.device.m("donation.record", money(
        new_id(), 100, fund_id=world.fund_id, receipt=twice)) for _ in range(2)))
    assert [r.get("code") for r in body["results"]] == [None, "receipt_number_taken"]
    assert (await counts(api))["donations"] == 2


@pytest.mark.parametrize("case", [
    "negative", "absurd", "unknown_fund", "goods_without_items", "foreign_station",
    "money_without_method", "no_donor", "receipt_missing", "unknown_event",
])
async def test_bad_donations_are_rejected_with_a_reason_and_nothing_is_written(
    api: Api, case: str
) -> None:
    world = await build_world(api)
    p = await phone(world, "staff2")
    before = await counts(api)
    args = money(new_id(), 500, fund_id=world.fund_id)
    expected_field = None
    if case == "negative":
        args["amount_fen"], expected_field = -500, "amount_fen"
    elif case == "absurd":
        args["amount_fen"], expected_field = 10**13, "amount_fen"
    elif case == "unknown_fund":
        args["fund_id"] = new_id()
    elif case == "goods_without_items":
        args.update(kind="goods", items=[])
        del args["amount_fen"], args["method"]
    elif case == "foreign_station":
        args["station"] = OTHER_STATION
    elif case == "money_without_method":
        del args["method"]
    elif case == "no_donor":
        args["donor"] = {"wants_receipt": False}
    elif case == "receipt_missing":
        args["donor"] = {"name": "李四", "wants_receipt": True}
    elif case == "unknown_event":
        args["event_id"] = new_id()
    result = await p.device.send("donation.record", args)
    assert result["status"] == "rejected", result
    assert result["message"]["zh"] and result["message"]["en"]
    if expected_field:
        assert result["code"] == "invalid_args" and expected_field in result["message"]["en"]
    if case == "foreign_station":
        assert result["code"] == "forbidden"
    if case == "unknown_fund":
        assert result["code"] == "not_found"
    assert await counts(api) == before


async def test_goods_are_received_stored_handed_out_and_never_negative(api: Api) -> None:
    world = await build_world(api)
    p = await phone(world, "staff2")
    donation_id = new_id()
    goods = {"id": donation_id, "station": STATION, "kind": "goods", "direction": "undirected",
             "donor": {"organisation": "某某超市", "wants_receipt": False},
             "items": [{"name": "大米", "quantity": 10, "unit": "袋", "estimated_value_fen": 20_000},
                       {"name": "食用油", "quantity": 4, "unit": "桶", "estimated_value_fen": 10_000}]}
    assert (await p.device.send("donation.record", goods))["status"] == "applied"
    hand = {"id": new_id(), "station": STATION, "name": "大米", "unit": "袋", "quantity": 7,
            "recipient_kind": "beneficiary", "recipient": "王阿婆"}
    assert (await p.device.send("goods.hand_out", hand))["status"] == "applied"
    too_many = await p.device.send("goods.hand_out", {**hand, "id": new_id(), "quantity": 4})
    assert too_many["code"] == "goods_insufficient" and "3" in too_many["message"]["zh"]
    # Voiding the gift would take 10 bags out of a stock of 3: refused, stock stays.
    void = await world.manager.send("donation.correct", {
        "id": new_id(), "donation_id": donation_id, "action": "void", "reason": "登记错误"})
    assert void["code"] == "goods_insufficient"
    view = await fresh_snapshot(api, await api.token("staff1", "staff", station=STATION))
    stocks = {(s["name"], s["unit"]): s["quantity"] for (t, _), s in view.items() if t == "goods_stock"}
    assert stocks == {("大米", "袋"): 3, ("食用油", "桶"): 4}
    assert view[("donation", donation_id)]["amount_fen"] == 30_000
    kinds = sorted(m["kind"] for (t, _), m in view.items() if t == "goods_movement")
    assert kinds == ["handed_out", "received", "received"]
    # Goods are not money: the fund's books did not move.
    assert (await fund_row(api, world.fund_id))["balance_fen"] == 0


async def test_receipt_official_number_reissue_withdraw_and_reprints(api: Api) -> None:
    world = await build_world(api)
    p = await phone(world, "staff2")
    first = p.next_receipt()
    donation_id = new_id()
    await p.device.send("donation.record", money(donation_id, 800, fund_id=world.fund_id,
                                                 receipt=first))
    assert (await p.device.send("receipt.reprint", {"number": first["number"]}))["status"] == "applied"
    assert (await p.device.send("receipt.reprint", {"number": first["number"]}))["status"] == "applied"
    refused = await p.device.send("receipt.attach_official", {
        "number": first["number"], "official_number": "粤财0001"})
    assert refused["code"] == "forbidden"  # staff may not; a manager attaches it
    second = p.next_receipt()
    reissued = await p.device.send("receipt.reissue", {
        "number": first["number"], "new_number": second["number"], "code": second["code"],
        "reason": "捐赠人姓名写错"})
    assert reissued["status"] == "applied"
    stale = await p.device.send("receipt.reprint", {"number": first["number"]})
    assert stale["code"] == "receipt_not_in_force"
    official = await world.manager.send("receipt.attach_official", {
        "number": second["number"], "official_number": "粤财0001"})
    assert official["status"] == "applied"
    view = await fresh_snapshot(api, await api.token("staff1", "staff", station=STATION))
    old, new = view[("receipt", first["number"])], view[("receipt", second["number"])]
    assert old["status"] == "replaced" and old["replaced_by"] == second["number"]
    assert old["reprints"] == 2
    assert [h["action"] for h in old["history"]] == ["issued", "reprinted", "reprinted", "replaced"]
    assert new["replaces"] == first["number"] and new["official_number"] == "粤财0001"
    withdrawn = await p.device.send("receipt.withdraw", {"number": second["number"],
                                                          "reason": "捐赠人退回"})
    assert withdrawn["status"] == "applied"
    page = await api.http.get(f"/api/v1/public/receipts/{second['number']}",
                              params={"code": second["code"]})
    assert page.status_code == 200 and page.json()["status"] == "withdrawn"


async def test_small_correction_applies_at_once_and_large_one_needs_a_second_person(api: Api) -> None:
    world = await build_world(api)
    p = await phone(world, "staff2")
    donation_id = new_id()
    await p.device.send("donation.record", money(donation_id, 100_000, fund_id=world.fund_id))
    small = await p.device.send("donation.correct", {
        "id": new_id(), "donation_id": donation_id, "action": "correct",
        "new_amount_fen": 99_000, "reason": "多记了十元"})
    assert small["status"] == "applied"
    assert (await fund_row(api, world.fund_id))["balance_fen"] == 99_000
    large_id = new_id()
    large = await p.device.send("donation.correct", {
        "id": large_id, "donation_id": donation_id, "action": "correct",
        "new_amount_fen": 9_000, "reason": "小数点错位"})
    assert large["status"] == "applied"
    assert (await fund_row(api, world.fund_id))["balance_fen"] == 99_000  # pending: books unchanged
    blocked = await p.device.send("donation.correct", {
        "id": new_id(), "donation_id": donation_id, "action": "void", "reason": "x"})
    assert blocked["code"] == "correction_pending"
    # The recorder (also the requester) may not approve, even with a manager token.
    self_approval = Device(api, await api.token("staff2", "manager", station=STATION))
    own = await self_approval.send("correction.decide", {"id": large_id, "decision": "approve"})
    assert own["code"] == "forbidden"
    staff_try = await world.staff.send("correction.decide", {"id": large_id, "decision": "approve"})
    assert staff_try["code"] == "forbidden"
    decided = await world.manager.send("correction.decide", {"id": large_id, "decision": "approve",
                                                              "note": "核对现金"})
    assert decided["status"] == "applied"
    assert (await fund_row(api, world.fund_id))["balance_fen"] == 9_000
    async with api.state.db.engine.connect() as conn:
        entries = (await conn.execute(
            select(ledger_entries.c.kind, ledger_entries.c.amount_fen, ledger_entries.c.account)
            .where(ledger_entries.c.fund_id == world.fund_id).order_by(ledger_entries.c.seq)
        )).all()
    assert [(k, a) for k, a, acc in entries if acc.startswith("fund:")] == [
        ("donation", 100_000), ("correction", -1_000), ("correction", -90_000)]


def test_names_are_masked_for_the_public() -> None:
    assert mask_name("张三") == "张*"
    assert mask_name("王小明") == "王**"
    assert mask_name("欧阳娜娜") == "欧**"
    assert mask_name("A") == "A*"


async def test_recording_needs_staff_of_the_station(api: Api) -> None:
    world = await build_world(api)
    volunteer = Device(api, await api.token("vol", "volunteer", station=STATION))
    result = await volunteer.send("receipt_series.claim", {"id": new_id(), "station": STATION})
    assert result["code"] == "forbidden"
    other = Device(api, await api.token("o", "staff", station=OTHER_STATION))
    assert (await other.send("donation.record", money(new_id(), 5, fund_id=world.fund_id)))[
        "code"] == "forbidden"
    district = Device(api, await api.token("dm2", "district_manager", district=DISTRICT))
    series = await claim_series(district)
    assert series.startswith(STATION)
    async with api.state.db.engine.connect() as conn:
        rejected = (await conn.execute(select(func.count()).select_from(mutations).where(
            mutations.c.status == "rejected"))).scalar()
    assert rejected == 2


async def test_donor_phone_numbers_reach_only_staff_of_the_station(api: Api) -> None:
    world = await build_world(api)
    p = await phone(world, "staff2")
    donation_id = new_id()
    await p.device.send("donation.record", money(donation_id, 300, fund_id=world.fund_id))
    volunteer = await fresh_snapshot(api, await api.token("v", "volunteer", station=STATION))
    assert not [k for k in volunteer if k[0] in ("donation", "receipt", "donation_correction")]
    district = await fresh_snapshot(api, await api.token("d", "district_manager", district=DISTRICT))
    assert district[("donation", donation_id)]["donor_phone"] == "13800138000"
    other = await fresh_snapshot(api, await api.token("o", "staff", station=OTHER_STATION))
    assert ("donation", donation_id) not in other
    funds_page = await api.http.get(f"/api/v1/public/funds/{world.fund_id}")
    assert "13800138000" not in funds_page.text and funds_page.json()["donations"][0]["donor"] == "爱心人士 / A donor"
    assert "张" not in funds_page.text  # not even a masked surname
    assert funds_page.json()["donations"][0]["station"] == "天河社工站"  # by name, not its code
    # a renamed station reads by its new name at once (the page's figures are cached)
    renamed = await world.admin.send("station.update", {"code": STATION, "fields": {"name": "石牌社工站"}})
    assert renamed["status"] == "applied", renamed
    again = await api.http.get(f"/api/v1/public/funds/{world.fund_id}")
    assert again.json()["donations"][0]["station"] == "石牌社工站"


async def test_undirected_gifts_go_to_the_station_fund_then_the_federation(api: Api) -> None:
    world = await build_world(api)
    p = await phone(world, "staff2")
    first = new_id()
    assert (await p.device.send("donation.record", money(first, 100)))["status"] == "applied"
    # A second station in the same district has no community fund of its own.
    await world.admin.send("station.create", {"code": "TH-002", "name": "二站", "district": DISTRICT})
    other = Device(api, await api.token("s9", "staff", station="TH-002"))
    unallocated = await other.send("donation.record", money(new_id(), 200, station="TH-002"))
    assert unallocated["status"] == "flagged" and unallocated["code"] == "donation_unallocated"
    general = new_id()
    created = await world.district.send("fund.create", {"id": general, "name": "天河区慈善会通用基金",
                                                        "district": DISTRICT})
    assert created["status"] == "applied"
    widened = await world.district.send("campaign.update", {
        "id": world.campaign_id, "fields": {"fund_ids": [world.fund_id, general]}})
    assert widened["status"] == "applied", widened
    later = new_id()
    batch = await other.push(other.m("donation.record", money(later, 300, station="TH-002")),
                             other.m("donation.record", money(new_id(), 400)))
    assert [r["status"] for r in batch["results"]] == ["applied", "rejected"]  # TH-001: not theirs
    async with api.state.db.engine.connect() as conn:
        placed = dict((await conn.execute(select(donations.c.id, donations.c.fund_id))).all())
    assert placed[first] == world.fund_id and placed[later] == general
    assert (await fund_row(api, general))["balance_fen"] == 300


async def test_an_unallocated_gift_is_booked_later_and_corrected_there(api: Api) -> None:
    world = await build_world(api)
    await world.admin.send("station.create", {"code": "TH-002", "name": "二站", "district": DISTRICT})
    staff = Device(api, await api.token("s9", "staff", station="TH-002"))
    gift = new_id()
    result = await staff.send("donation.record", money(gift, 2_000, station="TH-002"))
    assert result["code"] == "donation_unallocated"
    small_fix = await staff.send("donation.correct", {"id": new_id(), "donation_id": gift,
                                                      "action": "correct", "new_amount_fen": 1_800,
                                                      "reason": "点错"})
    assert small_fix["status"] == "applied"  # nothing booked yet: no ledger movement
    allocate = {"id": new_id(), "donation_id": gift, "fund_id": world.fund_id,
                "project_id": world.project_id}
    assert (await staff.send("donation.allocate", allocate))["code"] == "forbidden"
    assert (await world.district.send("donation.allocate", allocate))["status"] == "applied"
    again = await world.district.send("donation.allocate", {**allocate, "id": new_id()})
    assert again["code"] == "already_allocated"
    fund = await fund_row(api, world.fund_id)
    assert fund["balance_fen"] == 1_800
    void = await staff.send("donation.correct", {"id": new_id(), "donation_id": gift,
                                                 "action": "void", "reason": "退款"})
    assert void["status"] == "applied"
    assert (await fund_row(api, world.fund_id))["balance_fen"] == 0
    manager = api.auth(await api.token("dm", "district_manager", district=DISTRICT))
    export = await api.http.get("/api/v1/exports/donations.csv", headers=manager)
    assert "天河社区慈善基金" in export.content.decode("utf-8-sig")
    assert "耆乐安居" in export.content.decode("utf-8-sig")
