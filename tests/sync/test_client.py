"""Tests of sync.client.SyncClient against an in-memory fake of the sync server.

The fake implements the contract's push/pull semantics (exactly once by id and key,
gap refusal, rejected mutations, a paged change feed with reset) behind an
httpx.MockTransport, and can be told to fail in the ways a real network does.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas.wire import MutationResult, PushResponse
from sync.client import (
    MutationGap,
    Overloaded,
    ProtocolError,
    ServerError,
    SyncClient,
    SyncError,
    TransientError,
)
from sync.hlc import parse

BASE = "http://sync.test"
TOKEN = "device-token-1"
FUTURE_MS = 4_102_444_800_000  # 2100-01-01, far ahead of any test's wall clock
FUTURE_STAMP = f"{FUTURE_MS:016d}:0007:other-device"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _err(status: int, code: str, **extra: Any) -> httpx.Response:
    body = {"code": code, "message": {"zh": "错误", "en": code}, **extra}
    return httpx.Response(status, json=body)


class FakeServer:
    """Enough of the server to check the client: push/pull semantics plus injectable faults."""

    def __init__(self) -> None:
        self.last: dict[str, int] = {}
        self.keys: set[str] = set()
        self.applied: list[tuple[str, int]] = []
        self.records: dict[tuple[str, str], dict[str, Any]] = {}
        self.log: list[tuple[int, str, str, str, dict[str, Any] | None]] = []
        self.requests: list[httpx.Request] = []
        self.push_log: list[dict[str, Any]] = []
        self.pull_log: list[dict[str, Any]] = []
        # Callables consulted before normal handling; one is popped per request when set.
        self.faults: list[Callable[[httpx.Request], httpx.Response | None]] = []
        # Pushes whose response is lost after the server committed them.
        self.lose_push_responses = 0
        self.force_reset = False

    # -- transport

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return _err(401, "unauthorized")
        if self.faults:
            fault = self.faults.pop(0)
            response = fault(request)
            if response is not None:
                return response
        if request.url.path == "/api/v1/sync/push":
            body = json.loads(request.content)
            self.push_log.append(body)
            response = self.push(body)
            if response.status_code == 200 and self.lose_push_responses:
                self.lose_push_responses -= 1
                raise httpx.ReadError("connection reset after the server committed")
            return response
        if request.url.path == "/api/v1/sync/pull":
            body = json.loads(request.content)
            self.pull_log.append(body)
            return self.pull(body)
        return httpx.Response(404)

    # -- push

    def push(self, body: dict[str, Any]) -> httpx.Response:
        if body.get("protocol") != 1 or "client_id" not in body:
            return _err(400, "invalid_envelope")
        cid = body["client_id"]
        last = self.last.get(cid, 0)
        new = [m for m in body["mutations"] if m["id"] > last]
        if new and new[0]["id"] != last + 1:
            return _err(409, "mutation_gap", expected=last + 1)
        results: list[dict[str, Any]] = []
        for m in body["mutations"]:
            if m["id"] <= last or m["key"] in self.keys:
                results.append({"id": m["id"], "status": "duplicate"})
            elif m["name"] == "note.put":
                self._put("note", m["args"]["id"], {**m["args"], "field_hlc": {"text": m["hlc"]}})
                results.append({"id": m["id"], "status": "applied"})
            elif m["name"] == "note.del":
                self._del("note", m["args"]["id"])
                results.append({"id": m["id"], "status": "applied"})
            else:
                results.append(
                    {
                        "id": m["id"],
                        "status": "rejected",
                        "code": "invalid_args",
                        "message": {"zh": "未知操作", "en": f"unknown mutation {m['name']}"},
                        "issue_id": f"issue-{m['id']}",
                    }
                )
            if m["id"] > last:
                self.keys.add(m["key"])
                self.applied.append((cid, m["id"]))
                last = m["id"]
        self.last[cid] = last
        return httpx.Response(200, json={"last_mutation_id": last, "results": results})

    def _put(self, type_: str, id_: str, data: dict[str, Any]) -> None:
        self.records[(type_, id_)] = data
        self.log.append((len(self.log) + 1, type_, id_, "put", data))

    def _del(self, type_: str, id_: str) -> None:
        self.records.pop((type_, id_), None)
        self.log.append((len(self.log) + 1, type_, id_, "del", None))

    # -- pull

    def pull(self, body: dict[str, Any]) -> httpx.Response:
        cid, cursor, limit = body["client_id"], body["cursor"], body["limit"]
        last = self.last.get(cid, 0)
        head = str(len(self.log))
        if cursor is None or self.force_reset:
            self.force_reset = False
            changes = [
                {"type": t, "id": i, "op": "put", "data": d} for (t, i), d in self.records.items()
            ]
            page = {"cursor": head, "reset": True, "more": False, "changes": changes}
        else:
            pending = [e for e in self.log if e[0] > int(cursor)]
            chunk = pending[:limit]
            changes = []
            for _, t, i, op, d in chunk:
                change: dict[str, Any] = {"type": t, "id": i, "op": op}
                if op == "put":
                    change["data"] = d
                changes.append(change)
            page = {
                "cursor": str(chunk[-1][0]) if chunk else cursor,
                "reset": False,
                "more": len(pending) > limit,
                "changes": changes,
            }
        return httpx.Response(200, json={**page, "last_mutation_id": last})


class SleepRecorder:
    """Injected instead of asyncio.sleep: records delays, never sleeps."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.calls.append(delay)


