"""The role matrix: what each role may see on pull and do on push, as one readable table.

Stations and events, donations and funds, volunteers and the Time Bank, notifications.
"Own station" is TH-001 in 天河区 (the district manager's district is 天河区; the admin has
no station and acts everywhere). Y = allowed (seen / applied), N = not seen / rejected
with code ``forbidden`` (or the code ``REFUSED_AS`` names). Each role's user is also a
registered volunteer, so the Time Bank rows ask what the role adds to being a volunteer.
README.md's "Devices and roles" table mirrors this one (checked below); change both together.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from server.auth import issue_token
from server.domain.people import memberships
from server.notify.outbox import expand_outbox
from server.notify.tables import notifications
from sync.scopes import ADMIN, OWNER_ONLY, Grant, Scope
from sync.tables import device_tokens
from sync.timeutil import utc_now
from tests.conftest import Api
from tests.devices import fresh_snapshot
from tests.helpers import (
    campaign_args,
    event_args,
    file_ref,
    mutation,
    new_id,
    online_platform,
    photo_bytes,
    statement_csv,
    station_args,
)

pytestmark = pytest.mark.anyio

Y, N = True, False
ROLES = ("volunteer", "staff", "manager", "district_manager", "admin")

MATRIX: list[tuple[str, bool, bool, bool, bool, bool]] = [
    # action                                                  volunteer staff manager district_manager admin
    # -- stations, events, conflicts
    ("pull: stations (public)",                                   Y,     Y,     Y,       Y,            Y),
    ("pull: events of own station",                               Y,     Y,     Y,       Y,            Y),
    ("pull: contact_phone of own station's events",               N,     Y,     Y,       Y,            Y),
    ("pull: events of another station in the district",           N,     N,     N,       Y,            Y),
    ("pull: events of another district",                          N,     N,     N,       N,            Y),
    ("pull: conflicts of own station",                            N,     N,     Y,       Y,            Y),
    ("push: event.create at own station",                         N,     Y,     Y,       Y,            Y),
    ("push: event.update at own station",                         N,     Y,     Y,       Y,            Y),
    ("push: event.create at another station in the district",     N,     N,     N,       Y,            Y),
    ("push: event.create in another district",                    N,     N,     N,       N,            Y),
    ("push: event.delete at own station",                         N,     N,     Y,       Y,            Y),
    ("push: attachment.add to an event of own station",           N,     Y,     Y,       Y,            Y),
    ("push: attachment.add to an event of another district",      N,     N,     N,       N,            Y),
    ("push: station.create in own district",                      N,     N,     N,       Y,            Y),
    ("push: station.create in another district",                  N,     N,     N,       N,            Y),
    ("push: conflict.resolve at own station",                     N,     N,     Y,       Y,            Y),
    # -- donations, receipts, corrections, funds, goods (docs/donations.md)
    ("pull: funds and projects (public)",                         Y,     Y,     Y,       Y,            Y),
    ("pull: donations of own station",                            N,     Y,     Y,       Y,            Y),
    ("pull: donor phone of own station's donations",              N,     Y,     Y,       Y,            Y),
    ("pull: receipts and corrections of own station",             N,     Y,     Y,       Y,            Y),
    ("pull: donations of another station in the district",        N,     N,     N,       Y,            Y),
    ("pull: goods stock of own station",                          N,     Y,     Y,       Y,            Y),
    ("pull: disbursements of own station's fund",                 N,     Y,     Y,       Y,            Y),
    ("pull: ledger entries of own station's fund",                N,     N,     Y,       Y,            Y),
    ("push: donation.record at own station",                      N,     Y,     Y,       Y,            Y),
    ("push: donation.record at another station in the district",  N,     N,     N,       Y,            Y),
    ("push: donation.correct at own station (below the line)",    N,     Y,     Y,       Y,            Y),
    ("push: correction.decide of another's request",              N,     N,     Y,       Y,            Y),
    ("push: correction.decide of one's own request",              N,     N,     N,       N,            N),
    ("push: receipt.attach_official at own station",              N,     N,     Y,       Y,            Y),
    ("push: goods.hand_out at own station",                       N,     Y,     Y,       Y,            Y),
    ("push: fund.create for own district",                        N,     N,     N,       Y,            Y),
    ("push: campaign.create for own district",                    N,     N,     N,       Y,            Y),
    ("push: matching_rule.create for own district's campaign",    N,     N,     N,       Y,            Y),
    ("push: disbursement.request from own station's fund",        N,     Y,     Y,       Y,            Y),
    ("push: disbursement.decide of another's request",            N,     N,     N,       Y,            Y),
    ("push: disbursement.pay (neither requester nor approver)",   N,     N,     N,       Y,            Y),
    # -- service projects (docs/projects.md)
    ("pull: feedback and visits of own station's service projects", N,     Y,     Y,       Y,            Y),
    ("push: service_project.create at own station",                N,     Y,     Y,       Y,            Y),
    ("push: grant.create for own station's service project",       N,     N,     N,       Y,            Y),
    ("push: feedback.record on own station's service project",     N,     Y,     Y,       Y,            Y),
    ("push: evaluation.submit of own station's service project",   N,     N,     N,       Y,            Y),
    # -- volunteers, hours, Time Bank (docs/timebank.md); every role's user is also a volunteer
    ("pull: service activities and catalogue of own station",     Y,     Y,     Y,       Y,            Y),
    ("pull: own volunteer profile and Time Bank account",         Y,     Y,     Y,       Y,            Y),
    ("pull: another volunteer's profile (home: own station)",     N,     Y,     Y,       Y,            Y),
    ("pull: another volunteer's hour logs at own station",        N,     Y,     Y,       Y,            Y),
    ("pull: another volunteer's Time Bank account",               N,     Y,     Y,       Y,            Y),
    ("pull: a volunteer at home in another station of the district", N,     N,     N,       Y,            Y),
    ("pull: volunteer roles (sign-ups) at own station",            N,     Y,     Y,       Y,            Y),
    ("pull: staff roles at own station",                           N,     N,     Y,       Y,            Y),
    ("push: volunteer.update of another volunteer (home: own station)", N,     Y,     Y,       Y,            Y),
    ("push: activity.create at own station",                      N,     Y,     Y,       Y,            Y),
    ("push: hours.check_in for oneself",                          Y,     Y,     Y,       Y,            Y),
    ("push: hours.check_in for another volunteer (QR scan)",      N,     Y,     Y,       Y,            Y),
    ("push: hours.approve of another volunteer's log",            N,     Y,     Y,       Y,            Y),
    ("push: hours.approve of one's own log",                      N,     N,     N,       N,            N),
    ("push: timebank.set_rate at own station",                    N,     N,     Y,       Y,            Y),
    ("push: timebank.transfer of own credits",                    Y,     Y,     Y,       Y,            Y),
    ("push: redemption.request for oneself",                      Y,     Y,     Y,       Y,            Y),
    ("push: redemption.approve at own station",                   N,     Y,     Y,       Y,            Y),
    # -- notifications (docs/notifications.md)
    ("pull: another user's notifications and preferences",        N,     N,     N,       N,            N),
    ("push: notification_prefs.set (own)",                        Y,     Y,     Y,       Y,            Y),
    ("push: notification.mark_read of another's notification",    N,     N,     N,       N,            N),
    ("push: alert.set_donation_threshold at own station",         N,     N,     Y,       Y,            Y),
    ("push: alert.set_fund_low_water of own station's fund",      N,     N,     Y,       Y,            Y),
    # -- the micro-venture round (docs/programme.md)
    ("pull: micro-venture rounds (public)",                       Y,     Y,     Y,       Y,            Y),
    ("pull: needs of own station's round (residents' words)",     N,     Y,     Y,       Y,            Y),
    ("pull: proposals of own station's round",                    Y,     Y,     Y,       Y,            Y),
    ("pull: members of own station's community groups",           N,     Y,     Y,       Y,            Y),
    ("pull: another reviewer's review of own station's round",    N,     N,     N,       Y,            Y),
    ("push: need.submit to own station's round (needs phase)",    Y,     Y,     Y,       Y,            Y),
    ("push: need.publish at own station",                         N,     Y,     Y,       Y,            Y),
    ("push: round.advance of own station's round",                N,     N,     N,       Y,            Y),
    ("push: group.register at own station",                       N,     Y,     Y,       Y,            Y),
    ("push: proposal.edit of a group one is not in",              N,     N,     N,       N,            N),
    ("push: review.assign for own station's round",               N,     N,     N,       Y,            Y),
    ("push: round.create for own station's fund",                 N,     N,     N,       Y,            Y),
    ("pull: ballots of own station's round",                      N,     N,     Y,       Y,            Y),
    ("push: ballot.cast in own station's round (voting)",         Y,     Y,     Y,       Y,            Y),
    ("push: ballot.booth in own station's round",                 N,     Y,     Y,       Y,            Y),
    ("push: ballot.tally in own station's round",                 N,     Y,     Y,       Y,            Y),
    ("push: round.publish_results of own station's round",        N,     N,     N,       Y,            Y),
    # -- people, devices, enrolment (docs/accounts.md)
    ("push: person.create with a volunteer membership at own station", N,  N,     Y,       Y,            Y),
    ("push: membership.add of staff at own station",              N,     N,     Y,       Y,            Y),
    ("push: membership.add of a manager at own station",          N,     N,     Y,       Y,            Y),
    ("push: membership.add of a district manager in own district", N,    N,     N,       Y,            Y),
    ("push: membership.end of a staff member at own station",     N,     N,     Y,       Y,            Y),
    ("push: district.create",                                     N,     N,     N,       N,            Y),
    ("http: enrolment code for a volunteer of own station",       N,     Y,     Y,       Y,            Y),
    ("http: list the devices of own station",                     N,     N,     Y,       Y,            Y),
    ("http: revoke a volunteer's phone at own station",           N,     N,     Y,       Y,            Y),
    ("http: set up a fundraising platform (online gifts)",        N,     N,     N,       N,            Y),
    ("http: set own district fund's page on the platform",        N,     N,     N,       Y,            Y),
    ("http: import an online-gift statement (preview)",           N,     N,     N,       Y,            Y),
    ("http: reconcile online gifts against the ledger",           N,     N,     N,       Y,            Y),
    ("http: the dashboard of own station (and its rows)",         N,     N,     Y,       Y,            Y),
    ("http: the dashboard of own district",                       N,     N,     N,       Y,            Y),
    ("http: the dashboard of another district",                   N,     N,     N,       N,            Y),
]

REFUSED_AS: dict[str, str] = {
    "push: notification.mark_read of another's notification": "not_found",
}
"""Refusals that answer ``not_found`` instead of ``forbidden``: another user's inbox is
not even admitted to exist."""

OWN, NEAR, FAR = "TH-001", "TH-002", "YX-001"
TIANHE, YUEXIU = "天河区", "越秀区"
PHONE = "+86 138 0000 0001"
DONOR_PHONE = "13800138000"
RECEIPT = f"{OWN}-S001-00001"  # the first number of the station's first series
OTHER_MANAGER = "other-manager"


def _stamp(offset_ms: int, node: str) -> str:
    return f"{int(time.time() * 1000) + offset_ms:016d}:0000:{node}"


def _at(hours_ago: float) -> str:
    moment = dt.datetime.now(dt.UTC) - dt.timedelta(hours=hours_ago)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class _Device:
    def __init__(self, api: Api, token: str) -> None:
        self.api, self.token, self.client_id, self.next_id = api, token, new_id(), 1

    async def push(self, *items: tuple[str, dict[str, Any], str | None]) -> list[dict[str, Any]]:
        batch = []
        for name, args, stamp in items:
            batch.append(mutation(self.next_id, name, args, stamp=stamp))
            self.next_id += 1
        response = await self.api.push(self.token, self.client_id, batch)
        assert response.status_code == 200, response.text
        return list(response.json()["results"])

    async def ok(self, *items: tuple[str, dict[str, Any]]) -> None:
        """Setup steps: each must apply."""
        results = await self.push(*[(name, args, None) for name, args in items])
        for (name, _), result in zip(items, results, strict=True):
            assert result["status"] == "applied", (name, result)


async def _device(api: Api, user: str, role: str, station: str | None = None,
                  district: str | None = None) -> _Device:
    return _Device(api, await api.token(user, role, station=station, district=district))


def _money(donation_id: str, amount_fen: int, station: str = OWN, **extra: Any) -> dict[str, Any]:
    return {"id": donation_id, "station": station, "kind": "money", "amount_fen": amount_fen,
            "method": "cash", "direction": "undirected",
            "donor": {"name": "张三", "phone": DONOR_PHONE, "wants_receipt": "receipt" in extra},
            **extra}


def _goods(donation_id: str, station: str) -> dict[str, Any]:
    return {"id": donation_id, "station": station, "kind": "goods", "direction": "undirected",
            "items": [{"name": "大米", "quantity": 10, "unit": "袋", "estimated_value_fen": 5_000}],
            "donor": {"anonymous": True, "wants_receipt": False}}


def _manual(log_id: str, activity_id: str, volunteer: str, start_ago: float, end_ago: float
            ) -> dict[str, Any]:
    return {"id": log_id, "activity_id": activity_id, "volunteer_id": volunteer,
            "check_in_at": _at(start_ago), "check_out_at": _at(end_ago)}


async def _world(api: Api, user: str) -> dict[str, str]:
    """Three stations in two districts, an event at each, one more to delete, and an open
    conflict at the own station; a community fund of the own station with money, donations,
    a receipt, pending corrections and disbursements; volunteers (``user``, the role's own
    user, among them) with hours and credits; a notification and preferences of another
    manager. Returns the ids."""
    admin = _Device(api, await api.token("admin", "admin"))
    ids = {"own": new_id(), "near": new_id(), "far": new_id(), "doomed": new_id()}
    results = await admin.push(
        ("station.create", station_args(OWN, TIANHE, "天河一站"), None),
        ("station.create", station_args(NEAR, TIANHE, "天河二站"), None),
        ("station.create", station_args(FAR, YUEXIU, "越秀一站"), None),
        ("event.create", event_args(ids["own"], OWN, contact_phone=PHONE), None),
        ("event.create", event_args(ids["near"], NEAR), None),
        ("event.create", event_args(ids["far"], FAR), None),
        ("event.create", event_args(ids["doomed"], OWN), None),
    )
    assert [r["status"] for r in results] == ["applied"] * 7
    # Two edits of the date with the same stale base: the second is concurrent -> a conflict.
    snapshot = await fresh_snapshot(api, admin.token)
    base = snapshot[("event", ids["own"])]["field_hlc"]["date"]
    results = await admin.push(
        ("event.update", {"id": ids["own"], "fields": {"date": "2026-10-01"}, "base": {"date": base}},
         _stamp(1_000, "phone-x")),
        ("event.update", {"id": ids["own"], "fields": {"date": "2026-10-02"}, "base": {"date": base}},
         _stamp(2_000, "phone-y")),
    )
    assert [r["status"] for r in results] == ["applied", "flagged"]
    snapshot = await fresh_snapshot(api, admin.token)
    (conflict_id,) = [rid for (t, rid) in snapshot if t == "conflict"]
    ids["conflict"] = conflict_id

    await _money_world(api, admin, user, ids)
    await _timebank_world(api, admin, user, ids)
    await _notification_world(api, ids)
    await _round_world(api, ids)
    return ids


async def _money_world(api: Api, admin: _Device, user: str, ids: dict[str, str]) -> None:
    for name in ("fund", "campaign", "project", "donation", "small", "mine", "goods", "near_gift",
                 "correction", "my_correction", "requested", "approved"):
        ids[name] = new_id()
    federation_a = await _device(api, "federation-a", "district_manager", district=TIANHE)
    federation_b = await _device(api, "federation-b", "district_manager", district=TIANHE)
    recorder = await _device(api, "recorder", "staff", station=OWN)
    async with api.state.db.read() as conn:
        ids["recorder_membership"] = (await conn.execute(select(memberships.c.id).where(
            memberships.c.user_id == "recorder"))).scalar_one()
    await federation_a.ok(
        ("fund.create", {"id": ids["fund"], "name": "天河一站社区基金", "district": TIANHE,
                         "station": OWN, "purpose": "社区服务"}),
        ("fund.seed", {"id": new_id(), "fund_id": ids["fund"], "amount_fen": 1_000_000,
                       "note": "种子资金"}),
        ("project.create", {"id": ids["project"], "fund_id": ids["fund"], "name": "耆乐安居"}),
        ("campaign.create", campaign_args(ids["campaign"], [ids["fund"]], district=TIANHE)),
    )
    await recorder.ok(
        ("receipt_series.claim", {"id": new_id(), "station": OWN}),
        ("donation.record", _money(ids["donation"], 600_000, receipt={"number": RECEIPT,
                                                                      "code": "K7MX2QPA"})),
        ("donation.record", _money(ids["small"], 10_000)),
        ("donation.record", _money(ids["mine"], 200_000)),
        ("donation.record", _goods(ids["goods"], OWN)),
        # Above the approval line (50,000 fen by default): pending until a second person decides.
        ("donation.correct", {"id": ids["correction"], "donation_id": ids["donation"],
                              "action": "correct", "reason": "录入错误", "new_amount_fen": 60_000}),
    )
    await admin.ok(("donation.record", _goods(ids["near_gift"], NEAR)))
    # The role's own user asks for a correction (as a manager of the station, on another phone).
    requester = await _device(api, user, "manager", station=OWN)
    await requester.ok(("donation.correct", {"id": ids["my_correction"], "donation_id": ids["mine"],
                                             "action": "void", "reason": "重复录入"}))
    # Memberships are the person's, not the phone's: end this one so the role's own token
    # below holds only the role under test.
    async with api.state.db.read() as conn:
        (held,) = (await conn.execute(select(memberships.c.id).where(
            memberships.c.user_id == user, memberships.c.role == "manager",
            memberships.c.ended_at.is_(None)))).scalars().all()
    await admin.ok(("membership.end", {"id": held}))
    disbursement = {"fund_id": ids["fund"], "project_id": ids["project"], "amount_fen": 10_000,
                    "payee": "某养老院", "purpose": "助老"}
    await federation_a.ok(
        ("disbursement.request", {"id": ids["requested"], **disbursement}),
        ("disbursement.request", {"id": ids["approved"], **disbursement}),
    )
    await federation_b.ok(("disbursement.decide", {"id": ids["approved"], "decision": "approve",
                                                   "note": ""}))
    ids["service_project"] = new_id()
    await federation_a.ok(("service_project.create", {
        "id": ids["service_project"], "fund_id": ids["fund"], "station": OWN,
        "category": "elderly", "name": "耆乐安居(试点)"}))
    await recorder.ok(("feedback.record", {"id": new_id(), "project_id": ids["service_project"],
                                           "score": 4, "comment": "满意"}))


async def _timebank_world(api: Api, admin: _Device, user: str, ids: dict[str, str]) -> None:
    for name in ("activity", "item", "their_log", "their_done", "my_done", "my_pending",
                 "redemption"):
        ids[name] = new_id()
    await admin.ok(
        ("volunteer.register", {"user_id": user, "name": "本人", "stations": [OWN]}),
        ("volunteer.register", {"user_id": "vol-a", "name": "志愿者甲", "stations": [OWN],
                                "phone": "13900000001"}),
        ("volunteer.register", {"user_id": "vol-b", "name": "志愿者乙", "stations": [NEAR]}),
        ("activity.create", {"id": ids["activity"], "station": OWN, "title": "探访长者",
                             "service_type": "elder_care", "date": "2026-11-25"}),
        ("catalogue.add", {"id": ids["item"], "station": OWN, "title": "理发服务",
                           "kind": "service", "cost_cents": 100}),
        ("hours.manual", _manual(ids["their_log"], ids["activity"], "vol-a", 6, 5)),
        ("hours.manual", _manual(ids["their_done"], ids["activity"], "vol-a", 10, 8)),
        ("hours.manual", _manual(ids["my_done"], ids["activity"], user, 10, 8)),
        ("hours.manual", _manual(ids["my_pending"], ids["activity"], user, 4, 3)),
    )
    # A second person approves what the admin recorded (docs/security.md).
    await _Device(api, await api.token("admin-2", "admin")).ok(
        ("hours.approve", {"id": ids["their_done"]}),
        ("hours.approve", {"id": ids["my_done"]}),  # two hours: 200 credit cents
    )
    volunteer = await _device(api, "vol-a", "volunteer", station=OWN)
    await volunteer.ok(("redemption.request", {"id": ids["redemption"], "item_id": ids["item"]}))


async def _notification_world(api: Api, ids: dict[str, str]) -> None:
    """Another manager of the station: the large donation above reaches their inbox through
    the real outbox, and they set their preferences."""
    other = await _device(api, OTHER_MANAGER, "manager", station=OWN)
    await other.ok(("notification_prefs.set", {"fields": {"push_enabled": False}}))
    await expand_outbox(api.state, utc_now())
    async with api.state.db.read() as conn:
        ids["notification"] = (await conn.execute(
            select(notifications.c.id).where(notifications.c.user_id == OTHER_MANAGER).limit(1)
        )).scalar_one()


def _round_phases() -> dict[str, dict[str, str]]:
    today = dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).date()

    def day(n: int) -> str:
        return (today + dt.timedelta(days=n)).isoformat()

    return {"needs": {"starts": day(-9), "ends": day(-1)},
            "proposals": {"starts": day(0), "ends": day(9)},
            "review": {"starts": day(10), "ends": day(19)},
            "voting": {"starts": day(20), "ends": day(29)}}


def _round(round_id: str, fund_id: str) -> dict[str, Any]:
    return {"id": round_id, "fund_id": fund_id, "station": OWN, "title": "天河一站微创投",
            "year": 2026, "budget_fen": 100_000, "min_project_fen": 1_000,
            "max_project_fen": 50_000, "phases": _round_phases()}


async def _round_world(api: Api, ids: dict[str, str]) -> None:
    """Two rounds of the own station's fund: one collecting needs (with a need), one taking
    proposals, where vol-a's group has a proposal and reviewer-b was asked to review it."""
    for name in ("round_needs", "round_open", "need", "group", "proposal", "review"):
        ids[name] = new_id()
    federation = await _device(api, "federation-a", "district_manager", district=TIANHE)
    recorder = await _device(api, "recorder", "staff", station=OWN)
    await federation.ok(("round.create", _round(ids["round_needs"], ids["fund"])),
                        ("round.create", _round(ids["round_open"], ids["fund"])))
    await recorder.ok(
        ("need.submit", {"id": ids["need"], "round_id": ids["round_needs"], "category": "elderly",
                         "community": "棠下社区", "description": "楼道没有扶手", "raised_via": "booth"}),
        ("group.register", {"id": ids["group"], "name": "邻里互助会", "station": OWN,
                            "members": ["vol-a"]}))
    await federation.ok(("round.advance", {"id": ids["round_open"], "to": "proposals"}))
    member = await _device(api, "vol-a", "volunteer", station=OWN)
    await member.ok(("proposal.submit", {
        "id": ids["proposal"], "round_id": ids["round_open"], "group_id": ids["group"],
        "title": "楼道扶手", "need_ids": [], "beneficiaries": "长者", "beneficiary_count": 20,
        "activities": "安装扶手", "budget_lines": [{"item": "扶手", "quantity": 10,
                                                   "unit_cost_fen": 2_000}]}))
    await api.token("reviewer-b", "volunteer", station=NEAR)  # a person with an account
    await federation.ok(("round.advance", {"id": ids["round_open"], "to": "review"}))
    await federation.ok(("review.assign", {"id": ids["review"], "proposal_id": ids["proposal"],
                                           "reviewer": "reviewer-b"}))
    await _voting_round(api, ids, federation, recorder, member)


