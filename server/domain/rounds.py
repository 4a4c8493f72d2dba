"""The community micro-venture round (社区公益微创投, issue 15; docs/programme.md).

A ``round`` belongs to a community fund: a budget, rules (minimum and maximum per
project, who votes, the voting method, the review scorecard) and dated phases, moved
one at a time by the fund's managers (``funds.holds_fund``). The rules lock when voting
opens. Residents' ``need``s are raised from the round's public page or recorded by the
station's staff (offline, on a resident's behalf); staff merge duplicates (the merged
need is kept, its residents counted on the other) and write each need's public title:
a resident's own words and contact never leave the staff's phones. Registered
``community_group``s submit ``proposal``s answering needs; every edit makes a new
version and keeps the old one (``proposal_version``), and edits stop when the proposals
phase ends. Fund managers assign ``review``s; nobody reviews a proposal of a group they
belong to. A fund manager concludes each proposal from its reviews: feasible at an
adjusted price within the round's limits, or not, with the reason the group sees.

Voting, results (issue 15, H2: server/domain/ballots.py) and the projects that follow
(server/domain/service_projects.py) read these records through ``tx.get`` and the
functions in ``__all__``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from typing import Any

import msgspec
from sqlalchemy import BigInteger, Boolean, Column, Integer, String, Table, Text, select

from schemas.attachments import AttachmentRef
from schemas.events import ReviewAssigned, ReviewDone, RoundPhaseChanged
from schemas.rounds import (
    DATED_PHASES,
    DEFAULT_CRITERIA,
    ERASED_TEXT,
    PHASE_NAMES,
    PHASES,
    CommunityGroupRecord,
    GroupRegisterArgs,
    GroupSetMembersArgs,
    NeedEraseContactArgs,
    NeedMergeArgs,
    NeedPublishArgs,
    NeedRecord,
    NeedSubmitArgs,
    ProposalConcludeArgs,
    ProposalEditArgs,
    ProposalRecord,
    ProposalSubmitArgs,
    ProposalVersionRecord,
    ProposalWithdrawArgs,
    ReviewAssignArgs,
    ReviewDeclareConflictArgs,
    ReviewRecord,
    ReviewSubmitArgs,
    RoundAdvanceArgs,
    RoundCreateArgs,
    RoundRecord,
    RoundUpdateArgs,
)
from server import audit
from server.domain import attachments
from server.domain.access import has_rank, live_station
from server.domain.funds import holds_fund
from server.domain.people import person_of
from sync.errors import Rejected, already_exists, forbidden, not_found
from sync.merge import edited_fields
from sync.registry import RecordType, Registry
from sync.scopes import DISTRICT_MANAGER, MANAGER, STAFF, VOLUNTEER, Grant, Scope
from sync.tables import metadata
from sync.unit import MutationContext, Tx

SHANGHAI = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")

OFFLINE_GRACE_DAYS = 14
"""A need recorded offline by staff while the needs phase ran (the phone's clock within
its dates) is still taken when it syncs up to this many days after the phase ended, as
long as the round has not gone past its proposals phase."""

rounds = Table(
    "rounds",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("fund_id", String(36), nullable=False, index=True),
    Column("station", String(32), nullable=False, index=True),
    Column("district", String(100), nullable=False),
    Column("title", String(200), nullable=False),
    Column("year", Integer, nullable=False),
    Column("budget_fen", BigInteger, nullable=False),
    Column("min_project_fen", BigInteger, nullable=False),
    Column("max_project_fen", BigInteger, nullable=False),
    Column("voters", String(16), nullable=False),
    Column("method", String(16), nullable=False),
    Column("phase", String(16), nullable=False),
    Column("phases", Text, nullable=False),
    Column("rules_locked", Boolean, nullable=False),
    Column("criteria", Text, nullable=False),
    Column("phase_changed_at", String(32), nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("updated_at", String(32), nullable=False),
)
"""``phases``: JSON ``{phase: {"starts", "ends"}}`` for the dated phases; ``criteria``:
JSON ``[{key, name, weight}]`` (weights sum to 100)."""

needs = Table(
    "needs",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("round_id", String(36), nullable=False, index=True),
    Column("station", String(32), nullable=False),
    Column("district", String(100), nullable=False),
    Column("category", String(16), nullable=False),
    Column("community", String(100), nullable=False),
    Column("description", Text, nullable=False),
    Column("public_title", String(200), nullable=False, default="", server_default=""),
    Column("status", String(16), nullable=False),
    Column("merged_into", String(36), nullable=True),
    Column("raised_count", Integer, nullable=False),
    Column("raised_via", String(16), nullable=False),
    Column("contact_name", String(100), nullable=True),
    Column("contact_phone", String(32), nullable=True),
    Column("owner", String(64), nullable=True),
    Column("attachments", Text, nullable=False, default="[]", server_default="[]"),
    Column("created_by", String(64), nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("updated_at", String(32), nullable=False),
)
"""``owner``: the resident who raised it on their own phone (they see it), else null.
``contact_*``: staff only, erasable (server/erasure.py)."""

community_groups = Table(
    "community_groups",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("station", String(32), nullable=False, index=True),
    Column("district", String(100), nullable=False),
    Column("registration_no", String(64), nullable=False, default="", server_default=""),
    Column("members", Text, nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("updated_at", String(32), nullable=False),
)
"""``members``: JSON list of person ids."""

proposals = Table(
    "proposals",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("round_id", String(36), nullable=False, index=True),
    Column("group_id", String(36), nullable=False, index=True),
    Column("station", String(32), nullable=False),
    Column("district", String(100), nullable=False),
    Column("title", String(200), nullable=False),
    Column("need_ids", Text, nullable=False),
    Column("beneficiaries", Text, nullable=False),
    Column("beneficiary_count", Integer, nullable=False),
    Column("activities", Text, nullable=False),
    Column("budget_lines", Text, nullable=False),
    Column("budget_total_fen", BigInteger, nullable=False),
    Column("indicators", Text, nullable=False),
    Column("team", Text, nullable=False),
    Column("timeline", Text, nullable=False),
    Column("version", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("review_score", Integer, nullable=True),
    Column("adjusted_price_fen", BigInteger, nullable=True),
    Column("review_reason", Text, nullable=False, default="", server_default=""),
    Column("submitted_by", String(64), nullable=False),
    Column("submitted_at", String(32), nullable=False),
    Column("updated_at", String(32), nullable=False),
)
"""``need_ids``, ``budget_lines``, ``indicators``, ``timeline``: JSON. ``review_score``:
hundredths of a point (7250 = 72.50 of 100; phones see 72.5)."""

proposal_versions = Table(
    "proposal_versions",
    metadata,
    Column("id", String(48), primary_key=True),
    Column("proposal_id", String(36), nullable=False, index=True),
    Column("round_id", String(36), nullable=False),
    Column("station", String(32), nullable=False),
    Column("district", String(100), nullable=False),
    Column("version", Integer, nullable=False),
    Column("snapshot", Text, nullable=False),
    Column("edited_by", String(64), nullable=False),
    Column("edited_at", String(32), nullable=False),
)
"""``id`` is ``<proposal id>:<version>``; written once, never changed."""

reviews = Table(
    "reviews",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("proposal_id", String(36), nullable=False, index=True),
    Column("round_id", String(36), nullable=False, index=True),
    Column("station", String(32), nullable=False),
    Column("district", String(100), nullable=False),
    Column("reviewer", String(64), nullable=False, index=True),
    Column("status", String(24), nullable=False),
    Column("scores", Text, nullable=False),
    Column("weighted_score", Integer, nullable=True),
    Column("feasible", Boolean, nullable=True),
    Column("reason", Text, nullable=False, default="", server_default=""),
    Column("adjusted_price_fen", BigInteger, nullable=True),
    Column("assigned_by", String(64), nullable=False),
    Column("assigned_at", String(32), nullable=False),
    Column("submitted_at", String(32), nullable=True),
    Column("updated_at", String(32), nullable=False),
    Column("proposal", Text, nullable=False, default="{}", server_default="{}"),
)
"""``weighted_score``: hundredths of a point, like a proposal's ``review_score``.
``proposal``: JSON, what the reviewer reviews (``review_copy``), copied when they are
assigned (in the review phase, when proposals no longer change): a reviewer from another
station does not otherwise see the proposal."""


def _points(hundredths: Any) -> float | None:
    """A score kept in hundredths, as phones see it (7250 -> 72.5)."""
    return None if hundredths is None else int(hundredths) / 100


PROPOSAL_FIELDS = ("title", "need_ids", "beneficiaries", "beneficiary_count", "activities",
                   "budget_lines", "budget_total_fen", "indicators", "team", "timeline")
"""What a version's snapshot holds."""
JSON_FIELDS = ("need_ids", "budget_lines", "indicators", "timeline")
CONCLUDED = ("feasible", "infeasible")


