"""Async Python client for the sync protocol (v1), with a durable local outbox and replica.

Used by tests, the load generator and scripts. It speaks exactly the wire contract in
``docs/protocol.md``: mutations queue in a SQLite outbox and are pushed in id order;
changes are pulled page by page into a local replica; an SSE stream only says "pull now".

Every state change commits to SQLite before the call returns, so a process killed at any
point resumes with the same ``client_id``, the same pending ids and keys, and never reuses
an id. Re-sending after a lost response is safe because the server applies each id/key
exactly once.

Errors are the engine's own (``sync.errors``, whose docstring draws the tree): a
``TransientError`` (``Overloaded``, ``ServerError``, or an ``httpx.TransportError``) is
retried with backoff; a ``ProtocolError`` (``MutationGap`` among them) is raised at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import json
import os
import random
import sqlite3
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Self

import httpx
import msgspec

from schemas.wire import (
    PROTOCOL_VERSION,
    ErrorBody,
    Mutation,
    MutationResult,
    PullRequest,
    PullResponse,
    PushRequest,
    PushResponse,
)
from sync.errors import (
    MutationGap,
    Overloaded,
    ProtocolError,
    ServerError,
    SyncError,
    TransientError,
)
from sync.hlc import HybridLogicalClock, parse
from sync.ids import uuid7

__all__ = [
    "MutationGap",
    "Overloaded",
    "ProtocolError",
    "ServerError",
    "SyncClient",
    "SyncError",
    "TransientError",
]


# --------------------------------------------------------------------------- helpers

PUSH_PATH = "/api/v1/sync/push"
PULL_PATH = "/api/v1/sync/pull"
EVENTS_PATH = "/api/v1/sync/events"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    one INTEGER PRIMARY KEY CHECK (one = 1),
    client_id TEXT NOT NULL,
    next_id INTEGER NOT NULL,
    cursor TEXT,
    last_mutation_id INTEGER NOT NULL DEFAULT 0,
    hlc TEXT
);
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    version INTEGER NOT NULL,
    key TEXT NOT NULL UNIQUE,
    hlc TEXT NOT NULL,
    args TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS replica (
    type TEXT NOT NULL,
    id TEXT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (type, id)
);
CREATE TABLE IF NOT EXISTS outcomes (
    id INTEGER PRIMARY KEY,
    status TEXT NOT NULL,
    code TEXT,
    message TEXT,
    issue_id TEXT,
    name TEXT,
    args TEXT
);
"""


def _parse_retry_after(value: str | None, default: float = 1.0) -> float:
    """Retry-After is delta-seconds or an HTTP date; anything unreadable means ``default``."""
    if value is None:
        return default
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return default
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _stamp_key(stamp: str) -> tuple[int, int]:
    """Clock order of a stamp, ignoring the node (enough for a high-water mark)."""
    parsed = parse(stamp)
    return parsed.physical_ms, parsed.counter


_RETRYABLE: tuple[type[BaseException], ...] = (TransientError, httpx.TransportError)


# --------------------------------------------------------------------------- client