async def _voting_round(api: Api, ids: dict[str, str], federation: _Device, recorder: _Device,
                        member: _Device) -> None:
    """A third round of the own station's fund, voting (docs/programme.md, "Voting and
    results"), with a feasible proposal and a ballot the recorder took at a booth."""
    for name in ("round_vote", "vote_proposal", "vote_review"):
        ids[name] = new_id()
    await federation.ok(("round.create", _round(ids["round_vote"], ids["fund"])),
                        ("round.advance", {"id": ids["round_vote"], "to": "proposals"}))
    await member.ok(("proposal.submit", {
        "id": ids["vote_proposal"], "round_id": ids["round_vote"], "group_id": ids["group"],
        "title": "长者饭堂", "need_ids": [], "beneficiaries": "长者", "beneficiary_count": 20,
        "activities": "送餐", "budget_lines": [{"item": "餐费", "quantity": 10,
                                               "unit_cost_fen": 2_000}]}))
    await federation.ok(("round.advance", {"id": ids["round_vote"], "to": "review"}),
                        ("review.assign", {"id": ids["vote_review"],
                                           "proposal_id": ids["vote_proposal"],
                                           "reviewer": "reviewer-b"}))
    reviewer = await _device(api, "reviewer-b", "volunteer", station=NEAR)
    await reviewer.ok(("review.submit", {
        "id": ids["vote_review"], "scores": {"need_fit": 8, "feasibility": 7, "budget": 6,
                                             "capacity": 9, "sustainability": 5},
        "feasible": True, "reason": "可行", "adjusted_price_fen": 20_000}))
    today = dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).date()

    def day(n: int) -> str:
        return (today + dt.timedelta(days=n)).isoformat()

    voting = {"needs": {"starts": day(-40), "ends": day(-31)},
              "proposals": {"starts": day(-30), "ends": day(-21)},
              "review": {"starts": day(-20), "ends": day(-11)},
              "voting": {"starts": day(-1), "ends": day(10)}}
    await federation.ok(
        ("proposal.conclude", {"id": ids["vote_proposal"], "feasible": True, "reason": "可行",
                               "adjusted_price_fen": 20_000}),
        ("round.update", {"id": ids["round_vote"], "fields": {"phases": voting}}),
        ("round.advance", {"id": ids["round_vote"], "to": "voting"}))
    ids["ballot"] = new_id()
    await recorder.ok(("ballot.booth", {
        "id": ids["ballot"], "round_id": ids["round_vote"], "proposal_ids": [ids["vote_proposal"]],
        "voter_name": "陈美玲", "voter_phone": "13912345678", "booth": "居委会",
        "ballot_book_no": "A-1", "cast_at": dt.datetime.now(dt.UTC).isoformat()}))


