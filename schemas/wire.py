"""The envelopes of push, pull and errors, exactly as the contract names them."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

from schemas.text import UUID, exact, single_line

PROTOCOL_VERSION = 1
"""The protocol this build speaks. Bump only for a change old clients cannot ignore."""

Uuid = Annotated[str, msgspec.Meta(pattern=UUID, description="a UUID (v7 recommended)")]
MAX_PENDING = 1_000_000_000
"""A phone holding more queued mutations than this is lying (the column is 32-bit)."""
Hlc = Annotated[
    str,
    msgspec.Meta(
        pattern=exact(r"\d{16}:\d{4}:[0-9A-Za-z_.-]{1,64}"),
        description="hybrid logical clock: 16-digit ms since epoch, 4-digit counter, node id",
    ),
]


class Message(msgspec.Struct, frozen=True):
    """A user-facing text, Simplified Chinese first."""

    zh: str
    en: str


class Mutation(msgspec.Struct, frozen=True):
    """One queued write from a device. ``args`` stays raw until its mutator's type is known,
    so one bad mutation is rejected on its own instead of failing the whole envelope."""

    id: Annotated[int, msgspec.Meta(ge=1)]
    name: Annotated[str, single_line(min_length=1, max_length=64)]
    version: Annotated[int, msgspec.Meta(ge=1)]
    key: Uuid
    hlc: Hlc
    args: msgspec.Raw = msgspec.field(default_factory=lambda: msgspec.Raw(b"{}"))


PendingSummary = Annotated[
    dict[Annotated[str, msgspec.Meta(min_length=1, max_length=64)],
         Annotated[int, msgspec.Meta(ge=0)]],
    msgspec.Meta(max_length=100),
]


class PushRequest(msgspec.Struct, frozen=True):
    protocol: int
    client_id: Uuid
    mutations: list[Mutation]
    pending: Annotated[int, msgspec.Meta(ge=0, le=MAX_PENDING)] | None = None
    """How many mutations the device still holds (reported for stale-phone alerts)."""
    pending_summary: PendingSummary | None = None
    """What the device still holds, by mutation name (``{"donation.record": 3}``): shown
    in the console's device list, so a manager sees what a lost phone had not synced."""


Status = Literal["applied", "duplicate", "rejected", "flagged"]


class MutationResult(msgspec.Struct, frozen=True, omit_defaults=True):
    id: int
    status: Status
    code: str | None = None
    message: Message | None = None
    issue_id: str | None = None


class PushResponse(msgspec.Struct, frozen=True):
    last_mutation_id: int
    results: list[MutationResult]


class PullRequest(msgspec.Struct, frozen=True):
    protocol: int
    client_id: Uuid
    cursor: Annotated[str, single_line(max_length=1000)] | None = None
    limit: Annotated[int, msgspec.Meta(ge=1, le=10000)] = 1000
    want_remaining: bool = False
    """Also count the changes still to come after this page (``PullResponse.remaining``):
    a phone asks on the first page of a run to show a progress bar. Off by default, since
    the count reads the rest of the caller's feed."""


class Change(msgspec.Struct, frozen=True, omit_defaults=True):
    type: str
    id: str
    op: Literal["put", "del"]
    data: dict[str, Any] | None = None


class PullResponse(msgspec.Struct, frozen=True):
    cursor: str
    reset: bool
    more: bool
    last_mutation_id: int
    changes: list[Change]
    sign_out: bool = False
    """The console asked this device to sign out: push everything, then
    ``POST /api/v1/me/sign-out`` and forget the account (docs/accounts.md)."""
    server_time: str = ""
    """The server's clock when it answered (UTC, ISO 8601 with milliseconds): the phone
    compares it with its own and warns when they are far apart (docs/pwa.md)."""
    remaining: int | None = None
    """Only when the request set ``want_remaining``: how many changes this grant may see
    lie after this page and below the visible horizon (0 when ``more`` is false). A count
    of change rows at the time of the answer, for a progress bar, not a promise: changes
    that commit later are not in it."""


class ErrorBody(msgspec.Struct, frozen=True, omit_defaults=True):
    """Body of every error answer (4xx, 5xx) of every JSON route. ``request_id`` is the
    ``X-Request-ID`` of the answer, also in the server's log lines of that request."""

    code: str
    message: Message
    expected: int | None = None
    field: str | None = None
    request_id: str | None = None
