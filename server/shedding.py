"""Load shedding: a bounded number of sync requests run, a bounded number wait,
the rest are told to come back (503 + Retry-After) before any work is done."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from sync.errors import Overloaded


class RequestGate:
    def __init__(self, max_active: int, max_queued: int, retry_after: int) -> None:
        self._slots = asyncio.Semaphore(max_active)
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
            async with self._slots:
                yield
        finally:
            self._inside -= 1
