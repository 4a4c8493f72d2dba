"""Service projects (issue 15, docs/projects.md): a brand project with milestones and
weighted progress, a grant whose tranches never sum above it and are paid only through the
fund's disbursement flow by three people (the invoice photo above the line), progress
reports, feedback whose comments are never public, supervision visits reminded when their
follow-up is due, indicator actuals, the evaluation with the spending from the ledger and
its PDF, the public page. SQLite and PostgreSQL (the ``api`` fixture)."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from server.demo import seed_demo
from server.domain import service_projects as sp
from server.domain.funds import disbursements
from server.notify.outbox import expand_outbox
from server.notify.tables import notify_outbox
from sync.timeutil import utc_now
from tests.conftest import Api
from tests.devices import Device, upload_file
from tests.donation_setup import DISTRICT, STATION, World, build_world
from tests.helpers import file_ref, new_id, photo_bytes

pytestmark = pytest.mark.anyio


async def applied(device: Device, name: str, args: dict[str, Any]) -> dict[str, Any]:
    result = await device.send(name, args)
    assert result["status"] == "applied", (name, result)
    return result


async def refused(device: Device, name: str, args: dict[str, Any], code: str) -> dict[str, Any]:
    result = await device.send(name, args)
    assert result["status"] == "rejected", (name, result)
    assert result["code"] == code, result
    assert result["message"]["zh"] and result["message"]["en"], result
    return result


async def count(api: Api, table: Any, **where: Any) -> int:
    async with api.state.db.read() as conn:
        query = select(func.count()).select_from(table)
        for name, value in where.items():
            query = query.where(table.c[name] == value)
        return int((await conn.execute(query)).scalar() or 0)


class Pilot:
    """The pilot 耆乐安居 at TH-001: two milestones (40 and 60), two indicators."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.id = new_id()
        self.m1, self.m2 = new_id(), new_id()

    def args(self) -> dict[str, Any]:
        return {
            "id": self.id, "fund_id": self.world.fund_id, "station": STATION,
            "category": "elderly", "name": "耆乐安居",
            "summary": "为独居和高龄老人家中加装扶手、防滑垫和烟感报警器",
            "indicators": [
                {"key": "homes", "name": "完成适老化改造的家庭", "unit": "户", "target": 30},
                {"key": "satisfaction", "name": "满意度", "unit": "%", "target": 90},
            ],
            "milestones": [
                {"id": self.m1, "title": "入户评估", "weight": 40, "due": "2026-12-31"},
                {"id": self.m2, "title": "安装与回访", "weight": 60, "due": "2027-03-31"},
            ],
        }


async def pilot_world(api: Api) -> tuple[World, Pilot, Device]:
    world = await build_world(api, seed_fen=1_000_000)
    pilot = Pilot(world)
    await applied(world.staff, "service_project.create", pilot.args())
    payer = Device(api, await api.token("dm-pay", "district_manager", district=DISTRICT))
    return world, pilot, payer


async def project_record(device: Device, project_id: str, kind: str = "service_project"
                         ) -> dict[str, Any]:
    await device.pull()
    return device.of_type(kind)[project_id]


def grant_args(pilot: Pilot, amount: int, tranches: list[tuple[str, int, str | None]]
               ) -> dict[str, Any]:
    return {"id": new_id(), "project_id": pilot.id, "amount_fen": amount,
            "signed_at": "2026-11-28",
            "tranches": [{"id": t, "amount_fen": a, "milestone_id": m} for t, a, m in tranches]}


