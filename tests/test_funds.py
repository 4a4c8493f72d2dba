"""Community funds: double entry, restricted gifts, request -> approve -> pay with
separation of duties, and the tamper-evident ledger (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import delete, func, select, update

from schemas.events import EVENTS, event_data
from server.domain.funds import disbursements, funds, ledger_entries, verify_fund
from tests.conftest import Api
from tests.devices import Device
from tests.donation_setup import DISTRICT, STATION, World, build_world, money, phone
from tests.helpers import new_id

pytestmark = pytest.mark.anyio


async def balance(api: Api, fund_id: str) -> tuple[int, int]:
    async with api.state.db.engine.connect() as conn:
        row = (await conn.execute(select(funds.c.balance_fen, funds.c.reserved_fen)
                                  .where(funds.c.id == fund_id))).one()
    return int(row[0]), int(row[1])


async def request(world: World, project_id: str, amount: int, by: Device | None = None
                  ) -> tuple[str, dict[str, Any]]:
    disbursement_id = new_id()
    result = await (by or world.staff).send("disbursement.request", {
        "id": disbursement_id, "fund_id": world.fund_id, "project_id": project_id,
        "amount_fen": amount, "payee": "耆乐安居服务队", "purpose": "上门适老化改造"})
    return disbursement_id, result


async def test_every_movement_is_a_pair_and_balances_come_from_the_ledger(api: Api) -> None:
    world = await build_world(api, seed_fen=100_000)
    p = await phone(world, "staff2")
    await p.device.send("donation.record", money(new_id(), 5_000, fund_id=world.fund_id))
    await p.device.send("donation.record", money(new_id(), 7_000, project_id=world.project_id))
    async with api.state.db.engine.connect() as conn:
        pairs = (await conn.execute(
            select(ledger_entries.c.movement_id, func.count(), func.sum(ledger_entries.c.amount_fen))
            .group_by(ledger_entries.c.movement_id))).all()
        fund_side = (await conn.execute(
            select(func.sum(ledger_entries.c.amount_fen))
            .where(ledger_entries.c.account.like("fund:%")))).scalar()
        report = await verify_fund(conn, world.fund_id)
    assert len(pairs) == 3 and all(count == 2 and total == 0 for _, count, total in pairs)
    assert fund_side == 112_000 == (await balance(api, world.fund_id))[0]
    assert report is not None and report.ok and report.entries == 6


async def test_disbursement_that_would_overdraw_is_refused_with_the_figures(api: Api) -> None:
    world = await build_world(api, seed_fen=30_000)
    _, result = await request(world, world.project_id, 30_001)
    assert result["status"] == "rejected" and result["code"] == "fund_insufficient"
    assert "300.00" in result["message"]["zh"] and "300.01" in result["message"]["en"]
    async with api.state.db.engine.connect() as conn:
        assert (await conn.execute(select(func.count()).select_from(disbursements))).scalar() == 0
    # Approved, unpaid requests count against what is left.
    first, ok = await request(world, world.project_id, 20_000)
    assert ok["status"] == "applied"
    assert (await world.district.send("disbursement.decide", {"id": first, "decision": "approve"})
            )["status"] == "applied"
    assert await balance(api, world.fund_id) == (30_000, 20_000)
    _, second = await request(world, world.project_id, 10_001)
    assert second["code"] == "fund_insufficient"


async def test_a_directed_gift_cannot_be_spent_on_another_purpose(api: Api) -> None:
    world = await build_world(api)
    p = await phone(world, "staff2")
    await p.device.send("donation.record", money(new_id(), 50_000, project_id=world.project_id))
    _, elsewhere = await request(world, world.other_project_id, 10_000)
    assert elsewhere["status"] == "rejected" and elsewhere["code"] == "restricted_funds"
    assert "定向" in elsewhere["message"]["zh"] and "directed" in elsewhere["message"]["en"]
    _, ok = await request(world, world.project_id, 50_000)
    assert ok["status"] == "applied"


async def test_request_approve_pay_with_separation_of_duties(api: Api) -> None:
    world = await build_world(api, seed_fen=40_000)
    p = await phone(world, "staff2")
    await p.device.send("donation.record", money(new_id(), 10_000, project_id=world.project_id))
    disbursement_id, ok = await request(world, world.project_id, 25_000)
    assert ok["status"] == "applied"
    decide = {"id": disbursement_id, "decision": "approve", "note": "符合项目预算"}
    # The station's own manager holds no money: the federation approves.
    assert (await world.manager.send("disbursement.decide", decide))["code"] == "forbidden"
    requester_as_dm = Device(api, await api.token("staff1", "district_manager", district="天河区"))
    assert (await requester_as_dm.send("disbursement.decide", decide))["code"] == "forbidden"
    not_yet = await world.admin.send("disbursement.pay", {"id": disbursement_id, "reference": "x"})
    assert not_yet["code"] == "not_approved"
    assert (await world.district.send("disbursement.decide", decide))["status"] == "applied"
    approver_pays = await world.district.send("disbursement.pay", {"id": disbursement_id,
                                                                   "reference": "x"})
    assert approver_pays["code"] == "forbidden" and "职责分离" in approver_pays["message"]["zh"]
    paid = await world.admin.send("disbursement.pay", {"id": disbursement_id,
                                                       "reference": "工行转账 0042"})
    assert paid["status"] == "applied"
    assert await balance(api, world.fund_id) == (25_000, 0)
    async with api.state.db.engine.connect() as conn:
        rows = (await conn.execute(
            select(ledger_entries.c.account, ledger_entries.c.amount_fen)
            .where(ledger_entries.c.kind == "disbursement").order_by(ledger_entries.c.seq))).all()
    # The project's restricted money is spent first, the rest from the general pool.
    assert [tuple(r) for r in rows] == [
        (f"fund:project:{world.project_id}", -10_000), (f"paid:project:{world.project_id}", 10_000),
        ("fund:general", -15_000), (f"paid:project:{world.project_id}", 15_000)]
    disclosure = (await api.http.get(f"/api/v1/public/funds/{world.fund_id}")).json()
    # The public sees the purpose category and "a beneficiary", never the payee's name
    # (a person's, by default) nor the bank reference.
    assert [(p["amount_fen"], p["category_label"], p["payee"])
            for p in disclosure["disbursements"]] == [
        (25_000, "项目支出 / project spending", "受助人 / beneficiary")]
    page = (await api.http.get(f"/public/funds/{world.fund_id}")).text
    for private in ("耆乐安居服务队", "工行转账", "0042", "上门适老化改造"):
        assert private not in page and private not in str(disclosure)
    assert disclosure["spending_fen"] == 25_000 and disclosure["balance_fen"] == 25_000
    # By project: the project's own (directed) money and the fund's share, so a project that
    # spent more than was directed to it does not read as overspent.
    project = next(p for p in disclosure["by_project"] if p["project_id"] == world.project_id)
    assert (project["income_fen"], project["spending_fen"], project["spent_from_directed_fen"],
            project["spent_from_general_fen"]) == (10_000, 25_000, 10_000, 15_000)
    page = (await api.http.get(f"/public/funds/{world.fund_id}")).text
    assert "项目定向款" in page and "基金统筹" in page and "fund's share" in page
    again = await Device(api, await api.token("fin2", "admin")).send(
        "disbursement.pay", {"id": disbursement_id, "reference": "y"})
    assert again["code"] == "not_approved"


async def test_altering_a_ledger_row_directly_breaks_the_chain(api: Api) -> None:
    world = await build_world(api, seed_fen=10_000)
    # a fund with no entry yet shows no head: a line of zeros is not a hash to check
    empty = new_id()
    assert (await world.district.send("fund.create", {
        "id": empty, "name": "新设基金", "district": DISTRICT}))["status"] == "applied"
    blank = await api.http.get(f"/public/funds/{empty}")
    assert "尚无账目" in blank.text and "0" * 64 not in blank.text
    p = await phone(world, "staff2")
    for amount in (1_000, 2_000, 3_000):
        await p.device.send("donation.record", money(new_id(), amount, fund_id=world.fund_id))
    verify = f"/api/v1/public/funds/{world.fund_id}/verify"
    good = (await api.http.get(verify)).json()
    assert good["ok"] is True and good["head_seq"] == 8 and good["problems"] == []
    page = await api.http.get(f"/public/funds/{world.fund_id}")
    assert good["head_hash"] in page.text and "账本校验通过" in page.text
    async with api.state.db.engine.begin() as conn:
        # Someone with database access turns a 2,000 fen gift into 200 and moves the
        # counter entry too, so the pair still balances: only the chain notices.
        await conn.execute(update(ledger_entries).where(
            ledger_entries.c.seq.in_([5, 6]), ledger_entries.c.fund_id == world.fund_id
        ).values(amount_fen=ledger_entries.c.amount_fen / 10))
    bad = (await api.http.get(verify)).json()
    assert bad["ok"] is False
    assert any("seq 5: content does not match its hash" in p for p in bad["problems"])
    # The page trusts its verification of this head for a while (no head moved)...
    api.state.disclosures.ttl_seconds = 0
    # ...and re-verifies once that has passed.
    page = await api.http.get(f"/public/funds/{world.fund_id}")
    assert "账本校验失败" in page.text


async def test_removing_the_last_entries_is_seen_against_the_published_head(api: Api) -> None:
    world = await build_world(api, seed_fen=10_000)
    p = await phone(world, "staff2")
    await p.device.send("donation.record", money(new_id(), 1_000, fund_id=world.fund_id))
    async with api.state.db.engine.begin() as conn:
        await conn.execute(delete(ledger_entries).where(ledger_entries.c.seq > 2))
        report = await verify_fund(conn, world.fund_id)
    assert report is not None and not report.ok
    assert "the chain does not end at the fund's published head" in report.problems


async def test_concurrent_appends_to_one_fund_keep_one_unbroken_chain(api: Api) -> None:
    """Several phones pushing at once: on PostgreSQL the fund row lock serialises the
    appends (the chain never forks); on SQLite the single writer does."""
    world = await build_world(api)
    phones = [await phone(world, f"staff{n}") for n in range(2, 6)]

    async def burst(p: Any) -> None:
        batch = [p.device.m("donation.record", money(new_id(), 100 + i, fund_id=world.fund_id))
                 for i in range(20)]
        body = await p.device.push(*batch)
        assert {r["status"] for r in body["results"]} == {"applied"}

    await asyncio.gather(*(burst(p) for p in phones))
    async with api.state.db.engine.connect() as conn:
        report = await verify_fund(conn, world.fund_id)
    assert report is not None and report.ok, report.problems
    assert report.entries == 4 * 20 * 2
    assert report.balance_fen == 4 * sum(100 + i for i in range(20))


async def test_only_the_federation_creates_funds_and_seeds_them(api: Api) -> None:
    world = await build_world(api)
    fund = {"id": new_id(), "name": "城市基金", "station": STATION}
    assert (await world.manager.send("fund.create", fund))["code"] == "forbidden"
    assert (await world.district.send("fund.create", fund))["code"] == "forbidden"  # city fund
    assert (await world.admin.send("fund.create", fund))["status"] == "applied"
    seed = {"id": new_id(), "fund_id": world.fund_id, "amount_fen": 1_000}
    assert (await world.manager.send("fund.seed", seed))["code"] == "forbidden"
    assert (await world.district.send("fund.seed", seed))["status"] == "applied"


AGREED = {
    "donation.recorded": {"donation_id", "station", "district", "event_id", "kind", "amount_fen",
                          "donor_display"},
    "correction.awaiting_approval": {"correction_id", "donation_id", "station", "district",
                                     "amount_fen", "requested_by"},
    "correction.decided": {"correction_id", "station", "district", "decision"},
    "fund.balance_changed": {"fund_id", "fund_name", "station", "district", "balance_fen",
                             "available_fen"},
    "disbursement.awaiting_approval": {"disbursement_id", "fund_id", "fund_name", "station",
                                       "district", "amount_fen", "requested_by"},
    "disbursement.decided": {"disbursement_id", "fund_id", "fund_name", "station", "district",
                             "amount_fen", "decision", "requested_by", "decided_by"},
}


async def test_agreed_domain_events_are_emitted_with_their_payloads(api: Api) -> None:
    heard: list[tuple[str, dict[str, Any]]] = []
    for kind in AGREED:
        async def handler(tx: Any, ctx: Any, event: Any, kind: str = kind) -> None:
            heard.append((kind, event_data(event)))
        api.state.registry.on(EVENTS[kind], handler)
    world = await build_world(api, seed_fen=100_000)
    p = await phone(world, "staff2")
    donation_id = new_id()
    donor = {"name": "张三", "phone": "13800138000", "wants_receipt": False}
    await p.device.send("donation.record", money(donation_id, 90_000, fund_id=world.fund_id,
                                                 event_id=world.event_id, donor=donor))
    correction_id = new_id()
    await p.device.send("donation.correct", {"id": correction_id, "donation_id": donation_id,
                                             "action": "void", "reason": "重复登记"})
    await world.manager.send("correction.decide", {"id": correction_id, "decision": "approve"})
    disbursement_id, _ = await request(world, world.project_id, 10_000)
    await world.district.send("disbursement.decide", {"id": disbursement_id, "decision": "approve"})
    for kind, data in heard:
        assert set(data) == AGREED[kind], kind
        assert data["station"] == STATION and data["district"] == "天河区"
    kinds = [k for k, _ in heard]
    assert set(kinds) == set(AGREED)
    recorded = next(d for k, d in heard if k == "donation.recorded")
    assert recorded == {"donation_id": donation_id, "station": STATION, "district": "天河区",
                        "event_id": world.event_id, "kind": "money", "amount_fen": 90_000,
                        "donor_display": "爱心人士 / A donor"}
    waiting = next(d for k, d in heard if k == "correction.awaiting_approval")
    assert waiting["amount_fen"] == 90_000 and waiting["requested_by"] == "staff2"
    assert next(d for k, d in heard if k == "correction.decided")["decision"] == "approved"
    balances = [d for k, d in heard if k == "fund.balance_changed"]
    # seed, gift, void, approval reserving 10,000
    assert [(d["balance_fen"], d["available_fen"]) for d in balances] == [
        (100_000, 100_000), (190_000, 190_000), (100_000, 100_000), (100_000, 90_000)]
