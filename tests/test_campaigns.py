"""Fundraising campaigns and matched giving (issue 16, docs/campaigns.md), on SQLite and
PostgreSQL: a gift outside an open campaign is refused and nothing of it written; the
receipt names the organisation that holds the money; the campaign's page and poster
show what the law asks; a sponsor's total cap holds when two phones' gifts arrive
together; a correction or void gives the match back."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from server.domain.campaigns import (
    OFFLINE_GRACE_DAYS,
    campaign_totals,
    campaigns,
    gift_matches,
    match_id,
    matching_rules,
)
from server.domain.donations import donations, receipts
from server.domain.funds import ledger_entries, verify_fund
from server.reports import fund_disclosure, progress_percent
from tests.conftest import Api
from tests.devices import Device
from tests.donation_setup import DISTRICT, OTHER_STATION, World, build_world, money, phone
from tests.helpers import campaign_args, new_id, stamp

pytestmark = pytest.mark.anyio
SHANGHAI = dt.timezone(dt.timedelta(hours=8))


def _day(offset: int = 0) -> str:
    return (dt.datetime.now(SHANGHAI).date() + dt.timedelta(days=offset)).isoformat()


def _ms(days_ago: int) -> int:
    return int(time.time() * 1000) - days_ago * 86_400_000


async def _count(api: Api, table: Any, *where: Any) -> int:
    async with api.state.db.engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(table).where(*where))).scalar() or 0)


def _refused(result: dict[str, Any], code: str) -> None:
    assert result["status"] == "rejected" and result["code"] == code, result
    assert result["message"]["zh"] and result["message"]["en"], result


async def test_a_gift_outside_an_open_campaign_is_refused_and_nothing_is_written(api: Api) -> None:
    world = await build_world(api)
    p = await phone(world, "staff2")
    closed = new_id()
    made = await world.district.send("campaign.create", campaign_args(
        closed, [world.fund_id], starts_on="2024-01-01", ends_on="2024-03-31"))
    assert made["status"] == "applied", made
    # named, but closed on the gift's date
    gift = new_id()
    receipt = p.next_receipt()
    _refused(await p.device.send("donation.record", {**money(gift, 500, receipt=receipt),
                                                     "campaign": closed}), "campaign_closed")
    # a fund the open campaign does not raise for
    other_fund = new_id()
    assert (await world.district.send("fund.create", {
        "id": other_fund, "name": "天河助学基金", "district": DISTRICT}))["status"] == "applied"
    _refused(await p.device.send("donation.record", money(new_id(), 500, fund_id=other_fund)),
             "campaign_not_for_fund")
    # a station with no campaign at all (another district)
    yx = Device(api, await api.token("yx", "staff", station=OTHER_STATION))
    _refused(await yx.send("donation.record", money(new_id(), 500, station=OTHER_STATION)),
             "no_open_campaign")
    # an unknown campaign
    _refused(await p.device.send("donation.record", {**money(new_id(), 500), "campaign": new_id()}),
             "not_found")
    # nothing of the refused gifts was written: no donation, receipt or ledger entry
    assert await _count(api, donations) == 0
    assert await _count(api, receipts) == 0
    assert await _count(api, ledger_entries) == 0
    # the same gift in the open campaign is taken, and records its campaign
    ok = await p.device.send("donation.record", money(new_id(), 500, receipt=p.next_receipt()))
    assert ok["status"] == "applied", ok
    async with api.state.db.engine.connect() as conn:
        assert (await conn.execute(select(donations.c.campaign))).scalar() == world.campaign_id


async def test_two_open_campaigns_ask_the_phone_to_choose_and_the_event_decides(api: Api) -> None:
    world = await build_world(api)
    second = new_id()
    assert (await world.district.send("campaign.create", campaign_args(
        second, [world.fund_id], name="九九公益日")))["status"] == "applied"
    staff = world.staff
    _refused(await staff.send("donation.record", money(new_id(), 100)), "campaign_ambiguous")
    assert (await staff.send("event.update", {"id": world.event_id,
                                              "fields": {"campaign": second}}))["status"] == "applied"
    gift = new_id()
    assert (await staff.send("donation.record", money(gift, 100, event_id=world.event_id)))[
        "status"] == "applied"
    named = new_id()
    assert (await staff.send("donation.record", {**money(named, 100, event_id=world.event_id),
                                                 "campaign": world.campaign_id}))["status"] == "applied"
    async with api.state.db.engine.connect() as conn:
        got = dict((await conn.execute(select(donations.c.id, donations.c.campaign))).all())
    assert got == {gift: second, named: world.campaign_id}


async def test_an_offline_gift_made_while_open_is_taken_after_the_end(api: Api) -> None:
    """The phone's clock says the gift was made inside the period: accepted within the
    grace after the end; a gift stamped after the end, or synced too late, is refused."""
    world = await build_world(api)
    ended = new_id()
    assert (await world.district.send("campaign.create", campaign_args(
        ended, [world.fund_id], starts_on=_day(-10), ends_on=_day(-2))))["status"] == "applied"
    staff = world.staff
    queued = await staff.send("donation.record", {**money(new_id(), 300), "campaign": ended},
                              stamp=stamp(_ms(5), "phone"))
    assert queued["status"] == "applied", queued
    _refused(await staff.send("donation.record", {**money(new_id(), 300), "campaign": ended}),
             "campaign_closed")
    long_ago = new_id()
    assert (await world.district.send("campaign.create", campaign_args(
        long_ago, [world.fund_id], starts_on=_day(-OFFLINE_GRACE_DAYS - 40),
        ends_on=_day(-OFFLINE_GRACE_DAYS - 1))))["status"] == "applied"
    _refused(await staff.send("donation.record", {**money(new_id(), 300), "campaign": long_ago},
                              stamp=stamp(_ms(OFFLINE_GRACE_DAYS + 5), "phone")), "campaign_closed")


async def test_campaigns_are_set_up_by_the_federation_only(api: Api) -> None:
    world = await build_world(api)
    args = campaign_args(new_id(), [world.fund_id])
    _refused(await world.manager.send("campaign.create", args), "forbidden")
    _refused(await world.district.send("campaign.create", {**args, "district": None}), "forbidden")
    _refused(await world.district.send("campaign.create", {**args, "ends_on": "2019-01-01"}),
             "invalid_args")
    assert (await world.admin.send("campaign.create", args))["status"] == "applied"
    _refused(await world.manager.send("campaign.update", {"id": args["id"], "fields": {"name": "x"}}),
             "forbidden")


async def test_the_receipt_names_the_organisation_that_holds_the_money(api: Api) -> None:
    world = await build_world(api)
    p = await phone(world, "staff2")
    receipt = p.next_receipt()
    assert (await p.device.send("donation.record", money(new_id(), 8_800, receipt=receipt)))[
        "status"] == "applied"
    checked = await api.http.get(f"/api/v1/public/receipts/{receipt['number']}",
                                 params={"code": receipt["code"]})
    assert checked.status_code == 200
    campaign = checked.json()["campaign"]
    assert campaign["organisation"] == "广州市天河区慈善会"
    assert campaign["filing_number"] == "53440106MJK582938A25001"
    page = await api.http.get(f"/public/receipts/{receipt['number']}", params={"code": receipt["code"]})
    assert "善款由广州市天河区慈善会接收和管理" in page.text
    assert "53440106MJK582938A25001" in page.text and "市慈善总会" not in page.text


async def _matching(world: World, *, cap_total: int, cap_gift: int = 1_000_000, ratio: int = 100,
                    sponsor: str = "爱心企业甲", campaign: str | None = None) -> str:
    rule = new_id()
    cap_gift = min(cap_gift, cap_total)
    made = await world.district.send("matching_rule.create", {
        "id": rule, "sponsor": sponsor, "ratio_percent": ratio, "cap_per_gift_fen": cap_gift,
        "cap_total_fen": cap_total, "starts_on": _day(-1), "ends_on": _day(1),
        "campaign_ids": [campaign or world.campaign_id]})
    assert made["status"] == "applied", made
    return rule


async def test_the_campaign_page_shows_what_the_law_asks(api: Api) -> None:
    world = await build_world(api)
    await _matching(world, cap_total=50_000, cap_gift=20_000)
    assert (await world.district.send("campaign.update", {
        "id": world.campaign_id, "fields": {"target_fen": 1_000_000}}))["status"] == "applied"
    p = await phone(world, "staff2")
    assert (await p.device.send("donation.record", money(new_id(), 10_000)))["status"] == "applied"
    page = await api.http.get(f"/public/campaigns/{world.campaign_id}")
    assert page.status_code == 200
    for shown in ("广州市天河区慈善会", "53440106MJK582938A", "公开募捐资格", "穗民公募字〔2024〕012号",
                  "53440106MJK582938A25001", "为社区困难群众和社区服务项目募集资金",
                  "2020-01-01", "2099-12-31", "慈善中国", "cszg.mca.gov.cn", "收据查询",
                  "天河社区慈善基金", "配捐 · 爱心企业甲", "200.00", "100.00", "10,000.00"):
        assert shown in page.text, shown
    assert "<script>" not in page.text  # CSP: scripts only from files
    data = (await api.http.get(f"/api/v1/public/campaigns/{world.campaign_id}")).json()
    assert (data["gifts_fen"], data["matched_fen"], data["raised_fen"]) == (10_000, 10_000, 20_000)
    assert data["progress_percent"] == 2 and data["status"] == "open"
    assert "13800138000" not in page.text and "张三" not in page.text
    assert (await api.http.get(f"/public/campaigns/{new_id()}")).status_code == 404


async def test_the_poster_pdf_carries_the_filing_number_and_a_qr_code(api: Api) -> None:
    from pypdf import PdfReader

    world = await build_world(api)
    await _matching(world, cap_total=50_000, cap_gift=20_000)
    got = await api.http.get(f"/public/campaigns/{world.campaign_id}/poster.pdf")
    assert got.status_code == 200 and got.headers["content-type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(got.content))
    assert len(reader.pages) == 1
    text = reader.pages[0].extract_text().replace("\n", "")
    for shown in ("53440106MJK582938A25001", "53440106MJK582938A", "广州市天河区慈善会",
                  "公开募捐资格", "慈善中国", f"/public/campaigns/{world.campaign_id}",
                  "爱心企业甲", "2020-01-01"):
        assert shown in text, (shown, text)
    assert (await api.http.get(f"/public/campaigns/{new_id()}/poster.pdf")).status_code == 404


async def test_a_match_is_booked_with_the_gift_and_shown_as_from_the_sponsor(api: Api) -> None:
    world = await build_world(api)
    rule = await _matching(world, cap_total=100_000, cap_gift=3_000, ratio=50)
    p = await phone(world, "staff2")
    gift = new_id()
    assert (await p.device.send("donation.record", money(gift, 10_000)))["status"] == "applied"
    async with api.state.db.engine.connect() as conn:
        match = (await conn.execute(select(gift_matches))).mappings().one()
        assert (match["amount_fen"], match["rule_id"], match["donation_id"]) == (3_000, rule, gift)
        report = await verify_fund(conn, world.fund_id)
    assert report is not None and report.ok and report.balance_fen == 13_000
    fund = (await api.http.get(f"/api/v1/public/funds/{world.fund_id}")).json()
    donors = {g["donor"]: g["amount_fen"] for g in fund["donations"]}
    assert donors["配捐 · 爱心企业甲 / matched by 爱心企业甲"] == 3_000
    await p.device.pull()
    assert p.device.of_type("gift_match")[match_id(gift, rule)]["amount_fen"] == 3_000


async def test_a_correction_and_a_void_give_the_match_back(api: Api) -> None:
    world = await build_world(api)
    rule = await _matching(world, cap_total=5_000)
    p = await phone(world, "staff2")
    gift = new_id()
    assert (await p.device.send("donation.record", money(gift, 4_000)))["status"] == "applied"
    fixed = await p.device.send("donation.correct", {"id": new_id(), "donation_id": gift,
                                                     "action": "correct", "new_amount_fen": 1_000,
                                                     "reason": "多录了一个零"})
    assert fixed["status"] == "applied", fixed
    assert await _matched(api, rule) == 1_000
    # what came back is there for the next gift
    second = new_id()
    assert (await p.device.send("donation.record", money(second, 6_000)))["status"] == "applied"
    assert await _matched(api, rule) == 5_000
    before = await _campaign_totals(api, world)
    voided = await p.device.send("donation.correct", {"id": new_id(), "donation_id": second,
                                                      "action": "void", "reason": "重复"})
    assert voided["status"] == "applied", voided
    assert await _matched(api, rule) == 1_000
    async with api.state.db.engine.connect() as conn:
        report = await verify_fund(conn, world.fund_id)
        total = (await conn.execute(select(func.sum(gift_matches.c.amount_fen)))).scalar()
    assert report is not None and report.ok and report.balance_fen == 1_000 + 1_000
    assert total == 1_000
    # the campaign counts the gifts still standing; the fund's list marks the voided one
    after = await _campaign_totals(api, world)
    assert after["gifts"] == before["gifts"] - 1
    assert after["gifts_fen"] == before["gifts_fen"] - 6_000
    async with api.state.db.engine.connect() as conn:
        disclosure = await fund_disclosure(conn, world.fund_id)
    assert disclosure is not None
    marked = [g["amount_fen"] for g in disclosure["donations"] if g["voided"]]
    assert 6_000 in marked, marked  # the gift, and the sponsor's match of it beside
    assert any(g["voided"] and g["donor"].startswith("配捐") for g in disclosure["donations"]), marked
    assert 4_000 in [g["amount_fen"] for g in disclosure["donations"] if not g["voided"]]


async def _campaign_totals(api: Api, world: World) -> dict[str, Any]:
    async with api.state.db.engine.connect() as conn:
        campaign = (await conn.execute(select(campaigns).where(
            campaigns.c.id == world.campaign_id))).mappings().one()
        return await campaign_totals(conn, campaign)


def test_progress_never_reads_zero_once_something_is_raised() -> None:
    assert progress_percent(28_800, 5_000_000) == 0.6
    assert progress_percent(1, 5_000_000) == 0.1
    assert progress_percent(0, 5_000_000) == 0
    assert progress_percent(100_000, 5_000_000) == 2
    assert progress_percent(9_000_000, 5_000_000) == 100
    assert progress_percent(5, None) is None


async def _matched(api: Api, rule: str) -> int:
    async with api.state.db.engine.connect() as conn:
        rule_row = (await conn.execute(select(matching_rules.c.matched_fen).where(
            matching_rules.c.id == rule))).scalar()
        summed = (await conn.execute(select(func.coalesce(func.sum(gift_matches.c.amount_fen), 0))
                                     .where(gift_matches.c.rule_id == rule))).scalar()
        booked = (await conn.execute(select(func.coalesce(func.sum(ledger_entries.c.amount_fen), 0))
                                     .where(ledger_entries.c.account == f"sponsor:{rule}"))).scalar()
    assert int(rule_row) == int(summed) == -int(booked)  # the rule, its matches and the ledger agree
    return int(rule_row)


async def test_two_phones_gifts_arriving_together_never_pass_the_total_cap(api: Api) -> None:
    """Several phones push at once (separate transactions and, on PostgreSQL, separate
    connections): each gift alone would take the whole cap; together they take exactly it."""
    world = await build_world(api)
    # gifts to two funds: the funds' row locks do not serialise them, only the rule's can
    second = new_id()
    assert (await world.district.send("fund.create", {
        "id": second, "name": "天河区慈善会通用基金", "district": DISTRICT}))["status"] == "applied"
    assert (await world.district.send("campaign.update", {
        "id": world.campaign_id, "fields": {"fund_ids": [world.fund_id, second]}}))["status"] == "applied"
    cap = 10_000
    rule = await _matching(world, cap_total=cap)
    phones = [await phone(world, f"s{i}") for i in range(4)]
    funds = [world.fund_id, second]
    batches = [p.device.push(*(p.device.m("donation.record", money(
        new_id(), 4_000 + i, fund_id=funds[n % 2])) for i in range(3)))
        for n, p in enumerate(phones)]
    results = await asyncio.gather(*batches)
    assert all(r["status"] == "applied" for body in results for r in body["results"]), results
    assert await _matched(api, rule) == cap
    async with api.state.db.engine.connect() as conn:
        for fund_id in funds:
            report = await verify_fund(conn, fund_id)
            assert report is not None and report.ok


_WORLDS: dict[int, World] = {}


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(
    cap=st.integers(1, 20_000), cap_gift=st.integers(1, 20_000), ratio=st.integers(1, 300),
    gifts=st.lists(st.tuples(st.integers(1, 30_000), st.sampled_from(["keep", "fix", "void"])),
                   min_size=1, max_size=6),
)
async def test_matches_never_exceed_the_cap(api: Api, cap: int, cap_gift: int, ratio: int,
                                            gifts: list[tuple[int, str]]) -> None:
    """Any gifts, any caps, with corrections and voids: each match within its cap per gift,
    the rule's total within its cap, and the rule, its matches and the ledger agreeing."""
    if id(api) not in _WORLDS:  # one world per database; a fresh campaign and rule per example
        _WORLDS.clear()
        _WORLDS[id(api)] = await build_world(api)
    world = _WORLDS[id(api)]
    campaign = new_id()
    assert (await world.district.send("campaign.create", campaign_args(campaign, [world.fund_id])))[
        "status"] == "applied"
    total = max(cap, cap_gift)
    rule = await _matching(world, cap_total=total, cap_gift=cap_gift, ratio=ratio,
                           campaign=campaign)
    p = world.staff
    ids = [new_id() for _ in gifts]
    body = await p.push(*(p.m("donation.record", {**money(gift_id, amount), "campaign": campaign})
                          for gift_id, (amount, _) in zip(ids, gifts, strict=True)))
    assert all(r["status"] == "applied" for r in body["results"]), body
    for gift_id, (amount, what) in zip(ids, gifts, strict=True):
        if what == "fix" and amount > 1:
            await p.send("donation.correct", {"id": new_id(), "donation_id": gift_id,
                                              "action": "correct", "new_amount_fen": amount // 2,
                                              "reason": "更正"})
        elif what == "void":
            await p.send("donation.correct", {"id": new_id(), "donation_id": gift_id,
                                              "action": "void", "reason": "作废"})
    matched = await _matched(api, rule)
    assert 0 <= matched <= total
    async with api.state.db.engine.connect() as conn:
        each = [int(a) for (a,) in await conn.execute(
            select(gift_matches.c.amount_fen).where(gift_matches.c.rule_id == rule))]
        report = await verify_fund(conn, world.fund_id)
    assert all(0 <= a <= cap_gift for a in each)
    assert report is not None and report.ok