@pytest.fixture
def fake() -> FakeServer:
    return FakeServer()


@pytest.fixture
def sleeps() -> SleepRecorder:
    return SleepRecorder()


@pytest.fixture
def state(tmp_path: Path) -> Path:
    return tmp_path / "state.sqlite3"


@pytest.fixture
def make(
    fake: FakeServer, sleeps: SleepRecorder, state: Path
) -> Iterator[Callable[..., SyncClient]]:
    """Build clients on the fake; their sqlite files are closed at teardown."""
    made: list[SyncClient] = []

    def build(**kw: Any) -> SyncClient:
        kw.setdefault("http", httpx.AsyncClient(transport=fake.transport()))
        kw.setdefault("sleep", sleeps)
        kw.setdefault("rng", random.Random(1234))
        path = kw.pop("state_path", state)
        client = SyncClient(BASE, TOKEN, path, **kw)
        made.append(client)
        return client

    yield build
    for client in made:
        if not client._closed:
            client._db.close()


def note(i: int, text: str = "hello") -> dict[str, Any]:
    return {"id": f"n{i}", "text": text}


# --------------------------------------------------------------------------- local state


@pytest.mark.anyio
async def test_ids_increase_and_survive_reopen(make: Callable[..., SyncClient]) -> None:
    client = make()
    ids = [client.enqueue("note.put", note(i)) for i in range(3)]
    assert ids == [1, 2, 3]
    before = client.pending()
    cid = client.client_id
    await client.close()  # a "crash": nothing pushed

    again = make()
    assert again.client_id == cid
    assert [r["id"] for r in again.pending()] == [1, 2, 3]
    assert [r["key"] for r in again.pending()] == [r["key"] for r in before]
    assert again.pending()[0]["args"] == note(0)
    assert again.enqueue("note.put", note(4)) == 4
    stamps = [r["hlc"] for r in again.pending()]
    assert stamps == sorted(stamps) and len(set(stamps)) == 4
    assert all(parse(s).node == cid for s in stamps)
    await again.close()


@pytest.mark.anyio
async def test_ids_never_reused_after_the_outbox_drains(
    make: Callable[..., SyncClient], fake: FakeServer
) -> None:
    client = make()
    client.enqueue("note.put", note(1))
    client.enqueue("note.put", note(2))
    await client.push_all()
    assert client.pending_count() == 0
    await client.close()
    again = make()
    assert again.enqueue("note.put", note(3)) == 3


@pytest.mark.anyio
async def test_close_only_closes_own_http_client(state: Path, tmp_path: Path) -> None:
    given_http = httpx.AsyncClient(transport=FakeServer().transport())
    async with SyncClient(BASE, TOKEN, state, http=given_http):
        pass
    assert not given_http.is_closed
    await given_http.aclose()

    own = SyncClient(BASE, TOKEN, tmp_path / "other.sqlite3")
    http = own._http
    async with own:
        pass
    assert http.is_closed


