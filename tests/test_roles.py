"""The role matrix: what each role may see on pull and do on push, as one readable table.

"Own station" is TH-001 in 天河区 (the district manager's district is 天河区; the admin has
no station and acts everywhere). Y = allowed (seen / applied), N = not seen / rejected
with code ``forbidden``. Docs mirror this table; change both together.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from sqlalchemy import func, select

from sync.tables import mutations
from tests.conftest import Api
from tests.helpers import event_args, mutation, new_id, station_args

pytestmark = pytest.mark.anyio

Y, N = True, False
ROLES = ("volunteer", "staff", "manager", "district_manager", "admin")

MATRIX: list[tuple[str, bool, bool, bool, bool, bool]] = [
    # action                                                  volunteer staff manager district_manager admin
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
    ("push: station.create in own district",                      N,     N,     N,       Y,            Y),
    ("push: station.create in another district",                  N,     N,     N,       N,            Y),
    ("push: conflict.resolve at own station",                     N,     N,     Y,       Y,            Y),
]

OWN, NEAR, FAR = "TH-001", "TH-002", "YX-001"
TIANHE, YUEXIU = "天河区", "越秀区"
PHONE = "+86 138 0000 0001"


def _stamp(offset_ms: int, node: str) -> str:
    return f"{int(time.time() * 1000) + offset_ms:016d}:0000:{node}"


async def _snapshot(api: Api, token: str) -> dict[tuple[str, str], dict[str, Any]]:
    """A full snapshot once every committed write is below the feed's visible horizon.
    On PostgreSQL the horizon is the oldest transaction in flight on the whole server,
    so a pull may lag a push that just returned; the contract allows that lag."""
    db = api.state.db
    if db.is_postgres:
        deadline = asyncio.get_running_loop().time() + 60
        while True:
            async with db.read() as conn:
                horizon = await db.visible_horizon(conn)
                top = (await conn.execute(select(func.max(mutations.c.txid)))).scalar() or 0
            if horizon > top:
                break
            assert asyncio.get_running_loop().time() < deadline, "the visible horizon did not move"
            await asyncio.sleep(0.02)
    return await api.snapshot(token)


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


async def _world(api: Api) -> dict[str, str]:
    """Three stations in two districts, an event at each, one more to delete, and an open
    conflict at the own station. Returns the ids."""
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
    snapshot = await _snapshot(api, admin.token)
    base = snapshot[("event", ids["own"])]["field_hlc"]["date"]
    results = await admin.push(
        ("event.update", {"id": ids["own"], "fields": {"date": "2026-10-01"}, "base": {"date": base}},
         _stamp(1_000, "phone-x")),
        ("event.update", {"id": ids["own"], "fields": {"date": "2026-10-02"}, "base": {"date": base}},
         _stamp(2_000, "phone-y")),
    )
    assert [r["status"] for r in results] == ["applied", "flagged"]
    snapshot = await _snapshot(api, admin.token)
    (conflict_id,) = [rid for (t, rid) in snapshot if t == "conflict"]
    ids["conflict"] = conflict_id
    return ids


def _allowed(result: dict[str, Any]) -> bool:
    if result["status"] == "applied":
        return True
    assert (result["status"], result.get("code")) == ("rejected", "forbidden"), result
    return False


async def _token_for(api: Api, role: str) -> str:
    if role == "admin":
        return await api.token("someone-admin", "admin")
    if role == "district_manager":
        return await api.token("someone-dm", "district_manager", district=TIANHE)
    return await api.token(f"someone-{role}", role, station=OWN)


@pytest.mark.parametrize("role", ROLES)
async def test_role_matrix(api: Api, role: str) -> None:
    ids = await _world(api)
    token = await _token_for(api, role)

    seen = await _snapshot(api, token)
    observed: dict[str, bool] = {
        "pull: stations (public)": {("station", c) for c in (OWN, NEAR, FAR)} <= set(seen),
        "pull: events of own station": ("event", ids["own"]) in seen,
        "pull: contact_phone of own station's events": seen.get(("event", ids["own"]), {}).get("contact_phone")
        == PHONE,
        "pull: events of another station in the district": ("event", ids["near"]) in seen,
        "pull: events of another district": ("event", ids["far"]) in seen,
        "pull: conflicts of own station": ("conflict", ids["conflict"]) in seen,
    }

    device = _Device(api, token)
    actions = [
        ("push: event.create at own station", "event.create", event_args(new_id(), OWN)),
        ("push: event.update at own station", "event.update", {"id": ids["own"], "fields": {"title": "改名"}}),
        ("push: event.create at another station in the district", "event.create", event_args(new_id(), NEAR)),
        ("push: event.create in another district", "event.create", event_args(new_id(), FAR)),
        ("push: event.delete at own station", "event.delete", {"id": ids["doomed"]}),
        ("push: station.create in own district", "station.create", station_args("TH-099", TIANHE, "新站")),
        ("push: station.create in another district", "station.create", station_args("YX-099", YUEXIU, "新站")),
        ("push: conflict.resolve at own station", "conflict.resolve",
         {"id": ids["conflict"], "action": "accept"}),
    ]
    results = await device.push(*[(name, args, None) for _, name, args in actions])
    for (label, _, _), result in zip(actions, results, strict=True):
        observed[label] = _allowed(result)

    column = ROLES.index(role) + 1
    expected = {row[0]: row[column] for row in MATRIX}
    assert observed == expected

    # What was allowed really happened (and what was refused did not).
    after = await _snapshot(api, await api.token("auditor", "admin"))
    assert (("event", ids["doomed"]) not in after) == expected["push: event.delete at own station"]
    assert (("station", "TH-099") in after) == expected["push: station.create in own district"]
    conflict = after[("conflict", ids["conflict"])]
    assert (conflict["status"] == "accepted") == expected["push: conflict.resolve at own station"]


def test_matrix_is_complete() -> None:
    labels = [row[0] for row in MATRIX]
    assert len(labels) == len(set(labels))
    assert all(len(row) == 1 + len(ROLES) for row in MATRIX)
