"""The synced side of notifications: inbox records, preferences, alert lines, their
mutations, and the handlers that turn domain events into outbox rows.

Handlers run inside the mutation that emitted the event (``Tx.emit``) and only
*defer* an outbox insert (``Tx.defer``): it commits with the mutation or vanishes
with it, and costs nothing but that insert. Who hears of it, in which words, and
whether by push is decided later by the background task (server/notify/outbox.py).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select, update

from schemas.events import (
    CorrectionAwaitingApproval,
    CorrectionDecided,
    DisbursementAwaitingApproval,
    DisbursementDecided,
    DisbursementPaid,
    DomainEvent,
    DonationRecorded,
    FundBalanceChanged,
    HoursDecided,
    HoursSubmitted,
    IssuesResolved,
    MutationFlagged,
    event_data,
)
from schemas.notifications import (
    AlertThresholdRecord,
    DonationThresholdSetArgs,
    FundLowWaterSetArgs,
    NotificationMarkAllReadArgs,
    NotificationMarkReadArgs,
    NotificationPrefsRecord,
    NotificationPrefsSetArgs,
    NotificationRecord,
)
from server.domain.access import has_rank, live_station, station_for
from server.notify.kinds import RESOLVE
from server.notify.tables import (
    alert_thresholds,
    hours_waiting,
    notification_prefs,
    notifications,
    notify_outbox,
)
from server.settings import Settings
from sync.errors import Rejected, forbidden, not_found
from sync.merge import edited_fields, encode_meta, merge_edit, wire_field_hlc
from sync.registry import RecordType, Registry
from sync.scopes import MANAGER, OWNER_ONLY, Scope
from sync.timeutil import iso
from sync.unit import MutationContext, Tx


@dataclass(frozen=True)
class AlertDefaults:
    """Alert lines that apply where no station or fund set its own (``CHARITY_NOTIFY_*``)."""

    large_donation_fen: int = 500_000
    fund_low_fen: int = 100_000

    @classmethod
    def from_settings(cls, settings: Settings) -> AlertDefaults:
        return cls(large_donation_fen=settings.notify_large_donation_fen,
                   fund_low_fen=settings.notify_fund_low_fen)


# -- record types ------------------------------------------------------------------------


def _notification_wire(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "kind": row["kind"],
        "station": row["station"],
        "district": row["district"],
        "title": json.loads(row["title"]),
        "body": json.loads(row["body"]),
        "url": row["url"],
        "target": json.loads(row["target"]),
        "created_at": row["created_at"],
        "read_at": row["read_at"],
        "resolved_at": row["resolved_at"],
    }


def _prefs_wire(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "user_id": row["user_id"],
        "muted_kinds": json.loads(row["muted_kinds"]),
        "stations": json.loads(row["stations"]) if row["stations"] else None,
        "quiet_start": row["quiet_start"],
        "quiet_end": row["quiet_end"],
        "push_enabled": bool(row["push_enabled"]),
        "updated_at": row["updated_at"],
        "field_hlc": wire_field_hlc(row["field_meta"]),
    }


def _threshold_wire(row: Mapping[str, Any]) -> dict[str, Any]:
    return {c: row[c] for c in ("id", "metric", "subject", "station", "district", "amount_fen",
                                "set_by", "updated_at")}


def _owned(row: Mapping[str, Any]) -> Scope:
    """Only the recipient's own devices pull it; an admin does not see others' inboxes."""
    return Scope(owner=row["user_id"], audience=OWNER_ONLY)


def _threshold_scope(row: Mapping[str, Any]) -> Scope:
    return Scope(station=row["station"], district=row["district"], audience=MANAGER)


# -- inbox mutations ---------------------------------------------------------------------


async def mark_read(tx: Tx, ctx: MutationContext, args: NotificationMarkReadArgs) -> None:
    await tx.preload("notification", args.ids)
    for notification_id in dict.fromkeys(args.ids):
        row = await tx.get("notification", notification_id)
        if row is None or row["user_id"] != ctx.user_id:
            raise not_found("通知", "notification", notification_id, field="ids")
        if (row["read_at"] is not None) == args.read:
            continue  # already so: marking twice changes nothing
        tx.update("notification", notification_id, {"read_at": ctx.now if args.read else None})


async def mark_all_read(tx: Tx, ctx: MutationContext, args: NotificationMarkAllReadArgs) -> None:
    ids = [
        str(r[0])
        for r in await tx.query(
            select(notifications.c.id).where(
                notifications.c.user_id == ctx.user_id,
                notifications.c.read_at.is_(None),
                notifications.c.deleted_at.is_(None),
                notifications.c.created_at <= args.up_to,
            )
        )
    ]
    await tx.preload("notification", ids)
    for notification_id in ids:
        if await tx.get("notification", notification_id) is not None:
            tx.update("notification", notification_id, {"read_at": ctx.now})


PREFS_FIELDS = ("muted_kinds", "stations", "quiet_start", "quiet_end", "push_enabled")


async def set_prefs(tx: Tx, ctx: MutationContext, args: NotificationPrefsSetArgs) -> None:
    """A manager's own preferences; two phones of the same manager merge field by field."""
    edits = edited_fields(args.fields)
    encoded = {
        name: (json.dumps(sorted(set(value)), ensure_ascii=False)
               if name in ("muted_kinds", "stations") and value is not None else value)
        for name, value in edits.items()
    }
    current = await tx.get("notification_prefs", ctx.user_id)
    if current is None:
        current = {
            "user_id": ctx.user_id, "muted_kinds": "[]", "stations": None, "quiet_start": None,
            "quiet_end": None, "push_enabled": True, "field_meta": "{}", "updated_at": ctx.now,
        }
        tx.insert("notification_prefs", current)
    outcome = merge_edit(
        tx, ctx, record_type="notification_prefs", record_id=ctx.user_id, current=current,
        edits=encoded, base=args.base, matters=frozenset(), station=None, district=None,
    )
    tx.update(
        "notification_prefs", ctx.user_id,
        {**outcome.applied, "field_meta": encode_meta(outcome.field_meta), "updated_at": ctx.now},
    )


