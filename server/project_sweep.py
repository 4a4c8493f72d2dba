"""Reminds a project's station of supervision follow-ups that came due, in the background
of a running server (docs/projects.md, "Supervision visits")."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

from server.domain.service_projects import remind_follow_ups
from server.state import AppState

log = logging.getLogger("server.projects")


async def remind_once(state: AppState, now: dt.datetime | None = None) -> list[str]:
    """One sweep: a ``visit.follow_up_due`` notification for each open follow-up due today
    or earlier (Asia/Shanghai) and not reminded before."""
    return await remind_follow_ups(state.db, state.registry, state.pokes,
                                   now or dt.datetime.now(dt.UTC))


async def remind_follow_ups_forever(state: AppState) -> None:
    while True:
        try:
            sent = await remind_once(state)
            if sent:
                log.info("reminded stations of %d supervision follow-ups due", len(sent))
        except Exception:
            log.exception("sending follow-up reminders failed; will try again")
        await asyncio.sleep(state.settings.project_sweep_minutes * 60)
