"""Notifications through a real ``python -m server serve``: the background task started
in the app's lifespan drains to a loopback push service, the server is killed
(SIGKILL) with a send in flight, and a new server finishes the work."""

from __future__ import annotations

import asyncio
import os
import signal
import time
import uuid
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from server.auth import issue_token
from server.notify.tables import push_deliveries
from server.state import AppState
from tests.helpers import mutation, new_id, station_args
from tests.pushservice import PushService, sent_pairs
from tests.serverproc import ServerProcess, run_cli

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

FLAGGED = 8


async def _sent(state: AppState) -> int:
    async with state.db.read() as conn:
        return int((await conn.execute(select(func.count()).select_from(push_deliveries)
                                       .where(push_deliveries.c.state == "sent"))).scalar_one())


async def _until(condition, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not await condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.1)


async def test_a_killed_server_loses_no_push_and_repeats_none_that_was_answered(
    state: AppState, database_url: str, tmp_path: Path
) -> None:
    service = await PushService().start()
    env = {"CHARITY_PUSH_ALLOW_HTTP": "1", "CHARITY_PUSH_ANY_HOST": "1", "CHARITY_NOTIFY_POLL_SECONDS": "1",
           "CHARITY_PUSH_TIMEOUT_SECONDS": "1", "CHARITY_PUSH_CONCURRENCY": "1"}
    data_dir = tmp_path / "srv"
    _, admin = await issue_token(state.db, user="root", role="admin", station=None, district=None)
    _, manager = await issue_token(state.db, user="m1", role="manager", station="TH-001",
                                   district=None)
    _, staff = await issue_token(state.db, user="s1", role="staff", station="TH-001", district=None)
    first = ServerProcess(database_url=database_url, data_dir=data_dir, extra_env=env).start()
    try:
        async with httpx.AsyncClient(base_url=first.base_url, timeout=10) as http:
            auth = {"Authorization": f"Bearer {admin}"}
            subs = [service.subscription(), service.subscription()]
            for sub in subs:
                made = await http.post("/api/v1/push/subscriptions", json=sub,
                                       headers={"Authorization": f"Bearer {manager}"})
                assert made.status_code == 201, made.text
            made = (await http.post("/api/v1/sync/push", headers=auth, json={
                "protocol": 1, "client_id": str(uuid.uuid4()),
                "mutations": [mutation(1, "station.create", station_args())]})).json()
            assert made["results"][0]["status"] == "applied", made
            event_id = new_id()
            batch = [mutation(1, "event.create", {"id": event_id, "station": "TH-001",
                                                  "date": "2026-09-05", "title": "义卖"})]
            # each edit made without seeing the stored date conflicts and is flagged for review
            old = "0000000000000001:0000:old-phone"
            batch += [mutation(2 + i, "event.update",
                               {"id": event_id, "fields": {"date": f"2026-10-{10 + i}"},
                                "base": {"date": old}}, stamp=old) for i in range(FLAGGED)]
            service.hold_after = 5
            body = (await http.post("/api/v1/sync/push", headers={"Authorization": f"Bearer {staff}"},
                                    json={"protocol": 1, "client_id": str(uuid.uuid4()),
                                          "mutations": batch})).json()
            assert [r["status"] for r in body["results"]].count("flagged") == FLAGGED, body

        async def five_sent_one_held() -> bool:
            return service.held >= 1 and await _sent(state) >= 5

        await _until(five_sent_one_held, 60, "five pushes sent and one in flight")
        os.killpg(first.proc.pid, signal.SIGKILL)  # type: ignore[union-attr]
        first.stop()
    finally:
        first.stop()
    await asyncio.sleep(0.5)  # let the push service see the dead server's connections drop
    recorded = await sent_pairs(state)
    before = {(r.subscription, r.payload["id"]) for r in service.received}
    service.release()
    total = FLAGGED * len(subs)

    second = ServerProcess(database_url=database_url, data_dir=data_dir, extra_env=env).start()
    try:
        async def all_sent() -> bool:
            return await _sent(state) == total

        await _until(all_sent, 90, "every push sent after the restart")
    finally:
        second.stop()
        await service.stop()

    assert service.errors == []
    pairs = [(r.subscription, r.payload["id"]) for r in service.received]
    delivered = [(r.subscription, r.payload["id"]) for r in service.received
                 if r.answered and r.answered < 300]
    assert len(set(delivered)) == total  # every push reached its subscription
    repeats = {p for p in pairs if pairs.count(p) > 1}
    assert not repeats & recorded  # nothing recorded as sent went again
    assert repeats <= before - recorded  # only what was on the wire when it died ...
    for pair in repeats:  # ... and then under the same Topic
        assert len({r.topic for r in service.received
                    if (r.subscription, r.payload["id"]) == pair}) == 1
    assert any(not r.answered for r in service.received), "a send was in flight at the kill"


def test_vapid_show_and_rotate_commands(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'charity.db'}"
    shown = run_cli(["vapid", "show"], database_url=url, data_dir=tmp_path)
    assert shown.returncode == 0, shown.stderr
    again = run_cli(["vapid", "show"], database_url=url, data_dir=tmp_path)
    rotated = run_cli(["vapid", "rotate"], database_url=url, data_dir=tmp_path)
    assert rotated.returncode == 0, rotated.stderr
    key_one = shown.stdout.split()[-1]
    assert again.stdout.split()[-1] == key_one  # made once, then kept
    assert rotated.stdout.startswith("vapid key 2 (new)")
    assert rotated.stdout.split()[-1] != key_one and len(key_one) == 87
