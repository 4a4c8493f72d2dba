"""A station with an event, a district fund with a project, and phones that record
donations: the common ground of the donation and fund tests."""

from __future__ import annotations

import random
import string
from dataclasses import dataclass, field
from typing import Any

from tests.conftest import Api
from tests.devices import Device
from tests.helpers import campaign_args, event_args, new_id, station_args

STATION = "TH-001"
OTHER_STATION = "YX-001"
DISTRICT = "天河区"


def code(rng: random.Random | None = None) -> str:
    """A verification code as a phone makes one."""
    pick = rng or random
    return "".join(pick.choice(string.ascii_uppercase.replace("O", "").replace("I", "") + "23456789")
                   for _ in range(8))


def money(donation_id: str, amount_fen: int, *, fund_id: str | None = None,
          project_id: str | None = None, event_id: str | None = None,
          receipt: dict[str, str] | None = None, station: str = STATION,
          donor: dict[str, Any] | None = None, method: str = "cash") -> dict[str, Any]:
    direction = "project" if project_id else "fund" if fund_id else "undirected"
    args: dict[str, Any] = {
        "id": donation_id, "station": station, "kind": "money", "amount_fen": amount_fen,
        "method": method, "direction": direction,
        "donor": donor or {"name": "张三", "phone": "13800138000", "wants_receipt": receipt is not None},
    }
    for key, value in (("fund_id", fund_id), ("project_id", project_id), ("event_id", event_id),
                       ("receipt", receipt)):
        if value is not None:
            args[key] = value
    return args


@dataclass
class ReceiptPhone:
    """A ``Device`` with its receipt series: numbers receipts offline as ``<series>-<n>``.
    (Not the browser's ``Phone`` of tests/browser/conftest.py, a real app in Chromium.)"""

    device: Device
    series: str = ""
    counter: int = 0
    rng: random.Random = field(default_factory=random.Random)

    def next_receipt(self) -> dict[str, str]:
        self.counter += 1
        return {"number": f"{self.series}-{self.counter:05d}", "code": code(self.rng)}


@dataclass
class World:
    api: Api
    admin: Device
    district: Device
    staff: Device
    manager: Device
    event_id: str
    fund_id: str
    project_id: str
    other_project_id: str
    campaign_id: str
    """An open campaign of the district raising for ``fund_id`` (gifts need one)."""


async def claim_series(device: Device, station: str = STATION) -> str:
    """Ask for a series online, then find it in the pulled records by this client id."""
    result = await device.send("receipt_series.claim", {"id": new_id(), "station": station})
    assert result["status"] == "applied", result
    await device.pull()
    mine = [s for s in device.of_type("receipt_series").values() if s["client_id"] == device.client_id]
    assert len(mine) >= 1
    return str(max(mine, key=lambda s: s["code"])["code"])


async def phone(world: World, user: str, role: str = "staff", station: str = STATION) -> ReceiptPhone:
    device = Device(world.api, await world.api.token(user, role, station=station))
    return ReceiptPhone(device, await claim_series(device, station), rng=random.Random(user))


async def build_world(api: Api, *, seed_fen: int = 0) -> World:
    admin = Device(api, await api.token("admin", "admin"))
    district = Device(api, await api.token("dm", "district_manager", district=DISTRICT))
    staff = Device(api, await api.token("staff1", "staff", station=STATION))
    manager = Device(api, await api.token("mgr1", "manager", station=STATION))
    for code_, district_ in ((STATION, DISTRICT), (OTHER_STATION, "越秀区")):
        result = await admin.send("station.create", station_args(code_, district_))
        assert result["status"] == "applied", result
    event_id, fund_id, project_id, other_project_id = new_id(), new_id(), new_id(), new_id()
    campaign_id = new_id()
    steps = [
        (staff, "event.create", event_args(event_id, STATION)),
        (district, "fund.create", {"id": fund_id, "name": "天河社区慈善基金", "district": DISTRICT,
                                   "station": STATION, "purpose": "社区服务"}),
        (manager, "project.create", {"id": project_id, "fund_id": fund_id, "name": "耆乐安居"}),
        (manager, "project.create", {"id": other_project_id, "fund_id": fund_id, "name": "助残"}),
    ]
    steps.append((district, "campaign.create", campaign_args(campaign_id, [fund_id])))
    if seed_fen:
        steps.append((district, "fund.seed", {"id": new_id(), "fund_id": fund_id,
                                              "amount_fen": seed_fen, "note": "种子资金"}))
    for device, name, args in steps:
        result = await device.send(name, args)
        assert result["status"] == "applied", (name, result)
    return World(api, admin, district, staff, manager, event_id, fund_id, project_id,
                 other_project_id, campaign_id)


async def raise_also(world: World, fund_id: str, *, city: bool = False) -> None:
    """Let gifts to another fund be collected: the world's campaign raises for it too (a
    district fund), or a city campaign of the admin's does (a city fund: a district
    campaign cannot raise for it)."""
    if city:
        result = await world.admin.send("campaign.create", campaign_args(
            new_id(), [fund_id], district=None, name="市慈善会募捐"))
    else:
        campaign = (await world.district.pull(), world.district.of_type("campaign"))[1][world.campaign_id]
        result = await world.district.send("campaign.update", {
            "id": world.campaign_id, "fields": {"fund_ids": [*campaign["fund_ids"], fund_id]}})
    assert result["status"] == "applied", result


async def campaign_at(admin: Device, station: str, district: str, fund_id: str | None = None) -> str:
    """An open campaign collecting at ``station`` only (with a community fund of its own
    when none is given): tests that record gifts at a bare station need one."""
    if fund_id is None:
        fund_id = new_id()
        made = await admin.send("fund.create", {"id": fund_id, "name": f"{station} 社区基金",
                                                "district": district, "station": station})
        assert made["status"] == "applied", made
    campaign_id = new_id()
    made = await admin.send("campaign.create", campaign_args(campaign_id, [fund_id], district=district,
                                                             stations=[station]))
    assert made["status"] == "applied", made
    return campaign_id