async def test_a_brand_project_is_a_fund_project_with_weighted_progress(api: Api) -> None:
    world, pilot, _payer = await pilot_world(api)
    await world.staff.pull()
    assert world.staff.of_type("project")[pilot.id]["fund_id"] == world.fund_id
    project = world.staff.of_type("service_project")[pilot.id]
    assert (project["kind"], project["category"], project["progress"], project["status"]) == (
        "brand", "elderly", 0, "active")
    await applied(world.staff, "progress.report", {
        "id": new_id(), "project_id": pilot.id, "milestone_id": pilot.m1, "progress": 100,
        "text": "30 户入户评估完成"})
    assert (await project_record(world.staff, pilot.id))["progress"] == 40
    await applied(world.staff, "progress.report", {
        "id": new_id(), "project_id": pilot.id, "milestone_id": pilot.m2, "progress": 50})
    assert (await project_record(world.staff, pilot.id))["progress"] == 70
    # a new plan: weights must sum to 100 and no milestone is dropped
    m3 = new_id()
    await refused(world.staff, "milestone.set", {"project_id": pilot.id, "milestones": [
        {"id": pilot.m1, "title": "入户评估", "weight": 40},
        {"id": pilot.m2, "title": "安装", "weight": 40},
        {"id": m3, "title": "回访", "weight": 30}]}, "weights_not_100")
    await refused(world.staff, "milestone.set", {"project_id": pilot.id, "milestones": [
        {"id": pilot.m1, "title": "入户评估", "weight": 100}]}, "milestone_dropped")
    await applied(world.staff, "milestone.set", {"project_id": pilot.id, "milestones": [
        {"id": pilot.m1, "title": "入户评估", "weight": 20},
        {"id": pilot.m2, "title": "安装", "weight": 50},
        {"id": m3, "title": "回访", "weight": 30}]})
    # 20*100 + 50*50 + 30*0 = 4500 -> 45
    assert (await project_record(world.staff, pilot.id))["progress"] == 45
    # another station's staff may not touch it
    other = Device(api, await api.token("staff-yx", "staff", station="YX-001"))
    await refused(other, "progress.report", {
        "id": new_id(), "project_id": pilot.id, "milestone_id": pilot.m2, "progress": 100},
        "forbidden")


async def test_a_tranche_above_the_grant_is_refused_and_nothing_is_written(api: Api) -> None:
    world, pilot, _payer = await pilot_world(api)
    t1, t2 = new_id(), new_id()
    args = grant_args(pilot, 300_000, [(t1, 100_000, None), (t2, 250_000, pilot.m2)])
    result = await refused(world.district, "grant.create", args, "tranches_above_grant")
    assert "分期总额超过资助协议金额" in result["message"]["zh"]
    assert await count(api, sp.project_grants) == 0
    assert await count(api, sp.grant_tranches) == 0
    # station staff do not sign grants
    await refused(world.staff, "grant.create", grant_args(pilot, 300_000, []), "forbidden")
    ok = grant_args(pilot, 300_000, [(t1, 100_000, None), (t2, 150_000, pilot.m2)])
    await applied(world.district, "grant.create", ok)
    # one more tranche that would pass the grant: refused, nothing written
    await refused(world.district, "tranche.add", {
        "id": new_id(), "grant_id": ok["id"], "amount_fen": 50_001}, "tranches_above_grant")
    assert await count(api, sp.grant_tranches) == 2
    await applied(world.district, "tranche.add", {
        "id": new_id(), "grant_id": ok["id"], "amount_fen": 50_000})
    # a second grant for the same project is refused
    await refused(world.district, "grant.create", grant_args(pilot, 1_000, []), "grant_exists")


