"""Attachments (issue 14): photos and documents that records refer to by content hash.

The engine side of files, used by every area:

- **Tables**: ``files`` (one row per SHA-256: size, sniffed type, ``partial``/``complete``,
  who started it, times), ``file_uploads`` (every device that started an upload of it:
  the uploader sees an unreferenced file, limits count per device), ``file_refs`` (which
  record refers to which file, kept in step with the records' ``attachments`` fields in
  the same transaction), ``file_chunks`` (the bytes, when they live in the database:
  PostgreSQL) and ``file_thumbs`` (320 px JPEG thumbnails). The bytes themselves are kept
  by ``server.filestore``.
- **References**: a record type that takes attachments has an ``attachments`` text column
  (JSON list of ``AttachmentRef``); its mutators write it with ``stage_refs`` so the
  ``file_refs`` rows change with the record. ``allow(registry, type, may_attach)``
  registers who may add or remove files of a record later (``attachment.add@1``,
  ``attachment.remove@1``).
- **Who sees a file** (``may_see``): whoever may pull some live record that refers to it
  (the change feed's scope columns with the same ``feed_filter`` a pull uses), and the
  device that uploaded it while nothing refers to it. Public (``public_ref``) only through
  a public record whose reference says ``public``.
- **Retention** (``prune_files``): references of deleted records go; a file nothing
  refers to is marked, and deleted ``attachment_retention_days`` after it was first seen
  unreferenced (each deletion logged).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Index,
    LargeBinary,
    String,
    Table,
    and_,
    delete,
    exists,
    insert,
    literal,
    select,
    true,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from schemas.attachments import (
    MAX_ATTACHMENTS,
    AttachmentAddArgs,
    AttachmentRef,
    AttachmentRemoveArgs,
)
from server.settings import Settings
from sync.db import Database
from sync.errors import Rejected, not_found
from sync.push import LockPlan, Peek, locks_first
from sync.registry import Registry
from sync.scopes import Grant, feed_filter
from sync.tables import changes, metadata
from sync.timeutil import iso, utc_now
from sync.unit import MutationContext, Tx

log = logging.getLogger("server.attachments")

PARTIAL, COMPLETE = "partial", "complete"

files = Table(
    "files",
    metadata,
    Column("sha256", String(64), primary_key=True),
    Column("size", BigInteger, nullable=False),
    Column("media_type", String(40), nullable=False),
    Column("state", String(16), nullable=False),
    Column("received", BigInteger, nullable=False, default=0),
    Column("uploaded_by", String(64), nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("updated_at", String(32), nullable=False),
    Column("completed_at", String(32), nullable=True),
    Column("orphaned_at", String(32), nullable=True),
    Index("ix_files_state_uploaded_by", "state", "uploaded_by"),
)
"""One row per file (by SHA-256). ``media_type`` is the declared type while ``partial``,
the sniffed one once ``complete``. ``received``: bytes held (the database store's truth;
the directory store's part file says it there). ``uploaded_by``: the device (or, for a
token without one, ``token:<id>``) that started it first. ``orphaned_at``: when the
retention sweep first found nothing referring to it."""

file_uploads = Table(
    "file_uploads",
    metadata,
    Column("sha256", String(64), primary_key=True),
    Column("device", String(64), primary_key=True),
    Column("size", BigInteger, nullable=False),
    Column("started_at", String(32), nullable=False),
    Index("ix_file_uploads_device_started_at", "device", "started_at"),
)
"""Each device that started (or resumed) an upload of a file: it may fetch the file
while nothing refers to it, and its uploads count against its daily limit."""

file_refs = Table(
    "file_refs",
    metadata,
    Column("sha256", String(64), primary_key=True),
    Column("record_type", String(32), primary_key=True),
    Column("record_id", String(64), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("public", Boolean, nullable=False, default=False),
    Index("ix_file_refs_record", "record_type", "record_id"),
)
"""Which record refers to which file: the records' ``attachments`` fields as rows."""

file_chunks = Table(
    "file_chunks",
    metadata,
    Column("sha256", String(64), primary_key=True),
    Column("offset", BigInteger, primary_key=True),
    Column("data", LargeBinary, nullable=False),
)
"""The bytes of files kept in the database (PostgreSQL: every worker on every machine
reads the same files), one row per uploaded chunk."""

file_thumbs = Table(
    "file_thumbs",
    metadata,
    Column("sha256", String(64), primary_key=True),
    Column("data", LargeBinary, nullable=False),
)
"""A JPEG thumbnail (long side 320 px) of each complete image."""


