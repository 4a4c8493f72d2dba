"""Args and records of volunteers, service hours and the Time Bank (issue 4).

Credits are integer *credit cents*: 100 = one time credit = one approved hour at the
default rate. Times are ISO-8601 UTC text as the device's clock saw them.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, UnsetType

from schemas.attachments import AttachmentRef, Attachments
from schemas.mutations import BaseHlcs, IsoDate, Name, Notes, Phone, StationCode, Title
from schemas.text import DATE, TIME, exact, multi_line, single_line
from schemas.wire import Uuid

ServiceType = Literal[
    "elder_care",
    "hardship_relief",
    "orphan_care",
    "disability_support",
    "community_governance",
    "event_support",
    "training",
]
SERVICE_TYPES: tuple[str, ...] = ServiceType.__args__  # type: ignore[attr-defined]

UserId = Annotated[str, single_line(min_length=1, max_length=64, description="a user id")]
IsoTime = Annotated[
    str,
    msgspec.Meta(
        pattern=exact(rf"{DATE}T{TIME}(:[0-5]\d(\.\d{{1,6}})?)?(Z|[+-]{TIME})"),
        description="ISO-8601 time with a zone, as the device's clock read it",
    ),
]
Skill = Annotated[str, single_line(min_length=1, max_length=50)]
Skills = Annotated[list[Skill], msgspec.Meta(max_length=30)]
StationList = Annotated[
    list[StationCode],
    msgspec.Meta(min_length=1, max_length=10, description="stations served; the first is home"),
]
Reason = Annotated[str, multi_line(min_length=1, max_length=500)]
ProjectRef = Annotated[str, single_line(min_length=1, max_length=64)]
Credits = Annotated[
    int, msgspec.Meta(gt=0, le=100_000_000, description="credit cents: 100 = one time credit")
]
RateCents = Annotated[
    int, msgspec.Meta(ge=0, le=10_000, description="credit cents per approved hour (100 = 1)")
]
Stock = Annotated[int, msgspec.Meta(ge=0, le=1_000_000)]


# -- volunteers ----------------------------------------------------------------------------


class VolunteerRegisterArgs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Registers ``user_id`` as a volunteer: the user themselves or staff of the home station."""

    user_id: UserId
    name: Name
    stations: StationList
    phone: Phone | None = None
    skills: Skills = []