def _dump(value: Any) -> str:
    return json.dumps(msgspec.to_builtins(value), ensure_ascii=False, separators=(",", ":"))


# ----------------------------------------------------------------------------- records


def _round_scope(row: Mapping[str, Any]) -> Scope:
    return Scope(station=row["station"], district=row["district"], public=True)


def round_wire(row: Mapping[str, Any]) -> dict[str, Any]:
    data = {c: row[c] for c in rounds.c.keys()}
    data["phases"] = json.loads(row["phases"])
    data["criteria"] = json.loads(row["criteria"])
    data["rules_locked"] = bool(row["rules_locked"])
    return data


def _need_scope(row: Mapping[str, Any]) -> Scope:
    return Scope(station=row["station"], district=row["district"], owner=row["owner"],
                 audience=STAFF)


def _need_wire(row: Mapping[str, Any]) -> dict[str, Any]:
    data = {c: row[c] for c in needs.c.keys()
            if c not in ("contact_name", "contact_phone", "owner", "attachments")}
    has_contact = row["contact_name"] or row["contact_phone"]
    data["contact"] = ({"name": row["contact_name"], "phone": row["contact_phone"]}
                       if has_contact else None)
    data["attachments"] = attachments.wire(row["attachments"])
    return data


def _group_scope(row: Mapping[str, Any]) -> Scope:
    return Scope(station=row["station"], district=row["district"], audience=VOLUNTEER)


def _group_wire(row: Mapping[str, Any]) -> dict[str, Any]:
    data = {c: row[c] for c in community_groups.c.keys()}
    data["members"] = json.loads(row["members"])
    return data


def _group_redacts_for(grant: Grant) -> bool:
    return grant.rank < STAFF


def _group_redact(data: dict[str, Any], grant: Grant) -> dict[str, Any]:
    """A resident who is not a member sees the group, not who is in it."""
    if grant.user_id in data["members"] or grant.rank_at(data["station"], data["district"]) >= STAFF:
        return data
    return {**data, "members": []}


def _proposal_scope(row: Mapping[str, Any]) -> Scope:
    return Scope(station=row["station"], district=row["district"], audience=VOLUNTEER)


def _proposal_wire(row: Mapping[str, Any]) -> dict[str, Any]:
    data = {c: row[c] for c in proposals.c.keys()}
    for name in JSON_FIELDS:
        data[name] = json.loads(row[name])
    data["review_score"] = _points(row["review_score"])
    return data


def _version_scope(row: Mapping[str, Any]) -> Scope:
    return Scope(station=row["station"], district=row["district"], audience=VOLUNTEER)


def _version_wire(row: Mapping[str, Any]) -> dict[str, Any]:
    data = {c: row[c] for c in proposal_versions.c.keys()}
    data["snapshot"] = json.loads(row["snapshot"])
    return data


def _review_scope(row: Mapping[str, Any]) -> Scope:
    return Scope(station=row["station"], district=row["district"], owner=row["reviewer"],
                 audience=DISTRICT_MANAGER)


def _review_wire(row: Mapping[str, Any]) -> dict[str, Any]:
    data = {c: row[c] for c in reviews.c.keys()}
    data["scores"] = json.loads(row["scores"])
    data["feasible"] = None if row["feasible"] is None else bool(row["feasible"])
    data["weighted_score"] = _points(row["weighted_score"])
    data["proposal"] = json.loads(row["proposal"] or "{}")
    return data


# ----------------------------------------------------------------------------- rules


def today(ctx: MutationContext) -> str:
    """The server's calendar day (Asia/Shanghai)."""
    return dt.datetime.fromisoformat(ctx.now).astimezone(SHANGHAI).date().isoformat()


def phone_day(ctx: MutationContext) -> str:
    """The calendar day of the phone's clock when the mutation was made (offline)."""
    millis = int(ctx.hlc.split(":", 1)[0])
    return dt.datetime.fromtimestamp(millis / 1000, SHANGHAI).date().isoformat()


def runs_round(grant: Grant, fund: Mapping[str, Any]) -> bool:
    """The round's managers: whoever may approve its fund's disbursements."""
    return holds_fund(grant, fund)


def phase_dates(round_row: Mapping[str, Any], phase: str) -> dict[str, str] | None:
    found = json.loads(round_row["phases"]).get(phase)
    return dict(found) if found else None


