"""City-scale benchmarks (issue 17): ``donation.record`` over real HTTP into one fund, and
a reconnect storm. Prints figures; it is not a test.

Each measure starts ``python -m server serve`` (``--workers`` on PostgreSQL; SQLite has
one) on a fresh database and drives it over HTTP with aiohttp. Next to each figure it
prints, **measured in the same run on the same machine**, the raw storage limit it is
compared with and the ratio, so a noisy machine (8 people share 2 cores) does not hide a
regression: the ratio moves only when the server's own cost moves.

1. ``donations``: ``--phones`` phones each push ``--per-phone`` gifts (money, into one
   fund, at one event, each with a receipt numbered from the phone's series) in batches
   of ``--batch``, all at once. The raw limit: the rows those gifts wrote (donation,
   receipt, two ledger entries, change rows, outcome; counted per gift from the tables)
   re-inserted into copies of the same tables with the same indexes, in batches of the
   same number of gifts, one transaction and one ``executemany`` per table per batch,
   plus one update of a fund row per batch (SQLite: one connection; PostgreSQL: one per
   worker). After the run the fund's chain is verified and its rows counted.
2. ``storm``: ``--storm-phones`` phones, each with ``--queued`` mutations queued offline
   (gifts into the fund and volunteer hours, half each), reconnect at random moments
   within ``--window`` seconds and push their queue (a phone told 503 + Retry-After
   waits that long and pushes again; a timeout is retried too: the queue is
   idempotent). Prints the time to drain, p50/p99 per push, 503s shed, any other 5xx,
   the server's peak memory (sum of its processes' RSS), and checks every mutation was
   applied exactly once (the tables' counts). The raw limit here is the raw insert rate
   of the same rows (as above) turned into the time it would take to write them.

    .venv/bin/python scripts/bench_city.py donations [--backends sqlite,postgres] [--workers 4]
    .venv/bin/python scripts/bench_city.py storm [--backends sqlite,postgres] [--storm-phones 2000]
    .venv/bin/python scripts/bench_city.py donations --profile   # cProfile in process, SQLite

Targets (issue 17): gifts >= 15,000/s SQLite, >= 8,000/s PostgreSQL (4 workers); storm on
PostgreSQL drained within 60 s, p99 < 2 s, no 5xx but shedding, everything exactly once.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

import msgspec

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT, ROOT / "scripts"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from bench_raw import counts as _counts
from bench_raw import raw_limit
from bench_sync import Server, _cli, _fresh_postgres, _percentile

from sync.ids import uuid7

STATION, DISTRICT = "TH-001", "天河区"
_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder()

TARGETS = {"sqlite": 15_000, "postgres": 8_000}

RAW_TABLES = ("donations", "receipts", "ledger_entries", "changes", "mutations", "hour_logs")
"""Tables a gift (or an hour log) writes rows to; their growth per gift is the 'about eight
rows' of the issue, measured, not assumed."""


async def counts(url: str) -> dict[str, int]:
    return await _counts(url, RAW_TABLES)


# -- server with workers ------------------------------------------------------------------


class WorkerServer(Server):
    def __init__(self, url: str, data_dir: Path, workers: int, env: dict[str, str] | None = None) -> None:
        super().__init__(url, data_dir)
        self.workers = workers
        self.env = env or {}

    def _spawn(self) -> Any:
        import subprocess

        cmd = [sys.executable, "-m", "server", "serve", "--port", str(self.port),
               "--database-url", self.url, "--data-dir", str(self.data_dir)]
        if self.workers > 1:
            cmd += ["--workers", str(self.workers)]
        env = {**os.environ, "CHARITY_LOG_LEVEL": "warning", **self.env}
        with open(self.log_path, "wb") as log:
            return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)

    def _pids(self) -> set[int]:
        assert self.proc is not None
        pids = {self.proc.pid}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                except (OSError, IndexError, ValueError):
                    continue
                if ppid == self.proc.pid:
                    pids.add(int(entry.name))
        return pids

    def cpu_seconds(self) -> float:
        """User + system CPU of the server and its worker processes so far."""
        if self.proc is None:
            return 0.0
        total = 0.0
        for pid in self._pids():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return total

    def rss_bytes(self) -> int:
        """Resident memory of the server and its worker processes (Linux /proc)."""
        if self.proc is None:
            return 0
        pids = self._pids()
        total = 0
        for pid in pids:
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
            except OSError:
                pass
        return total


