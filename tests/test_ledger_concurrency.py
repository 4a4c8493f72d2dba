"""A fund's hash chain under many phones giving at once (SQLite and PostgreSQL): a gift's
ledger movement is appended at the end of its batch (``funds.post(late=True)``), the fund
locked only then, and the chain, the pairs and the balance still verify; movements that
lock the fund first (a correction's approval) mix with late ones in one batch; a
mutation that is not kept hands nothing to the end of the batch (``Tx.late``)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import func, select

from server.domain.funds import funds, ledger_entries, verify_fund
from sync.unit import Tx
from sync.write import run_unit
from tests.conftest import Api
from tests.donation_setup import build_world, money, phone
from tests.helpers import new_id

pytestmark = pytest.mark.anyio


async def _fund(api: Api, fund_id: str) -> dict[str, Any]:
    async with api.state.db.engine.connect() as conn:
        row = (await conn.execute(select(funds).where(funds.c.id == fund_id))).mappings().one()
        report = await verify_fund(conn, fund_id)
        per_gift = (await conn.execute(
            select(ledger_entries.c.donation_id, func.count()).where(
                ledger_entries.c.fund_id == fund_id, ledger_entries.c.kind == "donation")
            .group_by(ledger_entries.c.donation_id))).all()
    assert report is not None
    return {"row": dict(row), "report": report, "per_gift": dict(per_gift)}


async def test_phones_giving_to_one_fund_at_once_keep_one_verified_chain(api: Api) -> None:
    world = await build_world(api, seed_fen=1_000)
    phones = [await phone(world, f"giver{i}") for i in range(5)]
    sent: dict[str, int] = {}

    async def give(p: Any, rounds: int) -> None:
        for r in range(rounds):
            batch = []
            for k in range(6):
                gift = new_id()
                amount = 100 + 7 * r + k
                sent[gift] = amount
                # a fund gift and a project gift (the same fund, another account)
                args = (money(gift, amount, fund_id=world.fund_id) if k % 2 else
                        money(gift, amount, project_id=world.project_id))
                batch.append(p.device.m("donation.record", args))
            body = await p.device.push(*batch)
            assert [r["status"] for r in body["results"]] == ["applied"] * len(batch)

    await asyncio.gather(*(give(p, 4) for p in phones))
    state = await _fund(api, world.fund_id)
    report = state["report"]
    assert report.ok, report.problems
    assert report.entries == 2 + 2 * len(sent) == state["row"]["head_seq"]
    assert report.balance_fen == 1_000 + sum(sent.values()) == state["row"]["balance_fen"]
    assert state["per_gift"] == {gift: 2 for gift in sent}  # each gift exactly one pair


async def test_a_batch_mixing_a_locked_movement_and_late_gifts_verifies(api: Api) -> None:
    world = await build_world(api)
    p = await phone(world, "staff2")
    gift = new_id()
    assert (await p.device.send("donation.record", money(gift, 100_000, fund_id=world.fund_id))
            )["status"] == "applied"
    fix = new_id()
    asked = await p.device.send("donation.correct", {
        "id": fix, "donation_id": gift, "action": "correct", "new_amount_fen": 9_000,
        "reason": "小数点错位"})
    assert asked["status"] == "applied"
    before = await world.manager.push(world.manager.m("donation.record", money(new_id(), 500, fund_id=world.fund_id)))
    assert before["results"][0]["status"] == "applied"
    # one batch: a late gift, the approval (locks the fund, posts -91,000 at once), a late gift
    body = await world.manager.push(
        world.manager.m("donation.record", money(new_id(), 1_000, fund_id=world.fund_id)),
        world.manager.m("correction.decide", {"id": fix, "decision": "approve", "note": "核对"}),
        world.manager.m("donation.record", money(new_id(), 2_000, project_id=world.project_id)),
    )
    assert [r["status"] for r in body["results"]] == ["applied"] * 3, body
    state = await _fund(api, world.fund_id)
    assert state["report"].ok, state["report"].problems
    assert state["row"]["balance_fen"] == 9_000 + 500 + 1_000 + 2_000 == state["report"].balance_fen
    assert state["report"].entries == 10 == state["row"]["head_seq"]


async def test_a_rejected_gift_appends_nothing(api: Api) -> None:
    world = await build_world(api)
    p = await phone(world, "staff2")
    good, taken = new_id(), new_id()
    await p.device.send("donation.record", money(taken, 300, fund_id=world.fund_id))
    body = await p.device.push(
        p.device.m("donation.record", money(good, 100, fund_id=world.fund_id)),
        p.device.m("donation.record", money(taken, 200, fund_id=world.fund_id)),  # id taken
        p.device.m("donation.record", money(new_id(), 50, fund_id="no-such-fund")),
    )
    assert [r["status"] for r in body["results"]] == ["applied", "rejected", "rejected"]
    state = await _fund(api, world.fund_id)
    assert state["report"].ok and state["row"]["balance_fen"] == 400
    assert state["per_gift"] == {taken: 2, good: 2}


async def test_late_items_follow_frames(api: Api) -> None:
    """What a dropped frame handed to ``Tx.late`` never reaches the hook; the kept items
    arrive once, in order, after the other writes of the unit."""
    seen: list[list[Any]] = []

    async def hook(tx: Tx, items: list[Any]) -> None:
        seen.append(items)

    async def unit(tx: Tx) -> None:
        tx.late(hook, 1)
        tx.keep_frame()
        tx.late(hook, 2)
        assert tx.late_items(hook) == [1, 2]
        tx.drop_frame()
        tx.late(hook, 3)
        tx.keep_frame()

    await run_unit(api.state.db, api.state.registry, api.state.pokes, unit)
    assert seen == [[1, 3]]


async def test_gifts_left_unlinked_are_linked_by_the_sweep_and_before_a_correction(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL writes a push's gifts to ``ledger_pending`` and links them right after
    its commit (``chain_pending``). A process that stops in between leaves them pending:
    they are not on the chain (it still verifies), the sweep links them, and a correction
    that locks the fund before the sweep links them first, so the chain keeps the gift
    before its correction. SQLite links at the end of the batch: nothing is ever pending."""
    import server.domain.funds as funds_module

    world = await build_world(api)
    p = await phone(world, "staff2")

    async def stopped(*_args: Any) -> None:
        return None

    monkeypatch.setattr(funds_module, "chain_pending", stopped)
    gifts = {new_id(): 3_000, new_id(): 4_000}
    body = await p.device.push(*(p.device.m("donation.record", money(g, a, fund_id=world.fund_id))
                                 for g, a in gifts.items()))
    assert [r["status"] for r in body["results"]] == ["applied", "applied"]
    postgres = api.state.db.is_postgres
    async with api.state.db.engine.connect() as conn:
        pending = (await conn.execute(select(func.count()).select_from(funds_module.ledger_pending))).scalar()
    state = await _fund(api, world.fund_id)
    assert state["report"].ok, state["report"].problems  # pending or not, the chain verifies
    if postgres:
        assert pending == 1 and state["per_gift"] == {} and state["row"]["balance_fen"] == 0
        # the sweep (every few seconds in the server, and at start-up) links them
        monkeypatch.undo()
        assert await funds_module.chain_all_pending(api.state.db, api.state.registry, None) == 1
        monkeypatch.setattr(funds_module, "chain_pending", stopped)
    else:
        assert pending == 0 and state["per_gift"] == {g: 2 for g in gifts}
    state = await _fund(api, world.fund_id)
    assert state["report"].ok and state["row"]["balance_fen"] == 7_000
    assert state["per_gift"] == {g: 2 for g in gifts}

    # another gift left pending, then voided (small: applied at once): the void locks the
    # fund and links the pending gift before posting the reversal
    late_gift = new_id()
    assert (await p.device.send("donation.record", money(late_gift, 600, fund_id=world.fund_id))
            )["status"] == "applied"
    fix = new_id()
    assert (await p.device.send("donation.correct", {
        "id": fix, "donation_id": late_gift, "action": "void", "reason": "重复登记"}))["status"] == "applied"
    async with api.state.db.engine.connect() as conn:
        order = (await conn.execute(
            select(ledger_entries.c.seq, ledger_entries.c.kind, ledger_entries.c.donation_id)
            .where(ledger_entries.c.fund_id == world.fund_id).order_by(ledger_entries.c.seq))).all()
        pending = (await conn.execute(select(func.count()).select_from(funds_module.ledger_pending))).scalar()
    assert pending == 0
    gift_seqs = [seq for seq, kind, d in order if d == late_gift and kind == "donation"]
    reversal = [seq for seq, kind, d in order if d == late_gift and kind != "donation"]
    assert gift_seqs and reversal and max(gift_seqs) < min(reversal), order
    state = await _fund(api, world.fund_id)
    assert state["report"].ok and state["row"]["balance_fen"] == 7_000 == state["report"].balance_fen