def _fen(amount: int) -> str:
    return f"{amount / 100:,.2f}"


def _phase_zh(phase: str) -> str:
    return PHASE_NAMES.get(phase, (phase, phase))[0]


async def fund_of(tx: Tx, fund_id: str, field: str = "fund_id") -> dict[str, Any]:
    """The round's fund, read without a lock: a round only checks who holds it (its
    district and station never change), and a fund row is what every gift's batch locks
    to append to its ledger; a round must not queue behind them."""
    fund = await tx.read_unlocked("fund", fund_id)
    if fund is None:
        raise not_found("基金", "fund", fund_id, field=field)
    return fund


async def round_of(tx: Tx, round_id: str, field: str = "round_id") -> dict[str, Any]:
    found = await tx.get("round", round_id)
    if found is None:
        raise not_found("微创投", "round", round_id, field=field)
    return found


async def _managed_round(tx: Tx, ctx: MutationContext, round_id: str, what: tuple[str, str],
                         field: str = "id") -> tuple[dict[str, Any], dict[str, Any]]:
    round_row = await round_of(tx, round_id, field)
    fund = await fund_of(tx, round_row["fund_id"])
    if not runs_round(ctx.grant, fund):
        raise forbidden(f"只有该基金所属慈善会的管理者可以{what[0]}",
                        f"only the fund's federation managers may {what[1]}")
    return round_row, fund


def _check_rules(budget: int, low: int, high: int, phases: Mapping[str, Any],
                 criteria: Sequence[Mapping[str, Any]]) -> None:
    if low > high:
        raise Rejected("invalid_args", "单个项目最低资助额不能高于最高资助额",
                       "the minimum per project cannot exceed the maximum",
                       field="min_project_fen")
    if high > budget:
        raise Rejected("invalid_args", "单个项目最高资助额不能超过本轮预算",
                       "the maximum per project cannot exceed the round's budget",
                       field="max_project_fen")
    missing = [p for p in DATED_PHASES if p not in phases]
    if missing:
        raise Rejected("invalid_args", f"缺少阶段日期:{'、'.join(_phase_zh(p) for p in missing)}",
                       f"dates missing for the phases: {', '.join(missing)}", field="phases")
    previous_end = ""
    for phase in DATED_PHASES:
        starts, ends = phases[phase]["starts"], phases[phase]["ends"]
        if ends < starts:
            raise Rejected("invalid_args", f"“{_phase_zh(phase)}”阶段的结束日期早于开始日期",
                           f"the {phase} phase ends before it starts", field="phases")
        if starts <= previous_end:
            raise Rejected("invalid_args", f"“{_phase_zh(phase)}”阶段须在上一阶段结束后开始",
                           f"the {phase} phase must start after the previous one ends",
                           field="phases")
        previous_end = ends
    keys = [c["key"] for c in criteria]
    if len(set(keys)) != len(keys):
        raise Rejected("invalid_args", "评审指标的代码重复", "two review criteria share a key",
                       field="criteria")
    total = sum(int(c["weight"]) for c in criteria)
    if total != 100:
        raise Rejected("invalid_args", f"评审指标的权重之和须为 100(现为 {total})",
                       f"the review criteria's weights must sum to 100 (they sum to {total})",
                       field="criteria")


async def set_phase(tx: Tx, ctx: MutationContext, round_row: Mapping[str, Any], phase: str) -> None:
    """Move the round to ``phase`` (the caller checked who and when): voting locks the
    rules. Used by ``round.advance`` and by publishing results (server/domain/ballots.py)."""
    values: dict[str, Any] = {"phase": phase, "phase_changed_at": ctx.now, "updated_at": ctx.now}
    if PHASES.index(phase) >= PHASES.index("voting"):
        values["rules_locked"] = True
    tx.update("round", round_row["id"], values)
    audit.stage(tx, ctx, "round.phase", "round", round_row["id"], station=round_row["station"],
                district=round_row["district"], detail={"from": round_row["phase"], "to": phase})
    await tx.emit(ctx, RoundPhaseChanged(
        round_id=round_row["id"], fund_id=round_row["fund_id"], station=round_row["station"],
        district=round_row["district"], phase=phase))


async def round_proposals(tx: Tx, round_id: str) -> list[dict[str, Any]]:
    """The round's proposals as this batch sees them, by id."""
    rows = await tx.query(select(proposals.c.id).where(proposals.c.round_id == round_id)
                          .order_by(proposals.c.id))
    found = []
    for (proposal_id,) in rows:
        proposal = await tx.get("proposal", str(proposal_id))
        if proposal is not None:
            found.append(proposal)
    return found


# ----------------------------------------------------------------------------- rounds


async def create_round(tx: Tx, ctx: MutationContext, args: RoundCreateArgs) -> None:
    fund = await fund_of(tx, args.fund_id)
    if not runs_round(ctx.grant, fund):
        raise forbidden("只有该基金所属慈善会的管理者可以设立微创投",
                        "only the fund's federation managers set up a micro-venture round")
    station = await live_station(tx, args.station)
    if station["district"] != fund["district"] or (
            fund["station"] is not None and fund["station"] != args.station):
        raise Rejected("invalid_args", f"站点 {args.station} 不属于该基金",
                       f"station {args.station} is not the fund's", field="station")
    if await tx.get("round", args.id) is not None:
        raise already_exists("微创投", "round", args.id)
    criteria = ([msgspec.to_builtins(c) for c in args.criteria] if args.criteria is not None
                else [{"key": k, "name": n, "weight": w} for k, n, w in DEFAULT_CRITERIA])
    phases = msgspec.to_builtins(args.phases)
    _check_rules(args.budget_fen, args.min_project_fen, args.max_project_fen, phases, criteria)
    tx.insert("round", {
        "id": args.id, "fund_id": args.fund_id, "station": args.station,
        "district": station["district"], "title": args.title, "year": args.year,
        "budget_fen": args.budget_fen, "min_project_fen": args.min_project_fen,
        "max_project_fen": args.max_project_fen, "voters": args.voters, "method": args.method,
        "phase": PHASES[0], "phases": _dump(phases), "rules_locked": False,
        "criteria": _dump(criteria), "phase_changed_at": ctx.now, "created_by": ctx.user_id,
        "created_at": ctx.now, "updated_at": ctx.now,
    })
    audit.stage(tx, ctx, "round.create", "round", args.id, station=args.station,
                district=station["district"],
                detail={"fund_id": args.fund_id, "budget_fen": args.budget_fen})