def _allowed(label: str, result: dict[str, Any]) -> bool:
    if result["status"] == "applied":
        return True
    code = REFUSED_AS.get(label, "forbidden")
    assert (result["status"], result.get("code")) == ("rejected", code), (label, result)
    return False


async def _http_actions(api: Api, token: str, ids: dict[str, str]) -> dict[str, bool]:
    """The console's routes: allowed is a 2xx, refused a 403 ``forbidden``."""
    _, volunteer_phone = await issue_token(api.state.db, user="vol-a", role="volunteer",
                                           station=OWN, district=None)
    del volunteer_phone
    async with api.state.db.read() as conn:
        phone_id = (await conn.execute(select(device_tokens.c.id).where(
            device_tokens.c.user_id == "vol-a", device_tokens.c.revoked_at.is_(None))
            .order_by(device_tokens.c.created_at.desc()))).scalars().first()
    headers = api.auth(token)
    await online_platform(api.state.db, "gylm")
    answers = {
        "http: enrolment code for a volunteer of own station": await api.http.post(
            "/api/v1/enrol/codes", json={"user_id": "vol-a"}, headers=headers),
        "http: list the devices of own station": await api.http.get(
            "/api/v1/devices", params={"station": OWN}, headers=headers),
        "http: revoke a volunteer's phone at own station": await api.http.post(
            f"/api/v1/devices/{phone_id}/revoke", json={"mode": "sign_out"}, headers=headers),
        "http: set up a fundraising platform (online gifts)": await api.http.post(
            "/api/v1/admin/online/platforms", json={"id": "other-platform", "name": "另一平台"},
            headers=headers),
        "http: set own district fund's page on the platform": await api.http.post(
            "/api/v1/admin/online/links", json={
                "target_kind": "fund", "target_id": ids["fund"], "platform": "gylm",
                "url": "https://www.gylm.example.cn/p/1", "label": "天河一站社区基金"},
            headers=headers),
        "http: import an online-gift statement (preview)": await api.http.post(
            "/api/v1/admin/online/statements", params={"platform": "gylm", "filename": "a.csv"},
            content=statement_csv([("M-1", "2026-11-20 10:00:00", "10.00", "甲", "天河一站社区基金",
                                    "微信")]), headers=headers),
        "http: reconcile online gifts against the ledger": await api.http.get(
            "/api/v1/admin/online/reconcile",
            params={"platform": "gylm", "start": "2026-11-01", "end": "2026-11-30"},
            headers=headers),
        "http: the dashboard of own station (and its rows)": await api.http.get(
            "/api/v1/dashboard/rows", params={"station": OWN, "figure": "money_by_month"},
            headers=headers),
        "http: the dashboard of own district": await api.http.get(
            "/api/v1/dashboard", params={"district": TIANHE}, headers=headers),
        "http: the dashboard of another district": await api.http.get(
            "/api/v1/dashboard", params={"district": YUEXIU}, headers=headers),
    }
    observed = {}
    for label, response in answers.items():
        if response.status_code >= 300:
            assert (response.status_code, response.json()["code"]) == (403, "forbidden"), label
        observed[label] = response.status_code < 300
    return observed


