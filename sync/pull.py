"""Serve the change feed: pages of changes since an opaque cursor, never skipping one.

The cursor is a position ``(txid, seq)`` in the feed. A page only reads changes
whose ``txid`` is below the *visible horizon*: on PostgreSQL the oldest
transaction still in flight (``pg_snapshot_xmin``), on SQLite the next write
transaction. Below it every transaction has ended and none can begin, so a
cursor never passes a change that commits later. ``last_mutation_id`` is read
in the same snapshot and only counts transactions the cursor has passed.

A scope exit row (``exited_at`` set: the record left the scope in the row's columns) is
sent as ``op: del`` to the grants that see that scope; it lies before the record's own
row, so a grant that also sees the new scope gets the record again right after.
"""

from __future__ import annotations

import asyncio
import base64
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import msgspec
from sqlalchemy import bindparam, func, literal, literal_column, select, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection

from schemas.wire import PROTOCOL_VERSION, Change, PullRequest, PullResponse
from sync.db import Database
from sync.errors import ProtocolError, ProtocolTooOld
from sync.registry import Registry
from sync.scopes import Grant, GrantSource, feed_filter, grant_on
from sync.tables import changes, clients, mutations, sync_state


@dataclass(frozen=True, order=True)
class Position:
    txid: int
    seq: int


def encode_cursor(position: Position, grant: Grant) -> str:
    raw = f"1.{position.txid}.{position.seq}.{grant.fingerprint()}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[Position, str]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        version, txid, seq, fingerprint = base64.urlsafe_b64decode(padded).decode().split(".")
        if version != "1":
            raise ValueError(version)
        return Position(int(txid), int(seq)), fingerprint
    except (ValueError, UnicodeDecodeError) as exc:
        raise ProtocolError(
            400, "bad_cursor", "游标无效,请从头同步", "the cursor is not valid; pull with cursor null",
            field="cursor",
        ) from exc


async def pull(
    db: Database,
    registry: Registry,
    grant: GrantSource,
    request: PullRequest,
    *,
    min_protocol: int = 1,
) -> PullResponse:
    if request.protocol < min_protocol:
        raise ProtocolTooOld(min_protocol)
    if request.protocol > PROTOCOL_VERSION:
        raise ProtocolError(
            400, "protocol_unknown", f"服务器不支持协议 {request.protocol}",
            f"protocol {request.protocol} is not supported",
        )
    start, fingerprint = (Position(0, 0), None) if request.cursor is None else decode_cursor(request.cursor)
    waited = 0.0
    while True:
        page, held_back = await _read_page(db, registry, grant, request, start, fingerprint)
        if not held_back or page.more:
            return page
        if page.changes or waited >= HELD_BACK_WAIT_SECONDS:
            # committed changes sit above the horizon: tell the client to come back now,
            # or a poke that already fired would leave it waiting for the next one
            return msgspec.structs.replace(page, more=True)
        await asyncio.sleep(0.02)
        waited += 0.02


HELD_BACK_WAIT_SECONDS = 1.0
"""How long a pull waits inside the request for an older transaction still in flight
to end when newer committed changes for the caller are held back behind it."""


