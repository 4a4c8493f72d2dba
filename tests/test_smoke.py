"""The server starts, migrates, and serves health and the contract's schema."""

from __future__ import annotations

import pytest

from tests.conftest import Api

pytestmark = pytest.mark.anyio


async def test_health_reports_database(api: Api) -> None:
    response = await api.http.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"] == ("postgresql" if api.state.db.is_postgres else "sqlite")


async def test_schema_lists_every_mutation(api: Api) -> None:
    schema = (await api.http.get("/api/v1/sync/schema")).json()
    assert {"event.create@1", "event.update@1", "station.create@1", "conflict.resolve@1"} <= set(
        schema["mutations"]
    )
    assert "PushRequest" in schema["messages"]


async def test_pull_rebuilds_records_written_before_wire_was_stored(api: Api) -> None:
    """Change rows from before migration 0006 carry no wire JSON; pull builds it from the record."""
    from sqlalchemy import update

    from sync.tables import changes
    from tests.helpers import mutation, new_id, station_args

    admin = await api.token("admin", "admin")
    pushed = await api.push(admin, new_id(), [mutation(1, "station.create", station_args())])
    assert pushed.json()["results"][0]["status"] == "applied"
    before = await api.snapshot(admin)
    async with api.state.db.engine.begin() as conn:
        await conn.execute(update(changes).values(wire=None))
    after = await api.snapshot(admin)
    assert after[("station", "TH-001")] == before[("station", "TH-001")]
    assert after[("station", "TH-001")]["name"] == "天河社工站"
