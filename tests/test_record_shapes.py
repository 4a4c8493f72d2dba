"""A record's wire shape is defined once: every registered record type names its Struct
(schemas/), what ``to_wire`` makes of a stored row decodes into it with exactly its
fields, and the published schema lists every record type."""

from __future__ import annotations

import datetime as dt

import msgspec
import pytest
from sqlalchemy import select

from server.demo import seed_demo
from server.notify.outbox import expand_outbox
from sync.timeutil import iso, utc_now
from tests.conftest import Api
from tests.devices import Device
from tests.donation_setup import OTHER_STATION, STATION, build_world, money, phone
from tests.helpers import new_id

pytestmark = pytest.mark.anyio


def _at(hours_ago: float) -> str:
    return iso(utc_now().replace(microsecond=0) - dt.timedelta(hours=hours_ago))


async def _every_kind_of_record(api: Api) -> None:
    """One scenario that writes at least one record of every registered type."""
    world = await build_world(api, seed_fen=100_000)  # stations, event, fund, projects, entries
    staff2 = await phone(world, "staff2")  # a receipt series
    gift = new_id()
    today = dt.datetime.now(dt.UTC).date()
    steps: list[tuple[Device, str, dict[str, object]]] = [
        (world.district, "matching_rule.create", {  # a gift_match with the gift below
            "id": new_id(), "sponsor": "爱心企业", "ratio_percent": 100, "cap_per_gift_fen": 10_000,
            "cap_total_fen": 100_000, "starts_on": (today - dt.timedelta(days=1)).isoformat(),
            "ends_on": (today + dt.timedelta(days=1)).isoformat(),
            "campaign_ids": [world.campaign_id]}),
        (staff2.device, "donation.record", money(gift, 600_000, fund_id=world.fund_id,
                                                 event_id=world.event_id,
                                                 receipt=staff2.next_receipt())),
        (staff2.device, "donation.record", {
            "id": new_id(), "station": STATION, "kind": "goods", "donor": {"anonymous": True,
                                                                          "wants_receipt": False},
            "items": [{"name": "大米", "quantity": 5, "unit": "袋", "estimated_value_fen": 5_000}]}),
        (staff2.device, "donation.correct", {"id": new_id(), "donation_id": gift,
                                             "action": "correct", "new_amount_fen": 599_000,
                                             "reason": "笔误"}),
        (world.staff, "disbursement.request", {"id": new_id(), "fund_id": world.fund_id,
                                               "project_id": world.project_id,
                                               "amount_fen": 10_000, "payee": "李四"}),
        (world.staff, "volunteer.register", {"user_id": "vol-1", "name": "李小明",
                                             "stations": [STATION, OTHER_STATION]}),
        (world.manager, "timebank.set_rate", {"station": STATION, "service_type": "elder_care",
                                              "rate_cents": 120}),
        (world.manager, "notification_prefs.set", {"fields": {"push_enabled": False}}),
        (world.manager, "alert.set_donation_threshold", {"station": STATION, "amount_fen": 1_000}),
        # people: a district of its own, a person with a membership, a second membership
        (world.admin, "district.create", {"name": "海珠区"}),
        (world.manager, "person.create", {"id": "person-1", "name": "王芳", "phone": "13800000000",
                                          "membership": {"id": new_id(), "role": "volunteer",
                                                         "station": STATION}}),
        (world.admin, "membership.add", {"id": new_id(), "user_id": "person-1", "role": "staff",
                                         "station": OTHER_STATION}),
    ]
    for device, name, args in steps:
        result = await device.send(name, dict(args))
        assert result["status"] == "applied", (name, result)

    activity, log_id, item = new_id(), new_id(), new_id()
    for device, name, args in [
        (world.staff, "activity.create", {"id": activity, "station": STATION, "title": "长者探访",
                                          "service_type": "elder_care", "date": "2026-11-25"}),
        (world.staff, "hours.manual", {"id": log_id, "activity_id": activity,
                                       "volunteer_id": "vol-1", "check_in_at": _at(3),
                                       "check_out_at": _at(1)}),
        (world.manager, "hours.approve", {"id": log_id}),
        (world.staff, "catalogue.add", {"id": item, "station": STATION, "title": "义剪",
                                        "kind": "service", "cost_cents": 50}),
    ]:
        result = await device.send(name, dict(args))
        assert result["status"] == "applied", (name, result)
    volunteer = Device(api, await api.token("vol-1", "volunteer", station=STATION))
    assert (await volunteer.send("redemption.request", {"id": new_id(), "item_id": item}))[
        "status"] == "applied"

    # a micro-venture round: a need, a group, a proposal (and its version), a review
    round_id, need, group, proposal = new_id(), new_id(), new_id(), new_id()
    day = lambda n: (today + dt.timedelta(days=n)).isoformat()
    member = Device(api, await api.token("person-1", "volunteer", station=STATION))
    for device, name, args in [
        (world.district, "round.create", {
            "id": round_id, "fund_id": world.fund_id, "station": STATION, "title": "社区微创投",
            "year": today.year, "budget_fen": 100_000, "min_project_fen": 1_000,
            "max_project_fen": 50_000, "phases": {
                "needs": {"starts": day(-9), "ends": day(-1)},
                "proposals": {"starts": day(0), "ends": day(9)},
                "review": {"starts": day(10), "ends": day(19)},
                "voting": {"starts": day(20), "ends": day(29)}}}),
        (world.staff, "need.submit", {"id": need, "round_id": round_id, "category": "elderly",
                                      "community": "棠下社区", "description": "浴室防滑",
                                      "contact": {"name": "张阿婆"}}),
        (world.staff, "group.register", {"id": group, "name": "邻里互助会", "station": STATION,
                                         "members": ["person-1"]}),
        (world.district, "round.advance", {"id": round_id, "to": "proposals"}),
        (member, "proposal.submit", {
            "id": proposal, "round_id": round_id, "group_id": group, "title": "防滑改造",
            "need_ids": [need], "beneficiaries": "独居长者", "beneficiary_count": 10,
            "activities": "加装扶手", "budget_lines": [{"item": "扶手", "quantity": 10,
                                                       "unit_cost_fen": 3_000}],
            "indicators": [{"key": "homes", "name": "户数", "unit": "户", "target": 10}],
            "timeline": [{"key": "done", "title": "完工", "due": day(60)}]}),
        (world.district, "round.advance", {"id": round_id, "to": "review"}),
        (world.district, "review.assign", {"id": new_id(), "proposal_id": proposal,
                                           "reviewer": "vol-1"}),
    ]:
        result = await device.send(name, dict(args))
        assert result["status"] == "applied", (name, result)

    # an edit that lost a field that matters: a conflict record and a sync issue
    old = "0000000000000001:0000:old-phone"
    await world.staff.send("event.update", {"id": world.event_id, "fields": {"date": "2026-09-06"}})
    flagged = await world.staff.send("event.update", {"id": world.event_id,
                                                      "fields": {"date": "2026-09-07"},
                                                      "base": {"date": old}})
    assert flagged["status"] == "flagged", flagged
    # the large gift reaches the manager's inbox
    assert (await expand_outbox(api.state, utc_now())).notifications >= 1
    await _a_round_that_voted(api, world.district, world.staff, world.fund_id)

    # service projects: the demo's pilot (a project, its grant, tranches, milestones, a
    # report, feedback, a visit, an indicator actual) and its evaluation
    pilot = await seed_demo(api.state.db, api.state.registry, api.state.pokes)
    evaluated = await world.district.send("evaluation.submit", {
        "project_id": pilot, "conclusion": "按计划推进", "public_summary": "进展顺利",
        "scores": {"needs": 80, "performance": 70, "feedback": 90, "supervision": 75}})
    assert evaluated["status"] == "applied", evaluated