async def _read_page(
    db: Database,
    registry: Registry,
    source: GrantSource,
    request: PullRequest,
    start: Position,
    fingerprint: str | None,
) -> tuple[PullResponse, bool]:
    """One page in one snapshot, and whether committed changes the caller may see are
    held back above the horizon (PostgreSQL only: a transaction below them is in flight)."""
    async with db.read() as conn:
        if db.is_postgres:
            # a page is a few thousand rows by index: starting parallel workers to fetch it
            # costs more than it saves (about 30 ms of a page on a 2-core machine)
            await conn.exec_driver_sql("SET LOCAL max_parallel_workers_per_gather = 0")
        grant = await grant_on(source, conn)
        await _check_client(conn, grant, request.client_id)
        horizon = await db.visible_horizon(conn)
        pruned = await _pruned_position(conn)
        reset = (
            request.cursor is None or fingerprint != grant.fingerprint() or start < pruned
        )
        if reset:
            start = Position(0, 0)
        c = changes.c
        # a row value, not "txid > a OR (txid = a AND seq > b)": with the OR, SQLite reads
        # and sorts every later change to return one page (quadratic over a snapshot)
        after_start = tuple_(c.txid, c.seq) > tuple_(literal(start.txid), literal(start.seq))
        rebuild = _rebuild_types(registry, grant)
        wire = _wire_column(registry, rebuild, db.is_postgres)
        page_of = (
            select(c.txid, c.seq, c.type, c.record_id)
            .where(c.txid < horizon, after_start, feed_filter(grant))
            .order_by(c.txid, c.seq)
            .limit(request.limit + 1)
        )
        if db.is_postgres:
            # the wire column names its rows "changes"
            narrow = page_of.add_columns(c.exited_at).subquery("changes")
            stmt = select(
                narrow.c.txid, narrow.c.seq, narrow.c.type, narrow.c.record_id, wire
            ).order_by(narrow.c.txid, narrow.c.seq)
        else:
            stmt = page_of.add_columns(wire)
        rows = (await conn.execute(stmt)).all()
        more = len(rows) > request.limit
        page = rows[: request.limit]
        if more:
            end = Position(page[-1].txid, page[-1].seq)
            settled_below = end.txid
        else:
            end = max(start, Position(horizon, 0))
            settled_below = horizon
        out = await _load_changes(conn, registry, grant, page, rebuild)
        last_mutation_id = await _last_mutation_id(conn, request.client_id, settled_below)
        remaining = None
        if request.want_remaining:
            remaining = await _remaining(conn, grant, end, horizon) if more else 0
        held_back = False
        if db.is_postgres and not more:
            held_back = (
                await conn.execute(
                    select(c.seq).where(c.txid >= horizon, after_start, feed_filter(grant)).limit(1)
                )
            ).first() is not None
    response = PullResponse(
        cursor=encode_cursor(end, grant),
        reset=reset,
        more=more,
        last_mutation_id=last_mutation_id,
        changes=out,
        remaining=remaining,
    )
    return response, held_back


async def _remaining(conn: AsyncConnection, grant: Grant, end: Position, horizon: int) -> int:
    """Changes the grant sees after ``end`` and below the horizon: what the next pages
    hold if nothing commits meanwhile (the phone's progress bar; asked once a run)."""
    c = changes.c
    after_end = tuple_(c.txid, c.seq) > tuple_(literal(end.txid), literal(end.seq))
    count = select(func.count()).select_from(changes).where(
        c.txid < horizon, after_end, feed_filter(grant)
    )
    return int((await conn.execute(count)).scalar_one())


async def _check_client(conn: AsyncConnection, grant: Grant, client_id: str) -> None:
    row = (await conn.execute(select(clients.c.token_id).where(clients.c.client_id == client_id))).first()
    if row is not None and row.token_id != grant.token_id:
        from sync.errors import client_not_yours
        from sync.push import same_device

        if not await same_device(conn, row.token_id, grant):
            raise client_not_yours()


async def _pruned_position(conn: AsyncConnection) -> Position:
    rows = await conn.execute(
        select(sync_state.c.key, sync_state.c.int_value).where(
            sync_state.c.key.in_(["pruned_txid", "pruned_seq"])
        )
    )
    values = {r.key: int(r.int_value) for r in rows}
    return Position(values.get("pruned_txid", 0), values.get("pruned_seq", 0))


async def _last_mutation_id(conn: AsyncConnection, client_id: str, below_txid: int) -> int:
    value = (
        await conn.execute(
            select(mutations.c.mutation_id)
            .where(mutations.c.client_id == client_id, mutations.c.txid < below_txid)
            .order_by(mutations.c.mutation_id.desc())
            .limit(1)
        )
    ).scalar()
    return int(value or 0)


def _rebuild_types(registry: Registry, grant: Grant) -> frozenset[str]:
    """Record types this grant gets a redacted copy of (built per row, not sent raw)."""
    return frozenset(
        name for name, rtype in registry.record_types.items()
        if rtype.redacts_for is not None and rtype.redacts_for(grant)
    )


_WIRE_COLUMNS: dict[tuple[int, frozenset[str], bool], Any] = {}
_SAFE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")


