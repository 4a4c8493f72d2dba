"""Domain events: what a mutation tells other areas happened (the Zulip
``event_types`` habit). Emitted as ``await tx.emit(ctx, DonationRecorded(...))`` and
heard with ``registry.on(DonationRecorded, handler)``: a misspelt event is a
NameError at import, not a handler that silently never runs.

Each event is a frozen Struct with its documented name (``EVENT_NAME``); the
docs name every one (tests/test_docs.py). Handlers run inside the emitting
mutation (see ``sync.unit.Tx.emit``).
"""

from __future__ import annotations

from typing import ClassVar

import msgspec


class DomainEvent(msgspec.Struct, frozen=True, kw_only=True):
    """Base of every domain event; ``EVENT_NAME`` is how the docs and the outbox call it."""

    EVENT_NAME: ClassVar[str] = ""


class MutationFlagged(DomainEvent, frozen=True, kw_only=True):
    """The engine applied a mutation and held it for review (a conflict, a clock, ...)."""

    EVENT_NAME: ClassVar[str] = "mutation.flagged"
    issue_id: str
    code: str
    mutation: str
    user_id: str
    station: str | None
    district: str | None


class DonationRecorded(DomainEvent, frozen=True, kw_only=True):
    EVENT_NAME: ClassVar[str] = "donation.recorded"
    donation_id: str
    station: str
    district: str
    event_id: str | None
    kind: str
    amount_fen: int
    """Money, or a goods gift's estimated value."""
    donor_display: str
    """The donor as public pages show them (masked unless they opted in)."""


class CorrectionAwaitingApproval(DomainEvent, frozen=True, kw_only=True):
    EVENT_NAME: ClassVar[str] = "correction.awaiting_approval"
    correction_id: str
    donation_id: str
    station: str
    district: str
    amount_fen: int
    requested_by: str


class CorrectionDecided(DomainEvent, frozen=True, kw_only=True):
    EVENT_NAME: ClassVar[str] = "correction.decided"
    correction_id: str
    station: str
    district: str
    decision: str
    """``approved`` or ``rejected``."""


class FundBalanceChanged(DomainEvent, frozen=True, kw_only=True):
    EVENT_NAME: ClassVar[str] = "fund.balance_changed"
    fund_id: str
    fund_name: str
    station: str | None
    district: str | None
    balance_fen: int
    available_fen: int


class DisbursementAwaitingApproval(DomainEvent, frozen=True, kw_only=True):
    EVENT_NAME: ClassVar[str] = "disbursement.awaiting_approval"
    disbursement_id: str
    fund_id: str
    fund_name: str
    station: str | None
    district: str | None
    amount_fen: int
    requested_by: str
    """Who asked: never the one who approves (the notification skips them)."""


class DisbursementDecided(DomainEvent, frozen=True, kw_only=True):
    """A disbursement was approved (now waiting for a third person to pay) or refused."""

    EVENT_NAME: ClassVar[str] = "disbursement.decided"
    disbursement_id: str
    fund_id: str
    fund_name: str
    station: str | None
    district: str | None
    amount_fen: int
    decision: str
    """``approved`` or ``rejected``."""
    requested_by: str
    decided_by: str


class DisbursementPaid(DomainEvent, frozen=True, kw_only=True):
    EVENT_NAME: ClassVar[str] = "disbursement.paid"
    disbursement_id: str
    fund_id: str
    station: str | None
    district: str | None
    amount_fen: int


class HoursSubmitted(DomainEvent, frozen=True, kw_only=True):
    EVENT_NAME: ClassVar[str] = "hours.submitted"
    log_id: str
    volunteer_id: str
    station: str
    district: str
    minutes: int
    submitted_at: str


class HoursDecided(DomainEvent, frozen=True, kw_only=True):
    EVENT_NAME: ClassVar[str] = "hours.decided"
    log_id: str
    station: str
    district: str
    decision: str
    """``approved``, ``rejected`` or ``reversed``."""


class IssuesResolved(DomainEvent, frozen=True, kw_only=True):
    """Held submissions were settled: the thing they were about was decided (a log
    approved, the record's conflicts resolved) or a manager marked them handled. Their
    inbox notifications are marked resolved."""

    EVENT_NAME: ClassVar[str] = "sync_issue.resolved"
    issue_ids: tuple[str, ...]
    station: str | None
    district: str | None


class RoundPhaseChanged(DomainEvent, frozen=True, kw_only=True):
    """A micro-venture round moved to another phase (docs/programme.md)."""

    EVENT_NAME: ClassVar[str] = "round.phase_changed"
    round_id: str
    fund_id: str
    station: str
    district: str
    phase: str


class ReviewAssigned(DomainEvent, frozen=True, kw_only=True):
    """A fund manager asked a person to review a proposal (docs/programme.md)."""

    EVENT_NAME: ClassVar[str] = "review.assigned"
    review_id: str
    proposal_id: str
    reviewer: str
    round_id: str
    station: str
    district: str


class ReviewDone(DomainEvent, frozen=True, kw_only=True):
    """A reviewer submitted their scorecard or declared a conflict (docs/programme.md)."""

    EVENT_NAME: ClassVar[str] = "review.done"
    review_id: str
    proposal_id: str
    reviewer: str
    status: str
    """``submitted`` or ``declined_conflict``."""


class BallotFlagged(DomainEvent, frozen=True, kw_only=True):
    """A resident has more than one ballot in a round: the earliest cast counts, the
    others are kept as duplicates for the managers (docs/programme.md)."""

    EVENT_NAME: ClassVar[str] = "ballot.flagged"
    ballot_id: str
    """The ballot that just arrived."""
    round_id: str
    counted_id: str
    duplicate_ids: tuple[str, ...]
    swapped: bool
    """The arriving ballot was cast earlier than the one counted so far: it counts now."""
    channel: str
    booth: str | None
    station: str
    district: str


EVENTS: dict[str, type[DomainEvent]] = {
    event.EVENT_NAME: event
    for event in (
        MutationFlagged, DonationRecorded, CorrectionAwaitingApproval, CorrectionDecided,
        FundBalanceChanged, DisbursementAwaitingApproval, DisbursementDecided, DisbursementPaid,
        HoursSubmitted, HoursDecided, IssuesResolved, RoundPhaseChanged, ReviewAssigned,
        ReviewDone, BallotFlagged,
    )
}
"""Every domain event by its documented name."""


def event_data(event: DomainEvent) -> dict[str, object]:
    """An event's fields as a dict (an outbox row's data, a test's record)."""
    return msgspec.structs.asdict(event)
