"""The Time Bank: accounts, a double-entry ledger of time credits, rates, transfers,
and the redemption catalogue of each station.

Every movement of credits is two read-only entries that sum to zero (one per
account); an account's ``balance_cents`` is the running sum of its entries, kept
on the account row, which is locked (PostgreSQL ``FOR UPDATE``) before it moves, so
concurrent pushes from two phones cannot spend the same credits twice. Accounts are
locked in id order (``lock_accounts``; ``bank:…`` before ``vol:…``), the server's lock
order (docs/architecture.md), so two volunteers paying each other at once wait for
each other instead of deadlocking; the mutators' lock plans have the batch preload
take them up front. Each
station has a bank account (``bank:<station>``): approved hours are paid out of
it (it goes negative by the credits issued) and redemptions are paid into it.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import BigInteger, Boolean, Column, Integer, String, Table, Text

from schemas.attachments import AttachmentRef
from schemas.timebank import (
    CatalogueAddArgs,
    CatalogueRestockArgs,
    CatalogueUpdateArgs,
    RateSetArgs,
    RedemptionDecideArgs,
    RedemptionDeclineArgs,
    RedemptionItemRecord,
    RedemptionRecord,
    RedemptionRequestArgs,
    TimebankAccountRecord,
    TimebankEntryRecord,
    TimebankRateRecord,
    TransferArgs,
)
from server.domain import attachments
from server.domain.access import live_station, require_rank, station_for
from sync.builtin import resolve_issues
from sync.errors import Rejected, already_exists, not_found
from sync.merge import edited_fields, encode_meta, flag_conflict, merge_edit, wire_field_hlc
from sync.push import Peek, locks_first
from sync.registry import RecordType, Registry
from sync.scopes import MANAGER, STAFF, Grant, Scope
from sync.tables import metadata
from sync.unit import MutationContext, Tx

DEFAULT_RATE_CENTS = 100
"""One approved hour earns one time credit (100 credit cents) unless a station sets a rate."""

timebank_accounts = Table(
    "timebank_accounts",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("owner", String(64), nullable=True, index=True),
    Column("station", String(32), nullable=False),
    Column("district", String(100), nullable=False),
    Column("balance_cents", BigInteger, nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("updated_at", String(32), nullable=False),
)

timebank_entries = Table(
    "timebank_entries",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("movement_id", String(36), nullable=False, index=True),
    Column("account_id", String(64), nullable=False, index=True),
    Column("counter_account_id", String(64), nullable=False),
    Column("owner", String(64), nullable=True),
    Column("station", String(32), nullable=False),
    Column("district", String(100), nullable=False),
    Column("amount_cents", BigInteger, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("ref_type", String(32), nullable=False),
    Column("ref_id", String(64), nullable=False),
    Column("memo", Text, nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("created_at", String(32), nullable=False),
)

timebank_rates = Table(
    "timebank_rates",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("station", String(32), nullable=False),
    Column("district", String(100), nullable=False),
    Column("service_type", String(32), nullable=False),
    Column("rate_cents", Integer, nullable=False),
    Column("updated_by", String(64), nullable=False),
    Column("updated_at", String(32), nullable=False),
)

redemption_items = Table(
    "redemption_items",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("station", String(32), nullable=False, index=True),
    Column("district", String(100), nullable=False),
    Column("title", String(200), nullable=False),
    Column("description", Text, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("cost_cents", BigInteger, nullable=False),
    Column("stock", Integer, nullable=True),
    Column("active", Boolean, nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("updated_at", String(32), nullable=False),
    Column("field_meta", Text, nullable=False),
    Column("attachments", Text, nullable=False, default="[]"),
)

redemptions = Table(
    "redemptions",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("item_id", String(36), nullable=False, index=True),
    Column("volunteer_id", String(64), nullable=False, index=True),
    Column("station", String(32), nullable=False),
    Column("district", String(100), nullable=False),
    Column("cost_cents", BigInteger, nullable=False),
    Column("status", String(16), nullable=False),
    Column("review_reason", String(32), nullable=True),
    Column("debited", Boolean, nullable=False),
    Column("requested_at", String(32), nullable=False),
    Column("decided_by", String(64), nullable=True),
    Column("decided_at", String(32), nullable=True),
    Column("decline_reason", Text, nullable=True),
    Column("fulfilled_at", String(32), nullable=True),
    Column("updated_at", String(32), nullable=False),
)

ITEM_EDITABLE = ("title", "description", "cost_cents", "active")


def derived_id(source_id: str, purpose: str) -> str:
    """A movement id that follows from what caused it: the same cause, the same id."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"timebank:{purpose}:{source_id}"))


