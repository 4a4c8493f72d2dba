"""Phones at an outdoor event with no signal: the issue's end-to-end scenarios over the
real sync client (durable outbox), with lost responses, duplicate deliveries and a
crash in the middle of a push. SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from server.app import create_app
from server.domain.donations import donations, receipts
from server.domain.funds import verify_fund
from sync.client import SyncClient
from sync.tables import mutations
from tests.conftest import Api
from tests.devices import Crash, FaultyTransport, fresh_snapshot, settle
from tests.donation_setup import STATION, World, build_world, code, money
from tests.helpers import new_id

pytestmark = pytest.mark.anyio
BASE = "http://test"
PER_PHONE = 500
BATCH = 10


@dataclass
class Phone:
    """A phone running the real sync client over a transport that can lose answers."""

    name: str
    token: str
    state_file: Path
    transport: FaultyTransport
    http: httpx.AsyncClient
    client: SyncClient = field(init=False)
    series: str = ""
    counter: int = 0
    crashes: int = 0
    dead: list[SyncClient] = field(default_factory=list)

    def open(self) -> None:
        async def no_sleep(_seconds: float) -> None:
            return None

        self.client = SyncClient(BASE, self.token, self.state_file, http=self.http,
                                 batch_size=BATCH, sleep=no_sleep, rng=random.Random(self.name))

    def receipt(self, rng: random.Random) -> dict[str, str]:
        self.counter += 1
        return {"number": f"{self.series}-{self.counter:05d}", "code": code(rng)}

    async def reconnect(self, faults: list[str]) -> None:
        """Sync until the outbox is empty; a crash kills the app, which restarts from its
        state file (the same client id, pending ids and keys)."""
        self.transport.faults = list(faults)
        while True:
            try:
                await self.client.sync(max_attempts=50)
            except Crash:
                self.dead.append(self.client)
                self.crashes += 1
                self.open()
                continue
            if self.client.pending_count() == 0:
                self.transport.faults = []
                return


@pytest.fixture
async def phones(api: Api, tmp_path: Path) -> AsyncIterator[dict[str, Phone]]:
    asgi = httpx.ASGITransport(app=create_app(state=api.state))
    made: dict[str, Phone] = {}
    for name in ("phoneA", "phoneB"):
        transport = FaultyTransport(asgi)
        http = httpx.AsyncClient(transport=transport, base_url=BASE)
        made[name] = Phone(name, await api.token(name, "staff", station=STATION),
                           tmp_path / f"{name}.sqlite3", transport, http)
        made[name].open()
    yield made
    for phone in made.values():
        await phone.client.close()
        for dead in phone.dead:
            dead._db.close()
        await phone.http.aclose()


@pytest.fixture
async def event(api: Api, phones: dict[str, Phone]) -> tuple[World, Phone, Phone]:
    """The event's world, and both phones online once to claim their receipt series."""
    world = await build_world(api)
    for phone in phones.values():
        await go_online_and_claim_series(phone)
    return world, phones["phoneA"], phones["phoneB"]


async def go_online_and_claim_series(phone: Phone) -> None:
    phone.client.enqueue("receipt_series.claim", {"id": new_id(), "station": STATION})
    await phone.client.sync()
    mine = [s for s in phone.client.replica("receipt_series").values()
            if s["client_id"] == phone.client.client_id]
    assert len(mine) == 1
    phone.series = mine[0]["code"]


def offline_donation(world: World, phone: Phone, index: int, rng: random.Random) -> dict[str, Any]:
    """A mix of what happens at a stall: cash and WeChat, directed to the fund, to a project
    or undirected, some goods, some anonymous donors, some without a receipt."""
    donor: dict[str, Any] = {"name": rng.choice(["张三", "李四", "王小明", "陈大文"]),
                             "phone": "13800138000", "public_name_consent": index % 5 == 0}
    if index % 7 == 0:
        donor = {"anonymous": True}
    wants_receipt = index % 4 != 0
    donor["wants_receipt"] = wants_receipt
    receipt = phone.receipt(rng) if wants_receipt else None
    if index % 10 == 0:
        args: dict[str, Any] = {
            "id": new_id(), "station": STATION, "kind": "goods", "direction": "undirected",
            "event_id": world.event_id, "donor": donor,
            "items": [{"name": "大米", "quantity": 1 + index % 3, "unit": "袋",
                       "estimated_value_fen": 5_000}]}
        if receipt:
            args["receipt"] = receipt
        return args
    target = index % 3
    return money(
        new_id(), rng.randint(100, 100_000),
        fund_id=world.fund_id if target == 0 else None,
        project_id=world.project_id if target == 1 else None,
        event_id=world.event_id, receipt=receipt, donor=donor,
        method=rng.choice(["cash", "wechat_pay", "alipay", "bank_transfer", "other"]))


