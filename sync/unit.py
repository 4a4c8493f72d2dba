"""The unit of work a mutator writes through, and the context it runs in.

Mutators never execute writes themselves. They read through ``Tx.get`` (cached,
row-locked on PostgreSQL) and stage ``insert``/``update`` calls in a *frame*.
The engine keeps a frame when its mutation succeeds and drops it when the
mutation is rejected, so a rejected mutation writes nothing, without a
savepoint per mutation. At the end of a batch everything staged goes to the
database in a few ``executemany`` statements, plus one change-feed row per
touched record: this is what makes a 1,000-mutation push cheap.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import msgspec
from sqlalchemy import Executable, Integer, String, Table, bindparam, delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from schemas.events import DomainEvent
from sync.db import Database, HotSql, insert_many, insert_tuples, typed_rows
from sync.hlc import HybridLogicalClock
from sync.registry import Registry
from sync.scopes import Grant, Scope
from sync.tables import changes
from sync.timeutil import iso, utc_now

log = logging.getLogger("sync.unit")

RecordKey = tuple[str, str]

SHARE_LOCKED: frozenset[str] = frozenset({"station", "campaign", "service_activity"})
"""Record types whose rows a batch locks ``FOR SHARE`` on PostgreSQL, not ``FOR UPDATE``:
rows nearly every mutation reads only to check them (the station exists, is live, lies in
the grant's district), so checkers must not queue behind each other or, taking the row
after their own records, deadlock with each other (docs/architecture.md, "Lock order").
A share lock still keeps the row from changing until the batch commits. (A service
activity: every hour log of a charity day names the same one; locked for update, it
made each volunteer's phone wait for every other's whole batch.) A mutator that
writes such a row, or serialises on it, says so with ``sync.push.locks_exclusive``: its
batch then locks that type ``FOR UPDATE``."""


@dataclass
class MutationContext:
    """Who acts, on which device, at which (clamped) HLC and server time."""

    grant: Grant
    client_id: str
    mutation_id: int
    key: str
    name: str
    version: int
    hlc: str
    now: str
    clock: HybridLogicalClock
    flags: list[tuple[str, str, str]] = field(default_factory=list)
    subject: str | None = None
    """What the held mutation is about (``hour_log:<id>``, ``event:<id>``): the sync issue
    keeps it, and deciding that thing resolves the issue (``sync.builtin.resolve_issues``)."""

    @property
    def user_id(self) -> str:
        return self.grant.user_id

    def flag(self, code: str, zh: str, en: str, subject: str | None = None) -> None:
        """Apply the mutation but hold it for review (status ``flagged``); ``subject``
        names the record whose decision settles it (the first one given is kept)."""
        self.flags.append((code, zh, en))
        if subject and self.subject is None:
            self.subject = subject[:100]


class Tx:
    """Reads and staged writes of one push batch inside one database transaction."""

    def __init__(
        self, conn: AsyncConnection, db: Database, registry: Registry, txid: int,
        *, exclusive: Iterable[str] = (),
    ) -> None:
        self.conn = conn
        self.db = db
        self.registry = registry
        self.txid = txid
        self._stored: dict[RecordKey, dict[str, Any] | None] = {}
        self.exclusive: set[str] = set(exclusive)
        """Types of ``SHARE_LOCKED`` this batch locks ``FOR UPDATE`` all the same (a
        mutator of the batch writes them: ``sync.push.locks_exclusive``)."""
        self._shared: set[RecordKey] = set()
        """Rows read under a share lock only (tracked on SQLite too): ``update`` refuses them."""
        self._staged: dict[RecordKey, tuple[dict[str, Any], bool]] = {}
        self._frame: dict[RecordKey, tuple[dict[str, Any], bool]] = {}
        self._touched: dict[RecordKey, None] = {}
        self._frame_touched: dict[RecordKey, None] = {}
        self._existed: set[RecordKey] = set()
        self._statements: list[Executable | _DeferredRow] = []
        self._frame_statements: list[Executable | _DeferredRow] = []
        self._wires: dict[RecordKey, str | None] = {}
        """Wire JSON of each record written, for its change row (None: a tombstone)."""
        self._before: dict[RecordKey, dict[str, Any]] = {}
        """The row as committed before this batch, of each existing record it rewrote:
        its scope is the one phones last heard of, for a scope exit if it changed."""
        self.memo: dict[str, Any] = {}
        """What a domain module worked out once for the whole batch (keyed by a name of its
        own); it lives and dies with this unit of work."""
        self._peeked: dict[RecordKey, dict[str, Any] | None] = {}
        self._indexes: dict[tuple[str, str], dict[Any, set[str]]] = {}
        """``staged_where``'s indexes of kept, not yet written rows: (type, field) -> value -> ids."""
        self.writes = 0
        """How many times the batch's staged rows were written out: a per-batch memo of
        rows read with ``query_unflushed`` is good while this count holds (the rows
        ``staged_where`` gave until then are in the table since)."""
        self._generations: dict[str, int] = {}
        """Per record type, how many kept frames wrote a record of it: a per-batch memo of a
        query on that type is good while the count it was made at still holds."""
        self._late: list[tuple[LateHook, Any]] = []
        self._frame_late: list[tuple[LateHook, Any]] = []
        self.committed_hooks: dict[str, AfterCommit] = {}
        """Work to run once this unit of work has committed (``after_commit``)."""

    # -- reads -------------------------------------------------------------------------

    async def get(self, type_name: str, record_id: str) -> dict[str, Any] | None:
        """The record as this batch sees it (staged writes included), or None."""
        rkey = (type_name, record_id)
        if rkey in self._frame:
            return dict(self._frame[rkey][0])
        if rkey in self._staged:
            return dict(self._staged[rkey][0])
        if rkey not in self._stored or (rkey in self._shared and type_name in self.exclusive):
            await self.preload(type_name, [record_id])  # (again: a share lock made exclusive)
        row = self._stored.get(rkey)
        return dict(row) if row is not None else None

    async def preload(self, type_name: str, record_ids: Iterable[str]) -> None:
        """Fetch many records in one query (and lock them on PostgreSQL: ``FOR UPDATE``,
        or ``FOR SHARE`` for a type of ``SHARE_LOCKED`` this batch does not write)."""
        rtype = self.registry.record_types[type_name]
        share = type_name in SHARE_LOCKED and type_name not in self.exclusive
        wanted = [
            i for i in dict.fromkeys(record_ids)
            if (type_name, i) not in self._stored or (not share and (type_name, i) in self._shared)
        ]
        if not wanted:
            return
        found: dict[str, dict[str, Any]] = {}
        for loaded in await self._fetch(rtype.table, rtype.key, wanted, lock="share" if share else "update"):
            found[str(loaded[rtype.key])] = loaded
        for record_id in wanted:
            rkey = (type_name, record_id)
            row = found.get(record_id)
            if rkey in self._shared and not share:  # now held exclusively; staged edits stay
                self._shared.discard(rkey)
                if row is not None and self._stored.get(rkey) is not None:
                    continue
            self._stored[rkey] = row
            if row is not None:
                self._existed.add(rkey)
                if share:
                    self._shared.add(rkey)

    async def peek(self, type_name: str, record_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Records by id as committed, read without locking or caching them: what the
        batch preload looks at to learn what else it must lock (``sync.push``)."""
        rtype = self.registry.record_types[type_name]
        rows = await self._fetch(rtype.table, rtype.key, list(dict.fromkeys(record_ids)), lock=None)
        return {str(row[rtype.key]): row for row in rows}

    async def read_unlocked(self, type_name: str, record_id: str) -> dict[str, Any] | None:
        """The record without taking a lock: this batch's own view when it has read or
        written it, else the row as committed, read once per batch and not locked. For a
        row many writers share that a mutator only checks (a fund a gift goes to) and
        whose writes it leaves to a ``late`` hook, which locks it for the shortest time."""
        rkey = (type_name, record_id)
        if rkey in self._frame or rkey in self._staged or rkey in self._stored:
            return await self.get(type_name, record_id)
        if rkey not in self._peeked:
            self._peeked[rkey] = (await self.peek(type_name, [record_id])).get(record_id)
        row = self._peeked[rkey]
        return dict(row) if row is not None else None

    async def _fetch(
        self, table: Table, key: str, ids: list[str], *, lock: Lock | None = "update"
    ) -> list[dict[str, Any]]:
        """On PostgreSQL the rows are locked (``lock``: ``FOR UPDATE`` or ``FOR SHARE``) in
        key order (the server's lock order, docs/architecture.md), whatever the order of
        ``ids``."""
        if not self.db.is_postgres:
            lock = None
        kind = _key_kind(table, key)
        if kind is None:  # a key of another type (uuid, ...): SQLAlchemy binds it
            stmt = select(table).where(table.c[key].in_(ids))
            if lock:
                stmt = stmt.order_by(table.c[key]).with_for_update(read=lock == "share")
            return [dict(row) for row in (await self.conn.execute(stmt)).mappings()]
        keys: list[Any] = [int(i) for i in ids] if kind == "bigint" else ids
        rows = await _by_keys(table, key, kind, lock).rows(self.conn, keys=keys)
        return typed_rows(table, self.conn.dialect, rows)

    async def query(self, stmt: Executable) -> Any:
        """Run a read (an aggregate, a search) that must see this batch's accepted writes."""
        await self._write_staged()
        return await self.conn.execute(stmt)

    async def query_on(self, stmt: Executable, types: Iterable[str]) -> Any:
        """``query`` for a read of the tables of ``types`` only: the batch's accepted writes
        are written first only when one of them is of such a type. Writing them is what
        keeps a 1,000-mutation batch at a few ``executemany``; a check most mutations make
        (the campaigns open at a station) must not write the batch out one row at a time."""
        if any(type_name in types for type_name, _id in self._staged):
            await self._write_staged()
        return await self.conn.execute(stmt)

    async def query_unflushed(self, statement: HotSql, **params: Any) -> list[dict[str, Any]]:
        """A read of what is in the tables now (committed, and this batch's rows written so
        far), without writing the batch's staged rows first: the caller adds those itself
        from ``staged_where`` (and prefers them, being newer). A hot statement
        (``sync.db.HotSql``); rows as dicts."""
        return await statement.rows(self.conn, **params)

    def staged_where(self, type_name: str, column: str, value: Any) -> list[dict[str, Any]]:
        """This batch's records of ``type_name`` with ``column == value`` not yet written to
        the table (kept mutations' and the current one's), as they stand now. Kept rows
        are found through an index built on first use and kept up by ``keep_frame``, so a
        check each mutation of a 5,000-mutation batch makes does not scan the batch."""
        index = self._indexes.get((type_name, column))
        if index is None:
            index = self._indexes[(type_name, column)] = {}
            for (kind, record_id), (row, _new) in self._staged.items():
                if kind == type_name:
                    index.setdefault(row.get(column), set()).add(record_id)
        ids = set(index.get(value, ()))
        for (kind, record_id), (row, _new) in self._frame.items():  # the current mutation's
            if kind == type_name and row.get(column) == value:
                ids.add(record_id)
        found = []
        for record_id in ids:
            entry = self._frame.get((type_name, record_id)) or self._staged.get((type_name, record_id))
            if entry is not None and entry[0].get(column) == value:  # (a value changed since)
                found.append(dict(entry[0]))
        return found

    def generation(self, type_name: str) -> int:
        """How many kept mutations of this batch wrote a record of ``type_name`` so far: a
        per-batch memo (``memo``) of a read on that type is current while this holds."""
        return self._generations.get(type_name, 0)

    def is_new(self, type_name: str, record_id: str) -> bool:
        """The record is inserted by this batch (not yet in the database before it)."""
        rkey = (type_name, record_id)
        staged = self._frame.get(rkey) or self._staged.get(rkey)
        return staged is not None and staged[1] and rkey not in self._existed

    # -- domain events -----------------------------------------------------------------

    async def emit(self, ctx: MutationContext, event: DomainEvent) -> None:
        """Tell the handlers registered for the event's type what happened. They run now
        and stage their writes in the current frame, so whatever they write (a
        notification in the outbox) commits with the mutation or not at all."""
        for handler in self.registry.handlers.get(type(event), ()):
            await handler(self, ctx, event)

    # -- staged writes -----------------------------------------------------------------

    def insert(self, type_name: str, row: Mapping[str, Any]) -> None:
        rtype = self.registry.record_types[type_name]
        rkey = (type_name, str(row[rtype.key]))
        # the table's column defaults first, so what phones see (to_wire) and what is stored
        # agree for a column the writer left out
        staged = {**_row_plan(rtype.table)[1], **row}
        self._frame[rkey] = (staged, rkey not in self._existed and not self._is_written(rkey))
        self._frame_touched[rkey] = None

    def update(self, type_name: str, record_id: str, values: Mapping[str, Any]) -> None:
        """Change fields of a record previously read with ``get`` in this batch (locked
        for writing: a row of ``SHARE_LOCKED`` only if its mutator is ``locks_exclusive``)."""
        rkey = (type_name, record_id)
        if rkey in self._shared:
            raise RuntimeError(
                f"update of {type_name} {record_id}, read under a share lock: declare the mutator "
                f"@locks_exclusive({type_name!r}) (sync.push)"
            )
        current = self._frame.get(rkey) or self._staged.get(rkey)
        if current is None:
            stored = self._stored.get(rkey)
            if stored is None:
                raise KeyError(f"update of {type_name} {record_id} that was not read or does not exist")
            current = (stored, False)
        row, is_new = current
        self._frame[rkey] = ({**row, **values}, is_new)
        self._frame_touched[rkey] = None

    def _is_written(self, rkey: RecordKey) -> bool:
        return rkey in self._stored and self._stored[rkey] is not None

    def defer(self, statement: Executable) -> None:
        """A write to a table that is not a synced record (an outbox row, a reminder):
        run with the batch's other writes if the current mutation is kept, dropped with
        it otherwise, like ``insert`` and ``update``."""
        self._frame_statements.append(statement)

    def defer_insert(self, table: Table, row: dict[str, Any]) -> None:
        """``defer(insert(table).values(row))``, written with the batch's other rows for
        ``table`` in one ``executemany`` (an outbox row per hour log of a 200-log batch is
        one statement, not 200). Order against the batch's other deferred statements on
        the same table is kept (a delete deferred before the insert still runs first)."""
        self._frame_statements.append(_DeferredRow(table, row))

    def late(self, hook: LateHook, item: Any) -> None:
        """Hand ``item`` to ``hook``, which runs once at the very end of the unit of work
        (``finish``: after every other write of the batch, just before the commit) with
        the items of every kept mutation, in order. Like ``insert``, the item goes with
        the current frame: a rejected mutation hands nothing over. For a write to a row
        many writers share (a fund's chain head and balance): the hook locks it then, so
        the lock is held for the last statements and the commit only, not the batch."""
        self._frame_late.append((hook, item))

    def after_commit(self, key: str, hook: AfterCommit) -> None:
        """Run ``hook(pokes)`` after this unit of work commits (once per ``key``), in the
        request that made it, before its answer: work that must follow the commit and
        take its own transaction (linking a fund's gifts: ``funds.chain_pending``). For
        the ``late`` hooks' use, when every kept mutation is known. A failure is logged,
        not the request's: what was committed stands."""
        self.committed_hooks.setdefault(key, hook)

    def late_items(self, hook: LateHook) -> list[Any]:
        """What ``hook`` will get at the end so far (the current frame's items included)."""
        return [item for h, item in (*self._late, *self._frame_late) if h is hook]

    # -- frames (driven by the engine) -------------------------------------------------

    def keep_frame(self) -> None:
        for type_name in {type_name for type_name, _id in self._frame_touched}:
            self._generations[type_name] = self._generations.get(type_name, 0) + 1
        for (type_name, column), index in self._indexes.items():
            for (kind, record_id), (row, _new) in self._frame.items():
                if kind == type_name:
                    index.setdefault(row.get(column), set()).add(record_id)
        self._staged.update(self._frame)
        self._touched.update(self._frame_touched)
        self._statements.extend(self._frame_statements)
        self._late.extend(self._frame_late)
        self._frame = {}
        self._frame_touched = {}
        self._frame_statements = []
        self._frame_late = []

    def drop_frame(self) -> None:
        self._frame = {}
        self._frame_touched = {}
        self._frame_statements = []
        self._frame_late = []

    # -- flushing ----------------------------------------------------------------------

    async def _write_staged(self) -> None:
        self.writes += 1
        by_type: dict[str, tuple[list[dict[str, Any]], list[dict[str, Any]]]] = {}
        for (type_name, record_id), (row, is_new) in self._staged.items():
            rtype = self.registry.record_types[type_name]
            gone = rtype.tombstone is not None and row.get(rtype.tombstone)
            self._wires[(type_name, record_id)] = (
                None if gone else _wire_encoder.encode(rtype.to_wire(row)).decode()
            )
            inserts, updates = by_type.setdefault(type_name, ([], []))
            (inserts if is_new else updates).append(row)
            rkey = (type_name, record_id)
            if not is_new and rkey in self._existed and rkey not in self._before:
                committed = self._stored.get(rkey)
                if committed is not None:
                    self._before[rkey] = committed
            self._stored[rkey] = row
        self._staged = {}
        self._indexes.clear()
        for type_name, (inserts, updates) in by_type.items():
            table = self.registry.record_types[type_name].table
            key = self.registry.record_types[type_name].key
            if inserts:
                names, template = _row_plan(table)
                await insert_many(self.conn, table, [{**template, **r} for r in inserts], names)
            if updates:
                columns = [c.name for c in table.columns if c.name != key]
                stmt = (
                    update(table)
                    .where(table.c[key] == bindparam("k_" + key))
                    .values({name: bindparam("v_" + name) for name in columns})
                )
                params = [
                    {"k_" + key: r[key], **{"v_" + n: r.get(n) for n in columns}} for r in updates
                ]
                await self.conn.execute(stmt, params)
        statements, self._statements = self._statements, []
        await _run_deferred(self.conn, statements)

    async def flush(self) -> set[str]:
        """Write everything kept, then one change-feed row per touched record, and a scope
        exit row for each record whose scope changed. Returns the poke tags of the touched
        records (of the scopes they left too)."""
        await self._write_staged()
        if not self._touched:
            return set()
        moved = [
            {"t": type_name, "r": record_id}
            for (type_name, record_id) in self._touched
            if (type_name, record_id) in self._existed
        ]
        if moved:
            await self.conn.execute(
                delete(changes).where(
                    changes.c.type == bindparam("t"),
                    changes.c.record_id == bindparam("r"),
                    changes.c.exited_at.is_(None),
                ),
                moved,
            )
        feed_rows = []
        scopes: dict[Scope, tuple[Any, ...]] = {}
        exits: list[tuple[str, str, Scope, Scope]] = []
        txid, stored, wires, record_types = self.txid, self._stored, self._wires, self.registry.record_types
        before = self._before
        for rkey in self._touched:
            type_name, record_id = rkey
            row = stored[rkey]
            assert row is not None
            scope = record_types[type_name].scope(row)
            columns = scopes.get(scope)
            if columns is None:  # most records of a batch share a few scopes
                columns = scopes[scope] = tuple(scope.as_row().values())
            if before:
                committed = before.pop(rkey, None)
                if committed is not None:
                    left = record_types[type_name].scope(committed)
                    if left != scope:
                        exits.append((type_name, record_id, left, scope))
            feed_rows.append((txid, type_name, record_id, *columns, wires.pop(rkey, None), None))
        tags: set[str] = set()
        if exits:
            # inserted first: an exit lies before the record's own row, so a grant that
            # sees both scopes gets the removal and then the record
            feed_rows[:0] = await self._exit_rows(exits)
            for _type, _id, left, _entered in exits:
                tags |= left.poke_tags()
        await insert_tuples(self.conn, changes, FEED_COLUMNS, feed_rows)
        self.db.note_growth(len(feed_rows))
        for scope in scopes:
            tags |= scope.poke_tags()
        self._touched = {}
        self._before = {}
        return tags

    async def finish(self) -> set[str]:
        """Run the ``late`` hooks (each once, with its items in order; what they stage is
        kept) and write what they staged. The engine calls it after ``flush`` and every
        other write of the batch, as the last thing before the commit. Returns the poke
        tags of what the hooks touched."""
        tags: set[str] = set()
        while self._late:
            late, self._late = self._late, []
            grouped: dict[LateHook, list[Any]] = {}
            for hook, item in late:
                grouped.setdefault(hook, []).append(item)
            for hook, items in grouped.items():
                await hook(self, items)
                self.keep_frame()
            tags |= await self.flush()
        return tags

    async def _exit_rows(self, exits: list[tuple[str, str, Scope, Scope]]) -> list[tuple[Any, ...]]:
        """Feed rows for records that left a scope (only ever run when a scope changed).

        Compacted per record and scope: an older exit from the scope left now is replaced
        by this one (moved to the end), and an exit from the scope the record comes back
        to is dropped, the record's own row now says what that scope sees."""
        c = changes.c
        wanted = {(type_name, record_id): (left, entered) for type_name, record_id, left, entered in exits}
        by_type: dict[str, list[str]] = {}
        for type_name, record_id in wanted:
            by_type.setdefault(type_name, []).append(record_id)
        stale: list[int] = []
        for type_name, ids in by_type.items():
            for begin in range(0, len(ids), EXIT_CHUNK):
                earlier = await self.conn.execute(
                    select(c.seq, c.record_id, c.station, c.district, c.owner, c.public, c.audience).where(
                        c.type == type_name,
                        c.record_id.in_(ids[begin : begin + EXIT_CHUNK]),
                        c.exited_at.is_not(None),
                    )
                )
                for row in earlier:
                    scope = Scope(row.station, row.district, row.owner, bool(row.public), int(row.audience))
                    if scope in wanted[(type_name, str(row.record_id))]:
                        stale.append(int(row.seq))
        for begin in range(0, len(stale), EXIT_CHUNK):
            await self.conn.execute(delete(changes).where(c.seq.in_(stale[begin : begin + EXIT_CHUNK])))
        at = iso(utc_now())
        return [
            (self.txid, type_name, record_id, *left.as_row().values(), None, at)
            for type_name, record_id, left, _entered in exits
        ]


FEED_COLUMNS = (
    "txid", "type", "record_id", "station", "district", "owner", "public", "audience", "wire", "exited_at",
)
"""The columns of a change row as ``flush`` builds it (the scope's in ``Scope.as_row`` order)."""
EXIT_CHUNK = 500
"""Ids per statement when scope exits are compacted (below SQLite's bound-parameter limit)."""
if tuple(Scope().as_row()) != FEED_COLUMNS[3:8]:  # pragma: no cover - a guard for whoever edits Scope
    raise RuntimeError("Scope.as_row no longer matches FEED_COLUMNS")

_wire_encoder = msgspec.json.Encoder()
LateHook = Callable[["Tx", list[Any]], Awaitable[None]]
"""A ``Tx.late`` hook: the unit of work and the items the kept mutations handed it."""


@dataclass(frozen=True, slots=True)
class _DeferredRow:
    """A row ``Tx.defer_insert`` holds for its table's ``executemany``."""

    table: Table
    row: dict[str, Any]


async def _run_deferred(conn: Any, statements: list[Any]) -> None:
    """The deferred statements in order, except that rows of ``defer_insert`` wait and go
    in one ``executemany`` per table and column set: until a statement on the same table
    (a delete, an update), or the end. Other tables' statements do not depend on them (the
    deferred tables are outboxes and side tables no other deferred statement reads)."""
    waiting: dict[str, tuple[Table, tuple[str, ...], list[tuple[Any, ...]]]] = {}

    async def write(name: str) -> None:
        table, names, rows = waiting.pop(name)
        await insert_tuples(conn, table, names, rows)

    for statement in statements:
        if isinstance(statement, _DeferredRow):
            name, names = statement.table.name, tuple(statement.row)
            held = waiting.get(name)
            if held is not None and held[1] != names:
                await write(name)
                held = None
            if held is None:
                held = waiting[name] = (statement.table, names, [])
            held[2].append(tuple(statement.row.values()))
            continue
        target = getattr(statement, "table", None)
        target_name = getattr(target, "name", None)
        if target_name is None:  # a statement whose table is not plain: write everything first
            for name in list(waiting):
                await write(name)
        elif target_name in waiting:
            await write(target_name)
        await conn.execute(statement)
    for name in list(waiting):
        await write(name)


AfterCommit = Callable[[Any], Awaitable[None]]
"""Called with the request's ``PokeSink`` (or None) after the commit (``Tx.after_commit``)."""


async def run_after_commit(hooks: Sequence[AfterCommit], pokes: Any) -> None:
    """The ``Tx.after_commit`` hooks of a committed unit of work, in order; a failure is
    logged and leaves the rest to run (what they do has a sweep behind it)."""
    for hook in hooks:
        try:
            await hook(pokes)
        except Exception:  # the unit committed; its answer stands
            log.exception("after-commit work failed; its sweep will do it")


Lock = Literal["update", "share"]
_BY_KEYS: dict[tuple[str, str, Lock | None], HotSql] = {}


def _by_keys(table: Table, key: str, kind: str, lock: Lock | None) -> HotSql:
    """``SELECT *`` of the rows whose key is in a list (``lock``: locked ``FOR UPDATE``
    or ``FOR SHARE`` in key order, PostgreSQL only), one statement per table whatever the
    list's length. Text keys are ordered bytewise, as Python sorts them, so a row locked
    alone (``sorted`` ids) and rows locked by one statement follow the same order."""
    found = _BY_KEYS.get((table.name, key, lock))
    if found is None:
        sql = f'SELECT * FROM "{table.name}" WHERE "{key}" :keys[{kind}]'
        collate = "" if kind else ' COLLATE "C"'  # byte order: Python's order of the ids
        locked = f' ORDER BY "{key}"{collate} FOR {"SHARE" if lock == "share" else "UPDATE"}'
        found = _BY_KEYS[(table.name, key, lock)] = HotSql(sql + (locked if lock else ""))
    return found


def _key_kind(table: Table, key: str) -> str | None:
    """How ``HotSql`` passes a list of this key: text (``""``), ``"bigint"``, or None
    for other types."""
    column_type = table.c[key].type
    if isinstance(column_type, String):
        return ""
    if isinstance(column_type, Integer):
        return "bigint"
    return None


_ROW_PLANS: dict[int, tuple[tuple[str, ...], dict[str, Any]]] = {}


def _row_plan(table: Table) -> tuple[tuple[str, ...], dict[str, Any]]:
    """The columns an insert names (autoincrement keys left out) and the value of each
    when a row leaves it out: ``{**template, **row}`` gives every row the same columns."""
    plan = _ROW_PLANS.get(id(table))
    if plan is None:
        template: dict[str, Any] = {}
        for column in table.columns:
            if column.autoincrement is True and column.primary_key:
                continue
            default = None
            if column.default is not None and getattr(column.default, "is_scalar", False):
                default = column.default.arg  # type: ignore[attr-defined]
            template[column.name] = default
        plan = _ROW_PLANS[id(table)] = (tuple(template), template)
    return plan
