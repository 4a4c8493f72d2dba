"""The simulated phones the Python tests share (shared helpers live in plain modules,
never in a ``test_*`` module; tests/test_layout.py checks that).

- ``Device``: one phone speaking the sync API through the ``api`` fixture's client (a
  token, a client id, a mutation counter, a replica and a cursor); ``admin_with_stations``
  makes an admin one that has created stations.
- ``settle``, ``fresh_snapshot``, ``pull_page``: pulls that wait for PostgreSQL's visible
  horizon first, so a test never asserts on a pull that may lawfully lag.
- ``FaultyTransport`` and ``Crash``: an httpx transport that duplicates requests, loses
  answers, fails to connect or kills the phone mid-sync, for the real ``SyncClient``.

Argument builders (mutations, stations, events, HLC stamps) are in tests/helpers.py;
fixtures (``api``, ``state``, the databases) in tests/conftest.py.
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

import httpx
from sqlalchemy import func, select

from sync.tables import changes, mutations
from tests.conftest import Api, apply_page
from tests.helpers import mutation, new_id, station_args

# -- a phone on the sync API ---------------------------------------------------------------


class Device:
    """One phone: a token, its own client id and mutation counter, a replica and a cursor."""

    def __init__(self, api: Api, token: str) -> None:
        self.api = api
        self.token = token
        self.client_id = new_id()
        self.next_id = 1
        self.sent: list[dict[str, Any]] = []
        self.cursor: str | None = None
        self.replica: dict[tuple[str, str], dict[str, Any]] = {}

    def m(self, name: str, args: dict[str, Any], **kw: Any) -> dict[str, Any]:
        """The next mutation of this device (its id is taken now)."""
        built = mutation(self.next_id, name, args, **kw)
        self.next_id += 1
        self.sent.append(built)
        return built

    async def push(self, *batch: dict[str, Any]) -> dict[str, Any]:
        response = await self.api.push(self.token, self.client_id, list(batch))
        assert response.status_code == 200, response.text
        return cast(dict[str, Any], response.json())

    async def send(self, name: str, args: dict[str, Any], **kw: Any) -> dict[str, Any]:
        """Push one new mutation; return its result."""
        body = await self.push(self.m(name, args, **kw))
        (result,) = body["results"]
        return cast(dict[str, Any], result)

    async def pull(self) -> list[dict[str, Any]]:
        """Pull every page since this device's cursor; return the changes received."""
        received: list[dict[str, Any]] = []
        await settle(self.api)
        while True:
            response = await self.api.pull(self.token, self.client_id, self.cursor)
            assert response.status_code == 200, response.text
            page = response.json()
            apply_page(self.replica, page)
            received.extend(page["changes"])
            self.cursor = page["cursor"]
            if not page["more"]:
                return received

    def of_type(self, type_name: str) -> dict[str, dict[str, Any]]:
        return {rid: data for (t, rid), data in self.replica.items() if t == type_name}


async def admin_with_stations(api: Api, *codes: tuple[str, str]) -> Device:
    """An admin device that has created the given (code, district) stations."""
    admin = Device(api, await api.token("admin", "admin"))
    body = await admin.push(*[admin.m("station.create", station_args(code, district, f"站{code}"))
                              for code, district in codes])
    assert [r["status"] for r in body["results"]] == ["applied"] * len(codes)
    return admin


# -- pulls that wait for the visible horizon ----------------------------------------------


async def settle(api: Api) -> None:
    """On PostgreSQL, wait until the feed's visible horizon has passed every committed
    write. The horizon is cluster-wide (``pg_snapshot_xmin``): a transaction in flight
    anywhere on the server, even in another database, holds pulls back. The contract
    allows a pull to lag (a cursor must not pass a change in flight), so the tests wait
    for the horizon instead of asserting on a pull that may legitimately be behind."""
    db = api.state.db
    if not db.is_postgres:
        return
    deadline = asyncio.get_running_loop().time() + 60
    while True:
        async with db.read() as conn:
            horizon = await db.visible_horizon(conn)
            top = max(
                int((await conn.execute(select(func.max(changes.c.txid)))).scalar() or 0),
                int((await conn.execute(select(func.max(mutations.c.txid)))).scalar() or 0),
            )
        if horizon > top:
            return
        assert asyncio.get_running_loop().time() < deadline, "the visible horizon did not pass the last write"
        await asyncio.sleep(0.02)


async def fresh_snapshot(api: Api, token: str) -> dict[tuple[str, str], dict[str, Any]]:
    await settle(api)
    return await api.snapshot(token)


async def pull_page(api: Api, token: str, client_id: str, cursor: str | None = None) -> httpx.Response:
    await settle(api)
    return await api.pull(token, client_id, cursor)


# -- a network that fails ----------------------------------------------------------------


class Crash(Exception):
    """The phone died: raised after the server processed a request, before the client
    could record the answer. Not a transport error, so SyncClient does not retry it."""


class FaultyTransport(httpx.AsyncBaseTransport):
    """Wraps the ASGI transport; each request takes the next fault from ``faults``."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.faults: list[str] = []
        self.log: list[tuple[str, str]] = []

    async def _forward(self, request: httpx.Request, body: bytes) -> httpx.Response:
        copy = httpx.Request(request.method, request.url, headers=request.headers, content=body)
        response = await self.inner.handle_async_request(copy)
        content = await response.aread()
        return httpx.Response(
            response.status_code, headers=response.headers, content=content, request=request
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        fault = self.faults.pop(0) if self.faults else "ok"
        self.log.append((request.url.path, fault))
        if fault == "connect":
            raise httpx.ConnectError("simulated: no network", request=request)
        if fault == "dup_first":
            first = await self._forward(request, body)
            await self._forward(request, body)
            return first
        if fault == "dup_second":
            await self._forward(request, body)
            return await self._forward(request, body)
        response = await self._forward(request, body)
        if fault == "lose":
            raise httpx.ReadError("simulated: response lost", request=request)
        if fault == "crash":
            raise Crash(request.url.path)
        return response


# -- attachments: the upload protocol as a phone speaks it ---------------------------------


async def upload_file(api: Api, token: str, data: bytes, *, media_type: str = "image/jpeg",
                      stop_after: int | None = None) -> dict[str, Any]:
    """Start (or resume) an upload of ``data`` and send chunks from what the server holds;
    ``stop_after``: give up after that many chunks (a connection lost half-way). Returns the
    last answer's body (asserting every answer was 200)."""
    import hashlib

    sha = hashlib.sha256(data).hexdigest()
    started = await api.http.post("/api/v1/files", headers=api.auth(token), json={
        "sha256": sha, "size": len(data), "media_type": media_type})
    assert started.status_code == 200, started.text
    body = cast(dict[str, Any], started.json())
    sent = 0
    while not body["complete"] and (stop_after is None or sent < stop_after):
        offset, step = body["received"], body["chunk_size"]
        answer = await api.http.patch(
            f"/api/v1/files/{sha}", content=data[offset:offset + step],
            headers={**api.auth(token), "Upload-Offset": str(offset),
                     "Content-Type": "application/octet-stream"})
        assert answer.status_code == 200, answer.text
        body = cast(dict[str, Any], answer.json())
        sent += 1
    return body
