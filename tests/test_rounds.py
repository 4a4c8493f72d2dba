"""The community micro-venture round (issue 15, docs/programme.md), on SQLite and
PostgreSQL: phases move one at a time and only by the fund's managers, and the rules lock
when voting opens; needs come from staff phones (offline) and the public page, merge
keeping who raised them, and are never public as free text; proposals keep every
version and refuse edits after their deadline; nobody reviews a proposal of their own
group; every refusal writes nothing."""

from __future__ import annotations

import datetime as dt
import io
import time
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, select

from server.audit import audit_log
from server.domain.rounds import needs, proposal_versions, proposals, reviews, rounds
from server.notify.outbox import expand_outbox
from server.notify.tables import notifications, notify_outbox
from sync.timeutil import utc_now
from tests.conftest import Api
from tests.devices import Device
from tests.donation_setup import STATION, World, build_world
from tests.helpers import new_id, stamp

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


async def round_world(api: Api, *, advance: bool = True) -> RoundWorld:
    """A round of the station's community fund, a need, a group of two residents, and
    (``advance``) the round moved to its proposals phase."""
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
    if advance:
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


SCORES = {"need_fit": 8, "feasibility": 7, "budget": 6, "capacity": 9, "sustainability": 5}


async def test_every_version_of_a_proposal_is_kept_and_its_total_is_the_servers(api: Api) -> None:
    rw = await round_world(api)
    pid = new_id()
    _ok(await rw.member.send("proposal.submit", proposal_args(pid, rw.round_id, rw.group_id,
                                                              [rw.need_id])))
    _ok(await rw.member2.send("proposal.edit", {"id": pid, "fields": {
        "budget_lines": [{"item": "扶手", "quantity": 30, "unit_cost_fen": 300_00}]}}))
    _ok(await rw.member.send("proposal.edit", {"id": pid, "fields": {"title": "长者防跌倒改造"}}))
    row = await _row(api, proposals, pid)
    assert (row["version"], row["title"], row["budget_total_fen"]) == (3, "长者防跌倒改造", 9_000_00)
    async with api.state.db.engine.connect() as conn:
        versions = (await conn.execute(select(proposal_versions).where(
            proposal_versions.c.proposal_id == pid).order_by(proposal_versions.c.version))
        ).mappings().all()
    assert [(v["id"], v["version"], v["edited_by"]) for v in versions] == [
        (f"{pid}:1", 1, "li"), (f"{pid}:2", 2, "wang"), (f"{pid}:3", 3, "li")]
    assert '"budget_total_fen":1400000' in versions[0]["snapshot"]
    assert '"budget_total_fen":900000' in versions[1]["snapshot"]
    # over the round's maximum per project: refused, no version written
    _refused(await rw.member.send("proposal.edit", {"id": pid, "fields": {
        "budget_lines": [{"item": "改造", "quantity": 1, "unit_cost_fen": 40_000_01}]}}),
        "over_project_max")
    # an outsider (not in the group) may not edit it
    _refused(await rw.outsider.send("proposal.edit", {"id": pid, "fields": {"title": "x"}}),
             "forbidden")
    assert (await _row(api, proposals, pid))["version"] == 3
    assert await _count(api, proposal_versions, proposal_versions.c.proposal_id == pid) == 3
    # the phone sees the versions
    await rw.member.pull()
    assert {v["version"] for v in rw.member.of_type("proposal_version").values()} == {1, 2, 3}


