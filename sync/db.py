"""The database seam: one engine, short write transactions, the change-feed clock.

SQLite is the embedded default: WAL, a busy timeout, a single write path with
group commit (``SqliteWriter``: one synchronous connection, ``BEGIN IMMEDIATE``,
a savepoint per write transaction), checkpoints off the write path
(``Checkpointer``), reads through aiosqlite in a real snapshot (``BEGIN`` emitted
by us, not pysqlite's lazy one). PostgreSQL is
the scale-out path: writes in READ COMMITTED with row locks, pulls in
REPEATABLE READ, change ids from ``pg_current_xact_id()``.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import contextvars
import logging
import random
import re
import sqlite3
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from operator import itemgetter
from typing import Any, TypeVar

import msgspec
from sqlalchemy import Connection, Engine, Table, create_engine, event, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from sync.tables import sync_state

T = TypeVar("T")

log = logging.getLogger("sync.db")

RETRYABLE_PG_CODES = {"40001", "40P01", "23505"}
"""Serialization failure, deadlock, unique violation (a concurrent twin won): the
whole batch is rolled back and run again, which is safe because it is all-or-nothing.
``25P02`` (in failed transaction) is not among them: it only follows an earlier error
in the same transaction, and that earlier error is what decides (``sync.push`` never
carries on after a database error, so it is not seen there)."""

RERUNS: collections.Counter[str] = collections.Counter()
"""Write transactions run again in this process, by SQLSTATE (``run_write``) and by
``sync.push`` reason (``batch``, ``poisoned``); each one is also logged at WARNING
(``rerun of a write transaction after ...``), which is how a multi-worker server's
total is counted from its log."""


def normalise_url(url: str) -> str:
    """Accept plain ``postgresql://`` and ``sqlite:///`` URLs and pick the async drivers."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        return "postgresql+asyncpg://" + url[len("postgresql://") :]
    if url.startswith("sqlite:///"):
        return "sqlite+aiosqlite:///" + url[len("sqlite:///") :]
    return url


