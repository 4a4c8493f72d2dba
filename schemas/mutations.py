"""Args of every mutation, one Struct per (name, version).

Constraints live here as ``msgspec.Meta`` so that a wrong type or an out-of-range
value is refused with the field's path before any mutator runs.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, UnsetType

from schemas.text import DATE, exact, multi_line, single_line
from schemas.wire import Uuid

StationCode = Annotated[
    str, msgspec.Meta(pattern=exact(r"[A-Za-z0-9_-]{2,32}"), description="station code, e.g. TH-001")
]
Name = Annotated[str, single_line(min_length=1, max_length=100)]
Title = Annotated[str, single_line(min_length=1, max_length=200)]
Notes = Annotated[str, multi_line(max_length=4000)]
IsoDate = Annotated[
    str, msgspec.Meta(pattern=exact(DATE), description="calendar date YYYY-MM-DD (1900-2999)")
]
Phone = Annotated[str, msgspec.Meta(pattern=exact(r"\+?[0-9 -]{5,20}"))]
FieldName = Annotated[str, single_line(min_length=1, max_length=64)]
HlcText = Annotated[str, single_line(max_length=200)]
BaseHlcs = Annotated[
    dict[FieldName, HlcText],
    msgspec.Meta(description="per edited field, the field_hlc the device had when the user edited"),
]


class StationCreateArgs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    code: StationCode
    name: Name
    district: Name
    pin_required: bool = True
    """Staff and above at the station set an app lock PIN on their phones."""


class StationFields(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    name: Name | UnsetType = UNSET
    pin_required: bool | UnsetType = UNSET


class StationUpdateArgs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    code: StationCode
    fields: StationFields
    base: BaseHlcs = {}


class EventCreateArgs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    id: Uuid
    station: StationCode
    date: IsoDate
    title: Title
    notes: Notes = ""
    contact_phone: Phone | None = None
    campaign: Uuid | None = None
    """The fundraising campaign gifts at the event belong to by default."""


class EventFields(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    date: IsoDate | UnsetType = UNSET
    title: Title | UnsetType = UNSET
    notes: Notes | UnsetType = UNSET
    contact_phone: Phone | None | UnsetType = UNSET
    campaign: Uuid | None | UnsetType = UNSET


class EventUpdateArgs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    id: Uuid
    fields: EventFields
    base: BaseHlcs = {}


class EventDeleteArgs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    id: Uuid


class ConflictResolveArgs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """``accept`` keeps the decided value; ``restore`` writes the losing value back;
    ``merge`` writes ``value`` (the manager's combination of both texts; notes fields only)."""

    id: Uuid
    action: Literal["accept", "restore", "merge"]
    value: Notes | None = None


class SyncIssueResolveArgs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A manager marks a rejected or held submission handled (it leaves the open list)."""

    id: Uuid