# -- alert lines -------------------------------------------------------------------------


async def _put_threshold(
    tx: Tx, ctx: MutationContext, *, key: str, metric: str, subject: str,
    station: str | None, district: str | None, amount_fen: int | None,
) -> None:
    values = {"metric": metric, "subject": subject, "station": station, "district": district,
              "amount_fen": amount_fen, "set_by": ctx.user_id, "updated_at": ctx.now}
    if await tx.get("alert_threshold", key) is None:
        tx.insert("alert_threshold", {"id": key, **values})
    else:
        tx.update("alert_threshold", key, values)


async def set_donation_threshold(tx: Tx, ctx: MutationContext, args: DonationThresholdSetArgs) -> None:
    station = await station_for(tx, ctx, args.station, rank=MANAGER, refusal=(
        "只有该站点的管理者可以设置大额捐赠提醒线", "only the station's managers set its large-donation line"))
    await _put_threshold(
        tx, ctx, key=f"large_donation:{args.station}", metric="large_donation",
        subject=args.station, station=args.station, district=station["district"],
        amount_fen=args.amount_fen,
    )


async def set_fund_low_water(tx: Tx, ctx: MutationContext, args: FundLowWaterSetArgs) -> None:
    """The fund is named by id with its station (or district). The mark is one record per
    fund: who may set it is decided by where the fund really is (and, for a fund this server
    does not hold, by where the mark already is), so naming one's own station for another
    station's fund cannot replace that fund's line."""
    district = args.district
    if args.station is not None:
        district = (await live_station(tx, args.station))["district"]
    elif district is None:
        raise Rejected("invalid_args", "区级基金需要填写所属区", "a district fund needs its district",
                       field="district")
    key = f"fund_low:{args.fund_id}"
    fund = await tx.get("fund", args.fund_id)
    current = await tx.get("alert_threshold", key)
    places = [(args.station, district)]
    if fund is not None:
        places.append((fund["station"], fund["district"]))
    if current is not None:
        places.append((current["station"], current["district"]))
    if not all(has_rank(ctx, MANAGER, code, district_name) for code, district_name in places):
        raise forbidden("只有基金所属站点或区的管理者可以设置余额提醒线",
                        "only the fund's station or district managers set its low-water mark")
    if fund is not None and (fund["station"], fund["district"]) != (args.station, district):
        raise Rejected("invalid_args", "该基金不属于所填站点或区",
                       "the fund belongs to another station or district", field="station")
    await _put_threshold(
        tx, ctx, key=key, metric="fund_low", subject=args.fund_id,
        station=args.station, district=district, amount_fen=args.amount_fen,
    )


