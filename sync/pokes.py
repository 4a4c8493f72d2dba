"""Pokes: "pull now" signals to the SSE streams of every worker.

In one process a broker fans tags out to subscriber queues. On PostgreSQL each
worker also LISTENs on a channel that write transactions NOTIFY on commit, so a
phone connected to worker A hears of a change committed by worker B.

Every writer hands its poke tags to one ``PokeSink``, with one backend per store
(the Litestar channels habit): PostgreSQL NOTIFYs inside the transaction (delivered
on commit, to every worker, even from the CLI); SQLite, a single process, publishes
to the in-process broker after the commit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterable
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

log = logging.getLogger("sync.pokes")

POKE_CHANNEL = "charity_sync_poke"
"""The PostgreSQL channel write transactions NOTIFY and every worker LISTENs on."""
NOTIFY_PAYLOAD_LIMIT = 7000
"""PostgreSQL refuses a payload of 8000 bytes or more; a cut-off tag list only wakes
fewer listeners, and ``*`` (sorted first) still wakes the admins."""


class PokeBroker:
    def __init__(self, queue_size: int = 8) -> None:
        self._subscribers: dict[asyncio.Queue[None], frozenset[str]] = {}
        self._queue_size = queue_size

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)

    def publish(self, tags: Iterable[str]) -> None:
        """Wake every subscriber whose grant tags meet the change's tags."""
        change_tags = set(tags)
        if not change_tags:
            return
        everyone = "*all*" in change_tags
        for queue, wanted in list(self._subscribers.items()):
            # one pending poke is enough: the client pulls everything
            if (everyone or not wanted.isdisjoint(change_tags)) and queue.empty():
                queue.put_nowait(None)

    @contextlib.asynccontextmanager
    async def subscribe(self, tags: Iterable[str]) -> AsyncIterator[asyncio.Queue[None]]:
        queue: asyncio.Queue[None] = asyncio.Queue(self._queue_size)
        self._subscribers[queue] = frozenset(tags)
        try:
            yield queue
        finally:
            self._subscribers.pop(queue, None)


class PokeSink:
    """Where a write transaction's poke tags go: ``stage`` inside the transaction,
    ``committed`` after it. Only one of the two does anything, by store."""

    def __init__(self, broker: PokeBroker | None, *, postgres: bool) -> None:
        self.broker = broker
        """None where nobody in this process listens (the CLI on SQLite)."""
        self.postgres = postgres

    async def stage(self, conn: AsyncConnection, tags: Iterable[str]) -> None:
        """PostgreSQL: NOTIFY, delivered to every worker when (and only if) the
        transaction commits."""
        if self.postgres and tags:
            payload = ",".join(sorted(tags))[:NOTIFY_PAYLOAD_LIMIT]
            await conn.execute(text("SELECT pg_notify(:channel, :payload)"),
                               {"channel": POKE_CHANNEL, "payload": payload})

    def committed(self, tags: Iterable[str]) -> None:
        """SQLite: wake this process's streams, now that the writes are visible."""
        if not self.postgres and self.broker is not None and tags:
            self.broker.publish(tags)


class PostgresPokeListener:
    """LISTEN on the poke channel and forward every NOTIFY to the local broker."""

    def __init__(self, dsn: str, channel: str, broker: PokeBroker) -> None:
        self._dsn = dsn
        self._channel = channel
        self._broker = broker
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="poke-listener")

    async def stop(self) -> None:
        self._stopping.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    async def _run(self) -> None:
        import asyncpg  # only needed on PostgreSQL

        delay = 0.5
        while not self._stopping.is_set():
            try:
                conn = await asyncpg.connect(self._dsn)
                try:
                    await conn.add_listener(self._channel, self._on_notify)
                    delay = 0.5
                    # anything committed while we were not listening: wake everyone once
                    self._broker.publish(["*all*"])
                    while not self._stopping.is_set():
                        await asyncio.sleep(30)
                        await conn.execute("SELECT 1")
                finally:
                    await conn.close()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - whatever broke, reconnect after a back-off
                log.warning("poke listener lost its connection; retrying in %.1fs", delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30)

    def _on_notify(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        self._broker.publish(payload.split(",") if payload else ["*all*"])
