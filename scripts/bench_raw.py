"""The raw storage limits the benchmarks compare with (scripts/bench_sync.py,
scripts/bench_city.py), measured in the same run on the same machine: the rows a
measure wrote, re-inserted into copies of the same tables with the same indexes in the
same batches (one transaction and one ``executemany`` per table per batch, one update
of a single head row per batch), and the feed's rows read back with their JSON decoded.
A figure divided by its raw limit moves only when the server's own cost moves."""

from __future__ import annotations

import asyncio
import re
import sqlite3
import time
from typing import Any

import msgspec

UNIQUE_COLUMNS = {
    "donations": ("id",), "receipts": ("number",), "ledger_entries": ("id", "seq"),
    "changes": ("record_id",), "mutations": ("client_id", "key"), "hour_logs": ("id",),
    "events": ("id",),
}
"""Columns given fresh values when rows are re-inserted (keys, unique indexes);
``changes.seq`` is left to the database, as the server does."""


async def counts(url: str, tables: tuple[str, ...]) -> dict[str, int]:
    """Rows in each table."""
    out: dict[str, int] = {}
    if url.startswith("sqlite"):
        conn = sqlite3.connect(url.split("sqlite:///", 1)[1])
        try:
            for t in tables:
                out[t] = conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0]
        finally:
            conn.close()
        return out
    import asyncpg

    pg = await asyncpg.connect(_pg(url))
    try:
        for t in tables:
            out[t] = await pg.fetchval(f'SELECT count(*) FROM "{t}"')
    finally:
        await pg.close()
    return out