@dataclass(frozen=True)
class AttachmentRules:
    """Limits and lines from the settings (docs/deployment.md, "Attachments")."""

    max_bytes: int = 10 * 1024 * 1024
    max_unfinished: int = 20
    max_bytes_per_device_day: int = 512 * 1024 * 1024
    retention_days: float = 30.0
    goods_photo_line_fen: int = 200_000
    disbursement_invoice_line_fen: int = 100_000

    @classmethod
    def from_settings(cls, settings: Settings) -> AttachmentRules:
        return cls(
            max_bytes=settings.attachment_max_bytes,
            max_unfinished=settings.attachment_max_unfinished,
            max_bytes_per_device_day=settings.attachment_max_bytes_per_device_day,
            retention_days=settings.attachment_retention_days,
            goods_photo_line_fen=settings.goods_photo_line_fen,
            disbursement_invoice_line_fen=settings.disbursement_invoice_line_fen,
        )


MayAttach = Callable[[Tx, MutationContext, dict[str, Any], list[AttachmentRef]], Awaitable[None]]
"""Refuses (raises ``Rejected``) unless the caller may change the files of this record
(the record as it is, the references it would hold after the change)."""


def rules_of(registry: Registry) -> AttachmentRules:
    """The deployment's attachment rules (the defaults in a registry built without them)."""
    try:
        return registry.config(AttachmentRules)
    except KeyError:
        return AttachmentRules()


@dataclass
class Attachables:
    """Record types that take attachments, and who may attach to each (``allow``)."""

    checks: dict[str, MayAttach] = field(default_factory=dict)
    also_locks: dict[str, Callable[[dict[str, Any]], list[tuple[str, str]]]] = field(
        default_factory=dict)
    """Per type, the other records its check reads (a disbursement's fund): locked first,
    in the server's lock order, with the record itself (docs/architecture.md)."""


def _attachables(registry: Registry) -> Attachables:
    try:
        return registry.config(Attachables)
    except KeyError:
        found = Attachables()
        registry.configure(found)
        return found


def allow(registry: Registry, record_type: str, may_attach: MayAttach, *,
          also_locks: Callable[[dict[str, Any]], list[tuple[str, str]]] | None = None) -> None:
    """Let ``attachment.add``/``attachment.remove`` change the files of ``record_type``
    records for whoever ``may_attach`` lets through. The type's table needs an
    ``attachments`` text column written with ``encode``/``stage_refs``. ``also_locks``:
    the records (type, id) ``may_attach`` reads besides the record, from its row."""
    found = _attachables(registry)
    found.checks[record_type] = may_attach
    if also_locks is not None:
        found.also_locks[record_type] = also_locks


# -- the attachments field -----------------------------------------------------------------

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(list[AttachmentRef])


def unique(refs: Iterable[AttachmentRef]) -> list[AttachmentRef]:
    """One reference per file, the last one given winning, in first-seen order."""
    by_sha: dict[str, AttachmentRef] = {}
    for ref in refs:
        by_sha[ref.sha256] = ref
    return list(by_sha.values())


def encode(refs: Sequence[AttachmentRef]) -> str:
    """The ``attachments`` column's text."""
    return _encoder.encode(unique(refs)).decode()


def decode(text: str | None) -> list[AttachmentRef]:
    return _decoder.decode(text) if text else []


def wire(text: str | None) -> list[dict[str, Any]]:
    """The ``attachments`` field of a record's wire form."""
    return [msgspec.structs.asdict(ref) for ref in decode(text)]


def stage_refs(tx: Tx, record_type: str, record_id: str, refs: Sequence[AttachmentRef]) -> None:
    """Make the ``file_refs`` rows of a record say ``refs`` (staged in the mutation's
    frame with the record's own write: both commit or neither). A record this batch
    inserts has no rows yet: nothing to delete (a gift without photos writes nothing)."""
    if not tx.is_new(record_type, record_id):
        tx.defer(delete(file_refs).where(file_refs.c.record_type == record_type,
                                         file_refs.c.record_id == record_id))
    rows = [{"sha256": r.sha256, "record_type": record_type, "record_id": record_id,
             "kind": r.kind, "public": r.public} for r in unique(refs)]
    if rows:
        tx.defer(insert(file_refs).values(rows))


def drop_refs(tx: Tx, record_type: str, record_id: str) -> None:
    """The record was deleted: it refers to nothing any more (its files age out)."""
    stage_refs(tx, record_type, record_id, [])


def added(current: str | None, refs: Sequence[AttachmentRef]) -> list[AttachmentRef]:
    """A record's references with ``refs`` added (an edit's ``attachments``: edits from
    two phones add up); refused above ``MAX_ATTACHMENTS``."""
    merged = unique([*decode(current), *refs])
    if len(merged) > MAX_ATTACHMENTS:
        raise too_many()
    return merged


