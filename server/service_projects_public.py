"""Service projects on paper and in public (docs/projects.md, "Public page" and
"Evaluation report"): the project's public page and JSON, and the evaluation report PDF
for the people who run it.

The public page shows only what staff wrote for the public (name, summary, milestone
titles, the evaluation's public summary), figures (progress, weights, targets and
actuals, amounts paid, scores, the number of feedback answers and their mean score) and
photos marked public. Nothing a resident said (feedback comments), no finding of a visit,
no payee.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from typing import Any

from litestar import Request, Response, get
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from schemas.service_projects import BRAND_CATEGORIES
from server import audit, reports
from server.auth import resolve_grant
from server.domain import attachments
from server.domain.funds import disbursements, funds
from server.domain.service_projects import (
    SCORE_KEYS,
    evaluations,
    grant_tranches,
    indicator_actuals,
    project_feedback,
    project_grants,
    project_milestones,
    service_projects,
    spent_from_ledger,
    supervision_visits,
)
from server.domain.stations import stations
from server.evaluation_pdf import render_evaluation
from server.openapi import TOKEN, answer, errors
from server.public import _html, _json
from server.state import state_of
from sync.errors import ProtocolError
from sync.scopes import STAFF

NO_PROJECT = ("找不到该服务项目", "no such service project")
KINDS = {"brand": ("品牌服务项目", "brand service project"),
         "micro_venture": ("社区公益微创投项目", "community micro-venture project")}
STATUSES = {"active": ("实施中", "under way"), "closing": ("评估完成,待结项", "evaluated, closing"),
            "closed": ("已结项", "closed")}
SCORES = {"needs": ("需求评价", "needs assessment"), "performance": ("绩效管理", "performance"),
          "feedback": ("跟踪反馈", "follow-up feedback"), "supervision": ("监督检查", "supervision")}
RATINGS = {"good": ("良好", "good"), "needs_improvement": ("需改进", "needs improvement"),
           "serious": ("问题严重", "serious")}


RATE_UNITS = frozenset({"%", "％", "分"})
"""Units of a rate or a score: its latest period is the actual, not the sum of periods."""


def indicator_lines(indicators: list[dict[str, Any]], actuals: Sequence[Any]
                    ) -> list[dict[str, Any]]:
    """Each indicator with its actual to date: per period the latest value recorded, the
    periods summed (a period's value is what it achieved), except a rate or a score (unit
    ``%`` or ``分``), whose actual is its latest period's; None before any value."""
    latest: dict[tuple[str, str], tuple[str, float]] = {}
    for row in actuals:
        key = (str(row["indicator_key"]), str(row["period"]))
        if key not in latest or str(row["at"]) >= latest[key][0]:
            latest[key] = (str(row["at"]), int(row["value_milli"]) / 1000)
    lines = []
    for indicator in indicators:
        periods = sorted((p, v) for (k, p), (_at, v) in latest.items() if k == indicator["key"])
        actual: float | None = None
        if periods:
            rate = str(indicator["unit"]).strip() in RATE_UNITS
            actual = periods[-1][1] if rate else sum(v for _p, v in periods)
        target = float(indicator["target"])
        lines.append({
            "key": indicator["key"], "name": indicator["name"], "unit": indicator["unit"],
            "target": _number(target), "actual": None if actual is None else _number(actual),
            "attained_percent": (round(actual * 100 / target)
                                 if target and actual is not None else None),
            "periods": [{"period": p, "value": _number(v)} for p, v in periods]})
    return lines


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else round(value, 2)


async def project_facts(conn: AsyncConnection, project_id: str) -> dict[str, Any] | None:
    """Everything about a project both the public page and the report start from (no
    free text of residents: feedback gives its count and mean only)."""
    project = (await conn.execute(select(service_projects).where(
        service_projects.c.id == project_id))).mappings().first()
    if project is None:
        return None
    fund = (await conn.execute(select(funds.c.id, funds.c.name).where(
        funds.c.id == project["fund_id"]))).mappings().first()
    station = (await conn.execute(select(stations.c.name).where(
        stations.c.code == project["station"]))).scalar()
    milestones = (await conn.execute(select(project_milestones).where(
        project_milestones.c.project_id == project_id).order_by(
        project_milestones.c.position, project_milestones.c.id))).mappings().all()
    actuals = (await conn.execute(select(indicator_actuals).where(
        indicator_actuals.c.project_id == project_id))).mappings().all()
    grant = (await conn.execute(select(project_grants).where(
        project_grants.c.project_id == project_id))).mappings().first()
    tranches = (await conn.execute(
        select(grant_tranches.c.id, grant_tranches.c.amount_fen, grant_tranches.c.status,
               grant_tranches.c.milestone_id, disbursements.c.paid_at)
        .select_from(grant_tranches.outerjoin(
            disbursements, disbursements.c.id == grant_tranches.c.disbursement_id))
        .where(grant_tranches.c.project_id == project_id)
        .order_by(grant_tranches.c.id))).mappings().all()
    feedback = (await conn.execute(select(func.count(), func.avg(project_feedback.c.score)).where(
        project_feedback.c.project_id == project_id))).first()
    evaluation = (await conn.execute(select(evaluations).where(
        evaluations.c.project_id == project_id))).mappings().first()
    indicators = json.loads(project["indicators"])
    category = str(project["category"])
    return {
        "id": project["id"], "name": project["name"], "kind": project["kind"],
        "kind_label": KINDS.get(str(project["kind"]), (project["kind"],) * 2),
        "category": category, "category_label": BRAND_CATEGORIES.get(category, (category,) * 2),
        "summary": project["summary"], "status": project["status"],
        "status_label": STATUSES.get(str(project["status"]), (project["status"],) * 2),
        "progress": int(project["progress"]), "station": project["station"],
        "station_name": station or project["station"], "district": project["district"],
        "fund": {"id": fund["id"], "name": fund["name"]} if fund else None,
        "round_id": project["round_id"], "created_at": project["created_at"],
        "milestones": [{"title": m["title"], "weight": int(m["weight"]),
                        "progress": int(m["progress"]), "due": m["due"]} for m in milestones],
        "indicators": indicator_lines(indicators, actuals),
        "grant_fen": int(grant["amount_fen"]) if grant else 0,
        "tranches": [dict(t) for t in tranches],
        "tranches_paid": [{"amount_fen": int(t["amount_fen"]), "paid_on": reports.public_day(
            t["paid_at"])} for t in tranches if t["status"] == "paid"],
        "feedback": {"count": int(feedback[0] or 0) if feedback else 0,
                     "average": round(float(feedback[1]), 1) if feedback and feedback[1] else None},
        "photos": [{"sha256": ref.sha256, "media_type": ref.media_type,
                    "url": f"/public/files/{ref.sha256}"}
                   for ref in attachments.decode(project["attachments"]) if ref.public],
        "evaluation": {
            "scores": json.loads(evaluation["scores"]), "overall": int(evaluation["overall"]),
            "public_summary": evaluation["public_summary"],
            "spent_fen": int(evaluation["spent_fen"]), "budget_fen": int(evaluation["budget_fen"]),
            "evaluated_on": reports.public_day(evaluation["evaluated_at"]),
        } if evaluation else None,
        "_evaluation_row": dict(evaluation) if evaluation else None,
    }


