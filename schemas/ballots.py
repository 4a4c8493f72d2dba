"""Voting in a micro-venture round (issue 15): ballots on a resident's own phone and at
offline booths, paper tallies per booth, and the frozen results (docs/programme.md,
"Voting and results").

A booth ballot carries the resident's name and phone number in its args only: the server
turns them into a keyed hash (``voter_key``) and stores neither. Money is integer fen.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

from schemas.mutations import Name, Phone
from schemas.text import DATE, TIME, exact, single_line
from schemas.wire import Uuid

MAX_CHOICES = 100
"""Proposals one ballot may approve: a round has a few dozen at most."""
MAX_PAPER_BALLOTS = 1_000_000
"""Paper ballots counted at one booth: more is a typing mistake."""

Channel = Literal["own_phone", "booth"]
BallotStatus = Literal["counted", "duplicate"]
BoothName = Annotated[str, single_line(min_length=1, max_length=60,
                                       description="the booth (a street corner, a hall)")]
BallotBookNo = Annotated[str, single_line(min_length=1, max_length=40,
                                          description="the number on the booth's ballot book")]
DeviceTime = Annotated[
    str,
    msgspec.Meta(
        pattern=exact(rf"{DATE}T{TIME}(:[0-5]\d(\.\d{{1,6}})?)?(Z|[+-]{TIME})"),
        description="ISO-8601 time with a zone, as the booth phone's clock read it",
    ),
]
Choices = Annotated[list[Uuid], msgspec.Meta(min_length=1, max_length=MAX_CHOICES,
                                             description="the proposals approved (each once)")]
VoteCount = Annotated[int, msgspec.Meta(ge=0, le=MAX_PAPER_BALLOTS)]


# ----------------------------------------------------------------------------- args


class BallotCastArgs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A resident votes on their own phone (signed in with a volunteer or resident
    account): the time that counts is the server's."""

    id: Uuid
    round_id: Uuid
    proposal_ids: Choices


class BallotBoothArgs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A staff phone at a booth takes a resident's ballot in person, offline. The name and
    phone identify the resident (one ballot per resident per round); the server keeps only
    their keyed hash. ``cast_at`` is the booth phone's clock when the ballot was taken."""

    id: Uuid
    round_id: Uuid
    proposal_ids: Choices
    voter_name: Name
    voter_phone: Phone
    booth: BoothName
    ballot_book_no: BallotBookNo
    cast_at: DeviceTime


class BallotTallyArgs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Paper ballots counted by hand at one booth: how many ballots, and the votes each
    proposal got. Sending the same ``id`` again corrects the tally (the earlier figures
    stay in the audit log)."""

    id: Uuid
    round_id: Uuid
    booth: BoothName
    ballots: VoteCount
    votes: dict[Uuid, VoteCount]


class RoundPublishResultsArgs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A fund manager closes the vote: the results are computed, frozen and published."""

    round_id: Uuid
    early: bool = False
    """Close the vote before its last day (the manager confirms it): without it, results
    are published only after the voting dates have ended."""


# ----------------------------------------------------------------------------- records


class BallotRecord(msgspec.Struct, frozen=True):
    """One ballot. Seen by the round's managers; a resident sees their own own-phone
    ballot. ``voter_key`` is ``user:<id>`` (own phone) or ``hash:<hex>`` (a booth: the
    keyed hash of the resident's normalised name and phone; the raw ones are never kept).
    ``status`` ``duplicate``: the same resident already cast an earlier ballot in the
    round (``duplicate_of``); kept and shown to managers, not counted."""

    id: str
    round_id: str
    channel: Channel
    voter_key: str
    booth: str | None
    ballot_book_no: str | None
    proposal_ids: list[str]
    total_fen: int
    cast_at: str
    received_at: str
    status: BallotStatus
    duplicate_of: str | None
    taken_by: str | None
    station: str | None
    district: str | None


class PaperTallyRecord(msgspec.Struct, frozen=True):
    """Paper ballots counted at one booth. Seen by the station's staff and managers."""

    id: str
    round_id: str
    booth: str
    ballots: int
    votes: dict[str, int]
    entered_by: str
    entered_at: str
    station: str | None
    district: str | None
    previous: list[dict[str, Any]] = []
    """The figures each correction replaced (``ballots``, ``votes``, ``entered_by``,
    ``entered_at``), oldest first."""


class RoundResultRecord(msgspec.Struct, frozen=True):
    """One proposal's line in a round's published results (``id`` is the proposal's id:
    a proposal belongs to one round). Public."""

    id: str
    round_id: str
    proposal_id: str
    votes_own_phone: int
    votes_booth: int
    votes_paper: int
    votes_total: int
    rank: int
    funded: bool
    amount_fen: int
    adjusted_price_fen: int
    published_at: str
