"""Apply one device's batch of mutations: exactly once, in order, all in one transaction.

For each mutation, in ``id`` order: already applied (by id, or by ``key`` from any
client of the same user) -> ``duplicate`` with the stored outcome; otherwise look
up the mutator, decode and validate its args, authorise and run it in a frame of
the unit of work. Outcomes, effects, change-feed rows and the client's
``last_mutation_id`` commit together, so a crash or a lost response is harmless.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Awaitable, Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import msgspec
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from schemas.events import MutationFlagged
from schemas.wire import (
    PROTOCOL_VERSION,
    Message,
    Mutation,
    MutationResult,
    PushRequest,
    PushResponse,
)
from sync.db import RERUNS, Database, HotSql, database_unavailable, insert_tuples, sqlstate
from sync.errors import (
    MutationGap,
    ProtocolError,
    ProtocolTooOld,
    Rejected,
    SyncError,
    client_not_yours,
)
from sync.hlc import HybridLogicalClock, clamp
from sync.ids import uuid7
from sync.pokes import PokeSink
from sync.registry import Registry
from sync.scopes import Grant, GrantSource, grant_on
from sync.tables import mutations
from sync.timeutil import now_iso, now_ms
from sync.unit import AfterCommit, MutationContext, Tx, run_after_commit

log = logging.getLogger("sync.push")

MAX_CLOCK_LEAD_MS = 60_000
"""A device clock may lead the server by this much; beyond it its HLC is clamped."""

MAX_POISONED = 8
"""Failing mutations one push may set aside (each costs a rerun of the batch) before
the push gives up with a 500; the phone's retry then starts over."""

INTERNAL_ERROR = Message(
    zh="服务器处理此项时出错,已记录,未写入任何内容;请联系管理员",
    en="the server failed on this mutation; it was logged and nothing of it was written; "
       "please tell an administrator",
)

LOCK_RANK: tuple[str, ...] = (
    "station", "event", "campaign", "service_activity", "timebank_rate", "redemption_item",
    "fund", "project", "receipt_series",
    "volunteer", "volunteer_card", "hour_log", "redemption",
    "donation", "receipt", "donation_correction", "disbursement", "goods_stock",
    "timebank_account", "timebank_entry", "ledger_entry", "goods_movement",
)
"""The server's one lock order (docs/architecture.md, "Lock order"): rows are locked
by record type in this rank (types not named here after these, by name), then by id.
The batch preload follows it; a mutator that locks more later keeps to it too, or
locks only rows guarded by a row it already holds (a volunteer's hour logs under the
volunteer's profile)."""

_RANK = {name: rank for rank, name in enumerate(LOCK_RANK)}


def lock_rank(type_name: str) -> tuple[int, str]:
    return (_RANK.get(type_name, len(LOCK_RANK)), type_name)


Peek = Callable[[str, str], Awaitable[dict[str, Any] | None]]
LockPlan = Callable[[Peek, Grant, Any], Awaitable[Iterable[tuple[str, str]]]]
"""What a mutation will lock beyond its ``preload`` fields, worked out before anything
is locked: ``peek(type, id)`` reads a row without locking it (its parent's id, say)."""


def locks_first(plan: LockPlan) -> Callable[[Any], Any]:
    """Declare a mutator's lock plan: on PostgreSQL the batch preload locks what
    ``plan`` names together with the ``preload`` fields, all in ``LOCK_RANK`` order,
    before any mutator runs (the hour log's volunteer profile before the hour log,
    both Time Bank accounts of a transfer in id order)."""

    def attach(mutator: Any) -> Any:
        mutator.lock_plan = plan
        return mutator

    return attach


def locks_exclusive(*type_names: str) -> Callable[[Any], Any]:
    """Declare that a mutator writes (or serialises on) rows of these types of
    ``sync.unit.SHARE_LOCKED``, which batches otherwise lock only ``FOR SHARE``: a batch
    holding such a mutation locks them ``FOR UPDATE`` from its preload on, in the lock
    order, rather than upgrading a share lock later (two batches upgrading the same row
    deadlock). ``Tx.update`` refuses a row read under a share lock."""

    def attach(mutator: Any) -> Any:
        mutator.lock_exclusive = frozenset(type_names) | getattr(mutator, "lock_exclusive", frozenset())
        return mutator

    return attach


