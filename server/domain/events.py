"""Outdoor events at a station on a date: the first mutable records, so concurrent
edits from several phones exercise the field-level merge and conflict records."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Column, String, Table, Text

from schemas.mutations import EventCreateArgs, EventDeleteArgs, EventUpdateArgs
from schemas.records import EventRecord
from server.domain.access import require_rank, station_for
from server.domain.campaigns import collects_at
from sync.errors import Rejected, not_found
from sync.merge import edited_fields, encode_meta, flag_conflict, merge_edit, wire_field_hlc
from sync.registry import RecordType, Registry
from sync.scopes import MANAGER, STAFF, Grant, Scope
from sync.tables import metadata
from sync.unit import MutationContext, Tx

events = Table(
    "events",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("station", String(32), nullable=False, index=True),
    Column("district", String(100), nullable=False),
    Column("date", String(10), nullable=False),
    Column("title", String(200), nullable=False),
    Column("notes", Text, nullable=False),
    Column("contact_phone", String(32), nullable=True),
    Column("created_by", String(64), nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("updated_at", String(32), nullable=False),
    Column("field_meta", Text, nullable=False),
    Column("deleted_at", String(32), nullable=True),
    Column("campaign", String(36), nullable=True),
)

EDITABLE = ("date", "title", "notes", "contact_phone", "campaign")
MATTERS = frozenset({"date", "contact_phone", "title", "notes", "campaign"})
"""Fields whose losing value is kept for review: the date and phone matter, and free text
(title, notes) typed on one phone must not vanish under another's."""
"""When and who: a silently lost edit of these would mislead people, so it is kept for review."""


def _scope(row: Mapping[str, Any]) -> Scope:
    return Scope(station=row["station"], district=row["district"])


def _wire(row: Mapping[str, Any]) -> dict[str, Any]:
    data = {c: row[c] for c in ("id", "station", "district", "date", "title", "notes",
                               "contact_phone", "created_by", "created_at", "updated_at")}
    data["campaign"] = row.get("campaign")
    data["field_hlc"] = wire_field_hlc(row["field_meta"])
    return data


def _redact(data: dict[str, Any], grant: Grant) -> dict[str, Any]:
    """The organiser's phone is for staff; volunteers see the event without it (PIPL minimisation)."""
    if grant.rank < STAFF:
        return {**data, "contact_phone": None}
    return data


def _needs_redaction(grant: Grant) -> bool:
    return grant.rank < STAFF


async def _writable_station(tx: Tx, ctx: MutationContext, code: str) -> dict[str, Any]:
    return await station_for(tx, ctx, code, refusal=(
        f"不能为站点 {code} 记录活动", f"cannot record events for station {code}"))


async def _check_campaign(tx: Tx, campaign_id: str | None, station: dict[str, Any]) -> None:
    """An event's default campaign collects at its station (its period is checked per gift)."""
    if campaign_id is None:
        return
    campaign = await tx.get("campaign", campaign_id)
    if campaign is None:
        raise not_found("募捐活动", "campaign", campaign_id, field="campaign")
    if not collects_at(campaign, station):
        raise Rejected("campaign_not_here", f"募捐活动“{campaign['name']}”不在本站点募集",
                       f"campaign “{campaign['name']}” does not collect at this station",
                       field="campaign")


async def create_event(tx: Tx, ctx: MutationContext, args: EventCreateArgs) -> None:
    station = await _writable_station(tx, ctx, args.station)
    if await tx.get("event", args.id) is not None:
        raise Rejected("already_exists", "活动编号已存在", f"event id already exists: {args.id}", field="id")
    await _check_campaign(tx, args.campaign, station)
    meta = {name: [ctx.hlc, ctx.user_id] for name in EDITABLE}
    tx.insert(
        "event",
        {
            "id": args.id,
            "station": args.station,
            "district": station["district"],
            "date": args.date,
            "title": args.title,
            "notes": args.notes,
            "contact_phone": args.contact_phone,
            "created_by": ctx.user_id,
            "created_at": ctx.now,
            "updated_at": ctx.now,
            "field_meta": encode_meta(meta),
            "deleted_at": None,
            "campaign": args.campaign,
        },
    )


async def _live_event(tx: Tx, ctx: MutationContext, event_id: str) -> dict[str, Any]:
    event = await tx.get("event", event_id)
    if event is None:
        raise not_found("活动", "event", event_id, field="id")
    await _writable_station(tx, ctx, event["station"])
    if event["deleted_at"]:
        raise Rejected("record_deleted", "该活动已被删除", "this event was deleted", field="id")
    return event


async def update_event(tx: Tx, ctx: MutationContext, args: EventUpdateArgs) -> None:
    event = await _live_event(tx, ctx, args.id)
    edits = edited_fields(args.fields)
    if edits.get("campaign") is not None:
        station = await tx.get("station", event["station"])
        assert station is not None
        await _check_campaign(tx, edits["campaign"], station)
    outcome = merge_edit(
        tx, ctx, record_type="event", record_id=args.id, current=event, edits=edits,
        base=args.base, matters=MATTERS, station=event["station"], district=event["district"],
    )
    tx.update(
        "event", args.id,
        {**outcome.applied, "field_meta": encode_meta(outcome.field_meta), "updated_at": ctx.now},
    )
    if outcome.conflict_ids:
        flag_conflict(ctx, "event", args.id)


async def delete_event(tx: Tx, ctx: MutationContext, args: EventDeleteArgs) -> None:
    event = await tx.get("event", args.id)
    if event is None:
        raise not_found("活动", "event", args.id, field="id")
    require_rank(ctx, MANAGER, event["station"], event["district"],
                 ("只有站点管理者可以删除活动", "only the station's managers delete events"))
    if event["deleted_at"]:
        return  # deleting twice changes nothing
    tx.update("event", args.id, {"deleted_at": ctx.now, "updated_at": ctx.now})


def install(registry: Registry) -> None:
    registry.add_record_type(
        RecordType("event", events, "id", _scope, _wire, _redact, redacts_for=_needs_redaction, shape=EventRecord)
    )
    by_id = (("event", "id"),)
    registry.mutation(
        "event.create", 1, EventCreateArgs, preload=(("event", "id"), ("station", "station"))
    )(create_event)
    registry.mutation("event.update", 1, EventUpdateArgs, preload=by_id)(update_event)
    registry.mutation("event.delete", 1, EventDeleteArgs, preload=by_id)(delete_event)


__all__ = [
    "create_event",
    "delete_event",
    "events",
    "install",
    "update_event",
]