def volunteer_account_id(user_id: str) -> str:
    return f"vol:{user_id}"


def bank_account_id(station: str) -> str:
    return f"bank:{station}"


# -- accounts and movements ----------------------------------------------------------------


async def lock_accounts(tx: Tx, *account_ids: str) -> None:
    """Lock (PostgreSQL) these accounts in id order, the server's lock order, before
    reading any of them; those the batch preload already holds cost nothing."""
    await tx.preload("timebank_account", sorted(set(account_ids)))


async def open_volunteer_account(tx: Tx, ctx: MutationContext, volunteer: Mapping[str, Any]) -> None:
    """Create the volunteer's account when they register (idempotent)."""
    account_id = volunteer_account_id(volunteer["user_id"])
    if await tx.get("timebank_account", account_id) is None:
        tx.insert("timebank_account", {
            "id": account_id, "kind": "volunteer", "owner": volunteer["user_id"],
            "station": volunteer["station"], "district": volunteer["district"],
            "balance_cents": 0, "created_at": ctx.now, "updated_at": ctx.now,
        })


async def move_account_home(tx: Tx, ctx: MutationContext, volunteer: Mapping[str, Any]) -> None:
    """A volunteer's account follows their home station (who may see it)."""
    account_id = volunteer_account_id(volunteer["user_id"])
    account = await tx.get("timebank_account", account_id)
    if account is not None and account["station"] != volunteer["station"]:
        tx.update("timebank_account", account_id, {
            "station": volunteer["station"], "district": volunteer["district"], "updated_at": ctx.now,
        })


async def _bank_account(tx: Tx, ctx: MutationContext, station: str) -> dict[str, Any]:
    account_id = bank_account_id(station)
    account = await tx.get("timebank_account", account_id)
    if account is None:
        row = await live_station(tx, station)
        account = {
            "id": account_id, "kind": "bank", "owner": None, "station": station,
            "district": row["district"], "balance_cents": 0, "created_at": ctx.now,
            "updated_at": ctx.now,
        }
        tx.insert("timebank_account", account)
    return account


async def volunteer_account(tx: Tx, user_id: str, field: str | None = None) -> dict[str, Any]:
    """The volunteer's account, locked for this transaction on PostgreSQL."""
    account = await tx.get("timebank_account", volunteer_account_id(user_id))
    if account is None:
        raise Rejected(
            "not_a_volunteer", f"{user_id} 不是已登记的志愿者", f"{user_id} is not a registered volunteer",
            field=field,
        )
    return account


async def post_movement(
    tx: Tx,
    ctx: MutationContext,
    *,
    movement_id: str,
    debit: Mapping[str, Any],
    credit: Mapping[str, Any],
    amount: int,
    kind: str,
    ref_type: str,
    ref_id: str,
    memo: str = "",
) -> None:
    """Move ``amount`` credit cents from ``debit`` to ``credit``: two read-only entries
    and the two balances. Callers decide beforehand whether an overdraft is allowed."""
    assert amount > 0, "a movement moves a positive amount"
    for account, other, signed in ((debit, credit, -amount), (credit, debit, amount)):
        side = "out" if signed < 0 else "in"
        tx.insert("timebank_entry", {
            "id": f"{movement_id}:{side}", "movement_id": movement_id, "account_id": account["id"],
            "counter_account_id": other["id"], "owner": account["owner"],
            "station": account["station"], "district": account["district"],
            "amount_cents": signed, "kind": kind, "ref_type": ref_type, "ref_id": ref_id,
            "memo": memo, "created_by": ctx.user_id, "created_at": ctx.now,
        })
        current = await tx.get("timebank_account", account["id"])
        assert current is not None
        tx.update("timebank_account", account["id"], {
            "balance_cents": current["balance_cents"] + signed, "updated_at": ctx.now,
        })


