"""The Time Bank's test world: two stations, staff and a manager of one, volunteers with
two phones, an activity (tests/test_timebank.py, tests/test_timebank_security.py)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from schemas.events import EVENTS, DomainEvent, event_data
from server.domain.timebank import timebank_accounts
from sync.timeutil import iso, utc_now
from sync.unit import MutationContext, Tx
from tests.conftest import Api
from tests.devices import Device, admin_with_stations
from tests.helpers import new_id

TH1, TH2 = "TH-001", "TH-002"
TIANHE = "天河区"


_ORIGIN = utc_now().replace(second=0, microsecond=0) - dt.timedelta(hours=6)
"""Six hours before the test process started, fixed: a base read afresh at each call moved
by a minute when a test's calls straddled a minute's end."""


def at(minutes: float, base: dt.datetime | None = None) -> str:
    """A device time ``minutes`` after a base about six hours ago (UTC, ``Z``)."""
    return iso((base or _ORIGIN) + dt.timedelta(minutes=minutes))


@dataclass
class World:
    admin: Device
    staff: Device
    manager: Device
    vol_phone: Device
    vol_phone_2: Device
    other_vol: Device
    activity: str
    events: list[tuple[str, dict[str, Any]]]


async def world(api: Api, service_type: str = "elder_care") -> World:
    """Two stations, staff and a manager of TH-001, volunteer vol-1 with two phones,
    volunteer vol-2, and one service activity; domain events are recorded."""
    admin = await admin_with_stations(api, (TH1, TIANHE), (TH2, TIANHE))
    staff = Device(api, await api.token("staff-a", "staff", station=TH1))
    manager = Device(api, await api.token("mgr-a", "manager", station=TH1))
    vol = Device(api, await api.token("vol-1", "volunteer", station=TH1))
    vol_2 = Device(api, await api.token("vol-1", "volunteer", station=TH1))
    other = Device(api, await api.token("vol-2", "volunteer", station=TH1))
    events: list[tuple[str, dict[str, Any]]] = []
    for kind in ("hours.submitted", "hours.decided"):
        async def record(tx: Tx, ctx: MutationContext, event: DomainEvent, kind: str = kind) -> None:
            events.append((kind, event_data(event)))
        api.state.registry.on(EVENTS[kind], record)
    activity = new_id()
    body = await staff.push(
        staff.m("volunteer.register", {"user_id": "vol-1", "name": "李小明", "phone": "13800000001",
                                       "stations": [TH1], "skills": ["陪伴"]}),
        staff.m("activity.create", {"id": activity, "station": TH1, "title": "长者探访",
                                    "service_type": service_type, "date": "2026-11-25"}),
    )
    assert [r["status"] for r in body["results"]] == ["applied", "applied"], body
    # vol-2 registers themselves.
    assert (await other.send("volunteer.register", {"user_id": "vol-2", "name": "王芳",
                                                     "stations": [TH1]}))["status"] == "applied"
    return World(admin, staff, manager, vol, vol_2, other, activity, events)


async def balance(api: Api, user: str) -> int:
    async with api.state.db.read() as conn:
        return int((await conn.execute(
            select(timebank_accounts.c.balance_cents).where(timebank_accounts.c.id == f"vol:{user}")
        )).scalar_one())
