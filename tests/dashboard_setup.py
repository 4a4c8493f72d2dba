"""A station with a fund, a volunteer, two activities of different service types and a
catalogue item, with the people who act on it: the common ground of the dashboard's tests
(tests/test_dashboard.py) and the seed of its browser test.

Each ``Place`` has its own station code, so a test can read the station's view alone
while others accumulate in the same database (hypothesis examples)."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass, field
from typing import Any

from tests.conftest import Api
from tests.devices import Device
from tests.donation_setup import money
from tests.helpers import campaign_args, new_id, station_args

DISTRICT = "天河区"
OTHER_DISTRICT = "越秀区"
DONOR = {"name": "张三丰", "phone": "13912345678", "wants_receipt": False}
VOLUNTEER_NAME, VOLUNTEER_PHONE = "李小明", "13800000001"
SECRET_NOTE = "秘密备注-请勿外传"
TARGET_FEN = 500_000
_numbers = itertools.count(1)


@dataclass
class Place:
    api: Api
    code: str
    district: str
    admin: Device
    federation: Device
    staff: Device
    manager: Device
    volunteer_id: str
    fund_id: str
    project_id: str
    activities: dict[str, str]
    item_id: str
    campaign_id: str
    gifts: list[dict[str, Any]] = field(default_factory=list)
    logs: list[dict[str, Any]] = field(default_factory=list)


def at(days_ago: float, minutes: float = 0) -> str:
    moment = (dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(days=days_ago)
              + dt.timedelta(minutes=minutes))
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


async def ok(device: Device, name: str, args: dict[str, Any]) -> dict[str, Any]:
    result = await device.send(name, args)
    assert result["status"] in ("applied", "flagged"), (name, result)
    return result


async def new_place(api: Api, district: str = DISTRICT, code: str | None = None,
                    name: str | None = None) -> Place:
    """A fresh station (its own code) in ``district`` with a fund and a project, staff and a
    manager, a registered volunteer, activities of two service types and a catalogue item."""
    number = next(_numbers)
    code = code or f"DB-{number:03d}"
    admin = Device(api, await api.token("admin", "admin"))
    await ok(admin, "station.create", station_args(code, district, name or f"测试站{number}"))
    federation = Device(api, await api.token(f"dm-{district}", "district_manager", district=district))
    staff = Device(api, await api.token(f"staff-{code}", "staff", station=code))
    manager = Device(api, await api.token(f"mgr-{code}", "manager", station=code))
    fund_id, project_id = new_id(), new_id()
    await ok(federation, "fund.create", {"id": fund_id, "name": f"{code} 社区基金",
                                         "district": district, "station": code,
                                         "purpose": "社区服务"})
    await ok(manager, "project.create", {"id": project_id, "fund_id": fund_id, "name": "长者助餐"})
    campaign_id = new_id()  # gifts from the public are taken under an open campaign
    await ok(federation, "campaign.create", campaign_args(
        campaign_id, [fund_id], district=district, stations=[code], target_fen=TARGET_FEN,
        name=f"{code} 慈善日募捐"))
    volunteer_id = f"vol-{code}"
    await ok(staff, "volunteer.register", {"user_id": volunteer_id, "name": VOLUNTEER_NAME,
                                           "phone": VOLUNTEER_PHONE, "stations": [code]})
    activities = {}
    for service_type in ("elder_care", "event_support"):
        activities[service_type] = new_id()
        await ok(staff, "activity.create", {"id": activities[service_type], "station": code,
                                            "title": "长者探访", "service_type": service_type,
                                            "date": at(0)[:10]})
    item_id = new_id()
    await ok(staff, "catalogue.add", {"id": item_id, "station": code, "title": "理发服务",
                                      "kind": "service", "cost_cents": 50})
    return Place(api, code, district, admin, federation, staff, manager, volunteer_id, fund_id,
                 project_id, activities, item_id, campaign_id)


async def give(place: Place, amount_fen: int, *, method: str = "cash", directed: bool = False
               ) -> dict[str, Any]:
    gift_id = new_id()
    args = money(gift_id, amount_fen, station=place.code, method=method, donor=DONOR,
                 fund_id=None if directed else place.fund_id,
                 project_id=place.project_id if directed else None)
    args["note"] = SECRET_NOTE
    args["campaign"] = place.campaign_id
    await ok(place.staff, "donation.record", args)
    gift = {"id": gift_id, "amount": amount_fen, "void": False, "method": method}
    place.gifts.append(gift)
    return gift


async def goods(place: Place, quantity: int) -> None:
    await ok(place.staff, "donation.record", {
        "id": new_id(), "station": place.code, "kind": "goods", "direction": "undirected",
        "items": [{"name": "大米", "unit": "袋", "quantity": quantity,
                   "estimated_value_fen": 5000}], "donor": DONOR,
        "campaign": place.campaign_id})


async def hand_out(place: Place, quantity: int) -> bool:
    result = await place.staff.send("goods.hand_out", {
        "id": new_id(), "station": place.code, "name": "大米", "unit": "袋",
        "quantity": quantity, "recipient_kind": "beneficiary", "recipient": "王大妈",
        "note": SECRET_NOTE})
    return bool(result["status"] == "applied")


async def correct(place: Place, gift: dict[str, Any], new_amount: int | None) -> str:
    """Correct (or void, ``None``) a gift; returns the outcome's status or code."""
    args: dict[str, Any] = {"id": new_id(), "donation_id": gift["id"],
                            "action": "void" if new_amount is None else "correct",
                            "reason": SECRET_NOTE}
    if new_amount is not None:
        args["new_amount_fen"] = new_amount
    result = await place.staff.send("donation.correct", args)
    if result["status"] in ("applied", "flagged"):
        gift["amount"] = 0 if new_amount is None else new_amount
        gift["void"] = new_amount is None
    return str(result.get("code") or result["status"])


