"""Dashboard benchmark: how long the city's dashboard, one drill-down page and the year's
summary take over a year of ledgers (``--gifts`` fund ledger movements of station gifts,
``--hours`` approved hour logs with their credit entries, across ``--stations`` stations).

Prints figures; it is not a test. In process, on SQLite. The rows are written straight
into the ledger tables (the dashboard only reads them; hashes and balances are not what it
looks at), so a large year is quick to make.

    .venv/bin/python scripts/bench_dashboard.py [--gifts 100000] [--hours 30000] [--stations 40]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import random
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from server import dashboard, year_summary
from server.app import open_state
from server.auth import issue_token, resolve_grant
from server.domain.donations import donations
from server.domain.funds import funds, ledger_entries
from server.domain.stations import stations
from server.domain.timebank import timebank_entries
from server.domain.volunteers import hour_logs
from server.settings import Settings

METHODS = ("cash", "wechat_pay", "alipay", "bank_transfer")
TYPES = ("elder_care", "hardship_relief", "event_support", "training")


def stamp(day_of_year: int, rng: random.Random, year: int) -> str:
    moment = (dt.datetime(year, 1, 1, tzinfo=dt.UTC) + dt.timedelta(days=day_of_year)
              + dt.timedelta(seconds=rng.randrange(86_400)))
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


async def seed(state: object, gifts: int, hours: int, station_count: int, year: int) -> None:
    rng = random.Random(16)
    db = state.db  # type: ignore[attr-defined]
    codes = [(f"BM-{i:03d}", f"区{i % 8}") for i in range(station_count)]
    fund_of = {code: str(uuid.uuid4()) for code, _ in codes}
    async with db.engine.begin() as conn:
        await conn.execute(stations.insert(), [
            {"code": c, "name": f"站{c}", "district": d, "pin_required": False,
             "created_at": "2026-01-01T00:00:00.000Z", "updated_at": "2026-01-01T00:00:00.000Z",
             "field_meta": "{}"} for c, d in codes])
        await conn.execute(funds.insert(), [
            {"id": fund_of[c], "name": f"{c} 基金", "district": d, "station": c, "purpose": "",
             "balance_fen": 0, "reserved_fen": 0, "head_seq": 0, "head_hash": "0" * 64,
             "created_by": "bench", "created_at": "2026-01-01T00:00:00.000Z"} for c, d in codes])
        gift_rows, entry_rows = [], []
        seq = dict.fromkeys(fund_of, 0)
        for n in range(gifts):
            code, district = codes[n % station_count]
            gift, at = str(uuid.uuid4()), stamp(rng.randrange(365), rng, year)
            amount = rng.randrange(100, 100_000)
            gift_rows.append({
                "id": gift, "kind": "money", "amount_fen": amount, "method": METHODS[n % 4],
                "items": "[]", "donor_anonymous": True, "wants_receipt": False,
                "public_name_consent": False, "direction": "fund", "fund_id": fund_of[code],
                "station": code, "district": district, "recorded_by": "bench",
                "client_id": "bench", "device_time": at, "recorded_at": at, "note": ""})
            for side, account, signed in (("f", "fund:general", amount),
                                          ("c", f"station:{code}", -amount)):
                seq[code] += 1
                entry_rows.append({
                    "id": f"{gift}:{side}", "movement_id": gift, "fund_id": fund_of[code],
                    "seq": seq[code], "account": account, "amount_fen": signed,
                    "kind": "donation", "donation_id": gift, "category": "", "note": "",
                    "created_by": "bench", "created_at": at, "prev_hash": "", "hash": "",
                    "station": code, "district": district})
        for start in range(0, len(gift_rows), 5000):
            await conn.execute(donations.insert(), gift_rows[start:start + 5000])
        for start in range(0, len(entry_rows), 5000):
            await conn.execute(ledger_entries.insert(), entry_rows[start:start + 5000])
        logs, credits = [], []
        for n in range(hours):
            code, district = codes[n % station_count]
            log, at = str(uuid.uuid4()), stamp(rng.randrange(365), rng, year)
            minutes = rng.randrange(30, 240)
            logs.append({
                "id": log, "volunteer_id": f"vol-{n % 3000}", "activity_id": "a",
                "station": code, "district": district, "service_type": TYPES[n % 4],
                "status": "approved", "source": "manual", "recorded_by": "bench",
                "check_in_at": at, "check_out_at": at, "device_check_in_at": at,
                "received_check_in_at": at, "note": "", "flags": "[]", "overlaps": "[]",
                "approved_minutes": minutes, "credited_cents": minutes * 100 // 60,
                "created_at": at, "updated_at": at, "field_meta": "{}"})
            credits.append({
                "id": f"{log}:in", "movement_id": log, "account_id": f"vol:vol-{n % 3000}",
                "counter_account_id": f"bank:{code}", "owner": f"vol-{n % 3000}",
                "station": code, "district": district, "amount_cents": minutes * 100 // 60,
                "kind": "hours_credit", "ref_type": "hour_log", "ref_id": log, "memo": "",
                "created_by": "bench", "created_at": at})
        for start in range(0, len(logs), 5000):
            await conn.execute(hour_logs.insert(), logs[start:start + 5000])
            await conn.execute(timebank_entries.insert(), credits[start:start + 5000])


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--gifts", type=int, default=100_000)
    parser.add_argument("--hours", type=int, default=30_000)
    parser.add_argument("--stations", type=int, default=40)
    args = parser.parse_args()
    year = dt.date.today().year
    with tempfile.TemporaryDirectory() as folder:
        state = await open_state(Settings(data_dir=Path(folder),
                                          database_url=f"sqlite:///{folder}/bench.db",
                                          serve_static=False))
        began = time.perf_counter()
        await seed(state, args.gifts, args.hours, args.stations, year)
        print(f"seeded {args.gifts:,} gifts ({2 * args.gifts:,} ledger entries), "
              f"{args.hours:,} approved hour logs, {args.stations} stations "
              f"in {time.perf_counter() - began:.1f} s")
        _, token = await issue_token(state.db, user="bench-admin", role="admin", station=None,
                                     district=None)
        grant = await resolve_grant(state.db, f"Bearer {token}")
        start, end = dt.date(year, 1, 1), dt.date(year, 12, 31)
        async with state.db.read() as conn:
            for label, district in (("city", None), ("one district", "区1")):
                view = await dashboard.resolve_view(conn, grant, district=district, station=None,
                                                    start=start, end=end)
                began = time.perf_counter()
                figures = await dashboard.figures_of(conn, view)
                took = time.perf_counter() - began
                print(f"dashboard, {label}: {took * 1000:,.0f} ms "
                      f"(money {figures['money_by_month']['total'] / 100:,.2f} yuan, "
                      f"{figures['money_by_month']['rows']:,} rows)")
                began = time.perf_counter()
                await dashboard.drill_down(conn, view, "money_by_channel", "station:cash", 3)
                print(f"one drill-down page, {label}: "
                      f"{(time.perf_counter() - began) * 1000:,.0f} ms")
            view = await dashboard.resolve_view(conn, grant, district=None, station=None,
                                                start=start, end=end)
            began = time.perf_counter()
            summary = await year_summary.year_summary(conn, view, year)
            pdf = year_summary.render_pdf(summary)
            book = year_summary.render_xlsx(summary)
            print(f"year summary, city: {(time.perf_counter() - began) * 1000:,.0f} ms "
                  f"(PDF {len(pdf) / 1024:.0f} KB, workbook {len(book) / 1024:.0f} KB)")
        await state.db.dispose()


if __name__ == "__main__":
    asyncio.run(main())
