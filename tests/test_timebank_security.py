"""Separation of duties in the Time Bank and signed volunteer codes (issue 13), on
SQLite and PostgreSQL. Every test here fails on the code before: one staff member could
record and approve the same hours, approve and hand over their own redemption, check in
any volunteer at their station's activity, and the volunteer's code was a bare user id."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from server.domain import volunteer_codes
from sync.timeutil import iso, utc_now
from tests.conftest import Api
from tests.devices import Device
from tests.helpers import new_id
from tests.timebank_setup import TH1, TH2, TIANHE, World, at, balance, world

pytestmark = pytest.mark.anyio


def ago(hours: float) -> str:
    return iso(utc_now() - dt.timedelta(hours=hours))


def refused(result: dict[str, Any], code: str) -> None:
    assert result["status"] == "rejected" and result["code"] == code, result
    assert result["message"]["zh"] and result["message"]["en"], result


async def code_from_me(api: Api, device: Device) -> str:
    """The code the server hands the volunteer's phone with /api/v1/me."""
    response = await api.http.get("/api/v1/me", headers=api.auth(device.token))
    assert response.status_code == 200, response.text
    issued = response.json()["volunteer_code"]
    assert issued is not None
    return str(issued["code"])


async def old_code(api: Api, user: str, issued_hours_ago: float, days: float = 7) -> str:
    """A code the server issued ``issued_hours_ago`` (what a phone kept, or a screenshot)."""
    async with api.state.db.read() as conn:
        made = await volunteer_codes.issue(conn, user, days,
                                           now=utc_now() - dt.timedelta(hours=issued_hours_ago))
    assert made is not None
    return str(made["code"])


async def scan(device: Device, activity: str, code: str, device_at: str, **extra: Any) -> dict[str, Any]:
    """Staff scanned the volunteer's code (``hours.check_in@2``)."""
    return await device.send("hours.check_in", {"id": new_id(), "activity_id": activity, "at": device_at,
                                                "volunteer_code": code, **extra}, version=2)


# -- separation of duties ------------------------------------------------------------------


async def test_manual_staff_and_flagged_hours_need_a_second_person(api: Api) -> None:
    w = await world(api)
    # One staff member records a 23-hour session for vol-1 (flagged long_session) ...
    manual = new_id()
    result = await w.staff.send("hours.manual", {"id": manual, "activity_id": w.activity, "volunteer_id": "vol-1",
                                                 "check_in_at": at(-1200), "check_out_at": at(-1200 + 23 * 60)})
    assert result["status"] == "flagged" and result["code"] == "hours_long_session"
    # ... and cannot approve it; another staff member (here the manager) can.
    refused(await w.staff.send("hours.approve", {"id": manual}), "second_person_required")
    assert await balance(api, "vol-1") == 0
    assert (await w.manager.send("hours.approve", {"id": manual}))["status"] == "applied"
    assert await balance(api, "vol-1") == 2300

    # Staff checked the volunteer in and out: not theirs to approve.
    scanned = new_id()
    await w.staff.send("hours.check_in", {"id": scanned, "activity_id": w.activity, "volunteer_id": "vol-1",
                                          "at": at(0)})
    await w.staff.send("hours.check_out", {"id": scanned, "at": at(60)})
    refused(await w.staff.send("hours.approve", {"id": scanned}), "second_person_required")

    # The volunteer checked in themselves, staff checked them out: staff are in the log.
    own = new_id()
    await w.other_vol.send("hours.check_in", {"id": own, "activity_id": w.activity, "at": at(0)})
    await w.staff.send("hours.check_out", {"id": own, "at": at(45)})
    refused(await w.staff.send("hours.approve", {"id": own}), "second_person_required")
    await w.staff.pull()
    assert w.staff.of_type("hour_log")[own]["handled_by"] == ["vol-2", "staff-a"]
    assert (await w.manager.send("hours.approve", {"id": own}))["status"] == "applied"

    # A log nobody but the volunteer touched is approved by any staff member, as before.
    alone = new_id()
    await w.other_vol.send("hours.manual", {"id": alone, "activity_id": w.activity,
                                            "check_in_at": at(100), "check_out_at": at(160)})
    assert (await w.staff.send("hours.approve", {"id": alone}))["status"] == "applied"