async def pay_hours(
    tx: Tx, ctx: MutationContext, log: Mapping[str, Any], amount: int, *, reverse: bool, memo: str
) -> None:
    """Credit approved hours from the station's bank, or take them back on reversal."""
    await lock_accounts(tx, bank_account_id(log["station"]), volunteer_account_id(log["volunteer_id"]))
    bank = await _bank_account(tx, ctx, log["station"])
    account = await volunteer_account(tx, log["volunteer_id"])
    debit, credit = (account, bank) if reverse else (bank, account)
    kind = "hours_reversal" if reverse else "hours_credit"
    await post_movement(
        tx, ctx, movement_id=derived_id(log["id"], kind), debit=debit,
        credit=credit, amount=amount, kind=kind, ref_type="hour_log", ref_id=log["id"], memo=memo,
    )


async def rate_for(tx: Tx, station: str, service_type: str) -> int:
    rate = await tx.get("timebank_rate", f"{station}:{service_type}")
    return DEFAULT_RATE_CENTS if rate is None else int(rate["rate_cents"])


# -- mutators: rates and transfers ---------------------------------------------------------


async def set_rate(tx: Tx, ctx: MutationContext, args: RateSetArgs) -> None:
    station = await station_for(tx, ctx, args.station, rank=MANAGER)
    rate_id = f"{args.station}:{args.service_type}"
    row = {"rate_cents": args.rate_cents, "updated_by": ctx.user_id, "updated_at": ctx.now}
    if await tx.get("timebank_rate", rate_id) is None:
        tx.insert("timebank_rate", {"id": rate_id, "station": args.station,
                                    "district": station["district"],
                                    "service_type": args.service_type, **row})
    else:
        tx.update("timebank_rate", rate_id, row)


async def _locks_for_transfer(peek: Peek, grant: Grant, args: Any) -> list[tuple[str, str]]:
    return [("timebank_account", volunteer_account_id(grant.user_id)),
            ("timebank_account", volunteer_account_id(args.to_volunteer)),
            ("timebank_entry", f"{args.id}:out")]


@locks_first(_locks_for_transfer)
async def transfer(tx: Tx, ctx: MutationContext, args: TransferArgs) -> None:
    if args.to_volunteer == ctx.user_id:
        raise Rejected("transfer_to_self", "不能转给自己", "cannot transfer credits to yourself",
                       field="to_volunteer")
    # both accounts in id order: A paying B while B pays A must not deadlock
    await lock_accounts(tx, volunteer_account_id(ctx.user_id), volunteer_account_id(args.to_volunteer))
    if await tx.get("timebank_entry", f"{args.id}:out") is not None:
        raise already_exists("转账", "transfer", args.id)
    source = await volunteer_account(tx, ctx.user_id)
    target = await volunteer_account(tx, args.to_volunteer, field="to_volunteer")
    if source["balance_cents"] < args.amount_cents:
        raise Rejected(
            "balance_insufficient",
            f"时间积分余额不足(余额 {source['balance_cents'] / 100:.2f})",
            f"not enough time credits (balance {source['balance_cents'] / 100:.2f})",
            field="amount_cents",
        )
    await post_movement(
        tx, ctx, movement_id=args.id, debit=source, credit=target, amount=args.amount_cents,
        kind=args.kind, ref_type="transfer", ref_id=args.id, memo=args.memo,
    )


# -- mutators: catalogue -------------------------------------------------------------------


async def _item(tx: Tx, item_id: str, field: str = "id") -> dict[str, Any]:
    item = await tx.get("redemption_item", item_id)
    if item is None:
        raise not_found("兑换项目", "catalogue item", item_id, field=field)
    return item