FAILED_MUTATION = "charity_failed_mutation"
"""Attribute set on an exception raised while a mutation ran: its id, so a rerun of
the batch can set exactly that mutation aside."""


@dataclass(frozen=True)
class PushLimits:
    max_batch: int = 5000
    min_protocol: int = 1


@dataclass
class PushOutcome:
    response: PushResponse
    poke_tags: set[str]
    after_commit: list[AfterCommit] = dataclasses.field(default_factory=list)
    """``Tx.after_commit`` hooks of the batch, run by ``push`` once it committed."""


def check_envelope(request: PushRequest, limits: PushLimits) -> None:
    """Refusals of the whole batch that need no database."""
    if request.protocol > PROTOCOL_VERSION:
        raise ProtocolError(
            400, "protocol_unknown",
            f"服务器不支持协议 {request.protocol}", f"protocol {request.protocol} is not supported",
        )
    if len(request.mutations) > limits.max_batch:
        raise ProtocolError(
            413, "batch_too_large",
            f"一批最多 {limits.max_batch} 条变更", f"at most {limits.max_batch} mutations per batch",
        )
    previous = 0
    for mutation in request.mutations:
        if mutation.id <= previous:
            raise ProtocolError(
                400, "ids_not_increasing",
                "变更编号必须严格递增", "mutation ids must strictly increase", field="mutations",
            )
        previous = mutation.id
    if request.protocol < limits.min_protocol and not request.mutations:
        raise ProtocolTooOld(limits.min_protocol)


async def push(
    db: Database,
    registry: Registry,
    clock: HybridLogicalClock,
    grant: GrantSource,
    request: PushRequest,
    limits: PushLimits = PushLimits(),
    pokes: PokeSink | None = None,
) -> PushOutcome:
    """Apply ``request`` in one write transaction.

    A database error is never a mutation's outcome: it ends the transaction (which
    PostgreSQL has aborted anyway). ``run_write`` reruns deadlocks, serialization
    failures and lost unique races; any other failure (or one that keeps recurring)
    gets one more run of the whole batch, this time writing after each mutation so a
    failure is pinned on the mutation that caused it. If that run fails too, the
    mutation it failed in is set aside (``rejected internal_error``, nothing of it
    written) and the batch runs again without it: no batch can jam a phone's queue.

    ``pokes``: where the batch's poke tags go (none: nobody is woken)."""
    check_envelope(request, limits)
    poisoned: set[int] = set()
    careful = False

    async def work(conn: AsyncConnection) -> PushOutcome:
        resolved = await grant_on(grant, conn)
        return await _apply_batch(conn, db, registry, clock, resolved, request, pokes, poisoned, careful)

    while True:
        try:
            outcome = await db.run_write(work)
        except Exception as exc:
            failed = getattr(exc, FAILED_MUTATION, None)
            if isinstance(exc, SyncError) and failed is None:
                raise  # a refusal of the whole request (4xx), decided before any mutator ran
            if database_unavailable(exc):
                raise  # no connection to be had: answered 503, the phone comes back later
            what = sqlstate(exc) or type(exc).__name__
            if not careful:
                careful = True
                RERUNS["batch"] += 1
                log.warning("rerun of a write transaction after %s: push of client %s failed "
                            "(mutation %s); running the batch again", what, request.client_id, failed,
                            exc_info=True)
                continue
            if failed is None or failed in poisoned or len(poisoned) >= MAX_POISONED:
                raise
            poisoned.add(failed)
            RERUNS["poisoned"] += 1
            log.error("rerun of a write transaction after %s: mutation %s of client %s failed again; "
                      "it is set aside as rejected internal_error", what, failed, request.client_id)
        else:
            if pokes is not None:
                pokes.committed(outcome.poke_tags)
            await run_after_commit(outcome.after_commit, pokes)
            return outcome


