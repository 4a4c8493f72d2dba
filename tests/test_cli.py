"""``python -m server``: serve, migrate, prune and token issue, run as real processes on SQLite."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.helpers import event_args, mutation, new_id, station_args
from tests.serverproc import ROOT, ServerProcess, SseStream, _env, cli_token, run_cli

STATION = "TH-001"
OTHER = "YX-002"


class Site:
    """A SQLite server started by ``serve`` plus tokens made by ``token issue``."""

    def __init__(self, server: ServerProcess, db_file: Path) -> None:
        self.server = server
        self.db_file = db_file
        self.url = server.database_url
        self.data_dir = server.data_dir
        self.tokens: dict[str, str] = {}

    def token(self, user: str, role: str, station: str | None = None, district: str | None = None) -> str:
        return cli_token(
            database_url=self.url, data_dir=self.data_dir, user=user, role=role,
            station=station, district=district,
        )


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    data_dir = tmp_path_factory.mktemp("cli")
    db_file = data_dir / "charity.db"
    server = ServerProcess(database_url=f"sqlite:///{db_file}", data_dir=data_dir)
    server.start()
    try:
        s = Site(server, db_file)
        s.tokens["admin"] = s.token("root", "admin")
        with httpx.Client(base_url=server.base_url, timeout=10) as http:
            for i, (code, district) in enumerate([(STATION, "天河区"), (OTHER, "越秀区")], start=1):
                r = _push(http, s.tokens["admin"], str(uuid.uuid4()),
                          [mutation(1, "station.create", station_args(code, district, f"站{i}"))])
                assert r["results"][0]["status"] == "applied", r
        # station roles after the stations: token issue refuses a station nobody created
        s.tokens["manager"] = s.token("mgr-a", "manager", station=STATION)
        s.tokens["staff"] = s.token("staff-a", "staff", station=STATION)
        s.tokens["other"] = s.token("staff-b", "staff", station=OTHER)
        yield s
    finally:
        server.stop()


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _push(http: httpx.Client, token: str, client_id: str, mutations: list[dict]) -> dict:
    response = http.post(
        "/api/v1/sync/push", headers=_auth(token),
        json={"protocol": 1, "client_id": client_id, "mutations": mutations},
    )
    assert response.status_code == 200, response.text
    return response.json()


def _pull(http: httpx.Client, token: str, client_id: str, cursor: str | None) -> dict:
    response = http.post(
        "/api/v1/sync/pull", headers=_auth(token),
        json={"protocol": 1, "client_id": client_id, "cursor": cursor, "limit": 1000},
    )
    assert response.status_code == 200, response.text
    return response.json()


def _drain(http: httpx.Client, token: str, client_id: str, cursor: str | None) -> tuple[str, list[dict], bool]:
    """Pull until ``more`` is false: (cursor, all changes, whether any page said reset)."""
    changes: list[dict] = []
    reset = False
    while True:
        page = _pull(http, token, client_id, cursor)
        reset = reset or page["reset"]
        changes += page["changes"]
        cursor = page["cursor"]
        if not page["more"]:
            return cursor, changes, reset


# -- token issue ---------------------------------------------------------------------------


def test_token_issue_prints_a_working_token(site: Site) -> None:
    token = site.token("vol-1", "volunteer", station=STATION)
    assert len(token) >= 32 and " " not in token
    with httpx.Client(base_url=site.server.base_url, timeout=10) as http:
        health = http.get("/healthz")
        assert health.status_code == 200
        assert health.json()["status"] == "ok" and health.json()["database"] == "sqlite"
        page = _pull(http, token, str(uuid.uuid4()), None)
        assert page["reset"] is True
        stations = {c["id"] for c in page["changes"] if c["type"] == "station"}
        assert {STATION, OTHER} <= stations  # stations are public
        bogus = http.post("/api/v1/sync/pull", headers=_auth(token + "x"),
                          json={"protocol": 1, "client_id": str(uuid.uuid4()), "cursor": None})
        assert bogus.status_code == 401


def test_token_issue_refuses_a_bad_role(site: Site) -> None:
    done = run_cli(["token", "issue", "--user", "u1", "--role", "boss", "--station", STATION],
                   database_url=site.url, data_dir=site.data_dir)
    assert done.returncode != 0
    assert "--role" in done.stderr and "boss" in done.stderr
    assert "volunteer" in done.stderr  # the valid choices are named


def test_token_issue_refuses_a_station_that_does_not_exist(site: Site) -> None:
    done = run_cli(["token", "issue", "--user", "u9", "--role", "staff", "--station", "NO-SUCH"],
                   database_url=site.url, data_dir=site.data_dir)
    assert done.returncode == 2 and "no station 'NO-SUCH'" in done.stderr


def test_token_issue_needs_a_station_for_station_roles(site: Site) -> None:
    done = run_cli(["token", "issue", "--user", "u2", "--role", "staff"],
                   database_url=site.url, data_dir=site.data_dir)
    assert done.returncode != 0
    assert "needs --station" in done.stderr
    assert not [line for line in done.stdout.splitlines() if line.strip()], done.stdout  # no token printed


def test_token_issue_needs_a_district_for_district_managers(site: Site) -> None:
    done = run_cli(["token", "issue", "--user", "u3", "--role", "district_manager"],
                   database_url=site.url, data_dir=site.data_dir)
    assert done.returncode != 0
    assert "needs --district" in done.stderr


# -- migrate / serve -----------------------------------------------------------------------


def test_migrate_is_idempotent(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    first = run_cli(["migrate"], database_url=url, data_dir=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "migrated" in first.stdout
    second = run_cli(["migrate"], database_url=url, data_dir=tmp_path)
    assert second.returncode == 0, second.stderr
    assert "migrated" in second.stdout
    with sqlite3.connect(tmp_path / "m.db") as conn:
        versions = conn.execute("SELECT version_num FROM alembic_version").fetchall()
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert len(versions) == 1
    assert {"events", "stations", "changes", "device_tokens"} <= tables


def test_serve_refuses_several_workers_on_sqlite(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "server", "serve", "--workers", "2", "--port", "1",
         "--database-url", f"sqlite:///{tmp_path / 'w.db'}", "--data-dir", str(tmp_path)],
        cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=30, check=False,
    )
    assert done.returncode != 0
    assert "SQLite" in done.stderr and "postgresql" in done.stderr.lower()
    assert "serving on" not in done.stdout


def test_root_serves_the_placeholder_page(site: Site) -> None:
    response = httpx.get(site.server.base_url + "/", timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "社工" in response.text


# -- SSE on SQLite -------------------------------------------------------------------------


@pytest.mark.anyio
async def test_sse_poke_after_a_push_by_another_client(site: Site) -> None:
    async with httpx.AsyncClient(base_url=site.server.base_url, timeout=10) as http:
        mine = await SseStream(http, site.tokens["staff"], "staff-a").open()
        elsewhere = await SseStream(http, site.tokens["other"], "staff-b").open()
        try:
            assert mine.status == 200 and elsewhere.status == 200
            assert await mine.wait_for("ready", timeout=5) is not None
            assert await elsewhere.wait_for("ready", timeout=5) is not None
            pushed_at = time.monotonic()
            body = {"protocol": 1, "client_id": str(uuid.uuid4()),
                    "mutations": [mutation(1, "event.create", event_args(new_id(), STATION))]}
            r = await http.post("/api/v1/sync/push", json=body, headers=_auth(site.tokens["manager"]))
            assert r.status_code == 200 and r.json()["results"][0]["status"] == "applied", r.text
            assert await mine.wait_for("poke", after=pushed_at, timeout=5) is not None, (
                f"no poke on the station's stream: {mine.events}\n{site.server.log()}"
            )
            assert await elsewhere.wait_for("poke", after=pushed_at, timeout=1.0) is None, (
                f"another station's stream was poked: {elsewhere.events}"
            )
        finally:
            await mine.close()
            await elsewhere.close()


# -- prune ---------------------------------------------------------------------------------


def test_prune_removes_tombstones_and_resets_old_cursors(site: Site) -> None:
    event_id = new_id()
    reader = str(uuid.uuid4())
    writer = str(uuid.uuid4())
    with httpx.Client(base_url=site.server.base_url, timeout=10) as http:
        r = _push(http, site.tokens["manager"], writer,
                  [mutation(1, "event.create", event_args(event_id, STATION))])
        assert r["results"][0]["status"] == "applied"
        before_delete, changes, _ = _drain(http, site.tokens["staff"], reader, None)
        assert any(c["id"] == event_id and c["op"] == "put" for c in changes)

        r = _push(http, site.tokens["manager"], writer, [mutation(2, "event.delete", {"id": event_id})])
        assert r["results"][0]["status"] == "applied", r
        # before pruning, the old cursor hears of the delete as a tombstone
        _, changes, reset = _drain(http, site.tokens["staff"], reader, before_delete)
        assert not reset
        assert [c["op"] for c in changes if c["id"] == event_id] == ["del"]

        done = run_cli(["prune", "--days", "0"], database_url=site.url, data_dir=site.data_dir)
        assert done.returncode == 0, done.stderr
        assert "pruned" in done.stdout
        assert int(done.stdout.split("pruned", 1)[1].split()[0]) >= 1, done.stdout

        with sqlite3.connect(site.db_file) as conn:
            assert conn.execute("SELECT count(*) FROM events WHERE id = ?", (event_id,)).fetchone()[0] == 0
            assert conn.execute(
                "SELECT count(*) FROM changes WHERE record_id = ?", (event_id,)
            ).fetchone()[0] == 0

        # a cursor from before the delete might have missed the pruned tombstone: reset
        page = _pull(http, site.tokens["staff"], reader, before_delete)
        assert page["reset"] is True, page
        _, changes, _ = _drain(http, site.tokens["staff"], reader, before_delete)
        assert all(c["id"] != event_id for c in changes)
        assert {c["id"] for c in changes if c["type"] == "station"} >= {STATION, OTHER}
