"""Sync benchmark: push throughput, snapshot pull throughput and push latency.

Prints figures; it is not a test. For each backend (SQLite, PostgreSQL) it starts
``python -m server serve`` as a subprocess on a fresh database and drives it over
real HTTP with httpx:

1. push: one client pushes ``--push-batches`` batches of ``--batch-size``
   ``event.create`` mutations; then two clients push the same total at once.
2. pull: the feed is topped up to ``--snapshot-size`` events, then a fresh client
   pulls from ``cursor=null`` with ``limit=--pull-limit`` until ``more=false``.
3. latency: ``--latency-clients`` clients (each its own client_id, one shared
   token) each push ``--latency-pushes`` batches of ``--latency-batch`` mutations
   concurrently; p50/p99 of the request time.

    .venv/bin/python scripts/bench_sync.py [--backends sqlite,postgres] [--json]
    .venv/bin/python scripts/bench_sync.py --profile-push 20   # cProfile, in process, SQLite

Targets (2-core machine, SQLite): push >= 30,000 mut/s, pull >= 100,000 changes/s,
p99 <= 250 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

import httpx
import msgspec

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sync.ids import uuid7  # after the path above

sys.path.insert(0, str(ROOT / "scripts"))
from bench_raw import raw_limit, raw_read

PG_BENCH_URL = f"postgresql://postgres@127.0.0.1:5432/charity_bench_{os.getpid()}"
"""Dropped and created afresh on each run (through the ``postgres`` database); named
after this process, so two people benchmarking on one machine do not share it."""
STATION = "BENCH-01"
DISTRICT = "天河区"

TARGETS = {
    "push_1": ("mut/s", 30_000, ">="),
    "push_2": ("mut/s", 30_000, ">="),
    "pull": ("changes/s", 100_000, ">="),
    "p99": ("ms", 250, "<="),
}

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder()


# -- mutation bodies ----------------------------------------------------------------------


class _Hlc:
    """Strictly increasing HLC strings for one node (the benchmark's fake device)."""

    def __init__(self, node: str) -> None:
        self.node = node
        self.counter = 0

    def next(self) -> str:
        self.counter = (self.counter + 1) % 10000
        return f"{int(time.time() * 1000):016d}:{self.counter:04d}:{self.node}"


def _event_mutation(mutation_id: int, stamp: str) -> dict[str, Any]:
    return {
        "id": mutation_id,
        "name": "event.create",
        "version": 1,
        "key": uuid7(),
        "hlc": stamp,
        "args": {
            "id": uuid7(),
            "station": STATION,
            "date": "2026-09-05",
            "title": "中华慈善日义卖",
            "notes": "bench",
            "contact_phone": "+86 138 0000 0000",
        },
    }


def push_bodies(client_id: str, batches: int, size: int, first_id: int = 1) -> list[bytes]:
    """Encoded push envelopes with consecutive mutation ids starting at ``first_id``."""
    clock = _Hlc("bench")
    bodies = []
    next_id = first_id
    for _ in range(batches):
        muts = [_event_mutation(next_id + i, clock.next()) for i in range(size)]
        next_id += size
        bodies.append(_encoder.encode({"protocol": 1, "client_id": client_id, "mutations": muts}))
    return bodies


# -- server process -----------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _cli(*args: str, url: str, data_dir: Path) -> str:
    cmd = [sys.executable, "-m", "server", *args, "--database-url", url, "--data-dir", str(data_dir)]
    env = {**os.environ, "CHARITY_LOG_LEVEL": "warning"}
    proc = subprocess.run(cmd, check=False, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({proc.returncode}): {proc.stderr.strip()}")
    return proc.stdout.strip().splitlines()[-1]


def issue_token(url: str, data_dir: Path, user: str, role: str = "admin") -> str:
    return _cli("token", "issue", "--user", user, "--role", role, url=url, data_dir=data_dir)


class Server:
    def __init__(self, url: str, data_dir: Path, workers: int = 1) -> None:
        self.workers = workers
        self.url = url
        self.data_dir = data_dir
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = data_dir / "server.log"

    def _spawn(self) -> subprocess.Popen[bytes]:
        cmd = [
            sys.executable, "-m", "server", "serve", "--port", str(self.port),
            "--database-url", self.url, "--data-dir", str(self.data_dir),
        ]
        if self.workers > 1:
            cmd += ["--workers", str(self.workers)]
        env = {**os.environ, "CHARITY_LOG_LEVEL": "warning"}
        with open(self.log_path, "wb") as log:  # the child keeps its own descriptor
            return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)

    async def start(self, timeout: float = 180.0) -> None:
        self.proc = self._spawn()
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(base_url=self.base, timeout=2.0) as http:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"server exited ({self.proc.returncode}): {self._tail()}")
                with contextlib.suppress(httpx.TransportError):
                    if (await http.get("/healthz")).status_code == 200:
                        return
                await asyncio.sleep(0.1)
        tail = self._tail()
        self.stop()  # never leave a server (and its workers) behind
        raise RuntimeError(f"server not healthy after {timeout}s: {tail}")

    def _tail(self) -> str:
        with contextlib.suppress(OSError):
            return self.log_path.read_text(errors="replace")[-2000:]
        return ""

    def cpu_seconds(self) -> float:
        """User + system CPU the server process has used so far (Linux /proc)."""
        if self.proc is None:
            return 0.0
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return float("nan")
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


