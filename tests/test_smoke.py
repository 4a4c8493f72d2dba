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
