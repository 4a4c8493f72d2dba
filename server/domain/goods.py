"""Donated goods: received (a goods donation), stored (a stock per station, item and
unit), handed out to beneficiaries or projects. A stock never goes below zero:
a hand-out or a void that would take more than is there is refused."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import BigInteger, Column, String, Table, Text

from schemas.donations import GoodsHandOutArgs, GoodsMovementRecord, GoodsStockRecord
from server.domain.access import station_for
from sync.errors import Rejected, not_found
from sync.registry import RecordType, Registry
from sync.scopes import STAFF, Scope
from sync.tables import metadata
from sync.unit import MutationContext, Tx

STOCK_NAMESPACE = uuid.UUID("5b0f8a52-3c57-4f0e-9a8e-6f3d2a1c9b77")

goods_stock = Table(
    "goods_stock",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("station", String(32), nullable=False, index=True),
    Column("district", String(100), nullable=False),
    Column("name", String(100), nullable=False),
    Column("unit", String(16), nullable=False),
    Column("quantity", BigInteger, nullable=False),
    Column("updated_at", String(32), nullable=False),
)

goods_movements = Table(
    "goods_movements",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("stock_id", String(36), nullable=False, index=True),
    Column("station", String(32), nullable=False),
    Column("district", String(100), nullable=False),
    Column("delta", BigInteger, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("donation_id", String(36), nullable=True),
    Column("recipient_kind", String(16), nullable=True),
    Column("recipient", String(100), nullable=True),
    Column("project_id", String(36), nullable=True),
    Column("note", Text, nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("created_at", String(32), nullable=False),
)


def stock_id(station: str, name: str, unit: str) -> str:
    """The same item in the same unit at one station is one stock, on every phone."""
    return str(uuid.uuid5(STOCK_NAMESPACE, f"{station}|{name.strip()}|{unit.strip()}"))


def _scope(row: Mapping[str, Any]) -> Scope:
    return Scope(station=row["station"], district=row["district"], audience=STAFF)


def _stock_wire(row: Mapping[str, Any]) -> dict[str, Any]:
    return {c: row[c] for c in ("id", "station", "name", "unit", "quantity", "updated_at")}


def _movement_wire(row: Mapping[str, Any]) -> dict[str, Any]:
    return {c: row[c] for c in goods_movements.c.keys() if c != "district"}


async def move_goods(
    tx: Tx,
    ctx: MutationContext,
    station: Mapping[str, Any],
    lines: Iterable[tuple[str, str, int]],
    *,
    movement_id: str,
    kind: str,
    donation_id: str | None = None,
    recipient_kind: str | None = None,
    recipient: str | None = None,
    project_id: str | None = None,
    note: str = "",
) -> None:
    """Apply (name, unit, delta) lines to the station's stocks, one movement each;
    refuse the whole mutation if any stock would go below zero."""
    for index, (name, unit, delta) in enumerate(lines):
        sid = stock_id(station["code"], name, unit)
        stock = await tx.get("goods_stock", sid)
        have = int(stock["quantity"]) if stock else 0
        if have + delta < 0:
            raise Rejected(
                "goods_insufficient",
                f"库存不足:{name} 现有 {have} {unit},需要 {-delta} {unit}",
                f"not enough in stock: {have} {unit} of {name}, {-delta} {unit} needed",
                field="quantity",
            )
        if stock is None:
            tx.insert("goods_stock", {
                "id": sid, "station": station["code"], "district": station["district"],
                "name": name.strip(), "unit": unit.strip(), "quantity": delta,
                "updated_at": ctx.now,
            })
        else:
            tx.update("goods_stock", sid, {"quantity": have + delta, "updated_at": ctx.now})
        tx.insert("goods_movement", {
            "id": f"{movement_id}:{index}", "stock_id": sid, "station": station["code"],
            "district": station["district"], "delta": delta, "kind": kind,
            "donation_id": donation_id, "recipient_kind": recipient_kind, "recipient": recipient,
            "project_id": project_id, "note": note, "created_by": ctx.user_id,
            "created_at": ctx.now,
        })


async def hand_out(tx: Tx, ctx: MutationContext, args: GoodsHandOutArgs) -> None:
    station = await station_for(tx, ctx, args.station, refusal=(
        f"不能为站点 {args.station} 发放物资", f"cannot hand out goods for station {args.station}"))
    if args.recipient_kind == "project" and (
        args.project_id is None or await tx.get("project", args.project_id) is None
    ):
        raise not_found("项目", "project", args.project_id or "", field="project_id")
    if await tx.get("goods_movement", f"{args.id}:0") is not None:
        raise Rejected("already_exists", "该发放已登记", "this hand-out is already recorded", field="id")
    await move_goods(
        tx, ctx, station, [(args.name, args.unit, -args.quantity)], movement_id=args.id,
        kind="handed_out", recipient_kind=args.recipient_kind, recipient=args.recipient,
        project_id=args.project_id, note=args.note,
    )


def install(registry: Registry) -> None:
    registry.add_record_type(
        RecordType("goods_stock", goods_stock, "id", _scope, _stock_wire, tombstone=None, shape=GoodsStockRecord))
    registry.add_record_type(RecordType(
        "goods_movement", goods_movements, "id", _scope, _movement_wire, tombstone=None, shape=GoodsMovementRecord))
    registry.mutation("goods.hand_out", 1, GoodsHandOutArgs,
                      preload=(("station", "station"),))(hand_out)


__all__ = [
    "goods_movements",
    "goods_stock",
    "hand_out",
    "install",
    "move_goods",
    "stock_id",
]