async def test_nobody_approves_or_hands_over_their_own_redemption(api: Api) -> None:
    w = await world(api)
    # staff-a also volunteers at their station and earned three credits.
    assert (await w.staff.send("volunteer.register", {"user_id": "staff-a", "name": "张工",
                                                      "stations": [TH1]}))["status"] == "applied"
    log = new_id()
    await w.manager.send("hours.manual", {"id": log, "activity_id": w.activity, "volunteer_id": "staff-a",
                                          "check_in_at": at(0), "check_out_at": at(180)})
    refused(await w.staff.send("hours.approve", {"id": log}), "forbidden")  # their own hours
    assert (await w.admin.send("hours.approve", {"id": log}))["status"] == "applied"
    item = new_id()
    await w.manager.send("catalogue.add", {"id": item, "station": TH1, "title": "电影票", "kind": "goods",
                                           "cost_cents": 100})
    first, second = new_id(), new_id()
    for redemption in (first, second):
        r = await w.staff.send("redemption.request", {"id": redemption, "item_id": item})
        assert r["status"] == "applied", r
    refused(await w.staff.send("redemption.approve", {"id": first}), "own_redemption")
    refused(await w.staff.send("redemption.fulfil", {"id": second}), "own_redemption")
    await w.manager.pull()
    assert w.manager.of_type("redemption")[first]["status"] == "requested"
    assert w.manager.of_type("redemption")[second]["status"] == "requested"
    # Another staff member decides them.
    assert (await w.manager.send("redemption.approve", {"id": first}))["status"] == "applied"
    assert (await w.manager.send("redemption.fulfil", {"id": first}))["status"] == "applied"
    assert (await w.manager.send("redemption.fulfil", {"id": second}))["status"] == "applied"


async def two_station_world(api: Api) -> tuple[World, Device, Device, str]:
    """``world`` plus staff-b of TH-002, vol-3 (home TH-002, also serving TH-001), vol-4
    (TH-002 only), a district manager of 天河区 and an activity at TH-002."""
    w = await world(api)
    staff_b = Device(api, await api.token("staff-b", "staff", station=TH2))
    district = Device(api, await api.token("dm-th", "district_manager", district=TIANHE))
    for user, stations in (("vol-3", [TH2, TH1]), ("vol-4", [TH2])):
        r = await staff_b.send("volunteer.register", {"user_id": user, "name": user, "stations": stations})
        assert r["status"] == "applied", r
    activity_b = new_id()
    assert (await staff_b.send("activity.create", {"id": activity_b, "station": TH2, "title": "助残",
                                                   "service_type": "disability_support",
                                                   "date": "2026-11-25"}))["status"] == "applied"
    return w, staff_b, district, activity_b


async def test_staff_check_in_only_volunteers_of_stations_their_grant_covers(api: Api) -> None:
    w, staff_b, district, activity_b = await two_station_world(api)
    vol_1_code = await code_from_me(api, w.vol_phone)
    # vol-1 serves TH-001 only: staff of TH-002 cannot check them in at TH-002, by id or code.
    refused(await staff_b.send("hours.check_in", {"id": new_id(), "activity_id": activity_b,
                                                  "volunteer_id": "vol-1", "at": ago(0.1)}), "not_your_volunteer")
    refused(await scan(staff_b, activity_b, vol_1_code, ago(0.1)), "not_your_volunteer")
    # vol-3 (home TH-002) also serves TH-001: staff of TH-001 check them in from the list.
    r = await w.staff.send("hours.check_in", {"id": new_id(), "activity_id": w.activity,
                                              "volunteer_id": "vol-3", "at": ago(0.1)})
    assert r["status"] == "applied", r
    # vol-4 serves TH-002 only. The district manager covers TH-002, but at a TH-001
    # activity they need the volunteer's code (vol-4 is on no list of TH-001) ...
    refused(await district.send("hours.check_in", {"id": new_id(), "activity_id": w.activity,
                                                   "volunteer_id": "vol-4", "at": ago(0.1)}),
            "volunteer_code_required")
    vol_4 = Device(api, await api.token("vol-4", "volunteer", station=TH2))
    assert (await scan(district, w.activity, await code_from_me(api, vol_4), ago(0.1)))["status"] == "applied"
    # ... and staff of TH-001 alone cannot check vol-4 in even with the code.
    refused(await scan(w.staff, w.activity, await code_from_me(api, vol_4), ago(0.1)), "not_your_volunteer")


# -- signed volunteer codes ----------------------------------------------------------------


async def test_a_forged_code_is_refused(api: Api) -> None:
    w = await world(api)
    real = await code_from_me(api, w.vol_phone)
    generation, user, issued, expires, tag = real.split(".")
    assert volunteer_codes.parse(real)[2].user_id == "vol-1"
    # Another volunteer's id under vol-1's signature, a longer expiry, a made-up key.
    other_user = volunteer_codes.sign(b"x" * 32, int(generation), "vol-2", utc_now(), 7).split(".")[1]
    forged = [
        f"{generation}.{other_user}.{issued}.{expires}.{tag}",
        f"{generation}.{user}.{issued}.{'zz' + expires}.{tag}",
        volunteer_codes.sign(b"not the server's key-----------!!", int(generation), "vol-1", utc_now(), 7),
        "vol-1.plain.user.id.code",
    ]
    for code in forged:
        refused(await scan(w.staff, w.activity, code, ago(0.1)), "volunteer_code_invalid")
    # The bare user id of the old QR code is not a code at all.
    bad = await scan(w.staff, w.activity, "vol-1-as-before", ago(0.1))
    assert bad["status"] == "rejected" and bad["code"] in ("volunteer_code_invalid", "invalid_args")
    # Nothing was written; the real code works.
    await w.staff.pull()
    assert w.staff.of_type("hour_log") == {}
    ok = await scan(w.staff, w.activity, real, ago(0.1))
    assert ok["status"] == "applied", ok
    await w.staff.pull()
    (log,) = w.staff.of_type("hour_log").values()
    assert (log["volunteer_id"], log["source"], log["recorded_by"]) == ("vol-1", "staff_scan", "staff-a")


