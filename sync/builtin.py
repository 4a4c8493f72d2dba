"""Record types and mutations that every deployment has: conflict records and sync issues."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select

from schemas.events import IssuesResolved
from schemas.mutations import ConflictResolveArgs, SyncIssueResolveArgs
from schemas.records import ConflictRecord, SyncIssueRecord
from sync.errors import Rejected, forbidden, not_found
from sync.merge import decode_meta, encode_meta
from sync.registry import RecordType, Registry
from sync.scopes import MANAGER, STAFF, Scope
from sync.tables import conflicts, sync_issues

MERGEABLE: frozenset[tuple[str, str]] = frozenset({
    ("event", "notes"), ("hour_log", "note"), ("redemption_item", "description"),
})
"""Free-text fields a manager may merge by hand (``conflict.resolve`` ``merge``): both
phones' texts are kept in the conflict and the manager writes the combination."""
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
        "subject": row["subject"],
        "resolved_at": row["resolved_at"],
        "resolved_by": row["resolved_by"],
    }


async def resolve_conflict(tx: Tx, ctx: MutationContext, args: ConflictResolveArgs) -> None:
    """A manager accepts the decided value, restores the losing one as a new edit, or (a
    notes field) writes a merge of both. When the record has no open conflict left, the
    held submissions about it are settled."""
    conflict = await tx.get("conflict", args.id)
    if conflict is None:
        raise not_found("冲突记录", "conflict", args.id, field="id")
    if ctx.grant.rank_at(conflict["station"] or "", conflict["district"]) < MANAGER:
        raise forbidden("只有该站点的管理者可以处理冲突", "only the station's managers resolve conflicts")
    if conflict["status"] != "open":
        raise Rejected(
            "already_resolved", "该冲突已处理", "this conflict was already resolved", field="id"
        )
    if args.action == "merge" and (conflict["record_type"], conflict["field"]) not in MERGEABLE:
        raise Rejected("invalid_args", "只有备注类字段可以合并", "only notes fields can be merged",
                       field="action")
    if args.action == "merge" and args.value is None:
        raise Rejected("invalid_args", "合并需要填写合并后的内容", "a merge needs the merged text",
                       field="value")
    if args.action in ("restore", "merge"):
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
        value = json.loads(conflict["lost_value"]) if args.action == "restore" else args.value
        tx.update(
            rtype.name,
            conflict["record_id"],
            {field: value, "field_meta": encode_meta(meta), "updated_at": ctx.now},
        )
    tx.update(
        "conflict",
        args.id,
        {
            "status": {"accept": "accepted", "restore": "restored", "merge": "merged"}[args.action],
            "resolved_by": ctx.user_id,
            "resolved_at": ctx.now,
        },
    )
    still_open = (await tx.query(
        select(conflicts.c.id).where(
            conflicts.c.record_type == conflict["record_type"],
            conflicts.c.record_id == conflict["record_id"],
            conflicts.c.status == "open",
            conflicts.c.id != args.id,
        ).limit(1)
    )).first()
    if still_open is None:
        await resolve_issues(tx, ctx, f"{conflict['record_type']}:{conflict['record_id']}")


async def resolve_issues(tx: Tx, ctx: MutationContext, subject: str) -> list[str]:
    """Settle the held submissions about ``subject`` (a log decided, a record's conflicts
    resolved): they leave the open lists on every phone, and ``IssuesResolved`` lets the
    inbox mark its notifications about them."""
    ids = [str(r[0]) for r in await tx.query(
        select(sync_issues.c.id).where(sync_issues.c.subject == subject[:100],
                                       sync_issues.c.resolved_at.is_(None))
    )]
    return await _settle(tx, ctx, ids)


async def _settle(tx: Tx, ctx: MutationContext, ids: list[str]) -> list[str]:
    await tx.preload("sync_issue", ids)
    settled: list[str] = []
    place: tuple[str | None, str | None] = (None, None)
    for issue_id in ids:
        issue = await tx.get("sync_issue", issue_id)
        if issue is None or issue["resolved_at"] is not None:
            continue
        tx.update("sync_issue", issue_id, {"resolved_at": ctx.now, "resolved_by": ctx.user_id})
        settled.append(issue_id)
        place = (issue["station"], issue["district"])
    if settled:
        await tx.emit(ctx, IssuesResolved(issue_ids=tuple(settled), station=place[0],
                                          district=place[1]))
    return settled


async def resolve_issue(tx: Tx, ctx: MutationContext, args: SyncIssueResolveArgs) -> None:
    """A manager marks a rejected or held submission handled (one that no decision
    settles by itself: a fund overdrawn by a correction, an unallocated gift)."""
    issue = await tx.get("sync_issue", args.id)
    if issue is None:
        raise not_found("提交记录", "sync issue", args.id, field="id")
    if ctx.grant.rank_at(issue["station"] or "", issue["district"]) < MANAGER:
        raise forbidden("只有该站点的管理者可以处理", "only the station's managers mark it handled")
    if issue["resolved_at"] is not None:
        return  # already handled: marking twice changes nothing
    await _settle(tx, ctx, [args.id])


def install(registry: Registry) -> None:
    registry.add_record_type(
        RecordType("conflict", conflicts, "id", _conflict_scope, _conflict_wire, tombstone=None, shape=ConflictRecord)
    )
    registry.add_record_type(
        RecordType("sync_issue", sync_issues, "id", _issue_scope, _issue_wire, tombstone=None, shape=SyncIssueRecord)
    )
    registry.mutation("conflict.resolve", 1, ConflictResolveArgs)(resolve_conflict)
    registry.mutation("sync_issue.resolve", 1, SyncIssueResolveArgs)(resolve_issue)


__all__ = ["MERGEABLE", "install", "resolve_issues"]