async def _apply_batch(
    conn: AsyncConnection,
    db: Database,
    registry: Registry,
    clock: HybridLogicalClock,
    grant: Grant,
    request: PushRequest,
    pokes: PokeSink | None,
    poisoned: Collection[int] = (),
    careful: bool = False,
) -> PushOutcome:
    """The batch in ``conn``'s transaction. ``poisoned``: ids of mutations set aside
    (rejected ``internal_error`` without running); ``careful``: write each mutation's
    rows as soon as it is kept, so a database error surfaces in the mutation that
    caused it (the rerun after a failure)."""
    now = now_iso()
    last = await _claim_client(conn, db, grant, request, now)
    batch = request.mutations
    fresh = [m for m in batch if m.id > last]
    if fresh and fresh[0].id != last + 1:
        raise MutationGap(last + 1)

    results: list[MutationResult] = []
    old_ids = [m.id for m in batch if m.id <= last]
    if old_ids:
        stored = await _stored_outcomes_by_id(conn, request.client_id, old_ids)
        for mutation_id in old_ids:
            results.append(_as_duplicate(mutation_id, stored.get(mutation_id)))
    if not fresh:
        await _touch_client(conn, request, now, last)
        return PushOutcome(PushResponse(last_mutation_id=last, results=results), set())

    txid = await db.next_txid(conn)
    tx = Tx(conn, db, registry, txid)
    known_keys = await _stored_outcomes_by_key(conn, grant.user_id, [m.key for m in fresh])
    decoded = [_decode_args(registry, m) for m in fresh]
    await _preload(tx, registry, grant, fresh, decoded)
    outcome_rows: list[tuple[Any, ...]] = []
    ceiling = now_ms() + MAX_CLOCK_LEAD_MS
    stamps = [clamp(m.hlc, ceiling) for m in fresh]
    # one merge into the server clock for the whole batch: its next stamp is later than
    # every stamp of the batch, as it would be after merging them one by one
    clock.observe(max(stamps))
    client_id, user_id = request.client_id, grant.user_id
    for mutation, args, stamp in zip(fresh, decoded, stamps):
        earlier = known_keys.get(mutation.key)
        if earlier is not None:
            results.append(_as_duplicate(mutation.id, earlier))
            outcome_rows.append((
                client_id, mutation.id, user_id, None, mutation.name, mutation.version,
                "duplicate", earlier.get("code"), earlier.get("message"), earlier.get("issue_id"),
                txid, now,
            ))
            continue
        if mutation.id in poisoned:
            result = _set_aside(tx, grant, client_id, mutation, now, stamp, clock)
        else:
            result = await _apply_one(tx, registry, clock, grant, client_id, mutation, args, now, stamp)
            if careful:
                try:  # write it now; on PostgreSQL also shows an aborted transaction
                    await tx.query(text("SELECT 1"))
                except Exception as exc:
                    _blame(exc, mutation.id)
                    raise
        results.append(result)
        message = msgspec.json.encode(result.message).decode() if result.message else None
        outcome_rows.append((
            client_id, mutation.id, user_id, mutation.key, mutation.name, mutation.version,
            result.status, result.code, message, result.issue_id, txid, now,
        ))
        known_keys[mutation.key] = {"code": result.code, "message": message, "issue_id": result.issue_id}

    tags = await tx.flush()
    await insert_tuples(conn, mutations, OUTCOME_COLUMNS, outcome_rows)
    new_last = fresh[-1].id
    await _touch_client(conn, request, now, new_last)
    # last: rows many batches share (a fund's chain head) are locked from here to commit
    tags |= await tx.finish()
    if pokes is not None:
        await pokes.stage(conn, tags)
    return PushOutcome(PushResponse(last_mutation_id=new_last, results=results), tags,
                       list(tx.committed_hooks.values()))