def _user_for(role: str) -> str:
    return {"admin": "someone-admin", "district_manager": "someone-dm"}.get(role, f"someone-{role}")


async def _token_for(api: Api, role: str) -> str:
    if role == "admin":
        return await api.token(_user_for(role), "admin")
    if role == "district_manager":
        return await api.token(_user_for(role), "district_manager", district=TIANHE)
    return await api.token(_user_for(role), role, station=OWN)


def _pulled(seen: dict[tuple[str, str], dict[str, Any]], ids: dict[str, str], user: str
            ) -> dict[str, bool]:
    def has(kind: str, key: str) -> bool:
        return (kind, key) in seen

    def any_of(kind: str) -> bool:
        return any(t == kind for t, _ in seen)

    return {
        "pull: stations (public)": {("station", c) for c in (OWN, NEAR, FAR)} <= set(seen),
        "pull: events of own station": has("event", ids["own"]),
        "pull: contact_phone of own station's events":
            seen.get(("event", ids["own"]), {}).get("contact_phone") == PHONE,
        "pull: events of another station in the district": has("event", ids["near"]),
        "pull: events of another district": has("event", ids["far"]),
        "pull: conflicts of own station": has("conflict", ids["conflict"]),
        "pull: funds and projects (public)": has("fund", ids["fund"]) and has("project", ids["project"]),
        "pull: donations of own station": has("donation", ids["donation"]),
        "pull: donor phone of own station's donations":
            seen.get(("donation", ids["donation"]), {}).get("donor_phone") == DONOR_PHONE,
        "pull: receipts and corrections of own station":
            has("receipt", RECEIPT) and has("donation_correction", ids["correction"]),
        "pull: donations of another station in the district": has("donation", ids["near_gift"]),
        "pull: goods stock of own station": any_of("goods_stock"),
        "pull: disbursements of own station's fund": has("disbursement", ids["requested"]),
        "pull: ledger entries of own station's fund": any_of("ledger_entry"),
        "pull: service activities and catalogue of own station":
            has("service_activity", ids["activity"]) and has("redemption_item", ids["item"]),
        "pull: own volunteer profile and Time Bank account":
            has("volunteer", user) and has("timebank_account", f"vol:{user}"),
        "pull: another volunteer's profile (home: own station)": has("volunteer", "vol-a"),
        "pull: another volunteer's hour logs at own station": has("hour_log", ids["their_log"]),
        "pull: another volunteer's Time Bank account": has("timebank_account", "vol:vol-a"),
        "pull: a volunteer at home in another station of the district": has("volunteer", "vol-b"),
        "pull: volunteer roles (sign-ups) at own station": any(
            t == "membership" and d["user_id"] == "vol-a" and d["role"] == "volunteer"
            for (t, _), d in seen.items()),
        "pull: staff roles at own station": any(
            t == "membership" and d["user_id"] == "recorder" and d["role"] == "staff"
            for (t, _), d in seen.items()),
        "pull: feedback and visits of own station's service projects":
            any_of("project_feedback"),
        "pull: another user's notifications and preferences":
            has("notification", ids["notification"]) or has("notification_prefs", OTHER_MANAGER),
        "pull: micro-venture rounds (public)": has("round", ids["round_needs"]),
        "pull: needs of own station's round (residents' words)":
            seen.get(("need", ids["need"]), {}).get("description") == "楼道没有扶手",
        "pull: proposals of own station's round": has("proposal", ids["proposal"])
            and has("proposal_version", f"{ids['proposal']}:1"),
        "pull: members of own station's community groups":
            seen.get(("community_group", ids["group"]), {}).get("members") == ["vol-a"],
        "pull: another reviewer's review of own station's round": has("review", ids["review"]),
        "pull: ballots of own station's round": has("ballot", ids["ballot"]),
    }


