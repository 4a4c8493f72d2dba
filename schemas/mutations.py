"""Args of every mutation, one Struct per (name, version).

Constraints live here as ``msgspec.Meta`` so that a wrong type or an out-of-range
value is refused with the field's path before any mutator runs.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, UnsetType

from schemas.wire import Uuid

StationCode = Annotated[
    str, msgspec.Meta(pattern=r"^[A-Za-z0-9_-]{2,32}$", description="station code, e.g. TH-001")
]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
Title = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Notes = Annotated[str, msgspec.Meta(max_length=4000)]
IsoDate = Annotated[
    str, msgspec.Meta(pattern=r"^\d{4}-\d{2}-\d{2}$", description="calendar date YYYY-MM-DD")
]
Phone = Annotated[str, msgspec.Meta(pattern=r"^\+?[0-9 -]{5,20}$")]
BaseHlcs = Annotated[
    dict[str, str],
    msgspec.Meta(description="per edited field, the field_hlc the device had when the user edited"),
]


class StationCreateArgs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    code: StationCode
    name: Name
    district: Name


class StationFields(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    name: Name | UnsetType = UNSET


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


class EventFields(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    date: IsoDate | UnsetType = UNSET
    title: Title | UnsetType = UNSET
    notes: Notes | UnsetType = UNSET
    contact_phone: Phone | None | UnsetType = UNSET


class EventUpdateArgs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    id: Uuid
    fields: EventFields
    base: BaseHlcs = {}


class EventDeleteArgs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    id: Uuid


class ConflictResolveArgs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """``accept`` keeps the decided value; ``restore`` writes the losing value back."""

    id: Uuid
    action: Literal["accept", "restore"]
