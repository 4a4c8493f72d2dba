"""The sync engine under contention: ``serve --workers 4`` on PostgreSQL.

For a bounded time, managers approve volunteers' hours while the volunteers' phones
check in and out (the pair behind nearly every deadlock seen in the field), and
volunteers pay each other credits both ways. Asserted: no 5xx, every mutation
accounted for (applied, flagged, or rejected with a code and a message in both
languages; none lost), and the Time Bank consistent (every balance the sum of its
entries, the whole ledger summing to zero, no volunteer below zero). Printed (``-s``):
deadlocks PostgreSQL counted for the database (``pg_stat_database.deadlocks``) and the
reruns the server logged (``sync.db``/``sync.push``: "rerun of a write transaction").
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import random
import re
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from tests import conftest
from tests.helpers import mutation, new_id, station_args
from tests.serverproc import ServerProcess

pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.anyio]

WORKERS = 4
STATION, DISTRICT = "TH-001", "天河区"
VOLUNTEERS = 6
MANAGERS = 2
LOAD_SECONDS = 15.0
SEED_CENTS = 500
"""Each volunteer starts with 5 approved hours: 500 credit cents at the default rate."""


async def _admin_sql(sql: str, database: str = "postgres") -> Any:
    import asyncpg

    url = conftest._pg_url(database).replace("postgresql://", "postgres://", 1)
    conn = await asyncpg.connect(url, timeout=5)
    try:
        return await conn.fetch(sql)
    finally:
        await conn.close()


async def _deadlocks(name: str) -> int:
    rows = await _admin_sql(f"SELECT deadlocks FROM pg_stat_database WHERE datname = '{name}'")
    return int(rows[0]["deadlocks"])


async def _issue_tokens(url: str, specs: dict[str, tuple[str, str]]) -> dict[str, str]:
    from server.auth import issue_token
    from sync.db import Database

    db = Database(url)
    try:
        out = {}
        for name, (user, role) in specs.items():
            station = None if role == "admin" else STATION
            _, out[name] = await issue_token(db, user=user, role=role, station=station, district=None)
        return out
    finally:
        await db.dispose()


@dataclass
class Cluster:
    server: ServerProcess
    name: str
    url: str
    tokens: dict[str, str]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    name = f"charity_contention_{os.getpid()}"
    url = conftest.fresh_pg_database(name)
    server = ServerProcess(database_url=url, data_dir=tmp_path_factory.mktemp("contention"), workers=WORKERS)
    turn = contextlib.ExitStack()
    try:
        turn.enter_context(conftest.one_cluster_at_a_time(tmp_path_factory))
        server.start()
        specs = {"admin": ("root", "admin")}
        specs.update({f"mgr{i}": (f"mgr-{i}", "manager") for i in range(MANAGERS)})
        specs.update({f"vol{i}": (f"vol-{i}", "volunteer") for i in range(VOLUNTEERS)})
        tokens = asyncio.run(_issue_tokens(url, specs))
        yield Cluster(server, name, url, tokens)
    finally:
        server.stop()
        turn.close()
        conftest.drop_pg_database(name)


@dataclass
class Tally:
    """Every answer and every mutation's final outcome, across all phones."""

    http: Counter[int] = field(default_factory=Counter)
    outcomes: Counter[str] = field(default_factory=Counter)
    sent: int = 0
    accounted: int = 0
    problems: list[str] = field(default_factory=list)