async def test_a_proposal_edited_after_its_deadline_is_refused_and_nothing_is_written(api: Api) -> None:
    rw = await round_world(api)
    pid = new_id()
    _ok(await rw.member.send("proposal.submit", proposal_args(pid, rw.round_id, rw.group_id,
                                                              [rw.need_id])))
    # the proposals phase ended yesterday (the round is still in it: nobody moved it on)
    _ok(await rw.dm.send("round.update", {"id": rw.round_id, "fields": {"phases": phases(-11)}}))
    before_audit = await _count(api, audit_log)
    late = await rw.member.send("proposal.edit", {"id": pid, "fields": {"title": "迟到的修改"}})
    _refused(late, "proposal_deadline")
    assert "提案修改已截止" in late["message"]["zh"]
    # queued offline two days ago, before the deadline, and synced now: still refused (the
    # server's day decides a deadline; a phone's clock can be set back)
    two_days_ago = int(time.time() * 1000) - 2 * 86_400_000
    _refused(await rw.member.send("proposal.edit", {"id": pid, "fields": {"title": "离线修改"}},
                                  stamp=stamp(two_days_ago, "li-phone")), "proposal_deadline")
    _refused(await rw.member.send("proposal.submit", proposal_args(
        new_id(), rw.round_id, rw.group_id, [rw.need_id])), "proposal_deadline")
    row = await _row(api, proposals, pid)
    assert (row["version"], row["title"]) == (1, "长者居家安全改造")
    assert await _count(api, proposal_versions) == 1
    assert await _count(api, proposals) == 1
    assert await _count(api, audit_log) == before_audit
    # and after the phase moved on, even with the dates back in the future
    _ok(await rw.dm.send("round.update", {"id": rw.round_id, "fields": {"phases": phases()}}))
    _ok(await rw.dm.send("round.advance", {"id": rw.round_id, "to": "review"}))
    _refused(await rw.member.send("proposal.edit", {"id": pid, "fields": {"title": "x"}}),
             "proposal_deadline")
    assert (await _row(api, proposals, pid))["version"] == 1


async def test_nobody_reviews_a_proposal_of_their_own_group(api: Api) -> None:
    rw = await round_world(api)
    pid = new_id()
    _ok(await rw.member.send("proposal.submit", proposal_args(pid, rw.round_id, rw.group_id,
                                                              [rw.need_id])))
    _ok(await rw.dm.send("round.advance", {"id": rw.round_id, "to": "review"}))
    audit_before = await _count(api, audit_log)
    refused = await rw.dm.send("review.assign", {"id": new_id(), "proposal_id": pid,
                                                 "reviewer": "wang"})
    _refused(refused, "conflict_of_interest")
    assert "利益冲突" in refused["message"]["zh"]
    # nothing half-written: no review, no notification, no audit row
    assert await _count(api, reviews) == 0
    assert await _count(api, notify_outbox, notify_outbox.c.kind == "review.assigned") == 0
    assert await _count(api, audit_log) == audit_before
    # an outsider may review, and hears of it (alone)
    review = new_id()
    _ok(await rw.dm.send("review.assign", {"id": review, "proposal_id": pid, "reviewer": "zhao"}))
    _refused(await rw.dm.send("review.assign", {"id": new_id(), "proposal_id": pid,
                                                "reviewer": "zhao"}), "already_assigned")
    await expand_outbox(api.state, utc_now())
    async with api.state.db.engine.connect() as conn:
        told = (await conn.execute(select(notifications.c.user_id, notifications.c.title).where(
            notifications.c.kind == "review.assigned"))).all()
    assert [u for u, _ in told] == ["zhao"] and "长者居家安全改造" in told[0][1]
    # zhao joins the group since: their scorecard is refused, the review stays as it was
    _ok(await rw.staff.send("group.set_members", {"id": rw.group_id,
                                                  "members": ["li", "wang", "zhao"]}))
    _refused(await rw.outsider.send("review.submit", {
        "id": review, "scores": SCORES, "feasible": True, "reason": "好",
        "adjusted_price_fen": 10_000_00}), "conflict_of_interest")
    row = await _row(api, reviews, review)
    assert (row["status"], row["weighted_score"], row["scores"]) == ("assigned", None, "{}")
    # they declare it; another reviewer is assigned and scores it
    _ok(await rw.outsider.send("review.declare_conflict", {"id": review, "reason": "已加入该组织"}))
    assert (await _row(api, reviews, review))["status"] == "declined_conflict"
    await expand_outbox(api.state, utc_now())
    async with api.state.db.engine.connect() as conn:
        settled = (await conn.execute(select(notifications.c.resolved_at).where(
            notifications.c.kind == "review.assigned"))).scalar()
    assert settled is not None  # the reviewer's notification moved to "done"
    _refused(await rw.outsider.send("review.submit", {
        "id": review, "scores": SCORES, "feasible": True, "reason": "好"}), "review_closed")
    second = new_id()
    _ok(await rw.dm.send("review.assign", {"id": second, "proposal_id": pid, "reviewer": "staff1"}))
    _refused(await rw.world.staff.send("review.submit", {
        "id": second, "scores": {"need_fit": 8}, "feasible": True, "reason": "好"}), "invalid_args")
    _ok(await rw.world.staff.send("review.submit", {
        "id": second, "scores": SCORES, "feasible": False, "reason": "预算偏高"}))
    # the reviewer sees their own review; the group does not
    await rw.member.pull()
    assert rw.member.of_type("review") == {}
    await rw.outsider.pull()
    assert set(rw.outsider.of_type("review")) == {review}
    # what they review travels with the review (a reviewer of another station sees no
    # proposal record): the proposal as it stood, and its needs as the public sees them
    copy = rw.outsider.of_type("review")[review]["proposal"]
    assert (copy["title"], copy["version"], copy["group"], copy["budget_total_fen"]) == (
        "长者居家安全改造", 1, "棠下邻里互助会", 14_000_00)
    assert copy["needs"] == [{"id": rw.need_id, "category": "elderly", "community": "棠下社区",
                              "public_title": "独居长者居家防跌倒", "raised_count": 1}]