# --------------------------------------------------------------------------- push


@pytest.mark.anyio
async def test_push_envelope_and_batching(
    make: Callable[..., SyncClient], fake: FakeServer
) -> None:
    client = make(batch_size=2)
    for i in range(5):
        client.enqueue("note.put", note(i, text="你好"))
    assert await client.push_once() is not None
    await client.push_all()
    assert [[m["id"] for m in b["mutations"]] for b in fake.push_log] == [[1, 2], [3, 4], [5]]
    assert [b["pending"] for b in fake.push_log] == [5, 3, 1]
    first = fake.push_log[0]
    assert first["protocol"] == 1 and first["client_id"] == client.client_id
    assert first["mutations"][0]["args"] == note(0, text="你好")
    assert first["mutations"][0]["name"] == "note.put" and first["mutations"][0]["version"] == 1
    assert all(r.headers["authorization"] == f"Bearer {TOKEN}" for r in fake.requests)
    assert client.pending_count() == 0
    assert await client.push_once() is None
    assert len(fake.push_log) == 3


@pytest.mark.anyio
async def test_lost_push_response_is_resent_with_same_ids_and_keys(
    make: Callable[..., SyncClient], fake: FakeServer, sleeps: SleepRecorder
) -> None:
    client = make()
    for i in range(3):
        client.enqueue("note.put", note(i))
    fake.lose_push_responses = 1

    await client.sync()

    assert len(fake.push_log) == 2
    sent = [[(m["id"], m["key"]) for m in b["mutations"]] for b in fake.push_log]
    assert sent[0] == sent[1] and [i for i, _ in sent[0]] == [1, 2, 3]
    assert len(fake.applied) == 3  # applied once, not twice
    assert client.pending_count() == 0
    assert client.outcome(1) is not None and client.outcome(1)["status"] == "duplicate"  # type: ignore[index]
    assert len(sleeps.calls) == 1
    assert set(client.replica("note")) == {"n0", "n1", "n2"}


@pytest.mark.anyio
async def test_rejected_results_leave_outbox_and_are_stored(
    make: Callable[..., SyncClient], fake: FakeServer
) -> None:
    client = make()
    client.enqueue("note.put", note(1))
    client.enqueue("no.such_mutation", {"x": 1})
    client.enqueue("note.put", note(3))
    response = await client.push_once()
    assert response is not None
    assert [r.status for r in response.results] == ["applied", "rejected", "applied"]
    assert client.pending_count() == 0

    rejected = client.outcome(2)
    assert rejected is not None
    assert rejected["status"] == "rejected"
    assert rejected["code"] == "invalid_args"
    assert rejected["message"] == {"zh": "未知操作", "en": "unknown mutation no.such_mutation"}
    assert rejected["issue_id"] == "issue-2"
    assert rejected["name"] == "no.such_mutation" and rejected["args"] == {"x": 1}
    assert client.outcome(3) is not None and client.outcome(3)["status"] == "applied"  # type: ignore[index]
    assert client.outcome(99) is None


@pytest.mark.anyio
async def test_duplicate_does_not_hide_a_stored_rejection(
    make: Callable[..., SyncClient], fake: FakeServer
) -> None:
    client = make()
    client.enqueue("no.such_mutation", {})

    def reject(request: httpx.Request) -> httpx.Response:
        result = {"id": 1, "status": "rejected", "code": "c", "message": {"zh": "z", "en": "e"}}
        return httpx.Response(200, json={"last_mutation_id": 1, "results": [result]})

    fake.faults.append(reject)
    await client.push_once()
    # the same answer repeated later, e.g. after a lost response, says "duplicate"
    client._apply_push(PushResponse(1, [MutationResult(1, "duplicate")]))
    assert client.outcome(1)["status"] == "rejected"  # type: ignore[index]