class Phone:
    """One device: a token, its own client id, mutation ids in order, one batch at a time."""

    def __init__(self, http: httpx.AsyncClient, token: str, tally: Tally, label: str) -> None:
        self.http, self.token, self.tally, self.label = http, token, tally, label
        self.client_id = new_id()
        self.next_id = 1

    def m(self, name: str, args: dict[str, Any]) -> dict[str, Any]:
        built = mutation(self.next_id, name, args)
        self.next_id += 1
        return built

    async def push(self, *batch: dict[str, Any]) -> list[dict[str, Any]]:
        """Push until answered (load shedding and dropped connections are waited out,
        as a phone would: the same batch again); every mutation must come back."""
        body = {"protocol": 1, "client_id": self.client_id, "mutations": list(batch)}
        headers = {"Authorization": f"Bearer {self.token}"}
        self.tally.sent += len(batch)
        for _ in range(100):
            try:
                response = await self.http.post("/api/v1/sync/push", json=body, headers=headers)
            except httpx.TransportError:
                self.tally.http[0] += 1
                await asyncio.sleep(0.1)
                continue
            self.tally.http[response.status_code] += 1
            if response.status_code in (429, 503):
                await asyncio.sleep(min(float(response.headers.get("Retry-After", "0.2")), 0.5))
                continue
            if response.status_code != 200:
                self.tally.problems.append(f"{self.label}: {response.status_code} {response.text[:300]}")
                return []
            results: list[dict[str, Any]] = response.json()["results"]
            by_id = {r["id"]: r for r in results}
            for sent in batch:
                result = by_id.get(sent["id"])
                if result is None:
                    self.tally.problems.append(f"{self.label}: mutation {sent['id']} ({sent['name']}) lost")
                    continue
                self._account(sent, result)
            return results
        self.tally.problems.append(f"{self.label}: never answered")
        return []

    def _account(self, sent: dict[str, Any], result: dict[str, Any]) -> None:
        status = result["status"]
        if status in ("rejected", "flagged", "duplicate") and result.get("code"):
            message = result.get("message") or {}
            if not (message.get("zh") and message.get("en")):
                self.tally.problems.append(f"{self.label}: {sent['name']} {status} without a message")
        if status == "rejected" and not result.get("code"):
            self.tally.problems.append(f"{self.label}: {sent['name']} rejected without a code")
        if status not in ("applied", "flagged", "rejected", "duplicate"):
            self.tally.problems.append(f"{self.label}: {sent['name']} has status {status}")
        self.tally.accounted += 1
        self.tally.outcomes[f"{sent['name']} {status} {result.get('code') or ''}".strip()] += 1


