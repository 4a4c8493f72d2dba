"""Voting in a micro-venture round (docs/programme.md, "Voting and results"): ballots within
the budget, only while the round votes, one per resident per round (the earliest cast
counts, the others kept and flagged), paper tallies, and results that never spend more than
the budget (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select, update

from server.domain.ballots import (
    Candidate,
    ballots,
    compute_results,
    normalise_name,
    normalise_phone,
    paper_tallies,
    result_order,
    round_results,
    tally_problem,
    voter_hash,
)
from server.domain.rounds import proposals, rounds
from server.notify.outbox import expand_outbox
from server.notify.tables import notifications, notify_outbox
from sync.tables import metadata, sync_issues, sync_state, users
from sync.timeutil import utc_now
from tests.conftest import Api
from tests.devices import Device
from tests.donation_setup import STATION, World, build_world
from tests.helpers import new_id

pytestmark = pytest.mark.anyio
SHANGHAI = dt.timezone(dt.timedelta(hours=8))

# ----------------------------------------------------------------------------- pure rules


candidates = st.lists(
    st.builds(
        Candidate,
        proposal_id=st.uuids().map(str),
        price_fen=st.integers(min_value=1, max_value=5_000_000),
        submitted_at=st.sampled_from(["2026-03-01T08:00:00.000Z", "2026-03-02T08:00:00.000Z"]),
        votes_own_phone=st.integers(min_value=0, max_value=50),
        votes_booth=st.integers(min_value=0, max_value=50),
        votes_paper=st.integers(min_value=0, max_value=50),
    ),
    max_size=25, unique_by=lambda c: c.proposal_id,
)


@given(candidates, st.integers(min_value=0, max_value=20_000_000))
def test_results_never_spend_more_than_the_budget(found: list[Candidate], budget: int) -> None:
    outcomes = compute_results(found, budget)
    assert sum(o.amount_fen for o in outcomes) <= budget
    assert sorted(o.rank for o in outcomes) == list(range(1, len(found) + 1))
    left = budget
    for outcome in sorted(outcomes, key=lambda o: o.rank):
        c = outcome.candidate
        # funded in order while the budget lasts; one that no longer fits is skipped, and
        # nobody's proposal is funded without a vote
        should = c.votes_total > 0 and c.price_fen <= left
        assert outcome.funded == should
        assert outcome.amount_fen == (c.price_fen if should else 0)
        left -= outcome.amount_fen


def test_ties_go_to_the_cheaper_then_the_earlier_then_the_id() -> None:
    a = Candidate("b-id", 30_000, "2026-03-02T00:00:00.000Z", votes_booth=5)
    b = Candidate("a-id", 30_000, "2026-03-02T00:00:00.000Z", votes_paper=5)
    c = Candidate("c-id", 30_000, "2026-03-01T00:00:00.000Z", votes_own_phone=5)
    d = Candidate("d-id", 20_000, "2026-03-03T00:00:00.000Z", votes_own_phone=3, votes_booth=2)
    e = Candidate("e-id", 10_000, "2026-03-03T00:00:00.000Z", votes_own_phone=6)
    assert [x.proposal_id for x in sorted([a, b, c, d, e], key=result_order)] == [
        "e-id", "d-id", "c-id", "a-id", "b-id"]
    # 60,000 budget: e (10,000), d (20,000), c (30,000) fill it; a and b no longer fit
    funded = [o.candidate.proposal_id for o in compute_results([a, b, c, d, e], 60_000)
              if o.funded]
    assert funded == ["e-id", "d-id", "c-id"]
    # one that does not fit is skipped and a cheaper one below it is still funded
    big = Candidate("big", 50_000, "2026-03-01T00:00:00.000Z", votes_booth=9)
    small = Candidate("small", 5_000, "2026-03-01T00:00:00.000Z", votes_booth=1)
    first = Candidate("first", 20_000, "2026-03-01T00:00:00.000Z", votes_booth=10)
    out = {o.candidate.proposal_id: o.funded for o in compute_results([big, small, first], 40_000)}
    assert out == {"first": True, "big": False, "small": True}


def test_the_same_resident_typed_at_two_booths_gets_one_key() -> None:
    key = b"k" * 32
    one = voter_hash(key, "round-1", "阿卜杜拉·买买提", "+86 138-0013-8000")
    two = voter_hash(key, "round-1", " 阿卜杜拉 买买提 ", "13800138000")
    assert one == two and one.startswith("hash:") and len(one) == 5 + 64
    assert normalise_phone("0086 138 0013 8000") == "13800138000"
    assert normalise_name("ＬＩ Ming") == normalise_name("li ming")
    # another round, another key or another person: another identity
    assert voter_hash(key, "round-2", "阿卜杜拉·买买提", "13800138000") != one
    assert voter_hash(b"x" * 32, "round-1", "阿卜杜拉·买买提", "13800138000") != one
    assert voter_hash(key, "round-1", "阿卜杜拉", "13800138000") != one
    # the hash carries neither the name nor the number
    assert "13800138000" not in one and "买买提" not in one


def test_a_paper_tally_that_cannot_be_right_is_caught() -> None:
    prices = {"p1": 40_000, "p2": 30_000}
    assert tally_problem(10, {"p1": 10, "p2": 0}, prices, 50_000) is None
    assert tally_problem(10, {"p1": 11}, prices, 50_000) is not None
    # ten ballots within 50,000 each approve at most 500,000; these approve 700,000
    problem = tally_problem(10, {"p1": 10, "p2": 10}, prices, 50_000)
    assert problem is not None and problem[0] == "tally_over_budget"


# ----------------------------------------------------------------------------- a round that votes


def _day(offset: int = 0) -> str:
    return (dt.datetime.now(SHANGHAI).date() + dt.timedelta(days=offset)).isoformat()


def _at(days: int, hour: int = 10) -> str:
    """A booth phone's clock reading: ``hour`` o'clock (Asia/Shanghai) ``days`` from today."""
    day = dt.datetime.now(SHANGHAI).date() + dt.timedelta(days=days)
    return dt.datetime.combine(day, dt.time(hour), SHANGHAI).isoformat()


def _phases(voting: tuple[int, int]) -> dict[str, dict[str, str]]:
    starts = min(voting[0], 0)
    return {"needs": {"starts": _day(starts - 40), "ends": _day(starts - 31)},
            "proposals": {"starts": _day(starts - 30), "ends": _day(starts - 21)},
            "review": {"starts": _day(starts - 20), "ends": _day(starts - 11)},
            "voting": {"starts": _day(voting[0]), "ends": _day(voting[1])}}


def _ok(result: dict[str, Any]) -> dict[str, Any]:
    assert result["status"] == "applied", result
    return result


def _refused(result: dict[str, Any], code: str) -> None:
    assert result["status"] == "rejected" and result["code"] == code, result
    assert result["message"]["zh"] and result["message"]["en"], result


BUDGET = 100_000_00
PRICES = {"a": 40_000_00, "b": 35_000_00, "c": 30_000_00, "d": 20_000_00}
"""Adjusted prices; ``d`` is concluded infeasible (not on the ballot)."""


@dataclass
class Vote:
    world: World
    round_id: str
    ids: dict[str, str]
    """Proposal ids by letter."""
    resident: Device
    """A resident with an account at the station (votes on their phone)."""
    booth1: Device
    booth2: Device
    """Two staff phones at two booths."""

    @property
    def dm(self) -> Device:
        return self.world.district


async def voting_round(api: Api, voting: tuple[int, int] = (-1, 10)) -> Vote:
    """A round of the station's fund with three feasible proposals and one infeasible,
    moved through review into its voting phase (voting days relative to today)."""
    world = await build_world(api)
    dm = world.district
    member = Device(api, await api.token("li", "volunteer", station=STATION))
    reviewer = Device(api, await api.token("zhao", "volunteer", station=STATION))
    resident = Device(api, await api.token("chen", "volunteer", station=STATION))
    booth1 = Device(api, await api.token("booth-a", "staff", station=STATION))
    booth2 = Device(api, await api.token("booth-b", "staff", station=STATION))
    round_id, group_id, need_id = new_id(), new_id(), new_id()
    today = {"needs": {"starts": _day(-30), "ends": _day(-1)},
             "proposals": {"starts": _day(0), "ends": _day(10)},
             "review": {"starts": _day(11), "ends": _day(20)},
             "voting": {"starts": _day(21), "ends": _day(30)}}
    _ok(await dm.send("round.create", {
        "id": round_id, "fund_id": world.fund_id, "station": STATION, "title": "2026 年社区公益微创投",
        "year": 2026, "budget_fen": BUDGET, "min_project_fen": 5_000_00,
        "max_project_fen": 40_000_00, "phases": today}))
    _ok(await world.staff.send("need.submit", {
        "id": need_id, "round_id": round_id, "category": "elderly", "community": "棠下社区",
        "description": "独居老人浴室太滑"}))
    _ok(await world.staff.send("group.register", {
        "id": group_id, "name": "棠下邻里互助会", "station": STATION, "members": ["li"]}))
    _ok(await dm.send("round.advance", {"id": round_id, "to": "proposals"}))
    ids = {letter: new_id() for letter in PRICES}
    for letter, price in PRICES.items():
        _ok(await member.send("proposal.submit", {
            "id": ids[letter], "round_id": round_id, "group_id": group_id,
            "title": f"提案 {letter.upper()}", "need_ids": [need_id], "beneficiaries": "独居长者",
            "beneficiary_count": 10, "activities": "上门服务",
            "budget_lines": [{"item": "服务", "quantity": 1, "unit_cost_fen": price}],
            "indicators": [{"key": "homes", "name": "户数", "unit": "户", "target": 10}],
            "team": "志愿者", "timeline": [{"key": "t1", "title": "完成", "due": _day(60)}]}))
    _ok(await dm.send("round.advance", {"id": round_id, "to": "review"}))
    scores = {"need_fit": 8, "feasibility": 7, "budget": 6, "capacity": 9, "sustainability": 5}
    for letter, price in PRICES.items():
        review = new_id()
        _ok(await dm.send("review.assign", {"id": review, "proposal_id": ids[letter],
                                            "reviewer": "zhao"}))
        feasible = letter != "d"
        _ok(await reviewer.send("review.submit", {
            "id": review, "scores": scores, "feasible": feasible, "reason": "评审意见",
            **({"adjusted_price_fen": price} if feasible else {})}))
        _ok(await dm.send("proposal.conclude", {
            "id": ids[letter], "feasible": feasible, "reason": "结论",
            **({"adjusted_price_fen": price} if feasible else {})}))
    _ok(await dm.send("round.update", {"id": round_id, "fields": {"phases": _phases(voting)}}))
    _ok(await dm.send("round.advance", {"id": round_id, "to": "voting"}))
    return Vote(world, round_id, ids, resident, booth1, booth2)


def booth(vote: Vote, chosen: str, *, name: str = "陈美玲", phone: str = "13912345678",
          at: str | None = None, where: str = "棠下社区居委会", book: str = "A-0001") -> dict[str, Any]:
    return {"id": new_id(), "round_id": vote.round_id,
            "proposal_ids": [vote.ids[c] for c in chosen], "voter_name": name,
            "voter_phone": phone, "booth": where, "ballot_book_no": book,
            "cast_at": at or _at(-1, 9)}


def own(vote: Vote, chosen: str) -> dict[str, Any]:
    return {"id": new_id(), "round_id": vote.round_id,
            "proposal_ids": [vote.ids[c] for c in chosen]}


async def _count(api: Api, table: Any, *where: Any) -> int:
    async with api.state.db.engine.connect() as conn:
        return int((await conn.execute(
            select(func.count()).select_from(table).where(*where))).scalar() or 0)


async def _rows(api: Api, table: Any, *where: Any) -> list[dict[str, Any]]:
    async with api.state.db.engine.connect() as conn:
        return [dict(r) for r in (await conn.execute(select(table).where(*where))).mappings()]


# ----------------------------------------------------------------------------- the rules


async def test_a_ballot_over_the_budget_is_refused_and_writes_nothing(api: Api) -> None:
    vote = await voting_round(api)
    # a + b + c = 105,000 yuan > 100,000: refused on the resident's phone and at a booth
    over = await vote.resident.send("ballot.cast", own(vote, "abc"))
    _refused(over, "over_budget")
    assert "所选提案总额超出预算" in over["message"]["zh"]
    assert "105,000.00" in over["message"]["zh"] and "100,000.00" in over["message"]["en"]
    _refused(await vote.booth1.send("ballot.booth", booth(vote, "abc")), "over_budget")
    # an infeasible proposal is not on the ballot; a proposal chosen twice is a mistake
    _refused(await vote.resident.send("ballot.cast", own(vote, "ad")), "not_on_ballot")
    _refused(await vote.resident.send("ballot.cast", own(vote, "aa")), "invalid_args")
    # nothing half-written: no ballot, no voter key made for a refused booth ballot
    assert await _count(api, ballots) == 0
    assert await _count(api, sync_state, sync_state.c.key == "ballot_voter_key") == 0
    # within the budget: taken
    _ok(await vote.resident.send("ballot.cast", own(vote, "ab")))
    _ok(await vote.booth1.send("ballot.booth", booth(vote, "bc")))
    assert [r["total_fen"] for r in sorted(await _rows(api, ballots), key=lambda r: r["seq"])] == [
        75_000_00, 65_000_00]
    # only residents of the station vote on their phone; only its staff take booth ballots
    elsewhere = Device(api, await api.token("far", "volunteer", station="YX-001"))
    _refused(await elsewhere.send("ballot.cast", own(vote, "a")), "forbidden")
    _refused(await vote.resident.send("ballot.booth", booth(vote, "a", name="王五")), "forbidden")
    assert await _count(api, ballots) == 2


async def test_a_vote_after_the_phase_is_refused(api: Api) -> None:
    vote = await voting_round(api, voting=(-5, -1))
    # the voting days are over: the resident's phone is refused (the server's day counts)
    # (booth clocks below read yesterday, within the dates, or days outside them)
    _refused(await vote.resident.send("ballot.cast", own(vote, "a")), "voting_closed")
    # a booth phone that took its ballot on the last day and syncs today is still heard...
    _ok(await vote.booth1.send("ballot.booth", booth(vote, "a", at=_at(-1, 18))))
    # ...but not one whose clock says it was taken after the last day
    _refused(await vote.booth1.send("ballot.booth", booth(vote, "a", name="李四", at=_at(0, 9))),
             "voting_closed")
    _refused(await vote.booth1.send("ballot.booth", booth(vote, "a", name="李四", at=_at(-6, 9))),
             "voting_not_open")
    _ok(await vote.dm.send("round.publish_results", {"round_id": vote.round_id}))
    # after the results nothing more is taken, whatever the booth phone's clock says
    late = await vote.booth2.send("ballot.booth", booth(vote, "b", name="王五", at=_at(-2, 9)))
    _refused(late, "voting_closed")
    assert "投票已结束" in late["message"]["zh"]
    _refused(await vote.booth2.send("ballot.tally", {
        "id": new_id(), "round_id": vote.round_id, "booth": "棠下社区居委会", "ballots": 3,
        "votes": {vote.ids["a"]: 3}}), "voting_closed")
    _refused(await vote.dm.send("round.publish_results", {"round_id": vote.round_id}), "not_voting")
    assert await _count(api, ballots) == 1 and await _count(api, paper_tallies) == 0


async def test_no_vote_before_the_round_votes(api: Api) -> None:
    world = await build_world(api)
    round_id = new_id()
    _ok(await world.district.send("round.create", {
        "id": round_id, "fund_id": world.fund_id, "station": STATION, "title": "微创投",
        "year": 2026, "budget_fen": BUDGET, "min_project_fen": 5_000_00,
        "max_project_fen": 40_000_00, "phases": _phases((1, 10))}))
    resident = Device(api, await api.token("chen", "volunteer", station=STATION))
    _refused(await resident.send("ballot.cast", {"id": new_id(), "round_id": round_id,
                                                 "proposal_ids": [new_id()]}), "voting_not_open")
    assert await _count(api, ballots) == 0


async def test_a_second_ballot_from_one_resident_is_kept_flagged_and_not_counted(api: Api) -> None:
    vote = await voting_round(api)
    first = booth(vote, "ab", at=_at(-1, 9))
    _ok(await vote.booth1.send("ballot.booth", first))
    # the same resident at another booth, typed a little differently, an hour later
    second = booth(vote, "c", name="陈 美玲", phone="+86 139-1234-5678", at=_at(-1, 10),
                   where="棠下花园门口", book="B-0042")
    flagged = await vote.booth2.send("ballot.booth", second)
    assert flagged["status"] == "flagged" and flagged["code"] == "duplicate_ballot", flagged
    assert "已投过票" in flagged["message"]["zh"] and "duplicate" in flagged["message"]["en"]
    rows = {r["id"]: r for r in await _rows(api, ballots)}
    assert rows[first["id"]]["status"] == "counted" and rows[first["id"]]["duplicate_of"] is None
    assert rows[second["id"]]["status"] == "duplicate"
    assert rows[second["id"]]["duplicate_of"] == first["id"]
    assert rows[first["id"]]["voter_key"] == rows[second["id"]]["voter_key"]
    assert rows[first["id"]]["voter_key"].startswith("hash:")
    # the raw name and phone are nowhere: not in any table (ballots, what phones pull,
    # the review list, the audit log, ...)
    async with api.state.db.engine.connect() as conn:
        stored = json.dumps([[dict(r) for r in (await conn.execute(select(table))).mappings()]
                             for table in metadata.sorted_tables], ensure_ascii=False, default=str)
        issue = (await conn.execute(select(sync_issues).where(
            sync_issues.c.code == "duplicate_ballot"))).mappings().one()
    assert rows[first["id"]]["voter_key"] in stored  # (the dump holds the ballots)
    for private in ("陈美玲", "美玲", "13912345678", "1234-5678"):
        assert private not in stored
    assert issue["status"] == "flagged" and issue["subject"] == f"ballot:{second['id']}"
    # the managers see both, the duplicate pointing at the counted one; a notification waits
    await vote.dm.pull()
    seen = vote.dm.of_type("ballot")
    assert seen[second["id"]]["status"] == "duplicate" and seen[first["id"]]["status"] == "counted"
    kinds = [k for (k,) in await _rows_of(api, select(notify_outbox.c.kind))]
    assert "review.flagged" in kinds
    # a third ballot (own phone is another identity; a booth one again): kept, flagged
    third = await vote.booth1.send("ballot.booth", booth(vote, "a", at=_at(-1, 11), book="A-0002"))
    assert third["status"] == "flagged"
    counted = await _count(api, ballots, ballots.c.status == "counted")
    assert counted == 1 and await _count(api, ballots) == 3
    # the results count the first ballot only
    _ok(await vote.dm.send("round.publish_results", {"round_id": vote.round_id, "early": True}))
    results = {r["proposal_id"]: r for r in await _rows(api, round_results)}
    assert results[vote.ids["a"]]["votes_booth"] == 1 and results[vote.ids["c"]]["votes_booth"] == 0


async def test_two_booth_phones_syncing_at_once_count_one_ballot(api: Api) -> None:
    """The one-ballot rule holds when the two pushes race (the round's row serialises
    them on PostgreSQL): one ballot counted, the other a duplicate of it."""
    vote = await voting_round(api)
    one = booth(vote, "a", at=_at(-1, 9))
    two = booth(vote, "b", at=_at(-1, 10), where="棠下花园门口", book="B-0001")
    results = await asyncio.gather(vote.booth1.send("ballot.booth", one),
                                   vote.booth2.send("ballot.booth", two))
    assert sorted(r["status"] for r in results) == ["applied", "flagged"]
    rows = {r["id"]: r for r in await _rows(api, ballots)}
    assert rows[one["id"]]["status"] == "counted"
    assert rows[two["id"]]["duplicate_of"] == one["id"]
    assert sorted(r["seq"] for r in rows.values()) == [1, 2]


async def _rows_of(api: Api, query: Any) -> list[tuple[Any, ...]]:
    async with api.state.db.engine.connect() as conn:
        return [tuple(r) for r in await conn.execute(query)]


async def test_a_ballot_cast_earlier_but_arriving_later_counts_instead(api: Api) -> None:
    vote = await voting_round(api)
    later = booth(vote, "c", at=_at(-1, 15), where="棠下花园门口", book="B-0001")
    earlier = booth(vote, "ab", at=_at(-1, 9), book="A-0007")
    # booth 2's ballot (15:00) reaches the server first; booth 1 (09:00) was offline
    _ok(await vote.booth2.send("ballot.booth", later))
    swapped = await vote.booth1.send("ballot.booth", earlier)
    assert swapped["status"] == "flagged" and swapped["code"] == "duplicate_ballot"
    assert "改为计入本票" in swapped["message"]["zh"] and "counts instead" in swapped["message"]["en"]
    rows = {r["id"]: r for r in await _rows(api, ballots)}
    assert (rows[earlier["id"]]["status"], rows[earlier["id"]]["duplicate_of"]) == ("counted", None)
    assert (rows[later["id"]]["status"], rows[later["id"]]["duplicate_of"]) == (
        "duplicate", earlier["id"])
    # a third, cast in between, stays a duplicate of the earliest
    middle = booth(vote, "a", at=_at(-1, 12), book="A-0008")
    assert (await vote.booth1.send("ballot.booth", middle))["status"] == "flagged"
    rows = {r["id"]: r for r in await _rows(api, ballots)}
    assert rows[middle["id"]]["duplicate_of"] == earlier["id"]
    assert [r["id"] for r in rows.values() if r["status"] == "counted"] == [earlier["id"]]
    # same time on both clocks: the one the server received first counts
    tie1 = booth(vote, "a", name="赵六", phone="13700000000", at=_at(-1, 9))
    tie2 = booth(vote, "b", name="赵六", phone="13700000000", at=_at(-1, 9), book="B-0009")
    _ok(await vote.booth1.send("ballot.booth", tie1))
    assert (await vote.booth2.send("ballot.booth", tie2))["status"] == "flagged"
    rows = {r["id"]: r for r in await _rows(api, ballots)}
    assert rows[tie1["id"]]["status"] == "counted" and rows[tie2["id"]]["duplicate_of"] == tie1["id"]


async def test_a_booth_clock_ahead_of_the_server_is_kept_for_review(api: Api) -> None:
    vote = await voting_round(api)
    ahead = booth(vote, "a", at=(dt.datetime.now(SHANGHAI) + dt.timedelta(hours=1)).isoformat())
    result = await vote.booth1.send("ballot.booth", ahead)
    assert result["status"] == "flagged" and result["code"] == "ballot_clock_ahead", result
    (row,) = await _rows(api, ballots)
    assert row["status"] == "counted" and row["cast_at"].endswith("Z")


async def test_one_ballot_per_resident_on_their_own_phone_too(api: Api) -> None:
    vote = await voting_round(api)
    first = own(vote, "a")
    _ok(await vote.resident.send("ballot.cast", first))
    again = await vote.resident.send("ballot.cast", own(vote, "b"))
    assert again["status"] == "flagged" and again["code"] == "duplicate_ballot"
    rows = await _rows(api, ballots)
    assert {r["voter_key"] for r in rows} == {"user:chen"}
    assert sorted(r["status"] for r in rows) == ["counted", "duplicate"]
    # the resident sees their own ballots; another resident does not
    await vote.resident.pull()
    assert set(vote.resident.of_type("ballot")) == {r["id"] for r in rows}
    other = Device(api, await api.token("zhou", "volunteer", station=STATION))
    await other.pull()
    assert other.of_type("ballot") == {}


async def test_a_resident_who_voted_on_their_phone_is_known_at_the_booth(api: Api) -> None:
    """An account with the resident's name and phone: its own-phone ballot also carries
    their booth identity, so a second ballot at a booth is a duplicate, not a second vote."""
    vote = await voting_round(api)
    async with api.state.db.engine.begin() as conn:
        await conn.execute(update(users).where(users.c.id == "chen").values(
            name="陈美玲", phone="139 1234 5678"))
    on_phone = own(vote, "a")
    _ok(await vote.resident.send("ballot.cast", on_phone))
    at_booth = booth(vote, "bc", name="陈美玲", phone="13912345678",
                     at=dt.datetime.now(SHANGHAI).isoformat())
    flagged = await vote.booth1.send("ballot.booth", at_booth)
    assert flagged["status"] == "flagged" and flagged["code"] == "duplicate_ballot", flagged
    rows = {r["id"]: r for r in await _rows(api, ballots)}
    assert rows[on_phone["id"]]["status"] == "counted"
    assert rows[at_booth["id"]]["duplicate_of"] == on_phone["id"]
    assert rows[on_phone["id"]]["alias_key"] == rows[at_booth["id"]]["voter_key"]
    # the booth identity stays on the server: phones see the voter key only
    await vote.dm.pull()
    assert "alias_key" not in vote.dm.of_type("ballot")[on_phone["id"]]


async def test_paper_tallies_count_and_the_results_stay_within_the_budget(api: Api) -> None:
    vote = await voting_round(api)
    a, b, c = (vote.ids[x] for x in "abc")
    _ok(await vote.resident.send("ballot.cast", own(vote, "a")))
    _ok(await vote.booth1.send("ballot.booth", booth(vote, "bc", name="甲")))
    _ok(await vote.booth1.send("ballot.booth", booth(vote, "c", name="乙")))
    tally = {"id": new_id(), "round_id": vote.round_id, "booth": "棠下社区居委会", "ballots": 4,
             "votes": {a: 1, b: 3, c: 2}}
    # a count that cannot be right is refused: more votes than ballots, more money than
    # four ballots within the budget each can approve
    _refused(await vote.booth1.send("ballot.tally", {**tally, "votes": {a: 5}}), "tally_impossible")
    _refused(await vote.booth1.send("ballot.tally", {**tally, "ballots": 2, "votes": {a: 2, b: 2,
                                                                                     c: 2}}),
             "tally_over_budget")
    _refused(await vote.booth1.send("ballot.tally", {**tally, "votes": {vote.ids["d"]: 1}}),
             "not_on_ballot")
    assert await _count(api, paper_tallies) == 0
    _ok(await vote.booth1.send("ballot.tally", {**tally, "votes": {a: 1, b: 2, c: 2}}))
    _ok(await vote.booth1.send("ballot.tally", tally))  # the same id: a correction
    _refused(await vote.booth2.send("ballot.tally", {**tally, "id": new_id()}), "tally_exists")
    (stored,) = await _rows(api, paper_tallies)
    assert json.loads(stored["votes"]) == {a: 1, b: 3, c: 2}
    # the figures the correction replaced are kept with the tally
    assert [p["votes"] for p in json.loads(stored["previous"])] == [{a: 1, b: 2, c: 2}]
    # only the fund's managers publish, not before the last day unless they close early
    _refused(await vote.world.manager.send("round.publish_results", {"round_id": vote.round_id}),
             "forbidden")
    _refused(await vote.dm.send("round.publish_results", {"round_id": vote.round_id}),
             "voting_running")
    assert await _count(api, round_results) == 0
    _ok(await vote.dm.send("round.publish_results", {"round_id": vote.round_id, "early": True}))
    # b: 1 booth + 3 paper = 4; c: 2 booth + 2 paper = 4 (tie: c is cheaper); a: 1 + 1 = 2.
    # c (30,000) and b (35,000) fit; a (40,000) no longer does (35,000 left).
    results = {r["proposal_id"]: r for r in await _rows(api, round_results)}
    assert set(results) == {a, b, c}
    assert [(results[p]["rank"], results[p]["votes_total"], bool(results[p]["funded"]),
             results[p]["amount_fen"]) for p in (c, b, a)] == [
        (1, 4, True, 30_000_00), (2, 4, True, 35_000_00), (3, 2, False, 0)]
    assert (results[a]["votes_own_phone"], results[a]["votes_paper"]) == (1, 1)
    assert sum(r["amount_fen"] for r in results.values()) <= BUDGET
    status = {r["id"]: r["status"] for r in await _rows(api, proposals)}
    assert (status[a], status[b], status[c], status[vote.ids["d"]]) == (
        "unfunded", "funded", "funded", "infeasible")
    (round_row,) = await _rows(api, rounds, rounds.c.id == vote.round_id)
    assert round_row["phase"] == "results"
    # everyone sees the results (public records), and the public pages show them with
    # participation by channel (1 own phone, 2 booth, 4 paper), never a voter
    await vote.resident.pull()
    assert len(vote.resident.of_type("round_result")) == 3
    public = (await api.http.get(f"/api/v1/public/rounds/{vote.round_id}/results")).json()
    assert public["results"]["participation"] == {
        "own_phone": 1, "booth": 2, "paper": 4, "duplicates": 0, "total": 7}
    assert [(line["title"], line["funded"]) for line in public["results"]["lines"]] == [
        ("提案 C", True), ("提案 B", True), ("提案 A", False)]
    assert public["results"]["funded_fen"] == 65_000_00
    page = await api.http.get(f"/public/rounds/{vote.round_id}/results")
    assert page.status_code == 200 and "提案 C" in page.text and "纸质选票" in page.text
    for private in ("甲", "乙", "hash:", "user:chen", "booth-a", "棠下社区居委会"):
        assert private not in page.text and private not in json.dumps(public, ensure_ascii=False)
    assert (await api.http.get(f"/public/rounds/{new_id()}/results")).status_code == 404
    # the round's own page carries the same section
    whole = await api.http.get(f"/public/rounds/{vote.round_id}")
    assert whole.status_code == 200 and 'data-testid="round-results"' in whole.text
    assert "纸质选票" in whole.text and "user:chen" not in whole.text
    assert (await api.http.get(f"/api/v1/public/rounds/{vote.round_id}")).json()[
        "results"]["participation"]["total"] == 7


async def test_voting_opens_is_told_to_everyone_at_the_station(api: Api) -> None:
    vote = await voting_round(api)
    outbox = await _rows(api, notify_outbox, notify_outbox.c.kind == "round.voting_open")
    assert len(outbox) == 1 and outbox[0]["station"] == STATION
    await expand_outbox(api.state, utc_now())
    told = {r["user_id"] for r in await _rows(api, notifications,
                                              notifications.c.kind == "round.voting_open")}
    # residents (volunteer accounts) and staff of the station, not another station's people
    assert {"chen", "li", "zhao", "booth-a", "staff1", "mgr1"} <= told
    title = json.loads((await _rows(api, notifications,
                                    notifications.c.user_id == "chen"))[0]["title"])
    assert "开始投票" in title["zh"] and "Voting is open" in title["en"]
    assert vote.round_id