# -- HTTP helpers -------------------------------------------------------------------------


def _headers(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


async def post_push(http: httpx.AsyncClient, token: str, body: bytes) -> dict[str, Any]:
    resp = await http.post("/api/v1/sync/push", content=body, headers=_headers(token))
    if resp.status_code != 200:
        raise RuntimeError(f"push -> {resp.status_code}: {resp.text[:500]}")
    out: dict[str, Any] = _decoder.decode(resp.content)
    return out


def _check_applied(result: dict[str, Any]) -> None:
    bad = [r for r in result["results"] if r["status"] != "applied"]
    if bad:
        raise RuntimeError(f"{len(bad)} mutations not applied, e.g. {bad[0]}")


async def create_station(http: httpx.AsyncClient, token: str) -> None:
    body = _encoder.encode({
        "protocol": 1,
        "client_id": str(uuid.uuid4()),
        "mutations": [{
            "id": 1, "name": "station.create", "version": 1, "key": uuid7(),
            "hlc": _Hlc("setup").next(),
            "args": {"code": STATION, "name": "基准测试站", "district": DISTRICT},
        }],
    })
    _check_applied(await post_push(http, token, body))


# -- the three measurements ---------------------------------------------------------------


async def push_clients(
    http: httpx.AsyncClient, token: str, clients: int, batches: int, size: int
) -> tuple[int, float]:
    """``clients`` clients push ``batches`` batches in total; returns (mutations, seconds)."""
    per = [batches // clients + (1 if i < batches % clients else 0) for i in range(clients)]
    plans = [push_bodies(str(uuid.uuid4()), n, size) for n in per]  # built before the clock

    async def one(bodies: list[bytes]) -> None:
        for body in bodies:
            _check_applied(await post_push(http, token, body))

    start = time.perf_counter()
    await asyncio.gather(*(one(b) for b in plans))
    return sum(per) * size, time.perf_counter() - start


async def top_up(
    http: httpx.AsyncClient, token: str, have: int, want: int, size: int, budget_s: float
) -> int:
    """Push more events until about ``want`` exist, or until ``budget_s`` seconds are
    spent (a slow backend then gets a smaller snapshot); returns how many were added."""
    missing = max(0, want - have)
    if not missing:
        return 0
    client_id = str(uuid.uuid4())
    next_id = 1
    added = 0
    deadline = time.monotonic() + budget_s
    while added < missing and time.monotonic() < deadline:
        n = min(size, missing - added)
        (body,) = push_bodies(client_id, 1, n, first_id=next_id)
        _check_applied(await post_push(http, token, body))
        next_id += n
        added += n
    return added


async def pull_snapshot(http: httpx.AsyncClient, token: str, limit: int) -> tuple[int, int, float]:
    """A fresh client pulls from cursor null; returns (changes, pages, seconds)."""
    client_id = str(uuid.uuid4())
    cursor: str | None = None
    total = pages = 0
    start = time.perf_counter()
    while True:
        body = _encoder.encode({"protocol": 1, "client_id": client_id, "cursor": cursor, "limit": limit})
        resp = await http.post("/api/v1/sync/pull", content=body, headers=_headers(token))
        if resp.status_code != 200:
            raise RuntimeError(f"pull -> {resp.status_code}: {resp.text[:500]}")
        page = _decoder.decode(resp.content)
        total += len(page["changes"])
        pages += 1
        cursor = page["cursor"]
        if not page["more"]:
            break
    return total, pages, time.perf_counter() - start


async def latency(
    base_url: str, token: str, clients: int, pushes: int, size: int
) -> dict[str, float]:
    """Many concurrent clients. Uses aiohttp: httpx's connection pool spends more CPU
    than the server at 200 connections, and on a 2-core machine that starves the server
    and measures the load generator instead."""
    import aiohttp

    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(
        base_url=base_url, connector=connector, timeout=aiohttp.ClientTimeout(total=120)
    ) as session:
        return await _latency_with(session, token, clients, pushes, size)


async def _latency_with(
    session: Any, token: str, clients: int, pushes: int, size: int
) -> dict[str, float]:
    plans = [push_bodies(str(uuid.uuid4()), pushes, size) for _ in range(clients)]
    samples: list[float] = []
    errors: list[str] = []

    async def one(bodies: list[bytes]) -> None:
        for body in bodies:
            t0 = time.perf_counter()
            try:
                async with session.post(
                    "/api/v1/sync/push", data=body, headers=_headers(token)
                ) as resp:
                    payload = await resp.read()
                    if resp.status != 200:
                        raise RuntimeError(f"push -> {resp.status}: {payload[:500]!r}")
                _check_applied(_decoder.decode(payload))
            except (TimeoutError, RuntimeError, OSError) as exc:
                errors.append(f"{exc.__class__.__name__}: {exc}"[:300])
                return
            samples.append((time.perf_counter() - t0) * 1000)

    start = time.perf_counter()
    await asyncio.gather(*(one(b) for b in plans))
    wall = time.perf_counter() - start
    if errors:
        print(f"    latency: {len(errors)} failed requests, e.g. {errors[0]}", file=sys.stderr)
    samples.sort()
    return {
        "requests": len(samples),
        "errors": len(errors),
        "p50_ms": _percentile(samples, 50),
        "p99_ms": _percentile(samples, 99),
        "max_ms": samples[-1] if samples else float("nan"),
        "mean_ms": statistics.fmean(samples) if samples else float("nan"),
        "seconds": wall,
        "mutations_per_s": len(samples) * size / wall if wall else 0.0,
    }


def _percentile(sorted_samples: list[float], pct: float) -> float:
    if not sorted_samples:
        return float("nan")
    rank = max(0, min(len(sorted_samples) - 1, round(pct / 100 * len(sorted_samples) + 0.5) - 1))
    return sorted_samples[rank]


# -- per backend --------------------------------------------------------------------------


@dataclass
class BackendResult:
    backend: str
    skipped: str | None = None
    figures: dict[str, Any] = field(default_factory=dict)


async def _fresh_postgres(url: str) -> str | None:
    """Drop and create the bench database named in ``url``; a reason when that cannot be done."""
    from urllib.parse import urlsplit, urlunsplit

    try:
        import asyncpg
    except ImportError:
        return "asyncpg is not installed"
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if not name or name == "postgres" or '"' in name:
        return f"refusing to drop database {name!r}: name a scratch database in --pg-url"
    admin_dsn = urlunsplit(("postgresql", parts.netloc, "/postgres", "", ""))
    try:
        conn = await asyncpg.connect(admin_dsn, timeout=5)
    except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
        return f"PostgreSQL unreachable at {parts.hostname}:{parts.port or 5432} ({exc.__class__.__name__}: {exc})"
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return None


async def _analyze(url: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


async def run_backend(backend: str, args: argparse.Namespace) -> BackendResult:
    result = BackendResult(backend)
    tmp = Path(tempfile.mkdtemp(prefix=f"charity-bench-{backend}-"))
    try:
        if backend == "sqlite":
            url = f"sqlite:///{tmp / 'charity.db'}"
        else:
            url = args.pg_url
            problem = await _fresh_postgres(url)
            if problem:
                result.skipped = problem
                print(f"[{backend}] skipped: {problem}")
                return result
        token = issue_token(url, tmp, "bench-admin")
        server = Server(url, tmp, args.pg_workers if backend == "postgres" else 1)
        await server.start()
        print(f"[{backend}] server on {server.base} ({url}), {server.workers} worker(s)", flush=True)
        try:
            await _measure(server, token, args, result)
        finally:
            server.stop()
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print(f"[{backend}] kept {tmp}")
    return result


class _Cpu:
    """CPU seconds used by the server process and by this (client) process during a phase."""

    def __init__(self, server: Server) -> None:
        self.server = server

    def __enter__(self) -> Self:
        self.s0, self.c0 = self.server.cpu_seconds(), time.process_time()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server_s = self.server.cpu_seconds() - self.s0
        self.client_s = time.process_time() - self.c0

    def figures(self) -> dict[str, float]:
        return {"server_cpu_s": round(self.server_s, 2), "client_cpu_s": round(self.client_s, 2)}

    def text(self) -> str:
        return f"[cpu: server {self.server_s:.1f}s, client {self.client_s:.1f}s]"


async def _measure(server: Server, token: str, args: argparse.Namespace, result: BackendResult) -> None:
    f = result.figures
    limits = httpx.Limits(max_connections=max(200, args.latency_clients), max_keepalive_connections=None)
    timeout = httpx.Timeout(120.0)
    async with httpx.AsyncClient(base_url=server.base, limits=limits, timeout=timeout) as http:
        await create_station(http, token)
        # warm-up: first requests pay for imports, statement compilation, page cache
        await push_clients(http, token, 1, 1, min(args.batch_size, 200))
        events = min(args.batch_size, 200)

        for clients in (1, 2, 4) if server.workers > 1 else (1, 2):
            with _Cpu(server) as cpu:
                n, secs = await push_clients(http, token, clients, args.push_batches, args.batch_size)
            events += n
            f[f"push_{clients}"] = {"mutations": n, "seconds": secs, "mutations_per_s": n / secs,
                                    **cpu.figures()}
            print(f"[{result.backend}] push, {clients} client(s): {n} mutations in {secs:.2f}s "
                  f"= {n / secs:,.0f} mut/s {cpu.text()}", flush=True)

        # the raw limit of push: the same rows (an event, its change row, its outcome) in
        # the same batches, straight into copies of the tables (scripts/bench_raw.py)
        raw_units, raw_rows = await raw_limit(
            server.url, {"events": 1, "changes": 1, "mutations": 1},
            min(args.batch_size * args.push_batches, 20_000), args.batch_size, server.workers)
        f["raw_push"] = {"mutations_per_s": raw_units, "rows_per_s": raw_rows}
        best = max(f[k]["mutations_per_s"] for k in ("push_1", "push_2", "push_4") if k in f)
        f["push_ratio"] = best / raw_units
        print(f"[{result.backend}] raw storage limit of push ({server.workers} connection(s)): "
              f"{raw_units:,.0f} mutations/s ({raw_rows:,.0f} rows/s); best push / raw = {best / raw_units:.2f}",
              flush=True)

        t0 = time.perf_counter()
        added = await top_up(http, token, events, args.snapshot_size, args.batch_size, args.max_load_seconds)
        events += added
        if added:
            secs = time.perf_counter() - t0
            print(f"[{result.backend}] loaded {added} more events in {secs:.1f}s = {added / secs:,.0f} mut/s "
                  f"({events} events in the feed)", flush=True)
            f["load"] = {"mutations": added, "seconds": secs, "mutations_per_s": added / secs}
        if events < args.snapshot_size:
            print(f"[{result.backend}] NOTE: loading stopped after --max-load-seconds "
                  f"{args.max_load_seconds:g}; the snapshot has {events} events, not {args.snapshot_size}",
                  flush=True)
        with _Cpu(server) as cpu:
            n, pages, secs = await pull_snapshot(http, token, args.pull_limit)
        f["pull"] = {"changes": n, "pages": pages, "seconds": secs, "changes_per_s": n / secs,
                     **cpu.figures()}
        print(f"[{result.backend}] pull right after the growth: {n} changes in {pages} pages, {secs:.2f}s "
              f"= {n / secs:,.0f} changes/s {cpu.text()}", flush=True)
        if result.backend == "postgres":
            with _Cpu(server) as cpu:
                n2, _pages, secs2 = await pull_snapshot(http, token, args.pull_limit)
            f["pull_again"] = {"changes": n2, "seconds": secs2, "changes_per_s": n2 / secs2}
            print(f"[{result.backend}] pull again (no ANALYZE in between): {n2} changes, {secs2:.2f}s "
                  f"= {n2 / secs2:,.0f} changes/s", flush=True)
        raw_n, raw_rate = await raw_read(server.url, args.pull_limit)
        f["raw_pull"] = {"rows": raw_n, "rows_per_s": raw_rate}
        f["pull_ratio"] = (n / secs) / raw_rate
        print(f"[{result.backend}] raw read of the feed ({raw_n} rows, JSON decoded): {raw_rate:,.0f} rows/s; "
              f"pull / raw = {f['pull_ratio']:.2f}", flush=True)
        if result.backend == "postgres":
            # The feed grew from empty to 100k rows within seconds, before autovacuum's
            # ANALYZE (a minute later in service) could tell the planner; pull again after it.
            await _analyze(server.url)
            with _Cpu(server) as cpu:
                n, pages, secs = await pull_snapshot(http, token, args.pull_limit)
            f["pull_analyzed"] = {"changes": n, "pages": pages, "seconds": secs,
                                  "changes_per_s": n / secs, **cpu.figures()}
            print(f"[{result.backend}] pull after ANALYZE: {n} changes in {pages} pages, {secs:.2f}s "
                  f"= {n / secs:,.0f} changes/s {cpu.text()}", flush=True)

    gc.collect()
    if True:  # a fresh pool for the latency clients: nothing left over from the bulk phases
        with _Cpu(server) as cpu:
            lat = await latency(server.base, token, args.latency_clients, args.latency_pushes, args.latency_batch)
        f["latency"] = {"clients": args.latency_clients, "pushes_each": args.latency_pushes,
                        "batch": args.latency_batch, **lat, **cpu.figures()}
        print(f"[{result.backend}] latency, {args.latency_clients} clients x {args.latency_pushes} pushes "
              f"of {args.latency_batch}: p50 {lat['p50_ms']:.1f} ms, p99 {lat['p99_ms']:.1f} ms, "
              f"max {lat['max_ms']:.1f} ms ({lat['requests'] / lat['seconds']:,.0f} req/s) {cpu.text()}",
              flush=True)


# -- report -------------------------------------------------------------------------------


def _mark(value: float, key: str) -> str:
    _unit, target, op = TARGETS[key]
    ok = value >= target if op == ">=" else value <= target
    return "ok" if ok else "MISS"


def print_table(results: list[BackendResult]) -> None:
    rows: list[tuple[str, str, str, str, str]] = []
    for r in results:
        if r.skipped:
            rows.append((r.backend, "(skipped)", "", "", r.skipped[:60]))
            continue
        f = r.figures
        for key, label in (("push_1", "push 1 client"), ("push_2", "push 2 clients"),
                           ("push_4", "push 4 clients")):
            if key in f:
                v = f[key]["mutations_per_s"]
                pg = r.backend == "postgres"
                rows.append((r.backend, label, f"{v:,.0f} mut/s", ">= 20,000 (4 workers)" if pg else ">= 30,000",
                             ("ok" if v >= 20_000 else "MISS") if pg else _mark(v, key)))
        if "raw_push" in f:
            rows.append((r.backend, "raw storage limit of push", f"{f['raw_push']['mutations_per_s']:,.0f} mut/s",
                         "", f"best push / raw {f['push_ratio']:.2f}"))
        if "load" in f:
            rows.append((r.backend, f"push (loading {f['load']['mutations']:,})",
                         f"{f['load']['mutations_per_s']:,.0f} mut/s", "", ""))
        if "pull" in f:
            v = f["pull"]["changes_per_s"]
            pg = r.backend == "postgres"
            rows.append((r.backend, f"pull {f['pull']['changes']:,} snapshot, right after growth",
                         f"{v:,.0f} changes/s", ">= 50,000" if pg else ">= 100,000",
                         ("ok" if v >= 50_000 else "MISS") if pg else _mark(v, "pull")))
            if "raw_pull" in f:
                rows.append((r.backend, "raw read of the feed (JSON)", f"{f['raw_pull']['rows_per_s']:,.0f} rows/s",
                             "", f"pull / raw {f['pull_ratio']:.2f}"))
        if "pull_analyzed" in f:
            v = f["pull_analyzed"]["changes_per_s"]
            rows.append((r.backend, "pull, after ANALYZE", f"{v:,.0f} changes/s", "", ""))
        if "latency" in f:
            lat = f["latency"]
            rows.append((r.backend, f"push {lat['batch']} x {lat['clients']} clients p50",
                         f"{lat['p50_ms']:.1f} ms", "", ""))
            rows.append((r.backend, f"push {lat['batch']} x {lat['clients']} clients p99",
                         f"{lat['p99_ms']:.1f} ms", "<= 250 ms", _mark(lat["p99_ms"], "p99")))
    headers = ("backend", "measure", "figure", "target", "")
    widths = [max(len(h), *(len(row[i]) for row in rows)) if rows else len(h) for i, h in enumerate(headers)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths))
    print()
    print(line)
    print("-" * len(line))
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths)))
    print("(targets are for SQLite on a 2-core machine; client and server share this machine's CPUs: "
          f"{os.cpu_count()} here)")