class MemoryWatch:
    """Samples the server's RSS every 0.2 s while a phase runs; keeps the peak."""

    def __init__(self, server: WorkerServer) -> None:
        self.server, self.peak, self._task = server, 0, None

    async def _run(self) -> None:
        while True:
            self.peak = max(self.peak, self.server.rss_bytes())
            await asyncio.sleep(0.2)

    async def __aenter__(self) -> Self:
        self._task = asyncio.create_task(self._run())  # type: ignore[assignment]
        return self

    async def __aexit__(self, *_exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        self.peak = max(self.peak, self.server.rss_bytes())


def token(url: str, data_dir: Path, user: str, role: str, station: str | None = None) -> str:
    extra = ["--station", station] if station else []
    return _cli("token", "issue", "--user", user, "--role", role, *extra, url=url, data_dir=data_dir)


# -- phones -------------------------------------------------------------------------------


class Phone:
    def __init__(self, token_: str) -> None:
        self.token, self.client_id, self.next_id, self.counter = token_, str(uuid.uuid4()), 1, 0

    def body(self, items: list[tuple[str, dict[str, Any]]]) -> bytes:
        batch = []
        for name, args in items:
            self.counter = (self.counter + 1) % 10000
            stamp = f"{int(time.time() * 1000):016d}:{self.counter:04d}:{self.client_id[:8]}"
            batch.append({"id": self.next_id, "name": name, "version": 1, "key": uuid7(),
                          "hlc": stamp, "args": args})
            self.next_id += 1
        return _encoder.encode({"protocol": 1, "client_id": self.client_id, "mutations": batch})


async def post(session: Any, phone: Phone, body: bytes, path: str = "/api/v1/sync/push"
               ) -> tuple[int, dict[str, Any] | None, str | None]:
    import aiohttp

    headers = {"Authorization": f"Bearer {phone.token}", "Content-Type": "application/json"}
    for attempt in range(3):
        try:
            async with session.post(path, data=body, headers=headers) as resp:
                raw = await resp.read()
                parsed = _decoder.decode(raw) if resp.status == 200 else None
                why = resp.headers.get("Retry-After") or (
                    raw[:300].decode(errors="replace") if resp.status != 200 else None)
                return resp.status, parsed, why
        except aiohttp.ServerDisconnectedError:
            # a kept-alive connection the server closed while idle: the same body again
            # (a push is idempotent); a disconnect under load is the caller's to count
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def applied(body: dict[str, Any] | None) -> None:
    assert body is not None
    bad = [r for r in body["results"] if r["status"] not in ("applied", "flagged", "duplicate")]
    if bad:
        raise RuntimeError(f"{len(bad)} mutations not applied, e.g. {bad[0]}")


@dataclass
class World:
    url: str
    tmp: Path
    server: WorkerServer
    admin: Phone
    staff_token: str
    fund_id: str
    event_id: str
    activity_id: str
    volunteers: list[str] = field(default_factory=list)


async def build_world(session: Any, url: str, tmp: Path, server: WorkerServer, volunteers: int = 0) -> World:
    admin = Phone(token(url, tmp, "bench-admin", "admin"))
    fund_id, event_id, activity_id = uuid7(), uuid7(), uuid7()
    status, body, why = await post(session, admin, admin.body([
        ("station.create", {"code": STATION, "name": "天河社工站", "district": DISTRICT}),
        ("event.create", {"id": event_id, "station": STATION, "date": "2026-09-05", "title": "中华慈善日"}),
        ("fund.create", {"id": fund_id, "name": "社区基金", "district": DISTRICT, "station": STATION,
                         "purpose": "社区服务"}),
        campaign(fund_id),
    ]))
    assert status == 200, why
    applied(body)
    staff_token = token(url, tmp, "bench-staff", "staff", STATION)
    world = World(url, tmp, server, admin, staff_token, fund_id, event_id, activity_id)
    if volunteers:
        staff = Phone(staff_token)
        items: list[tuple[str, dict[str, Any]]] = [
            ("activity.create", {"id": activity_id, "station": STATION, "title": "长者探访",
                                 "service_type": "elder_care", "date": "2026-09-05"})]
        for n in range(volunteers):
            user = f"vol-{n:04d}"
            world.volunteers.append(user)
            items.append(("volunteer.register", {"user_id": user, "name": f"志愿者{n}",
                                                 "stations": [STATION]}))
        for start in range(0, len(items), 500):
            status, body, why = await post(session, staff, staff.body(items[start:start + 500]))
            assert status == 200, why
            applied(body)
    return world


async def phone_tokens(url: str, user: str, n: int) -> list[str]:
    """``n`` device tokens of ``user``, one per phone, written straight into the database
    (the CLI would take a process each). Each real phone has its own token; phones sharing
    one would all write its ``last_seen_at`` row, a contention no station has."""
    from sqlalchemy.ext.asyncio import create_async_engine

    from server.auth import insert_token
    from sync.db import normalise_url

    engine = create_async_engine(normalise_url(url))
    try:
        async with engine.begin() as conn:
            return [(await insert_token(conn, user_id=user, name=f"storm phone {i}"))[1] for i in range(n)]
    finally:
        await engine.dispose()


def campaign(fund_id: str) -> tuple[str, dict[str, Any]]:
    """An open public fundraising plan for the fund: gifts from the public are accepted
    only under one (docs/campaigns.md)."""
    return "campaign.create", {
        "id": uuid7(), "name": "社区慈善基金募捐", "organisation": "广州市天河区慈善会",
        "organisation_code": "53440106MJK582938A", "qualification": "公开募捐资格",
        "certificate_number": "穗民公募字〔2024〕012号", "filing_number": "53440106MJK582938A25001",
        "purpose": "为社区困难群众募集资金", "starts_on": "2020-01-01", "ends_on": "2099-12-31",
        "district": DISTRICT, "fund_ids": [fund_id]}


def gift(world: World, receipt: str | None, rng: random.Random) -> tuple[str, dict[str, Any]]:
    args: dict[str, Any] = {
        "id": uuid7(), "station": STATION, "kind": "money", "amount_fen": rng.randint(100, 50_000),
        "method": "wechat_pay", "direction": "fund", "fund_id": world.fund_id, "event_id": world.event_id,
        "donor": {"name": "张三", "phone": "13800138000", "wants_receipt": receipt is not None}}
    if receipt is not None:
        args["receipt"] = {"number": receipt, "code": "ABCDEFGH"}
    return "donation.record", args


def hours(world: World, volunteer: str, slot: int) -> tuple[str, dict[str, Any]]:
    """A manual hour log of the last two days (a storm follows a charity day: logs older
    than the late-sync line, 72 h, would each be flagged for review): an hour in slot
    ``slot`` of two hours each, counted back from 2 h ago, so a volunteer's logs with
    distinct slots do not overlap."""
    end = (int(time.time()) // 3600 - 2 - 2 * slot) * 3600
    fmt = "%Y-%m-%dT%H:%M:%SZ"
    return "hours.manual", {"id": uuid7(), "activity_id": world.activity_id, "volunteer_id": volunteer,
                            "check_in_at": time.strftime(fmt, time.gmtime(end - 3600)),
                            "check_out_at": time.strftime(fmt, time.gmtime(end))}


async def series_of(session: Any, phones: list[Phone]) -> list[str]:
    for phone in phones:
        status, body, why = await post(session, phone, phone.body(
            [("receipt_series.claim", {"id": uuid7(), "station": STATION})]))
        assert status == 200, why
        applied(body)
    return [await _series(session, phone) for phone in phones]


async def _series(session: Any, phone: Phone) -> str:
    cursor = None
    found: list[str] = []
    while True:
        status, page, why = await post(session, phone, _encoder.encode(
            {"protocol": 1, "client_id": phone.client_id, "cursor": cursor, "limit": 5000}), "/api/v1/sync/pull")
        assert status == 200 and page is not None, why
        for change in page["changes"]:
            if change.get("type") == "receipt_series" and change.get("data") and \
                    change["data"].get("client_id") == phone.client_id:
                found.append(change["data"]["code"])
        cursor = page["cursor"]
        if not page["more"]:
            return max(found)


async def verify(url: str, fund_id: str) -> tuple[bool, int, list[str]]:
    from server.domain.funds import verify_fund
    from sync.db import Database

    db = Database(url)
    try:
        async with db.read() as conn:
            report = await verify_fund(conn, fund_id)
    finally:
        await db.dispose()
    assert report is not None
    return report.ok, report.entries, report.problems[:3]


# -- the measures -------------------------------------------------------------------------


async def start(backend: str, args: argparse.Namespace, env: dict[str, str] | None = None
                ) -> tuple[str, Path, WorkerServer] | None:
    tmp = Path(tempfile.mkdtemp(prefix=f"charity-city-{backend}-"))
    if backend == "sqlite":
        url = f"sqlite:///{tmp / 'charity.db'}"
        workers = 1
    else:
        url = f"postgresql://postgres@127.0.0.1:5432/charity_city_{uuid.uuid4().hex[:8]}"
        problem = await _fresh_postgres(url)
        if problem:
            print(f"[{backend}] skipped: {problem}")
            return None
        workers = args.workers
    token(url, tmp, "bench-migrate", "admin")  # migrates the database before the workers start
    server = WorkerServer(url, tmp, workers, env)
    await server.start()
    print(f"[{backend}] server on {server.base}, {workers} worker(s)", flush=True)
    return url, tmp, server


async def finish(backend: str, url: str, tmp: Path, server: WorkerServer) -> None:
    server.stop()
    shutil.rmtree(tmp, ignore_errors=True)
    if backend == "postgres":
        import asyncpg

        name = url.rsplit("/", 1)[1]
        admin = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/postgres")
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


async def bench_donations(backend: str, args: argparse.Namespace) -> dict[str, Any] | None:
    import aiohttp

    started = await start(backend, args)
    if started is None:
        return None
    url, tmp, server = started
    try:
        async with aiohttp.ClientSession(base_url=server.base, connector=aiohttp.TCPConnector(limit=0),
                                         timeout=aiohttp.ClientTimeout(total=600)) as session:
            world = await build_world(session, url, tmp, server)
            phones = [Phone(world.staff_token) for _ in range(args.phones)]
            series = await series_of(session, phones)
            rng = random.Random(7)
            # warm-up (statements, caches), then the bodies of the run, built before the clock
            warm = [phones[0].body([gift(world, f"{series[0]}-{n:05d}", rng) for n in range(1, 51)])]
            for body in warm:
                status, _result, why = await post(session, phones[0], body)
                assert status == 200, why
            plans: list[list[bytes]] = []
            for i, phone in enumerate(phones):
                first = 51 if i == 0 else 1
                bodies = []
                for begin in range(first, first + args.per_phone, args.batch):
                    stop = min(begin + args.batch, first + args.per_phone)
                    bodies.append(phone.body([gift(world, f"{series[i]}-{n:05d}", rng) for n in range(begin, stop)]))
                plans.append(bodies)
            before = await counts(url)

            async def drive(phone: Phone, bodies: list[bytes]) -> None:
                for body in bodies:
                    status, result, why = await post(session, phone, body)
                    if status != 200:
                        raise RuntimeError(f"push -> {status}: {why}")
                    applied(result)

            cpu0 = server.cpu_seconds()
            began = time.perf_counter()
            await asyncio.gather(*(drive(p, b) for p, b in zip(phones, plans)))
            secs = time.perf_counter() - began
            cpu = server.cpu_seconds() - cpu0
        total = args.phones * args.per_phone
        after = await counts(url)
        per_gift = {t: (after[t] - before[t]) / total for t in RAW_TABLES}
        rate = total / secs
        rows = sum(per_gift.values())
        print(f"[{backend}] donation.record over HTTP: {total} gifts from {args.phones} phones "
              f"(batches of {args.batch}) in {secs:.2f}s = {rate:,.0f} gifts/s "
              f"[server cpu {cpu:.1f}s]", flush=True)
        print(f"[{backend}]   rows per gift: {rows:.2f} ("
              + ", ".join(f"{t} {n:.2f}" for t, n in per_gift.items() if n) + ") + 1 fund update per batch",
              flush=True)
        ok, entries, problems = await verify(url, world.fund_id)
        print(f"[{backend}]   fund chain: {entries} entries, verified {'ok' if ok else 'FAILED'} {problems}",
              flush=True)
        raw_units, raw_rows = await raw_limit(url, per_gift, min(total, args.raw_gifts), args.batch,
                                              server.workers)
        print(f"[{backend}]   raw storage limit, same rows, same batches, {server.workers} connection(s): "
              f"{raw_units:,.0f} gifts/s ({raw_rows:,.0f} rows/s); ratio {rate / raw_units:.2f}", flush=True)
        assert ok and entries == 2 * (total + 50)
        return {"gifts_per_s": rate, "raw_gifts_per_s": raw_units, "ratio": rate / raw_units,
                "rows_per_gift": rows, "workers": server.workers, "target": TARGETS[backend]}
    finally:
        await finish(backend, url, tmp, server)


async def bench_storm(backend: str, args: argparse.Namespace) -> dict[str, Any] | None:
    import aiohttp

    env = {"CHARITY_MAX_QUEUED_REQUESTS": str(args.max_queued)} if args.max_queued is not None else None
    started = await start(backend, args, env)
    if started is None:
        return None
    url, tmp, server = started
    try:
        async with aiohttp.ClientSession(base_url=server.base, connector=aiohttp.TCPConnector(limit=args.connections),
                                         timeout=aiohttp.ClientTimeout(total=args.request_timeout)) as session:
            world = await build_world(session, url, tmp, server,
                                      volunteers=args.volunteers or args.storm_phones)
            rng = random.Random(11)
            phones = [Phone(t) for t in await phone_tokens(url, "bench-staff", args.storm_phones)]
            queues: list[bytes] = []
            gifts = logs = 0
            for i, phone in enumerate(phones):
                items = []
                for k in range(args.queued):
                    if k % 2 == 0:
                        items.append(gift(world, None, rng))
                        gifts += 1
                    else:
                        volunteer = world.volunteers[i % len(world.volunteers)]
                        # a slot of its own per (phone, k) among the volunteer's phones
                        slot = (i // len(world.volunteers)) * (args.queued // 2) + k // 2
                        items.append(hours(world, volunteer, slot))
                        logs += 1
                queues.append(phone.body(items))
            before = await counts(url)
            latencies: list[float] = []
            shed = errors = timeouts = 0
            other: list[str] = []

            async def reconnect(phone: Phone, body: bytes, at: float) -> None:
                nonlocal shed, errors, timeouts
                await asyncio.sleep(at)
                while True:
                    t0 = time.perf_counter()
                    try:
                        status, result, why = await post(session, phone, body)
                    except (TimeoutError, aiohttp.ClientError):
                        timeouts += 1
                        await asyncio.sleep(1 + rng.random())
                        continue
                    if status == 200:
                        latencies.append(time.perf_counter() - t0)
                        applied(result)
                        return
                    if status == 503 and why and why.isdigit():
                        shed += 1
                        await asyncio.sleep(int(why) * (0.5 + rng.random()))
                        continue
                    errors += 1
                    other.append(f"{status}: {why}")
                    await asyncio.sleep(1)

            arrivals = sorted(rng.uniform(0, args.window) for _ in phones)
            async with MemoryWatch(server) as memory:
                began = time.perf_counter()
                await asyncio.gather(*(reconnect(p, b, a) for p, b, a in zip(phones, queues, arrivals)))
                drained = time.perf_counter() - began
        after = await counts(url)
        added = {t: after[t] - before[t] for t in RAW_TABLES}
        exact = added["donations"] == gifts and added["hour_logs"] == logs and \
            added["mutations"] == gifts + logs and added["ledger_entries"] == 2 * gifts
        ok, entries, problems = await verify(url, world.fund_id)
        total = gifts + logs
        per_unit = {t: n / total for t, n in added.items()}
        raw_units, _raw_rows = await raw_limit(url, per_unit, min(total, args.raw_gifts), args.queued,
                                               server.workers)
        lat = sorted(latencies)
        p50, p99 = _percentile(lat, 50) * 1000, _percentile(lat, 99) * 1000
        raw_secs = total / raw_units
        print(f"[{backend}] reconnect storm: {len(phones)} phones x {args.queued} queued ({gifts} gifts, "
              f"{logs} hour logs) arriving within {args.window:g}s, {server.workers} worker(s)")
        print(f"[{backend}]   drained in {drained:.1f}s, {drained - arrivals[-1]:.1f}s after the last phone arrived "
              f"(at {arrivals[-1]:.1f}s); per push "
              f"p50 {p50:.0f} ms, p99 {p99:.0f} ms, max {lat[-1] * 1000:.0f} ms")
        print(f"[{backend}]   shed (503 + Retry-After): {shed}; other 5xx/errors: {errors} {other[:3]}; "
              f"client timeouts retried: {timeouts}")
        print(f"[{backend}]   peak server memory (all processes): {memory.peak / 2**20:.0f} MiB")
        print(f"[{backend}]   exactly once: {'yes' if exact else 'NO'} {added}; fund chain "
              f"{'ok' if ok else 'FAILED'} ({entries} entries) {problems}")
        print(f"[{backend}]   raw storage limit for the same rows: {raw_units:,.0f} mutations/s = "
              f"{raw_secs:.1f}s of writing; the storm's {total / drained:,.0f} mutations/s over its whole "
              f"time is {total / drained / raw_units:.2f} of it (arrivals spread over the window bound it)",
              flush=True)
        return {"drained_s": drained, "p50_ms": p50, "p99_ms": p99, "shed": shed, "errors": errors,
                "peak_mib": memory.peak / 2**20, "exact": exact, "raw_mutations_per_s": raw_units}
    finally:
        await finish(backend, url, tmp, server)


def profile_donations(args: argparse.Namespace) -> None:
    """cProfile of ``sync.push.push`` with donation batches, in process, SQLite."""
    import cProfile
    import pstats

    from schemas.wire import PushRequest
    from server.app import open_state
    from server.auth import issue_token as issue
    from server.auth import resolve_grant
    from server.settings import Settings
    from sync.push import push

    tmp = Path(tempfile.mkdtemp(prefix="charity-city-profile-"))

    async def main() -> None:
        state = await open_state(Settings(data_dir=tmp, database_url=f"sqlite:///{tmp / 'c.db'}",
                                          serve_static=False))
        try:
            _t, admin_token = await issue(state.db, user="root", role="admin", station=None, district=None)
            admin_grant = await resolve_grant(state.db, f"Bearer {admin_token}")
            admin = Phone(admin_token)
            fund_id, event_id = uuid7(), uuid7()
            setup = admin.body([
                ("station.create", {"code": STATION, "name": "天河社工站", "district": DISTRICT}),
                ("event.create", {"id": event_id, "station": STATION, "date": "2026-09-05", "title": "x"}),
                ("fund.create", {"id": fund_id, "name": "基金", "district": DISTRICT, "station": STATION,
                                 "purpose": "x"}),
                campaign(fund_id)])
            await push(state.db, state.registry, state.clock, admin_grant,
                       msgspec.json.decode(setup, type=PushRequest), state.push_limits)
            world = World("", tmp, None, admin, "", fund_id, event_id, "")  # type: ignore[arg-type]
            rng = random.Random(1)
            phone = Phone(admin_token)
            bodies = [msgspec.json.decode(phone.body([gift(world, None, rng) for _ in range(args.batch)]),
                                          type=PushRequest) for _ in range(args.per_phone // args.batch)]
            await push(state.db, state.registry, state.clock, admin_grant, bodies[0], state.push_limits)
            profiler = cProfile.Profile()
            began = time.perf_counter()
            profiler.enable()
            for request in bodies[1:]:
                await push(state.db, state.registry, state.clock, admin_grant, request, state.push_limits)
            profiler.disable()
            secs = time.perf_counter() - began
            n = (len(bodies) - 1) * args.batch
            print(f"in process (profiled): {n} gifts in {secs:.2f}s = {n / secs:,.0f} gifts/s")
            stats = pstats.Stats(profiler).strip_dirs()
            stats.sort_stats("cumulative").print_stats(30)
            stats.sort_stats("tottime").print_stats(25)
        finally:
            await state.db.dispose()

    try:
        asyncio.run(main())
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("measure", choices=("donations", "storm"))
    p.add_argument("--backends", default="sqlite,postgres")
    p.add_argument("--workers", type=int, default=4, help="PostgreSQL worker processes")
    p.add_argument("--phones", type=int, default=6)
    p.add_argument("--per-phone", type=int, default=4000)
    p.add_argument("--batch", type=int, default=500)
    p.add_argument("--raw-gifts", type=int, default=20_000, help="gifts re-inserted for the raw limit")
    p.add_argument("--storm-phones", type=int, default=2000)
    p.add_argument("--queued", type=int, default=20)
    p.add_argument("--window", type=float, default=60.0)
    p.add_argument("--volunteers", type=int, default=0,
                   help="volunteers the storm's hours are logged for (0: one per phone, a volunteer's "
                        "own phone; fewer share, and a slot beyond 36 makes logs late, flagged)")
    p.add_argument("--connections", type=int, default=400, help="client connections at most")
    p.add_argument("--request-timeout", type=float, default=30.0)
    p.add_argument("--max-queued", type=int, default=None,
                   help="storm: the server's max_queued_requests per worker (default: its setting, 1024)")
    p.add_argument("--profile", action="store_true", help="donations: cProfile in process instead")
    args = p.parse_args(argv)
    if args.profile:
        profile_donations(args)
        return 0
    results = {}
    for backend in [b.strip() for b in args.backends.split(",") if b.strip()]:
        run = bench_donations if args.measure == "donations" else bench_storm
        results[backend] = asyncio.run(run(backend, args))
    print()
    for backend, figures in results.items():
        if figures is None:
            continue
        if args.measure == "donations":
            rate, target = figures["gifts_per_s"], figures["target"]
            print(f"{backend:9} gifts/s {rate:8,.0f}  raw {figures['raw_gifts_per_s']:8,.0f}  ratio "
                  f"{figures['ratio']:.2f}  target >= {target:,}: {'ok' if rate >= target else 'MISS'}")
        else:
            good = figures["drained_s"] <= 60 and figures["p99_ms"] < 2000 and \
                figures["errors"] == 0 and figures["exact"]
            print(f"{backend:9} drained {figures['drained_s']:.1f}s  p50 {figures['p50_ms']:.0f} ms  p99 "
                  f"{figures['p99_ms']:.0f} ms  shed {figures['shed']}  5xx {figures['errors']}  peak "
                  f"{figures['peak_mib']:.0f} MiB  exactly once {figures['exact']}  "
                  f"target (drained <= 60 s, p99 < 2 s, no 5xx): {'ok' if good else 'MISS'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