async def test_voting_opens_only_when_every_proposal_is_concluded_and_then_rules_lock(api: Api) -> None:
    rw = await round_world(api)
    first, second = new_id(), new_id()
    for pid in (first, second):
        _ok(await rw.member.send("proposal.submit", proposal_args(pid, rw.round_id, rw.group_id,
                                                                  [rw.need_id])))
    _ok(await rw.dm.send("round.advance", {"id": rw.round_id, "to": "review"}))
    _refused(await rw.dm.send("proposal.conclude", {"id": first, "feasible": True, "reason": "好",
                                                    "adjusted_price_fen": 10_000_00}), "no_reviews")
    review = new_id()
    _ok(await rw.dm.send("review.assign", {"id": review, "proposal_id": first, "reviewer": "zhao"}))
    _ok(await rw.outsider.send("review.submit", {"id": review, "scores": SCORES, "feasible": True,
                                                 "reason": "好"}))
    _ok(await rw.dm.send("proposal.conclude", {"id": first, "feasible": True, "reason": "可行",
                                               "adjusted_price_fen": 10_000_00}))
    refused = await rw.dm.send("round.advance", {"id": rw.round_id, "to": "voting"})
    _refused(refused, "proposals_not_concluded")
    row = await _row(api, rounds, rw.round_id)
    assert (row["phase"], row["rules_locked"]) == ("review", False)
    _ok(await rw.member.send("proposal.withdraw", {"id": second, "reason": "合并到第一份"}))
    _ok(await rw.dm.send("round.advance", {"id": rw.round_id, "to": "voting"}))
    row = await _row(api, rounds, rw.round_id)
    assert (row["phase"], row["rules_locked"]) == ("voting", True)
    _refused(await rw.dm.send("round.advance", {"id": rw.round_id, "to": "results"}),
             "results_by_publishing")
    _refused(await rw.dm.send("proposal.conclude", {"id": first, "feasible": False, "reason": "x"}),
             "wrong_phase")
    # the group sees the outcome and the reason
    await rw.member.pull()
    seen = rw.member.of_type("proposal")[first]
    assert (seen["status"], seen["review_reason"], seen["adjusted_price_fen"],
            seen["review_score"]) == ("feasible", "可行", 10_000_00, 72.0)
    # the public page lists it now, with its group, price and score
    page = (await api.http.get(f"/api/v1/public/rounds/{rw.round_id}")).json()
    assert [(p["title"], p["group"], p["adjusted_price_fen"], p["status"]) for p in page["proposals"]] \
        == [("长者居家安全改造", "棠下邻里互助会", 10_000_00, "feasible")]
    assert "上门评估" not in str(page) and "5 名志愿者" not in str(page)  # nor its activities, team