async def add_item(tx: Tx, ctx: MutationContext, args: CatalogueAddArgs) -> None:
    station = await station_for(tx, ctx, args.station)
    if await tx.get("redemption_item", args.id) is not None:
        raise already_exists("兑换项目", "catalogue item", args.id)
    tx.insert("redemption_item", {
        "id": args.id, "station": args.station, "district": station["district"],
        "title": args.title, "description": args.description, "kind": args.kind,
        "cost_cents": args.cost_cents, "stock": args.stock, "active": True,
        "created_by": ctx.user_id, "created_at": ctx.now, "updated_at": ctx.now,
        "field_meta": encode_meta({name: [ctx.hlc, ctx.user_id] for name in ITEM_EDITABLE}),
        "attachments": attachments.encode(args.attachments),
    })
    attachments.stage_refs(tx, "redemption_item", args.id, args.attachments)


async def update_item(tx: Tx, ctx: MutationContext, args: CatalogueUpdateArgs) -> None:
    item = await _item(tx, args.id)
    require_rank(ctx, STAFF, item["station"], item["district"])
    if args.attachments:
        files = attachments.added(item["attachments"], args.attachments)
        tx.update("redemption_item", args.id, {"attachments": attachments.encode(files),
                                               "updated_at": ctx.now})
        attachments.stage_refs(tx, "redemption_item", args.id, files)
        if not attachments.sets_any(args.fields):
            return
        item = await _item(tx, args.id)
    edits = edited_fields(args.fields)
    outcome = merge_edit(
        tx, ctx, record_type="redemption_item", record_id=args.id, current=item, edits=edits,
        base=args.base, matters=frozenset({"cost_cents", "title", "description"}), station=item["station"],
        district=item["district"],
    )
    tx.update("redemption_item", args.id, {
        **outcome.applied, "field_meta": encode_meta(outcome.field_meta), "updated_at": ctx.now,
    })
    if outcome.conflict_ids:
        flag_conflict(ctx, "redemption_item", args.id)


async def restock_item(tx: Tx, ctx: MutationContext, args: CatalogueRestockArgs) -> None:
    item = await _item(tx, args.id)
    require_rank(ctx, STAFF, item["station"], item["district"])
    if item["stock"] is None:
        raise Rejected("stock_unlimited", "该项目不限数量", "this item has no stock limit", field="id")
    stock = item["stock"] + args.delta
    if stock < 0:
        raise Rejected("stock_negative", f"库存不能为负(现有 {item['stock']})",
                       f"stock cannot go below zero (now {item['stock']})", field="delta")
    tx.update("redemption_item", args.id, {"stock": stock, "updated_at": ctx.now})


# -- mutators: redemptions -----------------------------------------------------------------


def _shortfall(item: Mapping[str, Any], account: Mapping[str, Any]) -> str | None:
    """Why the request cannot be paid now, or None."""
    if item["stock"] is not None and item["stock"] < 1:
        return "out_of_stock"
    if account["balance_cents"] < item["cost_cents"]:
        return "balance_insufficient"
    return None


async def _debit_redemption(
    tx: Tx, ctx: MutationContext, redemption_id: str, item: Mapping[str, Any],
    account: Mapping[str, Any],
) -> None:
    bank = await _bank_account(tx, ctx, item["station"])
    await post_movement(
        tx, ctx, movement_id=redemption_id, debit=account, credit=bank, amount=item["cost_cents"],
        kind="redemption", ref_type="redemption", ref_id=redemption_id, memo=item["title"],
    )
    if item["stock"] is not None:
        tx.update("redemption_item", item["id"], {"stock": item["stock"] - 1, "updated_at": ctx.now})


SHORTFALL_MESSAGES = {
    "balance_insufficient": (
        "时间积分余额不足(可能已在另一台设备上使用)",
        "not enough time credits (perhaps spent on another device)",
    ),
    "out_of_stock": ("该项目已无库存", "this item is out of stock"),
}
HELD_ZH, HELD_EN = ",兑换已提交工作人员审核,未扣积分", "; the redemption is held for staff review and nothing was debited"


