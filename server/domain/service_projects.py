"""Service projects (issue 15; docs/projects.md).

A service project is a fund's ``project`` (funds.py: the ledger and the disbursements
know it) plus a ``service_project`` record with the same id: a station's **brand**
project (扶老 助困 恤孤 助残 社区治理; the pilot 耆乐安居), or a **micro-venture** project
made from a funded proposal of a round (``grant.create`` reads the ``proposal`` and its
``round_result``). Around it: the grant agreement and its tranches, each paid through the
fund's own disbursement flow (request, approve, pay by three people; the invoice photo
above the line) and following it (``DisbursementDecided``, ``DisbursementPaid``);
milestones with weights and progress (the project's progress is their weighted mean,
as Decidim's accountability does it); progress reports with photos; follow-up feedback
from beneficiaries; supervision visits (督查) with a follow-up due date reminded by a
sweep; indicator actuals per period; and the closing evaluation by the plan's four
methods with the spending read from the ledger.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Integer,
    String,
    Table,
    Text,
    func,
    insert,
    select,
    text,
)

from schemas.attachments import AttachmentRef
from schemas.donations import DisbursementRequestArgs, ProjectCreateArgs
from schemas.events import DisbursementDecided, DisbursementPaid
from schemas.service_projects import (
    EvaluationRecord,
    EvaluationSubmitArgs,
    FeedbackRecordArgs,
    GrantCreateArgs,
    GrantRecord,
    GrantTrancheRecord,
    IndicatorActualRecord,
    IndicatorRecordArgs,
    MilestonePlan,
    MilestoneRecord,
    MilestoneSetArgs,
    ProgressReportArgs,
    ProgressReportRecord,
    ProjectFeedbackRecord,
    ServiceProjectCloseArgs,
    ServiceProjectCreateArgs,
    ServiceProjectRecord,
    SupervisionVisitRecord,
    TrancheAddArgs,
    TranchePlan,
    TrancheRequestArgs,
    VisitFollowUpDoneArgs,
    VisitRecordArgs,
)
from server import audit
from server.domain import attachments, funds
from server.domain.access import live_station
from server.notify.records import enqueue_resolve
from server.notify.tables import notify_outbox
from sync.db import Database
from sync.errors import Rejected, already_exists, forbidden, not_found
from sync.pokes import PokeSink
from sync.push import Peek, locks_first
from sync.registry import RecordType, Registry
from sync.scopes import STAFF, VOLUNTEER, Grant, Scope
from sync.tables import metadata
from sync.timeutil import iso
from sync.unit import MutationContext, Tx
from sync.write import run_unit

SHANGHAI = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")
SWEEP_LOCK = 72_410_022
"""PostgreSQL advisory lock: one worker at a time sends follow-up reminders."""
MILESTONE_NAMESPACE = uuid.UUID("0b7f3c52-52c1-4d0e-9a57-8e2f4a1d6c30")
SCORE_KEYS = ("needs", "performance", "feedback", "supervision")
"""The plan's four methods: 需求评价 绩效管理 跟踪反馈 监督检查; they weigh the same."""

