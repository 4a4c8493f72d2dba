"""Pokes: "pull now" signals to the SSE streams of every worker.

In one process a broker fans tags out to subscriber queues. On PostgreSQL each
worker also LISTENs on a channel that push transactions NOTIFY on commit, so a
phone connected to worker A hears of a change committed by worker B.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterable
from typing import Any

log = logging.getLogger("sync.pokes")


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
