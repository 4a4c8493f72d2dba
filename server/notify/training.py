"""Training notifications (docs/training.md): the person who got a seat from the waiting
list hears of it; everyone signed up or waiting hears of a cancellation. The day-before
reminder is a sweep (server/training_sweep.py)."""

from __future__ import annotations

from schemas.events import TrainingCancelled, TrainingSeatGiven
from server.notify.records import enqueue
from sync.registry import Registry
from sync.unit import MutationContext, Tx


async def on_seat_given(tx: Tx, ctx: MutationContext, event: TrainingSeatGiven) -> None:
    enqueue(tx, ctx, "training.seat", event, users=[event.user])


async def on_cancelled(tx: Tx, ctx: MutationContext, event: TrainingCancelled) -> None:
    enqueue(tx, ctx, "training.cancelled", event)  # its ``users`` are the recipients


def install(registry: Registry) -> None:
    registry.on(TrainingSeatGiven, on_seat_given)
    registry.on(TrainingCancelled, on_cancelled)


__all__ = ["install", "on_cancelled", "on_seat_given"]