async def update_round(tx: Tx, ctx: MutationContext, args: RoundUpdateArgs) -> None:
    round_row, _fund = await _managed_round(tx, ctx, args.id, ("修改微创投规则", "change the round"))
    if round_row["rules_locked"]:
        raise Rejected("rules_locked", "投票已开始,本轮规则已锁定,不能修改",
                       "voting has opened: the round's rules are locked", field="fields")
    edits = edited_fields(args.fields)
    merged = {**round_wire(round_row), **{k: msgspec.to_builtins(v) for k, v in edits.items()}}
    _check_rules(int(merged["budget_fen"]), int(merged["min_project_fen"]),
                 int(merged["max_project_fen"]), merged["phases"], merged["criteria"])
    values = {k: (_dump(v) if k in ("phases", "criteria") else v) for k, v in edits.items()}
    tx.update("round", args.id, {**values, "updated_at": ctx.now})
    audit.stage(tx, ctx, "round.update", "round", args.id, station=round_row["station"],
                district=round_row["district"], detail={"fields": sorted(edits)})


async def advance_round(tx: Tx, ctx: MutationContext, args: RoundAdvanceArgs) -> None:
    round_row, _fund = await _managed_round(tx, ctx, args.id, ("推进微创投阶段", "move the round"))
    current = round_row["phase"]
    position = PHASES.index(current)
    if position + 1 >= len(PHASES) or PHASES[position + 1] != args.to:
        raise Rejected(
            "wrong_phase",
            f"本轮现处于“{_phase_zh(current)}”阶段,不能进入“{_phase_zh(args.to)}”阶段",
            f"the round is in its {current} phase: it cannot move to {args.to}", field="to")
    if args.to == "results":
        raise Rejected("results_by_publishing", "投票结果须由“公布结果”产生,不能直接进入结果阶段",
                       "the results phase opens by publishing the results", field="to")
    if args.to == "voting":
        open_ones = [p for p in await round_proposals(tx, round_row["id"])
                     if p["status"] not in (*CONCLUDED, "withdrawn")]
        if open_ones:
            raise Rejected(
                "proposals_not_concluded",
                f"还有 {len(open_ones)} 个提案未完成评审结论,不能开始投票",
                f"{len(open_ones)} proposal(s) still have no review conclusion: voting cannot open",
                field="id")
    await set_phase(tx, ctx, round_row, args.to)


# ----------------------------------------------------------------------------- needs


def _need_open_to(round_row: Mapping[str, Any], ctx: MutationContext) -> bool:
    """Staff's offline needs: taken in the needs phase, or made while it ran and synced
    soon after (before the round passes its proposals phase)."""
    if round_row["phase"] == "needs":
        return True
    dates = phase_dates(round_row, "needs")
    if round_row["phase"] != "proposals" or dates is None:
        return False
    if not dates["starts"] <= phone_day(ctx) <= dates["ends"]:
        return False
    late = dt.date.fromisoformat(today(ctx)) - dt.date.fromisoformat(dates["ends"])
    return late.days <= OFFLINE_GRACE_DAYS


def _needs_closed(round_row: Mapping[str, Any]) -> Rejected:
    return Rejected("needs_closed", f"本轮已不在“{_phase_zh('needs')}”阶段,不再接受新需求",
                    "the round is no longer collecting needs", field="round_id")


async def record_need(tx: Tx, ctx: MutationContext, args: NeedSubmitArgs, *, raised_via: str,
                      owner: str | None) -> dict[str, Any]:
    """Write a need (the caller checked who and when). The public form calls this too."""
    round_row = await round_of(tx, args.round_id)
    if await tx.get("need", args.id) is not None:
        raise already_exists("需求", "need", args.id)
    contact = args.contact
    row = {
        "id": args.id, "round_id": args.round_id, "station": round_row["station"],
        "district": round_row["district"], "category": args.category,
        "community": args.community, "description": args.description, "public_title": "",
        "status": "open", "merged_into": None, "raised_count": 1, "raised_via": raised_via,
        "contact_name": contact.name if contact else None,
        "contact_phone": contact.phone if contact else None, "owner": owner,
        "attachments": attachments.encode(args.attachments), "created_by": ctx.user_id,
        "created_at": ctx.now, "updated_at": ctx.now,
    }
    tx.insert("need", row)
    attachments.stage_refs(tx, "need", args.id, args.attachments)
    return row


async def submit_need(tx: Tx, ctx: MutationContext, args: NeedSubmitArgs) -> None:
    round_row = await round_of(tx, args.round_id)
    staff = has_rank(ctx, STAFF, round_row["station"], round_row["district"])
    if staff:
        if not _need_open_to(round_row, ctx):
            raise _needs_closed(round_row)
        await record_need(tx, ctx, args, raised_via=args.raised_via, owner=None)
        return
    if not has_rank(ctx, VOLUNTEER, round_row["station"], round_row["district"]):
        raise forbidden(f"只有站点 {round_row['station']} 的居民或工作人员可以提交需求",
                        f"only residents or staff of station {round_row['station']} raise needs")
    if round_row["phase"] != "needs":
        raise _needs_closed(round_row)
    await record_need(tx, ctx, args, raised_via="public", owner=ctx.user_id)


async def _staff_need(tx: Tx, ctx: MutationContext, need_id: str, field: str = "id"
                      ) -> dict[str, Any]:
    need = await tx.get("need", need_id)
    if need is None:
        raise not_found("需求", "need", need_id, field=field)
    if not has_rank(ctx, STAFF, need["station"], need["district"]):
        raise forbidden(f"只有站点 {need['station']} 的工作人员可以整理需求",
                        f"only the staff of station {need['station']} sort needs")
    return need


async def merge_need(tx: Tx, ctx: MutationContext, args: NeedMergeArgs) -> None:
    if args.id == args.into:
        raise Rejected("invalid_args", "不能把需求合并到它自己", "a need cannot merge into itself",
                       field="into")
    need = await _staff_need(tx, ctx, args.id)
    target = await _staff_need(tx, ctx, args.into, field="into")
    if need["round_id"] != target["round_id"]:
        raise Rejected("invalid_args", "只能合并同一轮微创投的需求",
                       "only needs of the same round merge", field="into")
    for which, row, field in (("被合并的", need, "id"), ("目标", target, "into")):
        if row["status"] == "merged":
            raise Rejected("already_merged", f"{which}需求已合并到另一需求",
                           f"the {'merged' if field == 'id' else 'target'} need was already "
                           "merged into another", field=field)
    tx.update("need", args.into, {
        "raised_count": int(target["raised_count"]) + int(need["raised_count"]),
        "updated_at": ctx.now})
    tx.update("need", args.id, {"status": "merged", "merged_into": args.into,
                                "updated_at": ctx.now})
    await _repoint_merged(tx, ctx, args.id, args.into)