async def public_project(conn: AsyncConnection, project_id: str) -> dict[str, Any] | None:
    facts = await project_facts(conn, project_id)
    if facts is None:
        return None
    facts.pop("_evaluation_row")
    facts.pop("tranches")
    return facts


async def report_facts(conn: AsyncConnection, project_id: str) -> dict[str, Any] | None:
    """The public facts and what the report adds for its readers (staff and managers):
    the visits with their findings, the conclusion, the evaluators, the ledger's spending."""
    facts = await project_facts(conn, project_id)
    if facts is None:
        return None
    visits = (await conn.execute(select(supervision_visits).where(
        supervision_visits.c.project_id == project_id).order_by(
        supervision_visits.c.visited_at, supervision_visits.c.id))).mappings().all()
    facts["visits"] = [{
        "visited_at": v["visited_at"], "rating": v["rating"],
        "rating_label": RATINGS.get(str(v["rating"]), (v["rating"],) * 2),
        "findings": v["findings"], "follow_up": v["follow_up"], "follow_up_due": v["follow_up_due"],
        "follow_up_done": v["follow_up_done_at"] is not None} for v in visits]
    facts["spent_fen"] = await spent_from_ledger(conn, project_id)
    row = facts.pop("_evaluation_row")
    facts["conclusion"] = row["conclusion"] if row else ""
    facts["evaluators"] = json.loads(row["evaluators"]) if row else []
    return facts


# ----------------------------------------------------------------------------- routes


@get("/api/v1/public/projects/{project_id:str}", tags=["public"],
     summary="A service project's public page (JSON)",
     responses={**answer("name, category, fund, summary, progress with milestones, indicators "
                         "against targets, tranches paid, public photos, the evaluation's "
                         "public summary and scores"), **errors(400, 404)})
async def project_json(request: Request[Any, Any, Any], project_id: str) -> Response[bytes]:
    async with state_of(request).db.read() as conn:
        found = await public_project(conn, project_id)
    if found is None:
        raise ProtocolError(404, "not_found", *NO_PROJECT)
    return _json(found)


@get("/public/projects/{project_id:str}", tags=["public pages"],
     summary="A service project's public page",
     responses=answer("not found page", media_type="text/html", status=404))
async def project_page(request: Request[Any, Any, Any], project_id: str) -> Response[str]:
    async with state_of(request).db.read() as conn:
        found = await public_project(conn, project_id)
    if found is None:
        return _html("notfound.html", 404, zh=NO_PROJECT[0], en=NO_PROJECT[1])
    return _html("project.html", p=found, scores=SCORES, score_keys=SCORE_KEYS)


@get("/api/v1/service-projects/{project_id:str}/evaluation.pdf", security=TOKEN,
     tags=["service projects"], summary="A service project's evaluation report (PDF)",
     description="The project's station staff and up, and its district's managers.",
     responses={**answer("the report", media_type="application/pdf"),
                **errors(400, 401, 403, 404)})
async def evaluation_pdf(request: Request[Any, Any, Any], project_id: str) -> Response[bytes]:
    state = state_of(request)
    grant = await resolve_grant(state.db, request.headers.get("authorization"))
    async with state.db.read() as conn:
        facts = await report_facts(conn, project_id)
    if facts is None:
        raise ProtocolError(404, "not_found", *NO_PROJECT)
    if grant.rank_at(facts["station"], facts["district"]) < STAFF:
        raise ProtocolError(403, "forbidden", "只有项目所在站点的工作人员和管理者可以下载评估报告",
                            "only the project's station staff and managers get its report")
    body = await asyncio.to_thread(render_evaluation, facts)
    await audit.record_now(state.db, grant, "export.evaluation", "service_project", project_id,
                           station=facts["station"], district=facts["district"])
    return Response(body, media_type="application/pdf", headers={
        "Content-Disposition": 'attachment; filename="evaluation.pdf"',
        "Cache-Control": "no-store"})


ROUTES = [project_json, project_page, evaluation_pdf]

__all__ = ["ROUTES", "indicator_lines", "project_facts", "public_project", "report_facts"]
