"""Reminds the managers of disclosures coming due, in the background of a running server
(docs/disclosure.md, "Reminders")."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

from server.domain.disclosure import DisclosureRules, remind_due
from server.state import AppState

log = logging.getLogger("server.disclosure")


async def remind_once(state: AppState, now: dt.datetime | None = None) -> list[str]:
    """One sweep: a ``disclosure.due`` notification for each period due within
    ``disclosure_remind_days`` (or overdue), unpublished and not reminded before."""
    return await remind_due(state.db, state.registry, state.pokes,
                            DisclosureRules.from_settings(state.settings),
                            now or dt.datetime.now(dt.UTC))


async def remind_forever(state: AppState) -> None:
    while True:
        try:
            sent = await remind_once(state)
            if sent:
                log.info("reminded managers of %d disclosures coming due", len(sent))
        except Exception:
            log.exception("sending disclosure reminders failed; will try again")
        await asyncio.sleep(state.settings.disclosure_sweep_minutes * 60)