async def _locks_for_request(peek: Peek, grant: Grant, args: Any) -> list[tuple[str, str]]:
    item = await peek("redemption_item", args.item_id)
    accounts = [volunteer_account_id(grant.user_id)]
    if item is not None:
        accounts.append(bank_account_id(item["station"]))
    return [("timebank_account", account_id) for account_id in accounts]


async def _locks_for_redemption(peek: Peek, grant: Grant, args: Any) -> list[tuple[str, str]]:
    redemption = await peek("redemption", args.id)
    if redemption is None:
        return []
    return [("redemption_item", redemption["item_id"]),
            ("timebank_account", bank_account_id(redemption["station"])),
            ("timebank_account", volunteer_account_id(redemption["volunteer_id"]))]


@locks_first(_locks_for_request)
async def request_redemption(tx: Tx, ctx: MutationContext, args: RedemptionRequestArgs) -> None:
    """Pay now if the balance and stock cover it; otherwise keep the request, debit
    nothing, and flag it for staff: never lost, never a balance below zero."""
    if await tx.get("redemption", args.id) is not None:
        raise already_exists("兑换", "redemption", args.id)
    item = await _item(tx, args.item_id, field="item_id")
    if not item["active"]:
        raise Rejected("item_inactive", "该项目已下架", "this item is no longer offered", field="item_id")
    await lock_accounts(tx, bank_account_id(item["station"]), volunteer_account_id(ctx.user_id))
    account = await volunteer_account(tx, ctx.user_id)
    shortfall = _shortfall(item, account)
    if shortfall is None:
        await _debit_redemption(tx, ctx, args.id, item, account)
    else:
        zh, en = SHORTFALL_MESSAGES[shortfall]
        ctx.flag(shortfall, zh + HELD_ZH, en + HELD_EN, subject=f"redemption:{args.id}")
    tx.insert("redemption", {
        "id": args.id, "item_id": item["id"], "volunteer_id": ctx.user_id,
        "station": item["station"], "district": item["district"], "cost_cents": item["cost_cents"],
        "status": "requested" if shortfall is None else "needs_review",
        "review_reason": shortfall, "debited": shortfall is None, "requested_at": ctx.now,
        "decided_by": None, "decided_at": None, "decline_reason": None, "fulfilled_at": None,
        "updated_at": ctx.now,
    })


async def _redemption_for_staff(tx: Tx, ctx: MutationContext, redemption_id: str) -> dict[str, Any]:
    """Staff of the item's station approve and hand over redemptions, never their own: a
    redemption is always requested by its volunteer for themselves, so the requester and
    the volunteer are one person and neither may decide it (docs/security.md)."""
    redemption = await tx.get("redemption", redemption_id)
    if redemption is None:
        raise not_found("兑换", "redemption", redemption_id, field="id")
    require_rank(ctx, STAFF, redemption["station"], redemption["district"])
    if redemption["volunteer_id"] == ctx.user_id:
        raise Rejected("own_redemption", "不能审批或发放自己的兑换,请由另一位工作人员处理",
                       "you cannot approve or hand over your own redemption; another staff member must",
                       field="id")
    return redemption


def _wrong_status(redemption: Mapping[str, Any]) -> Rejected:
    return Rejected(
        "wrong_status", f"兑换当前状态为 {redemption['status']},不能这样处理",
        f"the redemption is {redemption['status']}; this step does not apply", field="id",
    )


