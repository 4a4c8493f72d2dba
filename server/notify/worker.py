"""The background task of each server worker: expand the outbox, raise timed alerts,
send due pushes. Started in the app's lifespan; every step is safe to run on
several PostgreSQL workers at once (rows are claimed, timed checks take a lock)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging

import aiohttp

from server.notify.outbox import check_hours_waiting, check_stale_phones, expand_outbox, forget_old
from server.notify.sender import send_due
from server.notify.vapid import ensure_key
from server.state import AppState
from sync.timeutil import utc_now

log = logging.getLogger("server.notify")

SEND_ROUNDS = 50
"""Send rounds per tick at most (each ``push_concurrency`` pushes), so a backlog drains
without waiting a poll interval per round, and timed checks still get their turn."""


class Notifier:
    def __init__(self, state: AppState) -> None:
        self.state = state
        self._task: asyncio.Task[None] | None = None
        self._session: aiohttp.ClientSession | None = None
        self._last_check: dt.datetime | None = None
        self._last_forget: dt.datetime | None = None

    async def open(self) -> None:
        """Everything but the loop: key made, HTTP session open."""
        await ensure_key(self.state.db)
        self._session = aiohttp.ClientSession()

    async def start(self) -> None:
        await self.open()
        self._task = asyncio.create_task(self._run(), name="notify")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._session is not None:
            await self._session.close()

    async def tick(self, now: dt.datetime | None = None) -> None:
        """One round; tests call it directly with a chosen ``now``."""
        assert self._session is not None
        moment = now or utc_now()
        settings = self.state.settings
        if self._last_check is None or (moment - self._last_check).total_seconds() >= (
            settings.notify_check_seconds
        ):
            self._last_check = moment
            await check_hours_waiting(self.state, moment)
            await check_stale_phones(self.state, moment)
        while (await expand_outbox(self.state, moment)).outbox_rows:
            pass
        for _ in range(SEND_ROUNDS):
            if not await send_due(self.state, self._session, now):
                break
        if self._last_forget is None or (moment - self._last_forget).total_seconds() >= 3600:
            self._last_forget = moment
            await forget_old(self.state, moment)

    async def _run(self) -> None:
        while True:
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("notification round failed; will try again")
            await asyncio.sleep(self.state.settings.notify_poll_seconds)


async def start_notifier(state: AppState) -> Notifier:
    notifier = Notifier(state)
    await notifier.start()
    return notifier