async def test_a_tranche_is_paid_only_through_approve_and_pay_by_three_people(api: Api) -> None:
    world, pilot, payer = await pilot_world(api)
    t1, t2 = new_id(), new_id()
    await applied(world.district, "grant.create",
                  grant_args(pilot, 300_000, [(t1, 100_000, None), (t2, 200_000, pilot.m2)]))
    # tied to a milestone not yet done: refused, no disbursement made
    d2 = new_id()
    await refused(world.staff, "tranche.request", {"id": t2, "disbursement_id": d2,
                                                   "payee": "安居服务社"}, "milestone_not_done")
    assert await count(api, disbursements) == 0
    d1 = new_id()
    await applied(world.staff, "tranche.request", {"id": t1, "disbursement_id": d1,
                                                   "payee": "安居服务社"})
    await world.staff.pull()
    assert world.staff.of_type("disbursement")[d1]["status"] == "requested"
    assert world.staff.of_type("grant_tranche")[t1]["status"] == "requested"
    await refused(world.staff, "tranche.request", {"id": t1, "disbursement_id": new_id(),
                                                   "payee": "安居服务社"}, "tranche_not_planned")
    # the requester cannot approve; the approver cannot pay; a third person pays
    await refused(world.staff, "disbursement.decide", {"id": d1, "decision": "approve"},
                  "forbidden")
    await refused(payer, "disbursement.pay", {"id": d1, "reference": "BANK-1"}, "not_approved")
    await applied(world.district, "disbursement.decide", {"id": d1, "decision": "approve"})
    assert (await project_record(world.staff, t1, "grant_tranche"))["status"] == "approved"
    await refused(world.district, "disbursement.pay", {"id": d1, "reference": "BANK-1"},
                  "forbidden")
    await applied(payer, "disbursement.pay", {"id": d1, "reference": "BANK-1"})
    assert (await project_record(world.staff, t1, "grant_tranche"))["status"] == "paid"
    # the milestone done, the second tranche (above the invoice line) needs its invoice
    await applied(world.staff, "progress.report", {
        "id": new_id(), "project_id": pilot.id, "milestone_id": pilot.m2, "progress": 100})
    await applied(world.staff, "tranche.request", {"id": t2, "disbursement_id": d2,
                                                   "payee": "安居服务社"})
    await applied(world.district, "disbursement.decide", {"id": d2, "decision": "approve"})
    await refused(payer, "disbursement.pay", {"id": d2, "reference": "BANK-2"},
                  "invoice_required")
    assert (await project_record(world.staff, t2, "grant_tranche"))["status"] == "approved"
    invoice = photo_bytes(7)
    await upload_file(api, world.staff.token, invoice)
    await applied(world.staff, "attachment.add", {
        "record_type": "disbursement", "record_id": d2,
        "attachments": [file_ref(invoice, kind="invoice")]})
    await applied(payer, "disbursement.pay", {"id": d2, "reference": "BANK-2"})
    assert (await project_record(world.staff, t2, "grant_tranche"))["status"] == "paid"
    # the grant is all planned: one fen more is refused
    await world.district.pull()
    (grant,) = world.district.of_type("grant").values()
    await refused(world.district, "tranche.add", {"id": new_id(), "grant_id": grant["id"],
                                                  "amount_fen": 1}, "tranches_above_grant")


async def test_a_rejected_tranche_can_be_asked_for_again(api: Api) -> None:
    world, pilot, _payer = await pilot_world(api)
    t1 = new_id()
    await applied(world.district, "grant.create", grant_args(pilot, 50_000, [(t1, 50_000, None)]))
    d1, d2 = new_id(), new_id()
    await applied(world.staff, "tranche.request", {"id": t1, "disbursement_id": d1, "payee": "甲"})
    await applied(world.district, "disbursement.decide", {"id": d1, "decision": "reject",
                                                          "note": "缺少预算明细"})
    assert (await project_record(world.staff, t1, "grant_tranche"))["status"] == "rejected"
    await applied(world.staff, "tranche.request", {"id": t1, "disbursement_id": d2, "payee": "甲"})
    tranche = await project_record(world.staff, t1, "grant_tranche")
    assert (tranche["status"], tranche["disbursement_id"]) == ("requested", d2)


async def test_feedback_comments_are_never_public(api: Api) -> None:
    world, pilot, _payer = await pilot_world(api)
    secret = "王阿姨说扶手装得太高"
    await applied(world.staff, "feedback.record", {
        "id": new_id(), "project_id": pilot.id, "score": 4, "comment": secret})
    await applied(world.staff, "visit.record", {
        "id": new_id(), "project_id": pilot.id, "visited_on": "2026-11-20", "rating": "good",
        "findings": "李大爷家的烟感未通电"})
    volunteer = Device(api, await api.token("vol-th", "volunteer", station=STATION))
    await volunteer.pull()
    assert volunteer.of_type("service_project")[pilot.id]["name"] == "耆乐安居"
    assert volunteer.of_type("project_feedback") == {}
    assert volunteer.of_type("supervision_visit") == {}
    await world.staff.pull()
    assert [f["comment"] for f in world.staff.of_type("project_feedback").values()] == [secret]
    for path in (f"/public/projects/{pilot.id}", f"/api/v1/public/projects/{pilot.id}"):
        response = await api.http.get(path)
        assert response.status_code == 200, response.text
        assert secret not in response.text and "李大爷" not in response.text
        assert "耆乐安居" in response.text
    page = (await api.http.get(f"/api/v1/public/projects/{pilot.id}")).json()
    assert page["feedback"] == {"count": 1, "average": 4.0}
    await refused(world.staff, "feedback.record", {
        "id": new_id(), "project_id": pilot.id, "score": 6}, "invalid_args")


