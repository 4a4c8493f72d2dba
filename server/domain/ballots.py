"""Voting in a micro-venture round: own-phone and booth ballots, paper tallies, results.

A **ballot** approves feasible proposals of a round whose adjusted prices fit within the
round's budget together (CONSUL's "knapsack"). Residents vote on their own phone (the
server's clock is the ballot's time) or in person at a **booth**: a staff phone, often
offline, takes the ballot with the resident's name and phone number and the booth's
ballot-book number; the time is the booth phone's clock. The name and phone never reach a
table: the server keeps only ``hash:<HMAC-SHA256>`` of the round and the normalised name
and phone (``voter_key``), with a key of its own (``sync_state``, ``ballot_voter_key``),
so the same resident at two booths gets the same key and nobody can test a guessed
name and phone without the key.

**One ballot per resident per round.** Ballots of one ``voter_key`` are ordered by
``cast_at`` (the device clock of a booth, the server's for an own phone), then by the
order the server received them (``seq``, numbered per round under the round's lock).
The first counts (``counted``); every other one is stored with status ``duplicate`` and
``duplicate_of`` the counted one, held for review (the push answers ``flagged``: the
managers' review queue and the booth phone both see it) and announced as
``BallotFlagged``. A ballot that arrives late but was cast earlier than the counted one
takes its place: the two swap. Nothing is dropped.

**Paper ballots** counted by hand are entered per booth (``paper_tally``): the number of
ballots and each proposal's votes. They count in the results and as participation.

**Results** (``round.publish_results``): proposals ordered by votes (own phone + booth
counted + paper), funded in that order while the budget lasts; one that no longer fits is
skipped and the next ones are still tried. A proposal with no vote is not funded. Ties:
the lower adjusted price first, then the earlier submission, then the proposal id.
The results are frozen in ``round_result`` (public) and the round moves to ``results``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import re
import secrets
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    insert,
    select,
)

from schemas.ballots import (
    BallotBoothArgs,
    BallotCastArgs,
    BallotRecord,
    BallotTallyArgs,
    PaperTallyRecord,
    RoundPublishResultsArgs,
    RoundResultRecord,
)
from schemas.events import BallotFlagged
from server import audit
from server.domain.people import person_of
from server.domain.rounds import proposals, runs_round, set_phase
from server.notify import voting
from sync.errors import Rejected, forbidden, not_found
from sync.registry import RecordType, Registry
from sync.scopes import MANAGER, STAFF, VOLUNTEER, Scope
from sync.tables import metadata, sync_state
from sync.timeutil import iso
from sync.unit import MutationContext, Tx

SHANGHAI = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")
VOTER_KEY = "ballot_voter_key"
"""``sync_state`` row holding the HMAC key of booth voters' identities (hex)."""