@locks_first(_locks_for_redemption)
async def approve_redemption(tx: Tx, ctx: MutationContext, args: RedemptionDecideArgs) -> None:
    redemption = await _redemption_for_staff(tx, ctx, args.id)
    if redemption["status"] not in ("requested", "needs_review"):
        raise _wrong_status(redemption)
    values: dict[str, Any] = {"status": "approved", "decided_by": ctx.user_id,
                              "decided_at": ctx.now, "updated_at": ctx.now}
    if not redemption["debited"]:
        item = await _item(tx, redemption["item_id"])
        await lock_accounts(tx, bank_account_id(redemption["station"]),
                            volunteer_account_id(redemption["volunteer_id"]))
        account = await volunteer_account(tx, redemption["volunteer_id"])
        shortfall = _shortfall({**item, "cost_cents": redemption["cost_cents"]}, account)
        if shortfall is not None:
            zh, en = SHORTFALL_MESSAGES[shortfall]
            raise Rejected(shortfall, zh, en, field="id")
        await _debit_redemption(tx, ctx, args.id, {**item, "cost_cents": redemption["cost_cents"]}, account)
        values["debited"] = True
    tx.update("redemption", args.id, values)
    await resolve_issues(tx, ctx, f"redemption:{args.id}")


async def fulfil_redemption(tx: Tx, ctx: MutationContext, args: RedemptionDecideArgs) -> None:
    redemption = await _redemption_for_staff(tx, ctx, args.id)
    if redemption["status"] not in ("requested", "approved") or not redemption["debited"]:
        raise _wrong_status(redemption)
    tx.update("redemption", args.id, {
        "status": "fulfilled", "fulfilled_at": ctx.now, "updated_at": ctx.now,
        "decided_by": redemption["decided_by"] or ctx.user_id,
        "decided_at": redemption["decided_at"] or ctx.now,
    })


@locks_first(_locks_for_redemption)
async def decline_redemption(tx: Tx, ctx: MutationContext, args: RedemptionDeclineArgs) -> None:
    """Staff decline, or the volunteer withdraws before it is approved; credits paid are refunded."""
    redemption = await tx.get("redemption", args.id)
    if redemption is None:
        raise not_found("兑换", "redemption", args.id, field="id")
    own = redemption["volunteer_id"] == ctx.user_id
    if own and redemption["status"] in ("requested", "needs_review"):
        pass
    else:
        require_rank(ctx, STAFF, redemption["station"], redemption["district"])
    if redemption["status"] not in ("requested", "needs_review", "approved"):
        raise _wrong_status(redemption)
    if redemption["debited"]:
        item = await _item(tx, redemption["item_id"])
        await lock_accounts(tx, bank_account_id(redemption["station"]),
                            volunteer_account_id(redemption["volunteer_id"]))
        bank = await _bank_account(tx, ctx, redemption["station"])
        account = await volunteer_account(tx, redemption["volunteer_id"])
        await post_movement(
            tx, ctx, movement_id=derived_id(args.id, "redemption_refund"), debit=bank, credit=account,
            amount=redemption["cost_cents"], kind="redemption_refund", ref_type="redemption",
            ref_id=args.id, memo=args.reason,
        )
        if item["stock"] is not None:
            tx.update("redemption_item", item["id"], {"stock": item["stock"] + 1, "updated_at": ctx.now})
    tx.update("redemption", args.id, {
        "status": "declined", "decline_reason": args.reason, "decided_by": ctx.user_id,
        "decided_at": ctx.now, "updated_at": ctx.now,
    })
    await resolve_issues(tx, ctx, f"redemption:{args.id}")


# -- record types --------------------------------------------------------------------------


def _owned_scope(row: Mapping[str, Any], owner_column: str) -> Scope:
    """The owner's own devices, and staff and up of the station; no other volunteer."""
    return Scope(station=row["station"], district=row["district"], owner=row[owner_column],
                 audience=STAFF)


def _station_scope(row: Mapping[str, Any]) -> Scope:
    return Scope(station=row["station"], district=row["district"])