async def test_one_batch_sees_the_campaign_and_the_rule_it_creates_before_its_later_gifts(api: Api) -> None:
    """The open campaigns and the day's matching rules are read once per batch (a batch of
    gifts asks the same question each time); a campaign or rule written earlier in the
    same batch is seen by the gifts after it, and a rule's cap is read afresh per gift."""
    world = await build_world(api)
    other_fund = new_id()
    assert (await world.district.send("fund.create", {
        "id": other_fund, "name": "天河助学基金", "district": DISTRICT}))["status"] == "applied"
    admin = world.admin
    first, second, third, fourth = new_id(), new_id(), new_id(), new_id()
    rule = new_id()
    body = await admin.push(
        admin.m("donation.record", money(first, 10_000, fund_id=other_fund)),
        admin.m("campaign.create", campaign_args(new_id(), [other_fund])),
        admin.m("donation.record", money(second, 10_000, fund_id=other_fund)),
        admin.m("matching_rule.create", {
            "id": rule, "sponsor": "爱心企业乙", "ratio_percent": 100, "cap_per_gift_fen": 10_000,
            "cap_total_fen": 15_000, "starts_on": _day(-1), "ends_on": _day(1),
            "campaign_ids": [world.campaign_id]}),
        admin.m("donation.record", money(third, 10_000)),
        admin.m("donation.record", money(fourth, 10_000)),
    )
    statuses = [(r["status"], r.get("code")) for r in body["results"]]
    assert statuses[0] == ("rejected", "campaign_not_for_fund"), statuses
    assert [s for s, _c in statuses[1:]] == ["applied"] * 5, statuses
    async with api.state.db.engine.connect() as conn:
        matched = dict((await conn.execute(
            select(gift_matches.c.donation_id, gift_matches.c.amount_fen))).all())
        left = (await conn.execute(select(matching_rules.c.matched_fen)
                                   .where(matching_rules.c.id == rule))).scalar()
    # the cap holds across the batch: 10,000 then the 5,000 left, nothing for the gift before
    assert matched == {third: 10_000, fourth: 5_000}
    assert left == 15_000
    assert await _count(api, donations, donations.c.id == first) == 0