def _day(offset: int) -> str:
    """A calendar day in Asia/Shanghai, where the rounds' dates are."""
    shanghai = dt.timezone(dt.timedelta(hours=8))
    return (dt.datetime.now(shanghai).date() + dt.timedelta(days=offset)).isoformat()


async def _a_round_that_voted(api: Api, dm: Device, staff: Device, fund_id: str) -> None:
    """A micro-venture round through review into a vote: a ballot on a phone, one at a
    booth, a paper tally and the published results (docs/programme.md, "Voting and results")."""
    member = Device(api, await api.token("li-r", "volunteer", station=STATION))
    reviewer = Device(api, await api.token("zhao-r", "volunteer", station=STATION))
    round_id, group_id, need_id, proposal_id, review_id = (new_id() for _ in range(5))
    dated = {"needs": {"starts": _day(-30), "ends": _day(-1)},
             "proposals": {"starts": _day(0), "ends": _day(10)},
             "review": {"starts": _day(11), "ends": _day(20)},
             "voting": {"starts": _day(21), "ends": _day(30)}}
    voting = {"needs": {"starts": _day(-60), "ends": _day(-51)},
              "proposals": {"starts": _day(-50), "ends": _day(-41)},
              "review": {"starts": _day(-40), "ends": _day(-31)},
              "voting": {"starts": _day(-1), "ends": _day(5)}}
    steps: list[tuple[Device, str, dict[str, object]]] = [
        (dm, "round.create", {"id": round_id, "fund_id": fund_id, "station": STATION,
                              "title": "微创投", "year": 2026, "budget_fen": 100_000_00,
                              "min_project_fen": 1_000_00, "max_project_fen": 50_000_00,
                              "phases": dated}),
        (staff, "need.submit", {"id": need_id, "round_id": round_id, "category": "elderly",
                                "community": "棠下社区", "description": "浴室太滑"}),
        (staff, "group.register", {"id": group_id, "name": "互助会", "station": STATION,
                                   "members": ["li-r"]}),
        (dm, "round.advance", {"id": round_id, "to": "proposals"}),
        (member, "proposal.submit", {
            "id": proposal_id, "round_id": round_id, "group_id": group_id, "title": "防跌倒",
            "need_ids": [need_id], "beneficiaries": "长者", "beneficiary_count": 5,
            "activities": "加装扶手", "budget_lines": [{"item": "扶手", "quantity": 10,
                                                    "unit_cost_fen": 300_00}],
            "indicators": [], "team": "志愿者", "timeline": []}),
        (dm, "round.advance", {"id": round_id, "to": "review"}),
        (dm, "review.assign", {"id": review_id, "proposal_id": proposal_id,
                               "reviewer": "zhao-r"}),
        (reviewer, "review.submit", {"id": review_id, "scores": {
            "need_fit": 8, "feasibility": 7, "budget": 6, "capacity": 9, "sustainability": 5},
            "feasible": True, "reason": "可行", "adjusted_price_fen": 3_000_00}),
        (dm, "proposal.conclude", {"id": proposal_id, "feasible": True, "reason": "可行",
                                   "adjusted_price_fen": 3_000_00}),
        (dm, "round.update", {"id": round_id, "fields": {"phases": voting}}),
        (dm, "round.advance", {"id": round_id, "to": "voting"}),
        (member, "ballot.cast", {"id": new_id(), "round_id": round_id,
                                 "proposal_ids": [proposal_id]}),
        (staff, "ballot.booth", {"id": new_id(), "round_id": round_id,
                                 "proposal_ids": [proposal_id], "voter_name": "陈美玲",
                                 "voter_phone": "13912345678", "booth": "居委会",
                                 "ballot_book_no": "A-1", "cast_at": iso(utc_now())}),
        (staff, "ballot.tally", {"id": new_id(), "round_id": round_id, "booth": "居委会",
                                 "ballots": 2, "votes": {proposal_id: 2}}),
        (dm, "round.publish_results", {"round_id": round_id, "early": True}),
    ]
    for device, name, args in steps:
        result = await device.send(name, dict(args))
        assert result["status"] == "applied", (name, result)


