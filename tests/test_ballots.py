"""Voting in a micro-venture round (docs/programme.md, "Voting and results"): ballots within
the budget, only while the round votes, one per resident per round (the earliest cast
counts, the others kept and flagged), paper tallies, and results that never spend more than
the budget (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.domain.ballots import (
    Candidate,
    compute_results,
    normalise_name,
    normalise_phone,
    result_order,
    tally_problem,
    voter_hash,
)

pytestmark = pytest.mark.anyio

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