async def _apply_one(
    tx: Tx,
    registry: Registry,
    clock: HybridLogicalClock,
    grant: Grant,
    client_id: str,
    mutation: Mutation,
    args: Any,
    now: str,
    stamp: str,
) -> MutationResult:
    """Run one mutation in a frame of ``tx``; ``stamp`` is its HLC, clamped and
    already merged into ``clock``."""
    spec = registry.find(mutation.name, mutation.version)
    ctx = MutationContext(
        grant=grant,
        client_id=client_id,
        mutation_id=mutation.id,
        key=mutation.key,
        name=mutation.name,
        version=mutation.version,
        hlc=stamp,
        now=now,
        clock=clock,
    )
    try:
        if spec is None:
            if registry.knows_name(mutation.name):
                raise Rejected(
                    "invalid_args", f"未知的变更版本 {mutation.name}@{mutation.version}",
                    f"unknown version {mutation.version} of mutation {mutation.name}", field="version",
                )
            raise Rejected(
                "invalid_args", f"未知的变更类型 {mutation.name}",
                f"unknown mutation {mutation.name}", field="name",
            )
        if spec.retired:
            raise Rejected(
                "mutation_retired", f"此版本的操作已停用({mutation.name}@{mutation.version}),请重新录入",
                f"{mutation.name}@{mutation.version} is retired; please enter it again",
            )
        if isinstance(args, Rejected):
            raise args
        await spec.mutator(tx, ctx, args)
    except Rejected as refusal:
        tx.drop_frame()
        issue_id = _record_issue(tx, ctx, "rejected", refusal.code, refusal.message)
        tx.keep_frame()
        return MutationResult(mutation.id, "rejected", refusal.code, refusal.message, issue_id)
    except Exception as exc:
        # A bug or a database error: never an outcome. The transaction ends here (on
        # PostgreSQL a database error has aborted it already); ``push`` reruns the
        # batch and, if this mutation fails again, sets it aside.
        _blame(exc, mutation.id)
        raise
    if ctx.flags:
        code, zh, en = ctx.flags[0]
        message = Message(zh=zh, en=en)
        issue_id = _record_issue(tx, ctx, "flagged", code, message)
        await tx.emit(ctx, MutationFlagged(
            issue_id=issue_id, code=code, mutation=ctx.name, user_id=ctx.user_id,
            station=ctx.grant.station, district=ctx.grant.district,
        ))
        tx.keep_frame()
        return MutationResult(mutation.id, "flagged", code, message, issue_id)
    tx.keep_frame()
    return MutationResult(mutation.id, "applied")


def _blame(exc: BaseException, mutation_id: int) -> None:
    """Remember on ``exc`` which mutation was running (the first to see it keeps it)."""
    if getattr(exc, FAILED_MUTATION, None) is None:
        try:
            setattr(exc, FAILED_MUTATION, mutation_id)
        except AttributeError:  # pragma: no cover - an exception type without a __dict__
            pass


def _set_aside(
    tx: Tx, grant: Grant, client_id: str, mutation: Mutation, now: str, stamp: str,
    clock: HybridLogicalClock,
) -> MutationResult:
    """A mutation the server failed on twice: rejected ``internal_error`` without running
    it, so nothing of it is written and the rest of the batch applies."""
    ctx = MutationContext(
        grant=grant, client_id=client_id, mutation_id=mutation.id, key=mutation.key,
        name=mutation.name, version=mutation.version, hlc=stamp, now=now, clock=clock,
    )
    issue_id = _record_issue(tx, ctx, "rejected", "internal_error", INTERNAL_ERROR)
    tx.keep_frame()
    return MutationResult(mutation.id, "rejected", "internal_error", INTERNAL_ERROR, issue_id)


def _decode_args(registry: Registry, mutation: Mutation) -> Any:
    """The args Struct, a ``Rejected`` for args that do not fit it, or None when the
    mutation itself is unknown or retired (``_apply_one`` says why)."""
    spec = registry.find(mutation.name, mutation.version)
    if spec is None or spec.retired:
        return None
    try:
        return msgspec.json.decode(mutation.args, type=spec.args_type)
    except msgspec.ValidationError as exc:
        return _invalid_args(str(exc))
    except msgspec.DecodeError as exc:
        return _invalid_args(f"args are not valid JSON: {exc}")