def _actions(ids: dict[str, str]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        ("push: event.create at own station", "event.create", event_args(new_id(), OWN)),
        ("push: event.update at own station", "event.update", {"id": ids["own"], "fields": {"title": "改名"}}),
        ("push: event.create at another station in the district", "event.create", event_args(new_id(), NEAR)),
        ("push: event.create in another district", "event.create", event_args(new_id(), FAR)),
        ("push: event.delete at own station", "event.delete", {"id": ids["doomed"]}),
        ("push: attachment.add to an event of own station", "attachment.add", {
            "record_type": "event", "record_id": ids["own"], "attachments": [file_ref(photo_bytes(1))]}),
        ("push: attachment.add to an event of another district", "attachment.add", {
            "record_type": "event", "record_id": ids["far"], "attachments": [file_ref(photo_bytes(2))]}),
        ("push: station.create in own district", "station.create", station_args("TH-099", TIANHE, "新站")),
        ("push: station.create in another district", "station.create", station_args("YX-099", YUEXIU, "新站")),
        ("push: conflict.resolve at own station", "conflict.resolve",
         {"id": ids["conflict"], "action": "accept"}),
        ("push: donation.record at own station", "donation.record", _money(new_id(), 5_000)),
        ("push: donation.record at another station in the district", "donation.record",
         _goods(new_id(), NEAR)),
        ("push: donation.correct at own station (below the line)", "donation.correct",
         {"id": new_id(), "donation_id": ids["small"], "action": "correct", "reason": "少记",
          "new_amount_fen": 12_000}),
        ("push: correction.decide of another's request", "correction.decide",
         {"id": ids["correction"], "decision": "approve", "note": "已核对"}),
        ("push: correction.decide of one's own request", "correction.decide",
         {"id": ids["my_correction"], "decision": "approve", "note": ""}),
        ("push: receipt.attach_official at own station", "receipt.attach_official",
         {"number": RECEIPT, "official_number": "GZ-2026-000123"}),
        ("push: goods.hand_out at own station", "goods.hand_out",
         {"id": new_id(), "station": OWN, "name": "大米", "unit": "袋", "quantity": 1,
          "recipient_kind": "beneficiary", "recipient": "困难户李某"}),
        ("push: fund.create for own district", "fund.create",
         {"id": new_id(), "name": "天河区慈善基金", "district": TIANHE, "station": None,
          "purpose": "全区"}),
        ("push: campaign.create for own district", "campaign.create",
         campaign_args(new_id(), [ids["fund"]], district=TIANHE)),
        ("push: matching_rule.create for own district's campaign", "matching_rule.create",
         {"id": new_id(), "sponsor": "爱心企业", "ratio_percent": 100, "cap_per_gift_fen": 10_000,
          "cap_total_fen": 100_000, "starts_on": "2026-09-05", "ends_on": "2026-09-05",
          "campaign_ids": [ids["campaign"]]}),
        ("push: disbursement.request from own station's fund", "disbursement.request",
         {"id": new_id(), "fund_id": ids["fund"], "project_id": ids["project"], "amount_fen": 5_000,
          "payee": "某社区", "purpose": "活动物资"}),
        ("push: disbursement.decide of another's request", "disbursement.decide",
         {"id": ids["requested"], "decision": "approve", "note": ""}),
        ("push: disbursement.pay (neither requester nor approver)", "disbursement.pay",
         {"id": ids["approved"], "reference": "转账 0001"}),
        ("push: service_project.create at own station", "service_project.create",
         {"id": new_id(), "fund_id": ids["fund"], "station": OWN, "category": "governance",
          "name": "社区议事"}),
        ("push: grant.create for own station's service project", "grant.create",
         {"id": new_id(), "project_id": ids["service_project"], "amount_fen": 10_000,
          "signed_at": "2026-11-28"}),
        ("push: feedback.record on own station's service project", "feedback.record",
         {"id": new_id(), "project_id": ids["service_project"], "score": 5}),
        ("push: evaluation.submit of own station's service project", "evaluation.submit",
         {"project_id": ids["service_project"], "conclusion": "良好", "public_summary": "良好",
          "scores": {"needs": 80, "performance": 80, "feedback": 80, "supervision": 80}}),
        ("push: volunteer.update of another volunteer (home: own station)", "volunteer.update",
         {"user_id": "vol-a", "fields": {"skills": ["探访"]}}),
        ("push: activity.create at own station", "activity.create",
         {"id": new_id(), "station": OWN, "title": "社区清洁", "service_type": "community_governance",
          "date": "2026-11-26"}),
        ("push: hours.check_in for oneself", "hours.check_in",
         {"id": new_id(), "activity_id": ids["activity"], "at": _at(0)}),
        ("push: hours.check_in for another volunteer (QR scan)", "hours.check_in",
         {"id": new_id(), "activity_id": ids["activity"], "at": _at(0), "volunteer_id": "vol-a"}),
        ("push: hours.approve of another volunteer's log", "hours.approve", {"id": ids["their_log"]}),
        ("push: hours.approve of one's own log", "hours.approve", {"id": ids["my_pending"]}),
        ("push: timebank.set_rate at own station", "timebank.set_rate",
         {"station": OWN, "service_type": "elder_care", "rate_cents": 150}),
        ("push: timebank.transfer of own credits", "timebank.transfer",
         {"id": new_id(), "to_volunteer": "vol-a", "amount_cents": 50, "kind": "gift"}),
        ("push: redemption.request for oneself", "redemption.request",
         {"id": new_id(), "item_id": ids["item"]}),
        ("push: redemption.approve at own station", "redemption.approve", {"id": ids["redemption"]}),
        ("push: notification_prefs.set (own)", "notification_prefs.set",
         {"fields": {"quiet_start": "22:00", "quiet_end": "07:00"}}),
        ("push: notification.mark_read of another's notification", "notification.mark_read",
         {"ids": [ids["notification"]]}),
        ("push: alert.set_donation_threshold at own station", "alert.set_donation_threshold",
         {"station": OWN, "amount_fen": 1_000_000}),
        ("push: alert.set_fund_low_water of own station's fund", "alert.set_fund_low_water",
         {"fund_id": ids["fund"], "station": OWN, "amount_fen": 200_000}),
        ("push: person.create with a volunteer membership at own station", "person.create",
         {"id": new_id(), "name": "新志愿者", "membership": {"id": new_id(), "role": "volunteer",
                                                           "station": OWN}}),
        ("push: membership.add of staff at own station", "membership.add",
         {"id": new_id(), "user_id": "vol-a", "role": "staff", "station": OWN}),
        ("push: membership.add of a manager at own station", "membership.add",
         {"id": new_id(), "user_id": "vol-a", "role": "manager", "station": OWN}),
        ("push: membership.add of a district manager in own district", "membership.add",
         {"id": new_id(), "user_id": "vol-a", "role": "district_manager", "district": TIANHE}),
        ("push: membership.end of a staff member at own station", "membership.end",
         {"id": ids["recorder_membership"]}),
        ("push: district.create", "district.create", {"name": "海珠区"}),
        ("push: need.submit to own station's round (needs phase)", "need.submit",
         {"id": new_id(), "round_id": ids["round_needs"], "category": "environment",
          "community": "棠下社区", "description": "垃圾站太臭"}),
        ("push: need.publish at own station", "need.publish",
         {"id": ids["need"], "public_title": "楼道加装扶手"}),
        ("push: round.advance of own station's round", "round.advance",
         {"id": ids["round_needs"], "to": "proposals"}),
        ("push: group.register at own station", "group.register",
         {"id": new_id(), "name": "青年志愿队", "station": OWN}),
        ("push: proposal.edit of a group one is not in", "proposal.edit",
         {"id": ids["proposal"], "fields": {"title": "改名"}}),
        ("push: review.assign for own station's round", "review.assign",
         {"id": new_id(), "proposal_id": ids["proposal"], "reviewer": "recorder"}),
        ("push: round.create for own station's fund", "round.create",
         _round(new_id(), ids["fund"])),
        ("push: ballot.cast in own station's round (voting)", "ballot.cast",
         {"id": new_id(), "round_id": ids["round_vote"], "proposal_ids": [ids["vote_proposal"]]}),
        ("push: ballot.booth in own station's round", "ballot.booth",
         {"id": new_id(), "round_id": ids["round_vote"], "proposal_ids": [ids["vote_proposal"]],
          "voter_name": "王五", "voter_phone": "13700000000", "booth": "花园门口",
          "ballot_book_no": "B-1", "cast_at": dt.datetime.now(dt.UTC).isoformat()}),
        ("push: ballot.tally in own station's round", "ballot.tally",
         {"id": new_id(), "round_id": ids["round_vote"], "booth": "纸质票箱", "ballots": 3,
          "votes": {ids["vote_proposal"]: 2}}),
        ("push: round.publish_results of own station's round", "round.publish_results",
         {"round_id": ids["round_vote"], "early": True}),
    ]


