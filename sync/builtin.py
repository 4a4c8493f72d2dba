"""Record types and mutations that every deployment has: conflict records and sync issues."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from schemas.mutations import ConflictResolveArgs
from schemas.records import ConflictRecord, SyncIssueRecord
from sync.errors import Rejected, forbidden, not_found
from sync.merge import decode_meta, encode_meta
from sync.registry import RecordType, Registry
from sync.scopes import MANAGER, STAFF, Scope
from sync.tables import conflicts, sync_issues
from sync.unit import MutationContext, Tx


def _conflict_scope(row: Mapping[str, Any]) -> Scope:
    return Scope(station=row["station"], district=row["district"], audience=MANAGER)


def _conflict_wire(row: Mapping[str, Any]) -> dict[str, Any]:
    data = {c: row[c] for c in conflicts.c.keys() if c != "district"}
    data["kept_value"] = json.loads(row["kept_value"]) if row["kept_value"] else None
    data["lost_value"] = json.loads(row["lost_value"]) if row["lost_value"] else None
    return data


def _issue_scope(row: Mapping[str, Any]) -> Scope:
    return Scope(
        station=row["station"], district=row["district"], owner=row["user_id"], audience=STAFF
    )


def _issue_wire(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "client_id": row["client_id"],
        "mutation_id": row["mutation_id"],
        "mutation": row["mutation"],
        "status": row["status"],
        "code": row["code"],
        "message": json.loads(row["message"]),
        "user": row["user_id"],
        "station": row["station"],
        "created_at": row["created_at"],
    }


async def resolve_conflict(tx: Tx, ctx: MutationContext, args: ConflictResolveArgs) -> None:
    """A manager accepts the decided value, or restores the losing one as a new edit."""
    conflict = await tx.get("conflict", args.id)
    if conflict is None:
        raise not_found("冲突记录", "conflict", args.id, field="id")
    if ctx.grant.rank_at(conflict["station"] or "", conflict["district"]) < MANAGER:
        raise forbidden("只有该站点的管理者可以处理冲突", "only the station's managers resolve conflicts")
    if conflict["status"] != "open":
        raise Rejected(
            "already_resolved", "该冲突已处理", "this conflict was already resolved", field="id"
        )
    if args.action == "restore":
        rtype = tx.registry.record_types[conflict["record_type"]]
        record = await tx.get(rtype.name, conflict["record_id"])
        if record is None or (rtype.tombstone and record.get(rtype.tombstone)):
            raise Rejected("record_deleted", "记录已删除,无法恢复", "the record was deleted")
        meta = decode_meta(record.get("field_meta"))
        field = conflict["field"]
        stamp = ctx.clock.now()
        stored = meta.get(field, [""])[0]
        if stored and stamp <= stored:
            ctx.clock.observe(stored)
            stamp = ctx.clock.now()
        meta[field] = [stamp, ctx.user_id]
        tx.update(
            rtype.name,
            conflict["record_id"],
            {
                field: json.loads(conflict["lost_value"]),
                "field_meta": encode_meta(meta),
                "updated_at": ctx.now,
            },
        )
    tx.update(
        "conflict",
        args.id,
        {
            "status": "restored" if args.action == "restore" else "accepted",
            "resolved_by": ctx.user_id,
            "resolved_at": ctx.now,
        },
    )


def install(registry: Registry) -> None:
    registry.add_record_type(
        RecordType("conflict", conflicts, "id", _conflict_scope, _conflict_wire, tombstone=None, shape=ConflictRecord)
    )
    registry.add_record_type(
        RecordType("sync_issue", sync_issues, "id", _issue_scope, _issue_wire, tombstone=None, shape=SyncIssueRecord)
    )
    registry.mutation("conflict.resolve", 1, ConflictResolveArgs)(resolve_conflict)


__all__ = ["install"]