async def test_deferred_rows_keep_their_order_against_statements_on_the_same_table(api: Api) -> None:
    """``Tx.defer_insert`` rows wait for one ``executemany`` per table, but a deferred
    statement on the same table (a delete) still runs after the rows deferred before it
    and before those deferred after it; a dropped frame's rows are never written."""
    from sqlalchemy import delete

    from server.notify.tables import notify_marks

    def mark(key: str, value: str) -> dict[str, Any]:
        return {"key": key, "value": value, "updated_at": "2026-11-28T00:00:00Z"}

    async def unit(tx: Tx) -> None:
        tx.defer_insert(notify_marks, mark("test:a", "first"))
        tx.defer_insert(notify_marks, mark("test:b", "kept"))
        tx.keep_frame()
        tx.defer_insert(notify_marks, mark("test:c", "dropped"))
        tx.drop_frame()
        # the same key again: only possible if the delete runs between the two inserts
        tx.defer(delete(notify_marks).where(notify_marks.c.key == "test:a"))
        tx.defer_insert(notify_marks, mark("test:a", "second"))
        tx.keep_frame()

    await run_unit(api.state.db, api.state.registry, api.state.pokes, unit)
    async with api.state.db.engine.connect() as conn:
        rows = dict((await conn.execute(
            select(notify_marks.c.key, notify_marks.c.value).where(notify_marks.c.key.like("test:%")))).all())
    assert rows == {"test:a": "second", "test:b": "kept"}
