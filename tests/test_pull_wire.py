"""Pull sends the record JSON stored with its change row, and still serves rows that
have none (written before migration 0006) from the record itself."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from sync.tables import changes
from tests.conftest import Api
from tests.helpers import event_args, mutation, new_id, station_args

pytestmark = pytest.mark.anyio


async def test_rows_without_stored_json_are_built_from_the_record(api: Api) -> None:
    admin = await api.token("admin", "admin")
    client = new_id()
    first, second, gone = new_id(), new_id(), new_id()
    response = await api.push(admin, client, [
        mutation(1, "station.create", station_args()),
        mutation(2, "event.create", event_args(first, title="第一场")),
        mutation(3, "event.create", event_args(second, title="第二场")),
        mutation(4, "event.create", event_args(gone, title="取消")),
        mutation(5, "event.delete", {"id": gone}),
    ])
    assert [r["status"] for r in response.json()["results"]] == ["applied"] * 5
    fresh = await api.snapshot(admin)
    assert fresh[("event", first)]["title"] == "第一场"
    assert ("event", gone) not in fresh

    # as rows from before 0006: no JSON in the feed (records keep none since 0010)
    async def legacy(conn: object) -> None:
        await conn.execute(update(changes).values(wire=None))  # type: ignore[attr-defined]

    await api.state.db.run_write(legacy)
    old = await api.snapshot(admin)
    assert old[("event", first)] == fresh[("event", first)]  # built with to_wire
    assert old[("event", second)] == fresh[("event", second)]
    assert ("event", gone) not in old
    assert old[("station", "TH-001")] == fresh[("station", "TH-001")]


async def test_remaining_counts_what_the_grant_has_still_to_pull(api: Api) -> None:
    """``want_remaining`` (asked on a run's first page, for the phone's progress bar):
    the changes after this page that this grant sees; without it the answer is as before."""
    admin = await api.token("admin", "admin")
    client = new_id()
    here = [new_id() for _ in range(7)]
    elsewhere = [new_id() for _ in range(4)]
    response = await api.push(admin, client, [
        mutation(1, "station.create", station_args()),
        mutation(2, "station.create", station_args("YX-001", "越秀区", "越秀社工站")),
        *[mutation(3 + i, "event.create", event_args(e)) for i, e in enumerate(here)],
        *[mutation(10 + i, "event.create", event_args(e, station="YX-001"))
          for i, e in enumerate(elsewhere)],
    ])
    assert {r["status"] for r in response.json()["results"]} == {"applied"}
    manager = await api.token("dm", "district_manager", district="天河区")
    phone = new_id()
    seen = await api.snapshot(manager)
    visible = len(seen)
    assert {("event", e) for e in here} <= seen.keys()
    assert not {("event", e) for e in elsewhere} & seen.keys()  # the count must skip these

    old = (await api.pull(manager, phone, limit=3)).json()
    assert old["remaining"] is None and old["more"]

    body = {"protocol": 1, "client_id": phone, "cursor": None, "limit": 3, "want_remaining": True}
    first = (await api.http.post("/api/v1/sync/pull", json=body, headers=api.auth(manager))).json()
    assert len(first["changes"]) == 3
    assert first["remaining"] == visible - 3
    # asked again mid-run (a reload resumes from the stored cursor)
    body = {**body, "cursor": first["cursor"]}
    second = (await api.http.post("/api/v1/sync/pull", json=body, headers=api.auth(manager))).json()
    assert second["remaining"] == visible - 6
    body = {**body, "cursor": second["cursor"], "limit": 100}
    last = (await api.http.post("/api/v1/sync/pull", json=body, headers=api.auth(manager))).json()
    assert not last["more"] and last["remaining"] == 0 and len(last["changes"]) == visible - 6
