"""Reminds everyone holding a seat the day before their training, in the background of a
running server (docs/training.md, "Reminders")."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

from server.domain.training import remind_due
from server.state import AppState

log = logging.getLogger("server.training")


async def remind_once(state: AppState, now: dt.datetime | None = None) -> list[str]:
    """One sweep: a ``training.reminder`` for each open training starting tomorrow (or
    later today) not reminded before."""
    return await remind_due(state.db, state.registry, state.pokes, now or dt.datetime.now(dt.UTC))


async def remind_forever(state: AppState) -> None:
    while True:
        try:
            sent = await remind_once(state)
            if sent:
                log.info("reminded the people signed up for %d trainings", len(sent))
        except Exception:
            log.exception("sending training reminders failed; will try again")
        await asyncio.sleep(state.settings.training_sweep_minutes * 60)