async def test_photos_public_only_when_marked_and_reports_take_photos(api: Api) -> None:
    world, pilot, _payer = await pilot_world(api)
    shown, kept, report_photo = photo_bytes(11), photo_bytes(12), photo_bytes(13)
    for data in (shown, kept, report_photo):
        await upload_file(api, world.staff.token, data)
    await applied(world.staff, "attachment.add", {
        "record_type": "service_project", "record_id": pilot.id,
        "attachments": [file_ref(shown, public=True), file_ref(kept)]})
    report = new_id()
    await applied(world.staff, "progress.report", {
        "id": report, "project_id": pilot.id, "milestone_id": pilot.m1, "progress": 20,
        "attachments": [file_ref(report_photo)]})
    await world.staff.pull()
    assert len(world.staff.of_type("progress_report")[report]["attachments"]) == 1
    page = (await api.http.get(f"/api/v1/public/projects/{pilot.id}")).json()
    assert [p["sha256"] for p in page["photos"]] == [file_ref(shown)["sha256"]]
    assert (await api.http.get(page["photos"][0]["url"])).status_code == 200
    assert (await api.http.get(f"/public/files/{file_ref(kept)['sha256']}")).status_code == 404
    other = Device(api, await api.token("staff-yx3", "staff", station="YX-001"))
    await refused(other, "attachment.add", {
        "record_type": "progress_report", "record_id": report,
        "attachments": [file_ref(kept)]}, "forbidden")


async def test_a_visit_follow_up_due_reminds_the_station_once(api: Api) -> None:
    world, pilot, _payer = await pilot_world(api)
    state = api.state
    now = dt.datetime(2026, 12, 5, 2, 0, tzinfo=dt.UTC)
    visit = new_id()
    await refused(world.staff, "visit.record", {
        "id": visit, "project_id": pilot.id, "visited_on": "2026-11-20",
        "rating": "needs_improvement", "follow_up_due": "2026-12-01"}, "invalid_args")
    await applied(world.staff, "visit.record", {
        "id": visit, "project_id": pilot.id, "visited_on": "2026-11-20",
        "rating": "needs_improvement", "findings": "防滑垫不足", "follow_up": "补齐防滑垫",
        "follow_up_due": "2026-12-10"})
    assert await sp.remind_follow_ups(state.db, state.registry, state.pokes, now) == []
    later = dt.datetime(2026, 12, 10, 1, 0, tzinfo=dt.UTC)
    assert await sp.remind_follow_ups(state.db, state.registry, state.pokes, later) == [visit]
    assert await sp.remind_follow_ups(state.db, state.registry, state.pokes, later) == []
    assert await count(api, notify_outbox, kind="visit.follow_up_due") == 1
    # the station's manager gets it in the inbox; the station's staff member does not
    await expand_outbox(state, utc_now())
    await world.manager.pull()
    (note,) = [n for n in world.manager.of_type("notification").values()
               if n["kind"] == "visit.follow_up_due"]
    assert "耆乐安居" in note["title"]["zh"] and note["url"] == f"/#/projects/{pilot.id}"
    await world.staff.pull()
    assert world.staff.of_type("notification") == {}
    done = new_id()
    await applied(world.staff, "visit.record", {
        "id": done, "project_id": pilot.id, "visited_on": "2026-11-21", "rating": "good",
        "follow_up": "复查", "follow_up_due": "2026-12-01"})
    await applied(world.staff, "visit.follow_up_done", {"id": done, "note": "已复查"})
    await refused(world.staff, "visit.follow_up_done", {"id": done}, "already_done")
    assert await sp.remind_follow_ups(state.db, state.registry, state.pokes, later) == []