async def test_every_record_type_decodes_with_its_struct(api: Api) -> None:
    await _every_kind_of_record(api)
    registry = api.state.registry
    problems: list[str] = []
    seen: set[str] = set()
    async with api.state.db.read() as conn:
        for name, rtype in registry.record_types.items():
            if rtype.shape is None:
                problems.append(f"{name}: names no Struct")
                continue
            rows = (await conn.execute(select(rtype.table))).mappings().all()
            seen.add(name)
            if not rows:
                problems.append(f"{name}: the scenario wrote none")
            for row in rows:
                data = rtype.to_wire(dict(row))
                fields = set(rtype.shape.__struct_fields__)
                if set(data) != fields:
                    problems.append(f"{name}: wire has {sorted(set(data) - fields)} more, "
                                    f"{sorted(fields - set(data))} fewer than {rtype.shape.__name__}")
                    break
                try:
                    msgspec.json.decode(msgspec.json.encode(data), type=rtype.shape)
                except msgspec.ValidationError as exc:
                    problems.append(f"{name}: {exc}")
                    break
    assert problems == []
    assert {"membership", "district", "station", "donation", "notification"} <= seen


async def test_published_schema_lists_every_record_type(api: Api) -> None:
    schema = (await api.http.get("/api/v1/sync/schema")).json()
    registry = api.state.registry
    assert set(schema["records"]) == set(registry.record_types)
    for name, rtype in registry.record_types.items():
        assert rtype.shape is not None
        assert schema["records"][name] == {"$ref": f"#/$defs/{rtype.shape.__name__}"}
    assert {"NotificationRecord", "TimebankAccountRecord", "DonationRecord"} <= set(schema["$defs"])