def _at(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


async def test_four_workers_under_contention_no_5xx_nothing_lost_balances_consistent(cluster: Cluster) -> None:
    tally = Tally()
    base = cluster.server.base_url
    limits = httpx.Limits(max_connections=40)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as http:
        admin = Phone(http, cluster.tokens["admin"], tally, "admin")
        managers = [Phone(http, cluster.tokens[f"mgr{i}"], tally, f"mgr{i}") for i in range(MANAGERS)]
        phones = [Phone(http, cluster.tokens[f"vol{i}"], tally, f"vol{i}") for i in range(VOLUNTEERS)]
        payers = [Phone(http, cluster.tokens[f"vol{i}"], tally, f"vol{i}-pay") for i in range(VOLUNTEERS)]

        # -- set-up: station, activity, volunteers, and 5 approved hours each -----------------
        now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        assert [r["status"] for r in await admin.push(admin.m("station.create", station_args(STATION, DISTRICT)))] == ["applied"]
        activity = new_id()
        (created,) = await managers[0].push(managers[0].m("activity.create", {
            "id": activity, "station": STATION, "title": "长者探访", "service_type": "elder_care",
            "date": now.date().isoformat()}))
        assert created["status"] == "applied", created
        seeds = []
        for i, phone in enumerate(phones):
            seed = new_id()
            seeds.append(seed)
            results = await phone.push(
                phone.m("volunteer.register", {"user_id": f"vol-{i}", "name": f"志愿者{i}", "stations": [STATION]}),
                phone.m("hours.manual", {"id": seed, "activity_id": activity,
                                         "check_in_at": _at(now - dt.timedelta(hours=71)),
                                         "check_out_at": _at(now - dt.timedelta(hours=66))}),
            )
            assert [r["status"] for r in results] == ["applied", "applied"], results
        results = await managers[0].push(*(managers[0].m("hours.approve", {"id": s}) for s in seeds))
        assert [r["status"] for r in results] == ["applied"] * VOLUNTEERS, results

        deadlocks_before = await _deadlocks(cluster.name)
        reruns_before = _reruns(cluster.server.log(tail=0))

        # -- the load --------------------------------------------------------------------
        submitted: list[str] = []
        deadline = time.monotonic() + LOAD_SECONDS
        sessions = Counter[int]()

        async def volunteer_phone(i: int) -> None:
            """Check in, then check out and pay a partner in the next batch (while a
            manager may be approving the previous log), one session after another."""
            phone, partner = phones[i], f"vol-{i ^ 1}"
            open_log: str | None = None
            start = now - dt.timedelta(hours=60)
            k = 0
            while time.monotonic() < deadline:
                batch = []
                if open_log is not None:
                    batch.append(phone.m("hours.check_out", {
                        "id": open_log, "at": _at(start + dt.timedelta(minutes=15 * k + 10))}))
                    batch.append(phone.m("timebank.transfer", {
                        "id": new_id(), "to_volunteer": partner, "amount_cents": random.randint(1, 3)}))
                    k += 1
                new_log = new_id()
                batch.append(phone.m("hours.check_in", {
                    "id": new_log, "activity_id": activity, "at": _at(start + dt.timedelta(minutes=15 * k))}))
                results = await phone.push(*batch)
                if open_log is not None and results and results[0]["status"] in ("applied", "flagged"):
                    submitted.append(open_log)
                    sessions[i] += 1
                open_log = new_log

        async def payer(i: int) -> None:
            """Pure transfers to the partner, who pays back at the same time."""
            phone, partner = payers[i], f"vol-{i ^ 1}"
            while time.monotonic() < deadline:
                await phone.push(*(phone.m("timebank.transfer", {
                    "id": new_id(), "to_volunteer": partner, "amount_cents": random.randint(1, 5)})
                    for _ in range(random.randint(1, 3))))

        async def manager(j: int) -> None:
            """Approve what was submitted, several volunteers' logs per batch."""
            phone = managers[j]
            while time.monotonic() < deadline:
                if not submitted:
                    await asyncio.sleep(0.02)
                    continue
                take = [submitted.pop(random.randrange(len(submitted)))
                        for _ in range(min(len(submitted), random.randint(1, 4)))]
                await phone.push(*(phone.m("hours.approve", {"id": log_id}) for log_id in take))

        await asyncio.gather(
            *(volunteer_phone(i) for i in range(VOLUNTEERS)),
            *(payer(i) for i in range(VOLUNTEERS)),
            *(manager(j) for j in range(MANAGERS)),
        )

    deadlocks_after = await _deadlocks(cluster.name)
    reruns = _reruns(cluster.server.log(tail=0)) - reruns_before
    balances = await _ledger(cluster.name)
    five_xx = sum(n for code, n in tally.http.items() if code >= 500 and code not in (503,))
    print(
        f"\ncontention ({WORKERS} workers, {LOAD_SECONDS:.0f} s): {tally.sent} mutations, "
        f"{sum(tally.http.values())} pushes, answers {dict(sorted(tally.http.items()))}\n"
        f"  deadlocks (pg_stat_database): {deadlocks_after - deadlocks_before}\n"
        f"  reruns logged by the server: {sum(reruns.values())} {dict(reruns)}\n"
        f"  sessions per volunteer: {dict(sorted(sessions.items()))}\n"
        f"  outcomes: {dict(sorted(tally.outcomes.items()))}"
    )
    assert not tally.problems, "\n".join(tally.problems[:20])
    assert five_xx == 0, f"5xx answers: {tally.http}\n{cluster.server.log()}"
    assert tally.accounted == tally.sent  # every mutation came back with an outcome
    assert tally.outcomes.get("hours.approve applied", 0) > VOLUNTEERS  # the load really ran
    assert sum(1 for key in tally.outcomes if key.startswith("timebank.transfer applied")) > 0
    assert "internal_error" not in " ".join(tally.outcomes), tally.outcomes
    # the Time Bank: each balance is the sum of its entries, the ledger sums to zero,
    # no volunteer overdrawn, and the outcomes the server stored match what phones heard
    for account, (balance, entries) in balances["accounts"].items():
        assert balance == entries, f"{account}: balance {balance} but entries sum to {entries}"
        if account.startswith("vol:"):
            assert balance >= 0, f"{account} overdrawn: {balance}"
    assert sum(balance for balance, _ in balances["accounts"].values()) == 0
    assert balances["stored_outcomes"] == tally.sent


_RERUN = re.compile(r"rerun of a write transaction after (\S+?):? ")


def _reruns(log: str) -> Counter[str]:
    return Counter(match.group(1) for match in _RERUN.finditer(log))


async def _ledger(name: str) -> dict[str, Any]:
    accounts = await _admin_sql(
        "SELECT a.id, a.balance_cents, coalesce(sum(e.amount_cents), 0) AS entries "
        "FROM timebank_accounts a LEFT JOIN timebank_entries e ON e.account_id = a.id GROUP BY a.id, a.balance_cents",
        name,
    )
    stored = await _admin_sql("SELECT count(*) AS n FROM mutations", name)
    return {
        "accounts": {r["id"]: (int(r["balance_cents"]), int(r["entries"])) for r in accounts},
        "stored_outcomes": int(stored[0]["n"]),
    }
