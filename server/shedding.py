"""Load shedding: a bounded number of sync requests run, a bounded number wait,
the rest are told to come back (503 + Retry-After) before any work is done.

A request that has waited ``max_wait`` seconds for a slot is shed too: in a reconnect storm
a phone's HTTP client gives up long before a deep queue drains, so work done for it after
that is wasted and its retry queues again. Telling it early to come back after
``Retry-After`` spreads the storm instead of lengthening it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from sync.errors import Overloaded


class RequestGate:
    def __init__(self, max_active: int, max_queued: int, retry_after: int,
                 max_wait: float | None = None) -> None:
        self._slots = asyncio.Semaphore(max_active)
        self._max_wait = max_wait
        self._max_waiting = max_active + max_queued
        self._inside = 0
        self.retry_after = retry_after
        self.shed_count = 0

    @contextlib.asynccontextmanager
    async def enter(self) -> AsyncIterator[None]:
        if self._inside >= self._max_waiting:
            self.shed_count += 1
            raise Overloaded(self.retry_after)
        self._inside += 1
        try:
            try:
                if self._max_wait is None or not self._slots.locked():
                    await self._slots.acquire()  # a free slot: no timer task on the hot path
                else:
                    await asyncio.wait_for(self._slots.acquire(), self._max_wait)
            except TimeoutError:
                self.shed_count += 1
                raise Overloaded(self.retry_after) from None
            try:
                yield
            finally:
                self._slots.release()
        finally:
            self._inside -= 1