async def _repoint_merged(tx: Tx, ctx: MutationContext, old: str, new: str) -> None:
    """Needs merged earlier into ``old`` now point at ``new`` (one level of merging)."""
    rows = await tx.query(select(needs.c.id).where(needs.c.merged_into == old).order_by(needs.c.id))
    for (need_id,) in rows:
        if str(need_id) != old:
            await tx.get("need", str(need_id))
            tx.update("need", str(need_id), {"merged_into": new, "updated_at": ctx.now})


async def publish_need(tx: Tx, ctx: MutationContext, args: NeedPublishArgs) -> None:
    need = await _staff_need(tx, ctx, args.id)
    if need["status"] == "merged":
        raise Rejected("already_merged", "该需求已合并到另一需求,请发布合并后的需求",
                       "this need was merged into another: publish that one", field="id")
    tx.update("need", args.id, {
        "public_title": args.public_title,
        "status": "published" if need["status"] == "open" else need["status"],
        "updated_at": ctx.now})
    audit.stage(tx, ctx, "need.publish", "need", args.id, station=need["station"],
                district=need["district"], detail={"public_title": args.public_title})


async def erase_need_contact(tx: Tx, ctx: MutationContext, args: NeedEraseContactArgs) -> None:
    need = await tx.get("need", args.id)
    if need is None:
        raise not_found("需求", "need", args.id, field="id")
    if not has_rank(ctx, MANAGER, need["station"], need["district"]):
        raise forbidden(f"只有站点 {need['station']} 的管理者可以删除需求中的个人信息",
                        f"only the managers of station {need['station']} erase a need's "
                        "personal data")
    tx.update("need", args.id, {"contact_name": None, "contact_phone": None,
                                "description": ERASED_TEXT, "owner": None, "updated_at": ctx.now})
    audit.stage(tx, ctx, "need.contact_erase", "need", args.id, station=need["station"],
                district=need["district"])


async def erase_person_needs(tx: Tx, ctx: MutationContext, user_id: str) -> int:
    """A person's erasure (server/erasure.py) also erases the needs they raised from their
    own phone: contact and words, as ``need.erase_contact@1`` does. Returns how many."""
    rows = await tx.query(select(needs.c.id).where(needs.c.owner == user_id).order_by(needs.c.id))
    found = [str(need_id) for (need_id,) in rows]
    await tx.preload("need", found)
    for need_id in found:
        tx.update("need", need_id, {"contact_name": None, "contact_phone": None,
                                    "description": ERASED_TEXT, "owner": None,
                                    "updated_at": ctx.now})
    return len(found)


async def may_attach_need(tx: Tx, ctx: MutationContext, need: dict[str, Any],
                          after: list[AttachmentRef]) -> None:
    """The station's staff change a need's photos (never public: the public page shows
    no photo of a need)."""
    if not has_rank(ctx, STAFF, need["station"], need["district"]):
        raise forbidden(f"只有站点 {need['station']} 的工作人员可以更改需求的照片",
                        f"only the staff of station {need['station']} change a need's photos")


# ----------------------------------------------------------------------------- groups


async def _check_people(tx: Tx, people: Sequence[str], field: str) -> list[str]:
    unique = list(dict.fromkeys(people))
    for user_id in unique:
        person = await person_of(tx, user_id)
        if person is None or person.get("erased_at"):
            raise not_found("人员", "person", user_id, field=field)
    return unique


async def register_group(tx: Tx, ctx: MutationContext, args: GroupRegisterArgs) -> None:
    station = await live_station(tx, args.station)
    if not has_rank(ctx, STAFF, args.station, station["district"]):
        raise forbidden(f"只有站点 {args.station} 的工作人员可以登记社区社会组织",
                        f"only the staff of station {args.station} register community groups")
    if await tx.get("community_group", args.id) is not None:
        raise already_exists("社区社会组织", "community group", args.id)
    members = await _check_people(tx, args.members, "members")
    tx.insert("community_group", {
        "id": args.id, "name": args.name, "station": args.station,
        "district": station["district"], "registration_no": args.registration_no,
        "members": json.dumps(members), "created_by": ctx.user_id, "created_at": ctx.now,
        "updated_at": ctx.now,
    })
    audit.stage(tx, ctx, "group.register", "community_group", args.id, station=args.station,
                district=station["district"], detail={"members": len(members)})


async def set_group_members(tx: Tx, ctx: MutationContext, args: GroupSetMembersArgs) -> None:
    group = await tx.get("community_group", args.id)
    if group is None:
        raise not_found("社区社会组织", "community group", args.id, field="id")
    if not has_rank(ctx, STAFF, group["station"], group["district"]):
        raise forbidden(f"只有站点 {group['station']} 的工作人员可以修改社区社会组织的成员",
                        f"only the staff of station {group['station']} change a group's members")
    members = await _check_people(tx, args.members, "members")
    tx.update("community_group", args.id, {"members": json.dumps(members), "updated_at": ctx.now})
    audit.stage(tx, ctx, "group.set_members", "community_group", args.id,
                station=group["station"], district=group["district"],
                detail={"before": len(json.loads(group["members"])), "after": len(members)})


def members_of(group: Mapping[str, Any]) -> list[str]:
    return list(json.loads(group["members"]))


# ----------------------------------------------------------------------------- proposals


def budget_total(lines: Sequence[Mapping[str, Any]]) -> int:
    return sum(int(line["quantity"]) * int(line["unit_cost_fen"]) for line in lines)


def _check_deadline(round_row: Mapping[str, Any], ctx: MutationContext, *, editing: bool) -> None:
    """Proposals are taken and edited in the proposals phase, until its last day (the
    server's day: a phone's clock can be set back)."""
    dates = phase_dates(round_row, "proposals")
    ends = dates["ends"] if dates else ""
    if round_row["phase"] != "proposals" or today(ctx) > ends:
        if editing:
            raise Rejected("proposal_deadline", f"提案修改已截止(截止日期 {ends})",
                           f"proposals can no longer be edited (the deadline was {ends})",
                           field="id")
        raise Rejected("proposal_deadline", f"本轮已不接受提案(提案截止日期 {ends})",
                       f"the round no longer takes proposals (the deadline was {ends})",
                       field="round_id")


