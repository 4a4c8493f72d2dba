"""Training notifications (docs/training.md): the person who got a seat from the waiting
list hears of it. The day-before reminder is a sweep (server/training_sweep.py)."""

from __future__ import annotations

from schemas.events import TrainingSeatGiven
from server.notify.records import enqueue
from sync.registry import Registry
from sync.unit import MutationContext, Tx


async def on_seat_given(tx: Tx, ctx: MutationContext, event: TrainingSeatGiven) -> None:
    enqueue(tx, ctx, "training.seat", event, users=[event.user])


def install(registry: Registry) -> None:
    registry.on(TrainingSeatGiven, on_seat_given)


__all__ = ["install", "on_seat_given"]