class Database:
    """Owns the SQLAlchemy engine and hands out read snapshots and write transactions."""

    def __init__(self, url: str, *, pool_size: int = 10, max_overflow: int | None = None,
                 echo: bool = False) -> None:
        self.url = normalise_url(url)
        self.is_postgres = self.url.startswith("postgresql")
        self.is_sqlite = self.url.startswith("sqlite")
        kwargs: dict[str, Any] = {"echo": echo}
        if self.is_postgres:
            kwargs.update(
                pool_size=pool_size,
                max_overflow=pool_size * 2 if max_overflow is None else max_overflow,
                pool_timeout=POOL_TIMEOUT_SECONDS,
                pool_pre_ping=False,
                # asyncpg prepares every statement; a generic plan chosen while the tables
                # were empty would scan whole tables once they are full
                # and no JIT: the feed's page query (a CASE over every record type) is
                # costed above jit_above_cost, and compiling it took 76 of its 115 ms
                connect_args={"server_settings": {"plan_cache_mode": "force_custom_plan", "jit": "off"}},
            )
        else:
            kwargs.update(connect_args={"timeout": 30})
        self.engine: AsyncEngine = create_async_engine(self.url, **kwargs)
        self._writer: SqliteWriter | None = None
        self._grown = 0
        self._analyzing: asyncio.Task[list[str]] | None = None
        if self.is_sqlite:
            _install_sqlite_hooks(self.engine.sync_engine)
            self._writer = SqliteWriter(self.url.replace("sqlite+aiosqlite://", "sqlite://", 1))

    async def dispose(self) -> None:
        if self._analyzing is not None:
            with contextlib.suppress(Exception):
                await self._analyzing
        if self._writer is not None:
            await asyncio.to_thread(self._writer.close)
        await self.engine.dispose()

    @contextlib.asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A consistent snapshot for reads that span several statements."""
        async with self.engine.connect() as conn:
            if self.is_postgres:
                conn = await conn.execution_options(
                    isolation_level="REPEATABLE READ", postgresql_readonly=True
                )
            async with conn.begin():
                yield conn

    async def run_write(
        self, work: Callable[[AsyncConnection], Awaitable[T]], *, attempts: int = 6
    ) -> T:
        """Run ``work`` in one write transaction (all of it or none of it).

        SQLite: in the single writer's next round of group commit, inside a savepoint
        of its own (``SqliteWriter``). PostgreSQL: again from scratch after a
        deadlock, serialization failure or lost unique race."""
        if self._writer is not None:
            return await self._writer.run(work)
        for attempt in range(attempts):
            try:
                async with self.engine.connect() as conn, conn.begin():
                    return await work(conn)
            except DBAPIError as exc:
                if attempt == attempts - 1 or not _retryable(exc):
                    raise
                code = sqlstate(exc) or "unique"
                RERUNS[code] += 1
                log.warning("rerun of a write transaction after %s (attempt %d of %d): %s",
                            code, attempt + 2, attempts, str(exc.orig or exc).split("\n", 1)[0])
                await asyncio.sleep(random.uniform(0, 0.01 * 2**attempt))
        raise AssertionError("unreachable")

    def note_growth(self, rows: int) -> None:
        """``rows`` change-feed rows were just written. PostgreSQL: every
        ``GROWTH_CHECK_ROWS`` of them (per process) look, in the background, for tables
        grown well past what the planner's statistics say and ``ANALYZE`` them, so the
        feed's plan is right straight after bulk growth (a charity day, a first import)
        instead of after autovacuum's next round; ``ANALYZED`` counts them."""
        if not self.is_postgres:
            return
        self._grown += rows
        if self._grown < GROWTH_CHECK_ROWS or self._analyzing is not None:
            return
        self._grown = 0
        self._analyzing = asyncio.get_running_loop().create_task(self._analyze_if_stale())

    async def _analyze_if_stale(self) -> list[str]:
        done: list[str] = []
        try:
            async with self.engine.connect() as conn:
                conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
                # one process at a time (the others' check finds the statistics fresh)
                if not (await conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": ANALYZE_LOCK})).scalar():
                    return done
                try:
                    stale = (await conn.execute(text(STALE_TABLES_SQL), {
                        "fraction": STALE_FRACTION, "floor": STALE_FLOOR_ROWS})).scalars().all()
                    if "changes" in stale:
                        # the feed outgrew what the planner believes: the whole database,
                        # as the pull's plan also weighs the small tables it joins
                        # (grants, clients) whose own counts barely moved
                        await conn.exec_driver_sql("ANALYZE")
                        stale = ["changes", "*"]
                    else:
                        for name in stale:
                            await conn.exec_driver_sql(f'ANALYZE "{name}"')
                    for name in stale:
                        ANALYZED[str(name)] += 1
                        done.append(str(name))
                finally:
                    await conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": ANALYZE_LOCK})
            if done:
                log.info("planner statistics refreshed after growth: %s", ", ".join(done))
        except Exception:  # never a request's failure; autovacuum still gets there later
            log.warning("refreshing planner statistics after growth failed", exc_info=True)
        finally:
            self._analyzing = None
        return done

    async def refresh_statistics(self) -> None:
        """Planner statistics: without them SQLite may scan the change feed by type
        and PostgreSQL plans for empty tables. Run on start and after a prune."""
        if self._writer is not None:  # ANALYZE writes: SQLite's single write path

            async def analyze(conn: Any) -> None:
                await conn.exec_driver_sql("ANALYZE")

            await self._writer.run(analyze)
            return
        async with self.engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.exec_driver_sql("ANALYZE")

    async def next_txid(self, conn: AsyncConnection) -> int:
        """The change-feed clock of this write transaction.

        PostgreSQL: the transaction's own xid (``pg_current_xact_id``), so a reader can
        stop below the oldest transaction still in flight. SQLite: a counter read once
        per group commit under the write lock and handed out in memory (see
        ``SqliteWriter``); writers are serialised, so counter order is commit order."""
        if self.is_postgres:
            return int((await conn.execute(text("SELECT pg_current_xact_id()::text::bigint"))).scalar_one())
        return int(conn.next_txid())  # type: ignore[attr-defined]

    async def visible_horizon(self, conn: AsyncConnection) -> int:
        """Every change with txid below this is committed and visible in ``conn``'s
        snapshot, and no change with a lower txid can ever appear later (PostgreSQL:
        ``PG_HORIZON_SQL``; SQLite: the next write transaction's number)."""
        if self.is_postgres:
            return int((await conn.execute(text(PG_HORIZON_SQL))).scalar_one())
        value = (
            await conn.execute(
                select(sync_state.c.int_value).where(sync_state.c.key == "tx_counter")
            )
        ).scalar_one()
        return int(value) + 1


GROWTH_CHECK_ROWS = 2_000
"""Change rows a process writes between two looks for stale planner statistics."""
STALE_FRACTION = 0.1
STALE_FLOOR_ROWS = 1_000
"""A table is analysed when rows changed since its last ANALYZE exceed this floor plus
this fraction of the rows it had before them (autovacuum's own rule, with a tenth of
its floor, checked as the rows arrive rather than once a minute)."""
ANALYZE_LOCK = 0x63_68_61_72_69_74_79  # "charity": the advisory lock of the refresh
ANALYZED: collections.Counter[str] = collections.Counter()
"""Tables analysed after growth by this process (``Database.note_growth``)."""
STALE_TABLES_SQL = """
SELECT 'changes' WHERE (
  SELECT coalesce(max(seq) - min(seq) + 1, 0) FROM changes
) > :floor + (1 + :fraction) * greatest((
  SELECT reltuples FROM pg_class WHERE oid = to_regclass('changes')), 0)
UNION
SELECT relname FROM pg_stat_user_tables
 WHERE schemaname = current_schema() AND relname <> 'changes'
   AND n_mod_since_analyze > :floor + :fraction * greatest(n_live_tup - n_mod_since_analyze, 0)
"""
"""The change feed is judged by what the planner believes (``pg_class.reltuples``, -1
before any ANALYZE) against its span of ``seq`` (two index probes), so the look sees
growth at once; other tables by the statistics collector's counts of changed rows,
which reach it within seconds."""

PG_HORIZON_SQL = """
WITH snap AS (SELECT pg_current_snapshot() AS s)
SELECT coalesce(
  (SELECT min(x::text::bigint) FROM snap, pg_snapshot_xip(snap.s) AS x
    WHERE NOT EXISTS (
      SELECT 1 FROM pg_stat_activity AS a
       WHERE a.backend_xid = x::xid AND a.datname IS DISTINCT FROM current_database())),
  (SELECT pg_snapshot_xmax(snap.s)::text::bigint FROM snap))
"""
"""The oldest transaction in flight in our snapshot, ignoring those that
``pg_stat_activity`` shows running in *another* database (xids are cluster-wide, so a
long transaction elsewhere on the server would otherwise hold every pull back). An
in-flight xid we cannot place (finished since, a subtransaction, not visible to our
role) still counts: the horizon may lag, it never passes a change."""


def sqlstate(exc: BaseException) -> str | None:
    """The SQLSTATE of a database error (SQLAlchemy-wrapped or the driver's own), or None."""
    orig = getattr(exc, "orig", None) or exc
    code = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if code is None:
        code = getattr(getattr(orig, "__cause__", None), "sqlstate", None)
    return str(code) if code is not None else None


UNAVAILABLE_PG_CODES = frozenset({"53300", "53000", "57P03", "08001", "08004", "08006"})
"""too_many_connections, insufficient_resources, cannot_connect_now and failures to
connect: the database cannot take this request now, it has not seen it."""

POOL_TIMEOUT_SECONDS = 10.0
"""How long a request waits for a free pooled connection before it is answered 503."""


def database_unavailable(exc: BaseException) -> bool:
    """The request failed because the database could not take it now (no connection
    left on the server, none free in the pool, the server starting or unreachable), not
    because of what it asked: answered 503 with Retry-After, like load shedding. Nothing
    of the request was written: it failed before or at its connection."""
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, PoolTimeout | ConnectionRefusedError):
            return True
        if sqlstate(current) in UNAVAILABLE_PG_CODES:
            return True
        current = current.__cause__ or current.__context__
    return False