async def test_needs_are_never_public_as_free_text(api: Api) -> None:
    rw = await round_world(api, advance=False)
    # a resident on their own phone
    own = new_id()
    _ok(await rw.outsider.send("need.submit", {
        "id": own, "round_id": rw.round_id, "category": "environment", "community": "华景社区",
        "description": "垃圾站夜里很臭,赵先生家就在旁边", "raised_via": "booth",
        "contact": {"name": "赵先生", "phone": "13900001111"}}))
    assert (await _row(api, needs, own))["raised_via"] == "public"
    # a resident on the round's public page
    page = await api.http.get(f"/public/rounds/{rw.round_id}")
    assert page.status_code == 200 and 'data-testid="need-form"' in page.text
    sent = await api.http.post(f"/public/rounds/{rw.round_id}/needs", data={
        "category": "children", "community": "棠下社区",
        "description": "孩子放学后没人照看,钱女士很着急", "contact_name": "钱女士",
        "contact_phone": "13700002222"})
    assert sent.status_code == 200 and 'data-testid="need-sent"' in sent.text, sent.text[:500]
    bad = await api.http.post(f"/public/rounds/{rw.round_id}/needs", data={
        "category": "nonsense", "community": "棠下社区", "description": "x"})
    assert bad.status_code == 400 and 'data-testid="need-error"' in bad.text
    assert 'value="棠下社区"' in bad.text  # what they typed is given back to correct
    async with api.state.db.engine.connect() as conn:
        public = (await conn.execute(select(needs).where(needs.c.raised_via == "public",
                                                         needs.c.id != own))).mappings().one()
    assert (public["description"], public["contact_phone"], public["created_by"]) == (
        "孩子放学后没人照看,钱女士很着急", "13700002222", "system")
    assert await _count(api, needs) == 3  # the booth's, the resident's, the page's; not the bad one
    # staff publish titles (and merge the page's need into the booth's one)
    _ok(await rw.staff.send("need.publish", {"id": own, "public_title": "垃圾站异味治理"}))
    _ok(await rw.staff.send("need.merge", {"id": public["id"], "into": rw.need_id}))
    secrets = ("张阿婆", "13800138000", "摔倒", "赵先生", "13900001111", "很臭", "钱女士",
               "13700002222", "没人照看")
    for url in (f"/public/rounds/{rw.round_id}", f"/api/v1/public/rounds/{rw.round_id}"):
        shown = (await api.http.get(url)).text
        assert "独居长者居家防跌倒" in shown and "垃圾站异味治理" in shown
        assert not [s for s in secrets if s in shown], url
    data = (await api.http.get(f"/api/v1/public/rounds/{rw.round_id}")).json()
    assert {n["public_title"]: n["raised_count"] for n in data["needs"]} == {
        "独居长者居家防跌倒": 2, "垃圾站异味治理": 1}
    assert (data["needs_raised"], data["needs_count"]) == (3, 2)
    # on the phones: the station's staff see the words; a resident sees only their own need
    await rw.member.pull()
    assert rw.member.of_type("need") == {}
    await rw.outsider.pull()
    assert list(rw.outsider.of_type("need")) == [own]
    await rw.staff.pull()
    assert len(rw.staff.of_type("need")) == 3
    # once the needs phase is over, the page takes no more (and writes nothing)
    _ok(await rw.dm.send("round.advance", {"id": rw.round_id, "to": "proposals"}))
    late = await api.http.post(f"/public/rounds/{rw.round_id}/needs", data={
        "category": "elderly", "community": "棠下社区", "description": "晚了"})
    assert late.status_code == 409 and "needs_closed" not in late.text
    assert await _count(api, needs) == 3
    assert 'data-testid="need-form"' not in (await api.http.get(f"/public/rounds/{rw.round_id}")).text


async def test_merging_needs_keeps_who_raised_them(api: Api) -> None:
    rw = await round_world(api, advance=False)
    dup = new_id()
    _ok(await rw.staff.send("need.submit", {
        "id": dup, "round_id": rw.round_id, "category": "elderly", "community": "棠下社区",
        "description": "老人洗澡容易滑倒", "contact": {"phone": "13600003333"}}))
    _ok(await rw.staff.send("need.merge", {"id": dup, "into": rw.need_id}))
    kept, merged = await _row(api, needs, rw.need_id), await _row(api, needs, dup)
    assert (kept["raised_count"], kept["status"]) == (2, "published")
    assert (merged["status"], merged["merged_into"], merged["contact_phone"],
            merged["description"]) == ("merged", rw.need_id, "13600003333", "老人洗澡容易滑倒")
    _refused(await rw.staff.send("need.merge", {"id": dup, "into": rw.need_id}), "already_merged")
    _refused(await rw.staff.send("need.publish", {"id": dup, "public_title": "x"}), "already_merged")
    _refused(await rw.member.send("need.merge", {"id": rw.need_id, "into": dup}), "forbidden")
    assert (await _row(api, needs, rw.need_id))["raised_count"] == 2
    _ok(await rw.dm.send("round.advance", {"id": rw.round_id, "to": "proposals"}))
    _refused(await rw.member.send("proposal.submit", proposal_args(
        new_id(), rw.round_id, rw.group_id, [dup])), "already_merged")
    assert await _count(api, proposals) == 0


