"""The phone app drops what it may no longer see: an event moved to another station
leaves the old station's phones on their next sync (a scope exit, pulled as ``del``), and
a device whose grant changed gets a reset that replaces its replica.

v1 has no mutation that moves an event (``event.update`` has no station field), so the
move is pushed through the engine itself, from this process into the server's SQLite
database, with the test-only mutator of ``tests/helpers.py``: the same unit of
work and feed rows a real mutation would write.
"""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import msgspec
from playwright.sync_api import expect

from schemas.wire import PushRequest
from server.domain import build_registry
from server.settings import Settings
from sync.db import Database
from sync.hlc import HybridLogicalClock
from sync.push import push
from sync.scopes import Grant
from tests.browser.conftest import Server, eventually
from tests.browser.steps import enrol_phone
from tests.helpers import MoveArgs, move_event, mutation

REPLICA_EVENTS = """() => new Promise((resolve, reject) => {
  const open = indexedDB.open('charity');
  open.onerror = () => reject(open.error);
  open.onsuccess = () => {
    const got = open.result.transaction('replica').objectStore('replica').index('type').getAll('event');
    got.onsuccess = () => { resolve(got.result.map(r => r.data.title).sort()); open.result.close(); };
    got.onerror = () => reject(got.error);
  };
})"""


def move_on_server(server: Server, event_id: str, station: str) -> None:
    """Push ``test.event_move`` as an admin through ``sync.push`` on the server's database."""

    async def run() -> str:
        settings = Settings(data_dir=server.proc.data_dir, database_url=server.proc.database_url,
                            serve_static=False)
        registry = build_registry(settings)
        registry.mutation("test.event_move", 1, MoveArgs)(move_event)
        db = Database(server.proc.database_url)
        try:
            request = msgspec.json.decode(msgspec.json.encode({
                "protocol": 1, "client_id": str(uuid.uuid4()),
                "mutations": [mutation(1, "test.event_move", {"id": event_id, "stations": [station]})],
            }), type=PushRequest)
            grant = Grant(token_id="test-mover", user_id="admin", role="admin", station=None, district=None)
            outcome = await push(db, registry, HybridLogicalClock(node="test"), grant, request)
            return outcome.response.results[0].status
        finally:
            await db.dispose()

    with ThreadPoolExecutor(1) as pool:  # Playwright's loop runs in this thread
        assert pool.submit(asyncio.run, run()).result() == "applied"


def test_an_event_moved_away_leaves_the_phone(phones: Any, server: Server) -> None:
    server.station("MV-A")
    server.station("MV-B")
    moving = server.event("MV-A", "要搬走的活动", contact_phone="13800138000")
    server.event("MV-A", "留下的活动")
    phone = enrol_phone(phones, server, "scope-exit", "staff-mv-a", "staff", station="MV-A")
    cards = phone.page.get_by_test_id("event-card")
    expect(cards.filter(has_text="要搬走的活动")).to_be_visible()
    eventually(phone.page, REPLICA_EVENTS, ["留下的活动", "要搬走的活动"])

    move_on_server(server, moving, "MV-B")
    # any later change at MV-A pokes the phone: its next sync brings the removal with it
    staying = next(i for i, e in server.records("event").items() if e["title"] == "留下的活动")
    server.push("event.update", {"id": staying, "fields": {"notes": "搬走一个之后"}})

    expect(cards.filter(has_text="要搬走的活动")).to_have_count(0)
    expect(cards.filter(has_text="留下的活动")).to_be_visible()
    eventually(phone.page, REPLICA_EVENTS, ["留下的活动"])
    assert server.records("event")[moving]["station"] == "MV-B"


def test_a_changed_grant_replaces_the_replica(phones: Any, server: Server) -> None:
    server.station("GR-A")
    server.station("GR-B")
    server.event("GR-A", "甲站的活动")
    server.event("GR-B", "乙站的活动")
    phone = enrol_phone(phones, server, "grant-change", "staff-gr", "staff", station="GR-A")
    eventually(phone.page, REPLICA_EVENTS, ["甲站的活动"])

    # the person's membership moves to GR-B (a grant follows the person's memberships,
    # read at every request)
    with sqlite3.connect(server.proc.database_url.removeprefix("sqlite:///"), timeout=10) as db:
        moved = db.execute("UPDATE memberships SET station = 'GR-B' WHERE user_id = 'staff-gr'")
        assert moved.rowcount == 1
    phone.page.reload()  # the app syncs on start

    eventually(phone.page, REPLICA_EVENTS, ["乙站的活动"])
    cards = phone.page.get_by_test_id("event-card")
    expect(cards.filter(has_text="乙站的活动")).to_be_visible()
    expect(cards.filter(has_text="甲站的活动")).to_have_count(0)