# -- triggers ----------------------------------------------------------------------------


def enqueue(tx: Tx, ctx: MutationContext, kind: str, event: DomainEvent, **extra: Any) -> None:
    """Defer one outbox row (the event's fields and ``extra``): it commits with the
    mutation that caused it, or not at all."""
    data = {**event_data(event), **extra}
    tx.defer_insert(notify_outbox, {
        "kind": kind, "station": data.get("station"), "district": data.get("district"),
        "data": json.dumps(dict(data), ensure_ascii=False, default=str),
        "created_at": ctx.now, "state": "pending", "processed_at": None,
    })


async def _alert_line(tx: Tx, key: str, default: int) -> tuple[int, dict[str, Any] | None]:
    """The line set under ``key`` (a station's large-donation line, a fund's low-water
    mark), else ``default``; and the record that set it."""
    row = await tx.get("alert_threshold", key)
    if row is None or row["amount_fen"] is None:
        return default, row
    return int(row["amount_fen"]), row


async def on_donation_recorded(tx: Tx, ctx: MutationContext, event: DonationRecorded) -> None:
    line = tx.registry.config(AlertDefaults).large_donation_fen
    if event.station:
        line, _ = await _alert_line(tx, f"large_donation:{event.station}", line)
    if event.amount_fen >= line:
        enqueue(tx, ctx, "donation.large", event, threshold_fen=line)


async def on_fund_balance_changed(tx: Tx, ctx: MutationContext, event: FundBalanceChanged) -> None:
    default = tx.registry.config(AlertDefaults).fund_low_fen
    line, row = await _alert_line(tx, f"fund_low:{event.fund_id}", default)
    if row is not None and row["station"] != event.station:
        line = default  # a line set under another station does not apply here
    if event.available_fen < line:
        enqueue(tx, ctx, "fund.low", event, low_water_fen=line)


async def on_flagged(tx: Tx, ctx: MutationContext, event: MutationFlagged) -> None:
    enqueue(tx, ctx, "review.flagged", event)


async def on_correction_waiting(tx: Tx, ctx: MutationContext, event: CorrectionAwaitingApproval) -> None:
    enqueue(tx, ctx, "correction.waiting", event)


async def on_disbursement_waiting(tx: Tx, ctx: MutationContext,
                                  event: DisbursementAwaitingApproval) -> None:
    enqueue(tx, ctx, "disbursement.waiting_approval", event)


async def on_disbursement_decided(tx: Tx, ctx: MutationContext, event: DisbursementDecided) -> None:
    """The approval is done (either way); an approved one now waits for a third person."""
    enqueue_resolve(tx, ctx, [f"disbursement:{event.disbursement_id}:approval"])
    if event.decision == "approved":
        enqueue(tx, ctx, "disbursement.waiting_payment", event)


async def on_disbursement_paid(tx: Tx, ctx: MutationContext, event: DisbursementPaid) -> None:
    enqueue_resolve(tx, ctx, [f"disbursement:{event.disbursement_id}:payment"])


async def on_correction_decided(tx: Tx, ctx: MutationContext, event: CorrectionDecided) -> None:
    enqueue_resolve(tx, ctx, [f"correction:{event.correction_id}"])