service_projects = Table(
    "service_projects",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("fund_id", String(36), nullable=False, index=True),
    Column("station", String(32), nullable=False, index=True),
    Column("district", String(100), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("category", String(16), nullable=False),
    Column("name", String(200), nullable=False),
    Column("summary", Text, nullable=False),
    Column("round_id", String(36), nullable=True),
    Column("proposal_id", String(36), nullable=True, index=True),
    Column("indicators", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("progress", Integer, nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("attachments", Text, nullable=False, default="[]"),
)
"""``indicators``: JSON list of {key, name, unit, target}."""

project_grants = Table(
    "project_grants",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("project_id", String(36), nullable=False, unique=True),
    Column("fund_id", String(36), nullable=False),
    Column("station", String(32), nullable=False),
    Column("district", String(100), nullable=False),
    Column("amount_fen", BigInteger, nullable=False),
    Column("signed_at", String(32), nullable=False),
    Column("signed_by", String(64), nullable=False),
    Column("created_at", String(32), nullable=False),
)

grant_tranches = Table(
    "grant_tranches",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("grant_id", String(36), nullable=False, index=True),
    Column("project_id", String(36), nullable=False, index=True),
    Column("milestone_id", String(36), nullable=True),
    Column("amount_fen", BigInteger, nullable=False),
    Column("status", String(16), nullable=False),
    Column("disbursement_id", String(36), nullable=True, index=True),
    Column("station", String(32), nullable=False),
    Column("district", String(100), nullable=False),
    Column("updated_at", String(32), nullable=False),
)

project_milestones = Table(
    "project_milestones",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("project_id", String(36), nullable=False, index=True),
    Column("title", String(200), nullable=False),
    Column("weight", Integer, nullable=False),
    Column("due", String(10), nullable=True),
    Column("progress", Integer, nullable=False),
    Column("position", Integer, nullable=False),
    Column("station", String(32), nullable=False),
    Column("district", String(100), nullable=False),
    Column("updated_at", String(32), nullable=False),
)

progress_reports = Table(
    "progress_reports",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("project_id", String(36), nullable=False, index=True),
    Column("milestone_id", String(36), nullable=False),
    Column("progress", Integer, nullable=False),
    Column("text", Text, nullable=False),
    Column("attachments", Text, nullable=False, default="[]"),
    Column("by", String(64), nullable=False),
    Column("at", String(32), nullable=False),
    Column("station", String(32), nullable=False),
    Column("district", String(100), nullable=False),
)

project_feedback = Table(
    "project_feedback",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("project_id", String(36), nullable=False, index=True),
    Column("score", Integer, nullable=False),
    Column("comment", Text, nullable=False),
    Column("taken_by", String(64), nullable=False),
    Column("taken_at", String(32), nullable=False),
    Column("station", String(32), nullable=False),
    Column("district", String(100), nullable=False),
)
"""No beneficiary's name: a score and a comment (staff and managers only)."""

supervision_visits = Table(
    "supervision_visits",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("project_id", String(36), nullable=False, index=True),
    Column("visited_at", String(32), nullable=False),
    Column("findings", Text, nullable=False),
    Column("rating", String(20), nullable=False),
    Column("follow_up", Text, nullable=False),
    Column("follow_up_due", String(10), nullable=True, index=True),
    Column("follow_up_done_at", String(32), nullable=True),
    Column("follow_up_note", Text, nullable=False, default="", server_default=""),
    Column("attachments", Text, nullable=False, default="[]"),
    Column("by", String(64), nullable=False),
    Column("station", String(32), nullable=False),
    Column("district", String(100), nullable=False),
)

visit_reminders = Table(
    "visit_reminders",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("due_on", String(10), nullable=False),
    Column("sent_at", String(32), nullable=False),
)
"""One row per visit whose follow-up was reminded (its id): a reminder is sent once."""

indicator_actuals = Table(
    "indicator_actuals",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("project_id", String(36), nullable=False, index=True),
    Column("indicator_key", String(32), nullable=False),
    Column("period", String(10), nullable=False),
    Column("value_milli", BigInteger, nullable=False),
    Column("by", String(64), nullable=False),
    Column("at", String(32), nullable=False),
    Column("station", String(32), nullable=False),
    Column("district", String(100), nullable=False),
)

evaluations = Table(
    "project_evaluations",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("project_id", String(36), nullable=False, unique=True),
    Column("scores", Text, nullable=False),
    Column("overall", Integer, nullable=False),
    Column("spent_fen", BigInteger, nullable=False),
    Column("budget_fen", BigInteger, nullable=False),
    Column("conclusion", Text, nullable=False),
    Column("public_summary", Text, nullable=False),
    Column("evaluators", Text, nullable=False),
    Column("evaluated_at", String(32), nullable=False),
    Column("evaluated_by", String(64), nullable=False),
    Column("station", String(32), nullable=False),
    Column("district", String(100), nullable=False),
)


# ----------------------------------------------------------------------------- records


def _station_scope(audience: int) -> Callable[[Mapping[str, Any]], Scope]:
    def scope(row: Mapping[str, Any]) -> Scope:
        return Scope(station=row["station"], district=row["district"], audience=audience)
    return scope


def _public_scope(row: Mapping[str, Any]) -> Scope:
    return Scope(station=row["station"], district=row["district"], public=True)


def _columns(table: Table, skip: Iterable[str] = ()) -> Callable[[Mapping[str, Any]], dict[str, Any]]:
    names = [c for c in table.c.keys() if c not in set(skip)]

    def wire(row: Mapping[str, Any]) -> dict[str, Any]:
        data = {c: row[c] for c in names}
        if "attachments" in data:
            data["attachments"] = attachments.wire(row["attachments"])
        return data
    return wire


def _project_wire(row: Mapping[str, Any]) -> dict[str, Any]:
    data = _columns(service_projects)(row)
    data["indicators"] = json.loads(row["indicators"])
    return data


def _actual_wire(row: Mapping[str, Any]) -> dict[str, Any]:
    data = _columns(indicator_actuals, skip=("value_milli",))(row)
    data["value"] = int(row["value_milli"]) / 1000
    return data


def _evaluation_wire(row: Mapping[str, Any]) -> dict[str, Any]:
    data = _columns(evaluations, skip=("evaluated_by",))(row)
    data["scores"] = json.loads(row["scores"])
    data["evaluators"] = json.loads(row["evaluators"])
    return data


# ----------------------------------------------------------------------------- rules


def _fen(amount: int) -> str:
    return f"{amount / 100:,.2f}"


def runs_project(grant: Grant, project: Mapping[str, Any], fund: Mapping[str, Any] | None) -> bool:
    """The project's station staff (and up), or the federation's people for its fund."""
    if grant.rank_at(project["station"], project["district"]) >= STAFF:
        return True
    return fund is not None and funds.holds_fund(grant, fund)


async def project_of(tx: Tx, project_id: str, field: str = "project_id") -> dict[str, Any]:
    found = await tx.get("service_project", project_id)
    if found is None:
        raise not_found("服务项目", "service project", project_id, field=field)
    return found


async def _fund_view(tx: Tx, fund_id: str) -> dict[str, Any] | None:
    """The fund as committed, unlocked: only its place is read (for who may act)."""
    return await tx.read_unlocked("fund", fund_id)


async def _runner(tx: Tx, ctx: MutationContext, project: Mapping[str, Any]) -> None:
    if not runs_project(ctx.grant, project, await _fund_view(tx, project["fund_id"])):
        raise forbidden("只有项目所在站点的工作人员或基金的管理者可以这样做",
                        "only the project's station staff or its fund's managers may do this")


async def _fund_manager(tx: Tx, ctx: MutationContext, fund_id: str) -> dict[str, Any]:
    fund = await funds.live_fund(tx, fund_id)
    if not funds.holds_fund(ctx.grant, fund):
        raise forbidden("只有基金的管理者(慈善会)可以这样做",
                        "only the fund's managers (the federation) may do this")
    return fund


def _not_closed(project: Mapping[str, Any]) -> None:
    if project["status"] == "closed":
        raise Rejected("project_closed", "项目已结项,不能再更改", "the project is closed",
                       field="project_id")


def _active(project: Mapping[str, Any]) -> None:
    if project["status"] != "active":
        raise Rejected("project_not_active", "项目已进入结项阶段,不能再更改进度或申请拨付",
                       "the project is closing: no more progress or tranche requests",
                       field="project_id")


def _check_weights(plans: Sequence[MilestonePlan], field: str = "milestones") -> None:
    if not plans:
        return
    if len({m.id for m in plans}) != len(plans):
        raise Rejected("invalid_args", "里程碑编号重复", "a milestone id is listed twice", field=field)
    total = sum(m.weight for m in plans)
    if total != 100:
        raise Rejected("weights_not_100", f"里程碑权重合计须为 100(现为 {total})",
                       f"milestone weights must sum to 100 (they sum to {total})", field=field)


def _check_indicators(indicators: Sequence[Any]) -> None:
    keys = [i.key if hasattr(i, "key") else i["key"] for i in indicators]
    if len(set(keys)) != len(keys):
        raise Rejected("invalid_args", "指标编号重复", "an indicator key is listed twice",
                       field="indicators")


def _milestone_row(project: Mapping[str, Any], plan: MilestonePlan, position: int,
                   now: str) -> dict[str, Any]:
    return {"id": plan.id, "project_id": project["id"], "title": plan.title,
            "weight": plan.weight, "due": plan.due, "progress": 0, "position": position,
            "station": project["station"], "district": project["district"], "updated_at": now}


async def _milestones(tx: Tx, project_id: str) -> list[dict[str, Any]]:
    """The project's milestones as this mutation sees them (its own edits included)."""
    ids = [str(r[0]) for r in await tx.query(
        select(project_milestones.c.id).where(project_milestones.c.project_id == project_id))]
    ids += [i for i in tx.memo.get(_NEW_MILESTONES, {}).get(project_id, []) if i not in ids]
    await tx.preload("milestone", ids)
    found = [row for i in ids if (row := await tx.get("milestone", i)) is not None]
    return sorted(found, key=lambda m: (m["position"], m["id"]))


_NEW_MILESTONES = "service_projects.new_milestones"
"""``tx.memo`` key: milestones staged by the current mutation (not yet visible to a query)."""


def weighted_progress(milestones: Sequence[Mapping[str, Any]]) -> int:
    """Decidim's weighted progress: each milestone's progress times its weight, over the
    weights (100), rounded down; no milestones: 0."""
    total = sum(int(m["weight"]) for m in milestones)
    if not total:
        return 0
    return sum(int(m["weight"]) * int(m["progress"]) for m in milestones) // total


async def _refresh_progress(tx: Tx, project: Mapping[str, Any]) -> None:
    progress = weighted_progress(await _milestones(tx, project["id"]))
    if progress != project["progress"]:
        tx.update("service_project", project["id"], {"progress": progress})


def _stage_milestones(tx: Tx, ctx: MutationContext, project: Mapping[str, Any],
                      plans: Sequence[MilestonePlan]) -> None:
    for position, plan in enumerate(plans):
        tx.insert("milestone", _milestone_row(project, plan, position, ctx.now))
    tx.memo.setdefault(_NEW_MILESTONES, {}).setdefault(project["id"], []).extend(
        p.id for p in plans)


async def _check_new_ids(tx: Tx, type_name: str, ids: Sequence[str], what: tuple[str, str],
                         field: str) -> None:
    if len(set(ids)) != len(ids):
        raise Rejected("invalid_args", f"{what[0]}编号重复", f"a {what[1]} id is listed twice",
                       field=field)
    await tx.preload(type_name, ids)
    for ident in ids:
        if await tx.get(type_name, ident) is not None:
            raise already_exists(what[0], what[1], ident, field=field)


async def spent_from_ledger(tx_or_conn: Any, project_id: str) -> int:
    """What the fund paid out for the project: its disbursement entries on the fund's side
    (restricted and general money alike), from the ledger, never typed."""
    stmt = select(func.coalesce(func.sum(funds.ledger_entries.c.amount_fen), 0)).where(
        funds.ledger_entries.c.project_id == project_id,
        funds.ledger_entries.c.kind == "disbursement",
        funds.ledger_entries.c.account.like("fund:%"))
    runner = tx_or_conn.query if isinstance(tx_or_conn, Tx) else tx_or_conn.execute
    return -int((await runner(stmt)).scalar() or 0)


# ----------------------------------------------------------------------------- lock plans


async def _locks_for_project(peek: Peek, grant: Grant, args: Any) -> list[tuple[str, str]]:
    """The project's record (its fund is only read, unlocked, for who may act)."""
    return [("service_project", str(args.project_id))]


async def _locks_for_grant(peek: Peek, grant: Grant, args: Any) -> list[tuple[str, str]]:
    """The fund (locked by the manager's check, before the project's records in the lock
    order), the fund's project and the service project."""
    locks = [("grant", str(args.id)), ("project", str(args.project_id)),
             ("service_project", str(args.project_id))]
    fund_id = None
    if getattr(args, "proposal_id", None) is None:
        project = await peek("service_project", str(args.project_id))
        fund_id = project["fund_id"] if project is not None else None
    else:
        try:
            proposal = await peek("proposal", str(args.proposal_id))
            round_ = await peek("round", str(proposal["round_id"])) if proposal else None
        except KeyError:  # the rounds are not installed here
            round_ = None
        fund_id = round_["fund_id"] if round_ is not None else None
    if fund_id is not None:
        locks.append(("fund", str(fund_id)))
    return locks


async def _locks_for_tranche_add(peek: Peek, grant: Grant, args: Any) -> list[tuple[str, str]]:
    found = await peek("grant", str(args.grant_id))
    locks = [("grant", str(args.grant_id)), ("grant_tranche", str(args.id))]
    if found is not None:
        locks += [("fund", str(found["fund_id"])), ("service_project", str(found["project_id"]))]
    return locks


async def _locks_for_tranche(peek: Peek, grant: Grant, args: Any) -> list[tuple[str, str]]:
    tranche = await peek("grant_tranche", args.id)
    locks = [("grant_tranche", str(args.id)), ("disbursement", str(args.disbursement_id))]
    if tranche is not None:
        locks.append(("service_project", str(tranche["project_id"])))
        locks.append(("project", str(tranche["project_id"])))
        project = await peek("service_project", str(tranche["project_id"]))
        if project is not None:
            locks.append(("fund", str(project["fund_id"])))
    return locks


# ----------------------------------------------------------------------------- mutators


async def create_service_project(tx: Tx, ctx: MutationContext, args: ServiceProjectCreateArgs) -> None:
    fund = await funds.live_fund(tx, args.fund_id)
    station = await live_station(tx, args.station)
    if not (fund["station"] == station["code"] or (
            fund["station"] is None and fund["district"] in (None, station["district"]))):
        raise Rejected("invalid_args", "该基金不资助此站点的项目",
                       "the fund does not support projects of this station", field="fund_id")
    if not (ctx.grant.rank_at(station["code"], station["district"]) >= STAFF
            or funds.holds_fund(ctx.grant, fund)):
        raise forbidden("只有站点的工作人员或基金的管理者可以设立服务项目",
                        "only the station's staff or the fund's managers create service projects")
    if await tx.get("service_project", args.id) is not None:
        raise already_exists("服务项目", "service project", args.id)
    _check_indicators(args.indicators)
    _check_weights(args.milestones)
    await _check_new_ids(tx, "milestone", [m.id for m in args.milestones], ("里程碑", "milestone"),
                         "milestones")
    await funds.stage_project(tx, ctx, ProjectCreateArgs(
        id=args.id, fund_id=args.fund_id, name=args.name, description=args.summary))
    project = _project_row(ctx, args.id, fund, station["code"], station["district"], "brand",
                           args.category, args.name, args.summary,
                           [_plain(i) for i in args.indicators])
    project["attachments"] = attachments.encode(args.attachments)
    tx.insert("service_project", project)
    attachments.stage_refs(tx, "service_project", args.id, args.attachments)
    _stage_milestones(tx, ctx, project, args.milestones)


def _plain(indicator: Any) -> dict[str, Any]:
    if isinstance(indicator, Mapping):
        return {"key": str(indicator["key"]), "name": str(indicator["name"]),
                "unit": str(indicator.get("unit") or ""), "target": float(indicator["target"])}
    return {"key": indicator.key, "name": indicator.name, "unit": indicator.unit,
            "target": float(indicator.target)}


def _project_row(ctx: MutationContext, project_id: str, fund: Mapping[str, Any], station: str,
                 district: str, kind: str, category: str, name: str, summary: str,
                 indicators: list[dict[str, Any]], round_id: str | None = None,
                 proposal_id: str | None = None) -> dict[str, Any]:
    return {
        "id": project_id, "fund_id": fund["id"], "station": station, "district": district,
        "kind": kind, "category": category, "name": name, "summary": summary,
        "round_id": round_id, "proposal_id": proposal_id,
        "indicators": json.dumps(indicators, ensure_ascii=False), "status": "active",
        "progress": 0, "created_by": ctx.user_id, "created_at": ctx.now, "attachments": "[]",
    }


def _check_tranche_total(amount: int, tranches: Iterable[int]) -> None:
    total = sum(tranches)
    if total > amount:
        raise Rejected("tranches_above_grant", "分期总额超过资助协议金额",
                       f"the tranches ({_fen(total)} yuan) exceed the grant ({_fen(amount)} yuan)",
                       field="tranches")


def equal_weights(count: int) -> list[int]:
    """``count`` weights summing to 100, as equal as whole numbers allow (the first ones
    take the remainder)."""
    if count <= 0:
        return []
    base, extra = divmod(100, count)
    return [base + (1 if i < extra else 0) for i in range(count)]


async def _micro_venture(tx: Tx, ctx: MutationContext, args: GrantCreateArgs
                         ) -> tuple[dict[str, Any], dict[str, Any], list[MilestonePlan]]:
    """From a funded proposal: checks, then the project row and its milestone plan (not
    yet staged). ``proposal``, ``round`` and ``round_result`` are the round's records."""
    assert args.proposal_id is not None
    if any(name not in tx.registry.record_types for name in ("proposal", "round", "round_result")):
        raise Rejected("not_available", "本服务器尚未启用社区公益微创投",
                       "micro-venture rounds are not installed on this server", field="proposal_id")
    proposal = await tx.get("proposal", args.proposal_id)
    if proposal is None:
        raise not_found("提案", "proposal", args.proposal_id, field="proposal_id")
    round_ = await tx.get("round", str(proposal["round_id"]))
    if round_ is None:
        raise not_found("微创投", "round", str(proposal["round_id"]), field="proposal_id")
    fund = await _fund_manager(tx, ctx, str(round_["fund_id"]))
    # the contract names a result ``<round id>:<proposal id>``; the ballots module keys it
    # by the proposal's id alone (one result per proposal): either is read
    result = (await tx.get("round_result", f"{round_['id']}:{args.proposal_id}")
              or await tx.get("round_result", args.proposal_id))
    if result is not None and result["round_id"] != round_["id"]:
        result = None
    if proposal["status"] != "funded" or result is None or not result["funded"]:
        raise Rejected("proposal_not_funded", "该提案未获资助,不能签订资助协议",
                       "the proposal was not funded; no grant can be signed", field="proposal_id")
    awarded = int(result["amount_fen"])
    if args.amount_fen > awarded:
        raise Rejected("grant_above_award",
                       f"资助金额超过评选结果({_fen(awarded)} 元)",
                       f"the grant exceeds the amount awarded ({_fen(awarded)} yuan)",
                       field="amount_fen")
    taken = (await tx.query(select(service_projects.c.id).where(
        service_projects.c.proposal_id == args.proposal_id))).first()
    if taken is not None or await tx.get("service_project", args.project_id) is not None:
        raise already_exists("服务项目", "service project", args.project_id, field="project_id")
    station = round_.get("station")
    if not station and "community_group" in tx.registry.record_types:
        group = await tx.get("community_group", str(proposal["group_id"]))
        station = group["station"] if group else None
    if not station:
        raise Rejected("invalid_args", "无法确定项目所在站点", "the project's station is unknown",
                       field="proposal_id")
    district = str(round_.get("district") or (await live_station(tx, station))["district"])
    project = _project_row(
        ctx, args.project_id, fund, str(station), district, "micro_venture",
        args.category or "governance", str(proposal["title"]), args.summary,
        [_plain(i) for i in _decoded(proposal.get("indicators"))],
        round_id=str(round_["id"]), proposal_id=args.proposal_id)
    timeline = _decoded(proposal.get("timeline"))
    given = {w.key: w.weight for w in args.weights}
    weights = ([given.get(str(item["key"]), 0) for item in timeline] if given
               else equal_weights(len(timeline)))
    plans = [MilestonePlan(id=milestone_id(args.project_id, str(item["key"])),
                           title=str(item["title"])[:200], weight=max(1, weight),
                           due=(str(item["due"]) if item.get("due") else None))
             for item, weight in zip(timeline, weights, strict=True)]
    if given:
        _check_weights(plans, field="weights")
    return project, fund, plans


def _decoded(value: Any) -> list[dict[str, Any]]:
    if value is None:
        return []
    if isinstance(value, str):
        return list(json.loads(value))
    return list(value)


def milestone_id(project_id: str, key: str) -> str:
    """A micro-venture milestone's id, named from its project and timeline key."""
    return str(uuid.uuid5(MILESTONE_NAMESPACE, f"{project_id}:{key}"))


@locks_first(_locks_for_grant)
async def create_grant(tx: Tx, ctx: MutationContext, args: GrantCreateArgs) -> None:
    if await tx.get("grant", args.id) is not None:
        raise already_exists("资助协议", "grant", args.id)
    if args.proposal_id is not None:
        project, fund, plans = await _micro_venture(tx, ctx, args)
        milestone_ids = {p.id for p in plans}
    else:
        project = await project_of(tx, args.project_id)
        fund = await _fund_manager(tx, ctx, project["fund_id"])
        _not_closed(project)
        plans = []
        milestone_ids = {m["id"] for m in await _milestones(tx, project["id"])}
        existing = (await tx.query(select(project_grants.c.id).where(
            project_grants.c.project_id == args.project_id))).first()
        if existing is not None:
            raise Rejected("grant_exists", "该项目已有资助协议(可追加分期)",
                           "the project already has a grant (add tranches to it)",
                           field="project_id")
    tranche_rows = []
    for plan in args.tranches:
        target = plan.milestone_id
        if plan.milestone_key is not None:
            target = milestone_id(args.project_id, plan.milestone_key)
        if target is not None and target not in milestone_ids:
            raise Rejected("invalid_args", "分期所对应的里程碑不属于该项目",
                           "a tranche's milestone is not one of the project's", field="tranches")
        tranche_rows.append(_tranche_row(ctx, plan, args.id, project, target))
    _check_tranche_total(args.amount_fen, (t.amount_fen for t in args.tranches))
    await _check_new_ids(tx, "grant_tranche", [t.id for t in args.tranches], ("分期", "tranche"),
                         "tranches")
    if args.proposal_id is not None:
        await _check_new_ids(tx, "milestone", [p.id for p in plans], ("里程碑", "milestone"),
                             "weights")
        await funds.stage_project(tx, ctx, ProjectCreateArgs(
            id=args.project_id, fund_id=fund["id"], name=project["name"],
            description=args.summary))
        tx.insert("service_project", project)
        _stage_milestones(tx, ctx, project, plans)
    tx.insert("grant", {
        "id": args.id, "project_id": args.project_id, "fund_id": fund["id"],
        "station": project["station"], "district": project["district"],
        "amount_fen": args.amount_fen, "signed_at": args.signed_at, "signed_by": ctx.user_id,
        "created_at": ctx.now})
    for row in tranche_rows:
        tx.insert("grant_tranche", row)
    audit.stage(tx, ctx, "grant.create", "grant", args.id, station=project["station"],
                district=project["district"],
                detail={"project": args.project_id, "fund": fund["id"],
                        "amount_fen": args.amount_fen,
                        "tranches": [t.amount_fen for t in args.tranches]})


def _tranche_row(ctx: MutationContext, plan: TranchePlan | TrancheAddArgs, grant_id: str,
                 project: Mapping[str, Any], milestone: str | None) -> dict[str, Any]:
    return {"id": plan.id, "grant_id": grant_id, "project_id": project["id"],
            "milestone_id": milestone, "amount_fen": plan.amount_fen, "status": "planned",
            "disbursement_id": None, "station": project["station"],
            "district": project["district"], "updated_at": ctx.now}


@locks_first(_locks_for_tranche_add)
async def add_tranche(tx: Tx, ctx: MutationContext, args: TrancheAddArgs) -> None:
    grant = await tx.get("grant", args.grant_id)
    if grant is None:
        raise not_found("资助协议", "grant", args.grant_id, field="grant_id")
    project = await project_of(tx, grant["project_id"], field="grant_id")
    await _fund_manager(tx, ctx, grant["fund_id"])
    _not_closed(project)
    if await tx.get("grant_tranche", args.id) is not None:
        raise already_exists("分期", "tranche", args.id)
    if args.milestone_id is not None and args.milestone_id not in {
            m["id"] for m in await _milestones(tx, project["id"])}:
        raise Rejected("invalid_args", "分期所对应的里程碑不属于该项目",
                       "the tranche's milestone is not one of the project's", field="milestone_id")
    planned = [int(r[0]) for r in await tx.query(select(grant_tranches.c.amount_fen).where(
        grant_tranches.c.grant_id == args.grant_id))]
    _check_tranche_total(int(grant["amount_fen"]), [*planned, args.amount_fen])
    tx.insert("grant_tranche", _tranche_row(ctx, args, args.grant_id, project, args.milestone_id))
    audit.stage(tx, ctx, "tranche.add", "grant_tranche", args.id, station=project["station"],
                district=project["district"],
                detail={"grant": args.grant_id, "amount_fen": args.amount_fen})


@locks_first(_locks_for_tranche)
async def request_tranche(tx: Tx, ctx: MutationContext, args: TrancheRequestArgs) -> None:
    tranche = await tx.get("grant_tranche", args.id)
    if tranche is None:
        raise not_found("分期", "tranche", args.id, field="id")
    project = await project_of(tx, tranche["project_id"], field="id")
    await _runner(tx, ctx, project)
    _active(project)
    if tranche["status"] not in ("planned", "rejected"):
        raise Rejected("tranche_not_planned", "该分期已申请拨付", "this tranche was already requested",
                       field="id")
    if tranche["milestone_id"] is not None:
        milestone = await tx.get("milestone", tranche["milestone_id"])
        if milestone is None or int(milestone["progress"]) < 100:
            raise Rejected("milestone_not_done", "该分期对应的里程碑尚未完成(进度须达 100%)",
                           "the tranche's milestone is not done (it must be at 100%)",
                           field="id")
    await funds.request_disbursement(tx, ctx, DisbursementRequestArgs(
        id=args.disbursement_id, fund_id=project["fund_id"], project_id=project["id"],
        amount_fen=int(tranche["amount_fen"]), payee=args.payee,
        purpose=args.purpose or f"{project['name']} 分期拨付", category="project",
        payee_kind=args.payee_kind, payee_public=args.payee_public,
        attachments=args.attachments))
    tx.update("grant_tranche", args.id, {"status": "requested",
                                         "disbursement_id": args.disbursement_id,
                                         "updated_at": ctx.now})


async def _tranche_of(tx: Tx, disbursement_id: str) -> dict[str, Any] | None:
    row = (await tx.query(select(grant_tranches.c.id).where(
        grant_tranches.c.disbursement_id == disbursement_id))).first()
    return await tx.get("grant_tranche", str(row[0])) if row is not None else None


async def on_disbursement_decided(tx: Tx, ctx: MutationContext, event: DisbursementDecided) -> None:
    """The tranche follows its disbursement: approved, or rejected (then it may be asked
    for again with a new disbursement)."""
    tranche = await _tranche_of(tx, event.disbursement_id)
    if tranche is not None:
        tx.update("grant_tranche", tranche["id"], {"status": event.decision, "updated_at": ctx.now})


async def on_disbursement_paid(tx: Tx, ctx: MutationContext, event: DisbursementPaid) -> None:
    tranche = await _tranche_of(tx, event.disbursement_id)
    if tranche is not None:
        tx.update("grant_tranche", tranche["id"], {"status": "paid", "updated_at": ctx.now})


@locks_first(_locks_for_project)
async def set_milestones(tx: Tx, ctx: MutationContext, args: MilestoneSetArgs) -> None:
    project = await project_of(tx, args.project_id)
    await _runner(tx, ctx, project)
    _not_closed(project)
    _check_weights(args.milestones)
    current = {m["id"]: m for m in await _milestones(tx, project["id"])}
    listed = {m.id for m in args.milestones}
    dropped = [ident for ident in current if ident not in listed]
    if dropped:
        raise Rejected("milestone_dropped", "里程碑不能删除(请列出全部已有里程碑)",
                       "milestones cannot be dropped (list every existing one)",
                       field="milestones")
    new = [m for m in args.milestones if m.id not in current]
    await _check_new_ids(tx, "milestone", [m.id for m in new], ("里程碑", "milestone"), "milestones")
    for position, plan in enumerate(args.milestones):
        if plan.id in current:
            tx.update("milestone", plan.id, {"title": plan.title, "weight": plan.weight,
                                             "due": plan.due, "position": position,
                                             "updated_at": ctx.now})
        else:
            tx.insert("milestone", _milestone_row(project, plan, position, ctx.now))
            tx.memo.setdefault(_NEW_MILESTONES, {}).setdefault(project["id"], []).append(plan.id)
    await _refresh_progress(tx, project)


@locks_first(_locks_for_project)
async def report_progress(tx: Tx, ctx: MutationContext, args: ProgressReportArgs) -> None:
    project = await project_of(tx, args.project_id)
    await _runner(tx, ctx, project)
    _active(project)
    if await tx.get("progress_report", args.id) is not None:
        raise already_exists("进度报告", "progress report", args.id)
    milestone = await tx.get("milestone", args.milestone_id)
    if milestone is None or milestone["project_id"] != project["id"]:
        raise not_found("里程碑", "milestone", args.milestone_id, field="milestone_id")
    tx.insert("progress_report", {
        "id": args.id, "project_id": project["id"], "milestone_id": args.milestone_id,
        "progress": args.progress, "text": args.text,
        "attachments": attachments.encode(args.attachments), "by": ctx.user_id, "at": ctx.now,
        "station": project["station"], "district": project["district"]})
    attachments.stage_refs(tx, "progress_report", args.id, args.attachments)
    tx.update("milestone", args.milestone_id, {"progress": args.progress, "updated_at": ctx.now})
    await _refresh_progress(tx, project)


@locks_first(_locks_for_project)
async def record_feedback(tx: Tx, ctx: MutationContext, args: FeedbackRecordArgs) -> None:
    project = await project_of(tx, args.project_id)
    await _runner(tx, ctx, project)
    _not_closed(project)
    if await tx.get("project_feedback", args.id) is not None:
        raise already_exists("反馈", "feedback", args.id)
    tx.insert("project_feedback", {
        "id": args.id, "project_id": project["id"], "score": args.score,
        "comment": args.comment, "taken_by": ctx.user_id,
        "taken_at": args.taken_on or ctx.now, "station": project["station"],
        "district": project["district"]})


@locks_first(_locks_for_project)
async def record_visit(tx: Tx, ctx: MutationContext, args: VisitRecordArgs) -> None:
    project = await project_of(tx, args.project_id)
    await _runner(tx, ctx, project)
    _not_closed(project)
    if await tx.get("supervision_visit", args.id) is not None:
        raise already_exists("督查记录", "supervision visit", args.id)
    if args.follow_up_due is not None and not args.follow_up.strip():
        raise Rejected("invalid_args", "设了整改期限,请写明整改要求",
                       "a follow-up due date needs the follow-up asked for", field="follow_up")
    if args.follow_up_due is not None and args.follow_up_due < args.visited_on:
        raise Rejected("invalid_args", "整改期限不能早于督查日期",
                       "the follow-up cannot be due before the visit", field="follow_up_due")
    tx.insert("supervision_visit", {
        "id": args.id, "project_id": project["id"], "visited_at": args.visited_on,
        "findings": args.findings, "rating": args.rating, "follow_up": args.follow_up,
        "follow_up_due": args.follow_up_due, "follow_up_done_at": None, "follow_up_note": "",
        "attachments": attachments.encode(args.attachments), "by": ctx.user_id,
        "station": project["station"], "district": project["district"]})
    attachments.stage_refs(tx, "supervision_visit", args.id, args.attachments)


async def follow_up_done(tx: Tx, ctx: MutationContext, args: VisitFollowUpDoneArgs) -> None:
    visit = await tx.get("supervision_visit", args.id)
    if visit is None:
        raise not_found("督查记录", "supervision visit", args.id, field="id")
    project = await project_of(tx, visit["project_id"], field="id")
    await _runner(tx, ctx, project)
    if visit["follow_up_done_at"] is not None:
        raise Rejected("already_done", "该整改已标记完成", "this follow-up is already done",
                       field="id")
    tx.update("supervision_visit", args.id, {"follow_up_done_at": ctx.now,
                                             "follow_up_note": args.note})
    enqueue_resolve(tx, ctx, [f"visit:{args.id}"])  # its reminder, if sent, is settled


@locks_first(_locks_for_project)
async def record_indicator(tx: Tx, ctx: MutationContext, args: IndicatorRecordArgs) -> None:
    project = await project_of(tx, args.project_id)
    await _runner(tx, ctx, project)
    _not_closed(project)
    if args.indicator_key not in {i["key"] for i in json.loads(project["indicators"])}:
        raise Rejected("unknown_indicator", "该项目没有这个指标", "the project has no such indicator",
                       field="indicator_key")
    if await tx.get("indicator_actual", args.id) is not None:
        raise already_exists("指标实际值", "indicator actual", args.id)
    tx.insert("indicator_actual", {
        "id": args.id, "project_id": project["id"], "indicator_key": args.indicator_key,
        "period": args.period, "value_milli": round(args.value * 1000), "by": ctx.user_id, "at": ctx.now,
        "station": project["station"], "district": project["district"]})


def overall_score(scores: Mapping[str, int]) -> int:
    """The four methods weigh the same: their mean, rounded half up."""
    return (sum(int(scores[k]) for k in SCORE_KEYS) * 2 + len(SCORE_KEYS)) // (2 * len(SCORE_KEYS))


async def budget_of(tx: Tx, project_id: str) -> int:
    row = (await tx.query(select(project_grants.c.amount_fen).where(
        project_grants.c.project_id == project_id))).first()
    return int(row[0]) if row is not None else 0


@locks_first(_locks_for_project)
async def submit_evaluation(tx: Tx, ctx: MutationContext, args: EvaluationSubmitArgs) -> None:
    project = await project_of(tx, args.project_id)
    fund = await _fund_view(tx, project["fund_id"])
    if fund is None or not funds.holds_fund(ctx.grant, fund):
        raise forbidden("只有基金的管理者(慈善会)可以评估项目",
                        "only the fund's managers (the federation) evaluate projects")
    if ctx.user_id == project["created_by"] or project["created_by"] in args.evaluators:
        raise forbidden("项目的设立人不能评估自己的项目",
                        "whoever created the project cannot evaluate it")
    _not_closed(project)
    scores = {k: getattr(args.scores, k) for k in SCORE_KEYS}
    evaluators = list(dict.fromkeys([ctx.user_id, *args.evaluators]))
    row = {
        "project_id": project["id"], "scores": json.dumps(scores), "overall": overall_score(scores),
        "spent_fen": await spent_from_ledger(tx, project["id"]),
        "budget_fen": await budget_of(tx, project["id"]), "conclusion": args.conclusion,
        "public_summary": args.public_summary, "evaluators": json.dumps(evaluators),
        "evaluated_at": ctx.now, "evaluated_by": ctx.user_id, "station": project["station"],
        "district": project["district"]}
    if await tx.get("evaluation", project["id"]) is None:
        tx.insert("evaluation", {"id": project["id"], **row})
    else:
        tx.update("evaluation", project["id"], row)
    if project["status"] == "active":
        tx.update("service_project", project["id"], {"status": "closing"})
    audit.stage(tx, ctx, "evaluation.submit", "service_project", project["id"],
                station=project["station"], district=project["district"],
                detail={"overall": row["overall"], "spent_fen": row["spent_fen"]})


async def close_project(tx: Tx, ctx: MutationContext, args: ServiceProjectCloseArgs) -> None:
    project = await project_of(tx, args.id, field="id")
    fund = await _fund_view(tx, project["fund_id"])
    if fund is None or not funds.holds_fund(ctx.grant, fund):
        raise forbidden("只有基金的管理者(慈善会)可以结项", "only the fund's managers close projects")
    _not_closed(project)
    if await tx.get("evaluation", project["id"]) is None:
        raise Rejected("evaluation_missing", "结项前须先完成评估", "evaluate the project before closing it",
                       field="id")
    waiting = (await tx.query(select(func.count()).select_from(grant_tranches).where(
        grant_tranches.c.project_id == project["id"],
        grant_tranches.c.status.in_(("requested", "approved"))))).scalar()
    if waiting:
        raise Rejected("tranche_in_flight", "尚有分期拨付在审批或待付款,不能结项",
                       "a tranche is still waiting for approval or payment", field="id")
    tx.update("service_project", project["id"], {"status": "closed"})
    audit.stage(tx, ctx, "service_project.close", "service_project", project["id"],
                station=project["station"], district=project["district"])


# ----------------------------------------------------------------------------- attachments


async def _may_attach(tx: Tx, ctx: MutationContext, row: dict[str, Any],
                      after: list[AttachmentRef]) -> None:
    project = row if "fund_id" in row and "kind" in row else await project_of(
        tx, row["project_id"], field="record_id")
    await _runner(tx, ctx, project)


# ----------------------------------------------------------------------------- reminders


def today_in_shanghai(now: dt.datetime) -> dt.date:
    return now.astimezone(SHANGHAI).date()


async def remind_follow_ups(db: Database, registry: Registry, pokes: PokeSink,
                            now: dt.datetime) -> list[str]:
    """One ``visit.follow_up_due`` notification to the project's station (its managers)
    and district for each open follow-up due today or earlier, once per visit."""
    today = today_in_shanghai(now).isoformat()
    wanted = (
        select(supervision_visits.c.id, supervision_visits.c.project_id,
               supervision_visits.c.follow_up_due, supervision_visits.c.rating,
               supervision_visits.c.station, supervision_visits.c.district,
               service_projects.c.name)
        .join(service_projects, service_projects.c.id == supervision_visits.c.project_id)
        .where(supervision_visits.c.follow_up_due.is_not(None),
               supervision_visits.c.follow_up_due <= today,
               supervision_visits.c.follow_up_done_at.is_(None),
               supervision_visits.c.id.not_in(select(visit_reminders.c.id)))
        .order_by(supervision_visits.c.follow_up_due, supervision_visits.c.id))
    async with db.read() as conn:
        if (await conn.execute(wanted.limit(1))).first() is None:
            return []

    async def work(tx: Tx) -> list[str]:
        conn = tx.conn
        if db.is_postgres and not (await conn.execute(
                text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": SWEEP_LOCK})).scalar_one():
            return []
        stamp = iso(now)
        done = []
        for row in (await conn.execute(wanted)).mappings().all():
            await conn.execute(insert(visit_reminders).values(
                id=row["id"], due_on=row["follow_up_due"], sent_at=stamp))
            await conn.execute(insert(notify_outbox).values(
                kind="visit.follow_up_due", station=row["station"], district=row["district"],
                data=json.dumps({
                    "visit_id": row["id"], "project_id": row["project_id"],
                    "project_name": row["name"], "due": row["follow_up_due"],
                    "rating": row["rating"], "overdue": row["follow_up_due"] < today,
                    "station": row["station"], "district": row["district"],
                }, ensure_ascii=False),
                created_at=stamp, state="pending", processed_at=None))
            done.append(str(row["id"]))
        return done

    return await run_unit(db, registry, pokes, work)


# ----------------------------------------------------------------------------- install


def install(registry: Registry) -> None:
    staff, volunteer = _station_scope(STAFF), _station_scope(VOLUNTEER)
    for name, table, scope, wire, shape in (
        ("service_project", service_projects, _public_scope, _project_wire, ServiceProjectRecord),
        ("grant", project_grants, volunteer, _columns(project_grants), GrantRecord),
        ("grant_tranche", grant_tranches, volunteer, _columns(grant_tranches), GrantTrancheRecord),
        ("milestone", project_milestones, volunteer, _columns(project_milestones), MilestoneRecord),
        ("progress_report", progress_reports, staff, _columns(progress_reports),
         ProgressReportRecord),
        ("project_feedback", project_feedback, staff, _columns(project_feedback),
         ProjectFeedbackRecord),
        ("supervision_visit", supervision_visits, staff, _columns(supervision_visits),
         SupervisionVisitRecord),
        ("indicator_actual", indicator_actuals, volunteer, _actual_wire,
         IndicatorActualRecord),
        ("evaluation", evaluations, staff, _evaluation_wire, EvaluationRecord),
    ):
        registry.add_record_type(RecordType(name, table, "id", scope, wire, tombstone=None,
                                            shape=shape))
    by_project = lambda row: [("service_project", str(row["project_id"]))]
    attachments.allow(registry, "service_project", _may_attach)
    attachments.allow(registry, "progress_report", _may_attach, also_locks=by_project)
    attachments.allow(registry, "supervision_visit", _may_attach, also_locks=by_project)
    registry.mutation("service_project.create", 1, ServiceProjectCreateArgs,
                      preload=(("fund", "fund_id"), ("project", "id"), ("service_project", "id"))
                      )(create_service_project)
    registry.mutation("grant.create", 1, GrantCreateArgs,
                      preload=(("grant", "id"),))(create_grant)
    registry.mutation("tranche.add", 1, TrancheAddArgs,
                      preload=(("grant", "grant_id"), ("grant_tranche", "id")))(add_tranche)
    registry.mutation("tranche.request", 1, TrancheRequestArgs)(request_tranche)
    registry.mutation("milestone.set", 1, MilestoneSetArgs)(set_milestones)
    registry.mutation("progress.report", 1, ProgressReportArgs)(report_progress)
    registry.mutation("feedback.record", 1, FeedbackRecordArgs)(record_feedback)
    registry.mutation("visit.record", 1, VisitRecordArgs)(record_visit)
    registry.mutation("visit.follow_up_done", 1, VisitFollowUpDoneArgs,
                      preload=(("supervision_visit", "id"),))(follow_up_done)
    registry.mutation("indicator.record", 1, IndicatorRecordArgs)(record_indicator)
    registry.mutation("evaluation.submit", 1, EvaluationSubmitArgs)(submit_evaluation)
    registry.mutation("service_project.close", 1, ServiceProjectCloseArgs,
                      preload=(("service_project", "id"),))(close_project)
    registry.on(DisbursementDecided, on_disbursement_decided)
    registry.on(DisbursementPaid, on_disbursement_paid)


__all__ = [
    "SCORE_KEYS",
    "equal_weights",
    "evaluations",
    "grant_tranches",
    "indicator_actuals",
    "install",
    "milestone_id",
    "overall_score",
    "progress_reports",
    "project_feedback",
    "project_grants",
    "project_milestones",
    "remind_follow_ups",
    "runs_project",
    "service_projects",
    "spent_from_ledger",
    "supervision_visits",
    "visit_reminders",
    "weighted_progress",
]
