"""Social work stations: every station is a donation point. Public records."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Boolean, Column, String, Table, Text, true

from schemas.mutations import StationCreateArgs, StationUpdateArgs
from schemas.records import StationRecord
from server.domain.access import require_rank, station_for
from sync.errors import Rejected
from sync.merge import edited_fields, encode_meta, merge_edit, wire_field_hlc
from sync.push import locks_exclusive
from sync.registry import RecordType, Registry
from sync.scopes import DISTRICT_MANAGER, MANAGER, Scope
from sync.tables import metadata
from sync.unit import MutationContext, Tx

stations = Table(
    "stations",
    metadata,
    Column("code", String(32), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("district", String(100), nullable=False),
    # staff and above at this station set an app lock PIN on their phones (docs/pwa.md)
    Column("pin_required", Boolean, nullable=False, default=True, server_default=true()),
    Column("created_at", String(32), nullable=False),
    Column("updated_at", String(32), nullable=False),
    Column("field_meta", Text, nullable=False),
    Column("deleted_at", String(32), nullable=True),
)

EDITABLE = ("name", "pin_required")


def district_of_sql(station_column: str) -> str:
    """SQL for the district of the station named by ``station_column`` (NULL when there
    is none), for a hot raw statement of another module that needs it in the same query."""
    return f"(SELECT s.district FROM {stations.name} AS s WHERE s.code = {station_column})"


def _scope(row: Mapping[str, Any]) -> Scope:
    return Scope(station=row["code"], district=row["district"], public=True)


def _wire(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "code": row["code"],
        "name": row["name"],
        "district": row["district"],
        "pin_required": bool(row["pin_required"]),
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
        "field_hlc": wire_field_hlc(row["field_meta"]),
    }


async def create_station(tx: Tx, ctx: MutationContext, args: StationCreateArgs) -> None:
    require_rank(ctx, DISTRICT_MANAGER, None, args.district,
                 ("只有区、市管理者可以设立站点", "only district or city managers create stations"))
    if await tx.get("station", args.code) is not None:
        raise Rejected("already_exists", f"站点编号已存在:{args.code}", f"station code already exists: {args.code}", field="code")
    meta = {name: [ctx.hlc, ctx.user_id] for name in EDITABLE}
    tx.insert(
        "station",
        {
            "code": args.code,
            "name": args.name,
            "district": args.district,
            "pin_required": args.pin_required,
            "created_at": ctx.now,
            "updated_at": ctx.now,
            "field_meta": encode_meta(meta),
            "deleted_at": None,
        },
    )
    from server.domain.people import ensure_district  # people reads stations: no cycle at import

    await ensure_district(tx, ctx, args.district)


@locks_exclusive("station")  # it writes the row every other batch only share-locks
async def update_station(tx: Tx, ctx: MutationContext, args: StationUpdateArgs) -> None:
    station = await station_for(tx, ctx, args.code, rank=MANAGER, field="code",
                                refusal=("只有该站点的管理者可以修改站点", "only the station's managers edit it"))
    edits = edited_fields(args.fields)
    outcome = merge_edit(
        tx, ctx, record_type="station", record_id=args.code, current=station, edits=edits,
        base=args.base, matters=frozenset(), station=args.code, district=station["district"],
    )
    tx.update(
        "station", args.code,
        {**outcome.applied, "field_meta": encode_meta(outcome.field_meta), "updated_at": ctx.now},
    )


def install(registry: Registry) -> None:
    registry.add_record_type(RecordType("station", stations, "code", _scope, _wire, shape=StationRecord))
    registry.mutation("station.create", 1, StationCreateArgs)(create_station)
    registry.mutation("station.update", 1, StationUpdateArgs, preload=(("station", "code"),))(update_station)


__all__ = ["create_station", "district_of_sql", "install", "stations", "update_station"]