@pytest.mark.parametrize("role", ROLES)
async def test_role_matrix(api: Api, role: str) -> None:
    user = _user_for(role)
    ids = await _world(api, user)
    token = await _token_for(api, role)

    observed = _pulled(await fresh_snapshot(api, token), ids, user)
    observed.update(await _http_actions(api, token, ids))
    device = _Device(api, token)
    actions = _actions(ids)
    results = await device.push(*[(name, args, None) for _, name, args in actions])
    for (label, _, _), result in zip(actions, results, strict=True):
        observed[label] = _allowed(label, result)

    column = ROLES.index(role) + 1
    expected = {row[0]: row[column] for row in MATRIX}
    assert observed == expected

    # What was allowed really happened (and what was refused did not).
    after = await fresh_snapshot(api, await api.token("auditor", "admin"))
    assert (("event", ids["doomed"]) not in after) == expected["push: event.delete at own station"]
    assert (("station", "TH-099") in after) == expected["push: station.create in own district"]
    conflict = after[("conflict", ids["conflict"])]
    assert (conflict["status"] == "accepted") == expected["push: conflict.resolve at own station"]
    correction = after[("donation_correction", ids["correction"])]
    assert (correction["status"] == "applied") == expected["push: correction.decide of another's request"]
    assert after[("donation_correction", ids["my_correction"])]["status"] == "pending"
    paid = after[("disbursement", ids["approved"])]["status"] == "paid"
    assert paid == expected["push: disbursement.pay (neither requester nor approver)"]
    their_log = after[("hour_log", ids["their_log"])]["status"]
    assert (their_log == "approved") == expected["push: hours.approve of another volunteer's log"]
    assert after[("hour_log", ids["my_pending"])]["status"] == "submitted"
    # 200 credited, 50 given to vol-a, 100 spent on the redemption.
    assert after[("timebank_account", f"vol:{user}")]["balance_cents"] == 50
    async with api.state.db.read() as conn:
        read_at = (await conn.execute(select(notifications.c.read_at).where(
            notifications.c.id == ids["notification"]))).scalar_one()
    assert read_at is None


