"""Closes hour logs left open past the cap, in the background of a running server and
from ``python -m server hours sweep``."""

from __future__ import annotations

import asyncio
import logging

from server.domain.volunteers import HoursRules, sweep_open_logs
from server.state import AppState

log = logging.getLogger("server.hours")


async def sweep_once(state: AppState) -> list[str]:
    """One sweep; wakes the devices that see the closed logs."""
    return await sweep_open_logs(state.db, state.registry, state.pokes, HoursRules.from_settings(state.settings))


async def sweep_hours_forever(state: AppState) -> None:
    while True:
        try:
            closed = await sweep_once(state)
            if closed:
                log.info("closed %d hour logs left open past the cap", len(closed))
        except Exception:
            log.exception("sweeping open hour logs failed; will try again")
        await asyncio.sleep(state.settings.hours_sweep_minutes * 60)