async def test_the_evaluation_reads_spending_from_the_ledger_and_makes_a_pdf(api: Api) -> None:
    world, pilot, payer = await pilot_world(api)
    t1 = new_id()
    await applied(world.district, "grant.create",
                  grant_args(pilot, 200_000, [(t1, 80_000, None)]))
    d1 = new_id()
    await applied(world.staff, "tranche.request", {"id": t1, "disbursement_id": d1,
                                                   "payee": "安居服务社"})
    await applied(world.district, "disbursement.decide", {"id": d1, "decision": "approve"})
    await applied(payer, "disbursement.pay", {"id": d1, "reference": "B-1"})
    await applied(world.staff, "indicator.record", {
        "id": new_id(), "project_id": pilot.id, "indicator_key": "homes", "period": "2026-Q4",
        "value": 12})
    await refused(world.staff, "indicator.record", {
        "id": new_id(), "project_id": pilot.id, "indicator_key": "nope", "period": "2026-Q4",
        "value": 1}, "unknown_indicator")
    await applied(world.staff, "feedback.record", {
        "id": new_id(), "project_id": pilot.id, "score": 5, "comment": "很好"})
    scores = {"needs": 90, "performance": 80, "feedback": 95, "supervision": 85}
    evaluation = {"project_id": pilot.id, "scores": scores, "conclusion": "按计划完成",
                  "public_summary": "30 户老人家中完成适老化改造,满意度高。"}
    # staff do not evaluate; nor does the project's creator even as a listed evaluator
    await refused(world.staff, "evaluation.submit", evaluation, "forbidden")
    await refused(world.district, "evaluation.submit",
                  {**evaluation, "evaluators": ["staff1"]}, "forbidden")
    await refused(world.district, "service_project.close", {"id": pilot.id},
                  "evaluation_missing")
    await applied(world.district, "evaluation.submit", {**evaluation, "evaluators": ["dm-pay"]})
    record = await project_record(world.staff, pilot.id, "evaluation")
    assert (record["spent_fen"], record["budget_fen"], record["overall"]) == (80_000, 200_000, 88)
    assert record["evaluators"] == ["dm", "dm-pay"]
    assert (await project_record(world.staff, pilot.id))["status"] == "closing"
    # closing: no more progress nor tranche requests
    await refused(world.staff, "progress.report", {
        "id": new_id(), "project_id": pilot.id, "milestone_id": pilot.m1, "progress": 10},
        "project_not_active")
    pdf = await api.http.get(f"/api/v1/service-projects/{pilot.id}/evaluation.pdf",
                             headers=api.auth(world.staff.token))
    assert pdf.status_code == 200, pdf.text
    assert pdf.headers["content-type"].startswith("application/pdf")
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    for expected in ("耆乐安居", "800.00", "2,000.00", "88", "按计划完成", "完成适老化改造的家庭"):
        assert expected in text, (expected, text)
    assert "很好" not in text  # a beneficiary's comment stays out of the report
    other = Device(api, await api.token("staff-yx2", "staff", station="YX-001"))
    denied = await api.http.get(f"/api/v1/service-projects/{pilot.id}/evaluation.pdf",
                                headers=api.auth(other.token))
    assert denied.status_code == 403
    await applied(world.district, "service_project.close", {"id": pilot.id})
    page = (await api.http.get(f"/api/v1/public/projects/{pilot.id}")).json()
    assert page["evaluation"]["public_summary"] == evaluation["public_summary"]
    assert page["evaluation"]["overall"] == 88
    assert page["status"] == "closed"
    assert [t["amount_fen"] for t in page["tranches_paid"]] == [80_000]
    assert page["indicators"][0]["actual"] == 12
    await refused(world.staff, "feedback.record", {
        "id": new_id(), "project_id": pilot.id, "score": 3}, "project_closed")


SHANGHAI = dt.timezone(dt.timedelta(hours=8))


def _day(offset: int) -> str:
    return (dt.datetime.now(SHANGHAI).date() + dt.timedelta(days=offset)).isoformat()