# -- in-process profile of push -----------------------------------------------------------


def profile_push(batches: int, size: int, top: int) -> None:
    """cProfile of ``sync.push.push`` called directly (no HTTP) on a fresh SQLite database."""
    import cProfile
    import pstats

    from schemas.wire import PushRequest
    from server.app import open_state
    from server.auth import issue_token as issue
    from server.auth import resolve_grant
    from server.settings import Settings
    from sync.push import push

    tmp = Path(tempfile.mkdtemp(prefix="charity-bench-profile-"))

    async def main() -> None:
        settings = Settings(data_dir=tmp, database_url=f"sqlite:///{tmp / 'charity.db'}")
        state = await open_state(settings)
        try:
            _tid, token = await issue(state.db, user="prof", role="admin", station=None, district=None)
            grant = await resolve_grant(state.db, f"Bearer {token}")
            setup = msgspec.json.decode(_encoder.encode({
                "protocol": 1, "client_id": str(uuid.uuid4()),
                "mutations": [{"id": 1, "name": "station.create", "version": 1, "key": uuid7(),
                               "hlc": _Hlc("setup").next(),
                               "args": {"code": STATION, "name": "基准测试站", "district": DISTRICT}}],
            }), type=PushRequest)
            await push(state.db, state.registry, state.clock, grant, setup, state.push_limits)
            client_id = str(uuid.uuid4())
            requests = [msgspec.json.decode(b, type=PushRequest)
                        for b in push_bodies(client_id, batches + 1, size)]
            await push(state.db, state.registry, state.clock, grant, requests[0], state.push_limits)  # warm
            profiler = cProfile.Profile()
            start = time.perf_counter()
            profiler.enable()
            for request in requests[1:]:
                outcome = await push(state.db, state.registry, state.clock, grant, request, state.push_limits)
                assert all(r.status == "applied" for r in outcome.response.results)
            profiler.disable()
            secs = time.perf_counter() - start
            print(f"in-process push (profiled): {batches * size} mutations in {secs:.2f}s "
                  f"= {batches * size / secs:,.0f} mut/s (cProfile overhead included)")
            # the same without the profiler, for the real in-process ceiling
            more = [msgspec.json.decode(b, type=PushRequest)
                    for b in push_bodies(client_id, batches, size, first_id=(batches + 1) * size + 1)]
            start = time.perf_counter()
            for request in more:
                await push(state.db, state.registry, state.clock, grant, request, state.push_limits)
            secs = time.perf_counter() - start
            print(f"in-process push (no profiler): {batches * size} mutations in {secs:.2f}s "
                  f"= {batches * size / secs:,.0f} mut/s")
            stats = pstats.Stats(profiler).strip_dirs()
            print(f"\n== top {top} by cumulative time ==")
            stats.sort_stats("cumulative").print_stats(top)
            print(f"\n== top {top} by own time ==")
            stats.sort_stats("tottime").print_stats(top)
        finally:
            await state.db.dispose()

    try:
        asyncio.run(main())
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# -- main ---------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--backends", default="sqlite,postgres", help="comma list of sqlite, postgres")
    p.add_argument("--pg-url", default=PG_BENCH_URL,
                   help="PostgreSQL database to drop, create and use (a query string is passed to the "
                        "server, e.g. ?prepared_statement_cache_size=0)")
    p.add_argument("--pg-workers", type=int, default=4, help="server worker processes on PostgreSQL")
    p.add_argument("--push-batches", type=int, default=30)
    p.add_argument("--batch-size", type=int, default=1000)
    p.add_argument("--snapshot-size", type=int, default=100_000, help="events in the feed before the pull")
    p.add_argument("--pull-limit", type=int, default=5000)
    p.add_argument("--max-load-seconds", type=float, default=45.0,
                   help="time budget for loading the snapshot (keeps a slow backend's run bounded)")
    p.add_argument("--latency-clients", type=int, default=200)
    p.add_argument("--latency-pushes", type=int, default=10)
    p.add_argument("--latency-batch", type=int, default=10)
    p.add_argument("--json", action="store_true", help="print the figures as JSON at the end")
    p.add_argument("--keep", action="store_true", help="keep the temporary data directories")
    p.add_argument("--profile-push", type=int, metavar="BATCHES", default=0,
                   help="instead: cProfile sync.push.push in process on SQLite for this many batches")
    p.add_argument("--profile-top", type=int, default=35)
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.profile_push:
        profile_push(args.profile_push, args.batch_size, args.profile_top)
        return 0
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    unknown = set(backends) - {"sqlite", "postgres"}
    if unknown:
        print(f"unknown backend(s): {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    results = [asyncio.run(run_backend(b, args)) for b in backends]
    print_table(results)
    if args.json:
        print(msgspec.json.encode({
            "cpus": os.cpu_count(),
            "targets": {"push_mutations_per_s": 30_000, "pull_changes_per_s": 100_000, "p99_ms": 250},
            "results": [{"backend": r.backend, "skipped": r.skipped, **r.figures} for r in results],
        }).decode())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
