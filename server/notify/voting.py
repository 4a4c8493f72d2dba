"""Notifications of a round's vote (docs/programme.md, "Voting and results"): when a round
opens its vote, everyone at its station hears of it (residents vote on their phones)."""

from __future__ import annotations

import json

from schemas.events import RoundPhaseChanged
from server.notify.records import enqueue
from sync.registry import Registry
from sync.unit import MutationContext, Tx


async def on_round_phase_changed(tx: Tx, ctx: MutationContext, event: RoundPhaseChanged) -> None:
    if event.phase != "voting":
        return
    found = await tx.get("round", event.round_id)  # the mutation moving it holds it
    title = str(found["title"]) if found else ""
    phases = json.loads(found["phases"]) if found and isinstance(found["phases"], str) else (
        found["phases"] if found else {})
    voting = (phases or {}).get("voting") or {}
    enqueue(tx, ctx, "round.voting_open", event, title=title, starts=voting.get("starts"),
            ends=voting.get("ends"))


def install(registry: Registry) -> None:
    registry.on(RoundPhaseChanged, on_round_phase_changed)