async def funded_proposal(api: Api) -> tuple[World, str, str]:
    """A round of the station's fund taken through proposals, review and voting to its
    published results: one proposal (two timeline items) funded at 3,000 yuan. Returns
    (world, round id, proposal id)."""
    world = await build_world(api, seed_fen=1_000_000)
    dm = world.district
    member = Device(api, await api.token("li", "volunteer", station=STATION))
    reviewer = Device(api, await api.token("zhao", "volunteer", station=STATION))
    resident = Device(api, await api.token("chen", "volunteer", station=STATION))
    round_id, group_id, need_id, proposal_id = new_id(), new_id(), new_id(), new_id()
    await applied(dm, "round.create", {
        "id": round_id, "fund_id": world.fund_id, "station": STATION, "title": "2026 年微创投",
        "year": 2026, "budget_fen": 500_000, "min_project_fen": 10_000,
        "max_project_fen": 400_000, "phases": {
            "needs": {"starts": _day(-30), "ends": _day(-1)},
            "proposals": {"starts": _day(0), "ends": _day(10)},
            "review": {"starts": _day(11), "ends": _day(20)},
            "voting": {"starts": _day(21), "ends": _day(30)}}})
    await applied(world.staff, "need.submit", {
        "id": need_id, "round_id": round_id, "category": "elderly", "community": "棠下社区",
        "description": "独居老人浴室太滑"})
    await applied(world.staff, "group.register", {
        "id": group_id, "name": "棠下邻里互助会", "station": STATION, "members": ["li"]})
    await applied(dm, "round.advance", {"id": round_id, "to": "proposals"})
    await applied(member, "proposal.submit", {
        "id": proposal_id, "round_id": round_id, "group_id": group_id, "title": "浴室防滑行动",
        "need_ids": [need_id], "beneficiaries": "独居长者", "beneficiary_count": 20,
        "activities": "上门铺设防滑垫", "budget_lines": [
            {"item": "防滑垫", "quantity": 100, "unit_cost_fen": 3_000}],
        "indicators": [{"key": "homes", "name": "户数", "unit": "户", "target": 20}],
        "team": "志愿者", "timeline": [{"key": "buy", "title": "采购", "due": _day(40)},
                                     {"key": "fit", "title": "上门铺设", "due": _day(60)}]})
    await applied(dm, "round.advance", {"id": round_id, "to": "review"})
    review = new_id()
    await applied(dm, "review.assign", {"id": review, "proposal_id": proposal_id,
                                        "reviewer": "zhao"})
    await applied(reviewer, "review.submit", {
        "id": review, "scores": {"need_fit": 8, "feasibility": 7, "budget": 6, "capacity": 9,
                                 "sustainability": 5},
        "feasible": True, "reason": "可行", "adjusted_price_fen": 300_000})
    await applied(dm, "proposal.conclude", {"id": proposal_id, "feasible": True,
                                            "reason": "可行", "adjusted_price_fen": 300_000})
    phases = {"needs": {"starts": _day(-40), "ends": _day(-31)},
              "proposals": {"starts": _day(-30), "ends": _day(-21)},
              "review": {"starts": _day(-20), "ends": _day(-11)},
              "voting": {"starts": _day(-1), "ends": _day(10)}}
    await applied(dm, "round.update", {"id": round_id, "fields": {"phases": phases}})
    await applied(dm, "round.advance", {"id": round_id, "to": "voting"})
    await applied(resident, "ballot.cast", {"id": new_id(), "round_id": round_id,
                                            "proposal_ids": [proposal_id]})
    await applied(dm, "round.publish_results", {"round_id": round_id, "early": True})
    return world, round_id, proposal_id


