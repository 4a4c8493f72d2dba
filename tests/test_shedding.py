"""Load shedding (server/shedding.py): a full queue and a long wait both answer Overloaded
(503 + Retry-After) before any work is done, and a shed request gives its place back."""

from __future__ import annotations

import asyncio

import pytest

from server.shedding import RequestGate
from sync.errors import Overloaded


async def _hold(gate: RequestGate, started: asyncio.Event, release: asyncio.Event) -> None:
    async with gate.enter():
        started.set()
        await release.wait()


def test_a_request_waiting_longer_than_max_wait_is_shed_and_the_slot_stays_usable() -> None:
    async def run() -> None:
        gate = RequestGate(max_active=1, max_queued=10, retry_after=3, max_wait=0.05)
        started, release = asyncio.Event(), asyncio.Event()
        holder = asyncio.create_task(_hold(gate, started, release))
        await started.wait()
        with pytest.raises(Overloaded) as shed:
            async with gate.enter():
                raise AssertionError("ran while the only slot was held")
        assert shed.value.retry_after == 3
        assert gate.shed_count == 1
        release.set()
        await holder
        # the slot and the queue count came back: the next request runs at once
        async with gate.enter():
            pass
        assert gate.shed_count == 1

    asyncio.run(run())


def test_without_max_wait_a_queued_request_waits_for_its_turn() -> None:
    async def run() -> None:
        gate = RequestGate(max_active=1, max_queued=10, retry_after=3)
        started, release = asyncio.Event(), asyncio.Event()
        holder = asyncio.create_task(_hold(gate, started, release))
        await started.wait()
        ran = asyncio.Event()

        async def waiter() -> None:
            async with gate.enter():
                ran.set()

        task = asyncio.create_task(waiter())
        await asyncio.sleep(0.1)
        assert not ran.is_set()
        release.set()
        await asyncio.gather(holder, task)
        assert ran.is_set() and gate.shed_count == 0

    asyncio.run(run())


def test_a_full_queue_sheds_at_once() -> None:
    async def run() -> None:
        gate = RequestGate(max_active=1, max_queued=0, retry_after=2, max_wait=5)
        started, release = asyncio.Event(), asyncio.Event()
        holder = asyncio.create_task(_hold(gate, started, release))
        await started.wait()
        with pytest.raises(Overloaded):
            async with gate.enter():
                pass
        release.set()
        await holder
        assert gate.shed_count == 1

    asyncio.run(run())