async def spend(place: Place, amount_fen: int) -> bool:
    request_id = new_id()
    result = await place.staff.send("disbursement.request", {
        "id": request_id, "fund_id": place.fund_id, "project_id": place.project_id,
        "amount_fen": amount_fen, "payee": "王大妈", "purpose": SECRET_NOTE})
    if result["status"] != "applied":
        return False
    await ok(place.federation, "disbursement.decide", {"id": request_id, "decision": "approve"})
    await ok(place.admin, "disbursement.pay", {"id": request_id, "reference": "转账"})
    return True


async def serve(place: Place, minutes: int, service_type: str = "elder_care",
                days_ago: float = 1) -> dict[str, Any]:
    log_id = new_id()
    # sessions never overlap and always lie in the past (a later one further back: a check-in
    # in the future would fall after the period that ends today)
    start = -(len(place.logs) + 1) * 300
    await ok(place.staff, "hours.manual", {
        "id": log_id, "activity_id": place.activities[service_type],
        "volunteer_id": place.volunteer_id, "check_in_at": at(days_ago, start),
        "check_out_at": at(days_ago, start + minutes), "note": SECRET_NOTE})
    await ok(place.manager, "hours.approve", {"id": log_id})
    log = {"id": log_id, "minutes": minutes, "type": service_type, "reversed": False}
    place.logs.append(log)
    return log


async def reverse(place: Place, log: dict[str, Any]) -> bool:
    result = await place.manager.send("hours.reverse", {"id": log["id"], "reason": SECRET_NOTE})
    if result["status"] in ("applied", "flagged"):
        log["reversed"] = True
        return True
    return False


async def redeem(place: Place, volunteer: Device) -> bool:
    result = await volunteer.send("redemption.request", {"id": new_id(), "item_id": place.item_id})
    return bool(result["status"] == "applied")


async def volunteer_phone(place: Place) -> Device:
    return Device(place.api, await place.api.token(place.volunteer_id, "volunteer",
                                                   station=place.code))
