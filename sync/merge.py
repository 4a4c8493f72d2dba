"""Field-level merge of concurrent edits, decided by HLC and kept for review.

An edit carries, per field, the ``base`` HLC its device had seen. If the stored
field still has that HLC the edit is sequential and simply applies. Otherwise two
devices edited the field without seeing each other: the higher (HLC, node) wins
on every server in every order, and for fields that matter the losing value is
kept in a conflict record that a manager can review and restore.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import msgspec

from sync.errors import Rejected
from sync.ids import uuid7
from sync.unit import MutationContext, Tx


@dataclass(frozen=True)
class FieldOutcome:
    applied: dict[str, Any]
    field_meta: dict[str, list[str]]
    conflict_ids: list[str]


def merge_edit(
    tx: Tx,
    ctx: MutationContext,
    *,
    record_type: str,
    record_id: str,
    current: Mapping[str, Any],
    edits: Mapping[str, Any],
    base: Mapping[str, str],
    matters: frozenset[str],
    station: str | None,
    district: str | None,
) -> FieldOutcome:
    """Decide each edited field; stage conflict records; return what to write.

    ``current["field_meta"]`` is JSON ``{field: [hlc, user]}`` of the last writer per field.
    """
    meta = decode_meta(current.get("field_meta"))
    applied: dict[str, Any] = {}
    conflict_ids: list[str] = []
    for name, value in edits.items():
        stored_hlc, stored_by = meta.get(name, ["", ""])
        seen = base.get(name, stored_hlc)
        old_value = current.get(name)
        if seen == stored_hlc or not stored_hlc:
            incoming_wins, concurrent = True, False
        else:
            incoming_wins, concurrent = ctx.hlc > stored_hlc, True
        if incoming_wins:
            applied[name] = value
            meta[name] = [_stamp_after(ctx, stored_hlc), ctx.user_id]
        if concurrent and name in matters and value != old_value:
            conflict_id = uuid7()
            kept, lost = (value, old_value) if incoming_wins else (old_value, value)
            kept_hlc, lost_hlc = (ctx.hlc, stored_hlc) if incoming_wins else (stored_hlc, ctx.hlc)
            kept_by, lost_by = (ctx.user_id, stored_by) if incoming_wins else (stored_by, ctx.user_id)
            tx.insert(
                "conflict",
                {
                    "id": conflict_id,
                    "record_type": record_type,
                    "record_id": record_id,
                    "field": name,
                    "kept_value": json.dumps(kept, ensure_ascii=False),
                    "lost_value": json.dumps(lost, ensure_ascii=False),
                    "kept_hlc": kept_hlc,
                    "lost_hlc": lost_hlc,
                    "kept_by": kept_by,
                    "lost_by": lost_by,
                    "station": station,
                    "district": district,
                    "status": "open",
                    "created_at": ctx.now,
                    "resolved_by": None,
                    "resolved_at": None,
                },
            )
            conflict_ids.append(conflict_id)
    return FieldOutcome(applied, meta, conflict_ids)


_meta_decoder = msgspec.json.Decoder(dict[str, list[str]])


def decode_meta(field_meta: str | None) -> dict[str, list[str]]:
    """``field_meta`` column: ``{field: [hlc, user]}`` of the last write of each field."""
    return _meta_decoder.decode(field_meta) if field_meta else {}


def encode_meta(meta: Mapping[str, list[str]]) -> str:
    return msgspec.json.encode(meta).decode()


def edited_fields(fields: msgspec.Struct) -> dict[str, Any]:
    """The fields an edit sets: those not left ``UNSET`` (``None`` is a value: "clear it").
    An edit that sets none is refused."""
    edits = {
        name: getattr(fields, name)
        for name in fields.__struct_fields__
        if getattr(fields, name) is not msgspec.UNSET
    }
    if not edits:
        raise Rejected("invalid_args", "没有要修改的字段", "no fields to change", field="fields")
    return edits


def flag_conflict(ctx: MutationContext, record_type: str, record_id: str) -> None:
    """Hold an edit that lost a field to another device's for a manager's review; the issue
    is settled when the record's last open conflict is (``sync.builtin.resolve_conflict``)."""
    ctx.flag("conflict_recorded", "与另一台设备的修改冲突,已按时间先后决定,并留待管理者复核",
             "this edit conflicted with another device's; it was decided by time and kept for a "
             "manager to review", subject=f"{record_type}:{record_id}")


def _stamp_after(ctx: MutationContext, stored_hlc: str) -> str:
    """The edit's own stamp, or, for a sequential edit from a device whose clock is
    behind, a server stamp just after the one it replaces: a value that won stays ahead
    of edits made without seeing it."""
    if not stored_hlc or ctx.hlc > stored_hlc:
        return ctx.hlc
    ctx.clock.observe(stored_hlc)
    return ctx.clock.now()


def wire_field_hlc(field_meta: str | None) -> dict[str, str]:
    return {name: pair[0] for name, pair in decode_meta(field_meta).items()}