async def postgres_connection_budget(url: str) -> int:
    """Connections this server may open: PostgreSQL's ``max_connections`` less its
    superuser reserve and a fifth (at least 10) for tools, the command line, backups and
    other clients."""
    import asyncpg

    conn = await asyncpg.connect(normalise_url(url).replace("postgresql+asyncpg://", "postgresql://", 1))
    try:
        total = int(await conn.fetchval("SHOW max_connections"))
        reserved = int(await conn.fetchval("SHOW superuser_reserved_connections"))
    finally:
        await conn.close()
    return max(4, total - reserved - max(10, total // 5))


def pool_shape(budget: int, workers: int, pool_size: int, background: int = 3) -> tuple[int, int, int]:
    """(pool size, max overflow, sync requests at once) of one worker process when the
    server's workers share ``budget`` connections: the pool never asks for more than its
    share, and the worker runs no more sync requests at once than its pool can serve
    beside its ``background`` tasks (notifications, sweeps), so a burst waits in the
    request gate (and is shed there with Retry-After) rather than in the pool."""
    share = max(background + 1, budget // max(1, workers) - 1)  # - its LISTEN connection (sync.pokes)
    size = min(pool_size, share)
    return size, share - size, share - background


def _retryable(exc: DBAPIError) -> bool:
    code = sqlstate(exc)
    if code in RETRYABLE_PG_CODES:
        return True
    return isinstance(exc, IntegrityError) and "unique" in str(exc).lower()


def _install_sqlite_hooks(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA cache_size=-65536")  # 64 MiB: the indexes of a busy event stay hot
        cursor.execute("PRAGMA mmap_size=268435456")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        immediate = conn.get_execution_options().get("sqlite_immediate", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


class _WriterConnection:
    """The awaitable face of the writer's synchronous connection (awaiting it never
    suspends). It offers what the write path uses of AsyncConnection, the sqlite3
    connection under it, and the change clock of the round being committed."""

    def __init__(self, conn: Connection, clock: _RoundClock) -> None:
        self.sync_connection = conn
        self.dialect = conn.dialect
        self._clock = clock
        dbapi = conn.connection.dbapi_connection
        assert dbapi is not None
        self.dbapi: Any = dbapi
        """The sqlite3 connection under it, for the hot statements (``HotSql``, ``insert_many``):
        inside one write transaction there is nothing for SQLAlchemy to add."""

    async def execute(self, statement: Any, parameters: Any = None) -> Any:
        return self.sync_connection.execute(statement, parameters)

    async def exec_driver_sql(self, statement: str, parameters: Any = None) -> Any:
        return self.sync_connection.exec_driver_sql(statement, parameters)

    def next_txid(self) -> int:
        return self._clock.next_txid()


class _RoundClock:
    """The change clock inside one group commit: read once under the write lock,
    handed out in memory, written back once before COMMIT."""

    def __init__(self, first: int) -> None:
        self.read = first
        self.value = first

    def next_txid(self) -> int:
        self.value += 1
        return self.value


TX_COUNTER_READ = "SELECT int_value FROM sync_state WHERE key = 'tx_counter'"
TX_COUNTER_WRITE = "UPDATE sync_state SET int_value = ? WHERE key = 'tx_counter'"


def _in_caller_context(work: Callable[[Any], Awaitable[T]]) -> Callable[[Any], Awaitable[T]]:
    """``work`` running in the single writer's task with the caller's context variables
    set (the request id and client address a mutator's audit row records), as on
    PostgreSQL where it runs in the caller's own task."""
    caller = contextvars.copy_context()

    async def run(conn: Any) -> T:
        tokens = [(var, var.set(value)) for var, value in caller.items()]
        try:
            return await work(conn)
        finally:
            for var, token in reversed(tokens):
                var.reset(token)

    return run


class SqliteWriter:
    """SQLite's single write path, with group commit.

    One synchronous connection, used on the event loop itself: a write transaction
    of a push is short, and running it in place costs no thread hop and no hand-over
    of the GIL per statement. Write transactions that arrive while a round runs queue
    up; the next round runs all of them in one ``BEGIN IMMEDIATE ... COMMIT``, each
    inside its own SAVEPOINT: a work that raises is rolled back to its savepoint alone
    and gets its exception, the others commit. Nobody hears of success before the
    COMMIT, which runs in a thread (SQLite writes the WAL without the GIL) while the
    loop reads the next requests. One commit (and one write of the WAL pages they
    share) for many small pushes is what keeps 200 phones pushing at once from
    queueing behind each other's commits."""

    MAX_GROUP = 256
    """Works per round: bounds how long the first of a round waits for the last."""

    def __init__(self, url: str) -> None:
        self.engine = create_engine(
            url, connect_args={"timeout": 30, "check_same_thread": False}, pool_size=1, max_overflow=0
        )
        _install_sqlite_hooks(self.engine)
        event.listen(self.engine, "connect", _no_autocheckpoint)
        self._checkpointer = Checkpointer(self.engine.url.database or "")
        self._queue: list[tuple[Callable[[Any], Awaitable[Any]], asyncio.Future[Any]]] = []
        self._draining = False
        self._conn: Connection | None = None
        self.rounds = 0
        """Rounds committed so far (each one ``BEGIN IMMEDIATE ... COMMIT``)."""

    async def run(self, work: Callable[[Any], Awaitable[T]]) -> T:
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._queue.append((_in_caller_context(work), future))
        if not self._draining:
            self._draining = True
            # the drain task starts from an empty context: each work sees its own caller's
            asyncio.get_running_loop().call_soon(self._start_drain, context=contextvars.Context())
        return await future

    def _start_drain(self) -> None:
        asyncio.get_running_loop().create_task(self._drain())

    async def _drain(self) -> None:
        try:
            while self._queue:
                group = self._queue[: self.MAX_GROUP]
                del self._queue[: self.MAX_GROUP]
                await self._commit_group(group)
                if self._checkpointer.wal_is_long:
                    await asyncio.to_thread(self._checkpointer.catch_up)
                await asyncio.sleep(0)  # let requests that arrived meanwhile join the next round
        finally:
            self._draining = False

    async def _commit_group(
        self, group: list[tuple[Callable[[Any], Awaitable[Any]], asyncio.Future[Any]]]
    ) -> None:
        live = [(work, future) for work, future in group if not future.cancelled()]
        if not live:
            return
        outcomes: list[tuple[asyncio.Future[Any], Any, BaseException | None]] = []
        try:
            conn = self._connection()
            transaction = conn.begin()  # BEGIN IMMEDIATE (see _install_sqlite_hooks)
            try:
                clock = _RoundClock(int(conn.exec_driver_sql(TX_COUNTER_READ).scalar_one()))
                writer_conn = _WriterConnection(conn, clock)
                raw = writer_conn.dbapi
                for work, future in live:
                    raw.execute("SAVEPOINT work")
                    try:
                        result = await work(writer_conn)
                    except Exception as exc:  # noqa: BLE001 - handed to the caller
                        raw.execute("ROLLBACK TO work")
                        raw.execute("RELEASE work")
                        outcomes.append((future, None, exc))
                    else:
                        raw.execute("RELEASE work")
                        outcomes.append((future, result, None))
                if clock.value != clock.read:
                    conn.exec_driver_sql(TX_COUNTER_WRITE, (clock.value,))
                # COMMIT writes the round's pages to the WAL: SQLite does that without the
                # GIL, so it runs in a thread while the loop reads the next requests
                await asyncio.to_thread(transaction.commit)
            except BaseException:
                if transaction.is_active:
                    transaction.rollback()
                raise
            self.rounds += 1
            self._checkpointer.poke()
        except BaseException as exc:  # the round failed whole: nothing of it committed
            self._close_connection()
            for _work, future in live:
                if future.done():
                    continue
                if isinstance(exc, Exception):
                    future.set_exception(exc)
                else:  # the writer itself is being cancelled (shutdown): nobody waits for ever
                    future.cancel()
            if not isinstance(exc, Exception):
                raise
            return
        for future, result, error in outcomes:
            if future.done():  # the caller went away; what it wrote is committed all the same
                continue
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(result)

    def _connection(self) -> Connection:
        if self._conn is None:
            self._conn = self.engine.connect().execution_options(sqlite_immediate=True)
        return self._conn

    def _close_connection(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.close()
            self._conn = None

    def close(self) -> None:
        self._close_connection()
        self._checkpointer.close()
        self.engine.dispose()


def _no_autocheckpoint(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.execute("PRAGMA wal_autocheckpoint=0")
    # when the WAL starts over, its file is cut back to this size
    dbapi_connection.execute(f"PRAGMA journal_size_limit={Checkpointer.RESTART_FRAMES * 4096}")


class Checkpointer:
    """Copies the WAL back into the database file from a thread of its own.

    SQLite's automatic checkpoint runs inside the COMMIT that crosses 1,000 WAL
    pages, and (``synchronous=NORMAL``) ends with fsyncs: every few pushes one of
    them paid for all the others. Here the writer only pokes after a commit; this
    thread runs ``wal_checkpoint(PASSIVE)`` on its own connection (no GIL held in
    SQLite, never waits for readers or the writer) at most every ``PAUSE`` seconds.

    The WAL starts over only when a write transaction begins right after a complete
    checkpoint; under steady writes the next one always begins first. So once the WAL
    holds ``RESTART_FRAMES``, the writer waits between two rounds for ``catch_up``
    (the few frames since the last pass), and the next round starts it over."""

    PAUSE = 0.2
    RESTART_FRAMES = 65_536
    """256 MiB of 4 KiB pages: a catch-up costs a round some 20-50 ms, so not often
    (a busy event's small pushes dirty many index pages per round)."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        self.frames = 0
        """WAL frames at the last checkpoint."""
        self._thread = threading.Thread(target=self._run, name="sqlite-checkpoint", daemon=True)
        self._thread.start()

    def poke(self) -> None:
        self._wake.set()

    @property
    def wal_is_long(self) -> bool:
        return self.frames >= self.RESTART_FRAMES

    def catch_up(self) -> None:
        """A checkpoint now, in the calling thread (the writer's, between two rounds)."""
        self._checkpoint("PASSIVE")

    def _checkpoint(self, mode: str) -> None:
        with self._lock, contextlib.suppress(sqlite3.Error):
            _busy, frames, _done = self._conn.execute(f"PRAGMA wal_checkpoint({mode})").fetchone()
            self.frames = int(frames)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait()
            self._wake.clear()
            if self._stop.is_set():
                break
            self._checkpoint("PASSIVE")
            # the pause between passes, cut short by close() (which no longer waits it out)
            if self._stop.wait(self.PAUSE):
                break

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=30)
        self._checkpoint("TRUNCATE")
        self._conn.close()


async def insert_many(
    conn: AsyncConnection, table: Any, rows: list[dict[str, Any]], columns: Sequence[str] | None = None
) -> None:
    """Insert many rows with the driver's own ``executemany``: the hot path of a push.

    SQLAlchemy's per-row parameter processing costs more than SQLite's insert itself
    at a thousand rows a batch; values here are plain str/int/bool/None, which both
    drivers take as they are. The columns are ``columns`` (other keys of a row are
    ignored), or else the keys of the first row, which every row must have."""
    if not rows:
        return
    names = tuple(columns) if columns is not None else tuple(rows[0])
    if len(names) == 1:
        params: list[Any] = [(row[names[0]],) for row in rows]
    else:
        params = list(map(itemgetter(*names), rows))  # a C loop per row, not a generator
    await insert_tuples(conn, table, names, params)


async def insert_tuples(
    conn: AsyncConnection, table: Any, columns: Sequence[str], rows: list[tuple[Any, ...]]
) -> None:
    """``insert_many`` for rows already made as tuples in the order of ``columns``."""
    if not rows:
        return
    names = tuple(columns)
    sql = _insert_sql(conn.dialect, table.name, names)
    if sql is None:
        await conn.execute(table.insert(), [dict(zip(names, row)) for row in rows])
    elif isinstance(conn, _WriterConnection):
        conn.dbapi.executemany(sql, rows)
    else:
        await conn.exec_driver_sql(sql, rows)


_INSERT_SQL: dict[tuple[str, str, tuple[str, ...]], str | None] = {}


def _insert_sql(dialect: Any, table: str, names: tuple[str, ...]) -> str | None:
    """``INSERT INTO t (a, b) VALUES (?, ?)`` in the driver's parameter style, made once."""
    key = (dialect.name, table, names)
    if key in _INSERT_SQL:
        return _INSERT_SQL[key]
    style = dialect.paramstyle
    sql: str | None = None
    if style in ("qmark", "numeric_dollar", "numeric"):
        if style == "qmark":
            marks = ", ".join("?" for _ in names)
        else:
            prefix = "$" if style == "numeric_dollar" else ":"
            marks = ", ".join(f"{prefix}{i}" for i in range(1, len(names) + 1))
        quote = dialect.identifier_preparer.quote
        sql = f"INSERT INTO {quote(table)} ({', '.join(quote(n) for n in names)}) VALUES ({marks})"
    _INSERT_SQL[key] = sql
    return sql


class HotSql:
    """A statement of the push and pull hot paths, written once with ``:name``
    parameters and run straight through the driver (``exec_driver_sql``): no statement
    building, compiling or per-parameter processing on each call.

    ``:name[]`` is a list of text keys (``:name[bigint]`` of numbers): ``IN (SELECT
    value FROM json_each(?))`` on SQLite (one JSON array, whatever the length),
    ``= ANY($n::text[])`` on PostgreSQL. Parameters
    must be plain str/int/None/bool (what both drivers take as they are); results
    come back untyped, see ``typed_rows`` for record tables."""

    _PARAM = re.compile(r"(?<![:\w]):(\w+)(?:\[(\w*)\])?")

    def __init__(self, sql: str) -> None:
        self.sql = sql
        self._rendered: dict[str, tuple[str, tuple[tuple[str, bool], ...]]] = {}

    def render(self, dialect: Any) -> tuple[str, tuple[tuple[str, bool], ...]]:
        found = self._rendered.get(dialect.name)
        if found is None:
            found = self._rendered[dialect.name] = self._render(dialect.name == "postgresql")
        return found

    def _render(self, postgres: bool) -> tuple[str, tuple[tuple[str, bool], ...]]:
        order: list[tuple[str, bool]] = []

        def place(match: re.Match[str]) -> str:
            name, list_of = match.group(1), match.group(2)
            is_list = list_of is not None
            if postgres:
                if (name, is_list) not in order:
                    order.append((name, is_list))
                marker = f"${order.index((name, is_list)) + 1}"
                return f"= ANY({marker}::{list_of or 'text'}[])" if is_list else marker
            order.append((name, is_list))
            return "IN (SELECT value FROM json_each(?))" if is_list else "?"

        return self._PARAM.sub(place, self.sql), tuple(order)

    def _bind(self, conn: Any, params: dict[str, Any]) -> tuple[str, tuple[Any, ...]]:
        sql, order = self.render(conn.dialect)
        postgres = conn.dialect.name == "postgresql"
        values = tuple(
            (list(params[name]) if postgres else _json_list(params[name])) if is_list else params[name]
            for name, is_list in order
        )
        return sql, values

    async def rows(self, conn: Any, **params: Any) -> list[dict[str, Any]]:
        """The result rows as dicts (column name -> value, untyped)."""
        sql, values = self._bind(conn, params)
        if isinstance(conn, _WriterConnection):  # SQLite's writer: the driver's cursor itself
            cursor = conn.dbapi.execute(sql, values)
            names = [d[0] for d in cursor.description]
            return [dict(zip(names, row)) for row in cursor.fetchall()]
        return [dict(row) for row in (await conn.exec_driver_sql(sql, values)).mappings()]

    async def execute(self, conn: Any, **params: Any) -> None:
        """A statement without result rows."""
        sql, values = self._bind(conn, params)
        if isinstance(conn, _WriterConnection):
            conn.dbapi.execute(sql, values)
        else:
            await conn.exec_driver_sql(sql, values)


def _json_list(values: Any) -> str:
    return msgspec.json.encode(list(values)).decode()


def typed_rows(table: Table, dialect: Any, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows read through the driver, typed in place as SQLAlchemy would have typed them
    (SQLite's 0/1 as booleans, ...): the result processors of ``table``'s columns."""
    processors = _processors(table, dialect)
    out = rows
    if processors:
        for row in out:
            for name, process in processors:
                if name in row:
                    row[name] = process(row[name])
    return out


_PROCESSORS: dict[tuple[int, str], list[tuple[str, Callable[[Any], Any]]]] = {}


def _processors(table: Table, dialect: Any) -> list[tuple[str, Callable[[Any], Any]]]:
    key = (id(table), dialect.name)
    found = _PROCESSORS.get(key)
    if found is None:
        found = []
        for column in table.columns:
            process = column.type.dialect_impl(dialect).result_processor(dialect, None)
            if process is not None:
                found.append((column.name, process))
        _PROCESSORS[key] = found
    return found