async def test_a_booth_phones_needs_count_when_it_syncs_after_the_phase(api: Api) -> None:
    """Recorded offline while the needs phase ran: taken after it ended (within the grace);
    recorded after it ended: refused."""
    rw = await round_world(api)  # needs ran until yesterday; now in proposals
    yesterday = int(time.time() * 1000) - 86_400_000
    booth = {"round_id": rw.round_id, "category": "disability", "community": "棠下社区",
             "description": "轮椅上不了楼", "raised_via": "booth"}
    _ok(await rw.staff.send("need.submit", {"id": new_id(), **booth},
                            stamp=stamp(yesterday, "booth-phone")))
    _refused(await rw.staff.send("need.submit", {"id": new_id(), **booth}), "needs_closed")
    _refused(await rw.outsider.send("need.submit", {"id": new_id(), **booth},
                                    stamp=stamp(yesterday, "own-phone")), "needs_closed")
    assert await _count(api, needs) == 2


async def test_the_round_poster_carries_its_page_and_dates(api: Api) -> None:
    from pypdf import PdfReader

    rw = await round_world(api, advance=False)
    got = await api.http.get(f"/public/rounds/{rw.round_id}/poster.pdf")
    assert got.status_code == 200 and got.headers["content-type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(got.content))
    assert len(reader.pages) == 1
    text = reader.pages[0].extract_text().replace("\n", "")
    for shown in ("2026 年社区公益微创投", "社区公益微创投", f"/public/rounds/{rw.round_id}",
                  phases()["needs"]["starts"], "天河社区慈善基金"):
        assert shown in text, (shown, text)
    assert (await api.http.get(f"/public/rounds/{new_id()}/poster.pdf")).status_code == 404
    assert (await api.http.get(f"/public/rounds/{new_id()}")).status_code == 404


async def test_a_needs_contact_and_words_are_erasable(api: Api) -> None:
    rw = await round_world(api, advance=False)
    _refused(await rw.staff.send("need.erase_contact", {"id": rw.need_id}), "forbidden")
    _ok(await rw.world.manager.send("need.erase_contact", {"id": rw.need_id}))
    row = await _row(api, needs, rw.need_id)
    assert (row["contact_name"], row["contact_phone"], row["description"], row["public_title"],
            row["raised_count"]) == (None, None, "已删除 / erased", "独居长者居家防跌倒", 1)
    await rw.staff.pull()
    seen = rw.staff.of_type("need")[rw.need_id]
    assert (seen["contact"], seen["description"]) == (None, "已删除 / erased")


def test_the_need_form_is_limited_like_a_sign_up() -> None:
    """An anonymous write: the stricter limit of sign-ups, not the public pages' one."""
    from server.ratelimit import group_of

    assert group_of("/public/rounds/abc/needs") == "enrol"
    assert group_of("/public/rounds/abc") == "public"
    assert group_of("/public/rounds/abc/poster.pdf") == "public"


async def test_erasing_a_resident_erases_the_needs_they_raised(api: Api) -> None:
    rw = await round_world(api, advance=False)
    own = new_id()
    _ok(await rw.outsider.send("need.submit", {
        "id": own, "round_id": rw.round_id, "category": "culture", "community": "棠下社区",
        "description": "赵先生想办书法班", "contact": {"name": "赵先生", "phone": "13900004444"}}))
    done = await api.http.post("/api/v1/admin/erasure", headers=api.auth(rw.world.admin.token),
                               json={"subject": "person", "reason": "subject_request",
                                     "user_id": "zhao"})
    assert done.status_code == 200, done.text
    row = await _row(api, needs, own)
    assert (row["contact_name"], row["contact_phone"], row["description"], row["owner"]) == (
        None, None, "已删除 / erased", None)
    assert (await _row(api, needs, rw.need_id))["contact_phone"] == "13800138000"  # not theirs
