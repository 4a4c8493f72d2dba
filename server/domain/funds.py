"""Community funds: special funds inside a city or district charity federation.

Stations record; the federation holds. Every movement of money is a pair of
read-only ledger entries (the fund's side and its counter account) that sum to
zero; balances come from the ledger. Each fund's entries form a hash chain
(each entry's hash covers its content and the previous hash) whose head is on
the fund record and the public disclosure page, so an altered or removed entry
shows. Appends to one fund's chain are serialised by reading the fund row with
``tx.get`` (``SELECT ... FOR UPDATE`` on PostgreSQL; one writer on SQLite).

Accounts on the fund's side: ``fund:general`` (unrestricted within the fund)
and ``fund:project:<id>`` (a directed gift, restricted to that project).
Counter accounts: ``station:<code>`` (collected at a station for the federation),
``federation:seed``, ``paid:project:<id>``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import hashlib
import logging
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    delete,
    false,
    func,
    insert,
    select,
)
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from schemas.attachments import AttachmentRef
from schemas.donations import (
    DisbursementDecideArgs,
    DisbursementPayArgs,
    DisbursementRecord,
    DisbursementRequestArgs,
    FundCreateArgs,
    FundRecord,
    FundSeedArgs,
    LedgerEntryRecord,
    ProjectCreateArgs,
    ProjectRecord,
)
from schemas.events import (
    DisbursementAwaitingApproval,
    DisbursementDecided,
    DisbursementPaid,
    FundBalanceChanged,
)
from server import audit
from server.domain import attachments
from server.domain.access import live_station
from sync.db import Database
from sync.errors import Rejected, forbidden, not_found
from sync.pokes import PokeSink
from sync.registry import RecordType, Registry
from sync.scopes import DISTRICT_MANAGER, MANAGER, STAFF, Grant, Scope
from sync.tables import metadata
from sync.timeutil import iso, utc_now
from sync.unit import MutationContext, Tx

log = logging.getLogger("server.funds")

GENESIS = "0" * 64
GENERAL = "fund:general"

funds = Table(
    "funds",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("district", String(100), nullable=True, index=True),
    Column("station", String(32), nullable=True, index=True),
    Column("purpose", Text, nullable=False),
    Column("balance_fen", BigInteger, nullable=False),
    Column("reserved_fen", BigInteger, nullable=False),
    Column("head_seq", Integer, nullable=False),
    Column("head_hash", String(64), nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("created_at", String(32), nullable=False),
)
"""``balance_fen``, ``reserved_fen`` and the head are caches of the ledger and the
disbursements, written in the same transaction; ``verify_fund`` recomputes them."""

projects = Table(
    "fund_projects",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("fund_id", String(36), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("description", Text, nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("attachments", Text, nullable=False, default="[]"),
)

ledger_entries = Table(
    "ledger_entries",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("movement_id", String(60), nullable=False, index=True),
    Column("fund_id", String(36), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("account", String(60), nullable=False),
    Column("amount_fen", BigInteger, nullable=False),
    Column("kind", String(20), nullable=False),
    Column("donation_id", String(36), nullable=True, index=True),
    Column("correction_id", String(36), nullable=True),
    Column("disbursement_id", String(36), nullable=True),
    Column("project_id", String(36), nullable=True),
    Column("category", String(16), nullable=False, default="", server_default=""),
    Column("note", Text, nullable=False),
    Column("note_salt", String(32), nullable=False, default="", server_default=""),
    Column("note_digest", String(64), nullable=False, default="", server_default=""),
    Column("created_by", String(64), nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    Column("station", String(32), nullable=True),
    Column("district", String(100), nullable=True),
    UniqueConstraint("fund_id", "seq"),
)

disbursements = Table(
    "disbursements",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("fund_id", String(36), nullable=False, index=True),
    Column("project_id", String(36), nullable=False),
    Column("amount_fen", BigInteger, nullable=False),
    Column("payee", String(100), nullable=False),
    Column("purpose", Text, nullable=False),
    Column("category", String(16), nullable=False, default="other", server_default="other"),
    Column("payee_kind", String(16), nullable=False, default="person", server_default="person"),
    Column("payee_public", Boolean, nullable=False, default=False, server_default=false()),
    Column("status", String(16), nullable=False),
    Column("requested_by", String(64), nullable=False),
    Column("requested_at", String(32), nullable=False),
    Column("decided_by", String(64), nullable=True),
    Column("decided_at", String(32), nullable=True),
    Column("decision_note", Text, nullable=False),
    Column("paid_by", String(64), nullable=True),
    Column("paid_at", String(32), nullable=True),
    Column("reference", String(100), nullable=True),
    Column("station", String(32), nullable=True),
    Column("district", String(100), nullable=True),
    Column("attachments", Text, nullable=False, default="[]"),
)

Index("ix_ledger_entries_fund_account", ledger_entries.c.fund_id, ledger_entries.c.account)

ledger_pending = Table(
    "ledger_pending",
    metadata,
    Column("position", Integer, primary_key=True, autoincrement=True),
    Column("fund_id", String(36), nullable=False),
    Column("entries", Text, nullable=False),
    Column("delta_fen", BigInteger, nullable=False),
    Column("created_at", String(32), nullable=False),
)
"""A batch's gifts to one fund, their entries sealed but not yet numbered nor linked
(PostgreSQL only): written by the push without touching the fund row, linked into the
chain by ``chain_pending`` right after the push commits (docs/donations.md, "Linking
outside the push"). Never read by anything but the chainer: ``ledger_entries`` holds
only linked entries."""

Index("ix_ledger_pending_fund_id", ledger_pending.c.fund_id)

_pending_json = msgspec.json.Encoder()

HASHED_FIELDS = (
    "id", "movement_id", "fund_id", "seq", "account", "amount_fen", "kind", "category",
    "donation_id", "correction_id", "disbursement_id", "project_id", "created_by", "created_at",
    "note_digest",
)
"""What an entry's hash covers (with the previous hash): the public facts of the entry
and the digest of its private part. The free-text ``note`` (a correction's reason, a
payee and bank reference) is outside it: only its salted digest is inside, so the note
can be erased (blanked with its salt) while the chain still verifies. docs/donations.md."""

ENTRY_FIELDS = HASHED_FIELDS[:-1] + ("note",)
"""An entry as managers' phones receive it (with ``note_digest``, ``prev_hash``, ``hash``);
the salt stays on the server."""

ERASED = "erased"
"""``note_salt`` of an entry whose note was erased (the note is blank, the digest kept)."""


_canonical = msgspec.json.Encoder()
"""The bytes a ledger hash covers: a JSON array, UTF-8, no spaces. For the strings, whole
numbers and nulls of an entry these are exactly ``json.dumps(..., ensure_ascii=False,
separators=(",", ":"))``, the rule chains were made with (tests/test_fund_model.py checks
both agree); msgspec writes them several times faster, and each gift hashes two entries."""


def note_digest(salt: str, note: str) -> str:
    """The commitment to an entry's private part. Salted with 128 random bits kept on the
    server, so a short note (a name, a phone number) cannot be guessed from the digest."""
    return hashlib.sha256(_canonical.encode([salt, note])).hexdigest()


def seal_note(entry: dict[str, Any], note: str) -> dict[str, Any]:
    """Set ``note``, a fresh salt and its digest on ``entry`` (before it is hashed). An
    empty note (every gift's two entries) has nothing to hide: the empty salt and the
    fixed digest ``EMPTY_NOTE_DIGEST``, which verification checks like any other."""
    if note == "":
        entry.update(note="", note_salt="", note_digest=EMPTY_NOTE_DIGEST)
        return entry
    salt = secrets.token_hex(16)
    entry.update(note=note, note_salt=salt, note_digest=note_digest(salt, note))
    return entry


EMPTY_NOTE_DIGEST = note_digest("", "")


def entry_hash(entry: Mapping[str, Any] | RowMapping, prev_hash: str) -> str:
    return hashlib.sha256(_canonical.encode([prev_hash, *(entry[name] for name in HASHED_FIELDS)])).hexdigest()


def note_problem(entry: Mapping[str, Any] | RowMapping) -> str | None:
    """Why the entry's stored note does not match its digest, or None. An erased note
    (salt ``erased``) must be blank; its digest is still what the hash covers."""
    if entry["note_salt"] == ERASED:
        return None if entry["note"] == "" else "an erased note is not blank"
    if note_digest(str(entry["note_salt"]), str(entry["note"])) != entry["note_digest"]:
        return "its note does not match the note's digest"
    return None


def project_account(project_id: str) -> str:
    return f"fund:project:{project_id}"


# ----------------------------------------------------------------------------- records


def _fund_scope(row: Mapping[str, Any]) -> Scope:
    return Scope(station=row["station"], district=row["district"], public=True)


def _fund_wire(row: Mapping[str, Any]) -> dict[str, Any]:
    return {c: row[c] for c in (
        "id", "name", "district", "station", "purpose", "balance_fen", "reserved_fen",
        "head_seq", "head_hash", "created_by", "created_at")}


def _project_scope(row: Mapping[str, Any]) -> Scope:
    return Scope(public=True)


def _project_wire(row: Mapping[str, Any]) -> dict[str, Any]:
    data = {c: row[c] for c in ("id", "fund_id", "name", "description", "created_at")}
    data["attachments"] = attachments.wire(row["attachments"])
    return data


def _entry_scope(row: Mapping[str, Any]) -> Scope:
    return Scope(station=row["station"], district=row["district"], audience=MANAGER)


def _entry_wire(row: Mapping[str, Any]) -> dict[str, Any]:
    return {c: row[c] for c in ENTRY_FIELDS + ("note_digest", "prev_hash", "hash")}


def _disbursement_scope(row: Mapping[str, Any]) -> Scope:
    return Scope(station=row["station"], district=row["district"], audience=STAFF)


def _disbursement_wire(row: Mapping[str, Any]) -> dict[str, Any]:
    data = {c: row[c] for c in disbursements.c.keys()}
    data["attachments"] = attachments.wire(row["attachments"])
    return data


# ----------------------------------------------------------------------------- rules


def holds_fund(grant: Grant, fund: Mapping[str, Any] | RowMapping) -> bool:
    """The federation's people for this fund: its district's managers, or the city's (admin).
    Any of the person's memberships counts (a station manager who is also a district
    manager holds the district's funds)."""
    return grant.rank_at(None, fund["district"]) >= DISTRICT_MANAGER


def works_for_fund(grant: Grant, fund: Mapping[str, Any] | RowMapping, rank: int = STAFF) -> bool:
    """The fund's station's people of at least ``rank`` (by any of their memberships), or
    the federation's people."""
    if holds_fund(grant, fund):
        return True
    return fund["station"] is not None and grant.rank_at(fund["station"], fund["district"]) >= rank


async def live_fund(tx: Tx, fund_id: str, field: str = "fund_id") -> dict[str, Any]:
    """The fund row, locked for the rest of the transaction (chain appends serialise on it)."""
    fund = await tx.get("fund", fund_id)
    if fund is None:
        raise not_found("基金", "fund", fund_id, field=field)
    return fund


async def project_of(tx: Tx, project_id: str, field: str = "project_id") -> dict[str, Any]:
    project = await tx.get("project", project_id)
    if project is None:
        raise not_found("项目", "project", project_id, field=field)
    return project


def _scoped(row: dict[str, Any], fund: Mapping[str, Any]) -> dict[str, Any]:
    """Ledger entries and disbursements live where their fund lives."""
    row["station"] = fund["station"]
    row["district"] = fund["district"]
    return row


@dataclass
class Movement:
    """One movement of money: ``amount_fen`` onto ``fund_account`` (negative: off it),
    the opposite onto ``counter_account``."""

    movement_id: str
    fund_account: str
    counter_account: str
    amount_fen: int
    kind: str
    note: str = ""
    refs: dict[str, str | None] = field(default_factory=dict)
    category: str = ""
    """Public: a correction's reason category, a disbursement's purpose category."""


def _entries(ctx: MutationContext, fund_id: str, movement: Movement) -> list[dict[str, Any]]:
    """The movement's two entries, sealed notes, not yet numbered nor linked."""
    entries = []
    for side, account, amount in (
        ("f", movement.fund_account, movement.amount_fen),
        ("c", movement.counter_account, -movement.amount_fen),
    ):
        entry: dict[str, Any] = {
            "id": f"{movement.movement_id}:{side}",
            "movement_id": movement.movement_id,
            "fund_id": fund_id,
            "seq": 0,
            "account": account,
            "amount_fen": amount,
            "kind": movement.kind,
            "donation_id": movement.refs.get("donation_id"),
            "correction_id": movement.refs.get("correction_id"),
            "disbursement_id": movement.refs.get("disbursement_id"),
            "project_id": movement.refs.get("project_id"),
            "category": movement.category,
            "created_by": ctx.user_id,
            "created_at": ctx.now,
        }
        entries.append(seal_note(entry, movement.note))
    return entries


def _append(tx: Tx, fund: dict[str, Any], entries: list[dict[str, Any]], delta: int) -> None:
    """Number and link ``entries`` after the fund's head (``fund`` is the locked row as
    this batch sees it), stage them and the fund's new head and balance."""
    seq = int(fund["head_seq"])
    head = str(fund["head_hash"])
    for entry in entries:
        seq += 1
        entry["seq"] = seq
        entry["prev_hash"] = head
        entry["hash"] = head = entry_hash(entry, head)
        tx.insert("ledger_entry", _scoped(entry, fund))
    values = {"head_seq": seq, "head_hash": head, "balance_fen": int(fund["balance_fen"]) + delta}
    tx.update("fund", str(fund["id"]), values)
    fund.update(values)


async def post(tx: Tx, ctx: MutationContext, fund_id: str, movement: Movement,
               *, late: bool = False) -> dict[str, Any]:
    """Append the movement's two entries to the fund's chain and update the cached
    balance and head. Returns the fund row as this batch leaves it (its balance with the
late movements of the batch so far).

    ``late``: for a movement that only adds to the fund (a gift) and needs no exact
    balance. Nothing is locked now: the entries are numbered, linked and written at the
    end of the batch (``_append_late``, a ``Tx.late`` hook), which locks the fund row
    once for all the batch's movements on it, after every other write; the returned
    row's balance is the committed one read unlocked plus this movement. Every
    other movement (corrections, disbursements, seed money) locks the fund first, as
    its decision depends on the exact balance."""
    if late:
        fund = await tx.read_unlocked("fund", fund_id)
        if fund is None:
            raise not_found("基金", "fund", fund_id, field="fund_id")
        tx.late(_append_late, (fund_id, _entries(ctx, fund_id, movement), movement.amount_fen, False))
        # what the event tells (a low-water alert): the balance as committed and this gift,
        # a lower bound of what it will be (late movements only add)
        fund["balance_fen"] = int(fund["balance_fen"]) + movement.amount_fen
        await announce_balance(tx, ctx, fund)
        return fund
    return await post_many(tx, ctx, fund_id, [movement])


async def post_many(tx: Tx, ctx: MutationContext, fund_id: str,
                    movements: list[Movement]) -> dict[str, Any]:
    """``post`` (not late) for many movements on one fund at once (an online statement's
    gifts): the fund is locked once, the entries chain one after another, the fund row is
    updated once and its balance announced once (one ``FundBalanceChanged``, not one per
    gift)."""
    fund = await live_fund(tx, fund_id)
    entries = [entry for movement in movements for entry in _entries(ctx, fund_id, movement)]
    total = sum(movement.amount_fen for movement in movements)
    waiting = [delta for fid, _e, delta, _x in tx.late_items(_append_late) if fid == fund_id]
    if waiting:
        # gifts of this batch wait for the end on this fund: join them there, so the chain
        # keeps the order the mutations ran (a gift, then its correction); the lock is
        # held from now on, so the balance below (committed + the batch's) is exact
        tx.late(_append_late, (fund_id, entries, total, True))
        view = {**fund, "balance_fen": int(fund["balance_fen"]) + await _pending_total(tx, fund_id)
                + sum(waiting) + total}
    else:
        await _link_pending(tx, fund)  # gifts committed before this come first in the chain
        _append(tx, fund, entries, total)
        view = fund
    await announce_balance(tx, ctx, view)
    return view


async def _append_late(tx: Tx, items: list[tuple[str, list[dict[str, Any]], int, bool]]) -> None:
    """End of the batch: the late movements of each fund, in the order the mutations ran.

    On PostgreSQL a fund that got only gifts is not locked at all: its entries go to
    ``ledger_pending`` and ``chain_pending`` links them right after the commit (with
    every other push's that is waiting then), so no push holds a fund's row through its
    commit. A fund where the batch also decided on the exact balance (a correction after
    a gift, joined here by ``post_many``), and every fund on SQLite (one writer: nothing
    to queue on), is locked now (in id order, the server's lock order within a type) and
    appended to at once: one lock per fund and batch, held for the last statements of the
    batch and its commit."""
    by_fund: dict[str, list[tuple[list[dict[str, Any]], int, bool]]] = {}
    for fund_id, entries, delta, exact in items:
        by_fund.setdefault(fund_id, []).append((entries, delta, exact))
    defer = tx.db.is_postgres
    now = sorted(f for f, moves in by_fund.items() if not defer or any(x for _e, _d, x in moves))
    if now:
        await tx.preload("fund", now)
    for fund_id in now:
        fund = await tx.get("fund", fund_id)
        assert fund is not None  # funds are never deleted
        movements = by_fund[fund_id]
        await _link_pending(tx, fund)
        _append(tx, fund, [e for entries, _d, _x in movements for e in entries],
                sum(d for _e, d, _x in movements))
    later = sorted(set(by_fund) - set(now))
    positions: list[int] = []
    for fund_id in later:
        movements = by_fund[fund_id]
        positions.append(int((await tx.conn.execute(insert(ledger_pending).values(
            fund_id=fund_id, created_at=iso(utc_now()),
            entries=_pending_json.encode([e for entries, _d, _x in movements for e in entries]).decode(),
            delta_fen=sum(d for _e, d, _x in movements)).returning(ledger_pending.c.position))).scalar_one()))
    if later:
        tx.after_commit(f"chain:{positions}", functools.partial(chain_pending, tx.db, tx.registry, positions))


async def _pending_total(tx: Tx, fund_id: str) -> int:
    """What the fund's committed, not yet linked gifts add (PostgreSQL; 0 on SQLite)."""
    if not tx.db.is_postgres:
        return 0
    total = (await tx.conn.execute(select(func.sum(ledger_pending.c.delta_fen))
                                   .where(ledger_pending.c.fund_id == fund_id))).scalar()
    return int(total or 0)


async def _link_pending(tx: Tx, fund: dict[str, Any]) -> int:
    """Link the fund's committed, not yet linked gifts (``ledger_pending``) after its head,
    in the order they were written; ``fund`` is the row as this batch holds it locked.
    Staged in the current frame with their removal from ``ledger_pending``. Returns how
    many batches of gifts were linked. Nothing to do on SQLite (no pending rows)."""
    if not tx.db.is_postgres:
        return 0
    rows = (await tx.conn.execute(
        select(ledger_pending.c.position, ledger_pending.c.entries, ledger_pending.c.delta_fen)
        .where(ledger_pending.c.fund_id == fund["id"]).order_by(ledger_pending.c.position))).all()
    if not rows:
        return 0
    entries = [entry for row in rows for entry in msgspec.json.decode(row.entries)]
    _append(tx, fund, entries, sum(int(row.delta_fen) for row in rows))
    tx.defer(delete(ledger_pending).where(ledger_pending.c.position.in_([int(r.position) for r in rows])))
    return len(rows)


CHAIN_GIVE_UP_SECONDS = 30.0
"""How long a push waits for its gifts to be linked before it answers anyway and leaves
them to the sweep (``chain_all_pending``)."""
CHAIN_RETRY_SECONDS = 0.005
"""The sweep's pause before looking again at a fund another transaction holds."""


async def chain_pending(db: Database, registry: Registry, positions: Sequence[int],
                        pokes: PokeSink | None) -> None:
    """Wait until the push's pending gifts (these ``ledger_pending`` rows) are linked:
    the push's ``Tx.after_commit`` hook, so the phone is answered with its gifts on the
    chain. The process's one ``_Chainer`` does the linking for every push waiting in it,
    one transaction per round; the rows may also be linked by another process's."""
    try:
        await asyncio.wait_for(_chainer(db, registry).linked(positions, pokes), CHAIN_GIVE_UP_SECONDS)
    except TimeoutError:
        log.warning("gifts pending as ledger_pending %s are not linked yet; the sweep will link them",
                    list(positions))


def _chainer(db: Database, registry: Registry) -> _Chainer:
    """The process's chainer for ``db`` (kept on it: it lives and goes with the engine)."""
    found: _Chainer | None = getattr(db, "_gift_chainer", None)
    if found is None:
        found = _Chainer(db, registry)
        db._gift_chainer = found  # type: ignore[attr-defined]
    return found


class _Chainer:
    """Links pending gifts for every push of this process that waits for its own.

    Pushes to one fund commit many at a time on a charity day. Each used to run its own
    linking transaction, and one that found the fund held by another kept looking until
    the fund was free (new pushes' rows were always pending): every push ended up taking
    the fund's lock in turn, and the lookers polled. Here the waiting pushes register
    their rows, and one task runs rounds while any wait: a round locks the funds of the
    rows still pending (waiting for a fund another process's chainer holds: when that one
    commits, these rows are usually linked already), links every pending row of them
    (``_chain_round``), and answers the pushes it served. One transaction and one commit
    per round, however many pushes wait; at most one chainer per process queues on a
    fund."""

    def __init__(self, db: Database, registry: Registry) -> None:
        self.db = db
        self.registry = registry
        self._waiting: list[tuple[Sequence[int], asyncio.Future[None]]] = []
        self._pokes: PokeSink | None = None
        self._task: asyncio.Task[None] | None = None

    async def linked(self, positions: Sequence[int], pokes: PokeSink | None) -> None:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((positions, done))
        if pokes is not None:
            self._pokes = pokes
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())
        await asyncio.shield(done)  # a push that gives up waiting leaves the round alone

    async def _run(self) -> None:
        while self._waiting:
            waiting, self._waiting = self._waiting, []
            try:
                await _chain_round(self.db, self.registry, self._pokes, wait=True,
                                   positions=sorted({p for rows, _ in waiting for p in rows}))
            except Exception:  # logged once here; the pushes answer, the sweep links later
                log.exception("linking pending gifts failed; the sweep will link them")
            for _rows, done in waiting:
                if not done.done():
                    done.set_result(None)


async def chain_funds(db: Database, registry: Registry, fund_ids: Sequence[str],
                      pokes: PokeSink | None) -> None:
    """Link every pending gift of these funds (the sweep's work): a fund another
    transaction holds is tried again a moment later, for up to ``CHAIN_GIVE_UP_SECONDS``."""
    left = sorted(fund_ids)
    waited = 0.0
    while left:
        settled = await _chain_round(db, registry, pokes, fund_ids=left)
        left = [f for f in left if f not in settled]
        if left:
            if waited >= CHAIN_GIVE_UP_SECONDS:
                log.warning("gifts of funds %s still wait to be linked; the sweep will link them", left)
                return
            await asyncio.sleep(CHAIN_RETRY_SECONDS)
            waited += CHAIN_RETRY_SECONDS


async def _chain_round(db: Database, registry: Registry, pokes: PokeSink | None, *,
                       fund_ids: Sequence[str] = (), positions: Sequence[int] = (), wait: bool = False,
                       ) -> list[str]:
    """One transaction: of the funds with pending gifts (those named, and those holding the
    pending rows at ``positions``), lock the ones no other chainer holds and link all
    their gifts. Returns the funds settled (nothing pending: another chainer linked them;
    or linked now). Nothing pending: no lock taken, nothing written. ``wait``: a fund
    another chainer holds is waited for (its commit usually links these rows too), not
    skipped, so every fund asked about is settled."""
    settled: list[str] = []

    async def work(conn: AsyncConnection) -> set[str]:
        settled.clear()
        waiting: set[str] = set()
        if positions:
            waiting = {str(f) for f in (await conn.execute(
                select(ledger_pending.c.fund_id).where(ledger_pending.c.position.in_(sorted(positions)))
                .distinct())).scalars()}
        if fund_ids:
            waiting |= {str(f) for f in (await conn.execute(
                select(ledger_pending.c.fund_id).where(ledger_pending.c.fund_id.in_(sorted(fund_ids)))
                .distinct())).scalars()}
        settled.extend(f for f in fund_ids if f not in waiting)
        if not waiting:
            return set()
        got = sorted(str(f) for f in (await conn.execute(
            select(funds.c.id).where(funds.c.id.in_(sorted(waiting))).order_by(funds.c.id)
            .with_for_update(skip_locked=not wait))).scalars())
        if not got:
            return set()
        tx = Tx(conn, db, registry, await db.next_txid(conn), exclusive=("fund",))
        await tx.preload("fund", got)  # held already: the rows as this transaction sees them
        for fund_id in got:
            fund = await tx.get("fund", fund_id)
            assert fund is not None
            await _link_pending(tx, fund)
            settled.append(fund_id)
        tx.keep_frame()
        tags = await tx.flush()
        tags |= await tx.finish()
        if pokes is not None:
            await pokes.stage(conn, tags)
        return tags

    tags = await db.run_write(work)
    if pokes is not None and tags:
        pokes.committed(tags)
    return settled


async def chain_all_pending(db: Database, registry: Registry, pokes: PokeSink | None,
                            older_than: float = 0.0) -> int:
    """The sweep: link every fund's pending gifts (a server stopped between a push's commit
    and its chaining leaves some). Returns how many funds had some. ``older_than``
    (seconds): only funds with a row pending that long (the periodic sweep leaves the
    rows that pushes in flight are linking themselves alone)."""
    if not db.is_postgres:
        return 0
    query = select(ledger_pending.c.fund_id).distinct()
    if older_than > 0:
        query = query.where(ledger_pending.c.created_at < iso(utc_now() - dt.timedelta(seconds=older_than)))
    async with db.read() as conn:
        fund_ids = [str(f) for f in (await conn.execute(query)).scalars()]
    if fund_ids:
        await chain_funds(db, registry, fund_ids, pokes)
    return len(fund_ids)


async def announce_balance(tx: Tx, ctx: MutationContext, fund: Mapping[str, Any]) -> None:
    await tx.emit(ctx, FundBalanceChanged(
        fund_id=fund["id"], fund_name=fund["name"], station=fund["station"],
        district=fund["district"], balance_fen=int(fund["balance_fen"]),
        available_fen=int(fund["balance_fen"]) - int(fund["reserved_fen"]),
    ))


async def gift_booking(tx: Tx, donation_id: str) -> tuple[str, str] | None:
    """(fund id, fund account) a gift was booked on by an allocation, or None."""
    row = (await tx.query(
        select(ledger_entries.c.fund_id, ledger_entries.c.account).where(
            ledger_entries.c.donation_id == donation_id, ledger_entries.c.kind == "donation",
            ledger_entries.c.account.like("fund:%")))).first()
    return (str(row.fund_id), str(row.account)) if row is not None else None


async def available_for(
    tx: Tx, fund_id: str, project_id: str, *, excluding: str | None = None
) -> tuple[int, int]:
    """What a disbursement for ``project_id`` may still take: its own restricted money
    and the fund's general money, less what approved, unpaid disbursements will take
    (each takes its project's restricted money first). Returns (available, restricted
    elsewhere) so a refusal can say how much is tied to other purposes."""
    rows = await tx.query(
        select(ledger_entries.c.account, func.sum(ledger_entries.c.amount_fen))
        .where(ledger_entries.c.fund_id == fund_id, ledger_entries.c.account.like("fund:%"))
        .group_by(ledger_entries.c.account)
    )
    balances = {str(account): int(total or 0) for account, total in rows}
    reserved_rows = await tx.query(
        select(disbursements.c.project_id, func.sum(disbursements.c.amount_fen))
        .where(
            disbursements.c.fund_id == fund_id,
            disbursements.c.status == "approved",
            disbursements.c.id != (excluding or ""),
        )
        .group_by(disbursements.c.project_id)
    )
    general = balances.get(GENERAL, 0)
    own_free = max(0, balances.get(project_account(project_id), 0))
    for reserved_project, reserved_total in reserved_rows:
        reserved = int(reserved_total or 0)
        restricted = max(0, balances.get(project_account(str(reserved_project)), 0))
        general -= max(0, reserved - restricted)
        if reserved_project == project_id:
            own_free = max(0, restricted - reserved)
    elsewhere = sum(
        max(0, amount) for account, amount in balances.items()
        if account.startswith("fund:project:") and account != project_account(project_id)
    )
    return own_free + max(0, general), elsewhere


DEFAULT_FUNDS = "funds.default_fund"
"""``tx.memo`` key: per batch, the fund that takes undirected gifts at each station (one
query per station and batch instead of one per gift). ``create_fund`` forgets it."""


async def default_fund(tx: Tx, station: Mapping[str, Any]) -> str | None:
    """The station's community fund; else its district federation's general fund; else
    the city's; the oldest first. None when there is no fund at all."""
    known: dict[str, str | None] = tx.memo.setdefault(DEFAULT_FUNDS, {})
    if station["code"] not in known:
        rows = list(await tx.query(
            select(funds.c.id, funds.c.station, funds.c.district)
            .where((funds.c.station == station["code"]) | (funds.c.district == station["district"])
                   | funds.c.district.is_(None))
            .order_by(funds.c.created_at, funds.c.id)))
        ranked = sorted(rows, key=lambda r: (
            0 if r.station == station["code"] else
            1 if r.station is None and r.district == station["district"] else
            2 if r.station is None and r.district is None else 3))
        best = ranked[0] if ranked else None
        usable = best is not None and (
            best.station == station["code"] or best.station is None)
        known[station["code"]] = str(best.id) if usable and best is not None else None
    return known[station["code"]]


# ----------------------------------------------------------------------------- mutators


async def create_fund(tx: Tx, ctx: MutationContext, args: FundCreateArgs) -> None:
    grant = ctx.grant
    if not holds_fund(grant, {"district": args.district}):
        raise forbidden("只有该慈善会(区或市)的管理者可以设立基金",
                        "only the federation's managers (district or city) create funds")
    if args.station is not None:
        station = await live_station(tx, args.station)
        if args.district is not None and station["district"] != args.district:
            raise Rejected("invalid_args", "站点不在该区", "the station is not in that district",
                           field="station")
    if await tx.get("fund", args.id) is not None:
        raise Rejected("already_exists", "基金编号已存在", "fund id already exists", field="id")
    tx.memo.pop(DEFAULT_FUNDS, None)
    tx.insert("fund", {
        "id": args.id, "name": args.name, "district": args.district, "station": args.station,
        "purpose": args.purpose, "balance_fen": 0, "reserved_fen": 0, "head_seq": 0,
        "head_hash": GENESIS, "created_by": ctx.user_id, "created_at": ctx.now,
    })


async def seed_fund(tx: Tx, ctx: MutationContext, args: FundSeedArgs) -> None:
    fund = await live_fund(tx, args.fund_id)
    if not holds_fund(ctx.grant, fund):
        raise forbidden("只有慈善会的管理者可以注入种子资金",
                        "only the federation's managers add seed money")
    if await tx.get("ledger_entry", f"{args.id}:f") is not None:
        raise Rejected("already_exists", "该笔资金已入账", "this movement is already booked", field="id")
    await post(tx, ctx, args.fund_id, Movement(
        args.id, GENERAL, "federation:seed", args.amount_fen, "seed", args.note))


async def create_project(tx: Tx, ctx: MutationContext, args: ProjectCreateArgs) -> None:
    fund = await live_fund(tx, args.fund_id)
    if not works_for_fund(ctx.grant, fund, rank=MANAGER):
        raise forbidden("只有基金所在站点或慈善会的管理者可以设立项目",
                        "only the fund's station managers or the federation create projects")
    await stage_project(tx, ctx, args)


async def stage_project(tx: Tx, ctx: MutationContext, args: ProjectCreateArgs) -> None:
    """Stage a fund's project (its fund already checked by the caller: ``create_project``,
    or a service project's creation, whose own rule says who may)."""
    if await tx.get("project", args.id) is not None:
        raise Rejected("already_exists", "项目编号已存在", "project id already exists", field="id")
    tx.insert("project", {
        "id": args.id, "fund_id": args.fund_id, "name": args.name,
        "description": args.description, "created_by": ctx.user_id, "created_at": ctx.now,
        "attachments": attachments.encode(args.attachments),
    })
    attachments.stage_refs(tx, "project", args.id, args.attachments)


async def may_attach_project(tx: Tx, ctx: MutationContext, project: dict[str, Any],
                             after: list[AttachmentRef]) -> None:
    """Who creates a fund's projects (its station's managers, the federation) changes
    their photos; ``public: true`` shows one on the fund's public page."""
    fund = await live_fund(tx, project["fund_id"])
    if not works_for_fund(ctx.grant, fund, rank=MANAGER):
        raise forbidden("只有基金所在站点或慈善会的管理者可以更改项目照片",
                        "only the fund's station managers or the federation change a "
                        "project's photos")


def _fen(amount: int) -> str:
    return f"{amount / 100:,.2f}"


async def _check_affordable(
    tx: Tx, fund: Mapping[str, Any], project_id: str, amount: int, excluding: str | None = None
) -> None:
    available, elsewhere = await available_for(tx, fund["id"], project_id, excluding=excluding)
    if amount <= available:
        return
    if elsewhere and amount <= available + elsewhere:
        raise Rejected(
            "restricted_funds",
            f"该项目可用 {_fen(available)} 元,不足 {_fen(amount)} 元;"
            f"另有 {_fen(elsewhere)} 元为定向捐赠,只能用于其指定的项目",
            f"only {_fen(available)} yuan is available for this project, {_fen(amount)} asked; "
            f"{_fen(elsewhere)} yuan is directed to other projects and cannot be spent here",
            field="amount_fen",
        )
    raise Rejected(
        "fund_insufficient",
        f"基金余额不足:可用 {_fen(available)} 元,申请 {_fen(amount)} 元",
        f"the fund cannot cover this: {_fen(available)} yuan available, {_fen(amount)} yuan asked",
        field="amount_fen",
    )


async def request_disbursement(tx: Tx, ctx: MutationContext, args: DisbursementRequestArgs) -> None:
    fund = await live_fund(tx, args.fund_id)
    if not works_for_fund(ctx.grant, fund):
        raise forbidden("只有基金所在站点的工作人员或慈善会可以申请拨付",
                        "only the fund's station staff or the federation request disbursements")
    project = await project_of(tx, args.project_id)
    if project["fund_id"] != args.fund_id:
        raise Rejected("invalid_args", "该项目不属于此基金", "the project belongs to another fund",
                       field="project_id")
    if await tx.get("disbursement", args.id) is not None:
        raise Rejected("already_exists", "拨付编号已存在", "disbursement id already exists", field="id")
    await _check_affordable(tx, fund, args.project_id, args.amount_fen)
    tx.insert("disbursement", _scoped({
        "id": args.id, "fund_id": args.fund_id, "project_id": args.project_id,
        "amount_fen": args.amount_fen, "payee": args.payee, "purpose": args.purpose,
        "category": args.category, "payee_kind": args.payee_kind,
        "payee_public": args.payee_public and args.payee_kind == "organisation",
        "status": "requested", "requested_by": ctx.user_id, "requested_at": ctx.now,
        "decided_by": None, "decided_at": None, "decision_note": "", "paid_by": None,
        "paid_at": None, "reference": None, "attachments": attachments.encode(args.attachments),
    }, fund))
    attachments.stage_refs(tx, "disbursement", args.id, args.attachments)
    await tx.emit(ctx, DisbursementAwaitingApproval(
        disbursement_id=args.id, fund_id=args.fund_id, fund_name=fund["name"],
        station=fund["station"], district=fund["district"], amount_fen=args.amount_fen,
        requested_by=ctx.user_id,
    ))


async def _disbursement(tx: Tx, disbursement_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    disbursement = await tx.get("disbursement", disbursement_id)
    if disbursement is None:
        raise not_found("拨付申请", "disbursement", disbursement_id, field="id")
    fund = await live_fund(tx, disbursement["fund_id"])
    return disbursement, fund


async def decide_disbursement(tx: Tx, ctx: MutationContext, args: DisbursementDecideArgs) -> None:
    disbursement, fund = await _disbursement(tx, args.id)
    if not holds_fund(ctx.grant, fund):
        raise forbidden("只有慈善会的管理者可以审批拨付",
                        "only the federation's managers approve disbursements")
    if disbursement["requested_by"] == ctx.user_id:
        raise forbidden("申请人不能审批自己的申请", "the requester cannot approve their own request")
    if disbursement["status"] != "requested":
        raise Rejected("already_decided", "该申请已处理", "this request was already decided", field="id")
    if args.decision == "approve":
        await _check_affordable(tx, fund, disbursement["project_id"], disbursement["amount_fen"],
                                excluding=args.id)
    tx.update("disbursement", args.id, {
        "status": "approved" if args.decision == "approve" else "rejected",
        "decided_by": ctx.user_id, "decided_at": ctx.now, "decision_note": args.note,
    })
    audit.stage(tx, ctx, f"disbursement.{args.decision}", "disbursement", args.id,
                station=fund["station"], district=fund["district"],
                detail={"fund": fund["id"], "amount_fen": int(disbursement["amount_fen"])})
    if args.decision == "approve":
        reserved = int(fund["reserved_fen"]) + int(disbursement["amount_fen"])
        tx.update("fund", fund["id"], {"reserved_fen": reserved})
        await announce_balance(tx, ctx, {**fund, "reserved_fen": reserved})
    await tx.emit(ctx, DisbursementDecided(
        disbursement_id=args.id, fund_id=fund["id"], fund_name=fund["name"],
        station=fund["station"], district=fund["district"],
        amount_fen=int(disbursement["amount_fen"]),
        decision="approved" if args.decision == "approve" else "rejected",
        requested_by=disbursement["requested_by"], decided_by=ctx.user_id,
    ))


async def _check_invoice(tx: Tx, disbursement: dict[str, Any]) -> None:
    """Above ``disbursement_invoice_line_fen`` a payment needs its invoice or receipt
    (an ``invoice`` attachment) on the server: referred to is not enough, the file must
    have fully arrived (the payer can open it)."""
    amount = int(disbursement["amount_fen"])
    line = attachments.rules_of(tx.registry).disbursement_invoice_line_fen
    if amount <= line:
        return
    invoices = [r.sha256 for r in attachments.decode(disbursement["attachments"])
                if r.kind == "invoice"]
    if await attachments.arrived(tx, invoices):
        return
    waiting = "(发票照片尚未上传完成)" if invoices else ""
    raise Rejected("invoice_required",
                   f"拨付 {_fen(amount)} 元超过 {_fen(line)} 元,须先附发票或收据照片{waiting}",
                   f"a disbursement of {_fen(amount)} yuan, above {_fen(line)} yuan, needs its "
                   "invoice or receipt photo first"
                   + (" (the photo has not finished uploading)" if invoices else ""),
                   field="attachments")


async def may_attach(tx: Tx, ctx: MutationContext, disbursement: dict[str, Any],
                     after: list[AttachmentRef]) -> None:
    """The fund's station staff or the federation add files; once paid, none is removed
    (the invoice is the payment's evidence)."""
    fund = await live_fund(tx, disbursement["fund_id"])
    if not works_for_fund(ctx.grant, fund):
        raise forbidden("只有基金所在站点的工作人员或慈善会可以附加文件",
                        "only the fund's station staff or the federation attach files here")
    if disbursement["status"] == "paid":
        kept = {r.sha256 for r in after}
        if any(r.sha256 not in kept for r in attachments.decode(disbursement["attachments"])):
            raise Rejected("already_paid", "已付款的拨付不能删除附件",
                           "a paid disbursement's files cannot be removed", field="sha256")


async def pay_disbursement(tx: Tx, ctx: MutationContext, args: DisbursementPayArgs) -> None:
    disbursement, fund = await _disbursement(tx, args.id)
    if not holds_fund(ctx.grant, fund):
        raise forbidden("只有慈善会的管理者可以付款", "only the federation's managers pay out")
    if ctx.user_id in (disbursement["requested_by"], disbursement["decided_by"]):
        raise forbidden("申请人或审批人不能付款(职责分离)",
                        "the requester or the approver cannot also pay (separation of duties)")
    if disbursement["status"] != "approved":
        raise Rejected("not_approved", "该申请未获批准,不能付款",
                       "this request is not approved; it cannot be paid", field="id")
    project_id = disbursement["project_id"]
    amount = int(disbursement["amount_fen"])
    await _check_invoice(tx, disbursement)
    await _check_affordable(tx, fund, project_id, amount, excluding=args.id)
    rows = await tx.query(
        select(func.sum(ledger_entries.c.amount_fen)).where(
            ledger_entries.c.fund_id == fund["id"],
            ledger_entries.c.account == project_account(project_id),
        )
    )
    restricted = max(0, int(rows.scalar() or 0))
    from_restricted = min(restricted, amount)
    refs: dict[str, str | None] = {"disbursement_id": args.id, "project_id": project_id}
    note = f"{disbursement['payee']} · {args.reference}"
    counter = f"paid:project:{project_id}"
    if from_restricted:
        await post(tx, ctx, fund["id"], Movement(
            f"{args.id}:r", project_account(project_id), counter, -from_restricted,
            "disbursement", note, refs, disbursement["category"]))
    if amount - from_restricted:
        await post(tx, ctx, fund["id"], Movement(
            f"{args.id}:g", GENERAL, counter, -(amount - from_restricted), "disbursement", note,
            refs, disbursement["category"]))
    fund = await live_fund(tx, fund["id"])
    reserved = int(fund["reserved_fen"]) - amount
    tx.update("fund", fund["id"], {"reserved_fen": reserved})
    tx.update("disbursement", args.id, {
        "status": "paid", "paid_by": ctx.user_id, "paid_at": ctx.now, "reference": args.reference,
    })
    audit.stage(tx, ctx, "disbursement.pay", "disbursement", args.id, station=fund["station"],
                district=fund["district"], detail={"fund": fund["id"], "amount_fen": amount})
    await announce_balance(tx, ctx, {**fund, "reserved_fen": reserved})
    await tx.emit(ctx, DisbursementPaid(
        disbursement_id=args.id, fund_id=fund["id"], station=fund["station"],
        district=fund["district"], amount_fen=amount,
    ))


# ----------------------------------------------------------------------------- audit


@dataclass
class ChainReport:
    fund_id: str
    ok: bool
    entries: int
    head_seq: int
    head_hash: str
    balance_fen: int
    problems: list[str]


async def verify_fund(conn: AsyncConnection, fund_id: str) -> ChainReport | None:
    """Recompute the fund's chain, pairs and balance from the ledger rows as stored."""
    fund = (await conn.execute(select(funds).where(funds.c.id == fund_id))).mappings().first()
    if fund is None:
        return None
    rows = (await conn.execute(
        select(ledger_entries).where(ledger_entries.c.fund_id == fund_id)
        .order_by(ledger_entries.c.seq)
    )).mappings().all()
    problems: list[str] = []
    prev = GENESIS
    balance = 0
    movements: dict[str, int] = {}
    for expected_seq, row in enumerate(rows, start=1):
        if row["seq"] != expected_seq:
            problems.append(f"entry missing before seq {row['seq']} (expected {expected_seq})")
        if row["prev_hash"] != prev:
            problems.append(f"seq {row['seq']}: previous hash does not match the chain")
        if entry_hash(row, row["prev_hash"]) != row["hash"]:
            problems.append(f"seq {row['seq']}: content does not match its hash")
        if (why := note_problem(row)) is not None:
            problems.append(f"seq {row['seq']}: {why}")
        prev = row["hash"]
        movements[row["movement_id"]] = movements.get(row["movement_id"], 0) + row["amount_fen"]
        if str(row["account"]).startswith("fund:"):
            balance += int(row["amount_fen"])
    problems += [f"movement {m} does not balance ({s})" for m, s in movements.items() if s]
    if prev != fund["head_hash"] or len(rows) != fund["head_seq"]:
        problems.append("the chain does not end at the fund's published head")
    if balance != fund["balance_fen"]:
        problems.append(f"ledger balance {balance} differs from the fund's {fund['balance_fen']}")
    return ChainReport(fund_id, not problems, len(rows), int(fund["head_seq"]),
                       str(fund["head_hash"]), balance, problems)


def install(registry: Registry) -> None:
    registry.add_record_type(
        RecordType("fund", funds, "id", _fund_scope, _fund_wire, tombstone=None, shape=FundRecord))
    registry.add_record_type(
        RecordType("project", projects, "id", _project_scope, _project_wire, tombstone=None, shape=ProjectRecord))
    registry.add_record_type(
        RecordType("ledger_entry", ledger_entries, "id", _entry_scope, _entry_wire, tombstone=None, shape=LedgerEntryRecord))
    registry.add_record_type(RecordType(
        "disbursement", disbursements, "id", _disbursement_scope, _disbursement_wire,
        tombstone=None, shape=DisbursementRecord))
    by_fund = lambda row: [("fund", str(row["fund_id"]))]  # what the checks read
    attachments.allow(registry, "disbursement", may_attach, also_locks=by_fund)
    attachments.allow(registry, "project", may_attach_project, also_locks=by_fund)
    registry.mutation("fund.create", 1, FundCreateArgs, preload=(("fund", "id"),))(create_fund)
    registry.mutation("fund.seed", 1, FundSeedArgs, preload=(("fund", "fund_id"),))(seed_fund)
    registry.mutation("project.create", 1, ProjectCreateArgs,
                      preload=(("fund", "fund_id"), ("project", "id")))(create_project)
    registry.mutation("disbursement.request", 1, DisbursementRequestArgs,
                      preload=(("fund", "fund_id"), ("project", "project_id"))
                      )(request_disbursement)
    registry.mutation("disbursement.decide", 1, DisbursementDecideArgs,
                      preload=(("disbursement", "id"),))(decide_disbursement)
    registry.mutation("disbursement.pay", 1, DisbursementPayArgs,
                      preload=(("disbursement", "id"),))(pay_disbursement)


__all__ = [
    "ERASED",
    "GENERAL",
    "HASHED_FIELDS",
    "ChainReport",
    "Movement",
    "default_fund",
    "disbursements",
    "funds",
    "gift_booking",
    "holds_fund",
    "install",
    "ledger_entries",
    "live_fund",
    "note_digest",
    "post",
    "post_many",
    "project_account",
    "project_of",
    "projects",
    "request_disbursement",
    "seal_note",
    "stage_project",
    "verify_fund",
    "works_for_fund",
]