@pytest.mark.anyio
async def test_push_that_acknowledges_nothing_is_a_protocol_error(
    make: Callable[..., SyncClient], fake: FakeServer
) -> None:
    client = make()
    client.enqueue("note.put", note(1))
    fake.faults.append(lambda r: httpx.Response(200, json={"last_mutation_id": 0, "results": []}))
    with pytest.raises(ProtocolError):
        await client.push_all()
    assert client.pending_count() == 1


# --------------------------------------------------------------------------- errors & retry


@pytest.mark.anyio
@pytest.mark.parametrize("status", [429, 503])
async def test_retry_after_is_honoured(
    make: Callable[..., SyncClient], fake: FakeServer, sleeps: SleepRecorder, status: int
) -> None:
    client = make(backoff_base=0.01)
    client.enqueue("note.put", note(1))
    busy = lambda r: httpx.Response(status, headers={"Retry-After": "7"})
    fake.faults += [busy, busy]

    await client.sync()

    assert len(sleeps.calls) == 2
    assert all(d >= 7 for d in sleeps.calls)
    assert client.pending_count() == 0


@pytest.mark.anyio
async def test_retry_later_without_header_defaults_to_one_second(
    make: Callable[..., SyncClient], fake: FakeServer, sleeps: SleepRecorder
) -> None:
    client = make(backoff_base=0.01)
    fake.faults.append(lambda r: httpx.Response(503))
    with pytest.raises(Overloaded) as info:
        await client.pull()
    assert info.value.retry_after == 1.0
    fake.faults.append(lambda r: httpx.Response(503))
    await client.sync()
    assert sleeps.calls and sleeps.calls[0] >= 1.0


@pytest.mark.anyio
async def test_full_jitter_delays_stay_in_bounds_and_give_up(
    make: Callable[..., SyncClient], fake: FakeServer, sleeps: SleepRecorder
) -> None:
    base, cap = 0.5, 3.0
    client = make(backoff_base=base, backoff_cap=cap)
    client.enqueue("note.put", note(1))
    fake.faults += [lambda r: httpx.Response(502, text="bad gateway")] * 10

    with pytest.raises(ServerError) as info:
        await client.sync(max_attempts=6)

    assert info.value.status == 502
    assert len(fake.push_log) == 0 and len(fake.requests) == 6
    assert len(sleeps.calls) == 5
    for n, delay in enumerate(sleeps.calls):
        assert 0.0 <= delay <= min(cap, base * 2**n)
    assert client.pending_count() == 1


@given(
    attempt=st.integers(min_value=0, max_value=200),
    base=st.floats(min_value=0.001, max_value=10),
    cap=st.floats(min_value=0.01, max_value=100),
    seed=st.integers(min_value=0, max_value=2**32),
)
def test_backoff_delay_within_full_jitter_bounds(
    tmp_path_factory: pytest.TempPathFactory, attempt: int, base: float, cap: float, seed: int
) -> None:
    client = _offline_client(tmp_path_factory, rng=random.Random(seed), base=base, cap=cap)
    try:
        delay = client.backoff_delay(attempt)
        assert 0.0 <= delay <= min(cap, base * 2.0 ** min(attempt, 62))
    finally:
        client._db.close()