def sets_any(fields: msgspec.Struct) -> bool:
    """Whether an edit's ``fields`` set anything (an edit may only add files)."""
    return any(getattr(fields, name) is not msgspec.UNSET for name in fields.__struct_fields__)


def has_photo(refs: Sequence[AttachmentRef]) -> bool:
    return any(r.kind == "photo" and r.media_type.startswith("image/") for r in refs)


async def arrived(tx: Tx, shas: Iterable[str]) -> set[str]:
    """Which of these files have fully arrived (uploaded and checked)."""
    wanted = sorted(set(shas))
    if not wanted:
        return set()
    rows = await tx.query(select(files.c.sha256).where(files.c.sha256.in_(wanted),
                                                        files.c.state == COMPLETE))
    return {str(r[0]) for r in rows}


def too_many() -> Rejected:
    return Rejected("too_many_attachments", f"一条记录最多 {MAX_ATTACHMENTS} 个附件",
                    f"a record holds at most {MAX_ATTACHMENTS} attachments", field="attachments")


# -- attachment.add / attachment.remove ----------------------------------------------------


async def _attachable(tx: Tx, ctx: MutationContext, record_type: str,
                      record_id: str) -> dict[str, Any]:
    if record_type not in _attachables(tx.registry).checks:
        raise _not_attachable(record_type)
    rtype = tx.registry.record_types[record_type]
    row = await tx.get(record_type, record_id)
    if row is None or (rtype.tombstone is not None and row.get(rtype.tombstone)):
        raise not_found("记录", record_type, record_id, field="record_id")
    return row


def _not_attachable(record_type: str) -> Rejected:
    return Rejected("not_attachable", f"此类记录不能附加文件:{record_type}",
                    f"records of type {record_type} take no attachments", field="record_type")


async def _write(tx: Tx, ctx: MutationContext, record_type: str, row: dict[str, Any],
                 refs: list[AttachmentRef]) -> None:
    """The area's check, then the record's new ``attachments`` and its references."""
    await _attachables(tx.registry).checks[record_type](tx, ctx, row, refs)
    record_id = str(row[tx.registry.record_types[record_type].key])
    table = tx.registry.record_types[record_type].table
    values: dict[str, Any] = {"attachments": encode(refs)}
    if "updated_at" in table.c:
        values["updated_at"] = ctx.now
    tx.update(record_type, record_id, values)
    stage_refs(tx, record_type, record_id, refs)


async def add_attachments(tx: Tx, ctx: MutationContext, args: AttachmentAddArgs) -> None:
    row = await _attachable(tx, ctx, args.record_type, args.record_id)
    merged = unique([*decode(row["attachments"]), *args.attachments])
    if len(merged) > MAX_ATTACHMENTS:
        raise too_many()
    await _write(tx, ctx, args.record_type, row, merged)


async def remove_attachment(tx: Tx, ctx: MutationContext, args: AttachmentRemoveArgs) -> None:
    row = await _attachable(tx, ctx, args.record_type, args.record_id)
    current = decode(row["attachments"])
    kept = [r for r in current if r.sha256 != args.sha256]
    if len(kept) == len(current):
        return  # not there (removed twice): nothing changes
    await _write(tx, ctx, args.record_type, row, kept)


# -- who sees a file -----------------------------------------------------------------------


def device_of(grant: Grant) -> str:
    """The device an upload is counted against: the token's device, else the token."""
    return grant.device_id or f"token:{grant.token_id}"


def _live_refs() -> Any:
    """``file_refs`` joined to the live change row of each referring record: its scope."""
    return file_refs.join(changes, and_(changes.c.type == file_refs.c.record_type,
                                        changes.c.record_id == file_refs.c.record_id,
                                        changes.c.exited_at.is_(None)))


async def may_see(conn: AsyncConnection, grant: Grant, sha256: str) -> bool:
    """Whether ``grant`` may fetch the file: some record it may pull refers to it, or
    nothing refers to it and this device uploaded it."""
    seen = (await conn.execute(
        select(literal(1)).select_from(_live_refs())
        .where(file_refs.c.sha256 == sha256, feed_filter(grant)).limit(1))).first()
    if seen is not None:
        return True
    referenced = (await conn.execute(
        select(literal(1)).where(file_refs.c.sha256 == sha256).limit(1))).first()
    if referenced is not None:
        return False
    mine = (await conn.execute(
        select(literal(1)).where(file_uploads.c.sha256 == sha256,
                                 file_uploads.c.device == device_of(grant)).limit(1))).first()
    return mine is not None