async def _check_proposal_body(tx: Tx, round_row: Mapping[str, Any], body: Mapping[str, Any]) -> None:
    for need_id in body["need_ids"]:
        need = await tx.read_unlocked("need", need_id)  # only checked; staff sort needs meanwhile
        if need is None or need["round_id"] != round_row["id"]:
            raise not_found("本轮的需求", "need of this round", need_id, field="need_ids")
        if need["status"] == "merged":
            raise Rejected("already_merged", "所选需求已合并到另一需求,请选择合并后的需求",
                           "a chosen need was merged into another: choose that one",
                           field="need_ids")
    total = budget_total(body["budget_lines"])
    high = int(round_row["max_project_fen"])
    if total > high:
        raise Rejected("over_project_max",
                       f"预算总额 {_fen(total)} 元超过本轮单个项目上限 {_fen(high)} 元",
                       f"the budget total {_fen(total)} yuan is above the round's maximum per "
                       f"project ({_fen(high)} yuan)", field="budget_lines")
    keys = [i["key"] for i in body["indicators"]]
    if len(set(keys)) != len(keys):
        raise Rejected("invalid_args", "指标代码重复", "two indicators share a key",
                       field="indicators")
    steps = [s["key"] for s in body["timeline"]]
    if len(set(steps)) != len(steps):
        raise Rejected("invalid_args", "进度安排的代码重复", "two timeline steps share a key",
                       field="timeline")


async def _member_group(tx: Tx, ctx: MutationContext, group_id: str, what: tuple[str, str],
                        field: str = "group_id") -> dict[str, Any]:
    group = await tx.get("community_group", group_id)
    if group is None:
        raise not_found("社区社会组织", "community group", group_id, field=field)
    if ctx.user_id not in members_of(group):
        raise forbidden(f"只有“{group['name']}”的成员可以{what[0]}",
                        f"only members of “{group['name']}” may {what[1]}")
    return group


def _snapshot(row: Mapping[str, Any]) -> dict[str, Any]:
    return {name: (json.loads(row[name]) if name in JSON_FIELDS else row[name])
            for name in PROPOSAL_FIELDS}


def _stage_version(tx: Tx, ctx: MutationContext, row: Mapping[str, Any]) -> None:
    tx.insert("proposal_version", {
        "id": f"{row['id']}:{row['version']}", "proposal_id": row["id"],
        "round_id": row["round_id"], "station": row["station"], "district": row["district"],
        "version": row["version"], "snapshot": _dump(_snapshot(row)), "edited_by": ctx.user_id,
        "edited_at": ctx.now,
    })


async def submit_proposal(tx: Tx, ctx: MutationContext, args: ProposalSubmitArgs) -> None:
    round_row = await round_of(tx, args.round_id)
    group = await _member_group(tx, ctx, args.group_id, ("提交提案", "submit its proposals"))
    if group["station"] != round_row["station"]:
        raise Rejected("invalid_args", "该社区社会组织不在本轮微创投的站点",
                       "the group is not at the round's station", field="group_id")
    if await tx.get("proposal", args.id) is not None:
        raise already_exists("提案", "proposal", args.id)
    _check_deadline(round_row, ctx, editing=False)
    body = msgspec.to_builtins(args)
    body["need_ids"] = list(dict.fromkeys(body["need_ids"]))
    await _check_proposal_body(tx, round_row, body)
    row = {
        "id": args.id, "round_id": args.round_id, "group_id": args.group_id,
        "station": round_row["station"], "district": round_row["district"],
        "title": args.title, "need_ids": _dump(body["need_ids"]),
        "beneficiaries": args.beneficiaries, "beneficiary_count": args.beneficiary_count,
        "activities": args.activities, "budget_lines": _dump(body["budget_lines"]),
        "budget_total_fen": budget_total(body["budget_lines"]),
        "indicators": _dump(body["indicators"]), "team": args.team,
        "timeline": _dump(body["timeline"]), "version": 1, "status": "submitted",
        "review_score": None, "adjusted_price_fen": None, "review_reason": "",
        "submitted_by": ctx.user_id, "submitted_at": ctx.now, "updated_at": ctx.now,
    }
    tx.insert("proposal", row)
    _stage_version(tx, ctx, row)


async def _proposal(tx: Tx, proposal_id: str, field: str = "id") -> dict[str, Any]:
    proposal = await tx.get("proposal", proposal_id)
    if proposal is None:
        raise not_found("提案", "proposal", proposal_id, field=field)
    return proposal


async def edit_proposal(tx: Tx, ctx: MutationContext, args: ProposalEditArgs) -> None:
    proposal = await _proposal(tx, args.id)
    await _member_group(tx, ctx, proposal["group_id"], ("修改提案", "edit its proposals"),
                        field="id")
    round_row = await round_of(tx, proposal["round_id"])
    _check_deadline(round_row, ctx, editing=True)
    if proposal["status"] != "submitted":
        raise Rejected("proposal_closed", "该提案已撤回或已有评审结论,不能修改",
                       "the proposal was withdrawn or concluded: it cannot be edited", field="id")
    edits = {k: msgspec.to_builtins(v) for k, v in edited_fields(args.fields).items()}
    if "need_ids" in edits:
        edits["need_ids"] = list(dict.fromkeys(edits["need_ids"]))
    body = {**_snapshot(proposal), **edits}
    await _check_proposal_body(tx, round_row, body)
    values: dict[str, Any] = {k: (_dump(v) if k in JSON_FIELDS else v) for k, v in edits.items()}
    values["budget_total_fen"] = budget_total(body["budget_lines"])
    values["version"] = int(proposal["version"]) + 1
    values["updated_at"] = ctx.now
    tx.update("proposal", args.id, values)
    _stage_version(tx, ctx, {**proposal, **values})


async def withdraw_proposal(tx: Tx, ctx: MutationContext, args: ProposalWithdrawArgs) -> None:
    proposal = await _proposal(tx, args.id)
    await _member_group(tx, ctx, proposal["group_id"], ("撤回提案", "withdraw its proposals"),
                        field="id")
    round_row = await round_of(tx, proposal["round_id"])
    if round_row["rules_locked"] or proposal["status"] == "withdrawn":
        raise Rejected("proposal_closed", "投票已开始或提案已撤回,不能撤回",
                       "voting has opened or the proposal was already withdrawn", field="id")
    tx.update("proposal", args.id, {"status": "withdrawn", "updated_at": ctx.now})


# ----------------------------------------------------------------------------- review


def _in_review(round_row: Mapping[str, Any], field: str) -> None:
    if round_row["phase"] != "review":
        raise Rejected("wrong_phase",
                       f"本轮现处于“{_phase_zh(round_row['phase'])}”阶段,不在评审期",
                       f"the round is in its {round_row['phase']} phase, not in review",
                       field=field)