def test_backoff_is_full_jitter_not_equal_jitter(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    client = _offline_client(tmp_path_factory, rng=random.Random(7), base=0.5, cap=30.0)
    try:
        samples = [client.backoff_delay(3) for _ in range(2000)]  # ceiling 4.0
        assert min(samples) < 0.1  # full jitter reaches down to ~0, equal jitter would not
        assert max(samples) > 3.9
        assert max(client.backoff_delay(20) for _ in range(200)) <= 30.0
    finally:
        client._db.close()


def _offline_client(
    factory: pytest.TempPathFactory, *, rng: random.Random, base: float, cap: float
) -> SyncClient:
    path = factory.mktemp("offline") / "s.sqlite3"
    return SyncClient(
        BASE,
        TOKEN,
        path,
        http=httpx.AsyncClient(transport=FakeServer().transport()),
        rng=rng,
        backoff_base=base,
        backoff_cap=cap,
    )


@pytest.mark.anyio
async def test_transport_errors_are_retried_then_raised(
    make: Callable[..., SyncClient], fake: FakeServer, sleeps: SleepRecorder
) -> None:
    client = make()
    client.enqueue("note.put", note(1))

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused")

    fake.faults += [refuse] * 3
    with pytest.raises(httpx.ConnectError):
        await client.sync(max_attempts=3)
    assert len(sleeps.calls) == 2
    assert client.pending_count() == 1
    await client.sync()  # server back
    assert client.pending_count() == 0


@pytest.mark.anyio
async def test_gap_raises_mutation_gap_with_expected(
    make: Callable[..., SyncClient], fake: FakeServer, sleeps: SleepRecorder
) -> None:
    client = make()
    client.enqueue("note.put", note(1))
    client.enqueue("note.put", note(2))
    await client.push_all()
    client.enqueue("note.put", note(3))
    fake.last[client.client_id] = 1  # server restored from an older backup

    with pytest.raises(MutationGap) as info:
        await client.sync()

    assert info.value.expected == 2
    assert sleeps.calls == []  # not retried
    assert [r["id"] for r in client.pending()] == [3]


@pytest.mark.anyio
async def test_400_raises_protocol_error_and_is_not_retried(
    make: Callable[..., SyncClient], fake: FakeServer, sleeps: SleepRecorder
) -> None:
    client = make()
    client.enqueue("note.put", note(1))
    fake.faults.append(lambda r: _err(400, "invalid_envelope"))

    with pytest.raises(ProtocolError) as info:
        await client.sync()

    assert info.value.status == 400
    assert info.value.code == "invalid_envelope"
    assert len(fake.requests) == 1
    assert sleeps.calls == []
    assert client.pending_count() == 1
    assert not isinstance(info.value, TransientError)
    assert isinstance(info.value, SyncError)


@pytest.mark.anyio
async def test_bad_token_is_a_protocol_error(fake: FakeServer, state: Path) -> None:
    async with SyncClient(
        BASE, "wrong", state, http=httpx.AsyncClient(transport=fake.transport())
    ) as client:
        with pytest.raises(ProtocolError) as info:
            await client.pull()
        assert info.value.status == 401
        assert client.cursor is None


# --------------------------------------------------------------------------- pull


@pytest.mark.anyio
async def test_pull_pages_and_stores_cursor(
    make: Callable[..., SyncClient], fake: FakeServer
) -> None:
    client = make()
    assert client.cursor is None
    assert await client.pull() == 0
    assert client.cursor == "0"
    for i in range(5):
        fake._put("note", f"n{i}", note(i))
    fake._del("note", "n0")

    assert await client.pull(limit=2) == 6
    assert [b["cursor"] for b in fake.pull_log] == [None, "0", "2", "4"]
    assert client.cursor == "6"
    assert set(client.replica("note")) == {"n1", "n2", "n3", "n4"}
    assert client.replica("note")["n2"] == note(2)
    assert client.replica("other") == {}


@pytest.mark.anyio
async def test_pull_reset_clears_replica_but_keeps_outbox(
    make: Callable[..., SyncClient], fake: FakeServer
) -> None:
    client = make()
    client.enqueue("note.put", note(1))
    client.enqueue("note.put", note(2))
    await client.sync()
    assert set(client.replica("note")) == {"n1", "n2"}

    client.enqueue("note.put", note(3))  # offline work, not pushed
    del fake.records[("note", "n1")]  # e.g. a revoked grant: gone without a del change
    fake.force_reset = True

    await client.pull()

    assert fake.pull_log[-1]["cursor"] is not None
    assert set(client.replica("note")) == {"n2"}
    assert [r["id"] for r in client.pending()] == [3]
    await client.sync()
    assert set(client.replica("note")) == {"n2", "n3"}


@pytest.mark.anyio
async def test_pull_drops_outbox_rows_up_to_last_mutation_id(
    make: Callable[..., SyncClient], fake: FakeServer
) -> None:
    client = make()
    for i in range(4):
        client.enqueue("note.put", note(i))
    fake.lose_push_responses = 1
    with pytest.raises(httpx.ReadError):
        await client.push_once()
    assert client.pending_count() == 4
    fake.last[client.client_id] = 2  # pretend only 1..2 are in the pulled snapshot

    await client.pull()

    assert client.last_mutation_id == 2
    assert [r["id"] for r in client.pending()] == [3, 4]


@pytest.mark.anyio
async def test_pull_observes_field_hlc_and_persists_it(
    make: Callable[..., SyncClient], fake: FakeServer, state: Path
) -> None:
    client = make()
    fake._put("note", "far", {"id": "far", "text": "x", "field_hlc": {"text": FUTURE_STAMP}})
    await client.pull()
    client.enqueue("note.put", note(1))
    stamp = parse(client.pending()[0]["hlc"])
    assert (stamp.physical_ms, stamp.counter) > (FUTURE_MS, 7)
    assert parse(client.now_hlc()) > stamp
    await client.close()

    again = make()  # a restart must not stamp earlier than what was seen
    again.enqueue("note.put", note(2))
    later = parse(again.pending()[-1]["hlc"])
    assert later.physical_ms >= FUTURE_MS and later > stamp


# --------------------------------------------------------------------------- events


@pytest.mark.anyio
async def test_listen_syncs_on_poke_and_stops(fake: FakeServer, state: Path) -> None:
    never = asyncio.Event()
    connections: list[httpx.Request] = []

    async def stream() -> AsyncIterator[bytes]:
        yield b": keepalive\n\n"
        yield b"event: poke\ndata: 12\n\n"
        yield b"event: other\ndata:\n\n"
        await never.wait()

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/v1/sync/events":
            connections.append(request)
            return httpx.Response(
                200, headers={"content-type": "text/event-stream"}, content=stream()
            )
        return fake.handle(request)

    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    stop = asyncio.Event()
    async with SyncClient(BASE, TOKEN, state, http=http, sleep=SleepRecorder()) as client:
        client.enqueue("note.put", note(1))
        task = asyncio.ensure_future(client.listen(stop))
        with anyio.fail_after(5):
            while len(fake.pull_log) < 2:
                await asyncio.sleep(0.001)
        stop.set()
        with anyio.fail_after(5):
            await task
        # one sync on connect, one for the poke; the "other" event is ignored
        assert len(fake.pull_log) == 2
        assert len(fake.push_log) == 1
        assert len(connections) == 1
        assert connections[0].headers["accept"] == "text/event-stream"
        assert connections[0].headers["authorization"] == f"Bearer {TOKEN}"
        assert set(client.replica("note")) == {"n1"}
    await http.aclose()


@pytest.mark.anyio
async def test_listen_reconnects_with_backoff_and_raises_on_401(
    fake: FakeServer, state: Path
) -> None:
    attempts: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/v1/sync/events":
            attempts.append(1)
            if len(attempts) <= 2:
                raise httpx.ConnectError("refused")
            return _err(401, "unauthorized")
        return fake.handle(request)

    sleeps = SleepRecorder()
    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    async with SyncClient(
        BASE, TOKEN, state, http=http, sleep=sleeps, backoff_base=1.0, backoff_cap=10.0
    ) as client:
        with anyio.fail_after(5), pytest.raises(ProtocolError) as info:
            await client.listen(asyncio.Event())
    assert info.value.status == 401
    assert len(attempts) == 3
    assert len(sleeps.calls) == 2
    assert 0 <= sleeps.calls[0] <= 1.0 and 0 <= sleeps.calls[1] <= 2.0
    await http.aclose()


@pytest.mark.anyio
async def test_every_result_is_final_even_beyond_last_mutation_id(
    make: Callable[..., SyncClient], fake: FakeServer
) -> None:
    client = make()
    for i in range(3):
        client.enqueue("note.put", note(i))

    def partial(request: httpx.Request) -> httpx.Response:
        results = [
            {"id": 1, "status": "flagged"},
            {"id": 2, "status": "rejected", "code": "forbidden", "message": {"zh": "z", "en": "e"}},
        ]
        return httpx.Response(200, json={"last_mutation_id": 0, "results": results})

    fake.faults.append(partial)
    await client.push_once()
    assert [r["id"] for r in client.pending()] == [3]
    assert client.outcome(1)["status"] == "flagged"  # type: ignore[index]
    assert client.outcome(2)["code"] == "forbidden"  # type: ignore[index]
