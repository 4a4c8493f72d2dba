"""Personal data on public pages, erasure (PIPL) with a fund ledger that still verifies,
and the public fund page's cache and pages (SQLite and PostgreSQL)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select, update

import server.reports
from server.domain.funds import ledger_entries
from sync.tables import metadata
from tests.conftest import Api
from tests.devices import Device, fresh_snapshot
from tests.donation_setup import DISTRICT, STATION, build_world, money, phone, raise_also
from tests.helpers import new_id

pytestmark = pytest.mark.anyio

NAME, PHONE = "王小红", "13912345678"
TRACES = (NAME, PHONE, "3 栋")


async def everything_stored(api: Api) -> str:
    """Every row of every table (records, change feed with its wire JSON, users, ...)."""
    dump = []
    async with api.state.db.engine.connect() as conn:
        for table in metadata.sorted_tables:
            dump.extend(str(tuple(r)) for r in await conn.execute(select(table)))
    return "\n".join(dump)


def no_trace(text: str, where: str) -> None:
    for trace in TRACES:
        assert trace not in text, f"{trace!r} still in {where}"


async def test_erasing_a_donor_leaves_no_trace_and_every_fund_still_verifies(api: Api) -> None:
    world = await build_world(api, seed_fen=50_000)
    second_fund = new_id()
    made = await world.district.send("fund.create", {
        "id": second_fund, "name": "天河区慈善总基金", "district": DISTRICT, "purpose": "全区"})
    assert made["status"] == "applied"
    await raise_also(world, second_fund)
    p = await phone(world, "staff2")
    donor = {"name": NAME, "phone": PHONE, "wants_receipt": True, "public_name_consent": True}
    gift_a, gift_b, other = new_id(), new_id(), new_id()
    for args in (
        money(gift_a, 10_000, project_id=world.project_id, receipt=p.next_receipt(), donor=donor),
        {**money(gift_b, 20_000, fund_id=second_fund, receipt=p.next_receipt(), donor=donor),
         "note": f"{NAME} 住在 3 栋"},
        money(other, 7_000, fund_id=world.fund_id),
    ):
        assert (await p.device.send("donation.record", args))["status"] == "applied"
    fix = await p.device.send("donation.correct", {
        "id": new_id(), "donation_id": gift_a, "action": "correct", "new_amount_fen": 8_000,
        "reason": f"{NAME} {PHONE} 多记了二十元", "category": "entry_error"})
    assert fix["status"] == "applied"
    funds = (world.fund_id, second_fund)
    # A manager's phone holds the records (names, phones, ledger notes) before the erasure.
    holder = world.district
    await holder.pull()
    assert NAME in str(holder.replica) and PHONE in str(holder.replica)
    before = {f: (await api.http.get(f"/api/v1/public/funds/{f}")).json() for f in funds}
    assert NAME in [g["donor"] for g in before[world.fund_id]["donations"]]  # consented
    assert before[world.fund_id]["corrections"][0]["category_label"] == "录入错误 / entry error"
    public_fixes = str(before[world.fund_id]["corrections"])  # the category, not the reason
    assert PHONE not in public_fixes and "多记了" not in public_fixes

    # Only an admin finds and erases people.
    dm_auth = api.auth(world.district.token)
    assert (await api.http.get("/api/v1/admin/erasure/search", params={"q": PHONE},
                               headers=dm_auth)).status_code == 403
    refused = await api.http.post("/api/v1/admin/erasure", headers=dm_auth, json={
        "subject": "donor", "reason": "subject_request", "donation_ids": [gift_a, gift_b]})
    assert refused.status_code == 403
    assert NAME in await everything_stored(api)

    admin_auth = api.auth(world.admin.token)
    found = (await api.http.get("/api/v1/admin/erasure/search", params={"q": PHONE},
                                headers=admin_auth)).json()
    (group,) = found["donors"]
    assert sorted(group["donation_ids"]) == sorted([gift_a, gift_b])
    assert PHONE not in str(found)  # the confirmation shows a masked number
    done = await api.http.post("/api/v1/admin/erasure", headers=admin_auth, json={
        "subject": "donor", "reason": "subject_request", "donation_ids": group["donation_ids"]})
    assert done.status_code == 200, done.text
    assert done.json()["changed"]["donations"] == 2 and done.json()["changed"]["corrections"] == 1

    no_trace(await everything_stored(api), "the database (records and change feed)")
    for f in funds:
        after = (await api.http.get(f"/api/v1/public/funds/{f}")).json()
        page = (await api.http.get(f"/public/funds/{f}")).text
        no_trace(str(after) + page, f"the public pages of fund {f}")
        for total in ("income_fen", "spending_fen", "balance_fen"):
            assert after[total] == before[f][total]
        verified = (await api.http.get(f"/api/v1/public/funds/{f}/verify")).json()
        assert verified["ok"] is True, verified["problems"]
    shown = (await api.http.get(f"/api/v1/public/funds/{world.fund_id}")).json()["donations"]
    assert [g["donor"] for g in shown] == ["爱心人士 / A donor"] * 2
    for path in ("/api/v1/exports/donations.csv", "/api/v1/exports/donations.xlsx",
                 f"/api/v1/exports/funds/{world.fund_id}/statement.csv"):
        export = await api.http.get(path, headers=admin_auth)
        assert export.status_code == 200
        assert NAME.encode() not in export.content and PHONE.encode() not in export.content
    # The phone that held them receives the erased versions: no trace, same as a fresh pull.
    await holder.pull()
    no_trace(str(holder.replica), "the manager's phone")
    assert holder.replica == await fresh_snapshot(api, holder.token)
    await p.device.pull()
    no_trace(str(p.device.replica), "the staff phone")
    # The money stays: the gifts, the correction and the receipts are still there.
    snapshot = await fresh_snapshot(api, holder.token)
    assert snapshot[("donation", gift_b)]["amount_fen"] == 20_000
    assert snapshot[("donation", gift_b)]["donor_anonymous"] is True

    # Tampering with an amount after the erasure still breaks the chain.
    async with api.state.db.engine.begin() as conn:
        await conn.execute(update(ledger_entries).where(
            ledger_entries.c.donation_id == gift_b).values(
                amount_fen=ledger_entries.c.amount_fen * 2))
    broken = (await api.http.get(f"/api/v1/public/funds/{second_fund}/verify")).json()
    assert broken["ok"] is False
    assert any("does not match its hash" in problem for problem in broken["problems"])


async def test_an_erased_note_cannot_be_put_back_or_altered_unseen(api: Api) -> None:
    world = await build_world(api, seed_fen=10_000)
    p = await phone(world, "staff2")
    gift = new_id()
    await p.device.send("donation.record", money(gift, 3_000, fund_id=world.fund_id))
    await p.device.send("donation.correct", {"id": new_id(), "donation_id": gift,
                                             "action": "void", "reason": "重复登记"})
    verify = f"/api/v1/public/funds/{world.fund_id}/verify"
    async with api.state.db.engine.begin() as conn:  # a note edited behind the app's back
        await conn.execute(update(ledger_entries).where(ledger_entries.c.kind == "void")
                           .values(note="改过的说明"))
    report = (await api.http.get(verify)).json()
    assert report["ok"] is False
    assert any("its note does not match the note's digest" in x for x in report["problems"])


async def test_erasing_a_volunteer_keeps_their_hours_and_removes_their_name(api: Api) -> None:
    world = await build_world(api)
    volunteer = Device(api, await api.token("vol-77", "volunteer", station=STATION))
    registered = await world.staff.send("volunteer.register", {
        "user_id": "vol-77", "name": "赵志愿", "phone": "13700001111", "stations": [STATION]})
    assert registered["status"] == "applied", registered
    await volunteer.pull()
    assert "赵志愿" in str(volunteer.replica)
    admin_auth = api.auth(world.admin.token)
    found = (await api.http.get("/api/v1/admin/erasure/search", params={"q": "赵志愿"},
                                headers=admin_auth)).json()
    assert [p["user_id"] for p in found["people"]] == ["vol-77"]
    done = await api.http.post("/api/v1/admin/erasure", headers=admin_auth, json={
        "subject": "person", "reason": "subject_request", "user_id": "vol-77"})
    assert done.status_code == 200, done.text
    stored = await everything_stored(api)
    assert "赵志愿" not in stored and "13700001111" not in stored
    staff_view = await fresh_snapshot(api, world.manager.token)
    assert staff_view[("volunteer", "vol-77")]["name"] == "已删除 / erased"
    again = await api.http.post("/api/v1/admin/erasure", headers=admin_auth, json={
        "subject": "person", "reason": "subject_request", "user_id": "vol-77"})
    assert again.status_code == 404


async def test_the_fund_page_verifies_once_per_chain_head_and_pages_its_gifts(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = await build_world(api, seed_fen=10_000)
    p = await phone(world, "staff2")
    batch = [p.device.m("donation.record", money(new_id(), 100 + i, fund_id=world.fund_id))
             for i in range(120)]
    assert {r["status"] for r in (await p.device.push(*batch))["results"]} == {"applied"}
    calls: list[str] = []
    real = server.reports.verify_fund

    async def counting(conn: Any, fund_id: str) -> Any:
        calls.append(fund_id)
        return await real(conn, fund_id)

    monkeypatch.setattr(server.reports, "verify_fund", counting)
    url = f"/public/funds/{world.fund_id}"
    first = await api.http.get(url)
    assert first.status_code == 200 and len(calls) == 1
    for _ in range(3):
        assert (await api.http.get(url)).status_code == 200
    assert (await api.http.get(f"/api/v1/public/funds/{world.fund_id}")).status_code == 200
    assert len(calls) == 1  # the next views did not re-verify
    body = (await api.http.get(f"/api/v1/public/funds/{world.fund_id}")).json()
    assert body["donations_total"] == 120 and body["pages"] == 3 and len(body["donations"]) == 50
    assert body["donations"][0]["amount_fen"] == 100 + 119  # newest first
    last = (await api.http.get(f"/api/v1/public/funds/{world.fund_id}", params={"page": 3})).json()
    assert len(last["donations"]) == 20 and last["donations"][-1]["amount_fen"] == 100
    assert 'href="?page=2#gifts"' in first.text and "第 1 / 3 页" in first.text
    assert (await api.http.get(url, params={"page": 0})).status_code == 400
    # A new gift moves the head: the next view computes and verifies afresh.
    await p.device.send("donation.record", money(new_id(), 4_321, fund_id=world.fund_id))
    fresh = (await api.http.get(f"/api/v1/public/funds/{world.fund_id}")).json()
    assert len(calls) == 2 and fresh["donations_total"] == 121
    assert fresh["donations"][0]["amount_fen"] == 4_321
    assert all(len(g["at"]) == 10 for g in fresh["donations"])  # to the day, not the minute


async def test_erasing_a_donor_rewrites_the_large_gift_notification_that_named_them(
        api: Api) -> None:
    """A large gift by a donor who consented to be named puts their name in managers'
    inboxes (synced records) and in the notification outbox; erasure takes it out of both,
    and the manager's phone receives the rewritten notification."""
    from server.notify.worker import Notifier
    from sync.timeutil import utc_now

    world = await build_world(api, seed_fen=50_000)
    p = await phone(world, "staff2")
    donor = {"name": NAME, "phone": PHONE, "wants_receipt": True, "public_name_consent": True}
    gift = new_id()
    recorded = await p.device.send("donation.record", money(
        gift, 600_000, fund_id=world.fund_id, receipt=p.next_receipt(), donor=donor))
    assert recorded["status"] == "applied"
    notifier = Notifier(api.state)
    await notifier.open()
    try:
        await notifier.tick(utc_now())
    finally:
        await notifier.stop()
    await world.manager.pull()
    notes = [r for (kind, _), r in world.manager.replica.items() if kind == "notification"]
    assert any(NAME in str(n["body"]) for n in notes), notes  # named, as consented
    assert NAME in await everything_stored(api)

    done = await api.http.post("/api/v1/admin/erasure", headers=api.auth(world.admin.token),
                               json={"subject": "donor", "reason": "subject_request",
                                     "donation_ids": [gift]})
    assert done.status_code == 200, done.text
    assert done.json()["changed"]["notifications"] >= 1
    no_trace(await everything_stored(api), "the database (inbox records and outbox)")
    await world.manager.pull()
    notes = [r for (kind, _), r in world.manager.replica.items() if kind == "notification"]
    assert notes and all(NAME not in str(n) for n in notes)
    assert any("爱心人士" in str(n["body"]) for n in notes)
    assert world.manager.replica == await fresh_snapshot(api, world.manager.token)