class VolunteerFields(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    name: Name | UnsetType = UNSET
    phone: Phone | None | UnsetType = UNSET
    skills: Skills | UnsetType = UNSET
    stations: StationList | UnsetType = UNSET


class VolunteerUpdateArgs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    user_id: UserId
    fields: VolunteerFields
    base: BaseHlcs = {}


# -- service activities --------------------------------------------------------------------


class ActivityCreateArgs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    id: Uuid
    station: StationCode
    title: Title
    service_type: ServiceType
    date: IsoDate
    event_id: Uuid | None = None
    project_id: ProjectRef | None = None
    notes: Notes = ""


# -- hour logs -----------------------------------------------------------------------------


class HoursCheckInArgs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """``volunteer_id`` omitted: the caller checks themselves in. Given and not the
    caller: staff scanned the volunteer's QR code and record on their behalf."""

    id: Uuid
    activity_id: Uuid
    at: IsoTime
    volunteer_id: UserId | None = None


class HoursCheckInV2Args(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """``hours.check_in@2``. Neither ``volunteer_code`` nor ``volunteer_id``: the caller
    checks themselves in. ``volunteer_code``: staff scanned the volunteer's signed code
    (the volunteer is the code's user; a ``volunteer_id`` given too must be the same).
    ``volunteer_id`` alone: staff picked a volunteer of the activity's station from the
    station's list (no code; only the station's own volunteers)."""

    id: Uuid
    activity_id: Uuid
    at: IsoTime
    volunteer_code: Annotated[str, msgspec.Meta(min_length=10, max_length=200,
                                                pattern=exact(r"[A-Za-z0-9_.-]+"),
                                                description="a signed volunteer code")] | None = None
    volunteer_id: UserId | None = None


class HoursCheckOutArgs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    id: Uuid
    at: IsoTime


class HoursManualArgs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    id: Uuid
    activity_id: Uuid
    check_in_at: IsoTime
    check_out_at: IsoTime
    volunteer_id: UserId | None = None
    note: Notes = ""


class HourLogFields(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    check_in_at: IsoTime | UnsetType = UNSET
    check_out_at: IsoTime | UnsetType = UNSET
    note: Notes | UnsetType = UNSET


class HoursEditArgs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    id: Uuid
    fields: HourLogFields
    base: BaseHlcs = {}


class HoursApproveArgs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """``supersede_overlapping``: the reviewer confirms that this log is the real session
    and the logs overlapping it are duplicates (they are rejected, not credited)."""

    id: Uuid
    supersede_overlapping: bool = False


class HoursRejectArgs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    id: Uuid
    reason: Reason


class HoursReverseArgs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    id: Uuid
    reason: Reason


# -- the Time Bank -------------------------------------------------------------------------


class RateSetArgs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    station: StationCode
    service_type: ServiceType
    rate_cents: RateCents


class TransferArgs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """From the caller's own account to another volunteer's."""

    id: Uuid
    to_volunteer: UserId
    amount_cents: Credits
    kind: Literal["transfer", "gift"] = "transfer"
    memo: Notes = ""


class CatalogueAddArgs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    id: Uuid
    station: StationCode
    title: Title
    kind: Literal["service", "goods"]
    cost_cents: Credits
    stock: Stock | None = None
    """None: not limited (a service); otherwise how many can still be redeemed."""
    description: Notes = ""
    attachments: Attachments = []
    """The item's pictures."""


class CatalogueFields(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    title: Title | UnsetType = UNSET
    description: Notes | UnsetType = UNSET
    cost_cents: Credits | UnsetType = UNSET
    active: bool | UnsetType = UNSET


class CatalogueUpdateArgs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    id: Uuid
    fields: CatalogueFields
    base: BaseHlcs = {}
    attachments: Attachments = []
    """Pictures to add (as ``event.update``'s); removing one is ``attachment.remove``."""


class CatalogueRestockArgs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A change of stock by a delta, so that restocks from two phones add up."""

    id: Uuid
    delta: Annotated[int, msgspec.Meta(ge=-1_000_000, le=1_000_000)]


class RedemptionRequestArgs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    id: Uuid
    item_id: Uuid


class RedemptionDecideArgs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    id: Uuid


class RedemptionDeclineArgs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    id: Uuid
    reason: Reason


# -- records as phones see them ------------------------------------------------------------


class VolunteerRecord(msgspec.Struct, frozen=True):
    """A volunteer's profile: synced to the volunteer's own devices and to staff and
    managers of the home station (``station``); never to other volunteers."""

    user_id: str
    name: str
    phone: str | None
    skills: list[str]
    stations: list[str]
    station: str
    district: str
    created_by: str
    created_at: str
    updated_at: str
    field_hlc: dict[str, str]


class VolunteerCardRecord(msgspec.Struct, frozen=True):
    """A volunteer as seen by staff and managers of a station they serve other than the
    home station (``VolunteerRecord.station``). Removed (``op: del``) when they stop serving it."""

    id: str
    user_id: str
    station: str
    district: str
    name: str
    phone: str | None
    skills: list[str]
    updated_at: str


class ServiceActivityRecord(msgspec.Struct, frozen=True):
    id: str
    station: str
    district: str
    event_id: str | None
    project_id: str | None
    service_type: ServiceType
    title: str
    date: str
    notes: str
    created_by: str
    created_at: str


HourLogStatus = Literal["open", "submitted", "approved", "rejected", "reversed"]


class HourLogRecord(msgspec.Struct, frozen=True):
    """One service session. ``flags``: ``overlap``, ``auto_closed``, ``clock_ahead``,
    ``late_sync``, ``long_session``, ``backdated``; ``overlaps``: ids of live logs of the
    same volunteer that overlap this one in time; ``handled_by``: who created it, checked
    it in or out or changed its times (none of them may approve it)."""

    id: str
    volunteer_id: str
    activity_id: str
    station: str
    district: str
    service_type: ServiceType
    status: HourLogStatus
    source: Literal["self", "staff_scan", "manual"]
    recorded_by: str
    check_in_at: str
    check_out_at: str | None
    minutes: int | None
    device_check_in_at: str
    device_check_out_at: str | None
    received_check_in_at: str
    received_check_out_at: str | None
    note: str
    flags: list[str]
    overlaps: list[str]
    handled_by: list[str]
    submitted_at: str | None
    decided_by: str | None
    decided_at: str | None
    decision_reason: str | None
    credited_cents: int | None
    created_at: str
    updated_at: str
    field_hlc: dict[str, str]


class TimebankAccountRecord(msgspec.Struct, frozen=True):
    """A volunteer's account (``vol:<user>``) or a station's bank (``bank:<station>``).
    ``balance_cents`` is the sum of the account's entries."""

    id: str
    kind: Literal["volunteer", "bank"]
    owner: str | None
    station: str
    district: str
    balance_cents: int
    updated_at: str


class TimebankEntryRecord(msgspec.Struct, frozen=True):
    """One side of a movement; the two entries of a movement sum to zero. Read-only."""

    id: str
    movement_id: str
    account_id: str
    counter_account_id: str
    owner: str | None
    """The volunteer whose account this is; None for a station's bank."""
    amount_cents: int
    kind: Literal[
        "hours_credit", "hours_reversal", "transfer", "gift", "redemption", "redemption_refund"
    ]
    ref_type: str
    ref_id: str
    memo: str
    created_by: str
    created_at: str


class TimebankRateRecord(msgspec.Struct, frozen=True):
    id: str
    station: str
    service_type: ServiceType
    rate_cents: int
    updated_by: str
    updated_at: str


class RedemptionItemRecord(msgspec.Struct, frozen=True):
    id: str
    station: str
    district: str
    title: str
    description: str
    kind: Literal["service", "goods"]
    cost_cents: int
    stock: int | None
    active: bool
    created_by: str
    created_at: str
    updated_at: str
    field_hlc: dict[str, str]
    attachments: list[AttachmentRef] = []


class RedemptionRecord(msgspec.Struct, frozen=True):
    """``needs_review``: the request came in (offline) when the balance or the stock no
    longer covered it; nothing was debited; staff approve (debiting then) or decline."""

    id: str
    item_id: str
    volunteer_id: str
    station: str
    district: str
    cost_cents: int
    status: Literal["requested", "needs_review", "approved", "fulfilled", "declined"]
    review_reason: str | None
    debited: bool
    requested_at: str
    decided_by: str | None
    decided_at: str | None
    decline_reason: str | None
    fulfilled_at: str | None
    updated_at: str