def _conflict(group: Mapping[str, Any], reviewer: str) -> Rejected:
    return Rejected(
        "conflict_of_interest",
        f"利益冲突:{reviewer} 是“{group['name']}”的成员,不能评审该组织的提案",
        f"conflict of interest: {reviewer} is a member of “{group['name']}” and cannot review "
        "its proposal", field="reviewer")


async def review_copy(tx: Tx, proposal: Mapping[str, Any],
                      group: Mapping[str, Any] | None) -> dict[str, Any]:
    """The proposal as its reviewer gets it: its fields, its group's name, and the needs it
    answers as the public sees them (category, community, public title, count: never a
    resident's words)."""
    answered = []
    for need_id in json.loads(proposal["need_ids"]):
        need = await tx.read_unlocked("need", need_id)
        if need is not None:
            answered.append({"id": need_id, "category": need["category"],
                             "community": need["community"],
                             "public_title": need["public_title"],
                             "raised_count": int(need["raised_count"])})
    return {**_snapshot(proposal), "id": proposal["id"], "version": int(proposal["version"]),
            "group": group["name"] if group is not None else "", "needs": answered}


async def assign_review(tx: Tx, ctx: MutationContext, args: ReviewAssignArgs) -> None:
    proposal = await _proposal(tx, args.proposal_id, "proposal_id")
    round_row, _fund = await _managed_round(tx, ctx, proposal["round_id"],
                                            ("指派评审", "assign reviewers"), field="proposal_id")
    if await tx.get("review", args.id) is not None:
        raise already_exists("评审", "review", args.id)
    _in_review(round_row, "proposal_id")
    if proposal["status"] == "withdrawn":
        raise Rejected("proposal_closed", "提案已撤回", "the proposal was withdrawn",
                       field="proposal_id")
    group = await tx.get("community_group", proposal["group_id"])
    if group is not None and args.reviewer in members_of(group):
        raise _conflict(group, args.reviewer)
    if args.reviewer == proposal["submitted_by"]:
        raise _conflict(group or {"name": proposal["title"]}, args.reviewer)
    await _check_people(tx, [args.reviewer], "reviewer")
    taken = await tx.query(select(reviews.c.id).where(
        reviews.c.proposal_id == args.proposal_id, reviews.c.reviewer == args.reviewer,
        reviews.c.status != "declined_conflict"))
    if taken.first() is not None:
        raise Rejected("already_assigned", f"{args.reviewer} 已被指派评审该提案",
                       f"{args.reviewer} is already assigned to this proposal", field="reviewer")
    tx.insert("review", {
        "id": args.id, "proposal_id": args.proposal_id, "round_id": proposal["round_id"],
        "station": proposal["station"], "district": proposal["district"],
        "reviewer": args.reviewer, "status": "assigned", "scores": "{}",
        "weighted_score": None, "feasible": None, "reason": "", "adjusted_price_fen": None,
        "assigned_by": ctx.user_id, "assigned_at": ctx.now, "submitted_at": None,
        "updated_at": ctx.now, "proposal": _dump(await review_copy(tx, proposal, group)),
    })
    audit.stage(tx, ctx, "review.assign", "review", args.id, station=proposal["station"],
                district=proposal["district"],
                detail={"proposal_id": args.proposal_id, "reviewer": args.reviewer})
    await tx.emit(ctx, ReviewAssigned(
        review_id=args.id, proposal_id=args.proposal_id, reviewer=args.reviewer,
        round_id=proposal["round_id"], station=proposal["station"],
        district=proposal["district"]))


async def _my_review(tx: Tx, ctx: MutationContext, review_id: str) -> dict[str, Any]:
    review = await tx.get("review", review_id)
    if review is None:
        raise not_found("评审", "review", review_id, field="id")
    if review["reviewer"] != ctx.user_id:
        raise forbidden("只有被指派的评审人可以这样做", "only the assigned reviewer may do this")
    if review["status"] != "assigned":
        raise Rejected("review_closed", "该评审已提交或已声明利益冲突",
                       "this review was already submitted or declined", field="id")
    return review


async def declare_conflict(tx: Tx, ctx: MutationContext, args: ReviewDeclareConflictArgs) -> None:
    review = await _my_review(tx, ctx, args.id)
    tx.update("review", args.id, {"status": "declined_conflict", "reason": args.reason,
                                  "submitted_at": ctx.now, "updated_at": ctx.now})
    audit.stage(tx, ctx, "review.declare_conflict", "review", args.id, station=review["station"],
                district=review["district"], detail={"proposal_id": review["proposal_id"]})
    await tx.emit(ctx, ReviewDone(review_id=args.id, proposal_id=review["proposal_id"],
                                  reviewer=review["reviewer"], status="declined_conflict"))


def weighted(criteria: Sequence[Mapping[str, Any]], scores: Mapping[str, int]) -> int:
    """In hundredths of 0..100: each criterion's score (0..10) times its weight (the
    weights sum to 100), over 10."""
    return sum(int(scores[c["key"]]) * int(c["weight"]) for c in criteria) * 10


async def submit_review(tx: Tx, ctx: MutationContext, args: ReviewSubmitArgs) -> None:
    review = await _my_review(tx, ctx, args.id)
    proposal = await _proposal(tx, review["proposal_id"])
    round_row = await round_of(tx, review["round_id"])
    _in_review(round_row, "id")
    group = await tx.get("community_group", proposal["group_id"])
    if group is not None and ctx.user_id in members_of(group):
        raise _conflict(group, ctx.user_id)
    criteria = json.loads(round_row["criteria"])
    keys = {c["key"] for c in criteria}
    if set(args.scores) != keys:
        missing = sorted(keys - set(args.scores))
        extra = sorted(set(args.scores) - keys)
        raise Rejected("invalid_args",
                       f"须为每项评审指标打分(缺少:{'、'.join(missing) or '无'};多余:"
                       f"{'、'.join(extra) or '无'})",
                       f"score every criterion of the round (missing: {', '.join(missing) or '-'}; "
                       f"unknown: {', '.join(extra) or '-'})", field="scores")
    tx.update("review", args.id, {
        "status": "submitted", "scores": _dump(args.scores),
        "weighted_score": weighted(criteria, args.scores), "feasible": args.feasible,
        "reason": args.reason, "adjusted_price_fen": args.adjusted_price_fen,
        "submitted_at": ctx.now, "updated_at": ctx.now,
    })
    await tx.emit(ctx, ReviewDone(review_id=args.id, proposal_id=review["proposal_id"],
                                  reviewer=review["reviewer"], status="submitted"))