def faults_for(rng: random.Random, pushes: int, *, crash_at: int | None) -> list[str]:
    """5% of the pushes have their answer lost (the phone re-sends the batch) or are
    delivered twice; one push, mid-way, kills the phone after the server applied it."""
    faults = ["ok"] * (pushes * 2)
    candidates = [p for p in range(pushes) if p != crash_at]
    for position in rng.sample(candidates, k=max(1, round(pushes * 0.05))):
        faults[position] = rng.choice(["lose", "dup_first"])
    if crash_at is not None:
        faults[crash_at] = "crash"
    return faults


async def test_two_offline_phones_record_500_each_and_the_books_agree_everywhere(
    api: Api, event: tuple[World, Phone, Phone]
) -> None:
    world, a, b = event
    assert a.series != b.series

    rng = random.Random(20260905)
    enqueued: list[dict[str, Any]] = []
    for index in range(PER_PHONE):  # both offline: everything waits in the outboxes
        for phone in (a, b):
            args = offline_donation(world, phone, index, rng)
            phone.client.enqueue("donation.record", args)
            enqueued.append(args)
    assert a.client.pending_count() == b.client.pending_count() == PER_PHONE

    await asyncio.gather(
        a.reconnect(faults_for(rng, PER_PHONE // BATCH, crash_at=PER_PHONE // BATCH // 2)),
        b.reconnect(faults_for(rng, PER_PHONE // BATCH, crash_at=None)),
    )
    await settle(api)
    for phone in (a, b):  # a last pull so each sees the other's gifts
        await phone.client.sync()

    # The faults really happened.
    assert a.crashes == 1
    logged = Counter(fault for phone in (a, b) for _, fault in phone.transport.log)
    assert logged["lose"] + logged["dup_first"] >= 2 * round(PER_PHONE // BATCH * 0.05), logged

    async with api.state.db.engine.connect() as conn:
        stored = (await conn.execute(select(func.count()).select_from(donations))).scalar()
        numbers = (await conn.execute(select(donations.c.receipt_number)
                                      .where(donations.c.receipt_number.isnot(None)))).scalars().all()
        receipt_count = (await conn.execute(select(func.count()).select_from(receipts))).scalar()
        statuses = Counter((await conn.execute(
            select(mutations.c.name, mutations.c.status))).all())
        chain = await verify_fund(conn, world.fund_id)
    assert stored == 2 * PER_PHONE
    with_receipt = [d["receipt"]["number"] for d in enqueued if "receipt" in d]
    assert len(numbers) == len(set(numbers)) == len(with_receipt) == receipt_count
    assert sorted(numbers) == sorted(with_receipt)
    assert statuses[("donation.record", "applied")] == 2 * PER_PHONE
    assert not [k for k in statuses if k[1] != "applied"], statuses
    assert chain is not None and chain.ok, chain

    money_total = sum(d["amount_fen"] for d in enqueued if d["kind"] == "money")
    goods_total = sum(i["estimated_value_fen"] for d in enqueued if d["kind"] == "goods"
                      for i in d["items"])
    money_count = sum(1 for d in enqueued if d["kind"] == "money")

    # Every replica equals the server's view and says the same totals.
    server_view = await fresh_snapshot(api, await api.token("auditor", "staff", station=STATION))
    for phone in (a, b):
        for type_name in ("donation", "receipt", "fund", "ledger_entry"):
            mine = phone.client.replica(type_name)
            theirs = {rid: data for (t, rid), data in server_view.items() if t == type_name}
            assert mine == theirs, (phone.name, type_name)
        replica_money = sum(d["amount_fen"] for d in phone.client.replica("donation").values()
                            if d["kind"] == "money")
        assert replica_money == money_total
        assert phone.client.replica("fund")[world.fund_id]["balance_fen"] == money_total

    totals = (await api.http.get(f"/api/v1/public/events/{world.event_id}")).json()
    assert totals["money_fen"] == money_total and totals["money_count"] == money_count
    assert totals["goods_value_fen"] == goods_total
    assert totals["money_count"] + totals["goods_count"] == 2 * PER_PHONE
    disclosure = (await api.http.get(f"/api/v1/public/funds/{world.fund_id}")).json()
    assert disclosure["income_fen"] == disclosure["balance_fen"] == money_total
    assert disclosure["donations_total"] == money_count
    assert len(disclosure["donations"]) == min(money_count, disclosure["page_size"])
    assert disclosure["chain_ok"] is True
    assert sum(p["income_fen"] for p in disclosure["by_project"]) == money_total
    assert sum(m["income_fen"] for m in disclosure["by_month"]) == money_total
    page = await api.http.get(f"/public/events/{world.event_id}")
    assert page.status_code == 200
    yuan = f"{money_total // 100:,}.{money_total % 100:02d}"
    assert yuan in page.text
    # Donors who did not agree to publish their name are "a donor", not a masked surname.
    consented = {d["donor"]["name"] for d in enqueued
                 if d["kind"] == "money" and d["donor"].get("public_name_consent")}
    shown = Counter(g["donor"] for g in disclosure["donations"])
    assert "爱心人士 / A donor" in shown
    assert set(shown) <= consented | {"爱心人士 / A donor"}
    assert "13800138000" not in (await api.http.get(f"/public/funds/{world.fund_id}")).text


async def test_void_of_a_synced_gift_and_a_correction_queued_behind_its_original(
    api: Api, event: tuple[World, Phone, Phone]
) -> None:
    world, a, b = event
    rng = random.Random(7)

    # Phone A records a large gift while online; phone B receives it.
    first_receipt = a.receipt(rng)
    first = money(new_id(), 80_000, fund_id=world.fund_id, event_id=world.event_id,
                  receipt=first_receipt)
    a.client.enqueue("donation.record", first)
    await a.client.sync()
    await settle(api)
    await b.client.sync()
    assert first["id"] in b.client.replica("donation")

    # Both lose signal. B voids A's synced gift (above the threshold: needs approval);
    # A records a new gift and corrects it while both are still queued.
    void_id, fix_id = new_id(), new_id()
    b.client.enqueue("donation.correct", {"id": void_id, "donation_id": first["id"],
                                          "action": "void", "reason": "现金为假币,已退回"})
    second = money(new_id(), 30_000, project_id=world.project_id, event_id=world.event_id,
                   receipt=a.receipt(rng))
    a.client.enqueue("donation.record", second)
    a.client.enqueue("donation.correct", {"id": fix_id, "donation_id": second["id"],
                                          "action": "correct", "new_amount_fen": 25_000,
                                          "reason": "找零时多收了五十元"})
    await asyncio.gather(a.reconnect(["lose", "ok", "ok"]), b.reconnect(["dup_first"]))

    void_outcome = b.client.outcome(b.client.last_mutation_id)
    assert void_outcome is not None and void_outcome["status"] == "applied"
    async with api.state.db.engine.connect() as conn:
        pending = await verify_fund(conn, world.fund_id)
    assert pending is not None and pending.balance_fen == 80_000 + 25_000  # void awaits approval

    decided = await world.manager.send("correction.decide", {"id": void_id, "decision": "approve",
                                                              "note": "已核实"})
    assert decided["status"] == "applied"
    await settle(api)
    for phone in (a, b):
        await phone.client.sync()

    fund = a.client.replica("fund")[world.fund_id]
    assert fund["balance_fen"] == 25_000
    fixes = {c["id"]: c for c in b.client.replica("donation_correction").values()}
    assert fixes[void_id]["status"] == "applied" and fixes[void_id]["requested_by"] == "phoneB"
    assert fixes[void_id]["decided_by"] == "mgr1" and fixes[void_id]["delta_fen"] == -80_000
    assert fixes[fix_id]["status"] == "applied" and fixes[fix_id]["delta_fen"] == -5_000
    # The history, step by step, in the fund's ledger (fund side), as a manager pulls it.
    server_view = await fresh_snapshot(api, await api.token("boss", "manager", station=STATION))
    entries = sorted((e for (t, _), e in server_view.items()
                      if t == "ledger_entry" and e["account"].startswith("fund:")),
                     key=lambda e: e["seq"])
    assert [(e["kind"], e["amount_fen"], e["donation_id"], e["note"]) for e in entries] == [
        ("donation", 80_000, first["id"], ""),
        ("donation", 30_000, second["id"], ""),
        ("correction", -5_000, second["id"], "找零时多收了五十元"),
        ("void", -80_000, first["id"], "现金为假币,已退回"),
    ]
    # The receipt of the voided gift is withdrawn; the public check says so.
    check = (await api.http.get(f"/api/v1/public/receipts/{first_receipt['number']}",
                                params={"code": first_receipt["code"]})).json()
    assert check["status"] == "withdrawn" and check["donation_status"] == "voided"
    assert check["current_amount_fen"] == 0
    disclosure = (await api.http.get(f"/api/v1/public/funds/{world.fund_id}")).json()
    # The public sees each correction's kind and reason category, never its free text.
    notes = {(c["kind_label"], c["category_label"], c["approved_by_second_person"])
             for c in disclosure["corrections"]}
    assert notes == {("作废 / void", "其他 / other", True),
                     ("金额更正 / amount corrected", "其他 / other", False)}
    page = (await api.http.get(f"/public/funds/{world.fund_id}")).text
    assert "假币" not in page and "找零" not in page and "假币" not in str(disclosure)
    assert disclosure["balance_fen"] == 25_000
    totals = (await api.http.get(f"/api/v1/public/events/{world.event_id}")).json()
    assert totals["money_fen"] == 25_000 and totals["money_count"] == 1