def test_readme_mirrors_the_matrix() -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    rows = [
        tuple(cell.strip() for cell in line.strip().strip("|").split("|"))
        for line in readme.splitlines() if line.startswith(("| pull:", "| push:", "| http:"))
    ]
    assert rows == [(label, *("Y" if cell else "N" for cell in cells)) for label, *cells in MATRIX]


def test_matrix_is_complete() -> None:
    labels = [row[0] for row in MATRIX]
    assert len(labels) == len(set(labels))
    assert all(len(row) == 1 + len(ROLES) for row in MATRIX)
    assert set(REFUSED_AS) <= set(labels)


async def test_another_stations_manager_cannot_replace_a_funds_low_water_mark(api: Api) -> None:
    """The mark is one record per fund (``fund_low:<fund>``): a manager of another station who
    names their own station must not overwrite the line the fund's own managers set."""
    admin = _Device(api, await api.token("admin", "admin"))
    fund_id = new_id()
    await admin.ok(
        ("station.create", station_args(OWN, TIANHE, "天河一站")),
        ("station.create", station_args(NEAR, TIANHE, "天河二站")),
        ("fund.create", {"id": fund_id, "name": "天河一站社区基金", "district": TIANHE,
                         "station": OWN, "purpose": "社区服务"}),
    )
    own = await _device(api, "own-manager", "manager", station=OWN)
    near = await _device(api, "near-manager", "manager", station=NEAR)
    await own.ok(("alert.set_fund_low_water", {"fund_id": fund_id, "station": OWN,
                                               "amount_fen": 300_000}))
    results = await near.push(
        ("alert.set_fund_low_water", {"fund_id": fund_id, "station": NEAR, "amount_fen": 1}, None),
        ("alert.set_fund_low_water", {"fund_id": fund_id, "station": OWN, "amount_fen": 1}, None),
    )
    assert [(r["status"], r.get("code")) for r in results] == [("rejected", "forbidden")] * 2
    line = (await fresh_snapshot(api, own.token))[("alert_threshold", f"fund_low:{fund_id}")]
    assert (line["station"], line["amount_fen"], line["set_by"]) == (OWN, 300_000, "own-manager")
    # The district manager may set it, but only under the fund's own station.
    district = await _device(api, "dm", "district_manager", district=TIANHE)
    results = await district.push(
        ("alert.set_fund_low_water", {"fund_id": fund_id, "station": NEAR, "amount_fen": 1}, None),
        ("alert.set_fund_low_water", {"fund_id": fund_id, "station": OWN, "amount_fen": 250_000},
         None),
    )
    assert [(r["status"], r.get("code")) for r in results] == [
        ("rejected", "invalid_args"), ("applied", None)]