async def on_issues_resolved(tx: Tx, ctx: MutationContext, event: IssuesResolved) -> None:
    enqueue_resolve(tx, ctx, [f"issue:{issue_id}" for issue_id in event.issue_ids])


def enqueue_resolve(tx: Tx, ctx: MutationContext, subjects: list[str]) -> None:
    """Defer an outbox row saying these things were settled: the background task marks the
    inbox notifications about them resolved, after any still waiting to be expanded."""
    tx.defer_insert(notify_outbox, {
        "kind": RESOLVE, "station": None, "district": None,
        "data": json.dumps({"subjects": subjects}, ensure_ascii=False),
        "created_at": ctx.now, "state": "pending", "processed_at": None,
    })


async def on_hours_submitted(tx: Tx, ctx: MutationContext, event: HoursSubmitted) -> None:
    """Start (or restart, on a resubmission) the wait the background task watches."""
    # a log new in this batch has no wait to restart, unless the batch started one already
    # (a dropped mutation may leave its id here: one delete too many, never one too few)
    started: set[str] = tx.memo.setdefault("hours_waiting_started", set())
    if event.log_id in started or not tx.is_new("hour_log", event.log_id):
        tx.defer(delete(hours_waiting).where(hours_waiting.c.log_id == event.log_id))
    started.add(event.log_id)
    tx.defer_insert(hours_waiting, {
        "log_id": event.log_id, "station": event.station, "district": event.district,
        "volunteer_id": event.volunteer_id, "minutes": event.minutes,
        "submitted_at": _utc_text(event.submitted_at, ctx.now), "decided_at": None,
        "reminded_at": None,
    })


def _utc_text(value: Any, fallback: str) -> str:
    """An event's timestamp in the tables' own form (sortable text), whatever ISO form it came in."""
    try:
        moment = dt.datetime.fromisoformat(str(value))  # 3.11 reads a trailing Z
    except ValueError:
        return fallback
    return iso(moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC))


async def on_hours_decided(tx: Tx, ctx: MutationContext, event: HoursDecided) -> None:
    tx.defer(
        update(hours_waiting).where(hours_waiting.c.log_id == event.log_id).values(decided_at=ctx.now)
    )


def install(registry: Registry, defaults: AlertDefaults = AlertDefaults()) -> None:
    registry.configure(defaults)
    registry.add_record_type(RecordType("notification", notifications, "id", _owned,
                                        _notification_wire, shape=NotificationRecord))
    registry.add_record_type(RecordType("notification_prefs", notification_prefs, "user_id",
                                        _owned, _prefs_wire, tombstone=None, shape=NotificationPrefsRecord))
    registry.add_record_type(RecordType("alert_threshold", alert_thresholds, "id",
                                        _threshold_scope, _threshold_wire, tombstone=None, shape=AlertThresholdRecord))
    registry.mutation("notification.mark_read", 1, NotificationMarkReadArgs)(mark_read)
    registry.mutation("notification.mark_all_read", 1, NotificationMarkAllReadArgs)(mark_all_read)
    registry.mutation("notification_prefs.set", 1, NotificationPrefsSetArgs)(set_prefs)
    registry.mutation("alert.set_donation_threshold", 1, DonationThresholdSetArgs,
                      preload=(("station", "station"),))(set_donation_threshold)
    registry.mutation("alert.set_fund_low_water", 1, FundLowWaterSetArgs)(set_fund_low_water)
    registry.on(DonationRecorded, on_donation_recorded)
    registry.on(FundBalanceChanged, on_fund_balance_changed)
    registry.on(MutationFlagged, on_flagged)
    registry.on(CorrectionAwaitingApproval, on_correction_waiting)
    registry.on(HoursSubmitted, on_hours_submitted)
    registry.on(HoursDecided, on_hours_decided)
    registry.on(DisbursementAwaitingApproval, on_disbursement_waiting)
    registry.on(DisbursementDecided, on_disbursement_decided)
    registry.on(DisbursementPaid, on_disbursement_paid)
    registry.on(CorrectionDecided, on_correction_decided)
    registry.on(IssuesResolved, on_issues_resolved)
