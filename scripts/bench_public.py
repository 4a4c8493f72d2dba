"""Public fund page benchmark: the first anonymous view of a fund with ``--gifts`` gifts
(two ledger entries each: 10,000 gifts = 20,000 entries) and the views after it.

Prints figures; it is not a test. In process (the app over ASGI, no sockets), on SQLite
(``--postgres`` also on PostgreSQL). The first view builds the figures and verifies the
chain; the next ones come from the cache kept by chain head (``server.reports``), until a
new gift moves the head.

    .venv/bin/python scripts/bench_public.py [--gifts 10000] [--views 20] [--postgres]
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
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_donations import DISTRICT, PG_ADMIN, STATION, Phone

from server.app import create_app, open_state
from server.auth import issue_token
from server.domain.donations import receipt_series
from server.settings import Settings
from sync.ids import uuid7


async def run(url: str, label: str, args: argparse.Namespace, work: Path) -> None:
    state = await open_state(Settings(data_dir=work, database_url=url, serve_static=False))
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(state=state)),
                                     base_url="http://bench", timeout=600) as http:
            admin = Phone(http, (await issue_token(state.db, user="root", role="admin", station=None,
                                                   district=None))[1])
            fund_id = uuid7()
            await admin.push([
                ("station.create", {"code": STATION, "name": "天河社工站", "district": DISTRICT}),
                ("fund.create", {"id": fund_id, "name": "社区基金", "district": DISTRICT,
                                 "station": STATION}),
            ])
            staff = Phone(http, (await issue_token(state.db, user="s", role="staff",
                                                   station=STATION, district=None))[1])
            await staff.push([("receipt_series.claim", {"id": uuid7(), "station": STATION})])
            async with state.db.read() as conn:
                series = (await conn.execute(select(receipt_series.c.code))).scalar_one()
            rng = random.Random(1)

            def gift(n: int) -> tuple[str, dict[str, Any]]:
                return ("donation.record", {
                    "id": uuid7(), "station": STATION, "kind": "money",
                    "amount_fen": rng.randint(100, 100_000), "method": "wechat_pay",
                    "direction": "fund", "fund_id": fund_id,
                    "donor": {"name": "张三", "phone": "13800138000"},
                    "receipt": {"number": f"{series}-{n:05d}", "code": "ABCDEFGH"}})

            for start in range(1, args.gifts + 1, 500):
                stop = min(start + 500, args.gifts + 1)
                results = await staff.push([gift(n) for n in range(start, stop)])
                assert {r["status"] for r in results} == {"applied"}, results[0]

            async def view(path: str) -> tuple[float, int]:
                began = time.perf_counter()
                response = await http.get(path)
                assert response.status_code == 200, response.text[:200]
                return time.perf_counter() - began, len(response.content)

            page = f"/public/funds/{fund_id}"
            first, size = await view(page)
            nexts = [(await view(page))[0] for _ in range(args.views)]
            json_time, json_size = await view(f"/api/v1/public/funds/{fund_id}")
            verify_time, _ = await view(f"/api/v1/public/funds/{fund_id}/verify")
            print(f"{label}: {args.gifts * 2} ledger entries; first view {first * 1000:.0f} ms "
                  f"({size / 1024:.0f} KiB); next {args.views} views "
                  f"{sum(nexts) * 1000:.0f} ms in all, {max(nexts) * 1000:.1f} ms the slowest; "
                  f"JSON page {json_time * 1000:.0f} ms ({json_size / 1024:.0f} KiB); "
                  f"/verify (always recomputed) {verify_time * 1000:.0f} ms")
            await staff.push([gift(args.gifts + 1)])
            after, _ = await view(page)
            print(f"{label}: first view after a new gift (new head) {after * 1000:.0f} ms")
    finally:
        await state.db.dispose()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--gifts", type=int, default=10_000)
    parser.add_argument("--views", type=int, default=20)
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        await run(f"sqlite:///{Path(tmp) / 'bench.db'}", "sqlite", args, Path(tmp))
        if not args.postgres:
            return
        name = f"charity_bench_public_{uuid.uuid4().hex[:8]}"
        admin = await asyncpg.connect(PG_ADMIN, timeout=5)
        try:
            await admin.execute(f'CREATE DATABASE "{name}"')
            await run(f"postgresql://postgres@127.0.0.1:5432/{name}", "postgresql", args, Path(tmp))
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await admin.close()


if __name__ == "__main__":
    asyncio.run(main())
