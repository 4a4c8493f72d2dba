"""Records as phones see them in pull ``changes[].data``."""

from __future__ import annotations

from typing import Any, Literal

import msgspec


class StationRecord(msgspec.Struct, frozen=True):
    """A social work station; every station is a donation point. Public."""

    code: str
    name: str
    district: str
    pin_required: bool
    """Staff and above at the station set an app lock PIN on their phones (docs/pwa.md)."""
    created_at: str
    updated_at: str
    field_hlc: dict[str, str]
    """Per editable field, the HLC of the edit that set it; phones send it back as ``base``."""


class EventRecord(msgspec.Struct, frozen=True):
    """An outdoor event at a station on a date. ``contact_phone`` is redacted (null)
    for roles that do not need it."""

    id: str
    station: str
    district: str
    date: str
    title: str
    notes: str
    contact_phone: str | None
    created_by: str
    created_at: str
    updated_at: str
    field_hlc: dict[str, str]
    campaign: str | None = None
    """The event's default fundraising campaign (docs/campaigns.md)."""


class ConflictRecord(msgspec.Struct, frozen=True):
    """The losing value of a concurrent edit of a field that matters, kept for review."""

    id: str
    record_type: str
    record_id: str
    field: str
    kept_value: Any
    lost_value: Any
    kept_hlc: str
    lost_hlc: str
    kept_by: str
    lost_by: str
    station: str
    status: Literal["open", "accepted", "restored", "merged"]
    created_at: str
    resolved_by: str | None
    resolved_at: str | None


class SyncIssueRecord(msgspec.Struct, frozen=True):
    """A rejected or flagged mutation, shown to its author and to the station's managers."""

    id: str
    client_id: str
    mutation_id: int
    mutation: str
    status: Literal["rejected", "flagged"]
    code: str
    message: dict[str, str]
    user: str
    station: str | None
    created_at: str
    subject: str | None
    """The record whose decision settles a held submission (``hour_log:<id>``)."""
    resolved_at: str | None
    """When it was settled (decided, its conflicts resolved, or marked handled)."""
    resolved_by: str | None