async def public_ref(conn: AsyncConnection, sha256: str) -> bool:
    """Whether a public record refers to the file with ``public`` set."""
    found = (await conn.execute(
        select(literal(1)).select_from(_live_refs())
        .where(file_refs.c.sha256 == sha256, file_refs.c.public == true(),
               changes.c.public == true()).limit(1))).first()
    return found is not None


# -- retention -----------------------------------------------------------------------------


async def prune_files(db: Database, registry: Registry, retention: dt.timedelta, *,
                      now: dt.datetime | None = None) -> list[str]:
    """One retention sweep; returns the SHA-256 of the files whose rows it deleted (the
    caller deletes their bytes from the store).

    1. References of records that were deleted (a tombstone) or are gone go.
    2. A file nothing refers to is marked ``orphaned_at`` (once); one referred to again
       is unmarked.
    3. Files marked longer than ``retention`` ago are deleted with their chunks,
       thumbnail and upload rows, each logged."""
    at = now or utc_now()
    stamp, cutoff = iso(at), iso(at - retention)
    checks = _attachables(registry).checks

    async def work(conn: AsyncConnection) -> list[tuple[str, int, str]]:
        for name in checks:
            rtype = registry.record_types[name]
            key = rtype.table.c[rtype.key]
            live = select(literal(1)).where(key == file_refs.c.record_id)
            if rtype.tombstone is not None:
                live = live.where(rtype.table.c[rtype.tombstone].is_(None))
            await conn.execute(delete(file_refs).where(file_refs.c.record_type == name,
                                                       ~exists(live)))
        referenced = exists(select(literal(1)).where(file_refs.c.sha256 == files.c.sha256))
        await conn.execute(update(files).where(files.c.orphaned_at.is_(None), ~referenced)
                           .values(orphaned_at=stamp))
        await conn.execute(update(files).where(files.c.orphaned_at.is_not(None), referenced)
                           .values(orphaned_at=None))
        gone = [(str(r.sha256), int(r.size), str(r.orphaned_at)) for r in await conn.execute(
            select(files.c.sha256, files.c.size, files.c.orphaned_at)
            .where(files.c.orphaned_at <= cutoff, ~referenced))]
        shas = [g[0] for g in gone]
        for start in range(0, len(shas), 500):
            chunk = shas[start:start + 500]
            for table in (file_chunks, file_thumbs, file_uploads, files):
                await conn.execute(delete(table).where(table.c.sha256.in_(chunk)))
        return gone

    gone = await db.run_write(work)
    for sha, size, since in gone:
        log.info("attachment retention: deleted file %s (%d bytes, unreferenced since %s)",
                 sha, size, since)
    return [g[0] for g in gone]


def _lock_plan(attachables: Attachables) -> LockPlan:
    """The record named by ``record_type``/``record_id`` (and what its check reads),
    locked by the batch preload in the server's order: the type is in the args, so it
    cannot be a static ``preload`` field."""

    async def plan(peek: Peek, grant: Grant,
                   args: AttachmentAddArgs | AttachmentRemoveArgs) -> list[tuple[str, str]]:
        if args.record_type not in attachables.checks:
            return []  # refused by the mutator (not_attachable)
        wanted = [(args.record_type, args.record_id)]
        also = attachables.also_locks.get(args.record_type)
        if also is not None:
            row = await peek(args.record_type, args.record_id)
            if row is not None:
                wanted += also(row)
        return wanted

    return plan


def install(registry: Registry, rules: AttachmentRules) -> None:
    registry.configure(rules)
    plan = locks_first(_lock_plan(_attachables(registry)))

    async def add(tx: Tx, ctx: MutationContext, args: AttachmentAddArgs) -> None:
        await add_attachments(tx, ctx, args)

    async def remove(tx: Tx, ctx: MutationContext, args: AttachmentRemoveArgs) -> None:
        await remove_attachment(tx, ctx, args)

    registry.mutation("attachment.add", 1, AttachmentAddArgs)(plan(add))
    registry.mutation("attachment.remove", 1, AttachmentRemoveArgs)(plan(remove))


__all__ = [
    "COMPLETE",
    "PARTIAL",
    "Attachables",
    "AttachmentRules",
    "add_attachments",
    "added",
    "allow",
    "arrived",
    "decode",
    "device_of",
    "drop_refs",
    "encode",
    "file_chunks",
    "file_refs",
    "file_thumbs",
    "file_uploads",
    "files",
    "has_photo",
    "install",
    "may_see",
    "prune_files",
    "public_ref",
    "remove_attachment",
    "rules_of",
    "sets_any",
    "stage_refs",
    "too_many",
    "unique",
    "wire",
]
