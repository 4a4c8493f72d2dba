"""The phone's instant local versions of mutations (the overlays: ``overlay.js`` of each area
in ``pwa/src/areas/``, registered with ``pwa/src/sync/local.js``) re-implement the
server's mutators. Each mutation that has one is pushed here to a real server (SQLite and
PostgreSQL), after the overlay was run in Node on the same replica; the record the overlay
shows must equal the server's on every field the phone can know (times only as set or
unset: the phone cannot know the server's clock). A new overlay without a case fails.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import uuid
from dataclasses import dataclass, field
from typing import Any

import pytest

from server.notify.outbox import expand_outbox
from tests.conftest import Api
from tests.helpers import campaign_args, hlc, mutation, new_id
from tests.serverproc import ROOT

pytestmark = pytest.mark.anyio

RUNNER = ROOT / "pwa" / "scripts" / "overlay-run.mjs"
# Known only to the server (its clock, its bookkeeping), or presentation marks of the phone.
NOT_KNOWABLE = {"pending", "field_hlc", "client_id", "history", "device_time"}
# A fund's chain head after a movement hashes the server's entries (their ids and times).
SERVER_HASHES = {"head_hash"}


def iso(moment: dt.datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _is_time(name: str) -> bool:
    return name.endswith("_at") or name == "at"


def run_overlay(replica: dict[tuple[str, str], dict[str, Any]], row: dict[str, Any], me: dict[str, Any],
                config: dict[str, Any]) -> dict[str, Any]:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed; the phone app needs Node.js 20+ (see docs/pwa.md)")
    body = {
        "replica": [{"type": t, "id": i, "data": d} for (t, i), d in replica.items()],
        "outbox": [row], "me": me, "config": config,
    }
    done = subprocess.run([node, str(RUNNER)], input=json.dumps(body), capture_output=True, text=True,
                          timeout=30, check=False, cwd=ROOT / "pwa")
    assert done.returncode == 0, done.stderr[-2000:]
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def differences(local: dict[str, Any] | None, server: dict[str, Any] | None) -> list[str]:
    """Where the overlay's record and the server's disagree (fields the phone can know)."""
    if local is None or server is None:
        return [] if local is None and server is None else [f"only on the {'phone' if server is None else 'server'}"]
    found = []
    for name in sorted(set(local) | set(server)):
        if name in NOT_KNOWABLE:
            continue
        if name in SERVER_HASHES and (local.get("head_seq") or 0) > 0:
            continue
        if name not in local:
            found.append(f"{name}: missing on the phone (server {server[name]!r})")
        elif name not in server:
            found.append(f"{name}: not a server field (phone {local[name]!r})")
        elif _is_time(name):
            if (local[name] is None) != (server[name] is None):
                found.append(f"{name}: phone {local[name]!r}, server {server[name]!r}")
        elif local[name] != server[name]:
            found.append(f"{name}: phone {local[name]!r}, server {server[name]!r}")
    return found


@dataclass
class Phone:
    api: Api
    token: str
    me: dict[str, Any]
    client_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    next_id: int = 1

    async def push(self, name: str, args: dict[str, Any], version: int = 1) -> dict[str, Any]:
        row = mutation(self.next_id, name, args, version=version)
        self.next_id += 1
        response = await self.api.push(self.token, self.client_id, [row])
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()["results"][0]
        return result


class Agreement:
    """Runs each case: overlay in Node, then the server, then compares."""

    def __init__(self, api: Api, config: dict[str, Any]) -> None:
        self.api = api
        self.config = config
        self.covered: set[str] = set()
        self.problems: list[str] = []
        self.names: list[str] = []

    async def case(self, phone: Phone, name: str, args: dict[str, Any], records: list[tuple[str, str]],
                   status: str = "applied", version: int = 1) -> None:
        before = await self.api.snapshot(phone.token)
        row = {"id": phone.next_id, "name": name, "version": version, "key": new_id(), "hlc": hlc(phone.client_id),
               "args": args, "created_at": dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z")}
        local = run_overlay(before, row, phone.me, self.config)
        self.names = local["names"]
        result = await phone.push(name, args, version)
        assert result["status"] == status, (name, result)
        after = await self.api.snapshot(phone.token)
        for type_name, record_id in records:
            mine = local["view"].get(type_name, {}).get(record_id)
            if mine is None and (type_name, record_id) in before and type_name not in local["view"]:
                mine = before[(type_name, record_id)]  # untouched by the overlay
            for problem in differences(mine, after.get((type_name, record_id))):
                self.problems.append(f"{name} -> {type_name} {record_id[:12]}: {problem}")
        self.covered.add(name)


def photo_ref(byte: str, kind: str) -> dict[str, Any]:
    """An AttachmentRef to a file not uploaded yet (the reference is enough to apply)."""
    return {"sha256": byte * 32, "media_type": "image/jpeg", "size": 1234, "kind": kind, "public": False}


async def test_every_overlay_agrees_with_the_server(api: Api) -> None:
    admin = Phone(api, await api.token("admin", "admin"), {"user": "admin", "role": "admin"})
    config = (await api.http.get("/api/v1/client-config", headers=api.auth(admin.token))).json()
    assert (await api.http.get("/api/v1/client-config")).status_code == 401
    assert config["correction_approval_threshold_fen"] == api.state.settings.correction_approval_threshold_fen
    run = Agreement(api, config)

    station, district = "OV-001", "天河区"
    assert (await admin.push("station.create", {"code": station, "name": "重叠社工站", "district": district}))["status"] == "applied"

    def member(user: str, role: str, **where: str) -> dict[str, Any]:
        return {"user": user, "role": role, "station": where.get("station"), "district": where.get("district")}

    staff = Phone(api, await api.token("ov-staff", "staff", station=station), member("ov-staff", "staff", station=station))
    manager = Phone(api, await api.token("ov-mgr", "manager", station=station), member("ov-mgr", "manager", station=station))
    manager2 = Phone(api, await api.token("ov-mgr2", "manager", station=station), member("ov-mgr2", "manager", station=station))
    federation = Phone(api, await api.token("ov-dm", "district_manager", district=district), member("ov-dm", "district_manager", district=district))
    treasurer = Phone(api, await api.token("ov-dm2", "district_manager", district=district), member("ov-dm2", "district_manager", district=district))
    volunteer = Phone(api, await api.token("ov-vol", "volunteer", station=station), member("ov-vol", "volunteer", station=station))

    # -- stations, events, conflicts
    await run.case(admin, "station.update", {"code": station, "fields": {"name": "重叠社工站(新址)"}}, [("station", station)])
    await run.case(manager, "station.update", {"code": station, "fields": {"pin_required": False}}, [("station", station)])
    event = new_id()
    await run.case(staff, "event.create", {"id": event, "station": station, "date": "2026-12-05", "title": "义卖",
                                          "notes": "", "contact_phone": "13800000000"}, [("event", event)])
    stale = (await api.snapshot(staff.token))[("event", event)]["field_hlc"]["date"]
    await run.case(manager, "event.update", {"id": event, "fields": {"date": "2026-12-06", "title": "慈善义卖"},
                                            "base": {"date": stale}}, [("event", event)])
    # the staff phone edits the date from what it saw before: a conflict the manager resolves
    flagged = await staff.push("event.update", {"id": event, "fields": {"date": "2026-12-07"}, "base": {"date": stale}})
    assert flagged["status"] == "flagged", flagged
    conflicts = [key for key in await api.snapshot(manager.token) if key[0] == "conflict"]
    assert conflicts, "the stale edit made no conflict"
    # the held submission marked handled by hand (the conflict's own resolution finds it so)
    await run.case(manager, "sync_issue.resolve", {"id": flagged["issue_id"]},
                   [("sync_issue", flagged["issue_id"])])
    await run.case(manager, "conflict.resolve", {"id": conflicts[0][1], "action": "restore"},
                   [conflicts[0], ("event", event)])
    doomed = new_id()
    await staff.push("event.create", {"id": doomed, "station": station, "date": "2026-12-06", "title": "取消的活动"})
    await run.case(manager, "event.delete", {"id": doomed}, [("event", doomed)])

    # -- donations, receipts, corrections
    fund, project = new_id(), new_id()
    await admin.push("fund.create", {"id": fund, "name": "社区基金", "district": district, "station": station, "purpose": "帮扶"})
    await admin.push("project.create", {"id": project, "fund_id": fund, "name": "助老"})
    await admin.push("fund.seed", {"id": new_id(), "fund_id": fund, "amount_fen": 100_000})
    # an open campaign raising for the fund: gifts take it without naming it (the overlay
    # works the default out as the server does)
    assert (await admin.push("campaign.create", campaign_args(new_id(), [fund], district=district,
                                                              stations=[station])))["status"] == "applied"
    assert (await staff.push("receipt_series.claim", {"id": new_id(), "station": station}))["status"] == "applied"
    series = next(d["code"] for (t, _), d in (await api.snapshot(staff.token)).items()
                  if t == "receipt_series" and d.get("client_id") == staff.client_id)
    donor = {"anonymous": False, "name": "张三", "organisation": None, "phone": "13900000000",
             "wants_receipt": True, "public_name_consent": True}
    gift, number = new_id(), f"{series}-00001"
    await run.case(staff, "donation.record", {
        "id": gift, "station": station, "kind": "money", "amount_fen": 800_000, "method": "cash", "event_id": event,
        "direction": "fund", "fund_id": fund, "note": "大额", "donor": donor,
        "receipt": {"number": number, "code": "ABCDEFGH"}}, [("donation", gift), ("receipt", number)])
    goods = new_id()
    await run.case(staff, "donation.record", {
        "id": goods, "station": station, "kind": "goods", "event_id": None, "direction": "undirected",
        "items": [{"name": "大米", "quantity": 2, "unit": "袋", "estimated_value_fen": 5000}],
        "donor": {"anonymous": True, "wants_receipt": False}, "receipt": None,
        "attachments": [photo_ref("a1", "photo")]}, [("donation", goods)])
    await run.case(staff, "receipt.reprint", {"number": number}, [("receipt", number)])
    small = new_id()
    await run.case(staff, "donation.correct", {"id": small, "donation_id": goods, "action": "correct",
                                              "new_amount_fen": 4000, "reason": "估值有误"}, [("donation_correction", small)])
    big = new_id()
    await run.case(staff, "donation.correct", {"id": big, "donation_id": gift, "action": "correct",
                                              "new_amount_fen": 100_000, "reason": "多记了"}, [("donation_correction", big)])
    await run.case(manager2, "correction.decide", {"id": big, "decision": "approve", "note": "核实"},
                   [("donation_correction", big)])
    other = new_id()
    await staff.push("donation.record", {
        "id": other, "station": station, "kind": "money", "amount_fen": 1000, "method": "wechat_pay",
        "direction": "undirected", "donor": {"anonymous": True, "wants_receipt": True},
        "receipt": {"number": f"{series}-00002", "code": "HGFEDCBA"}})
    await run.case(manager, "receipt.withdraw", {"number": f"{series}-00002", "reason": "重开"},
                   [("receipt", f"{series}-00002")])

    # -- disbursements
    paid = new_id()
    await run.case(manager, "disbursement.request", {"id": paid, "fund_id": fund, "project_id": project,
                                                    "amount_fen": 20_000, "payee": "李四", "purpose": "慰问"},
                   [("disbursement", paid)])
    await run.case(federation, "disbursement.decide", {"id": paid, "decision": "approve", "note": ""}, [("disbursement", paid)])
    await run.case(treasurer, "disbursement.pay", {"id": paid, "reference": "BANK-1"}, [("disbursement", paid)])
    # its invoice, added after the request and taken off again (files referred to, not yet sent)
    later = new_id()
    await run.case(manager, "disbursement.request", {"id": later, "fund_id": fund, "project_id": project,
                                                    "amount_fen": 5_000, "payee": "王五", "purpose": "物资",
                                                    "attachments": [photo_ref("b1", "invoice")]},
                   [("disbursement", later)])
    await run.case(manager, "attachment.add", {"record_type": "disbursement", "record_id": later,
                                               "attachments": [photo_ref("b2", "invoice")]}, [("disbursement", later)])
    await run.case(manager, "attachment.remove", {"record_type": "disbursement", "record_id": later,
                                                  "sha256": "b1" * 32}, [("disbursement", later)])

    # -- volunteers, hours, the Time Bank
    await run.case(volunteer, "volunteer.register", {"user_id": "ov-vol", "name": "王志愿", "stations": [station],
                                                    "phone": "13700000000"}, [("volunteer", "ov-vol")])
    activity = new_id()
    await run.case(staff, "activity.create", {"id": activity, "station": station, "title": "探访", "service_type": "elder_care",
                                             "date": dt.date.today().isoformat(), "event_id": event},
                   [("service_activity", activity)])
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    log = new_id()
    await run.case(volunteer, "hours.check_in", {"id": log, "activity_id": activity, "at": iso(now - dt.timedelta(hours=3))},
                   [("hour_log", log)])
    await run.case(volunteer, "hours.check_out", {"id": log, "at": iso(now - dt.timedelta(hours=1))}, [("hour_log", log)])
    me = (await api.http.get("/api/v1/me", headers=api.auth(volunteer.token))).json()
    scanned = new_id()  # staff scan the volunteer's signed code (hours.check_in@2)
    await run.case(staff, "hours.check_in", {"id": scanned, "activity_id": activity, "at": iso(dt.datetime.now(dt.UTC)),
                                            "volunteer_code": me["volunteer_code"]["code"]},
                   [("hour_log", scanned)], version=2)
    manual = new_id()
    await run.case(volunteer, "hours.manual", {"id": manual, "activity_id": activity, "note": "补录",
                                              "check_in_at": iso(now - dt.timedelta(hours=30)),
                                              "check_out_at": iso(now - dt.timedelta(hours=27))}, [("hour_log", manual)])
    edited = (await api.snapshot(manager.token))[("hour_log", manual)]
    await run.case(manager, "hours.edit", {"id": manual, "fields": {"check_out_at": iso(now - dt.timedelta(hours=28))},
                                          "base": {"check_out_at": edited["field_hlc"]["check_out_at"]}}
                   if "check_out_at" in edited.get("field_hlc", {}) else
                   {"id": manual, "fields": {"check_out_at": iso(now - dt.timedelta(hours=28))}}, [("hour_log", manual)])
    await run.case(staff, "hours.approve", {"id": manual}, [("hour_log", manual)])  # not the manager who edited it
    await run.case(manager, "hours.reject", {"id": log, "reason": "未到场"}, [("hour_log", log)])
    item = new_id()
    await admin.push("catalogue.add", {"id": item, "station": station, "title": "毛巾", "kind": "goods", "cost_cents": 100, "stock": 3})
    account = ("timebank_account", "vol:ov-vol")
    kept, held, declined = new_id(), new_id(), new_id()
    await run.case(volunteer, "redemption.request", {"id": kept, "item_id": item}, [("redemption", kept), account, ("redemption_item", item)])
    await run.case(volunteer, "redemption.request", {"id": declined, "item_id": item}, [("redemption", declined), account, ("redemption_item", item)])
    await run.case(volunteer, "redemption.decline", {"id": declined, "reason": "不要了"}, [("redemption", declined), account])
    await run.case(manager, "redemption.approve", {"id": kept}, [("redemption", kept)])
    await run.case(manager, "redemption.fulfil", {"id": kept}, [("redemption", kept)])
    del held

    # -- notifications (the large gift above made one for the station's managers)
    await expand_outbox(api.state, dt.datetime.now(dt.UTC))
    notes = [key for key in await api.snapshot(manager.token) if key[0] == "notification"]
    assert notes, "the large donation made no notification"
    await run.case(manager, "notification.mark_read", {"ids": [notes[0][1]]}, [notes[0]])
    await run.case(manager, "notification.mark_all_read", {"up_to": iso(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1))}, notes)
    await run.case(manager, "notification_prefs.set", {"fields": {"muted_kinds": ["fund.low"], "push_enabled": False}},
                   [("notification_prefs", "ov-mgr")])
    await run.case(manager, "alert.set_donation_threshold", {"station": station, "amount_fen": 300_000},
                   [("alert_threshold", f"large_donation:{station}")])
    await run.case(manager, "alert.set_fund_low_water", {"fund_id": fund, "station": station, "amount_fen": 50_000},
                   [("alert_threshold", f"fund_low:{fund}")])

    # -- the console: places, people, funds, the Time Bank catalogue and rates
    await run.case(admin, "district.create", {"name": "越秀区"}, [("district", "越秀区")])
    await run.case(admin, "station.create", {"code": "OV-002", "name": "越秀社工站", "district": "越秀区"},
                   [("station", "OV-002"), ("district", "越秀区")])
    await run.case(admin, "station.create", {"code": "OV-003", "name": "无锁社工站", "district": "越秀区",
                                             "pin_required": False}, [("station", "OV-003")])
    person, first_role = new_id(), new_id()
    await run.case(manager, "person.create", {"id": person, "name": "赵六", "phone": "13600000000", "languages": "zh,en",
                                             "membership": {"id": first_role, "role": "staff", "station": station}},
                   [("membership", first_role)])
    second_role = new_id()
    await run.case(manager, "membership.add", {"id": second_role, "user_id": person, "role": "volunteer", "station": station},
                   [("membership", second_role)])
    await run.case(manager, "person.update", {"id": person, "fields": {"name": "赵小六"}},
                   [("membership", first_role), ("membership", second_role)])
    await run.case(manager, "membership.end", {"id": second_role}, [("membership", second_role)])
    fund2, project2 = new_id(), new_id()
    await run.case(federation, "fund.create", {"id": fund2, "name": "助学基金", "district": district, "station": station,
                                              "purpose": "助学"}, [("fund", fund2)])
    await run.case(federation, "fund.seed", {"id": new_id(), "fund_id": fund2, "amount_fen": 50_000, "note": "启动资金"},
                   [("fund", fund2)])
    await run.case(manager, "project.create", {"id": project2, "fund_id": fund2, "name": "课后辅导", "description": ""},
                   [("project", project2)])
    towel = new_id()
    await run.case(manager, "catalogue.add", {"id": towel, "station": station, "title": "雨伞", "kind": "goods",
                                             "cost_cents": 200, "stock": 5}, [("redemption_item", towel)])
    await run.case(manager, "catalogue.restock", {"id": towel, "delta": 3}, [("redemption_item", towel)])
    await run.case(manager, "catalogue.update", {"id": towel, "fields": {"title": "折叠雨伞", "cost_cents": 250}},
                   [("redemption_item", towel)])
    await run.case(manager, "timebank.set_rate", {"station": station, "service_type": "elder_care", "rate_cents": 150},
                   [("timebank_rate", f"{station}:elder_care")])

    # -- the micro-venture round: needs taken offline (by staff, by a resident), a resident's
    # own ballot (the booth's ballots have no overlay: the server keeps only a keyed hash)
    shanghai = dt.datetime.now(dt.UTC).astimezone(dt.timezone(dt.timedelta(hours=8))).date()

    def day(n: int) -> str:
        return (shanghai + dt.timedelta(days=n)).isoformat()

    round_id, group, proposal, review = new_id(), new_id(), new_id(), new_id()
    assert (await federation.push("round.create", {
        "id": round_id, "fund_id": fund, "station": station, "title": "重叠微创投", "year": shanghai.year,
        "budget_fen": 1_000_000, "min_project_fen": 100_000, "max_project_fen": 500_000, "phases": {
            "needs": {"starts": day(-3), "ends": day(-1)}, "proposals": {"starts": day(0), "ends": day(5)},
            "review": {"starts": day(6), "ends": day(9)}, "voting": {"starts": day(10), "ends": day(12)}}}
    ))["status"] == "applied"
    need, own_need = new_id(), new_id()
    await run.case(staff, "need.submit", {"id": need, "round_id": round_id, "category": "elderly", "community": "石牌东",
                                          "description": "扶手", "raised_via": "booth",
                                          "contact": {"name": "陈伯", "phone": "13900002222"},
                                          "attachments": [photo_ref("c1", "photo")]}, [("need", need)])
    await run.case(volunteer, "need.submit", {"id": own_need, "round_id": round_id, "category": "culture",
                                              "community": "石牌东", "description": "图书角"}, [("need", own_need)])
    await run.case(staff, "group.register", {"id": group, "name": "邻里队", "station": station,
                                             "registration_no": "OV-1", "members": ["ov-vol", "ov-vol"]},
                   [("community_group", group)])
    await run.case(manager, "group.set_members", {"id": group, "members": ["ov-vol", "ov-mgr"]},
                   [("community_group", group)])
    for step in (
        (federation, "round.advance", {"id": round_id, "to": "proposals"}),
        (volunteer, "proposal.submit", {"id": proposal, "round_id": round_id, "group_id": group, "title": "扶手",
                                        "need_ids": [need], "beneficiaries": "长者", "beneficiary_count": 5,
                                        "activities": "安装", "budget_lines": [{"item": "扶手", "quantity": 2,
                                                                                "unit_cost_fen": 100_000}]}),
        (federation, "round.advance", {"id": round_id, "to": "review"}),
        (federation, "review.assign", {"id": review, "proposal_id": proposal, "reviewer": "ov-staff"}),
        (staff, "review.submit", {"id": review, "scores": {"need_fit": 8, "feasibility": 8, "budget": 8,
                                                            "capacity": 8, "sustainability": 8},
                                  "feasible": True, "reason": "可行"}),
        (federation, "proposal.conclude", {"id": proposal, "feasible": True, "adjusted_price_fen": 180_000,
                                           "reason": "核减"}),
        (federation, "round.update", {"id": round_id, "fields": {"phases": {
            "needs": {"starts": day(-9), "ends": day(-7)}, "proposals": {"starts": day(-6), "ends": day(-4)},
            "review": {"starts": day(-3), "ends": day(-1)}, "voting": {"starts": day(0), "ends": day(3)}}}}),
        (federation, "round.advance", {"id": round_id, "to": "voting"}),
    ):
        assert (await step[0].push(step[1], step[2]))["status"] == "applied", step[1]
    ballot = new_id()
    await run.case(volunteer, "ballot.cast", {"id": ballot, "round_id": round_id, "proposal_ids": [proposal]},
                   [("ballot", ballot)])
    # -- service projects (pwa/src/areas/projects): a brand project, its grant, what staff
    # record offline, and a tranche's request (which makes the fund's disbursement)
    sp, m1, m2 = new_id(), new_id(), new_id()
    await run.case(staff, "service_project.create", {
        "id": sp, "fund_id": fund2, "station": station, "category": "elderly", "name": "耆乐安居",
        "summary": "入户评估居家安全", "indicators": [{"key": "i1", "name": "入户评估", "unit": "户", "target": 40}],
        "milestones": [{"id": m1, "title": "评估", "weight": 40, "due": "2026-12-20"},
                       {"id": m2, "title": "安装", "weight": 60}]},
        [("service_project", sp), ("project", sp), ("milestone", m1), ("milestone", m2)])
    grant, tranche = new_id(), new_id()
    await run.case(federation, "grant.create", {
        "id": grant, "project_id": sp, "amount_fen": 30_000, "signed_at": "2026-11-01",
        "tranches": [{"id": tranche, "amount_fen": 20_000, "milestone_id": m1}]},
        [("grant", grant), ("grant_tranche", tranche)])
    report = new_id()
    await run.case(staff, "progress.report", {
        "id": report, "project_id": sp, "milestone_id": m1, "progress": 100, "text": "评估完成",
        "attachments": [photo_ref("c1", "photo")]},
        [("progress_report", report), ("milestone", m1), ("service_project", sp)])
    m3 = new_id()
    await run.case(staff, "milestone.set", {"project_id": sp, "milestones": [
        {"id": m1, "title": "入户评估", "weight": 30, "due": "2026-12-20"},
        {"id": m2, "title": "安装", "weight": 50},
        {"id": m3, "title": "回访", "weight": 20, "due": "2027-01-10"}]},
        [("milestone", m1), ("milestone", m2), ("milestone", m3), ("service_project", sp)])
    feedback = new_id()
    await run.case(staff, "feedback.record", {"id": feedback, "project_id": sp, "score": 4, "comment": "很好",
                                             "taken_on": "2026-11-20"}, [("project_feedback", feedback)])
    visit = new_id()
    await run.case(staff, "visit.record", {
        "id": visit, "project_id": sp, "visited_on": "2026-11-20", "rating": "needs_improvement",
        "findings": "台账不全", "follow_up": "补齐照片", "follow_up_due": "2026-12-05",
        "attachments": [photo_ref("c2", "photo")]}, [("supervision_visit", visit)])
    await run.case(staff, "visit.follow_up_done", {"id": visit, "note": "已补齐"}, [("supervision_visit", visit)])
    actual = new_id()
    await run.case(staff, "indicator.record", {"id": actual, "project_id": sp, "indicator_key": "i1",
                                              "period": "2026-Q4", "value": 25}, [("indicator_actual", actual)])
    asked = new_id()
    await run.case(staff, "tranche.request", {"id": tranche, "disbursement_id": asked, "payee": "安居服务社",
                                             "purpose": ""}, [("grant_tranche", tranche), ("disbursement", asked)])

    missing = sorted(set(run.names) - run.covered)
    assert not missing, f"overlays without an agreement case here: {missing}"
    assert not run.problems, "the phone's overlays disagree with the server:\n" + "\n".join(run.problems)
