"""The live event totals page over a real server: a browser's EventSource gets new
totals when a phone syncs (SQLite: in-process pokes; PostgreSQL: LISTEN/NOTIFY)."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests import conftest
from tests.donation_setup import DISTRICT, STATION, money
from tests.helpers import campaign_args, event_args, mutation, new_id, station_args
from tests.serverproc import ServerProcess, cli_token

pytestmark = [pytest.mark.slow, pytest.mark.anyio]



@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ServerProcess]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'live.db'}"
    else:
        name = f"charity_live_{os.getpid()}"
        url = conftest.fresh_pg_database(name)
    process = ServerProcess(database_url=url, data_dir=tmp_path)
    try:
        process.start(timeout=45)
        yield process
    finally:
        process.stop()
        if request.param == "postgres":
            conftest.drop_pg_database(name)


async def test_event_page_stream_sends_totals_after_a_phone_syncs(server: ServerProcess) -> None:
    token = cli_token(database_url=server.database_url, data_dir=server.data_dir,
                      user="root", role="admin")
    event_id = new_id()
    fund_id = new_id()
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=server.base_url, timeout=20) as http:
        client_id = new_id()
        setup = [
            mutation(1, "station.create", station_args(STATION, DISTRICT)),
            mutation(2, "event.create", event_args(event_id, STATION)),
            mutation(3, "fund.create", {"id": fund_id, "name": "基金", "district": DISTRICT}),
            mutation(4, "campaign.create", campaign_args(new_id(), [fund_id], district=DISTRICT)),
        ]
        pushed = await http.post("/api/v1/sync/push", headers=headers, json={
            "protocol": 1, "client_id": client_id, "mutations": setup})
        assert [r["status"] for r in pushed.json()["results"]] == ["applied"] * 4

        received: list[dict] = []
        got_first = asyncio.Event()
        got_second = asyncio.Event()

        async def read() -> None:
            async with http.stream("GET", f"/api/v1/public/events/{event_id}/stream") as stream:
                assert stream.headers["content-type"].startswith("text/event-stream")
                event = None
                async for line in stream.aiter_lines():
                    if line.startswith("event:"):
                        event = line.split(":", 1)[1].strip()
                    elif line.startswith("data:") and event == "totals":
                        received.append(json.loads(line.split(":", 1)[1]))
                        (got_second if got_first.is_set() else got_first).set()

        reader = asyncio.create_task(read())
        try:
            await asyncio.wait_for(got_first.wait(), 10)
            assert received[0]["money_fen"] == 0
            gift = mutation(5, "donation.record", money(new_id(), 6_600, fund_id=fund_id,
                                                        event_id=event_id))
            pushed = await http.post("/api/v1/sync/push", headers=headers, json={
                "protocol": 1, "client_id": client_id, "mutations": [gift]})
            assert pushed.json()["results"][0]["status"] == "applied"
            await asyncio.wait_for(got_second.wait(), 10)
            assert received[-1]["money_fen"] == 6_600 and received[-1]["money_count"] == 1
        finally:
            reader.cancel()
            with pytest.raises(asyncio.CancelledError):
                await reader