def _pg(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


async def raw_limit(url: str, per_unit: dict[str, float], units: int, batch_units: int, conns: int
                    ) -> tuple[float, float]:
    """(units/s, rows/s) of re-inserting ``per_unit`` rows per unit (a gift) from each
    table into same-shaped tables with the same indexes, ``batch_units`` units per
    transaction, one ``executemany`` per table, one fund row update per transaction."""
    tables = {t: n for t, n in per_unit.items() if n > 0}
    if url.startswith("sqlite"):
        return await asyncio.to_thread(_raw_sqlite, url.split("sqlite:///", 1)[1], tables, units, batch_units)
    return await _raw_postgres(url, tables, units, batch_units, conns)


def _fresh_rows(table: str, columns: list[str], sample: list[tuple[Any, ...]], count: int, run: str,
                start: int) -> list[tuple[Any, ...]]:
    unique = {columns.index(c) for c in UNIQUE_COLUMNS.get(table, ()) if c in columns}
    rows = []
    for n in range(count):
        row = list(sample[n % len(sample)])
        for i in unique:
            row[i] = start + n + 10_000_000 if isinstance(row[i], int) else f"{run}{start + n:x}"
        rows.append(tuple(row))
    return rows


def _plan(per_unit: dict[str, float], batch_units: int) -> dict[str, int]:
    return {t: max(1, round(n * batch_units)) for t, n in per_unit.items()}


def _raw_sqlite(path: str, tables: dict[str, float], units: int, batch_units: int) -> tuple[float, float]:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    try:
        plan = _plan(tables, batch_units)
        prepared: dict[str, tuple[str, list[str], list[tuple[Any, ...]]]] = {}
        for t in tables:
            for (sql,) in conn.execute("SELECT sql FROM sqlite_master WHERE tbl_name = ? AND sql IS NOT NULL "
                                       "ORDER BY type DESC", (t,)).fetchall():
                sql = re.sub(rf'(?i)(CREATE TABLE\s+)"?{t}"?', rf'\1"raw_{t}"', sql)
                sql = re.sub(rf'(?i)(INDEX\s+)"?(\w+)"?(\s+ON\s+)"?{t}"?', rf'\1"raw_\2"\3"raw_{t}"', sql)
                conn.execute(sql.replace("CREATE TABLE", "CREATE TABLE IF NOT EXISTS", 1)
                             .replace("INDEX", "INDEX IF NOT EXISTS", 1) if "INDEX" in sql else
                             sql.replace("CREATE TABLE", "CREATE TABLE IF NOT EXISTS", 1))
            cur = conn.execute(f'SELECT * FROM "{t}" LIMIT 2000')
            columns = [d[0] for d in cur.description]
            sample = cur.fetchall()
            if t == "changes":
                keep = [i for i, c in enumerate(columns) if c != "seq"]
                columns = [columns[i] for i in keep]
                sample = [tuple(r[i] for i in keep) for r in sample]
            names = ", ".join(f'"{c}"' for c in columns)
            marks = ", ".join("?" for _ in columns)
            prepared[t] = (f'INSERT INTO "raw_{t}" ({names}) VALUES ({marks})', columns, sample)
        conn.execute('CREATE TABLE IF NOT EXISTS raw_head (id INTEGER PRIMARY KEY, seq INTEGER, hash TEXT)')
        conn.execute("INSERT OR REPLACE INTO raw_head VALUES (1, 0, '')")
        batches = max(1, units // batch_units)
        work = []
        for b in range(batches):
            work.append({t: _fresh_rows(t, cols, sample, plan[t], "r", b * plan[t])
                         for t, (_sql, cols, sample) in prepared.items()})
        rows = 0
        began = time.perf_counter()
        for b, batch in enumerate(work):
            conn.execute("BEGIN IMMEDIATE")
            for t, data in batch.items():
                conn.executemany(prepared[t][0], data)
                rows += len(data)
            conn.execute("UPDATE raw_head SET seq = ?, hash = ? WHERE id = 1", (b, "x" * 64))
            conn.execute("COMMIT")
        secs = time.perf_counter() - began
        for t in tables:
            conn.execute(f'DROP TABLE "raw_{t}"')
        return batches * batch_units / secs, rows / secs
    finally:
        conn.close()


async def _raw_postgres(url: str, tables: dict[str, float], units: int, batch_units: int, conns: int
                        ) -> tuple[float, float]:
    import asyncpg

    plan = _plan(tables, batch_units)
    setup = await asyncpg.connect(_pg(url))
    prepared: dict[str, tuple[str, list[str], list[tuple[Any, ...]]]] = {}
    try:
        await setup.execute("CREATE TABLE IF NOT EXISTS raw_head (id int PRIMARY KEY, seq int, hash text)")
        await setup.execute("INSERT INTO raw_head VALUES (1, 0, '') ON CONFLICT (id) DO NOTHING")
        for t in tables:
            await setup.execute(f'DROP TABLE IF EXISTS "raw_{t}"')
            await setup.execute(f'CREATE TABLE "raw_{t}" (LIKE "{t}" INCLUDING ALL)')
            records = await setup.fetch(f'SELECT * FROM "{t}" LIMIT 2000')
            columns = [c for c in records[0].keys() if not (t == "changes" and c == "seq")]
            sample = [tuple(r[c] for c in columns) for r in records]
            names = ", ".join(f'"{c}"' for c in columns)
            marks = ", ".join(f"${i + 1}" for i in range(len(columns)))
            prepared[t] = (f'INSERT INTO "raw_{t}" ({names}) VALUES ({marks})', columns, sample)
    finally:
        await setup.close()
    batches = max(1, units // batch_units)
    work = [{t: _fresh_rows(t, cols, sample, plan[t], f"r{b}-", b * plan[t]) for t, (_s, cols, sample) in prepared.items()}
            for b in range(batches)]
    pool = [await asyncpg.connect(_pg(url)) for _ in range(conns)]
    rows = 0

    async def writer(conn: Any, mine: list[dict[str, list[tuple[Any, ...]]]]) -> None:
        nonlocal rows
        for batch in mine:
            async with conn.transaction():
                for t, data in batch.items():
                    await conn.executemany(prepared[t][0], data)
                    rows += len(data)
                await conn.execute("UPDATE raw_head SET seq = seq + 1, hash = $1 WHERE id = 1", "x" * 64)

    try:
        began = time.perf_counter()
        await asyncio.gather(*(writer(c, work[i::conns]) for i, c in enumerate(pool)))
        secs = time.perf_counter() - began
        for t in tables:
            await pool[0].execute(f'DROP TABLE "raw_{t}"')
    finally:
        for c in pool:
            await c.close()
    return batches * batch_units / secs, rows / secs


async def raw_read(url: str, page: int) -> tuple[int, float]:
    """(rows, rows/s) of reading the whole change feed in ``page``-row pages by position
    (``txid, seq``), each row's wire JSON decoded: what a pull cannot beat."""
    decode = msgspec.json.Decoder().decode
    if url.startswith("sqlite"):
        def read() -> tuple[int, float]:
            conn = sqlite3.connect(url.split("sqlite:///", 1)[1])
            try:
                began = time.perf_counter()
                at, n = (-1, -1), 0
                while True:
                    rows = conn.execute(
                        "SELECT txid, seq, type, record_id, wire FROM changes WHERE (txid, seq) > (?, ?) "
                        "ORDER BY txid, seq LIMIT ?", (*at, page)).fetchall()
                    for row in rows:
                        if row[4] is not None:
                            decode(row[4])
                    n += len(rows)
                    if len(rows) < page:
                        return n, n / (time.perf_counter() - began)
                    at = (rows[-1][0], rows[-1][1])
            finally:
                conn.close()

        return await asyncio.to_thread(read)
    import asyncpg

    conn = await asyncpg.connect(_pg(url))
    try:
        began = time.perf_counter()
        at, n = (-1, -1), 0
        while True:
            rows = await conn.fetch(
                "SELECT txid, seq, type, record_id, wire FROM changes WHERE (txid, seq) > ($1, $2) "
                "ORDER BY txid, seq LIMIT $3", at[0], at[1], page)
            for row in rows:
                if row["wire"] is not None:
                    decode(row["wire"])
            n += len(rows)
            if len(rows) < page:
                return n, n / (time.perf_counter() - began)
            at = (rows[-1]["txid"], rows[-1]["seq"])
    finally:
        await conn.close()
