"""Online-gift import benchmark: a platform statement of ``--lines`` lines (50,000 by
default) uploaded, previewed and booked into the fund ledger in chunks, as the console does.

Prints figures; it is not a test. In process (the app over ASGI, no sockets), on SQLite
(``--postgres`` also on PostgreSQL). Each booking request is one transaction of up to
``--chunk`` orders: per fund one chain append of all of them (``funds.post_many``), the
gifts' rows in one multi-row insert, the ledger entries and their change rows written by
the unit of work in batches; no round trip per line.

    .venv/bin/python scripts/bench_online.py [--lines 50000] [--chunk 2000] [--postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import random
import sys
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_donations import DISTRICT, PG_ADMIN, STATION, Phone

from server.app import create_app, open_state
from server.auth import issue_token
from server.domain.funds import verify_fund
from server.settings import Settings
from sync.ids import uuid7

BASE = "/api/v1/admin/online"


def statement(lines: int) -> bytes:
    rng = random.Random(7)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["订单号", "支付时间", "金额", "捐赠人", "项目名称", "渠道"])
    for n in range(lines):
        fen = rng.randint(100, 50_000)
        writer.writerow([f"GY2026{n:09d}", f"2026-09-{1 + n % 28:02d} 10:{n % 60:02d}:00",
                         f"{fen // 100}.{fen % 100:02d}", f"网友{n % 997}",
                         "项目甲" if n % 3 else "基金通用", "微信" if n % 2 else "支付宝"])
    return out.getvalue().encode("gb18030")


async def run(url: str, label: str, args: argparse.Namespace, work: Path) -> None:
    state = await open_state(Settings(data_dir=work, database_url=url, serve_static=False))
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(state=state)),
                                     base_url="http://bench", timeout=600) as http:
            token = (await issue_token(state.db, user="root", role="admin", station=None,
                                       district=None))[1]
            headers = {"Authorization": f"Bearer {token}"}
            admin = Phone(http, token)
            fund_id, project_id = uuid7(), uuid7()
            await admin.push([
                ("station.create", {"code": STATION, "name": "天河社工站", "district": DISTRICT}),
                ("fund.create", {"id": fund_id, "name": "社区基金", "district": DISTRICT,
                                 "station": STATION, "purpose": "社区"}),
                ("project.create", {"id": project_id, "fund_id": fund_id, "name": "项目甲"}),
            ])
            (await http.post(f"{BASE}/platforms", headers=headers,
                             json={"id": "gylm", "name": "广益联募"})).raise_for_status()
            for kind, target, name in (("fund", fund_id, "基金通用"), ("project", project_id, "项目甲")):
                (await http.post(f"{BASE}/links", headers=headers, json={
                    "target_kind": kind, "target_id": target, "platform": "gylm",
                    "url": f"https://gylm.example.cn/{target}", "label": name})).raise_for_status()
            data = statement(args.lines)
            began = time.perf_counter()
            answer = await http.post(f"{BASE}/statements", headers=headers, content=data,
                                     params={"platform": "gylm", "filename": "bench.csv"})
            answer.raise_for_status()
            upload = time.perf_counter() - began
            preview = answer.json()
            assert preview["counts"]["new"] == args.lines, preview["counts"]
            began = time.perf_counter()
            chunks, slowest = 0, 0.0
            while True:
                step_began = time.perf_counter()
                step = await http.post(f"{BASE}/statements/{preview['statement']['id']}/book",
                                       headers=headers, json={"limit": args.chunk})
                step.raise_for_status()
                slowest = max(slowest, time.perf_counter() - step_began)
                chunks += 1
                if step.json()["remaining"] == 0:
                    break
            book = time.perf_counter() - began
            began = time.perf_counter()
            again = await http.post(f"{BASE}/statements", headers=headers, content=data,
                                    params={"platform": "gylm", "filename": "again.csv"})
            again.raise_for_status()
            assert again.json()["counts"]["booked"] == args.lines
            second = time.perf_counter() - began
            async with state.db.read() as conn:
                report = await verify_fund(conn, fund_id)
            assert report is not None and report.ok, report
            print(f"{label}: {args.lines} lines ({len(data) / 1024 / 1024:.1f} MiB GB18030 CSV): "
                  f"upload+parse+preview {upload:.1f} s; booking {book:.1f} s in {chunks} chunks "
                  f"of {args.chunk} ({args.lines / book:.0f} gifts/s, slowest chunk "
                  f"{slowest * 1000:.0f} ms); the same file again (all already booked) "
                  f"{second:.1f} s; ledger {report.entries} entries, verifies")
    finally:
        await state.db.dispose()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lines", type=int, default=50_000)
    parser.add_argument("--chunk", type=int, default=2_000)
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        await run(f"sqlite:///{Path(tmp) / 'bench.db'}", "sqlite", args, Path(tmp))
        if not args.postgres:
            return
        name = f"charity_bench_online_{uuid.uuid4().hex[:8]}"
        admin = await asyncpg.connect(PG_ADMIN, timeout=5)
        try:
            await admin.execute(f'CREATE DATABASE "{name}"')
            await run(f"postgresql://postgres@127.0.0.1:5432/{name}", "postgresql", args, Path(tmp))
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await admin.close()


if __name__ == "__main__":
    asyncio.run(main())
