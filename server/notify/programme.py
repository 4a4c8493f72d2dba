"""Notifications of the programme's own work (issue 15, docs/programme.md): a review
assigned (to the reviewer alone), settled when they score it or decline. Like server/notify/records.py, a handler only defers an
outbox row inside the mutation that emitted the event; the background task builds the
words (server/notify/kinds.py) and sends it."""

from __future__ import annotations

from schemas.events import ReviewAssigned, ReviewDone
from server.notify.records import enqueue, enqueue_resolve
from sync.registry import Registry
from sync.unit import MutationContext, Tx


async def on_review_assigned(tx: Tx, ctx: MutationContext, event: ReviewAssigned) -> None:
    """The reviewer hears of it, with the proposal's and the round's titles (no more: the
    proposal itself syncs to their phone)."""
    proposal = await tx.get("proposal", event.proposal_id)
    round_row = await tx.get("round", event.round_id)
    enqueue(tx, ctx, "review.assigned", event,
            proposal_title=proposal["title"] if proposal else "",
            round_title=round_row["title"] if round_row else "")


async def on_review_done(tx: Tx, ctx: MutationContext, event: ReviewDone) -> None:
    """Scored or declined: the reviewer's notification moves to the inbox's done part."""
    enqueue_resolve(tx, ctx, [f"review:{event.review_id}"])


def install(registry: Registry) -> None:
    registry.on(ReviewAssigned, on_review_assigned)
    registry.on(ReviewDone, on_review_done)


__all__ = ["install", "on_review_assigned", "on_review_done"]