class SyncClient:
    """One device: a durable outbox of mutations, a replica of the server's data for its
    scopes, and the calls that move them over the wire."""

    def __init__(
        self,
        base_url: str,
        token: str,
        state_path: str | os.PathLike[str],
        *,
        http: httpx.AsyncClient | None = None,
        batch_size: int = 500,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
        backoff_base: float = 0.5,
        backoff_cap: float = 30.0,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.base_url = base_url.rstrip("/")
        self._token = token
        self.batch_size = batch_size
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self._sleep = sleep
        self._rng = rng if rng is not None else random.Random()
        self._owns_http = http is None
        self._http = http if http is not None else httpx.AsyncClient(timeout=httpx.Timeout(30.0))
        self._push_lock = asyncio.Lock()
        self._pull_lock = asyncio.Lock()
        self._closed = False

        self._db = sqlite3.connect(os.fspath(state_path), isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        # FULL: a committed enqueue survives power loss too, not only a process crash.
        self._db.execute("PRAGMA synchronous=FULL")
        with self._tx():
            # Statement by statement: executescript() would commit on its own.
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    self._db.execute(statement)
            row = self._db.execute("SELECT client_id FROM meta WHERE one = 1").fetchone()
            if row is None:
                self._db.execute(
                    "INSERT INTO meta (one, client_id, next_id, cursor, last_mutation_id, hlc)"
                    " VALUES (1, ?, 1, NULL, 0, NULL)",
                    (str(uuid.uuid4()),),
                )
        meta = self._meta()
        self._client_id: str = meta["client_id"]
        self._clock = HybridLogicalClock(node=self._client_id)
        if meta["hlc"]:
            # Never stamp earlier than before a restart, even if the wall clock went back.
            self._clock.observe(meta["hlc"])

    # ------------------------------------------------------------------ lifecycle

    async def close(self) -> None:
        """Close the state file, and the HTTP client only if this object created it."""
        if self._closed:
            return
        self._closed = True
        self._db.close()
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # ------------------------------------------------------------------ sqlite

    @contextlib.contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; committed on exit so a crash afterwards loses nothing."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def _meta(self) -> sqlite3.Row:
        row: sqlite3.Row | None = self._db.execute("SELECT * FROM meta WHERE one = 1").fetchone()
        assert row is not None
        return row

    def _save_hlc(self, db: sqlite3.Connection, stamp: str) -> None:
        """Raise the stored HLC high-water mark to ``stamp`` (never lower it)."""
        current = db.execute("SELECT hlc FROM meta WHERE one = 1").fetchone()["hlc"]
        if current is None or _stamp_key(stamp) > _stamp_key(current):
            db.execute("UPDATE meta SET hlc = ? WHERE one = 1", (stamp,))

    # ------------------------------------------------------------------ accessors

    @property
    def client_id(self) -> str:
        """This device's id, made once on first open and kept for the state file's life."""
        return self._client_id

    @property
    def cursor(self) -> str | None:
        """The pull cursor; None before the first pull."""
        value: str | None = self._meta()["cursor"]
        return value

    @property
    def last_mutation_id(self) -> int:
        """Newest of our mutation ids the server says is in the pulled data (0 if none)."""
        value: int = self._meta()["last_mutation_id"]
        return value

    def pending_count(self) -> int:
        """How many mutations wait in the outbox."""
        count: int = self._db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0]
        return count

    def pending(self) -> list[dict[str, Any]]:
        """The outbox in id order; ``args`` decoded."""
        rows = self._db.execute(
            "SELECT id, name, version, key, hlc, args, created_at FROM outbox ORDER BY id"
        ).fetchall()
        return [{**dict(r), "args": json.loads(r["args"])} for r in rows]

    def replica(self, type: str) -> dict[str, dict[str, Any]]:
        """The local copy of every record of ``type``, by id."""
        rows = self._db.execute("SELECT id, data FROM replica WHERE type = ?", (type,)).fetchall()
        return {r["id"]: json.loads(r["data"]) for r in rows}

    def outcome(self, id: int) -> dict[str, Any] | None:
        """The server's final answer for mutation ``id`` (kept so a rejection is never
        silently dropped), or None if none was received."""
        row = self._db.execute("SELECT * FROM outcomes WHERE id = ?", (id,)).fetchone()
        if row is None:
            return None
        out = dict(row)
        out["message"] = json.loads(row["message"]) if row["message"] is not None else None
        out["args"] = json.loads(row["args"]) if row["args"] is not None else None
        return out

    # ------------------------------------------------------------------ local writes

    def now_hlc(self) -> str:
        """A fresh HLC stamp, persisted as the high-water mark so it stays monotone."""
        stamp = self._clock.now()
        with self._tx() as db:
            self._save_hlc(db, stamp)
        return stamp

    def enqueue(self, name: str, args: dict[str, Any], version: int = 1) -> int:
        """Queue a mutation; returns its id. The id, key and stamp are fixed now, when the
        user acted, and committed with the row so a retry after a crash re-sends the same act."""
        args_json = json.dumps(args, ensure_ascii=False, separators=(",", ":"))
        key = uuid7()  # time-ordered: the server's indexes grow at their edge
        stamp = self._clock.now()
        created_at = datetime.now(UTC).isoformat(timespec="milliseconds")
        with self._tx() as db:
            mid: int = db.execute("SELECT next_id FROM meta WHERE one = 1").fetchone()[0]
            db.execute("UPDATE meta SET next_id = ? WHERE one = 1", (mid + 1,))
            db.execute(
                "INSERT INTO outbox (id, name, version, key, hlc, args, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (mid, name, version, key, stamp, args_json, created_at),
            )
            self._save_hlc(db, stamp)
        return mid

    # ------------------------------------------------------------------ HTTP

    def _url(self, path: str) -> str:
        return self.base_url + path

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._token}", "Content-Type": "application/json"}

    @staticmethod
    def _raise_for(response: httpx.Response, *, push: bool) -> None:
        """Map a non-200 answer onto the exception tree (see the module docstring)."""
        status = response.status_code
        if status == 200:
            return
        body = response.text
        if status in (429, 503):
            raise Overloaded(_parse_retry_after(response.headers.get("Retry-After")), status)
        if status >= 500:
            raise ServerError(status, body)
        if status == 409 and push:
            try:
                err = msgspec.json.decode(body, type=ErrorBody)
            except (msgspec.DecodeError, msgspec.ValidationError):
                err = None
            if err is not None and err.code == "mutation_gap":
                raise MutationGap(err.expected, body)
        raise ProtocolError.from_answer(status, body)

    # ------------------------------------------------------------------ push

    async def push_once(self) -> PushResponse | None:
        """Push one batch from the head of the outbox; None if the outbox is empty.

        Rows leave the outbox only once the server answered for them, so a lost response
        means the same ids and keys are sent again, which the server treats as duplicates."""
        async with self._push_lock:
            rows = self._db.execute(
                "SELECT id, name, version, key, hlc, args FROM outbox ORDER BY id LIMIT ?",
                (self.batch_size,),
            ).fetchall()
            if not rows:
                return None
            request = PushRequest(
                protocol=PROTOCOL_VERSION,
                client_id=self._client_id,
                mutations=[
                    Mutation(
                        id=r["id"],
                        name=r["name"],
                        version=r["version"],
                        key=r["key"],
                        hlc=r["hlc"],
                        args=msgspec.Raw(r["args"].encode()),
                    )
                    for r in rows
                ],
                pending=self.pending_count(),
            )
            response = await self._http.post(
                self._url(PUSH_PATH), content=msgspec.json.encode(request), headers=self._headers()
            )
            self._raise_for(response, push=True)
            try:
                result = msgspec.json.decode(response.content, type=PushResponse)
            except (msgspec.DecodeError, msgspec.ValidationError) as exc:
                raise ProtocolError.from_answer(response.status_code, f"bad push answer: {exc}") from exc
            self._apply_push(result)
            return result

    def _apply_push(self, result: PushResponse) -> None:
        """Record outcomes and drop acknowledged rows, in one transaction."""
        with self._tx() as db:
            for res in result.results:
                self._store_outcome(db, res)
            db.executemany("DELETE FROM outbox WHERE id = ?", [(res.id,) for res in result.results])
            db.execute("DELETE FROM outbox WHERE id <= ?", (result.last_mutation_id,))
            _raise_last_mutation_id(db, result.last_mutation_id)

    @staticmethod
    def _store_outcome(db: sqlite3.Connection, res: MutationResult) -> None:
        row = db.execute("SELECT name, args FROM outbox WHERE id = ?", (res.id,)).fetchone()
        message = msgspec.json.encode(res.message).decode() if res.message is not None else None
        # A later "duplicate" (e.g. after a lost response) must not hide a stored rejection.
        db.execute(
            "INSERT INTO outcomes (id, status, code, message, issue_id, name, args)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (id) DO UPDATE SET status = excluded.status, code = excluded.code,"
            " message = excluded.message, issue_id = excluded.issue_id"
            " WHERE excluded.status != 'duplicate'",
            (
                res.id,
                res.status,
                res.code,
                message,
                res.issue_id,
                row["name"] if row else None,
                row["args"] if row else None,
            ),
        )

    async def push_all(self) -> None:
        """Push batches until the outbox is empty."""
        while True:
            before = self.pending_count()
            result = await self.push_once()
            if result is None:
                return
            if self.pending_count() >= before:
                # A 200 that acknowledges nothing would loop forever; it breaks the contract.
                raise ProtocolError.from_answer(200, "push answer acknowledged none of the batch")

    # ------------------------------------------------------------------ pull

    async def pull(self, *, limit: int = 1000) -> int:
        """Pull pages until ``more`` is false; returns how many changes were applied."""
        async with self._pull_lock:
            applied = 0
            while True:
                request = PullRequest(
                    protocol=PROTOCOL_VERSION,
                    client_id=self._client_id,
                    cursor=self.cursor,
                    limit=limit,
                )
                response = await self._http.post(
                    self._url(PULL_PATH),
                    content=msgspec.json.encode(request),
                    headers=self._headers(),
                )
                self._raise_for(response, push=False)
                try:
                    page = msgspec.json.decode(response.content, type=PullResponse)
                except (msgspec.DecodeError, msgspec.ValidationError) as exc:
                    raise ProtocolError.from_answer(response.status_code, f"bad pull answer: {exc}") from exc
                applied += self._apply_page(page, first=request.cursor is None)
                if not page.more:
                    return applied

    def _apply_page(self, page: PullResponse, *, first: bool) -> int:
        """Apply one page, its cursor and last_mutation_id atomically, so a crash between
        pages resumes from a cursor that matches the replica."""
        high: str | None = None
        with self._tx() as db:
            if page.reset or first:
                # Server data only: the outbox is the user's unsent work and is re-pushed.
                db.execute("DELETE FROM replica")
            for change in page.changes:
                if change.op == "put":
                    data = change.data if change.data is not None else {}
                    db.execute(
                        "INSERT OR REPLACE INTO replica (type, id, data) VALUES (?, ?, ?)",
                        (change.type, change.id, msgspec.json.encode(data).decode()),
                    )
                    high = self._observe(data, high)
                else:
                    db.execute(
                        "DELETE FROM replica WHERE type = ? AND id = ?", (change.type, change.id)
                    )
            db.execute("UPDATE meta SET cursor = ? WHERE one = 1", (page.cursor,))
            _raise_last_mutation_id(db, page.last_mutation_id)
            db.execute("DELETE FROM outbox WHERE id <= ?", (page.last_mutation_id,))
            if high is not None:
                self._save_hlc(db, high)
        return len(page.changes)

    def _observe(self, data: dict[str, Any], high: str | None) -> str | None:
        """Merge every stamp in a record's ``field_hlc`` into our clock, so our next edit of
        that record is stamped later than what we saw; returns the highest stamp so far."""
        field_hlc = data.get("field_hlc")
        if not isinstance(field_hlc, dict):
            return high
        for value in field_hlc.values():
            if not isinstance(value, str):
                continue
            try:
                self._clock.observe(value)
                key = _stamp_key(value)
            except ValueError:
                continue
            if high is None or key > _stamp_key(high):
                high = value
        return high

    # ------------------------------------------------------------------ sync with retry

    def backoff_delay(self, attempt: int) -> float:
        """Full jitter (AWS): uniform in [0, min(cap, base * 2**attempt)], so many phones
        coming back at once spread out instead of hammering the server in step."""
        ceiling = min(self.backoff_cap, self.backoff_base * (2.0 ** min(attempt, 62)))
        return self._rng.uniform(0.0, ceiling)

    def _retry_delay(self, attempt: int, exc: BaseException) -> float:
        delay = self.backoff_delay(attempt)
        if isinstance(exc, Overloaded):
            delay = max(delay, exc.retry_after)
        return delay

    async def sync(self, *, max_attempts: int = 8) -> int:
        """push_all then pull, retrying transient failures with backoff; returns the number
        of changes pulled. ProtocolError and MutationGap are raised at once."""
        attempt = 0
        while True:
            try:
                await self.push_all()
                return await self.pull()
            except _RETRYABLE as exc:
                attempt += 1
                if attempt >= max_attempts:
                    raise
                await self._sleep(self._retry_delay(attempt - 1, exc))

    # ------------------------------------------------------------------ events

    async def listen(self, stop: asyncio.Event) -> None:
        """Hold the SSE stream and sync on every ``poke`` until ``stop`` is set.

        Also syncs once after each (re)connect, since pokes sent while disconnected are lost.
        Transient errors reconnect with the same backoff as sync(); ProtocolError and
        MutationGap propagate."""
        stop_wait = asyncio.ensure_future(stop.wait())
        attempt = 0
        try:
            while not stop.is_set():
                task = asyncio.ensure_future(self._listen_once())
                done, _ = await asyncio.wait({task, stop_wait}, return_when=asyncio.FIRST_COMPLETED)
                if task not in done:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
                    return
                exc = task.exception()
                if exc is None:
                    # The server ended the stream cleanly (restart, deploy): reconnect soon.
                    attempt = 0
                    delay = self.backoff_delay(0)
                elif isinstance(exc, _RETRYABLE):
                    delay = self._retry_delay(attempt, exc)
                    attempt += 1
                else:
                    raise exc
                if stop.is_set():
                    return
                sleeper = asyncio.ensure_future(self._sleep(delay))
                await asyncio.wait({sleeper, stop_wait}, return_when=asyncio.FIRST_COMPLETED)
                if not sleeper.done():
                    sleeper.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await sleeper
        finally:
            if not stop_wait.done():
                stop_wait.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await stop_wait

    async def _listen_once(self) -> None:
        """One SSE connection, until the server ends it or an error is raised."""
        headers = {"Authorization": f"Bearer {self._token}", "Accept": "text/event-stream"}
        # No read timeout: the stream is idle between pokes by design.
        timeout = httpx.Timeout(30.0, read=None)
        async with self._http.stream(
            "GET", self._url(EVENTS_PATH), headers=headers, timeout=timeout
        ) as response:
            if response.status_code != 200:
                await response.aread()
                self._raise_for(response, push=False)
            await self.sync()
            async for event in _sse_events(response.aiter_lines()):
                if event == "poke":
                    await self.sync()


async def _sse_events(lines: AsyncIterator[str]) -> AsyncIterator[str]:
    """Yield the event type of each dispatched server-sent event (data is ignored: a poke
    carries nothing the client needs)."""
    event = ""
    has_fields = False
    async for line in lines:
        if line == "":
            if has_fields:
                yield event or "message"
            event, has_fields = "", False
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        has_fields = True
        if field == "event":
            event = value


def _raise_last_mutation_id(db: sqlite3.Connection, acknowledged: int) -> None:
    """Only ever forward. A pull reports the highest mutation settled below its horizon,
    which on PostgreSQL can trail a push this client already saw acknowledged (another
    transaction still in flight holds the horizon back); that must not move it back."""
    db.execute(
        "UPDATE meta SET last_mutation_id = MAX(last_mutation_id, ?) WHERE one = 1", (acknowledged,)
    )
