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
