"""The community micro-venture round (issue 15, docs/programme.md), on SQLite and
PostgreSQL: phases move one at a time and only by the fund's managers, and the rules lock
when voting opens; needs come from staff phones (offline) and the public page, merge
keeping who raised them, and are never public as free text; proposals keep every
version and refuse edits after their deadline; nobody reviews a proposal of their own
group; every refusal writes nothing."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, select

from server.domain.rounds import proposal_versions, proposals, reviews, rounds
from tests.conftest import Api
from tests.devices import Device
from tests.donation_setup import DISTRICT, STATION, World, build_world
from tests.helpers import new_id

pytestmark = pytest.mark.anyio
SHANGHAI = dt.timezone(dt.timedelta(hours=8))


def _day(offset: int = 0) -> str:
    return (dt.datetime.now(SHANGHAI).date() + dt.timedelta(days=offset)).isoformat()


def phases(shift: int = 0) -> dict[str, dict[str, str]]:
    """Needs until yesterday, proposals from today for ten days, then review and voting."""
    return {"needs": {"starts": _day(-30 + shift), "ends": _day(-1 + shift)},
            "proposals": {"starts": _day(shift), "ends": _day(10 + shift)},
            "review": {"starts": _day(11 + shift), "ends": _day(20 + shift)},
            "voting": {"starts": _day(21 + shift), "ends": _day(30 + shift)}}


def round_args(round_id: str, fund_id: str, **extra: Any) -> dict[str, Any]:
    return {"id": round_id, "fund_id": fund_id, "station": STATION, "title": "2026 年社区公益微创投",
            "year": 2026, "budget_fen": 100_000_00, "min_project_fen": 5_000_00,
            "max_project_fen": 40_000_00, "phases": phases(), **extra}


def proposal_args(proposal_id: str, round_id: str, group_id: str, need_ids: list[str],
                  **extra: Any) -> dict[str, Any]:
    return {"id": proposal_id, "round_id": round_id, "group_id": group_id, "title": "长者居家安全改造",
            "need_ids": need_ids, "beneficiaries": "独居长者", "beneficiary_count": 40,
            "activities": "上门评估,加装扶手和夜灯", "budget_lines": [
                {"item": "扶手", "quantity": 40, "unit_cost_fen": 300_00},
                {"item": "夜灯", "quantity": 40, "unit_cost_fen": 50_00}],
            "indicators": [{"key": "homes", "name": "完成改造户数", "unit": "户", "target": 40}],
            "team": "5 名志愿者", "timeline": [{"key": "survey", "title": "上门评估", "due": _day(40)}],
            **extra}


def _refused(result: dict[str, Any], code: str) -> None:
    assert result["status"] == "rejected" and result["code"] == code, result
    assert result["message"]["zh"] and result["message"]["en"], result


def _ok(result: dict[str, Any]) -> None:
    assert result["status"] == "applied", result


async def _count(api: Api, table: Any, *where: Any) -> int:
    async with api.state.db.engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(table).where(*where))).scalar() or 0)


async def _row(api: Api, table: Any, ident: str) -> dict[str, Any]:
    async with api.state.db.engine.connect() as conn:
        row = (await conn.execute(select(table).where(table.c.id == ident))).mappings().first()
    assert row is not None
    return dict(row)


@dataclass
class RoundWorld:
    world: World
    round_id: str
    group_id: str
    need_id: str
    member: Device
    """A resident in the group (volunteer at the station)."""
    member2: Device
    outsider: Device
    """A resident, not in the group."""

    @property
    def dm(self) -> Device:
        return self.world.district

    @property
    def staff(self) -> Device:
        return self.world.staff


async def round_world(api: Api) -> RoundWorld:
    """A round of the station's community fund, a need, a group of two residents, and
    the round moved to its proposals phase."""
    world = await build_world(api)
    member = Device(api, await api.token("li", "volunteer", station=STATION))
    member2 = Device(api, await api.token("wang", "volunteer", station=STATION))
    outsider = Device(api, await api.token("zhao", "volunteer", station=STATION))
    round_id, group_id, need_id = new_id(), new_id(), new_id()
    _ok(await world.district.send("round.create", round_args(round_id, world.fund_id)))
    _ok(await world.staff.send("need.submit", {
        "id": need_id, "round_id": round_id, "category": "elderly", "community": "棠下社区",
        "description": "楼里独居老人浴室太滑,张阿婆上个月摔倒", "raised_via": "booth",
        "contact": {"name": "张阿婆", "phone": "13800138000"}}))
    _ok(await world.staff.send("need.publish", {"id": need_id, "public_title": "独居长者居家防跌倒"}))
    _ok(await world.staff.send("group.register", {
        "id": group_id, "name": "棠下邻里互助会", "station": STATION, "registration_no": "TX-2026-01",
        "members": ["li", "wang"]}))
    _ok(await world.district.send("round.advance", {"id": round_id, "to": "proposals"}))
    return RoundWorld(world, round_id, group_id, need_id, member, member2, outsider)


async def test_a_round_moves_one_phase_at_a_time_by_its_fund_managers(api: Api) -> None:
    rw = await round_world(api)
    _refused(await rw.world.manager.send("round.advance", {"id": rw.round_id, "to": "review"}),
             "forbidden")
    _refused(await rw.dm.send("round.advance", {"id": rw.round_id, "to": "voting"}), "wrong_phase")
    _refused(await rw.dm.send("round.create", round_args(new_id(), rw.world.fund_id,
                                                         min_project_fen=50_000_00)), "invalid_args")
    _refused(await rw.dm.send("round.create", round_args(new_id(), rw.world.fund_id, criteria=[
        {"key": "a", "name": "甲", "weight": 60}, {"key": "b", "name": "乙", "weight": 30}])),
        "invalid_args")
    row = await _row(api, rounds, rw.round_id)
    assert row["phase"] == "proposals" and not row["rules_locked"]


async def test_a_proposal_is_submitted_and_concluded_with_an_adjusted_price(api: Api) -> None:
    rw = await round_world(api)
    pid = new_id()
    _ok(await rw.member.send("proposal.submit", proposal_args(pid, rw.round_id, rw.group_id,
                                                              [rw.need_id])))
    row = await _row(api, proposals, pid)
    assert row["budget_total_fen"] == 40 * 300_00 + 40 * 50_00 and row["version"] == 1
    assert await _count(api, proposal_versions, proposal_versions.c.proposal_id == pid) == 1
    _ok(await rw.dm.send("round.advance", {"id": rw.round_id, "to": "review"}))
    review = new_id()
    _ok(await rw.dm.send("review.assign", {"id": review, "proposal_id": pid, "reviewer": "zhao"}))
    scores = {"need_fit": 8, "feasibility": 7, "budget": 6, "capacity": 9, "sustainability": 5}
    _ok(await rw.outsider.send("review.submit", {"id": review, "scores": scores, "feasible": True,
                                                 "reason": "可行", "adjusted_price_fen": 12_000_00}))
    assert (await _row(api, reviews, review))["weighted_score"] == 7200
    _refused(await rw.dm.send("proposal.conclude", {"id": pid, "feasible": True, "reason": "可行",
                                                    "adjusted_price_fen": 1_00}),
             "price_out_of_range")
    _ok(await rw.dm.send("proposal.conclude", {"id": pid, "feasible": True, "reason": "可行,压缩夜灯",
                                               "adjusted_price_fen": 12_000_00}))
    row = await _row(api, proposals, pid)
    assert (row["status"], row["adjusted_price_fen"], row["review_score"]) == (
        "feasible", 12_000_00, 7200)
    _ok(await rw.dm.send("round.advance", {"id": rw.round_id, "to": "voting"}))
    assert (await _row(api, rounds, rw.round_id))["rules_locked"]
    _refused(await rw.dm.send("round.update", {"id": rw.round_id, "fields": {"budget_fen": 1}}),
             "rules_locked")
    assert DISTRICT
