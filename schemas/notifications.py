"""Notifications: the args of their mutations and the push subscription a browser sends.

Kinds are the names the inbox, the preferences and the push payload share
(``donation.large``, ``hours.waiting`` ...); see docs/notifications.md.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, UnsetType

from schemas.mutations import StationCode
from schemas.text import DATE, TIME, exact, single_line
from schemas.wire import Uuid

NotificationKind = Literal[
    "donation.large",
    "hours.waiting",
    "review.flagged",
    "correction.waiting",
    "fund.low",
    "phone.stale",
    "disbursement.waiting_approval",
    "disbursement.waiting_payment",
]
ClockTime = Annotated[
    str, msgspec.Meta(pattern=exact(TIME), description="local time HH:MM")
]
IsoTime = Annotated[
    str,
    msgspec.Meta(
        pattern=exact(rf"{DATE}T{TIME}:[0-5]\d(\.\d{{1,6}})?Z"),
        description="UTC timestamp as the server writes it",
    ),
]
Fen = Annotated[int, msgspec.Meta(ge=0, le=10**13, description="amount in fen (0.01 yuan)")]
FundId = Annotated[str, single_line(min_length=1, max_length=64)]
B64Url = Annotated[str, msgspec.Meta(pattern=exact(r"[A-Za-z0-9_-]+={0,2}"), max_length=200)]
District = Annotated[str, single_line(min_length=1, max_length=100)]
FieldName = Annotated[str, single_line(min_length=1, max_length=64)]
HlcText = Annotated[str, single_line(max_length=200)]


class NotificationMarkReadArgs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Mark some of the caller's own notifications read (``read: false``: unread again)."""

    ids: Annotated[list[Uuid], msgspec.Meta(min_length=1, max_length=500)]
    read: bool = True


class NotificationMarkAllReadArgs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Mark read every own notification created up to ``up_to`` (what the phone had seen)."""

    up_to: IsoTime


class PrefsFields(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    muted_kinds: list[NotificationKind] | UnsetType = UNSET
    """Kinds the manager does not want at all (neither inbox nor push)."""
    stations: Annotated[list[StationCode], msgspec.Meta(max_length=500)] | None | UnsetType = UNSET
    """Only these stations (a district manager's choice); ``null``: every station in scope."""
    quiet_start: ClockTime | None | UnsetType = UNSET
    quiet_end: ClockTime | None | UnsetType = UNSET
    push_enabled: bool | UnsetType = UNSET


class NotificationPrefsSetArgs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    fields: PrefsFields
    base: dict[FieldName, HlcText] = msgspec.field(default_factory=dict)
    """Per edited field, the ``field_hlc`` the device had seen (field-level merge)."""


class DonationThresholdSetArgs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A station's "large donation" line; ``amount_fen: null`` goes back to the default."""

    station: StationCode
    amount_fen: Fen | None


class FundLowWaterSetArgs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A fund's low-water mark on its available balance; ``null`` goes back to the default.
    ``station`` is the fund's station (``null`` for a district fund, then ``district``)."""

    fund_id: FundId
    station: StationCode | None
    district: District | None = None
    amount_fen: Fen | None = None


class SubscriptionKeys(msgspec.Struct, frozen=True):
    p256dh: B64Url
    auth: B64Url


class PushSubscriptionBody(msgspec.Struct, frozen=True):
    """``PushSubscription.toJSON()`` from the browser, plus the VAPID public key the
    PWA subscribed with (so a subscription made before a rotation is refused)."""

    endpoint: Annotated[str, single_line(min_length=10, max_length=2048)]
    keys: SubscriptionKeys
    expirationTime: int | float | None = None
    application_server_key: B64Url | None = None


# -- records (pull ``changes[].data``) ----------------------------------------------------


class LocalText(msgspec.Struct, frozen=True):
    zh: str
    en: str


class NotificationRecord(msgspec.Struct, frozen=True):
    """One inbox entry; only its recipient's devices pull it."""

    id: str
    kind: str
    station: str | None
    district: str | None
    title: LocalText
    body: LocalText
    url: str
    target: dict[str, Any]
    """What a tap opens (``screen`` and its ids)."""
    created_at: str
    read_at: str | None
    resolved_at: str | None = None
    """When the thing it asks about was settled (a disbursement approved, a conflict
    resolved): the inbox shows it under "done"."""


class NotificationPrefsRecord(msgspec.Struct, frozen=True):
    """A manager's own preferences (``notification_prefs.set``)."""

    user_id: str
    muted_kinds: list[str]
    stations: list[str] | None
    quiet_start: str | None
    quiet_end: str | None
    push_enabled: bool
    updated_at: str
    field_hlc: dict[str, str]


class AlertThresholdRecord(msgspec.Struct, frozen=True):
    """A station's large-donation line or a fund's low-water mark."""

    id: str
    metric: Literal["large_donation", "fund_low"]
    subject: str
    station: str | None
    district: str | None
    amount_fen: int | None
    set_by: str
    updated_at: str
