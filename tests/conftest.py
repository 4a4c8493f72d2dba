"""Fixtures: every sync test runs on SQLite and on PostgreSQL.

PostgreSQL: a database of our own is created on 127.0.0.1:5432 (override with
CHARITY_TEST_PG_URL); tests skip with a reason when no server answers, and fail
instead when CHARITY_REQUIRE_POSTGRES=1 (as .ci/run sets it).

What lives where: fixtures (and ``Api``, the client the ``api`` fixture hands out) here;
simulated phones (``Device``, ``FaultyTransport``, pulls that wait for the horizon) in
tests/devices.py; argument builders (mutations, stations, events, HLC stamps) in
tests/helpers.py; a station's donation world in tests/donation_setup.py; server processes
in tests/serverproc.py; the fake Web Push service in tests/pushservice.py; browser steps in
tests/browser/steps.py. A test module never imports another (tests/test_layout.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import settings as hypothesis_settings

from server.app import create_app, open_state
from server.auth import issue_token
from server.settings import Settings
from server.state import AppState
from sync.tables import metadata

# The tests run in the programme's time zone, as its phones and servers do in Guangzhou: the
# server counts days in Asia/Shanghai, and a phone's "today" (the browser's, inheriting TZ) must
# be the same day, also between 16:00 and 24:00 UTC when the dates differ.
os.environ["TZ"] = "Asia/Shanghai"
time.tzset()

# Hypothesis' 200 ms deadline per example is a timing check, not a guarantee: with the suite's
# workers sharing two cores, an example of a few ms sometimes takes half a second.
hypothesis_settings.register_profile("suite", deadline=None)
hypothesis_settings.load_profile("suite")

PG_ADMIN_URL = os.environ.get("CHARITY_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REQUIRE_PG = os.environ.get("CHARITY_REQUIRE_POSTGRES") == "1"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _pg_url(database: str) -> str:
    base, _, _ = PG_ADMIN_URL.rpartition("/")
    return f"{base}/{database}"


async def _admin_connection() -> Any:
    """A connection to the admin database. When every connection slot is taken (others'
    tests or benchmarks on the same server) it tries again for a while: failing here fails
    every PostgreSQL test of the session (the session's database is made here)."""
    import asyncpg

    url = PG_ADMIN_URL.replace("postgresql://", "postgres://", 1)
    for _ in range(60):
        try:
            return await asyncpg.connect(url, timeout=5)
        except asyncpg.exceptions.TooManyConnectionsError:
            await asyncio.sleep(1)
    return await asyncpg.connect(url, timeout=5)


async def _create_pg_database(name: str) -> None:
    conn = await _admin_connection()
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


async def _drop_pg_database(name: str) -> None:
    conn = await _admin_connection()
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def fresh_pg_database(name: str) -> str:
    """An empty PostgreSQL database ``name`` (dropped first if left over) and its URL; the
    test skips with the reason when no server answers, or fails under
    CHARITY_REQUIRE_POSTGRES=1. Drop it afterwards with ``drop_pg_database``."""
    try:
        asyncio.run(_create_pg_database(name))
    except Exception as exc:  # noqa: BLE001 - any failure to reach the server
        message = f"PostgreSQL not reachable at {PG_ADMIN_URL}: {exc!r}"
        if REQUIRE_PG:
            pytest.fail(message + " (CHARITY_REQUIRE_POSTGRES=1: PostgreSQL tests are required)")
        pytest.skip(message)
    return _pg_url(name)


def drop_pg_database(name: str) -> None:
    """Best-effort clean-up of a database made by ``fresh_pg_database``."""
    with contextlib.suppress(Exception):
        asyncio.run(_drop_pg_database(name))


@contextlib.contextmanager
def one_cluster_at_a_time(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Held while a test runs a PostgreSQL server of several worker processes: in parallel
    runs (pytest-xdist) such tests take turns across the workers, so their connection pools
    together stay well under PostgreSQL's max_connections (100 by default). A file lock in
    the run's shared temporary folder; in one process it never waits."""
    import fcntl

    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # the workers' folders (popen-gw0, ...) share this one
    with open(root / "pg-cluster.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@pytest.fixture(scope="session")
def pg_database_url() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for this test session."""
    name = f"charity_test_{os.getpid()}"
    url = fresh_pg_database(name)

    async def migrate_once() -> None:
        from server.migrate import migrate
        from sync.db import Database

        db = Database(url)
        await migrate(db)
        await db.dispose()

    asyncio.run(migrate_once())
    yield url


def _written_tables_sql() -> str:
    """One query naming the tables a test may have changed: those with a row, and those
    whose own sequence has been drawn from (``last_value`` is NULL only after a restart),
    e.g. rows inserted and deleted again."""
    names = [t.name for t in metadata.sorted_tables]
    rows = ", ".join(f"('{n}', EXISTS (SELECT 1 FROM \"{n}\"))" for n in names)
    listed = ", ".join(f"'{n}'" for n in names)
    return (
        f"SELECT name FROM (VALUES {rows}) AS t(name, used) WHERE used "
        "UNION SELECT owner.relname FROM pg_sequences AS ps "
        "JOIN pg_class AS seq ON seq.relname = ps.sequencename AND seq.relkind = 'S' "
        "JOIN pg_namespace AS ns ON ns.oid = seq.relnamespace AND ns.nspname = ps.schemaname "
        "JOIN pg_depend AS dep ON dep.objid = seq.oid AND dep.classid = 'pg_class'::regclass "
        "AND dep.refclassid = 'pg_class'::regclass "
        "JOIN pg_class AS owner ON owner.oid = dep.refobjid "
        f"WHERE ps.schemaname = current_schema() AND ps.last_value IS NOT NULL "
        f"AND owner.relname IN ({listed})"
    )


async def _truncate_pg(state: AppState) -> None:
    """Every table of ``metadata`` empty and its sequences restarted, then the three
    ``sync_state`` counters at 0: the state a test starts from.

    Only the tables that need it are truncated (see ``_written_tables_sql``; CASCADE takes
    along empty tables whose foreign keys point at them): a TRUNCATE costs file operations
    and a synced commit per table, and most tests touch a handful of the ~45 tables."""
    from sqlalchemy import text

    async with state.db.engine.begin() as conn:
        written = [row[0] for row in await conn.execute(text(_written_tables_sql()))]
        if written:
            names = ", ".join(f'"{name}"' for name in sorted(written))
            await conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        await conn.execute(
            text(
                "INSERT INTO sync_state (key, int_value) VALUES "
                "('tx_counter', 0), ('pruned_txid', 0), ('pruned_seq', 0)"
            )
        )


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'charity.db'}"
    return str(request.getfixturevalue("pg_database_url"))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite database, made once per session. Migrating a new file costs about a
    second, and several hundred tests need one: each starts from a copy instead (the same
    schema and start state)."""
    folder = tmp_path_factory.mktemp("sqlite-template")
    path = folder / "charity.db"

    async def build() -> None:
        opened = await open_state(Settings(data_dir=folder, database_url=f"sqlite:///{path}",
                                           serve_static=False))
        await opened.db.dispose()

    asyncio.run(build())
    return path


@pytest.fixture
async def state(database_url: str, tmp_path: Path,
                sqlite_template: Path) -> AsyncIterator[AppState]:
    if database_url.startswith("sqlite:///"):
        target = Path(database_url.removeprefix("sqlite:///"))
        if not target.exists():
            for suffix in ("", "-wal"):
                if Path(f"{sqlite_template}{suffix}").exists():
                    shutil.copyfile(f"{sqlite_template}{suffix}", f"{target}{suffix}")
    settings = Settings(data_dir=tmp_path, database_url=database_url, serve_static=False)
    # Both databases were migrated once per session (``sqlite_template``, by ``open_state``
    # itself; ``pg_database_url``): checking the migrations and running ANALYZE again for
    # every test cost 0.1-1 s each and found nothing new.
    opened = await open_state(settings, run_migrations=False)
    if opened.db.is_postgres:
        await _truncate_pg(opened)
    yield opened
    await opened.db.dispose()


class Api:
    """An HTTP client bound to an app on this test's event loop, plus token issuing."""

    def __init__(self, state: AppState, http: httpx.AsyncClient) -> None:
        self.state = state
        self.http = http

    async def token(
        self, user: str, role: str, station: str | None = None, district: str | None = None
    ) -> str:
        _, token = await issue_token(
            self.state.db, user=user, role=role, station=station, district=district
        )
        return token

    @staticmethod
    def auth(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    async def push(self, token: str, client_id: str, mutations: list[dict], **extra: object) -> httpx.Response:
        body = {"protocol": 1, "client_id": client_id, "mutations": mutations, **extra}
        return await self.http.post("/api/v1/sync/push", json=body, headers=self.auth(token))

    async def pull(
        self, token: str, client_id: str, cursor: str | None = None, limit: int = 1000
    ) -> httpx.Response:
        body = {"protocol": 1, "client_id": client_id, "cursor": cursor, "limit": limit}
        return await self.http.post("/api/v1/sync/pull", json=body, headers=self.auth(token))

    async def snapshot(self, token: str) -> dict[tuple[str, str], dict]:
        """A fresh full snapshot of what ``token`` may see (a new client, cursor null)."""
        client_id = str(uuid.uuid4())
        replica: dict[tuple[str, str], dict] = {}
        cursor = None
        while True:
            page = (await self.pull(token, client_id, cursor)).json()
            apply_page(replica, page)
            cursor = page["cursor"]
            if not page["more"]:
                return replica


def apply_page(replica: dict[tuple[str, str], dict], page: dict) -> None:
    if page["reset"]:
        replica.clear()
    for change in page["changes"]:
        key = (change["type"], change["id"])
        if change["op"] == "put":
            replica[key] = change["data"]
        else:
            replica.pop(key, None)


@pytest.fixture
async def api(state: AppState) -> AsyncIterator[Api]:
    app = create_app(state=state)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield Api(state, http)


# -- parallel runs (pytest-xdist; ./scripts/test.sh passes -n) ---------------------------------

FIRST = ("test_chaos.py", "test_convergence.py", "test_accessibility.py", "test_contention.py",
         "test_multiworker.py", "test_notify_server.py")
"""Modules of the longest tests, started first so no worker begins one at the end."""


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """With workers: the longest tests first, then the browser tests, then the rest. The
    workers take tests in this order, so each runs its share of browser tests in a row and
    starts the browser package's Chromium and server once, not again after every switch to
    another package (their fixtures are package-scoped). One process keeps the order."""
    if not (getattr(config.option, "numprocesses", None) or hasattr(config, "workerinput")):
        return
    browser = Path(__file__).parent / "browser"

    def rank(item: pytest.Item) -> int:
        if item.path.name in FIRST or item.get_closest_marker("slow"):
            return 0
        return 1 if browser in item.path.parents else 2

    items.sort(key=rank)  # stable: each module keeps its order