def _columns(row: Mapping[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    return {name: row[name] for name in names}


ACCOUNT_FIELDS = ("id", "kind", "owner", "station", "district", "balance_cents", "updated_at")
ENTRY_FIELDS = ("id", "movement_id", "account_id", "counter_account_id", "owner", "amount_cents", "kind",
                "ref_type", "ref_id", "memo", "created_by", "created_at")
RATE_FIELDS = ("id", "station", "service_type", "rate_cents", "updated_by", "updated_at")
ITEM_FIELDS = ("id", "station", "district", "title", "description", "kind", "cost_cents", "stock",
               "active", "created_by", "created_at", "updated_at")
REDEMPTION_FIELDS = ("id", "item_id", "volunteer_id", "station", "district", "cost_cents",
                     "status", "review_reason", "debited", "requested_at", "decided_by",
                     "decided_at", "decline_reason", "fulfilled_at", "updated_at")


def _account_scope(row: Mapping[str, Any]) -> Scope:
    if row["kind"] == "bank":
        return Scope(station=row["station"], district=row["district"], audience=STAFF)
    return _owned_scope(row, "owner")


def _entry_scope(row: Mapping[str, Any]) -> Scope:
    if row["owner"] is None:
        return Scope(station=row["station"], district=row["district"], audience=STAFF)
    return _owned_scope(row, "owner")


async def may_attach_item(tx: Tx, ctx: MutationContext, item: dict[str, Any],
                          after: list[AttachmentRef]) -> None:
    """Staff of the item's station add or remove its pictures (as they edit it)."""
    require_rank(ctx, STAFF, item["station"], item["district"])


def install(registry: Registry) -> None:
    attachments.allow(registry, "redemption_item", may_attach_item)
    registry.add_record_type(RecordType(
        "timebank_account", timebank_accounts, "id", _account_scope,
        lambda row: _columns(row, ACCOUNT_FIELDS), tombstone=None, shape=TimebankAccountRecord))
    registry.add_record_type(RecordType(
        "timebank_entry", timebank_entries, "id", _entry_scope,
        lambda row: _columns(row, ENTRY_FIELDS), tombstone=None, shape=TimebankEntryRecord))
    registry.add_record_type(RecordType(
        "timebank_rate", timebank_rates, "id", _station_scope,
        lambda row: _columns(row, RATE_FIELDS), tombstone=None, shape=TimebankRateRecord))
    registry.add_record_type(RecordType(
        "redemption_item", redemption_items, "id", _station_scope,
        lambda row: {**_columns(row, ITEM_FIELDS), "field_hlc": wire_field_hlc(row["field_meta"]),
                     "attachments": attachments.wire(row["attachments"])},
        tombstone=None, shape=RedemptionItemRecord))
    registry.add_record_type(RecordType(
        "redemption", redemptions, "id", lambda row: _owned_scope(row, "volunteer_id"),
        lambda row: _columns(row, REDEMPTION_FIELDS), tombstone=None, shape=RedemptionRecord))

    registry.mutation("timebank.set_rate", 1, RateSetArgs, preload=(("station", "station"),))(set_rate)
    registry.mutation("timebank.transfer", 1, TransferArgs)(transfer)
    registry.mutation("catalogue.add", 1, CatalogueAddArgs,
                      preload=(("station", "station"), ("redemption_item", "id")))(add_item)
    registry.mutation("catalogue.update", 1, CatalogueUpdateArgs,
                      preload=(("redemption_item", "id"),))(update_item)
    registry.mutation("catalogue.restock", 1, CatalogueRestockArgs,
                      preload=(("redemption_item", "id"),))(restock_item)
    by_redemption = (("redemption", "id"),)
    registry.mutation("redemption.request", 1, RedemptionRequestArgs,
                      preload=(("redemption", "id"), ("redemption_item", "item_id")))(request_redemption)
    registry.mutation("redemption.approve", 1, RedemptionDecideArgs, preload=by_redemption)(approve_redemption)
    registry.mutation("redemption.fulfil", 1, RedemptionDecideArgs, preload=by_redemption)(fulfil_redemption)
    registry.mutation("redemption.decline", 1, RedemptionDeclineArgs, preload=by_redemption)(decline_redemption)


__all__ = [
    "bank_account_id",
    "install",
    "move_account_home",
    "open_volunteer_account",
    "pay_hours",
    "rate_for",
    "redemption_items",
    "redemptions",
    "timebank_accounts",
    "timebank_entries",
    "timebank_rates",
    "volunteer_account_id",
]