async def test_an_expired_code_is_refused_against_the_device_time(api: Api) -> None:
    w = await world(api)
    await code_from_me(api, w.vol_phone)  # the key exists
    short = await old_code(api, "vol-1", issued_hours_ago=3, days=1 / 12)  # expired an hour ago
    refused(await scan(w.staff, w.activity, short, ago(0.5)), "volunteer_code_expired")
    # The same code scanned while it was valid (device time 2.5 h ago) is accepted.
    assert (await scan(w.staff, w.activity, short, ago(2.5)))["status"] == "applied"
    # A device time before the code was issued is not believed either.
    refused(await scan(w.staff, w.activity, short, ago(5)), "volunteer_code_not_yet_valid")


async def test_a_code_scanned_in_its_validity_is_accepted_when_the_push_comes_later(api: Api) -> None:
    w = await world(api)
    await code_from_me(api, w.vol_phone)
    # Issued eight days ago, expired yesterday; the staff phone scanned it two days ago
    # offline and pushes only now.
    kept = await old_code(api, "vol-1", issued_hours_ago=8 * 24)
    result = await scan(w.staff, w.activity, kept, ago(48))
    assert result["status"] == "applied", result
    await w.staff.pull()
    (log,) = w.staff.of_type("hour_log").values()
    assert log["source"] == "staff_scan" and log["flags"] == []  # own station's volunteer: no flag


async def test_a_screenshot_from_last_week_is_refused_and_the_fresh_code_works(api: Api) -> None:
    w = await world(api)
    await code_from_me(api, w.vol_phone)
    screenshot = await old_code(api, "vol-1", issued_hours_ago=8 * 24)
    refused(await scan(w.staff, w.activity, screenshot, ago(0.05)), "volunteer_code_expired")
    fresh = await code_from_me(api, w.vol_phone)  # what the phone shows after its last sync
    assert fresh != screenshot
    assert (await scan(w.staff, w.activity, fresh, ago(0.05)))["status"] == "applied"


async def test_backdated_check_ins_of_another_stations_volunteer_are_flagged_and_older_refused(api: Api) -> None:
    w, _staff_b, _district, _activity_b = await two_station_world(api)
    await code_from_me(api, w.vol_phone)
    vol_3 = await old_code(api, "vol-3", issued_hours_ago=100)
    vol_1 = await old_code(api, "vol-1", issued_hours_ago=100)
    # vol-3 is at home at TH-002: a TH-001 check-in 30 hours back is kept and flagged.
    flagged = await scan(w.staff, w.activity, vol_3, ago(30))
    assert flagged["status"] == "flagged" and flagged["code"] == "hours_backdated", flagged
    assert flagged["message"]["zh"] and flagged["message"]["en"]
    # vol-1 is TH-001's own volunteer: the same backdating is accepted without a flag.
    assert (await scan(w.staff, w.activity, vol_1, ago(29)))["status"] == "applied"
    await w.staff.pull()
    flags = {log["volunteer_id"]: log["flags"] for log in w.staff.of_type("hour_log").values()}
    assert flags == {"vol-3": ["backdated"], "vol-1": []}
    # Further back than 72 hours is refused, with a code valid at that time, and without one.
    refused(await scan(w.staff, w.activity, vol_1, ago(73)), "check_in_too_old")
    refused(await w.staff.send("hours.check_in", {"id": new_id(), "activity_id": w.activity,
                                                  "volunteer_id": "vol-1", "at": ago(73)}), "check_in_too_old")
    # The volunteer's own late check-in is kept as before (flagged late_sync).
    late = await w.vol_phone.send("hours.check_in", {"id": new_id(), "activity_id": w.activity, "at": ago(80)})
    assert late["status"] == "flagged" and late["code"] in ("hours_late_sync", "hours_overlap")


async def test_the_code_key_rotates_and_old_codes_last_until_they_expire(api: Api) -> None:
    w = await world(api)
    before = await code_from_me(api, w.vol_phone)
    generation = await volunteer_codes.rotate(api.state.db, 7)
    after = await code_from_me(api, w.other_vol)
    assert after.split(".")[0] == str(generation) != before.split(".")[0]
    # A code signed with the previous key still works after the rotation.
    assert (await scan(w.staff, w.activity, before, ago(0.05)))["status"] == "applied"
    # Once the new key is older than a code's lifetime, the old key goes.
    await volunteer_codes.rotate(api.state.db, 7, now=utc_now() + dt.timedelta(days=8))
    refused(await scan(w.staff, w.activity, before, ago(0.04)), "volunteer_code_invalid")
    assert (await scan(w.staff, w.activity, after, ago(0.04)))["status"] == "applied"