def test_owner_only_records_are_the_owners_alone() -> None:
    """A personal inbox: its owner sees it, an admin (who sees everything else) does not."""
    inbox = Scope(owner="m1", audience=OWNER_ONLY)
    admin = Grant("t1", "root", "admin", None, None)
    owner = Grant("t2", "m1", "manager", OWN, None)
    assert admin.sees(Scope(station=OWN, district=TIANHE, audience=ADMIN))
    assert not admin.sees(inbox) and owner.sees(inbox)


async def test_district_manager_reads_the_certificate_of_hours_served_in_the_district(api: Api) -> None:
    """The certificate is for staff and up of a station the volunteer serves or where the
    hours were served: a district manager acts for every station of the district, also
    when the volunteer is at home in another district."""
    admin = _Device(api, await api.token("admin", "admin"))
    activity, log = new_id(), new_id()
    await admin.ok(
        ("station.create", station_args(OWN, TIANHE, "天河一站")),
        ("station.create", station_args(NEAR, TIANHE, "天河二站")),
        ("station.create", station_args(FAR, YUEXIU, "越秀一站")),
        ("volunteer.register", {"user_id": "vol-far", "name": "越秀志愿者", "stations": [FAR, NEAR]}),
        ("activity.create", {"id": activity, "station": OWN, "title": "探访长者",
                             "service_type": "elder_care", "date": "2026-11-25"}),
        ("hours.manual", _manual(log, activity, "vol-far", 6, 4)),
    )
    await _Device(api, await api.token("admin-2", "admin")).ok(("hours.approve", {"id": log}))
    url = "/api/v1/timebank/volunteers/vol-far/certificate"
    for user, role, place, status in (
        ("dm-tianhe", "district_manager", {"district": TIANHE}, 200),  # served OWN and NEAR
        ("dm-yuexiu", "district_manager", {"district": YUEXIU}, 200),  # home FAR
        ("dm-other", "district_manager", {"district": "海珠区"}, 403),
        ("staff-near", "staff", {"station": NEAR}, 200),
        ("staff-own", "staff", {"station": OWN}, 200),
        ("volunteer-own", "volunteer", {"station": OWN}, 403),
    ):
        token = await api.token(user, role, **place)
        response = await api.http.get(url, headers=api.auth(token))
        assert response.status_code == status, (user, response.text)