async def _preload(
    tx: Tx, registry: Registry, grant: Grant, batch: Sequence[Mutation], decoded: Sequence[Any]
) -> None:
    """Fetch every record the batch's mutators will read, one query per record type.

    On PostgreSQL this is also where the batch takes its row locks, all of them in the
    server's one lock order (``LOCK_RANK``, then id; ``FOR SHARE`` for the types of
    ``sync.unit.SHARE_LOCKED`` no mutator of the batch writes): the records named by the
    ``preload`` fields and those the mutators' lock plans (``locks_first``) name, which
    may be found by peeking (unlocked) at the former. Two batches then wait for each
    other instead of each holding what the other wants."""
    wanted: dict[str, dict[str, None]] = {}
    planned: list[tuple[LockPlan, Any]] = []
    for mutation, args in zip(batch, decoded):
        if args is None or isinstance(args, Rejected):
            continue
        spec = registry.find(mutation.name, mutation.version)
        assert spec is not None
        tx.exclusive.update(getattr(spec.mutator, "lock_exclusive", ()))
        for type_name, field in spec.preload:
            value = args
            for part in field.split("."):  # "receipt.number": a field of a nested Struct
                value = getattr(value, part, None)
            if isinstance(value, str):
                wanted.setdefault(type_name, {})[value] = None
        plan = getattr(spec.mutator, "lock_plan", None)
        if plan is not None and tx.db.is_postgres:
            planned.append((plan, args))
    if planned:
        peeked: dict[tuple[str, str], dict[str, Any] | None] = {}

        async def peek(type_name: str, record_id: str) -> dict[str, Any] | None:
            """Unlocked; the first peek at a type reads every id the batch names of it."""
            if (type_name, record_id) not in peeked:
                ids = [i for i in (*wanted.get(type_name, ()), record_id) if (type_name, i) not in peeked]
                found = await tx.peek(type_name, ids)
                for i in ids:
                    peeked[(type_name, i)] = found.get(i)
            return peeked[(type_name, record_id)]

        for plan, args in planned:
            for type_name, record_id in await plan(peek, grant, args):
                wanted.setdefault(type_name, {})[record_id] = None
    for type_name in sorted(wanted, key=lock_rank):
        await tx.preload(type_name, sorted(wanted[type_name]))


def _invalid_args(detail: str) -> Rejected:
    """A validator's complaint as a person can read it: a text rule (a regex pattern) is
    named for what it means, not shown as the pattern."""
    field = None
    if " - at `" in detail:
        field = detail.rsplit(" - at `", 1)[1].rstrip("`")
        field = field.replace("$.", "", 1) if field.startswith("$.") else field
    where_zh = f"(字段 {field})" if field else ""
    where_en = f" (field {field})" if field else ""
    if "matching regex" in detail:
        at = f" - at `$.{field}`" if field else ""
        return Rejected(
            "invalid_args",
            f"参数不正确{where_zh}:含有不允许的字符(如控制字符或换行)或格式不对",
            f"invalid args{where_en}: a character that is not allowed (a control character or "
            f"line break) or a wrong format{at}",
            field=field,
        )
    return Rejected("invalid_args", f"参数不正确{where_zh}:{detail}", f"invalid args: {detail}", field=field)


def _record_issue(tx: Tx, ctx: MutationContext, status: str, code: str, message: Message) -> str:
    issue_id = uuid7()
    tx.insert(
        "sync_issue",
        {
            "id": issue_id,
            "client_id": ctx.client_id,
            "mutation_id": ctx.mutation_id,
            "mutation": ctx.name[:64],
            "status": status,
            "code": code,
            "message": json.dumps({"zh": message.zh, "en": message.en}, ensure_ascii=False),
            "user_id": ctx.user_id,
            "station": ctx.grant.station,
            "district": ctx.grant.district,
            "created_at": ctx.now,
            "subject": ctx.subject if status == "flagged" else None,
            "resolved_at": None,
            "resolved_by": None,
        },
    )
    return issue_id


CLAIM_CLIENT = HotSql("SELECT token_id, last_mutation_id FROM clients WHERE client_id = :client")
CLAIM_CLIENT_LOCKED = HotSql(CLAIM_CLIENT.sql + " FOR UPDATE")
NEW_CLIENT = HotSql(
    "INSERT INTO clients (client_id, token_id, user_id, last_mutation_id, pending_count, created_at, "
    "last_seen_at) VALUES (:client, :token, :user, 0, :pending, :now, :now)"
)
TOUCH_CLIENT = HotSql(
    "UPDATE clients SET last_mutation_id = :last, last_seen_at = :now, pending_count = :pending "
    "WHERE client_id = :client"
)