async def proposal_reviews(tx: Tx, proposal_id: str) -> list[dict[str, Any]]:
    rows = await tx.query(select(reviews.c.id).where(reviews.c.proposal_id == proposal_id)
                          .order_by(reviews.c.id))
    found = []
    for (review_id,) in rows:
        review = await tx.get("review", str(review_id))
        if review is not None:
            found.append(review)
    return found


async def conclude_proposal(tx: Tx, ctx: MutationContext, args: ProposalConcludeArgs) -> None:
    proposal = await _proposal(tx, args.id)
    round_row, _fund = await _managed_round(tx, ctx, proposal["round_id"],
                                            ("作出评审结论", "conclude a review"))
    if round_row["phase"] != "review":
        raise Rejected("wrong_phase",
                       f"本轮现处于“{_phase_zh(round_row['phase'])}”阶段,评审结论须在评审阶段作出",
                       f"the round is in its {round_row['phase']} phase: conclusions are made "
                       "in the review phase", field="id")
    if proposal["status"] not in ("submitted", *CONCLUDED):
        raise Rejected("proposal_closed", "提案已撤回", "the proposal was withdrawn", field="id")
    done = [r for r in await proposal_reviews(tx, args.id) if r["status"] == "submitted"]
    if not done:
        raise Rejected("no_reviews", "该提案还没有已提交的评审,不能作出结论",
                       "no review of this proposal was submitted yet: it cannot be concluded",
                       field="id")
    price: int | None = None
    if args.feasible:
        if args.adjusted_price_fen is None:
            raise Rejected("invalid_args", "可行的提案须有核定金额",
                           "a feasible proposal needs its adjusted price",
                           field="adjusted_price_fen")
        price = args.adjusted_price_fen
        low, high = int(round_row["min_project_fen"]), int(round_row["max_project_fen"])
        if not low <= price <= high:
            raise Rejected(
                "price_out_of_range",
                f"核定金额须在本轮单个项目 {_fen(low)} 至 {_fen(high)} 元之间",
                f"the adjusted price must be between {_fen(low)} and {_fen(high)} yuan, the "
                "round's limits per project", field="adjusted_price_fen")
    score = round(sum(int(r["weighted_score"] or 0) for r in done) / len(done))
    tx.update("proposal", args.id, {
        "status": "feasible" if args.feasible else "infeasible", "review_score": score,
        "adjusted_price_fen": price, "review_reason": args.reason, "updated_at": ctx.now})
    audit.stage(tx, ctx, "proposal.conclude", "proposal", args.id, station=proposal["station"],
                district=proposal["district"],
                detail={"feasible": args.feasible, "adjusted_price_fen": price,
                        "review_score": score / 100})


# ----------------------------------------------------------------------------- install


def install(registry: Registry) -> None:
    registry.add_record_type(RecordType(
        "round", rounds, "id", _round_scope, round_wire, tombstone=None, shape=RoundRecord))
    registry.add_record_type(RecordType(
        "need", needs, "id", _need_scope, _need_wire, tombstone=None, shape=NeedRecord))
    registry.add_record_type(RecordType(
        "community_group", community_groups, "id", _group_scope, _group_wire,
        redact=_group_redact, redacts_for=_group_redacts_for, tombstone=None,
        shape=CommunityGroupRecord))
    registry.add_record_type(RecordType(
        "proposal", proposals, "id", _proposal_scope, _proposal_wire, tombstone=None,
        shape=ProposalRecord))
    registry.add_record_type(RecordType(
        "proposal_version", proposal_versions, "id", _version_scope, _version_wire,
        tombstone=None, shape=ProposalVersionRecord))
    registry.add_record_type(RecordType(
        "review", reviews, "id", _review_scope, _review_wire, tombstone=None,
        shape=ReviewRecord))
    attachments.allow(registry, "need", may_attach_need)
    registry.mutation("round.create", 1, RoundCreateArgs,
                      preload=(("round", "id"),))(create_round)
    registry.mutation("round.update", 1, RoundUpdateArgs,
                      preload=(("round", "id"),))(update_round)
    registry.mutation("round.advance", 1, RoundAdvanceArgs,
                      preload=(("round", "id"),))(advance_round)
    registry.mutation("need.submit", 1, NeedSubmitArgs,
                      preload=(("need", "id"), ("round", "round_id")))(submit_need)
    registry.mutation("need.merge", 1, NeedMergeArgs,
                      preload=(("need", "id"), ("need", "into")))(merge_need)
    registry.mutation("need.erase_contact", 1, NeedEraseContactArgs,
                      preload=(("need", "id"),))(erase_need_contact)
    registry.mutation("need.publish", 1, NeedPublishArgs,
                      preload=(("need", "id"),))(publish_need)
    registry.mutation("group.register", 1, GroupRegisterArgs,
                      preload=(("community_group", "id"),))(register_group)
    registry.mutation("group.set_members", 1, GroupSetMembersArgs,
                      preload=(("community_group", "id"),))(set_group_members)
    registry.mutation("proposal.submit", 1, ProposalSubmitArgs,
                      preload=(("community_group", "group_id"), ("proposal", "id"),
                               ("round", "round_id")))(submit_proposal)
    registry.mutation("proposal.edit", 1, ProposalEditArgs,
                      preload=(("proposal", "id"),))(edit_proposal)
    registry.mutation("proposal.withdraw", 1, ProposalWithdrawArgs,
                      preload=(("proposal", "id"),))(withdraw_proposal)
    registry.mutation("review.assign", 1, ReviewAssignArgs,
                      preload=(("proposal", "proposal_id"), ("review", "id")))(assign_review)
    registry.mutation("review.declare_conflict", 1, ReviewDeclareConflictArgs,
                      preload=(("review", "id"),))(declare_conflict)
    registry.mutation("review.submit", 1, ReviewSubmitArgs,
                      preload=(("review", "id"),))(submit_review)
    registry.mutation("proposal.conclude", 1, ProposalConcludeArgs,
                      preload=(("proposal", "id"),))(conclude_proposal)


__all__ = [
    "CONCLUDED",
    "OFFLINE_GRACE_DAYS",
    "budget_total",
    "community_groups",
    "erase_person_needs",
    "install",
    "members_of",
    "needs",
    "phase_dates",
    "proposal_versions",
    "proposals",
    "record_need",
    "reviews",
    "round_of",
    "round_proposals",
    "round_wire",
    "rounds",
    "runs_round",
    "set_phase",
    "today",
]