def _wire_column(registry: Registry, rebuild: frozenset[str], postgres: bool) -> Any:
    """Each feed row's wire JSON, read in the same query: the change row's own copy
    (written with the record), else a look-up of the record (rows from before
    migration 0006, tombstones, and types this grant gets redacted). NULL when the
    record is gone or a tombstone, or the row is a scope exit (``op: del``), ``''``
    when it must be built in Python (redacted for this grant, or no stored wire at all)."""
    cache_key = (id(registry), rebuild, postgres)
    found = _WIRE_COLUMNS.get(cache_key)
    if found is not None:
        return found
    branches = []
    for name, rtype in registry.record_types.items():
        table, key = rtype.table.name, rtype.key
        if not all(_SAFE_NAME.match(n) for n in (name, table, key, rtype.tombstone or "x")):
            raise ValueError(f"record type {name!r}: names must be plain identifiers")
        live = f'r."{rtype.tombstone}" IS NULL' if rtype.tombstone else "1 = 1"
        stored = "coalesce(r.wire, '')" if "wire" in rtype.table.c else "''"
        value = "''" if name in rebuild else stored
        branches.append(
            f"WHEN '{name}' THEN (SELECT CASE WHEN {live} THEN {value} END "
            f'FROM "{table}" AS r WHERE r."{key}" = changes.record_id)'
        )
    lookup = f"CASE changes.type {' '.join(branches)} END" if branches else "NULL"
    redacted = ", ".join(f"'{name}'" for name in sorted(rebuild))
    sql = (
        "CASE WHEN changes.exited_at IS NOT NULL THEN NULL "
        + (f"WHEN changes.type IN ({redacted}) THEN {lookup} " if redacted else "")
        + f"WHEN changes.wire IS NOT NULL THEN changes.wire ELSE {lookup} END"
    )
    if postgres:
        # the page is picked from narrow rows (alias "changes"), and only its own rows'
        # JSON is fetched, by key: a planner short of statistics then sorts positions,
        # not documents
        sql = sql.replace(
            "changes.wire", "(SELECT w.wire FROM changes AS w WHERE w.seq = changes.seq)"
        )
    # as bytes: the driver hands them over without decoding UTF-8, and they go out raw
    as_bytes = f"convert_to({sql}, 'UTF8')" if postgres else f"CAST({sql} AS BLOB)"
    found = _WIRE_COLUMNS[cache_key] = literal_column(as_bytes).label("wire")
    return found


async def _load_changes(
    conn: AsyncConnection, registry: Registry, grant: Grant, page: Sequence[Any], rebuild: frozenset[str]
) -> list[Change]:
    """Each feed row's record as phones see it. The stored ``wire`` JSON came with the
    feed row and goes out as it is (no per-row decoding or building); only records that
    must be redacted for this grant, or have no ``wire`` yet, are read whole and built."""
    out: list[Change] = []
    slow: dict[str, list[tuple[int, str]]] = {}
    raw: Any = msgspec.Raw  # sent as it is; typed as the dict the client decodes
    for _txid, _seq, type_name, record_id, wire in page:
        if wire:
            out.append(Change(type_name, record_id, "put", raw(wire)))
        else:
            if wire is not None:
                slow.setdefault(type_name, []).append((len(out), record_id))
            out.append(Change(type_name, record_id, "del"))
    for type_name, places in slow.items():
        rtype = registry.record_types[type_name]
        table = rtype.table
        by_keys = select(table).where(table.c[rtype.key].in_(bindparam("keys", expanding=True)))
        rows: dict[str, Any] = {}
        for begin in range(0, len(places), LOOKUP_CHUNK):
            chunk = [record_id for _index, record_id in places[begin : begin + LOOKUP_CHUNK]]
            for row in (await conn.execute(by_keys, {"keys": chunk})).mappings():
                rows[str(row[rtype.key])] = row
        for index, record_id in places:
            full = rows.get(record_id)
            if full is None:
                continue
            data = rtype.to_wire(full)
            if type_name in rebuild and rtype.redact is not None:
                data = rtype.redact(data, grant)
            out[index] = Change(type=type_name, id=record_id, op="put", data=data)
    return out


LOOKUP_CHUNK = 900
"""Below SQLite's default limit of bound parameters in one statement."""
