"""Demo data (``python -m server demo``): the pilot brand service project 耆乐安居 at
TH-001 (天河区) with its community fund, indicators, milestones, a grant with two tranches
(the first asked for: a disbursement waiting for a second person's approval), a progress
report, a feedback answer and a supervision visit (docs/projects.md, "The pilot in the
demo data").

Written through the same mutators the phones use, as the system administrator
(``people.system_write``), so every rule holds. Ids are named from fixed names (UUID 5):
running it again finds the project and changes nothing.
"""

from __future__ import annotations

import datetime as dt
import uuid

from schemas.donations import FundCreateArgs, FundSeedArgs
from schemas.mutations import StationCreateArgs
from schemas.service_projects import (
    FeedbackRecordArgs,
    GrantCreateArgs,
    Indicator,
    IndicatorRecordArgs,
    MilestonePlan,
    ProgressReportArgs,
    ServiceProjectCreateArgs,
    TranchePlan,
    TrancheRequestArgs,
    VisitRecordArgs,
)
from server.auth import SYSTEM
from server.domain import funds, people, service_projects, stations
from sync.db import Database
from sync.pokes import PokeSink
from sync.registry import Registry
from sync.unit import MutationContext, Tx

DEMO = uuid.UUID("6f1d2b8e-3c4a-4e59-8a71-0d9c5e2f7b14")
STATION, DISTRICT = "TH-001", "天河区"
PILOT = "耆乐安居"


def demo_id(name: str) -> str:
    return str(uuid.uuid5(DEMO, name))


async def seed_demo(db: Database, registry: Registry, pokes: PokeSink,
                    today: dt.date | None = None) -> str:
    """Add the pilot (and the station and fund it needs, when missing). Returns the pilot
    project's id."""
    day = today or dt.date.today()
    project_id = demo_id("pilot")

    async def work(tx: Tx, ctx: MutationContext) -> str:
        if await tx.get("service_project", project_id) is not None:
            return project_id
        if await tx.get("station", STATION) is None:
            await stations.create_station(tx, ctx, StationCreateArgs(
                code=STATION, name="天河社工站", district=DISTRICT))
        fund_id = demo_id("fund")
        if await tx.get("fund", fund_id) is None:
            await funds.create_fund(tx, ctx, FundCreateArgs(
                id=fund_id, name="天河社区慈善基金", district=DISTRICT, station=STATION,
                purpose="天河社区的扶老、助困、恤孤、助残与社区治理服务"))
            await funds.seed_fund(tx, ctx, FundSeedArgs(
                id=demo_id("seed"), fund_id=fund_id, amount_fen=5_000_000,
                note="慈善会种子资金(演示)"))
        tx.keep_frame()  # what follows reads it back (what the fund can afford)
        first, second, third = demo_id("m1"), demo_id("m2"), demo_id("m3")
        await service_projects.create_service_project(tx, ctx, ServiceProjectCreateArgs(
            id=project_id, fund_id=fund_id, station=STATION, category="elderly", name=PILOT,
            summary="为辖区独居、高龄老人入户评估居家安全,加装扶手、防滑垫、感应夜灯和烟感"
                    "报警器,并由社工与志愿者定期回访。",
            indicators=[
                Indicator(key="homes", name="完成适老化改造的家庭", unit="户", target=60),
                Indicator(key="visits", name="回访次数", unit="次", target=120),
                Indicator(key="satisfaction", name="老人满意度", unit="%", target=90),
            ],
            milestones=[
                MilestonePlan(id=first, title="入户评估与需求清单", weight=30,
                              due=(day + dt.timedelta(days=30)).isoformat()),
                MilestonePlan(id=second, title="安装扶手、防滑垫与烟感", weight=50,
                              due=(day + dt.timedelta(days=120)).isoformat()),
                MilestonePlan(id=third, title="回访与总结", weight=20,
                              due=(day + dt.timedelta(days=180)).isoformat()),
            ]))
        advance = demo_id("t1")
        await service_projects.create_grant(tx, ctx, GrantCreateArgs(
            id=demo_id("grant"), project_id=project_id, amount_fen=1_200_000,
            signed_at=day.isoformat(), tranches=[
                TranchePlan(id=advance, amount_fen=60_000),
                TranchePlan(id=demo_id("t2"), amount_fen=1_140_000, milestone_id=second),
            ]))
        await service_projects.report_progress(tx, ctx, ProgressReportArgs(
            id=demo_id("report1"), project_id=project_id, milestone_id=first, progress=60,
            text="已完成 36 户入户评估,整理需求清单。"))
        await service_projects.record_indicator(tx, ctx, IndicatorRecordArgs(
            id=demo_id("homes1"), project_id=project_id, indicator_key="homes",
            period=f"{day.year}-Q{(day.month - 1) // 3 + 1}", value=12))
        await service_projects.record_feedback(tx, ctx, FeedbackRecordArgs(
            id=demo_id("feedback1"), project_id=project_id, score=5,
            comment="扶手很稳,晚上起夜放心多了(工作人员记录,不公开)"))
        await service_projects.record_visit(tx, ctx, VisitRecordArgs(
            id=demo_id("visit1"), project_id=project_id, visited_on=day.isoformat(),
            rating="needs_improvement", findings="两户烟感报警器未装电池",
            follow_up="补装电池并回访确认", follow_up_due=(day + dt.timedelta(days=7)).isoformat()))
        tx.keep_frame()
        await service_projects.request_tranche(tx, ctx, TrancheRequestArgs(
            id=advance, disbursement_id=demo_id("d1"), payee="天河安居服务社",
            payee_public=True, purpose="耆乐安居首期预付款"))
        return project_id

    return await people.system_write(db, registry, pokes, SYSTEM, "demo.seed", work)


__all__ = ["PILOT", "demo_id", "seed_demo"]
