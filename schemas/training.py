"""Training (issue 15, docs/training.md): lectures and courses on the Charity Law and the
city's social work regulations, sign-up with a waiting list, attendance at the door by
the person's signed code (offline), feedback. Every mutation's args and every record as
phones see it.

Times are ISO-8601 with a zone; a training's ``hours`` are the training hours credited
to each person who attended (on their record and their service certificate).
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, UnsetType

from schemas.attachments import AttachmentRef, Attachments
from schemas.mutations import Name, Notes, StationCode, Title
from schemas.text import exact, multi_line
from schemas.timebank import IsoTime, UserId
from schemas.wire import Uuid

Audience = Literal["volunteers", "staff", "residents", "all"]
AUDIENCES: tuple[str, ...] = Audience.__args__  # type: ignore[attr-defined]
Occasion = Literal["charity_day", "social_work_week", "99_giving_day", "other"]
OCCASIONS: tuple[str, ...] = Occasion.__args__  # type: ignore[attr-defined]
"""中华慈善日 (5 September), the city's social work week (社工宣传周), 99公益日 (9 September
onwards), or another day."""
SIGNUP_STATUSES = ("confirmed", "waitlisted", "cancelled", "attended")
TRAINING_STATUSES = ("open", "cancelled")

Capacity = Annotated[int, msgspec.Meta(ge=1, le=5000, description="seats")]
TrainingHours = Annotated[float, msgspec.Meta(
    ge=0, le=40, multiple_of=0.5, description="training hours credited to each attendee")]
Score = Annotated[int, msgspec.Meta(ge=1, le=5)]
Comment = Annotated[str, multi_line(max_length=2000)]
Reason = Annotated[str, multi_line(min_length=1, max_length=500)]
SignedCode = Annotated[str, msgspec.Meta(min_length=10, max_length=200,
                                         pattern=exact(r"[A-Za-z0-9_.-]+"),
                                         description="a signed person code (the volunteer code)")]


class TrainingCreateArgs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A lecture or course at a station (staff and up there)."""

    id: Uuid
    station: StationCode
    topic: Title
    speaker: Name
    starts_at: IsoTime
    ends_at: IsoTime
    place: Title
    capacity: Capacity
    hours: TrainingHours
    audience: Audience = "all"
    occasion: Occasion = "other"
    description: Notes = ""
    attachments: Attachments = []
    """Materials: slides, the law's text, a reading list."""


class TrainingFields(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    topic: Title | UnsetType = UNSET
    speaker: Name | UnsetType = UNSET
    starts_at: IsoTime | UnsetType = UNSET
    ends_at: IsoTime | UnsetType = UNSET
    place: Title | UnsetType = UNSET
    capacity: Capacity | UnsetType = UNSET
    hours: TrainingHours | UnsetType = UNSET
    audience: Audience | UnsetType = UNSET
    occasion: Occasion | UnsetType = UNSET
    description: Notes | UnsetType = UNSET


class TrainingUpdateArgs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Edit a training; a larger capacity promotes people from the waiting list, a smaller
    one may not go below the seats already taken. ``attachments``: materials to add."""

    id: Uuid
    fields: TrainingFields = TrainingFields()
    attachments: Attachments = []


class TrainingCancelArgs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    id: Uuid
    reason: Reason


class TrainingSignupArgs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Sign up for a seat (``confirmed``) or, when the seats are taken, the waiting list.
    ``user``: staff of the training's station signing up someone else (a resident at the
    counter); the caller by default."""

    id: Uuid
    training_id: Uuid
    user: UserId | None = None


class TrainingWithdrawArgs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Give the seat (or the place on the waiting list) back; the first waiting person
    gets the seat."""

    training_id: Uuid
    user: UserId | None = None


class TrainingAttendArgs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Staff at the door: the person's signed code as scanned (``code``), or the person
    picked from the sign-up list (``user``); ``at`` is the staff phone's clock."""

    id: Uuid
    """The sign-up's id if the person has none yet (a walk-in); unused otherwise."""
    training_id: Uuid
    at: IsoTime
    code: SignedCode | None = None
    user: UserId | None = None


class TrainingFeedbackArgs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """An attendee's feedback form (once per training; sending again replaces it)."""

    training_id: Uuid
    score: Score
    """Overall, 1 (poor) to 5 (excellent)."""
    useful: Score
    """How useful for their service, 1 to 5."""
    comment: Comment = ""


# ----------------------------------------------------------------------------- records


class TrainingRecord(msgspec.Struct, frozen=True):
    """A lecture or course; public (every phone lists it). ``confirmed`` counts the seats
    taken (confirmed and attended), ``waitlisted`` the waiting list, ``attended`` who came."""

    id: str
    station: str
    district: str
    topic: str
    speaker: str
    starts_at: str
    ends_at: str
    place: str
    capacity: int
    hours: float
    audience: str
    occasion: str
    description: str
    status: str
    cancel_reason: str | None
    confirmed: int
    waitlisted: int
    attended: int
    created_by: str
    created_at: str
    updated_at: str
    attachments: list[AttachmentRef] = []


class TrainingSignupRecord(msgspec.Struct, frozen=True):
    """One person's sign-up: the person and staff of the training's station see it.
    ``position`` is the place on the waiting list (1 = next), null when not waiting;
    ``hours`` the training hours credited once attended."""

    id: str
    training_id: str
    user: str
    name: str
    station: str
    district: str
    status: str
    position: int | None
    signed_up_at: str
    signed_up_by: str
    attended_at: str | None
    attended_by: str | None
    walk_in: bool
    hours: float
    updated_at: str


class TrainingFeedbackRecord(msgspec.Struct, frozen=True):
    """An attendee's feedback: the person and staff of the training's station see it."""

    id: str
    training_id: str
    user: str
    station: str
    district: str
    score: int
    useful: int
    comment: str
    submitted_at: str