async def _claim_client(
    conn: AsyncConnection, db: Database, grant: Grant, request: PushRequest, now: str
) -> int:
    """Lock this client's row (one batch per client at a time) and return its
    ``last_mutation_id``; a client id belongs to the token that first used it."""
    claim = CLAIM_CLIENT_LOCKED if db.is_postgres else CLAIM_CLIENT
    found = await claim.rows(conn, client=request.client_id)
    if not found:
        await NEW_CLIENT.execute(
            conn, client=request.client_id, token=grant.token_id, user=grant.user_id,
            pending=request.pending, now=now,
        )
        return 0
    if found[0]["token_id"] != grant.token_id:
        if not await same_device(conn, found[0]["token_id"], grant):
            raise client_not_yours()
        await REBIND_CLIENT.execute(conn, token=grant.token_id, client=request.client_id)
    return int(found[0]["last_mutation_id"])


SAME_DEVICE = HotSql("SELECT user_id, device_id FROM device_tokens WHERE id = :token")
REBIND_CLIENT = HotSql("UPDATE clients SET token_id = :token WHERE client_id = :client")


async def same_device(conn: Any, old_token_id: str, grant: Grant) -> bool:
    """A phone enrolled again (same person, same ``device_id``) keeps its client id, so
    its queued mutations go on where they were (docs/accounts.md)."""
    if grant.device_id is None:
        return False
    rows = await SAME_DEVICE.rows(conn, token=old_token_id)
    return bool(rows) and rows[0]["user_id"] == grant.user_id and rows[0]["device_id"] == grant.device_id


async def _touch_client(
    conn: AsyncConnection, request: PushRequest, now: str, last_mutation_id: int
) -> None:
    """One update per batch: progress, when the device was last heard of, what it holds."""
    await TOUCH_CLIENT.execute(
        conn, last=last_mutation_id, now=now, pending=request.pending, client=request.client_id
    )


_OUTCOME = 'SELECT mutation_id, "key", code, message, issue_id FROM mutations'
"""What a duplicate repeats of a stored outcome (and the two columns it is found by)."""
OUTCOMES_BY_ID = HotSql(_OUTCOME + " WHERE client_id = :owner AND mutation_id :values[bigint]")
OUTCOMES_BY_KEY = HotSql(_OUTCOME + ' WHERE user_id = :owner AND "key" :values[]')


async def _stored_outcomes(
    conn: AsyncConnection, query: HotSql, column: str, owner: str, values: Sequence[Any]
) -> dict[Any, dict[str, Any]]:
    """Stored outcome rows of ``owner`` whose ``column`` is one of ``values`` (one query)."""
    rows = await query.rows(conn, owner=owner, values=list(dict.fromkeys(values)))
    return {row[column]: row for row in rows}


async def _stored_outcomes_by_id(
    conn: AsyncConnection, client_id: str, ids: Sequence[int]
) -> dict[int, dict[str, Any]]:
    return await _stored_outcomes(conn, OUTCOMES_BY_ID, "mutation_id", client_id, ids)


async def _stored_outcomes_by_key(
    conn: AsyncConnection, user_id: str, keys: Sequence[str]
) -> dict[str, dict[str, Any]]:
    return await _stored_outcomes(conn, OUTCOMES_BY_KEY, "key", user_id, keys)


OUTCOME_COLUMNS = (
    "client_id", "mutation_id", "user_id", "key", "name", "version", "status", "code", "message",
    "issue_id", "txid", "applied_at",
)
"""The columns of an outcome row, in the order ``_apply_batch`` builds them."""


def _as_duplicate(mutation_id: int, stored: dict[str, Any] | None) -> MutationResult:
    """Repeat the stored outcome: a rejected one stays visible as its code and message."""
    if stored is None:
        return MutationResult(mutation_id, "duplicate")
    message = None
    if stored.get("message"):
        message = msgspec.json.decode(stored["message"], type=Message)
    return MutationResult(
        mutation_id, "duplicate", stored.get("code"), message, stored.get("issue_id")
    )