ballots = Table(
    "ballots",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("round_id", String(36), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("channel", String(16), nullable=False),
    Column("voter_key", String(80), nullable=False),
    Column("alias_key", String(80), nullable=True),
    Column("owner", String(64), nullable=True),
    Column("booth", String(60), nullable=True),
    Column("ballot_book_no", String(40), nullable=True),
    Column("proposal_ids", Text, nullable=False),
    Column("total_fen", BigInteger, nullable=False),
    Column("cast_at", String(32), nullable=False),
    Column("received_at", String(32), nullable=False),
    Column("status", String(16), nullable=False),
    Column("duplicate_of", String(36), nullable=True),
    Column("taken_by", String(64), nullable=True),
    Column("station", String(32), nullable=True),
    Column("district", String(100), nullable=True),
    UniqueConstraint("round_id", "seq"),
)
"""``seq``: the server's order of arrival within the round (1, 2, ...), the second key of
the earliest-cast rule. ``owner``: the voter's user id (own phone), so they see it.
``alias_key``: an own-phone ballot's booth identity (the hash of the account's name and
phone, when the account has a phone), so the same resident voting at a booth too is
found; server-side only, never sent to a phone."""

Index("ix_ballots_round_voter", ballots.c.round_id, ballots.c.voter_key)
Index("ix_ballots_round_alias", ballots.c.round_id, ballots.c.alias_key)

paper_tallies = Table(
    "paper_tallies",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("round_id", String(36), nullable=False, index=True),
    Column("booth", String(60), nullable=False),
    Column("ballots", Integer, nullable=False),
    Column("votes", Text, nullable=False),
    Column("entered_by", String(64), nullable=False),
    Column("entered_at", String(32), nullable=False),
    Column("station", String(32), nullable=True),
    Column("district", String(100), nullable=True),
    Column("previous", Text, nullable=False, default="[]", server_default="[]"),
)
"""``votes``: JSON ``{proposal id: votes}``. ``previous``: JSON list of the figures each
correction replaced (``ballots``, ``votes``, ``entered_by``, ``entered_at``), oldest first."""

round_results = Table(
    "round_results",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("round_id", String(36), nullable=False, index=True),
    Column("proposal_id", String(36), nullable=False),
    Column("votes_own_phone", Integer, nullable=False),
    Column("votes_booth", Integer, nullable=False),
    Column("votes_paper", Integer, nullable=False),
    Column("votes_total", Integer, nullable=False),
    Column("rank", Integer, nullable=False),
    Column("funded", Boolean, nullable=False),
    Column("amount_fen", BigInteger, nullable=False),
    Column("adjusted_price_fen", BigInteger, nullable=False),
    Column("published_at", String(32), nullable=False),
)
"""One line per feasible proposal, written once by ``round.publish_results``. ``id`` is
the proposal's id (a proposal belongs to one round; ``<round>:<proposal>`` would not fit a
change row's 64-character record id)."""


# ----------------------------------------------------------------------------- pure rules


_SEPARATORS = re.compile(r"[\s·•‧・.\-_'’]+")


def normalise_name(name: str) -> str:
    """A name as typed at two booths, made comparable: full-width and compatibility forms
    folded (NFKC), case folded, spaces and the dots or dashes between the parts of a name
    (``阿卜杜拉·买买提``) taken out."""
    return _SEPARATORS.sub("", unicodedata.normalize("NFKC", name)).casefold()


def normalise_phone(phone: str) -> str:
    """Digits only, without the country code of a Chinese number (``+86``, ``0086``)."""
    digits = re.sub(r"\D", "", unicodedata.normalize("NFKC", phone))
    if digits.startswith("0086"):
        digits = digits[4:]
    elif digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    return digits


def voter_hash(key: bytes, round_id: str, name: str, phone: str) -> str:
    """``hash:<hex>``: HMAC-SHA256 with the server's key over the round and the normalised
    name and phone. Keyed: a table of hashes cannot be searched by guessing names and
    numbers. Per round: the same resident is not linked across rounds."""
    content = json.dumps([round_id, normalise_name(name), normalise_phone(phone)],
                         ensure_ascii=False, separators=(",", ":"))
    return "hash:" + hmac.new(key, content.encode(), hashlib.sha256).hexdigest()


def within_budget(prices: Iterable[int], budget_fen: int) -> bool:
    """The knapsack check of one ballot: the approved proposals' prices fit together."""
    return sum(prices) <= budget_fen


def counting_key(ballot: Mapping[str, Any]) -> tuple[str, int]:
    """Which of one resident's ballots counts: the earliest ``cast_at`` (UTC text, so it
    sorts as time), then the server's order of arrival."""
    return (str(ballot["cast_at"]), int(ballot["seq"]))


@dataclass(frozen=True)
class Candidate:
    """A feasible proposal of the round, with its votes by channel."""

    proposal_id: str
    price_fen: int
    submitted_at: str
    votes_own_phone: int = 0
    votes_booth: int = 0
    votes_paper: int = 0

    @property
    def votes_total(self) -> int:
        return self.votes_own_phone + self.votes_booth + self.votes_paper


@dataclass(frozen=True)
class Outcome:
    candidate: Candidate
    rank: int
    funded: bool
    amount_fen: int


def result_order(candidate: Candidate) -> tuple[int, int, str, str]:
    """More votes first; ties: the lower adjusted price, the earlier submission, the id."""
    return (-candidate.votes_total, candidate.price_fen, candidate.submitted_at,
            candidate.proposal_id)


def compute_results(candidates: Sequence[Candidate], budget_fen: int) -> list[Outcome]:
    """Rank the candidates (``result_order``) and fund them in that order while the
    budget lasts: one whose price no longer fits what is left is skipped and the next
    ones are still tried. A proposal nobody voted for is not funded."""
    left = budget_fen
    outcomes = []
    for rank, candidate in enumerate(sorted(candidates, key=result_order), start=1):
        funded = candidate.votes_total > 0 and 0 < candidate.price_fen <= left
        if funded:
            left -= candidate.price_fen
        outcomes.append(Outcome(candidate, rank, funded, candidate.price_fen if funded else 0))
    return outcomes


def tally_problem(ballots_counted: int, votes: Mapping[str, int], prices: Mapping[str, int],
                  budget_fen: int) -> tuple[str, str, str] | None:
    """Why a paper tally cannot be right, or None: a proposal with more votes than there
    were ballots, or more money approved than the ballots could approve within the budget
    each. (code, zh, en)."""
    for count in votes.values():
        if count > ballots_counted:
            return ("tally_impossible",
                    f"某提案的票数({count})多于纸质选票总数({ballots_counted})",
                    (f"a proposal got more votes ({count}) than there were paper ballots "
                     f"({ballots_counted})"))
    approved = sum(count * prices[p] for p, count in votes.items())
    if approved > ballots_counted * budget_fen:
        return ("tally_over_budget",
                "纸质票的选择总额超出了每张选票的预算上限,请核对计票",
                ("the paper ballots approve more money than their number allows within the "
                 "budget each; check the count"))
    return None


def shanghai_day(stamp: str) -> dt.date:
    return dt.datetime.fromisoformat(stamp).astimezone(SHANGHAI).date()


def utc_text(device_time: str) -> str:
    """A device time with its zone, as the server's UTC text (sortable)."""
    return iso(dt.datetime.fromisoformat(device_time))


def _fen(amount: int) -> str:
    return f"{amount / 100:,.2f}"


# ----------------------------------------------------------------------------- records


def _ballot_scope(row: Mapping[str, Any]) -> Scope:
    """The round's managers; the voter themself (own phone)."""
    return Scope(station=row["station"], district=row["district"], owner=row["owner"],
                 audience=MANAGER)


def _ballot_wire(row: Mapping[str, Any]) -> dict[str, Any]:
    data = {c: row[c] for c in (
        "id", "round_id", "channel", "voter_key", "booth", "ballot_book_no", "total_fen",
        "cast_at", "received_at", "status", "duplicate_of", "taken_by", "station", "district")}
    data["proposal_ids"] = json.loads(row["proposal_ids"])
    return data


def _tally_scope(row: Mapping[str, Any]) -> Scope:
    return Scope(station=row["station"], district=row["district"], audience=STAFF)


def _tally_wire(row: Mapping[str, Any]) -> dict[str, Any]:
    data = {c: row[c] for c in ("id", "round_id", "booth", "ballots", "entered_by",
                                "entered_at", "station", "district")}
    data["votes"] = json.loads(row["votes"])
    data["previous"] = json.loads(row["previous"] or "[]")
    return data


def _result_scope(row: Mapping[str, Any]) -> Scope:
    return Scope(public=True)


def _result_wire(row: Mapping[str, Any]) -> dict[str, Any]:
    data = {c: row[c] for c in round_results.c.keys()}
    data["funded"] = bool(row["funded"])
    return data


# ----------------------------------------------------------------------------- checks


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


async def _round(tx: Tx, round_id: str) -> dict[str, Any]:
    """The round, locked: ballots, tallies and the results of one round serialise on it
    (the per-round arrival order, the one-ballot rule, the frozen results)."""
    found = await tx.get("round", round_id)
    if found is None:
        raise not_found("评选活动", "round", round_id, field="round_id")
    return found


def _voting_days(round_row: Mapping[str, Any]) -> tuple[dt.date | None, dt.date | None]:
    phases = _json(round_row.get("phases")) or {}
    voting = phases.get("voting") or {}
    starts, ends = voting.get("starts"), voting.get("ends")
    return (dt.date.fromisoformat(starts) if starts else None,
            dt.date.fromisoformat(ends) if ends else None)


def _check_voting_open(round_row: Mapping[str, Any], day: dt.date, field: str) -> None:
    """The round is in its voting phase (results not yet published) and ``day`` (Asia/
    Shanghai) lies within its voting dates."""
    if round_row["phase"] != "voting":
        after = round_row["phase"] in ("results", "implementation", "closed")
        raise Rejected(
            "voting_closed" if after else "voting_not_open",
            "投票已结束,不能再投票" if after else "本轮尚未进入投票阶段",
            "voting has ended; no more ballots" if after else "this round is not voting yet",
            field="round_id")
    starts, ends = _voting_days(round_row)
    if starts is not None and day < starts:
        raise Rejected("voting_not_open", f"投票从 {starts.isoformat()} 开始",
                       f"voting opens on {starts.isoformat()}", field=field)
    if ends is not None and day > ends:
        raise Rejected("voting_closed", f"投票已于 {ends.isoformat()} 截止",
                       f"voting closed on {ends.isoformat()}", field=field)


async def _choices(tx: Tx, round_row: Mapping[str, Any], proposal_ids: Sequence[str]
                   ) -> tuple[list[str], int]:
    """The ballot's proposals (each once, feasible ones of this round) and their total
    adjusted price, refused above the round's budget. Proposals cannot change while the
    round votes (its rules are locked), so they are read without a lock."""
    if len(set(proposal_ids)) != len(proposal_ids):
        raise Rejected("invalid_args", "同一提案不能选两次", "a proposal is chosen twice",
                       field="proposal_ids")
    found = await tx.peek("proposal", proposal_ids)
    total = 0
    for proposal_id in proposal_ids:
        proposal = found.get(proposal_id)
        if proposal is None or proposal["round_id"] != round_row["id"]:
            raise not_found("本轮的提案", "proposal of this round", proposal_id,
                            field="proposal_ids")
        if proposal["status"] != "feasible":
            raise Rejected("not_on_ballot", "所选提案未通过评审,不在选票上",
                           "a chosen proposal did not pass review and is not on the ballot",
                           field="proposal_ids")
        total += price_of(proposal)
    budget = int(round_row["budget_fen"])
    if not within_budget([total], budget):
        raise Rejected("over_budget",
                       f"所选提案总额超出预算:{_fen(total)} 元,预算 {_fen(budget)} 元",
                       f"the chosen proposals cost more than the budget: {_fen(total)} yuan, "
                       f"budget {_fen(budget)} yuan", field="proposal_ids")
    return list(proposal_ids), total


def price_of(proposal: Mapping[str, Any]) -> int:
    """What a proposal costs on the ballot: its adjusted price after review (its own
    budget total when review left the price as asked)."""
    price = proposal.get("adjusted_price_fen")
    return int(price if price is not None else proposal["budget_total_fen"])


async def _key(tx: Tx) -> bytes:
    """The server's key for booth voters' identities, made on the first booth ballot (a
    row of ``sync_state``, like the volunteer-code and enrolment keys: every worker uses
    the same one, a backup of the data is a backup of the key). Never rotated: a new key
    would give a resident who already voted a new identity."""
    known = tx.memo.get(VOTER_KEY)
    if isinstance(known, bytes):
        return known
    row = (await tx.conn.execute(
        select(sync_state.c.text_value).where(sync_state.c.key == VOTER_KEY))).first()
    if row is not None and row[0]:
        key = bytes.fromhex(str(row[0]))
    else:
        # Only called once every refusal is behind the mutation: the insert is kept. Two
        # first booth ballots at once on PostgreSQL: one insert fails on the key, its
        # batch is run again and reads the other's key.
        key = secrets.token_bytes(32)
        tx.defer(insert(sync_state).values(key=VOTER_KEY, int_value=0, text_value=key.hex()))
    tx.memo[VOTER_KEY] = key
    return key


async def _next_seq(tx: Tx, round_id: str) -> int:
    found = (await tx.query(
        select(func.max(ballots.c.seq)).where(ballots.c.round_id == round_id))).scalar()
    return int(found or 0) + 1


DUPLICATE = ("该居民在本轮已投过票:本票已保存并标记为重复票,不计入结果,请管理者核查",
             ("this resident already voted in this round: the ballot is kept and marked as a "
              "duplicate, not counted; the managers will check it"))
SWAPPED = ("该居民在本轮已有一张较晚投出的选票:本票投出更早,改为计入本票,较晚的一张标记为重复票",
           ("this resident already has a ballot cast later in this round: this one was cast "
            "earlier and counts instead; the later one is marked as a duplicate"))
CLOCK_TOLERANCE = dt.timedelta(minutes=10)


async def _place(tx: Tx, ctx: MutationContext, round_row: Mapping[str, Any],
                 ballot: dict[str, Any]) -> None:
    """Stage ``ballot`` under the one-ballot rule (module docstring): counted if it is
    the resident's earliest in the round, else a duplicate of the earliest; flagged and
    announced when the resident has another ballot."""
    identities = [ballot["voter_key"], *([ballot["alias_key"]] if ballot["alias_key"] else [])]
    rows = (await tx.query(
        select(ballots.c.id, ballots.c.cast_at, ballots.c.seq, ballots.c.status)
        .where(ballots.c.round_id == ballot["round_id"],
               ballots.c.voter_key.in_(identities) | ballots.c.alias_key.in_(identities))
    )).mappings().all()
    mine = [dict(r) for r in rows]
    if not mine:
        tx.insert("ballot", {**ballot, "status": "counted", "duplicate_of": None})
        return
    everyone = sorted([*mine, ballot], key=counting_key)
    first = everyone[0]
    previous = next((r for r in mine if r["status"] == "counted"), None)
    swapped = first is ballot and previous is not None
    tx.insert("ballot", {**ballot, "status": "counted" if first is ballot else "duplicate",
                         "duplicate_of": None if first is ballot else first["id"]})
    if first is ballot:
        await tx.preload("ballot", sorted(str(r["id"]) for r in mine))  # under the round's lock
        for other in mine:
            tx.update("ballot", str(other["id"]), {"status": "duplicate",
                                                   "duplicate_of": ballot["id"]})
    zh, en = SWAPPED if swapped else DUPLICATE
    ctx.flag("duplicate_ballot", zh, en, subject=f"ballot:{ballot['id']}")
    counted = ballot["id"] if first is ballot else str(first["id"])
    await tx.emit(ctx, BallotFlagged(
        ballot_id=ballot["id"], round_id=ballot["round_id"], counted_id=counted,
        duplicate_ids=tuple(sorted(str(r["id"]) for r in everyone if r["id"] != counted)),
        swapped=swapped, channel=ballot["channel"], booth=ballot["booth"],
        station=round_row["station"], district=round_row["district"]))


def _ballot_row(ctx: MutationContext, round_row: Mapping[str, Any], ballot_id: str,
                channel: str, voter_key: str, proposal_ids: list[str], total: int,
                cast_at: str, seq: int, *, owner: str | None = None, booth: str | None = None,
                book: str | None = None, taken_by: str | None = None,
                alias: str | None = None) -> dict[str, Any]:
    return {
        "id": ballot_id, "round_id": round_row["id"], "seq": seq, "channel": channel,
        "voter_key": voter_key, "alias_key": alias, "owner": owner, "booth": booth, "ballot_book_no": book,
        "proposal_ids": json.dumps(proposal_ids), "total_fen": total, "cast_at": cast_at,
        "received_at": ctx.now, "taken_by": taken_by, "station": round_row["station"],
        "district": round_row["district"],
    }


# ----------------------------------------------------------------------------- mutators


async def cast_ballot(tx: Tx, ctx: MutationContext, args: BallotCastArgs) -> None:
    """A resident's ballot from their own phone, at the server's time."""
    if await tx.get("ballot", args.id) is not None:
        raise Rejected("already_exists", "选票编号已存在", "ballot id already exists", field="id")
    round_row = await _round(tx, args.round_id)
    if ctx.grant.rank_at(round_row["station"], round_row["district"]) < VOLUNTEER:
        raise forbidden("只有本社区的居民(已注册账号)可以在手机上投票",
                        "only residents with an account at this round's station vote on "
                        "their phone")
    _check_voting_open(round_row, shanghai_day(ctx.now), "round_id")
    chosen, total = await _choices(tx, round_row, args.proposal_ids)
    seq = await _next_seq(tx, args.round_id)
    person = await person_of(tx, ctx.user_id)
    alias = None
    if person is not None and person.get("phone") and person.get("name") and normalise_phone(
            str(person["phone"])):
        alias = voter_hash(await _key(tx), args.round_id, str(person["name"]),
                           str(person["phone"]))
    await _place(tx, ctx, round_row, _ballot_row(
        ctx, round_row, args.id, "own_phone", f"user:{ctx.user_id}", chosen, total, ctx.now,
        seq, owner=ctx.user_id, alias=alias))


async def booth_ballot(tx: Tx, ctx: MutationContext, args: BallotBoothArgs) -> None:
    """A ballot taken in person at a booth by the station's staff, offline: accepted when
    it was cast (booth phone's clock) within the voting dates, until the results are
    published. The resident's name and phone become ``voter_key`` and are dropped."""
    if await tx.get("ballot", args.id) is not None:
        raise Rejected("already_exists", "选票编号已存在", "ballot id already exists", field="id")
    round_row = await _round(tx, args.round_id)
    if ctx.grant.rank_at(round_row["station"], round_row["district"]) < STAFF:
        raise forbidden("只有本站点的工作人员可以在投票点收取选票",
                        "only the round's station staff take ballots at a booth")
    try:
        cast_at = utc_text(args.cast_at)
    except ValueError:
        raise Rejected("invalid_args", "投票时间格式不对", "the cast time is not a valid time",
                       field="cast_at") from None
    _check_voting_open(round_row, shanghai_day(cast_at), "cast_at")
    if normalise_phone(args.voter_phone) == "" or normalise_name(args.voter_name) == "":
        raise Rejected("invalid_args", "请填写投票居民的姓名和电话",
                       "the resident's name and phone are needed", field="voter_phone")
    chosen, total = await _choices(tx, round_row, args.proposal_ids)
    if dt.datetime.fromisoformat(cast_at) > (
            dt.datetime.fromisoformat(ctx.now) + CLOCK_TOLERANCE):
        ctx.flag("ballot_clock_ahead", "投票点手机的时间比服务器快,选票已保存,请管理者核查",
                 "the booth phone's clock is ahead of the server's; the ballot is kept for review",
                 subject=f"ballot:{args.id}")
    seq = await _next_seq(tx, args.round_id)
    voter = voter_hash(await _key(tx), args.round_id, args.voter_name, args.voter_phone)
    await _place(tx, ctx, round_row, _ballot_row(
        ctx, round_row, args.id, "booth", voter, chosen, total, cast_at, seq,
        booth=args.booth, book=args.ballot_book_no, taken_by=ctx.user_id))


async def tally_paper(tx: Tx, ctx: MutationContext, args: BallotTallyArgs) -> None:
    """Paper ballots of one booth counted by hand (the station's staff), during the vote
    or after it until the results are published. The same id again corrects the tally;
    the figures it replaces are kept in the audit log. One tally per booth and round."""
    round_row = await _round(tx, args.round_id)
    if ctx.grant.rank_at(round_row["station"], round_row["district"]) < STAFF:
        raise forbidden("只有本站点的工作人员可以录入纸质票",
                        "only the round's station staff enter paper ballots")
    if round_row["phase"] != "voting":
        raise Rejected("voting_closed" if round_row["phase"] in ("results", "implementation",
                                                                 "closed") else
                       "voting_not_open", "只有投票阶段(结果公布前)可以录入纸质票",
                       "paper ballots are entered while the round votes, before its results",
                       field="round_id")
    existing = await tx.get("paper_tally", args.id)
    if existing is not None and (existing["round_id"] != args.round_id
                                 or existing["booth"] != args.booth):
        raise Rejected("already_exists", "该计票记录属于另一个投票点",
                       "this tally id belongs to another booth", field="id")
    other = (await tx.query(select(paper_tallies.c.id).where(
        paper_tallies.c.round_id == args.round_id, paper_tallies.c.booth == args.booth,
        paper_tallies.c.id != args.id))).first()
    if other is not None:
        raise Rejected("tally_exists", f"投票点「{args.booth}」的纸质票已录入,请修改原记录",
                       f"paper ballots of booth {args.booth} are already entered; correct "
                       "that tally instead", field="booth")
    found = await tx.peek("proposal", list(args.votes))
    prices = {}
    for proposal_id in args.votes:
        proposal = found.get(proposal_id)
        if proposal is None or proposal["round_id"] != args.round_id:
            raise not_found("本轮的提案", "proposal of this round", proposal_id, field="votes")
        if proposal["status"] != "feasible":
            raise Rejected("not_on_ballot", "该提案未通过评审,不在选票上",
                           "a proposal that did not pass review is not on the ballot",
                           field="votes")
        prices[proposal_id] = price_of(proposal)
    problem = tally_problem(args.ballots, args.votes, prices, int(round_row["budget_fen"]))
    if problem is not None:
        raise Rejected(*problem, field="votes")
    previous = [] if existing is None else [*_json(existing["previous"] or "[]"), {
        "ballots": existing["ballots"], "votes": _json(existing["votes"]),
        "entered_by": existing["entered_by"], "entered_at": existing["entered_at"]}]
    row = {"id": args.id, "round_id": args.round_id, "booth": args.booth,
           "ballots": args.ballots, "votes": json.dumps(dict(sorted(args.votes.items()))),
           "entered_by": ctx.user_id, "entered_at": ctx.now, "station": round_row["station"],
           "district": round_row["district"], "previous": json.dumps(previous)}
    if existing is None:
        tx.insert("paper_tally", row)
    else:
        tx.update("paper_tally", args.id, row)
    audit.stage(tx, ctx, "ballot.tally", "paper_tally", args.id, station=round_row["station"],
                district=round_row["district"], detail={
                    "round": args.round_id, "ballots": args.ballots,
                    "votes": sum(args.votes.values()), "correction": len(previous)})


async def counts(tx_or_conn: Any, round_id: str) -> tuple[dict[str, dict[str, int]],
                                                          dict[str, int]]:
    """Votes per proposal by channel (counted ballots and paper tallies) and participation
    by channel (ballots: own phone, booth, paper; duplicates kept aside)."""
    run = tx_or_conn.query if isinstance(tx_or_conn, Tx) else tx_or_conn.execute
    per: dict[str, dict[str, int]] = {}
    participation = {"own_phone": 0, "booth": 0, "paper": 0, "duplicates": 0}
    rows = await run(select(ballots.c.channel, ballots.c.status, ballots.c.proposal_ids)
                     .where(ballots.c.round_id == round_id))
    for channel, status, chosen in rows:
        if status != "counted":
            participation["duplicates"] += 1
            continue
        participation[str(channel)] += 1
        for proposal_id in json.loads(chosen):
            slot = per.setdefault(str(proposal_id), {"own_phone": 0, "booth": 0, "paper": 0})
            slot[str(channel)] += 1
    for ballots_counted, votes in await run(
            select(paper_tallies.c.ballots, paper_tallies.c.votes)
            .where(paper_tallies.c.round_id == round_id)):
        participation["paper"] += int(ballots_counted)
        for proposal_id, count in json.loads(votes).items():
            slot = per.setdefault(str(proposal_id), {"own_phone": 0, "booth": 0, "paper": 0})
            slot["paper"] += int(count)
    participation["total"] = (participation["own_phone"] + participation["booth"]
                              + participation["paper"])
    return per, participation


async def publish_results(tx: Tx, ctx: MutationContext, args: RoundPublishResultsArgs) -> None:
    """A fund manager closes the vote: every feasible proposal's votes by channel, its
    rank and whether it is funded (``compute_results``) are frozen in ``round_result``,
    the proposals become ``funded`` or ``unfunded`` and the round moves to ``results``.
    No more ballots or tallies are taken after this."""
    # Lock order (docs/architecture.md): the round's proposals before the round itself.
    proposal_ids = sorted(str(r[0]) for r in await tx.query(
        select(proposals.c.id).where(proposals.c.round_id == args.round_id)))
    await tx.preload("proposal", proposal_ids)
    round_row = await _round(tx, args.round_id)
    fund = await tx.read_unlocked("fund", str(round_row["fund_id"]))
    if fund is None or not runs_round(ctx.grant, fund):
        raise forbidden("只有该基金所属慈善会的管理者可以公布投票结果",
                        "only the fund's federation managers publish a round's results")
    if round_row["phase"] != "voting":
        raise Rejected("not_voting", "本轮不在投票阶段,不能公布结果(结果只公布一次)",
                       "the round is not voting: results are published once, at the end of "
                       "its vote", field="round_id")
    _starts, ends = _voting_days(round_row)
    if ends is not None and shanghai_day(ctx.now) <= ends and not args.early:
        raise Rejected("voting_running",
                       f"投票到 {ends.isoformat()} 才截止;如需提前结束投票并公布结果,请确认提前结束",
                       f"voting runs until {ends.isoformat()}; confirm closing it early to "
                       "publish now", field="early")
    per, participation = await counts(tx, args.round_id)
    feasible = []
    for proposal_id in proposal_ids:
        proposal = await tx.get("proposal", proposal_id)
        if proposal is None or proposal["status"] != "feasible":
            continue
        votes = per.get(proposal_id, {})
        feasible.append((proposal, Candidate(
            proposal_id, price_of(proposal), str(proposal["submitted_at"]),
            votes.get("own_phone", 0), votes.get("booth", 0), votes.get("paper", 0))))
    budget = int(round_row["budget_fen"])
    outcomes = {o.candidate.proposal_id: o for o in compute_results(
        [c for _p, c in feasible], budget)}
    for proposal, candidate in feasible:
        outcome = outcomes[candidate.proposal_id]
        tx.insert("round_result", {
            "id": candidate.proposal_id, "round_id": args.round_id,
            "proposal_id": candidate.proposal_id, "votes_own_phone": candidate.votes_own_phone,
            "votes_booth": candidate.votes_booth, "votes_paper": candidate.votes_paper,
            "votes_total": candidate.votes_total, "rank": outcome.rank,
            "funded": outcome.funded, "amount_fen": outcome.amount_fen,
            "adjusted_price_fen": candidate.price_fen, "published_at": ctx.now})
        tx.update("proposal", candidate.proposal_id, {
            "status": "funded" if outcome.funded else "unfunded", "updated_at": ctx.now})
    funded = sum(o.amount_fen for o in outcomes.values())
    audit.stage(tx, ctx, "round.publish_results", "round", args.round_id,
                station=round_row["station"], district=round_row["district"], detail={
                    "budget_fen": budget, "funded_fen": funded, "early": args.early,
                    "funded": sum(1 for o in outcomes.values() if o.funded),
                    "proposals": len(outcomes), "participation": participation})
    await set_phase(tx, ctx, round_row, "results")


# ----------------------------------------------------------------------------- public


async def public_results(conn: Any, round_id: str) -> dict[str, Any] | None:
    """What the public reads of a round's vote once its results are published (None
    before): each feasible proposal's line (rank, title, votes by channel, funded, amount)
    and participation by channel. Titles are the groups' public proposal titles; no
    ballot, voter or booth staff is ever in it."""
    rows = (await conn.execute(
        select(round_results, proposals.c.title)
        .join(proposals, proposals.c.id == round_results.c.proposal_id)
        .where(round_results.c.round_id == round_id)
        .order_by(round_results.c.rank))).mappings().all()
    if not rows:
        return None
    _per, participation = await counts(conn, round_id)
    lines = [{
        "proposal_id": r["proposal_id"], "title": r["title"], "rank": int(r["rank"]),
        "votes_own_phone": int(r["votes_own_phone"]), "votes_booth": int(r["votes_booth"]),
        "votes_paper": int(r["votes_paper"]), "votes_total": int(r["votes_total"]),
        "funded": bool(r["funded"]), "amount_fen": int(r["amount_fen"]),
        "adjusted_price_fen": int(r["adjusted_price_fen"]),
    } for r in rows]
    return {
        "published_at": rows[0]["published_at"],
        "funded_fen": sum(line["amount_fen"] for line in lines),
        "lines": lines,
        "participation": participation,
    }


# ----------------------------------------------------------------------------- install


def install(registry: Registry) -> None:
    registry.add_record_type(RecordType(
        "ballot", ballots, "id", _ballot_scope, _ballot_wire, tombstone=None, shape=BallotRecord))
    registry.add_record_type(RecordType(
        "paper_tally", paper_tallies, "id", _tally_scope, _tally_wire, tombstone=None,
        shape=PaperTallyRecord))
    registry.add_record_type(RecordType(
        "round_result", round_results, "id", _result_scope, _result_wire, tombstone=None,
        shape=RoundResultRecord))
    by_round = (("ballot", "id"), ("round", "round_id"))
    registry.mutation("ballot.cast", 1, BallotCastArgs, preload=by_round)(cast_ballot)
    registry.mutation("ballot.booth", 1, BallotBoothArgs, preload=by_round)(booth_ballot)
    registry.mutation("ballot.tally", 1, BallotTallyArgs,
                      preload=(("paper_tally", "id"), ("round", "round_id")))(tally_paper)
    # no preload: the round's proposals are locked before the round (lock order)
    registry.mutation("round.publish_results", 1, RoundPublishResultsArgs)(publish_results)
    voting.install(registry)


__all__ = [
    "Candidate",
    "Outcome",
    "ballots",
    "compute_results",
    "counts",
    "install",
    "normalise_name",
    "normalise_phone",
    "paper_tallies",
    "price_of",
    "public_results",
    "result_order",
    "round_results",
    "tally_problem",
    "voter_hash",
    "within_budget",
]
