"""Donation benchmark: phones pushing ``donation.record`` (with receipts, into one fund).

Prints figures; it is not a test. In process (the app over ASGI, no sockets), for
SQLite and, if reachable, PostgreSQL: ``--phones`` phones each push ``--per-phone``
donations in batches of ``--batch``, all at once; then the fund's hash chain is
verified and the public disclosure is built.

    .venv/bin/python scripts/bench_donations.py [--phones 2] [--per-phone 2000] [--batch 500]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from server.app import create_app, open_state
from server.auth import issue_token
from server.domain.donations import receipt_series
from server.domain.funds import verify_fund
from server.reports import fund_disclosure
from server.settings import Settings
from sync.ids import uuid7

STATION, DISTRICT = "TH-001", "天河区"
PG_ADMIN = "postgres://postgres@127.0.0.1:5432/postgres"


def _mutation(mid: int, name: str, args: dict[str, Any]) -> dict[str, Any]:
    stamp = f"{int(time.time() * 1000):016d}:{mid % 10000:04d}:bench"
    return {"id": mid, "name": name, "version": 1, "key": uuid7(), "hlc": stamp,
            "args": args}


class Phone:
    def __init__(self, http: httpx.AsyncClient, token: str) -> None:
        self.http, self.token, self.client_id, self.next_id = http, token, str(uuid.uuid4()), 1

    async def push(self, items: list[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
        batch = []
        for name, args in items:
            batch.append(_mutation(self.next_id, name, args))
            self.next_id += 1
        response = await self.http.post(
            "/api/v1/sync/push", headers={"Authorization": f"Bearer {self.token}"},
            json={"protocol": 1, "client_id": self.client_id, "mutations": batch})
        response.raise_for_status()
        results: list[dict[str, Any]] = response.json()["results"]
        return results


async def run(url: str, label: str, args: argparse.Namespace, work: Path) -> None:
    state = await open_state(Settings(data_dir=work, database_url=url, serve_static=False))
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(state=state)),
                                     base_url="http://bench", timeout=300) as http:
            async def token(user: str, role: str, **where: str | None) -> str:
                return (await issue_token(state.db, user=user, role=role,
                                          station=where.get("station"),
                                          district=where.get("district")))[1]

            admin = Phone(http, await token("root", "admin"))
            fund_id, event_id = uuid7(), uuid7()
            await admin.push([
                ("station.create", {"code": STATION, "name": "天河社工站", "district": DISTRICT}),
                ("event.create", {"id": event_id, "station": STATION, "date": "2026-09-05",
                                  "title": "中华慈善日"}),
                ("fund.create", {"id": fund_id, "name": "社区基金", "district": DISTRICT,
                                 "station": STATION}),
            ])
            phones = [Phone(http, await token(f"staff{n}", "staff", station=STATION))
                      for n in range(args.phones)]
            for phone in phones:
                await phone.push([("receipt_series.claim", {"id": uuid7(),
                                                            "station": STATION})])
            async with state.db.read() as conn:
                owner = dict((await conn.execute(
                    select(receipt_series.c.client_id, receipt_series.c.code))).all())
            series = [owner[p.client_id] for p in phones]
            rng = random.Random(1)

            def gift(phone_index: int, n: int) -> tuple[str, dict[str, Any]]:
                return ("donation.record", {
                    "id": uuid7(), "station": STATION, "kind": "money",
                    "amount_fen": rng.randint(100, 100_000), "method": "wechat_pay",
                    "direction": "fund", "fund_id": fund_id, "event_id": event_id,
                    "donor": {"name": "张三", "phone": "13800138000"},
                    "receipt": {"number": f"{series[phone_index]}-{n:05d}", "code": "ABCDEFGH"}})

            async def drive(index: int) -> None:
                for start in range(1, args.per_phone + 1, args.batch):
                    stop = min(start + args.batch, args.per_phone + 1)
                    results = await phones[index].push([gift(index, n) for n in range(start, stop)])
                    assert {r["status"] for r in results} == {"applied"}, results[0]

            began = time.perf_counter()
            await asyncio.gather(*(drive(i) for i in range(args.phones)))
            elapsed = time.perf_counter() - began
            total = args.phones * args.per_phone
            print(f"{label}: {total} donations from {args.phones} phones in {elapsed:.2f}s "
                  f"= {total / elapsed:,.0f} donations/s")
            async with state.db.read() as conn:
                began = time.perf_counter()
                report = await verify_fund(conn, fund_id)
                verified = time.perf_counter() - began
                began = time.perf_counter()
                disclosure = await fund_disclosure(conn, fund_id)
                disclosed = time.perf_counter() - began
            assert report is not None and report.ok and disclosure is not None
            print(f"{label}: chain of {report.entries} entries verified in {verified * 1000:.0f} ms; "
                  f"disclosure built in {disclosed * 1000:.0f} ms")
    finally:
        await state.db.dispose()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--phones", type=int, default=2)
    parser.add_argument("--per-phone", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        await run(f"sqlite:///{Path(tmp) / 'bench.db'}", "sqlite", args, Path(tmp))
        name = f"charity_bench_donations_{uuid.uuid4().hex[:8]}"
        try:
            admin = await asyncpg.connect(PG_ADMIN, timeout=5)
        except Exception as exc:  # noqa: BLE001 - any failure to reach the server
            print(f"postgresql: skipped ({exc!r})")
            return
        try:
            await admin.execute(f'CREATE DATABASE "{name}"')
            await run(f"postgresql://postgres@127.0.0.1:5432/{name}", "postgresql", args, Path(tmp))
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await admin.close()


if __name__ == "__main__":
    asyncio.run(main())
