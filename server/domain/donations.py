"""Donations at stations and events, their receipts and their corrections.

A donation row is written once and never changed (the ledger is append-only);
a void or a correction is a new record pointing at it, and, for money, a new
movement in the fund's ledger. Receipts are numbered offline from a series that
the server gave one device (``<series>-<5-digit counter>``), so no two phones can
issue the same number; a random code printed with the number lets anyone check
the receipt on ``/public/receipts/{number}?code=...`` once it synced.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import msgspec
from sqlalchemy import BigInteger, Boolean, Column, Integer, String, Table, Text, func, select
from sqlalchemy.engine import RowMapping

from schemas.attachments import AttachmentRef
from schemas.donations import (
    MAX_GOODS_TOTAL_FEN,
    CorrectionDecideArgs,
    CorrectionRecord,
    CorrectionRequestArgs,
    DonationAllocateArgs,
    DonationRecord,
    DonationRecordArgs,
    ReceiptAttachOfficialArgs,
    ReceiptRecord,
    ReceiptReissueArgs,
    ReceiptReprintArgs,
    ReceiptSeriesClaimArgs,
    ReceiptSeriesRecord,
    ReceiptWithdrawArgs,
)
from schemas.events import CorrectionAwaitingApproval, CorrectionDecided, DonationRecorded
from server import audit
from server.domain import attachments
from server.domain import campaigns as campaigns_module
from server.domain import funds as funds_module
from server.domain.access import has_rank, station_for
from server.domain.goods import move_goods
from server.settings import Settings
from sync.errors import Rejected, forbidden, not_found
from sync.push import locks_exclusive
from sync.registry import RecordType, Registry
from sync.scopes import MANAGER, STAFF, Scope
from sync.tables import metadata
from sync.timeutil import iso
from sync.unit import MutationContext, Tx


@dataclass(frozen=True)
class DonationRules:
    """How this deployment handles gifts (``CHARITY_CORRECTION_*`` settings)."""

    approval_threshold_fen: int = 50_000
    """A correction that changes an amount by more than this needs a second person."""

    @classmethod
    def from_settings(cls, settings: Settings) -> DonationRules:
        return cls(approval_threshold_fen=settings.correction_approval_threshold_fen)


receipt_series = Table(
    "receipt_series",
    metadata,
    Column("code", String(40), primary_key=True),
    Column("claim_id", String(36), nullable=False, unique=True),
    Column("station", String(32), nullable=False, index=True),
    Column("district", String(100), nullable=False),
    Column("client_id", String(36), nullable=False),
    Column("user_id", String(64), nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("device_id", String(36), nullable=True),
)
"""A series belongs to the device (``device_id``, kept by the phone across re-enrolment);
series claimed before migration 0009 have none and belong to their ``client_id``."""

donations = Table(
    "donations",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("kind", String(8), nullable=False),
    Column("amount_fen", BigInteger, nullable=False),
    Column("method", String(16), nullable=True),
    Column("items", Text, nullable=False),
    Column("donor_anonymous", Boolean, nullable=False),
    Column("donor_name", String(100), nullable=True),
    Column("donor_phone", String(32), nullable=True),
    Column("donor_organisation", String(100), nullable=True),
    Column("wants_receipt", Boolean, nullable=False),
    Column("public_name_consent", Boolean, nullable=False),
    Column("direction", String(12), nullable=False),
    Column("fund_id", String(36), nullable=True, index=True),
    Column("project_id", String(36), nullable=True),
    Column("station", String(32), nullable=False, index=True),
    Column("district", String(100), nullable=False),
    Column("event_id", String(36), nullable=True, index=True),
    Column("campaign", String(36), nullable=True, index=True),
    Column("recorded_by", String(64), nullable=False),
    Column("client_id", String(36), nullable=False),
    Column("device_time", String(32), nullable=False),
    Column("recorded_at", String(32), nullable=False),
    Column("receipt_number", String(48), nullable=True),
    Column("note", Text, nullable=False),
    Column("attachments", Text, nullable=False, default="[]"),
)

receipts = Table(
    "receipts",
    metadata,
    Column("number", String(48), primary_key=True),
    Column("donation_id", String(36), nullable=False, index=True),
    Column("series", String(40), nullable=False),
    Column("code", String(8), nullable=False),
    Column("status", String(12), nullable=False),
    Column("official_number", String(64), nullable=True),
    Column("reprints", Integer, nullable=False),
    Column("replaced_by", String(48), nullable=True),
    Column("replaces", String(48), nullable=True),
    Column("station", String(32), nullable=False),
    Column("district", String(100), nullable=False),
    Column("issued_by", String(64), nullable=False),
    Column("issued_at", String(32), nullable=False),
    Column("updated_at", String(32), nullable=False),
    Column("history", Text, nullable=False),
)

corrections = Table(
    "donation_corrections",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("donation_id", String(36), nullable=False, index=True),
    Column("action", String(8), nullable=False),
    Column("new_amount_fen", BigInteger, nullable=True),
    Column("delta_fen", BigInteger, nullable=False),
    Column("reason", Text, nullable=False),
    Column("status", String(10), nullable=False),
    Column("requested_by", String(64), nullable=False),
    Column("requested_at", String(32), nullable=False),
    Column("decided_by", String(64), nullable=True),
    Column("decided_at", String(32), nullable=True),
    Column("decision_note", Text, nullable=False),
    Column("station", String(32), nullable=False),
    Column("district", String(100), nullable=False),
    Column("category", String(16), nullable=False, default="other", server_default="other"),
)


# ----------------------------------------------------------------------------- display


def goods_total_too_large(value_fen: int, field: str) -> Rejected:
    """A goods gift valued above ``MAX_GOODS_TOTAL_FEN``: the JSON Schema caps each line,
    only the mutator can cap their sum."""
    cap = MAX_GOODS_TOTAL_FEN // 100
    return Rejected("invalid_args",
                    f"物资总估值 {value_fen / 100:,.2f} 元超过单笔上限 {cap:,} 元,请分笔登记",
                    f"the goods are valued at {value_fen / 100:,.2f} yuan, above the "
                    f"{cap:,} yuan limit of one gift; record them as several gifts",
                    field=field)


def mask_name(name: str) -> str:
    """Keep the first character: 张三 -> 张*, 王小明 -> 王**, Alice -> A**."""
    name = name.strip()
    if not name:
        return "*"
    return name[0] + "*" * min(max(len(name) - 1, 1), 2)


A_DONOR = "爱心人士 / A donor"


def public_donor(row: Mapping[str, Any] | RowMapping) -> str:
    """The donor as public pages show them: their name (or organisation) only if they
    consented to publish it; anyone else is "a donor", not a masked surname (a surname
    with the station, the day and the amount is enough to recognise a neighbour)."""
    shown = row["donor_organisation"] or row["donor_name"]
    if row["donor_anonymous"] or not shown or not row["public_name_consent"]:
        return A_DONOR
    return str(shown)


# ----------------------------------------------------------------------------- records


def _station_scope(row: Mapping[str, Any]) -> Scope:
    return Scope(station=row["station"], district=row["district"], audience=STAFF)


def _series_wire(row: Mapping[str, Any]) -> dict[str, Any]:
    return {"code": row["code"], "claim_id": row["claim_id"], "station": row["station"],
            "district": row["district"], "client_id": row["client_id"], "user": row["user_id"],
            "created_at": row["created_at"], "device_id": row.get("device_id")}


_DONATION_COLUMNS = tuple(donations.c.keys())
_RECEIPT_WIRE_COLUMNS = tuple(c for c in receipts.c.keys() if c not in ("district", "series"))
_json_decode = msgspec.json.decode
_json_encode = msgspec.json.Encoder().encode


def _donation_wire(row: Mapping[str, Any]) -> dict[str, Any]:
    data = {c: row[c] for c in _DONATION_COLUMNS}
    data["items"] = _json_decode(row["items"])
    data["donor_anonymous"] = bool(row["donor_anonymous"])
    data["wants_receipt"] = bool(row["wants_receipt"])
    data["public_name_consent"] = bool(row["public_name_consent"])
    data["attachments"] = attachments.wire(row["attachments"])
    return data


def _receipt_wire(row: Mapping[str, Any]) -> dict[str, Any]:
    data = {c: row[c] for c in _RECEIPT_WIRE_COLUMNS}
    data["history"] = _json_decode(row["history"])
    return data


def _correction_wire(row: Mapping[str, Any]) -> dict[str, Any]:
    return {c: row[c] for c in corrections.c.keys() if c != "district"}


# ----------------------------------------------------------------------------- helpers


async def _writable_station(tx: Tx, ctx: MutationContext, code: str, *, rank: int = STAFF
                            ) -> dict[str, Any]:
    return await station_for(tx, ctx, code, rank=rank, refusal=(
        f"您不属于站点 {code},不能为其记录", f"you do not belong to station {code}"))


def _device_time(hlc: str) -> str:
    millis = int(hlc.split(":", 1)[0])
    return iso(dt.datetime.fromtimestamp(millis / 1000, dt.UTC))


def _series_is_mine(series: Mapping[str, Any], ctx: MutationContext) -> bool:
    """The series of this device: same ``device_id`` (it survives re-enrolment), or,
    for series claimed before devices had ids, the same client."""
    device_id = series.get("device_id")
    if device_id is not None and device_id == ctx.grant.device_id:
        return True
    return bool(series["client_id"] == ctx.client_id)


async def _issuable_number(tx: Tx, ctx: MutationContext, number: str, field: str) -> str:
    """The series of ``number`` if this device may issue it now; refuse otherwise."""
    series_code = number.rsplit("-", 1)[0]
    series = await tx.get("receipt_series", series_code)
    if series is None or not _series_is_mine(series, ctx):
        raise Rejected(
            "receipt_series_not_yours",
            f"收据号 {number} 不在本设备的号段内",
            f"receipt number {number} is not in this device's series", field=field,
        )
    if await tx.get("receipt", number) is not None:
        raise Rejected("receipt_number_taken", f"收据号 {number} 已被使用",
                       f"receipt number {number} is already used", field=field)
    return series_code


def _new_receipt(ctx: MutationContext, number: str, series: str, code: str, donation: Mapping[str, Any],
                 replaces: str | None, note: str) -> dict[str, Any]:
    return {
        "number": number, "donation_id": donation["id"], "series": series, "code": code,
        "status": "issued", "official_number": None, "reprints": 0, "replaced_by": None,
        "replaces": replaces, "station": donation["station"], "district": donation["district"],
        "issued_by": ctx.user_id, "issued_at": ctx.now, "updated_at": ctx.now,
        "history": _history([], ctx, "issued", note),
    }


def _history(previous: list[dict[str, Any]], ctx: MutationContext, action: str, note: str = "") -> str:
    entry = {"action": action, "by": ctx.user_id, "at": ctx.now, "note": note}
    return _json_encode([*previous, entry]).decode()


async def _resolve_fund(tx: Tx, args: DonationRecordArgs, station: Mapping[str, Any]
                        ) -> tuple[str | None, str | None]:
    """(fund id, fund account) the gift goes to; (None, None) when no fund takes it."""
    if args.direction == "project":
        if args.project_id is None:
            raise Rejected("invalid_args", "定向项目捐赠须指明项目", "a project gift needs project_id",
                           field="project_id")
        project = await tx.read_unlocked("project", args.project_id)  # (a gift locks no project)
        if project is None:
            raise not_found("项目", "project", args.project_id, field="project_id")
        return project["fund_id"], funds_module.project_account(args.project_id)
    if args.direction == "fund":
        if args.fund_id is None:
            raise Rejected("invalid_args", "定向基金捐赠须指明基金", "a fund gift needs fund_id",
                           field="fund_id")
        return args.fund_id, funds_module.GENERAL
    if args.fund_id is not None or args.project_id is not None:
        raise Rejected("invalid_args", "非定向捐赠不能指明基金或项目",
                       "an undirected gift names no fund or project", field="direction")
    fund_id = await funds_module.default_fund(tx, station)
    return fund_id, funds_module.GENERAL if fund_id else None


# ----------------------------------------------------------------------------- mutators


@locks_exclusive("station")  # serialises claims per station: the count below
async def claim_series(tx: Tx, ctx: MutationContext, args: ReceiptSeriesClaimArgs) -> None:
    """Give this device a series of its own (``<station>-S<n>``), n counted per station
    while the station row is locked, so two claims never get the same code."""
    station = await _writable_station(tx, ctx, args.station)
    taken = await tx.query(
        select(func.count()).select_from(receipt_series)
        .where(receipt_series.c.station == args.station)
    )
    count = int(taken.scalar() or 0)
    existing = await tx.query(select(receipt_series.c.code).where(receipt_series.c.claim_id == args.id))
    if existing.first() is not None:
        raise Rejected("already_exists", "该号段申请已处理", "this claim was already served", field="id")
    code = f"{args.station}-S{count + 1:03d}"
    tx.insert("receipt_series", {
        "code": code, "claim_id": args.id, "station": args.station,
        "district": station["district"], "client_id": ctx.client_id, "user_id": ctx.user_id,
        "created_at": ctx.now, "device_id": ctx.grant.device_id,
    })


def _check_goods_photo(tx: Tx, value_fen: int, refs: list[AttachmentRef]) -> None:
    """A goods gift valued above the line (``goods_photo_line_fen``) needs a photo of the
    goods: the evidence for its value."""
    line = attachments.rules_of(tx.registry).goods_photo_line_fen
    if value_fen > line and not attachments.has_photo(refs):
        raise Rejected("photo_required",
                       f"物资估值 {value_fen / 100:,.2f} 元,超过 {line / 100:,.2f} 元,须附物资照片",
                       f"goods valued at {value_fen / 100:,.2f} yuan, above {line / 100:,.2f} "
                       "yuan, need a photo of the goods", field="attachments")


async def may_attach(tx: Tx, ctx: MutationContext, donation: dict[str, Any],
                     after: list[AttachmentRef]) -> None:
    """Staff of the gift's station add or remove its photos; a goods gift above the line
    keeps at least one."""
    await _writable_station(tx, ctx, donation["station"])
    if donation["kind"] == "goods":
        _check_goods_photo(tx, int(donation["amount_fen"]), after)


async def record_donation(tx: Tx, ctx: MutationContext, args: DonationRecordArgs) -> None:
    station = await _writable_station(tx, ctx, args.station)
    if await tx.get("donation", args.id) is not None:
        raise Rejected("already_exists", "捐赠编号已存在", "donation id already exists", field="id")
    donor = args.donor
    if not donor.anonymous and not (donor.name or donor.organisation):
        raise Rejected("invalid_args", "请填写捐赠人姓名或单位,或选择匿名",
                       "give the donor's name or organisation, or mark the gift anonymous",
                       field="donor")
    if args.kind == "money":
        if args.amount_fen is None:
            raise Rejected("invalid_args", "现金捐赠须填写金额", "a money gift needs amount_fen",
                           field="amount_fen")
        if args.method is None:
            raise Rejected("invalid_args", "现金捐赠须填写支付方式", "a money gift needs a method",
                           field="method")
        if args.items:
            raise Rejected("invalid_args", "现金捐赠不能带物品", "a money gift has no items",
                           field="items")
        amount = args.amount_fen
    else:
        if not args.items:
            raise Rejected("invalid_args", "物资捐赠须至少有一项物品",
                           "a goods gift needs at least one item", field="items")
        if args.amount_fen is not None or args.method is not None:
            raise Rejected("invalid_args", "物资捐赠的价值按物品估值计算",
                           "a goods gift is valued by its items; leave amount_fen and method out",
                           field="amount_fen")
        amount = sum(item.estimated_value_fen for item in args.items)
        if amount > MAX_GOODS_TOTAL_FEN:
            raise goods_total_too_large(amount, "items")
        _check_goods_photo(tx, amount, args.attachments)
    event = None
    if args.event_id is not None:
        # unlocked, like the fund: the gifts of a charity day all name one event
        event = await tx.read_unlocked("event", args.event_id)
        if event is None or event["deleted_at"] or event["station"] != args.station:
            raise not_found("本站点的活动", "event at this station", args.event_id, field="event_id")
    if donor.wants_receipt and args.receipt is None:
        raise Rejected("receipt_missing", "捐赠人需要收据,但未开具收据号",
                       "the donor wants a receipt but none was issued", field="receipt")
    fund_id, account = await _resolve_fund(tx, args, station)
    if fund_id is not None:
        # not locked: the gift's ledger movement is appended at the end of the batch
        # (funds.post late=True), so the phones giving to one fund do not queue on it
        fund = await tx.read_unlocked("fund", fund_id)
        if fund is None:
            raise not_found("基金", "fund", fund_id, field="fund_id")
        if fund["district"] is not None and fund["district"] != station["district"]:
            raise Rejected("invalid_args", "该基金属于其他区", "that fund belongs to another district",
                           field="fund_id")
    campaign = await campaigns_module.campaign_for_gift(
        tx, ctx, station=station, requested=args.campaign, event=event, fund_id=fund_id,
        project_id=args.project_id)
    row = {
        "id": args.id, "kind": args.kind, "amount_fen": amount, "method": args.method,
        "items": _json_encode(args.items).decode(),
        "donor_anonymous": donor.anonymous,
        "donor_name": None if donor.anonymous else donor.name,
        "donor_phone": None if donor.anonymous else donor.phone,
        "donor_organisation": None if donor.anonymous else donor.organisation,
        "wants_receipt": donor.wants_receipt,
        "public_name_consent": donor.public_name_consent and not donor.anonymous,
        "direction": args.direction, "fund_id": fund_id, "project_id": args.project_id,
        "station": args.station, "district": station["district"], "event_id": args.event_id,
        "campaign": campaign["id"], "recorded_by": ctx.user_id, "client_id": ctx.client_id,
        "device_time": _device_time(ctx.hlc), "recorded_at": ctx.now,
        "receipt_number": args.receipt.number if args.receipt else None, "note": args.note,
        "attachments": attachments.encode(args.attachments),
    }
    if args.receipt is not None:
        series = await _issuable_number(tx, ctx, args.receipt.number, "receipt.number")
        tx.insert("receipt", _new_receipt(ctx, args.receipt.number, series, args.receipt.code,
                                          row, None, ""))
    tx.insert("donation", row)
    attachments.stage_refs(tx, "donation", args.id, args.attachments)
    if args.kind == "goods":
        await move_goods(tx, ctx, station, [(i.name, i.unit, i.quantity) for i in args.items],
                         movement_id=args.id, kind="received", donation_id=args.id,
                         project_id=args.project_id)
    elif fund_id is not None and account is not None:
        await funds_module.post(tx, ctx, fund_id, funds_module.Movement(
            args.id, account, f"station:{args.station}", amount, "donation",
            refs={"donation_id": args.id, "project_id": args.project_id}), late=True)
        await campaigns_module.match_gift(tx, ctx, donation=row, campaign=campaign,
                                          fund_id=fund_id, account=account)
    else:
        ctx.flag("donation_unallocated", "该站点尚无社区基金,此笔非定向捐赠已记录,待管理者分配",
                 "no fund takes undirected gifts at this station yet; the gift is recorded and "
                 "waits for a manager")
    await tx.emit(ctx, DonationRecorded(
        donation_id=args.id, station=args.station, district=station["district"],
        event_id=args.event_id, kind=args.kind, amount_fen=amount, donor_display=public_donor(row),
    ))


async def _current(tx: Tx, donation_id: str) -> tuple[int, bool, bool]:
    """(current amount, voided, a correction pending) from the applied corrections."""
    rows = await tx.query(
        select(corrections.c.action, corrections.c.status, corrections.c.delta_fen)
        .where(corrections.c.donation_id == donation_id)
    )
    delta, voided, pending = 0, False, False
    for action, status, change in rows:
        if status == "applied":
            delta += int(change)
            voided = voided or action == "void"
        pending = pending or status == "pending"
    return delta, voided, pending


async def _booking(tx: Tx, donation: Mapping[str, Any]) -> tuple[str, str] | None:
    """The fund and account a money gift is booked on: chosen when it was recorded, or
    later by ``donation.allocate``; None while it waits for allocation."""
    if donation["fund_id"]:
        account = (funds_module.project_account(donation["project_id"])
                   if donation["direction"] == "project" else funds_module.GENERAL)
        return str(donation["fund_id"]), account
    return await funds_module.gift_booking(tx, donation["id"])


async def _apply_correction(tx: Tx, ctx: MutationContext, correction: Mapping[str, Any],
                            donation: Mapping[str, Any]) -> None:
    """The correction's effect on the books: a ledger movement (money), stock (goods void),
    the receipt withdrawn (void)."""
    delta = int(correction["delta_fen"])
    booked = await _booking(tx, donation) if donation["kind"] == "money" and delta else None
    if booked is not None:
        fund_id, account = booked
        fund = await funds_module.post(tx, ctx, fund_id, funds_module.Movement(
            correction["id"], account, f"station:{donation['station']}", delta,
            correction["action"] if correction["action"] == "void" else "correction",
            correction["reason"],
            {"donation_id": donation["id"], "correction_id": correction["id"],
             "project_id": donation["project_id"]}, correction.get("category") or "other"))
        if donation["kind"] == "money":
            await campaigns_module.reverse_match(
                tx, ctx, donation=donation, correction_id=correction["id"],
                new_amount_fen=0 if correction["action"] == "void"
                else int(correction["new_amount_fen"]))
            fund = await funds_module.live_fund(tx, fund_id)
        if int(fund["balance_fen"]) < 0:
            ctx.flag("fund_overdrawn", "更正后基金余额为负,请核查",
                     "after this correction the fund's balance is negative; please check")
    if donation["kind"] == "goods" and correction["action"] == "void":
        station = await tx.get("station", donation["station"])
        assert station is not None
        items = json.loads(donation["items"])
        await move_goods(tx, ctx, station, [(i["name"], i["unit"], -i["quantity"]) for i in items],
                         movement_id=correction["id"], kind="voided", donation_id=donation["id"],
                         note=correction["reason"])
    if correction["action"] == "void" and donation["receipt_number"]:
        await _withdraw_chain(tx, ctx, donation["receipt_number"], f"捐赠作废 / donation voided: "
                              f"{correction['reason']}")


async def _withdraw_chain(tx: Tx, ctx: MutationContext, number: str, reason: str) -> None:
    """Withdraw the receipt in force for a donation (following re-issues)."""
    receipt = await tx.get("receipt", number)
    while receipt is not None and receipt["status"] == "replaced" and receipt["replaced_by"]:
        receipt = await tx.get("receipt", receipt["replaced_by"])
    if receipt is None or receipt["status"] != "issued":
        return
    tx.update("receipt", receipt["number"], {
        "status": "withdrawn", "updated_at": ctx.now,
        "history": _history(json.loads(receipt["history"]), ctx, "withdrawn", reason),
    })


async def request_correction(tx: Tx, ctx: MutationContext, args: CorrectionRequestArgs) -> None:
    donation = await tx.get("donation", args.donation_id)  # locks it: corrections serialise
    if donation is None:
        raise not_found("捐赠", "donation", args.donation_id, field="donation_id")
    await _writable_station(tx, ctx, donation["station"])
    if await tx.get("donation_correction", args.id) is not None:
        raise Rejected("already_exists", "更正编号已存在", "correction id already exists", field="id")
    delta, voided, pending = await _current(tx, args.donation_id)
    if voided:
        raise Rejected("already_voided", "该捐赠已作废", "this donation is already void",
                       field="donation_id")
    if pending:
        raise Rejected("correction_pending", "该捐赠已有待审批的更正,请先处理",
                       "another correction of this donation awaits approval", field="donation_id")
    current = int(donation["amount_fen"]) + delta
    if args.action == "void":
        if args.new_amount_fen is not None:
            raise Rejected("invalid_args", "作废不需要新金额", "a void takes no new amount",
                           field="new_amount_fen")
        change = -current
    else:
        if args.new_amount_fen is None:
            raise Rejected("invalid_args", "更正须填写新金额", "a correction needs new_amount_fen",
                           field="new_amount_fen")
        if donation["kind"] == "money" and args.new_amount_fen < 1:
            raise Rejected("invalid_args", "金额为零请使用作废", "use a void for a zero amount",
                           field="new_amount_fen")
        if donation["kind"] == "goods" and args.new_amount_fen > MAX_GOODS_TOTAL_FEN:
            raise goods_total_too_large(args.new_amount_fen, "new_amount_fen")
        change = args.new_amount_fen - current
        if change == 0:
            raise Rejected("no_change", "新金额与现金额相同", "the new amount equals the current one",
                           field="new_amount_fen")
    needs_approval = abs(change) > tx.registry.config(DonationRules).approval_threshold_fen
    row = {
        "id": args.id, "donation_id": args.donation_id, "action": args.action,
        "new_amount_fen": args.new_amount_fen, "delta_fen": change, "reason": args.reason,
        "category": args.category, "status": "pending" if needs_approval else "applied", "requested_by": ctx.user_id,
        "requested_at": ctx.now, "decided_by": None, "decided_at": None, "decision_note": "",
        "station": donation["station"], "district": donation["district"],
    }
    tx.insert("donation_correction", row)
    if needs_approval:
        await tx.emit(ctx, CorrectionAwaitingApproval(
            correction_id=args.id, donation_id=args.donation_id, station=donation["station"],
            district=donation["district"], amount_fen=abs(change), requested_by=ctx.user_id,
        ))
    else:
        await _apply_correction(tx, ctx, row, donation)


async def decide_correction(tx: Tx, ctx: MutationContext, args: CorrectionDecideArgs) -> None:
    correction = await tx.get("donation_correction", args.id)
    if correction is None:
        raise not_found("更正", "correction", args.id, field="id")
    donation = await tx.get("donation", correction["donation_id"])
    assert donation is not None
    await _writable_station(tx, ctx, donation["station"], rank=MANAGER)
    if ctx.user_id in (correction["requested_by"], donation["recorded_by"]):
        raise forbidden("更正须由另一人审批,记录人不能审批自己的更正",
                        "a second person must approve; the recorder cannot approve their own")
    if correction["status"] != "pending":
        raise Rejected("already_decided", "该更正已处理", "this correction was already decided",
                       field="id")
    approved = args.decision == "approve"
    values = {"status": "applied" if approved else "rejected", "decided_by": ctx.user_id,
              "decided_at": ctx.now, "decision_note": args.note}
    tx.update("donation_correction", args.id, values)
    audit.stage(tx, ctx, f"correction.{args.decision}", "donation_correction", args.id,
                station=donation["station"], district=donation["district"],
                detail={"donation": donation["id"], "delta_fen": int(correction["delta_fen"])})
    if approved:
        await _apply_correction(tx, ctx, {**correction, **values}, donation)
    await tx.emit(ctx, CorrectionDecided(
        correction_id=args.id, station=donation["station"], district=donation["district"],
        decision="approved" if approved else "rejected",
    ))


async def allocate_donation(tx: Tx, ctx: MutationContext, args: DonationAllocateArgs) -> None:
    """Book an undirected money gift that no fund took when it was recorded
    (``donation_unallocated``): its current amount goes into the chosen fund now."""
    donation = await tx.get("donation", args.donation_id)  # locks it, like a correction
    if donation is None:
        raise not_found("捐赠", "donation", args.donation_id, field="donation_id")
    fund = await funds_module.live_fund(tx, args.fund_id)
    station = await tx.get("station", donation["station"])
    assert station is not None
    if not (funds_module.holds_fund(ctx.grant, fund) or (
        has_rank(ctx, MANAGER, donation["station"], donation["district"])
        and fund["station"] == donation["station"]
    )):
        raise forbidden("只有慈善会或本站点管理者可以分配捐赠",
                        "only the federation or the station's managers allocate gifts")
    if fund["district"] is not None and fund["district"] != donation["district"]:
        raise Rejected("invalid_args", "该基金属于其他区", "that fund belongs to another district",
                       field="fund_id")
    if donation["kind"] != "money":
        raise Rejected("invalid_args", "只有善款需要分配到基金", "only money gifts are allocated",
                       field="donation_id")
    if await _booking(tx, donation) is not None:
        raise Rejected("already_allocated", "该捐赠已入基金账", "this gift is already booked",
                       field="donation_id")
    if donation["campaign"]:
        campaign = await tx.get("campaign", donation["campaign"])
        if campaign is not None and not campaigns_module.raises_for(
                campaign, args.fund_id, args.project_id):
            raise Rejected("campaign_not_for_fund",
                           f"该捐赠所属的募捐活动“{campaign['name']}”不为该基金或项目募集",
                           f"the gift's campaign “{campaign['name']}” does not raise for this "
                           "fund or project", field="fund_id")
    account = funds_module.GENERAL
    if args.project_id is not None:
        project = await funds_module.project_of(tx, args.project_id)
        if project["fund_id"] != args.fund_id:
            raise Rejected("invalid_args", "该项目不属于此基金", "the project belongs to another fund",
                           field="project_id")
        account = funds_module.project_account(args.project_id)
    delta, voided, pending = await _current(tx, args.donation_id)
    if voided or pending:
        raise Rejected("correction_pending" if pending else "already_voided",
                       "该捐赠已作废或有待审批的更正", "this gift is void or has a pending correction",
                       field="donation_id")
    await funds_module.post(tx, ctx, args.fund_id, funds_module.Movement(
        args.id, account, f"station:{donation['station']}", int(donation["amount_fen"]) + delta,
        "donation", "分配 / allocated",
        {"donation_id": donation["id"], "project_id": args.project_id}))


async def _receipt_for_staff(tx: Tx, ctx: MutationContext, number: str, *, rank: int = STAFF
                             ) -> dict[str, Any]:
    receipt = await tx.get("receipt", number)
    if receipt is None:
        raise not_found("收据", "receipt", number, field="number")
    await _writable_station(tx, ctx, receipt["station"], rank=rank)
    return receipt


def _must_be_issued(receipt: Mapping[str, Any]) -> None:
    if receipt["status"] != "issued":
        raise Rejected("receipt_not_in_force", "该收据已作废或已重开",
                       "this receipt was withdrawn or replaced", field="number")


async def attach_official(tx: Tx, ctx: MutationContext, args: ReceiptAttachOfficialArgs) -> None:
    receipt = await _receipt_for_staff(tx, ctx, args.number, rank=MANAGER)
    _must_be_issued(receipt)
    tx.update("receipt", args.number, {
        "official_number": args.official_number, "updated_at": ctx.now,
        "history": _history(json.loads(receipt["history"]), ctx, "official_number",
                            args.official_number),
    })


async def reissue_receipt(tx: Tx, ctx: MutationContext, args: ReceiptReissueArgs) -> None:
    receipt = await _receipt_for_staff(tx, ctx, args.number)
    _must_be_issued(receipt)
    series = await _issuable_number(tx, ctx, args.new_number, "new_number")
    donation = await tx.get("donation", receipt["donation_id"])
    assert donation is not None
    tx.update("receipt", args.number, {
        "status": "replaced", "replaced_by": args.new_number, "updated_at": ctx.now,
        "history": _history(json.loads(receipt["history"]), ctx, "replaced", args.reason),
    })
    tx.insert("receipt", _new_receipt(ctx, args.new_number, series, args.code, donation,
                                      args.number, args.reason))


async def withdraw_receipt(tx: Tx, ctx: MutationContext, args: ReceiptWithdrawArgs) -> None:
    receipt = await _receipt_for_staff(tx, ctx, args.number)
    _must_be_issued(receipt)
    tx.update("receipt", args.number, {
        "status": "withdrawn", "updated_at": ctx.now,
        "history": _history(json.loads(receipt["history"]), ctx, "withdrawn", args.reason),
    })


async def reprint_receipt(tx: Tx, ctx: MutationContext, args: ReceiptReprintArgs) -> None:
    """A reprint is a copy (副本): counted, and the phone prints it marked as one."""
    receipt = await _receipt_for_staff(tx, ctx, args.number)
    _must_be_issued(receipt)
    tx.update("receipt", args.number, {
        "reprints": int(receipt["reprints"]) + 1, "updated_at": ctx.now,
        "history": _history(json.loads(receipt["history"]), ctx, "reprinted"),
    })


def install(registry: Registry, rules: DonationRules = DonationRules()) -> None:
    registry.configure(rules)
    registry.add_record_type(RecordType(
        "receipt_series", receipt_series, "code", _station_scope, _series_wire, tombstone=None, shape=ReceiptSeriesRecord))
    registry.add_record_type(RecordType(
        "donation", donations, "id", _station_scope, _donation_wire, tombstone=None, shape=DonationRecord))
    registry.add_record_type(RecordType(
        "receipt", receipts, "number", _station_scope, _receipt_wire, tombstone=None, shape=ReceiptRecord))
    registry.add_record_type(RecordType(
        "donation_correction", corrections, "id", _station_scope, _correction_wire,
        tombstone=None, shape=CorrectionRecord))
    attachments.allow(registry, "donation", may_attach)
    registry.mutation("receipt_series.claim", 1, ReceiptSeriesClaimArgs,
                      preload=(("station", "station"),))(claim_series)
    registry.mutation("donation.record", 1, DonationRecordArgs, preload=(
        ("donation", "id"), ("station", "station"), ("campaign", "campaign"),
        ("receipt", "receipt.number"),
    ))(record_donation)  # not the event, fund, project: read unlocked (funds.post late=True)
    registry.mutation("donation.correct", 1, CorrectionRequestArgs,
                      preload=(("donation", "donation_id"),))(request_correction)
    registry.mutation("donation.allocate", 1, DonationAllocateArgs, preload=(
        ("donation", "donation_id"), ("fund", "fund_id"), ("project", "project_id"),
    ))(allocate_donation)
    registry.mutation("correction.decide", 1, CorrectionDecideArgs,
                      preload=(("donation_correction", "id"),))(decide_correction)
    by_number = (("receipt", "number"),)
    registry.mutation("receipt.attach_official", 1, ReceiptAttachOfficialArgs,
                      preload=by_number)(attach_official)
    registry.mutation("receipt.reissue", 1, ReceiptReissueArgs, preload=by_number)(reissue_receipt)
    registry.mutation("receipt.withdraw", 1, ReceiptWithdrawArgs, preload=by_number)(withdraw_receipt)
    registry.mutation("receipt.reprint", 1, ReceiptReprintArgs, preload=by_number)(reprint_receipt)


__all__ = [
    "DonationRules",
    "corrections",
    "donations",
    "install",
    "mask_name",
    "public_donor",
    "receipt_series",
    "receipts",
]
