"""Volunteers, service hours and the Time Bank (issue 4), through push and pull on
SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pytest
from sqlalchemy import func, select

from server.domain.timebank import timebank_accounts, timebank_entries
from server.domain.volunteers import hour_logs
from server.hours_sweep import sweep_once
from sync.timeutil import iso, now_ms, utc_now
from tests.conftest import Api
from tests.devices import fresh_snapshot, settle
from tests.helpers import new_id, stamp
from tests.timebank_setup import TH1, TH2, TIANHE, World, at, balance, world

pytestmark = pytest.mark.anyio

async def entry_count(api: Api) -> int:
    async with api.state.db.read() as conn:
        return int((await conn.execute(select(func.count()).select_from(timebank_entries))).scalar_one())


async def assert_ledger_consistent(api: Api) -> None:
    """Double entry: every movement sums to zero; every balance is the sum of its entries."""
    async with api.state.db.read() as conn:
        per_movement = (await conn.execute(
            select(timebank_entries.c.movement_id, func.sum(timebank_entries.c.amount_cents),
                   func.count()).group_by(timebank_entries.c.movement_id)
        )).all()
        sums = dict((await conn.execute(
            select(timebank_entries.c.account_id, func.sum(timebank_entries.c.amount_cents))
            .group_by(timebank_entries.c.account_id)
        )).all())
        balances = dict((await conn.execute(
            select(timebank_accounts.c.id, timebank_accounts.c.balance_cents)
        )).all())
    assert all(int(total) == 0 and count == 2 for _, total, count in per_movement), per_movement
    for account_id, stored in balances.items():
        assert int(sums.get(account_id, 0)) == stored, account_id


async def approve_manual(w: World, minutes: int, start: float = 0) -> str:
    """A manual log of ``minutes`` for vol-1 recorded by staff and approved by the manager
    (a second person: whoever records a log never approves it); returns its id."""
    log_id = new_id()
    r = await w.staff.send("hours.manual", {
        "id": log_id, "activity_id": w.activity, "volunteer_id": "vol-1",
        "check_in_at": at(start), "check_out_at": at(start + minutes)})
    assert r["status"] == "applied", r
    assert (await w.manager.send("hours.approve", {"id": log_id}))["status"] == "applied"
    return log_id


# -- the session recorded twice ------------------------------------------------------------


async def test_own_phone_and_station_phone_record_one_session_one_credit_one_flag(api: Api) -> None:
    w = await world(api)
    own, scanned = new_id(), new_id()
    # Both offline: the volunteer checks in on their phone; staff scan the volunteer's QR.
    vol_batch = [w.vol_phone.m("hours.check_in", {"id": own, "activity_id": w.activity, "at": at(0)}),
                 w.vol_phone.m("hours.check_out", {"id": own, "at": at(180)})]
    staff_batch = [
        w.staff.m("hours.check_in", {"id": scanned, "activity_id": w.activity,
                                     "volunteer_id": "vol-1", "at": at(2)}),
        w.staff.m("hours.check_out", {"id": scanned, "at": at(181)}),
    ]
    staff_result = await w.staff.push(*staff_batch)
    assert [r["status"] for r in staff_result["results"]] == ["applied", "applied"]
    vol_result = await w.vol_phone.push(*vol_batch)
    check_in, check_out = vol_result["results"]
    assert check_in["status"] == "flagged" and check_in["code"] == "hours_overlap"
    assert check_in["message"]["zh"] and check_in["message"]["en"]
    assert check_out["status"] == "applied"

    await w.staff.pull()
    logs = w.staff.of_type("hour_log")
    assert logs[own]["overlaps"] == [scanned] and logs[scanned]["overlaps"] == [own]
    assert "overlap" in logs[own]["flags"] and "overlap" in logs[scanned]["flags"]
    assert logs[scanned]["source"] == "staff_scan" and logs[scanned]["recorded_by"] == "staff-a"
    assert logs[own]["source"] == "self" and logs[own]["device_check_in_at"] == at(0)
    issues = [i for i in w.staff.of_type("sync_issue").values() if i["code"] == "hours_overlap"]
    assert len(issues) == 1 and issues[0]["user"] == "vol-1"
    # The volunteer sees the flag on their own phone too.
    await w.vol_phone.pull()
    assert [i["code"] for i in w.vol_phone.of_type("sync_issue").values()] == ["hours_overlap"]

    # Not credited while the overlap is open; the reviewer picks the real one.
    refused = await w.manager.send("hours.approve", {"id": scanned})
    assert refused["status"] == "rejected" and refused["code"] == "overlap_unresolved"
    assert (await w.manager.send("hours.approve", {"id": scanned, "supersede_overlapping": True}))["status"] == "applied"
    again = await w.manager.send("hours.approve", {"id": own})
    assert again["status"] == "rejected" and again["code"] == "already_decided"

    await w.staff.pull()
    logs = w.staff.of_type("hour_log")
    assert [log["status"] for log in (logs[scanned], logs[own])] == ["approved", "rejected"]
    assert logs[own]["decision_reason"] and scanned in logs[own]["decision_reason"]
    assert logs[scanned]["overlaps"] == [] and logs[own]["overlaps"] == []
    assert logs[scanned]["credited_cents"] == round(179 * 100 / 60)
    assert await balance(api, "vol-1") == round(179 * 100 / 60)
    async with api.state.db.read() as conn:
        credits = (await conn.execute(select(timebank_entries).where(
            timebank_entries.c.kind == "hours_credit"))).mappings().all()
    assert len(credits) == 2  # one movement: the bank's entry and the volunteer's
    await assert_ledger_consistent(api)

    submitted = [d["log_id"] for k, d in w.events if k == "hours.submitted"]
    decided = [(d["log_id"], d["decision"]) for k, d in w.events if k == "hours.decided"]
    assert sorted(submitted) == sorted([own, scanned])
    assert sorted(decided) == sorted([(own, "rejected"), (scanned, "approved")])
    assert all(d["station"] == TH1 and d["district"] == TIANHE for _, d in w.events)
    minutes = {d["log_id"]: d["minutes"] for k, d in w.events if k == "hours.submitted"}
    assert minutes == {own: 180, scanned: 179}


async def test_retried_check_in_is_an_overlap_and_a_duplicate_key_changes_nothing(api: Api) -> None:
    w = await world(api)
    first, retry = new_id(), new_id()
    built = w.vol_phone.m("hours.check_in", {"id": first, "activity_id": w.activity, "at": at(0)})
    assert (await w.vol_phone.push(built))["results"][0]["status"] == "applied"
    # The very same act again from the second phone (same key): a duplicate, nothing new.
    dup = await w.vol_phone_2.push(dict(built, id=1))
    assert dup["results"][0]["status"] == "duplicate"
    w.vol_phone_2.next_id = 2
    # A retried check-in made anew: a second open log, flagged as overlapping.
    result = await w.vol_phone_2.send("hours.check_in", {"id": retry, "activity_id": w.activity, "at": at(1)})
    assert result["status"] == "flagged" and result["code"] == "hours_overlap"
    # Staff reject the duplicate; the first one is no longer overlapping.
    assert (await w.staff.send("hours.reject", {"id": retry, "reason": "重复签到 duplicate"}))["status"] == "applied"
    await w.vol_phone.pull()
    logs = w.vol_phone.of_type("hour_log")
    assert logs[first]["overlaps"] == [] and logs[retry]["status"] == "rejected"
    assert (await w.vol_phone.send("hours.check_out", {"id": first, "at": at(60)}))["status"] == "applied"


# -- two phones redeem against one balance -------------------------------------------------


async def test_two_offline_phones_redeem_the_same_balance(api: Api) -> None:
    w = await world(api)
    await approve_manual(w, 90)  # 150 credit cents
    assert await balance(api, "vol-1") == 150
    item = new_id()
    assert (await w.staff.send("catalogue.add", {"id": item, "station": TH1, "title": "理发服务",
                                                 "kind": "service", "cost_cents": 100, "stock": 5}))["status"] == "applied"
    await w.vol_phone.pull()
    await w.vol_phone_2.pull()
    first, second = new_id(), new_id()
    m1 = w.vol_phone.m("redemption.request", {"id": first, "item_id": item})
    m2 = w.vol_phone_2.m("redemption.request", {"id": second, "item_id": item})
    r1 = (await w.vol_phone.push(m1))["results"][0]
    r2 = (await w.vol_phone_2.push(m2))["results"][0]
    assert r1["status"] == "applied"
    assert r2["status"] == "flagged" and r2["code"] == "balance_insufficient" and r2["issue_id"]
    assert await balance(api, "vol-1") == 50  # never below zero
    await assert_ledger_consistent(api)

    # Both phones converge on the server's view, and see the outcome.
    await w.vol_phone.pull()
    await w.vol_phone_2.pull()
    assert w.vol_phone.replica == w.vol_phone_2.replica
    assert w.vol_phone.replica == await fresh_snapshot(api, w.vol_phone.token)
    redemptions = w.vol_phone.of_type("redemption")
    assert redemptions[first]["status"] == "requested" and redemptions[first]["debited"] is True
    assert redemptions[second]["status"] == "needs_review" and redemptions[second]["debited"] is False
    assert redemptions[second]["review_reason"] == "balance_insufficient"
    assert w.vol_phone.of_type("timebank_account")["vol:vol-1"]["balance_cents"] == 50
    assert w.vol_phone.of_type("redemption_item")[item]["stock"] == 4
    issue = w.vol_phone.of_type("sync_issue")[r2["issue_id"]]
    assert issue["status"] == "flagged" and issue["code"] == "balance_insufficient"

    # Staff cannot push it through while the balance does not cover it; they decline it.
    refused = await w.staff.send("redemption.approve", {"id": second})
    assert refused["status"] == "rejected" and refused["code"] == "balance_insufficient"
    assert (await w.staff.send("redemption.decline", {"id": second, "reason": "余额不足"}))["status"] == "applied"
    assert (await w.staff.send("redemption.fulfil", {"id": first}))["status"] == "applied"
    assert await balance(api, "vol-1") == 50
    await w.vol_phone.pull()
    assert w.vol_phone.of_type("redemption")[second]["status"] == "declined"
    assert w.vol_phone.of_type("redemption")[first]["status"] == "fulfilled"


async def test_decline_refunds_credits_and_stock_and_empty_stock_is_held(api: Api) -> None:
    w = await world(api)
    await approve_manual(w, 300)  # 500
    item = new_id()
    await w.staff.send("catalogue.add", {"id": item, "station": TH1, "title": "粮油礼包",
                                         "kind": "goods", "cost_cents": 200, "stock": 1})
    taken, held = new_id(), new_id()
    assert (await w.vol_phone.send("redemption.request", {"id": taken, "item_id": item}))["status"] == "applied"
    out = await w.vol_phone_2.send("redemption.request", {"id": held, "item_id": item})
    assert out["status"] == "flagged" and out["code"] == "out_of_stock"
    assert await balance(api, "vol-1") == 300
    assert (await w.staff.send("redemption.approve", {"id": taken}))["status"] == "applied"
    assert (await w.staff.send("redemption.decline", {"id": taken, "reason": "物资损坏"}))["status"] == "applied"
    assert await balance(api, "vol-1") == 500  # refunded
    # The stock came back, so the held request can now be approved (and is debited then).
    assert (await w.staff.send("redemption.approve", {"id": held}))["status"] == "applied"
    assert await balance(api, "vol-1") == 300
    await w.staff.pull()
    assert w.staff.of_type("redemption_item")[item]["stock"] == 0
    assert w.staff.of_type("redemption")[held]["debited"] is True
    # A volunteer cannot approve or fulfil; a fulfilled redemption cannot be declined.
    denied = await w.vol_phone.send("redemption.fulfil", {"id": held})
    assert denied["status"] == "rejected" and denied["code"] == "forbidden"
    assert (await w.staff.send("redemption.fulfil", {"id": held}))["status"] == "applied"
    late = await w.staff.send("redemption.decline", {"id": held, "reason": "太晚"})
    assert late["status"] == "rejected" and late["code"] == "wrong_status"
    await assert_ledger_consistent(api)


# -- concurrent edits of one log -----------------------------------------------------------


async def test_edits_of_one_unapproved_log_on_two_phones_merge_by_field(api: Api) -> None:
    w = await world(api)
    log_id = new_id()
    await w.vol_phone.send("hours.manual", {"id": log_id, "activity_id": w.activity,
                                            "check_in_at": at(0), "check_out_at": at(120)})
    await w.vol_phone.pull()
    await w.staff.pull()
    base = w.vol_phone.of_type("hour_log")[log_id]["field_hlc"]
    assert w.staff.of_type("hour_log")[log_id]["field_hlc"] == base
    now = now_ms()
    low, high = stamp(now + 1_000, "vol-phone"), stamp(now + 2_000, "station-phone")
    mine = w.vol_phone.m("hours.edit", {"id": log_id, "base": base,
                                        "fields": {"check_out_at": at(150), "note": "多陪了半小时"}}, stamp=low)
    theirs = w.staff.m("hours.edit", {"id": log_id, "base": base,
                                      "fields": {"check_out_at": at(135), "check_in_at": at(15)}}, stamp=high)
    assert (await w.vol_phone.push(mine))["results"][0]["status"] == "applied"
    result = (await w.staff.push(theirs))["results"][0]
    assert result["status"] == "flagged" and result["code"] == "conflict_recorded"

    for device in (w.vol_phone, w.staff):
        await device.pull()
        log = device.of_type("hour_log")[log_id]
        assert log["note"] == "多陪了半小时"  # only the volunteer edited it
        assert log["check_in_at"] == at(15)  # only staff edited it
        assert log["check_out_at"] == at(135)  # both: the higher HLC wins
        assert log["minutes"] == 120
    await w.manager.pull()
    (conflict,) = w.manager.of_type("conflict").values()
    assert conflict["record_type"] == "hour_log" and conflict["field"] == "check_out_at"
    assert (conflict["kept_value"], conflict["lost_value"]) == (at(135), at(150))
    assert (conflict["kept_by"], conflict["lost_by"]) == ("staff-a", "vol-1")
    # The manager restores the volunteer's check-out; the minutes follow the times.
    assert (await w.manager.send("conflict.resolve", {"id": conflict["id"], "action": "restore"}))["status"] == "applied"
    await w.vol_phone.pull()
    assert w.vol_phone.of_type("hour_log")[log_id]["check_out_at"] == at(150)
    assert w.vol_phone.of_type("hour_log")[log_id]["minutes"] == 135
    # Decided logs are not edited any more (staff changed its times: the manager approves).
    assert (await w.manager.send("hours.approve", {"id": log_id}))["status"] == "applied"
    frozen = await w.vol_phone.send("hours.edit", {"id": log_id, "fields": {"note": "改"}})
    assert frozen["status"] == "rejected" and frozen["code"] == "already_decided"
    assert await balance(api, "vol-1") == 225


# -- bad input -----------------------------------------------------------------------------


async def test_bad_input_is_rejected_with_reasons_and_writes_nothing(api: Api) -> None:
    w = await world(api)
    approved = await approve_manual(w, 60)
    open_log = new_id()
    assert (await w.vol_phone.send("hours.check_in", {"id": open_log, "activity_id": w.activity,
                                                      "at": at(120)}))["status"] == "applied"
    async with api.state.db.read() as conn:
        logs_before = (await conn.execute(select(hour_logs).order_by(hour_logs.c.id))).mappings().all()
    entries_before = await entry_count(api)
    cases = [
        (w.vol_phone, "hours.check_out", {"id": open_log, "at": at(100)}, "check_out_before_check_in"),
        (w.vol_phone, "hours.manual", {"id": new_id(), "activity_id": w.activity,
                                       "check_in_at": at(-1900), "check_out_at": at(-100)}, "session_too_long"),
        (w.staff, "hours.approve", {"id": open_log}, "log_open"),
        (w.staff, "hours.reverse", {"id": open_log, "reason": "试试"}, "not_approved"),
        (w.vol_phone, "timebank.transfer", {"id": new_id(), "to_volunteer": "vol-1", "amount_cents": 10},
         "transfer_to_self"),
        (w.vol_phone, "timebank.transfer", {"id": new_id(), "to_volunteer": "vol-2", "amount_cents": -10},
         "invalid_args"),
        (w.vol_phone, "timebank.transfer", {"id": new_id(), "to_volunteer": "vol-2", "amount_cents": 0},
         "invalid_args"),
        (w.vol_phone, "timebank.transfer", {"id": new_id(), "to_volunteer": "vol-2", "amount_cents": 10_000},
         "balance_insufficient"),
        (w.vol_phone, "timebank.transfer", {"id": new_id(), "to_volunteer": "nobody", "amount_cents": 10},
         "not_a_volunteer"),
        (w.vol_phone, "hours.approve", {"id": approved}, "forbidden"),
        (w.other_vol, "hours.check_out", {"id": open_log, "at": at(200)}, "forbidden"),
        (w.other_vol, "hours.check_in", {"id": new_id(), "activity_id": w.activity,
                                         "volunteer_id": "vol-1", "at": at(300)}, "forbidden"),
    ]
    for device, name, args, code in cases:
        result = await device.send(name, args)
        assert result["status"] == "rejected" and result["code"] == code, (name, args, result)
        assert result["message"]["zh"] and result["message"]["en"]
    negative = (await w.vol_phone.send("timebank.transfer", {"id": new_id(), "to_volunteer": "vol-2",
                                                             "amount_cents": -5}))
    assert "amount_cents" in negative["message"]["en"]
    async with api.state.db.read() as conn:
        logs_after = (await conn.execute(select(hour_logs).order_by(hour_logs.c.id))).mappings().all()
    assert logs_after == logs_before
    assert await entry_count(api) == entries_before
    assert await balance(api, "vol-1") == 100


async def test_device_clock_ahead_is_flagged_and_kept(api: Api) -> None:
    w = await world(api)
    log_id = new_id()
    ahead = iso(utc_now() + dt.timedelta(hours=2))
    result = await w.vol_phone.send("hours.check_in", {"id": log_id, "activity_id": w.activity, "at": ahead})
    assert result["status"] == "flagged" and result["code"] == "hours_clock_ahead"
    await w.staff.pull()
    log = w.staff.of_type("hour_log")[log_id]
    assert log["flags"] == ["clock_ahead"] and log["device_check_in_at"] == ahead
    assert log["received_check_in_at"] < log["check_in_at"]


# -- privacy -------------------------------------------------------------------------------


async def test_volunteers_never_receive_another_volunteers_personal_data(api: Api) -> None:
    w = await world(api)
    await approve_manual(w, 60)
    item = new_id()
    await w.staff.send("catalogue.add", {"id": item, "station": TH1, "title": "义剪",
                                         "kind": "service", "cost_cents": 50})
    await w.vol_phone.send("redemption.request", {"id": new_id(), "item_id": item})
    mine = await fresh_snapshot(api, w.vol_phone.token)
    theirs = await fresh_snapshot(api, w.other_vol.token)
    staff_view = await fresh_snapshot(api, w.staff.token)
    other_station = await fresh_snapshot(api, await api.token("staff-b", "staff", station=TH2))

    def owned_by(snapshot: dict[tuple[str, str], dict[str, Any]], user: str) -> set[str]:
        found = set()
        for (kind, rid), data in snapshot.items():
            if user in (data.get("user_id"), data.get("volunteer_id"), data.get("owner")):
                found.add(kind)
        return found

    assert owned_by(mine, "vol-1") >= {"volunteer", "hour_log", "timebank_account", "timebank_entry",
                                       "redemption"}
    assert mine[("volunteer", "vol-1")]["phone"] == "13800000001"
    assert owned_by(mine, "vol-2") == set()
    assert owned_by(theirs, "vol-1") == set()  # nothing of vol-1 on vol-2's phone
    assert ("volunteer", "vol-2") in theirs and ("service_activity", w.activity) in theirs
    assert ("redemption_item", item) in theirs  # the catalogue is for everyone at the station
    assert owned_by(staff_view, "vol-1") >= {"volunteer", "hour_log", "timebank_account", "redemption"}
    assert ("timebank_account", f"bank:{TH1}") in staff_view
    assert ("timebank_account", f"bank:{TH1}") not in mine
    assert owned_by(other_station, "vol-1") == set() and owned_by(other_station, "vol-2") == set()


# -- the sweep, reversal, transfers --------------------------------------------------------


async def test_a_log_left_open_is_closed_at_the_cap_and_flagged(api: Api) -> None:
    w = await world(api)
    log_id = new_id()
    started = iso(utc_now().replace(microsecond=0) - dt.timedelta(hours=13))
    assert (await w.vol_phone.send("hours.check_in", {"id": log_id, "activity_id": w.activity,
                                                      "at": started}))["status"] == "applied"
    fresh = new_id()
    await w.staff.send("hours.check_in", {"id": fresh, "activity_id": w.activity, "volunteer_id": "vol-2",
                                          "at": at(300)})
    closed = await sweep_once(api.state)
    assert closed == [log_id]  # the fresh open log stays open
    assert await sweep_once(api.state) == []
    await w.vol_phone.pull()
    log = w.vol_phone.of_type("hour_log")[log_id]
    assert log["status"] == "submitted" and "auto_closed" in log["flags"]
    assert log["minutes"] == 12 * 60
    assert [d["log_id"] for k, d in w.events if k == "hours.submitted"] == [log_id]
    # The offline phone's real check-out arrives later: it replaces the capped time.
    real_out = iso(utc_now().replace(microsecond=0) - dt.timedelta(hours=9))
    assert (await w.vol_phone.send("hours.check_out", {"id": log_id, "at": real_out}))["status"] == "applied"
    await w.vol_phone.pull()
    log = w.vol_phone.of_type("hour_log")[log_id]
    assert log["minutes"] == 4 * 60 and "auto_closed" in log["flags"]
    twice = await w.vol_phone.send("hours.check_out", {"id": log_id, "at": real_out})
    assert twice["status"] == "rejected" and twice["code"] == "already_checked_out"


async def test_transfers_rates_and_reversal_keep_a_double_entry_ledger(api: Api) -> None:
    w = await world(api, service_type="training")
    low = await w.staff.send("timebank.set_rate", {"station": TH1, "service_type": "training", "rate_cents": 50})
    assert low["status"] == "rejected" and low["code"] == "forbidden"  # rates are for managers
    assert (await w.manager.send("timebank.set_rate", {"station": TH1, "service_type": "training",
                                                       "rate_cents": 50}))["status"] == "applied"
    log_id = await approve_manual(w, 240)  # 4 h of training at half a credit per hour
    assert await balance(api, "vol-1") == 200
    gift = await w.vol_phone.send("timebank.transfer", {"id": new_id(), "to_volunteer": "vol-2",
                                                        "amount_cents": 150, "kind": "gift", "memo": "谢谢"})
    assert gift["status"] == "applied"
    assert (await balance(api, "vol-1"), await balance(api, "vol-2")) == (50, 150)
    # Reversal: never a delete, a reversing movement; the balance may go below zero, flagged.
    reversed_ = await w.staff.send("hours.reverse", {"id": log_id, "reason": "时数录入错误"})
    assert reversed_["status"] == "flagged" and reversed_["code"] == "balance_negative"
    assert await balance(api, "vol-1") == -150
    again = await w.staff.send("hours.reverse", {"id": log_id, "reason": "再来"})
    assert again["status"] == "rejected" and again["code"] == "not_approved"
    await assert_ledger_consistent(api)
    await w.vol_phone.pull()
    kinds = sorted(e["kind"] for e in w.vol_phone.of_type("timebank_entry").values())
    assert kinds == ["gift", "hours_credit", "hours_reversal"]
    assert w.vol_phone.of_type("hour_log")[log_id]["status"] == "reversed"
    decided = [d["decision"] for k, d in w.events if k == "hours.decided"]
    assert decided == ["approved", "reversed"]
    await w.other_vol.pull()
    (entry,) = w.other_vol.of_type("timebank_entry").values()
    assert entry["amount_cents"] == 150 and entry["counter_account_id"] == "vol:vol-1"


async def test_profile_edits_and_registration_rules(api: Api) -> None:
    w = await world(api)
    taken = await w.vol_phone.send("volunteer.register", {"user_id": "vol-1", "name": "再登记",
                                                          "stations": [TH1]})
    assert taken["status"] == "rejected" and taken["code"] == "already_exists"
    not_mine = await w.other_vol.send("volunteer.register", {"user_id": "vol-3", "name": "代登记",
                                                             "stations": [TH1]})
    assert not_mine["status"] == "rejected" and not_mine["code"] == "forbidden"
    moved = await w.vol_phone.send("volunteer.update", {"user_id": "vol-1", "fields": {
        "stations": [TH2, TH1], "skills": ["理发", "陪伴"]}})
    assert moved["status"] == "applied"
    # The profile and the account follow the new home station.
    th2_staff = await fresh_snapshot(api, await api.token("staff-b", "staff", station=TH2))
    assert th2_staff[("volunteer", "vol-1")]["skills"] == ["理发", "陪伴"]
    assert ("timebank_account", "vol:vol-1") in th2_staff
    await settle(api)
    mine = await api.snapshot(w.vol_phone.token)
    assert mine[("volunteer", "vol-1")]["stations"] == [TH2, TH1]
    # TH-001 is still served, no longer home: its staff see the volunteer's card.
    await w.staff.pull()
    assert ("volunteer", "vol-1") not in w.staff.replica
    (card,) = w.staff.of_type("volunteer_card").values()
    assert (card["user_id"], card["station"], card["skills"]) == ("vol-1", TH1, ["理发", "陪伴"])
    assert all(kind != "volunteer_card" for kind, _ in await fresh_snapshot(api, w.other_vol.token))
    # The volunteer stops serving TH-001: the card leaves the station's phones.
    assert (await w.vol_phone.send("volunteer.update", {"user_id": "vol-1", "fields": {
        "stations": [TH2]}}))["status"] == "applied"
    await w.staff.pull()
    assert w.staff.of_type("volunteer_card") == {}


# -- the certificate -----------------------------------------------------------------------


async def test_certificate_pdf_has_the_approved_hours(api: Api) -> None:
    from pypdf import PdfReader

    w = await world(api)
    await approve_manual(w, 90)
    training = new_id()
    await w.staff.send("activity.create", {"id": training, "station": TH1, "title": "慈善法培训",
                                           "service_type": "training", "date": "2026-11-25"})
    extra = new_id()
    await w.staff.send("hours.manual", {"id": extra, "activity_id": training, "volunteer_id": "vol-1",
                                        "check_in_at": at(200), "check_out_at": at(230)})
    await w.manager.send("hours.approve", {"id": extra})
    unapproved = new_id()
    await w.vol_phone.send("hours.manual", {"id": unapproved, "activity_id": training,
                                            "check_in_at": at(300), "check_out_at": at(330)})
    url = "/api/v1/timebank/volunteers/vol-1/certificate"
    response = await api.http.get(url, headers=api.auth(w.vol_phone.token))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/pdf")
    reader = PdfReader(io.BytesIO(response.content))
    text = " ".join(" ".join(page.extract_text().split()) for page in reader.pages)
    assert "累计服务时数 Total hours 2.00" in text and "服务次数 Approved sessions 2" in text
    assert "扶老 elder care 1.50" in text and "培训 training 0.50" in text  # by service type
    shanghai = dt.timezone(dt.timedelta(hours=8))
    month = dt.datetime.fromisoformat(at(0)).astimezone(shanghai).strftime("%Y-%m")
    assert f"{month} 2.00" in text  # by month (Asia/Shanghai)
    assert reader.metadata is not None and reader.metadata.subject == "vol-1"

    assert (await api.http.get(url, headers=api.auth(w.staff.token))).status_code == 200
    assert (await api.http.get(url, headers=api.auth(w.other_vol.token))).status_code == 403
    other_station = await api.token("staff-b", "staff", station=TH2)
    assert (await api.http.get(url, headers=api.auth(other_station))).status_code == 403
    assert (await api.http.get(url)).status_code == 401
    missing = await api.http.get("/api/v1/timebank/volunteers/nobody/certificate",
                                 headers=api.auth(w.staff.token))
    assert missing.status_code == 404
    probe = await api.http.get("/api/v1/timebank/volunteers/nobody/certificate",
                               headers=api.auth(w.other_vol.token))
    assert probe.status_code == 403  # a volunteer cannot find out who is registered
    future = await api.http.get(url + "?from=2030-01-01", headers=api.auth(w.vol_phone.token))
    assert "Total hours 0.00" in " ".join(PdfReader(io.BytesIO(future.content)).pages[0].extract_text().split())
    bad = await api.http.get(url + "?from=yesterday", headers=api.auth(w.vol_phone.token))
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_args"


async def test_the_cap_is_a_setting_and_the_cli_sweeps(api: Api, tmp_path: Any) -> None:
    import asyncio
    import dataclasses

    from tests.serverproc import run_cli

    w = await world(api)
    three_hours, thirteen_hours = new_id(), new_id()
    for log_id, hours_ago, device in ((three_hours, 3, w.vol_phone), (thirteen_hours, 13, w.other_vol)):
        started = iso(utc_now() - dt.timedelta(hours=hours_ago))
        result = await device.send("hours.check_in", {"id": log_id, "activity_id": w.activity, "at": started})
        assert result["status"] == "applied", result
    # The command line sweeps with the deployment's settings (default cap: 12 h).
    url = api.state.settings.resolved_database_url
    done = await asyncio.to_thread(run_cli, ["hours", "sweep"], database_url=url, data_dir=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "closed 1 hour logs" in done.stdout, done.stdout
    # With a 2-hour cap the other one is past it too.
    short = dataclasses.replace(api.state, settings=dataclasses.replace(api.state.settings,
                                                                       hours_open_cap_hours=2.0))
    assert await sweep_once(short) == [three_hours]
    await w.staff.pull()
    logs = w.staff.of_type("hour_log")
    assert (logs[three_hours]["minutes"], logs[thirteen_hours]["minutes"]) == (120, 12 * 60)
    assert all("auto_closed" in logs[i]["flags"] for i in (three_hours, thirteen_hours))


async def test_concurrent_pushes_from_two_phones_cannot_spend_twice(api: Api) -> None:
    """Truly concurrent on PostgreSQL (the account row is locked); serialised on SQLite."""
    import asyncio

    w = await world(api)
    await approve_manual(w, 60)  # 100
    item = new_id()
    await w.staff.send("catalogue.add", {"id": item, "station": TH1, "title": "义剪",
                                         "kind": "service", "cost_cents": 100})
    results = await asyncio.gather(
        w.vol_phone.send("redemption.request", {"id": new_id(), "item_id": item}),
        w.vol_phone_2.send("redemption.request", {"id": new_id(), "item_id": item}),
    )
    assert sorted(r["status"] for r in results) == ["applied", "flagged"]
    assert await balance(api, "vol-1") == 0
    await assert_ledger_consistent(api)


async def test_an_overlap_resolved_by_editing_times_lets_both_logs_count(api: Api) -> None:
    w = await world(api)
    morning, afternoon = new_id(), new_id()
    await w.vol_phone.send("hours.manual", {"id": morning, "activity_id": w.activity,
                                            "check_in_at": at(0), "check_out_at": at(120)})
    r = await w.vol_phone_2.send("hours.manual", {"id": afternoon, "activity_id": w.activity,
                                                  "check_in_at": at(90), "check_out_at": at(180)})
    assert r["status"] == "flagged" and r["code"] == "hours_overlap"
    # Staff correct the morning's check-out: no overlap left, both can be approved.
    assert (await w.staff.send("hours.edit", {"id": morning,
                                              "fields": {"check_out_at": at(90)}}))["status"] == "applied"
    await w.staff.pull()
    assert w.staff.of_type("hour_log")[afternoon]["overlaps"] == []
    # Who changed the times does not approve them; the volunteer's other log staff may.
    refused = await w.staff.send("hours.approve", {"id": morning})
    assert refused["status"] == "rejected" and refused["code"] == "second_person_required"
    assert (await w.manager.send("hours.approve", {"id": morning}))["status"] == "applied"
    assert (await w.staff.send("hours.approve", {"id": afternoon}))["status"] == "applied"
    assert await balance(api, "vol-1") == 300


async def test_overlapping_logs_in_one_batch_find_each_other(api: Api) -> None:
    """A phone that was offline pushes a day's logs in one batch: a log overlapping one
    recorded earlier in the same batch (not yet written to the table) is flagged, and
    both point at each other; one that does not overlap is not."""
    w = await world(api)
    morning, noon, evening = new_id(), new_id(), new_id()
    body = await w.vol_phone.push(
        w.vol_phone.m("hours.manual", {"id": morning, "activity_id": w.activity,
                                       "check_in_at": at(0), "check_out_at": at(120)}),
        w.vol_phone.m("hours.manual", {"id": noon, "activity_id": w.activity,
                                       "check_in_at": at(100), "check_out_at": at(150)}),
        w.vol_phone.m("hours.manual", {"id": evening, "activity_id": w.activity,
                                       "check_in_at": at(200), "check_out_at": at(260)}),
    )
    assert [(r["status"], r.get("code")) for r in body["results"]] == [
        ("applied", None), ("flagged", "hours_overlap"), ("applied", None)], body
    await w.staff.pull()
    logs = w.staff.of_type("hour_log")
    assert logs[morning]["overlaps"] == [noon] and logs[noon]["overlaps"] == [morning]
    assert logs[evening]["overlaps"] == []


async def test_records_on_the_wire_have_the_documented_shapes(api: Api) -> None:
    """Every field of every Time Bank record is the one its Struct in schemas/timebank.py names."""
    import msgspec

    from schemas import timebank as shapes
    from tests.helpers import event_args

    w = await world(api)
    assert (await w.other_vol.send("volunteer.update", {"user_id": "vol-2", "fields": {
        "stations": [TH1, TH2]}}))["status"] == "applied"
    event_id = new_id()
    assert (await w.staff.send("event.create", event_args(event_id, TH1)))["status"] == "applied"
    at_event = new_id()
    assert (await w.staff.send("activity.create", {
        "id": at_event, "station": TH1, "title": "义卖保障", "service_type": "event_support",
        "date": "2026-09-05", "event_id": event_id, "project_id": "耆乐安居"}))["status"] == "applied"
    elsewhere = await w.staff.send("activity.create", {
        "id": new_id(), "station": TH1, "title": "无此活动", "service_type": "training",
        "date": "2026-09-05", "event_id": new_id()})
    assert elsewhere["status"] == "rejected" and elsewhere["code"] == "not_found"
    await approve_manual(w, 60)
    await w.manager.send("timebank.set_rate", {"station": TH1, "service_type": "training", "rate_cents": 80})
    item = new_id()
    await w.staff.send("catalogue.add", {"id": item, "station": TH1, "title": "义剪", "kind": "service",
                                         "cost_cents": 50})
    await w.vol_phone.send("redemption.request", {"id": new_id(), "item_id": item})
    await w.vol_phone.send("hours.check_in", {"id": new_id(), "activity_id": at_event, "at": at(200)})
    structs: dict[str, type[msgspec.Struct]] = {
        "volunteer": shapes.VolunteerRecord, "service_activity": shapes.ServiceActivityRecord,
        "volunteer_card": shapes.VolunteerCardRecord,
        "hour_log": shapes.HourLogRecord, "timebank_account": shapes.TimebankAccountRecord,
        "timebank_entry": shapes.TimebankEntryRecord, "timebank_rate": shapes.TimebankRateRecord,
        "redemption_item": shapes.RedemptionItemRecord, "redemption": shapes.RedemptionRecord,
    }
    seen = set()
    for (kind, _), data in (await fresh_snapshot(api, w.admin.token)).items():
        if kind in structs:
            assert set(data) == set(structs[kind].__struct_fields__), kind
            msgspec.convert(data, structs[kind])
            seen.add(kind)
    assert seen == set(structs)


async def test_concurrent_check_ins_of_one_volunteer_still_see_each_other(api: Api) -> None:
    """The volunteer's profile row is locked first, so the later push sees the earlier log."""
    import asyncio

    w = await world(api)
    results = await asyncio.gather(
        w.vol_phone.send("hours.check_in", {"id": new_id(), "activity_id": w.activity, "at": at(0)}),
        w.staff.send("hours.check_in", {"id": new_id(), "activity_id": w.activity,
                                        "volunteer_id": "vol-1", "at": at(1)}),
    )
    assert sorted(r["status"] for r in results) == ["applied", "flagged"]
