"""A station's settings beyond its name: ``pin_required`` (docs/accounts.md, docs/pwa.md
"App lock"), on SQLite and PostgreSQL. Phones read it from the public station record to
decide whether staff set a PIN, so the record must carry it, only the station's managers
(and above) may change it, and it merges field by field like the name."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Api
from tests.devices import Device
from tests.helpers import station_args

pytestmark = pytest.mark.anyio

A, B = "PN-001", "PN-002"
TIANHE = "天河区"


async def _world(api: Api) -> dict[str, Device]:
    admin = Device(api, await api.token("admin", "admin"))
    assert (await admin.send("station.create", station_args(A, TIANHE, "天河一站")))["status"] == "applied"
    assert (await admin.send("station.create", {**station_args(B, TIANHE, "天河二站"),
                                                "pin_required": False}))["status"] == "applied"
    return {
        "admin": admin,
        "manager": Device(api, await api.token("pn-mgr", "manager", station=A)),
        "manager2": Device(api, await api.token("pn-mgr2", "manager", station=A)),
        "other_manager": Device(api, await api.token("pn-mgr-b", "manager", station=B)),
        "staff": Device(api, await api.token("pn-staff", "staff", station=A)),
        "volunteer": Device(api, await api.token("pn-vol", "volunteer", station=B)),
    }


async def _station(device: Device, code: str) -> dict[str, Any]:
    await device.pull()
    return device.of_type("station")[code]


async def test_the_station_record_carries_pin_required_on_by_default(api: Api) -> None:
    world = await _world(api)
    # a volunteer of B pulls both (stations are public) and reads each one's setting
    volunteer = world["volunteer"]
    assert (await _station(volunteer, A))["pin_required"] is True
    second = await _station(volunteer, B)
    assert second["pin_required"] is False
    assert set(second["field_hlc"]) == {"name", "pin_required"}


async def test_managers_of_the_station_set_pin_required_and_others_are_refused(api: Api) -> None:
    world = await _world(api)
    for who in ("staff", "other_manager", "volunteer"):
        refused = await world[who].send("station.update", {"code": A, "fields": {"pin_required": False}})
        assert refused["status"] == "rejected" and refused["code"] == "forbidden", (who, refused)
        assert refused["message"]["zh"] and refused["message"]["en"]
    assert (await _station(world["volunteer"], A))["pin_required"] is True  # nothing half-written

    done = await world["manager"].send("station.update", {"code": A, "fields": {"pin_required": False}})
    assert done["status"] == "applied", done
    seen = await _station(world["volunteer"], A)
    assert seen["pin_required"] is False and seen["name"] == "天河一站"

    # the admin turns it back on at the other station too (rank above manager)
    assert (await world["admin"].send("station.update", {"code": B, "fields": {"pin_required": True}})
            )["status"] == "applied"
    assert (await _station(world["volunteer"], B))["pin_required"] is True


async def test_pin_required_merges_field_by_field_with_the_name(api: Api) -> None:
    """Two managers edit from the same replica: one the name, one the PIN rule; both stand."""
    world = await _world(api)
    first, second = world["manager"], world["manager2"]
    before = await _station(first, A)
    await second.pull()
    renamed = await first.send("station.update", {
        "code": A, "fields": {"name": "天河一站(新址)"}, "base": {"name": before["field_hlc"]["name"]}})
    switched = await second.send("station.update", {
        "code": A, "fields": {"pin_required": False},
        "base": {"pin_required": before["field_hlc"]["pin_required"]}})
    assert renamed["status"] == "applied" and switched["status"] == "applied", (renamed, switched)
    after = await _station(world["volunteer"], A)
    assert (after["name"], after["pin_required"]) == ("天河一站(新址)", False)
    assert after["field_hlc"]["pin_required"] != before["field_hlc"]["pin_required"]
    assert after["field_hlc"]["name"] != before["field_hlc"]["name"]


async def test_pin_required_must_be_a_boolean(api: Api) -> None:
    world = await _world(api)
    for bad in ("no", 0, None):
        refused = await world["manager"].send("station.update", {"code": A, "fields": {"pin_required": bad}})
        assert refused["status"] == "rejected" and refused["code"] == "invalid_args", (bad, refused)
        assert "pin_required" in refused["message"]["en"]
    created = await world["admin"].send("station.create", {**station_args("PN-003", TIANHE, "三站"),
                                                           "pin_required": "yes"})
    assert created["status"] == "rejected" and created["code"] == "invalid_args", created
    await world["volunteer"].pull()
    assert set(world["volunteer"].of_type("station")) == {A, B}
