"""A model of one fund's books against the server: random gifts (general or directed),
corrections, voids and spending (request -> approve -> pay). The server must refuse
exactly what the model refuses, end with the model's balances, and keep an unbroken
hash chain of balanced pairs. SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from server.domain.funds import ledger_entries, verify_fund
from tests.conftest import Api
from tests.devices import Device
from tests.donation_setup import DISTRICT, STATION, money
from tests.helpers import campaign_args, new_id, station_args

pytestmark = pytest.mark.anyio

amounts = st.integers(min_value=1, max_value=40_000)  # under the approval threshold
targets = st.sampled_from(["general", "a", "b"])
operations = st.lists(st.one_of(
    st.tuples(st.just("gift"), targets, amounts),
    st.tuples(st.just("correct"), st.integers(0, 30), amounts),
    st.tuples(st.just("void"), st.integers(0, 30), st.just(0)),
    st.tuples(st.just("spend"), st.sampled_from(["a", "b"]), amounts),
), min_size=1, max_size=25)


@dataclass
class Books:
    """What the fund should hold: per account, and each gift's account and amount."""

    accounts: dict[str, int] = field(default_factory=lambda: {"general": 0, "a": 0, "b": 0})
    gifts: list[dict[str, Any]] = field(default_factory=list)

    def total(self) -> int:
        return sum(self.accounts.values())


@dataclass
class Roles:
    staff: Device
    manager: Device
    federation: Device
    treasurer: Device


async def _roles(api: Api) -> Roles:
    return Roles(
        Device(api, await api.token("m-staff", "staff", station=STATION)),
        Device(api, await api.token("m-mgr", "manager", station=STATION)),
        Device(api, await api.token("m-dm", "district_manager", district=DISTRICT)),
        Device(api, await api.token("m-pay", "admin")),
    )


async def _run(api: Api, roles: Roles, ops: list[tuple[str, Any, int]]) -> None:
    fund_id = new_id()
    projects = {"a": new_id(), "b": new_id()}
    created = await roles.federation.send("fund.create", {
        "id": fund_id, "name": "模型基金", "district": DISTRICT, "station": STATION})
    assert created["status"] == "applied", created
    campaign = await roles.federation.send("campaign.create", campaign_args(
        new_id(), [fund_id], district=DISTRICT, stations=[STATION]))
    assert campaign["status"] == "applied", campaign
    for key, project_id in projects.items():
        await roles.federation.send("project.create", {"id": project_id, "fund_id": fund_id,
                                                       "name": f"项目{key}"})
    books = Books()
    for kind, target, amount in ops:
        if kind == "gift":
            gift_id = new_id()
            args = money(gift_id, amount, fund_id=fund_id if target == "general" else None,
                         project_id=projects.get(target))
            result = await roles.staff.send("donation.record", args)
            assert result["status"] == "applied", result
            books.accounts[target] += amount
            books.gifts.append({"id": gift_id, "account": target, "amount": amount, "void": False})
        elif kind in ("correct", "void"):
            if not books.gifts:
                continue
            gift = books.gifts[target % len(books.gifts)]
            args = {"id": new_id(), "donation_id": gift["id"], "action": kind, "reason": "核对"}
            if kind == "correct":
                args["new_amount_fen"] = amount
            result = await roles.staff.send("donation.correct", args)
            if gift["void"]:
                assert result["code"] == "already_voided", result
                continue
            new_amount = 0 if kind == "void" else amount
            if new_amount == gift["amount"]:
                assert result["code"] == "no_change", result
                continue
            books.accounts[gift["account"]] += new_amount - gift["amount"]
            gift["amount"], gift["void"] = new_amount, kind == "void"
            expected = "flagged" if books.total() < 0 else "applied"
            assert result["status"] == expected, (result, books)
        else:
            available = max(0, books.accounts[target]) + max(0, books.accounts["general"])
            request_id = new_id()
            result = await roles.staff.send("disbursement.request", {
                "id": request_id, "fund_id": fund_id, "project_id": projects[target],
                "amount_fen": amount, "payee": "服务队"})
            if amount > available:
                assert result["code"] in ("fund_insufficient", "restricted_funds"), result
                continue
            assert result["status"] == "applied", (result, books)
            for device, name, args in (
                (roles.federation, "disbursement.decide", {"id": request_id, "decision": "approve"}),
                (roles.treasurer, "disbursement.pay", {"id": request_id, "reference": "转账"}),
            ):
                outcome = await device.send(name, args)
                assert outcome["status"] == "applied", (name, outcome)
            from_restricted = min(max(0, books.accounts[target]), amount)
            books.accounts[target] -= from_restricted
            books.accounts["general"] -= amount - from_restricted

    async with api.state.db.engine.connect() as conn:
        report = await verify_fund(conn, fund_id)
        rows = (await conn.execute(
            select(ledger_entries.c.account, func.sum(ledger_entries.c.amount_fen))
            .where(ledger_entries.c.fund_id == fund_id).group_by(ledger_entries.c.account))).all()
    assert report is not None and report.ok, report
    by_account = {str(a): int(s) for a, s in rows}
    assert by_account.get("fund:general", 0) == books.accounts["general"]
    for key, project_id in projects.items():
        assert by_account.get(f"fund:project:{project_id}", 0) == books.accounts[key]
    assert report.balance_fen == books.total()


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(ops=operations)
async def test_the_fund_follows_the_model(api: Api, ops: list[tuple[str, Any, int]]) -> None:
    roles = await _roles(api)
    await roles.treasurer.send("station.create", station_args(STATION, DISTRICT))
    await _run(api, roles, ops)