async def test_a_funded_proposal_becomes_a_micro_venture_project(api: Api) -> None:
    if "proposal" not in api.state.registry.record_types:
        pytest.skip("the rounds are not installed")
    world, round_id, proposal_id = await funded_proposal(api)
    project_id, grant_id = new_id(), new_id()
    base = {"id": grant_id, "project_id": project_id, "proposal_id": proposal_id,
            "signed_at": "2026-11-28", "category": "elderly"}
    # more than awarded; tranches above the grant; a staff member: refused, nothing written
    await refused(world.district, "grant.create", {**base, "amount_fen": 300_001},
                  "grant_above_award")
    await refused(world.district, "grant.create", {**base, "amount_fen": 300_000, "tranches": [
        {"id": new_id(), "amount_fen": 200_000},
        {"id": new_id(), "amount_fen": 100_001, "milestone_key": "fit"}]}, "tranches_above_grant")
    await refused(world.staff, "grant.create", {**base, "amount_fen": 300_000}, "forbidden")
    assert await count(api, sp.service_projects) == 0
    assert await count(api, sp.project_milestones) == 0
    advance, final = new_id(), new_id()
    await applied(world.district, "grant.create", {
        **base, "amount_fen": 300_000, "summary": "为 20 户独居长者铺设浴室防滑垫",
        "weights": [{"key": "buy", "weight": 30}, {"key": "fit", "weight": 70}],
        "tranches": [{"id": advance, "amount_fen": 90_000},
                     {"id": final, "amount_fen": 210_000, "milestone_key": "fit"}]})
    await world.staff.pull()
    project = world.staff.of_type("service_project")[project_id]
    assert (project["kind"], project["round_id"], project["proposal_id"], project["name"]) == (
        "micro_venture", round_id, proposal_id, "浴室防滑行动")
    assert project["indicators"][0]["key"] == "homes"
    assert world.staff.of_type("project")[project_id]["fund_id"] == world.fund_id
    milestones = sorted(world.staff.of_type("milestone").values(), key=lambda m: m["position"])
    assert [(m["title"], m["weight"]) for m in milestones] == [("采购", 30), ("上门铺设", 70)]
    fit = sp.milestone_id(project_id, "fit")
    assert world.staff.of_type("grant_tranche")[final]["milestone_id"] == fit
    # one project per proposal
    await refused(world.district, "grant.create", {**base, "id": new_id(),
                                                   "project_id": new_id(), "amount_fen": 1_000},
                  "already_exists")
    # its tranche goes through the same disbursement flow
    await applied(world.staff, "tranche.request", {"id": advance, "disbursement_id": new_id(),
                                                   "payee": "棠下邻里互助会"})
    await refused(world.staff, "tranche.request", {"id": final, "disbursement_id": new_id(),
                                                   "payee": "棠下邻里互助会"}, "milestone_not_done")


async def test_a_grant_from_a_proposal_that_is_not_funded_is_refused(api: Api) -> None:
    world, _pilot, _payer = await pilot_world(api)
    await refused(world.district, "grant.create", {
        "id": new_id(), "project_id": new_id(), "proposal_id": new_id(), "amount_fen": 1_000,
        "signed_at": "2026-11-28"},
        "not_found" if "proposal" in api.state.registry.record_types else "not_available")
    assert await count(api, sp.project_grants) == 0


async def test_the_demo_data_holds_the_pilot_once(api: Api) -> None:
    state = api.state
    first = await seed_demo(state.db, state.registry, state.pokes)
    assert await seed_demo(state.db, state.registry, state.pokes) == first
    assert await count(api, sp.service_projects) == 1
    page = (await api.http.get(f"/api/v1/public/projects/{first}")).json()
    assert (page["name"], page["category"], page["progress"]) == ("耆乐安居", "elderly", 18)
    assert [m["weight"] for m in page["milestones"]] == [30, 50, 20]
    # the first tranche waits for a second person's approval in the funds' own flow
    async with state.db.read() as conn:
        statuses = (await conn.execute(select(disbursements.c.status))).scalars().all()
    assert statuses == ["requested"]
    html = (await api.http.get(f"/public/projects/{first}")).text
    assert "耆乐安居" in html and "不公开" not in html and "电池" not in html


def test_weights_and_scores() -> None:
    assert sp.equal_weights(3) == [34, 33, 33]
    assert sum(sp.equal_weights(7)) == 100
    assert sp.weighted_progress([{"weight": 40, "progress": 100},
                                 {"weight": 60, "progress": 50}]) == 70
    assert sp.weighted_progress([]) == 0
    assert sp.overall_score({"needs": 90, "performance": 80, "feedback": 95,
                             "supervision": 85}) == 88
