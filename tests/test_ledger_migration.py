"""Migration 0015 moves the ledger's notes out of what the chain hashes: existing chains
are verified under the old rule first, re-hashed, and still verify; an altered chain stops
the migration (SQLite and PostgreSQL, each on a database of its own)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from sqlalchemy import column, select, table, text

from server.domain.funds import funds, ledger_entries, verify_fund
from server.migrate import migrate
from sync.db import Database
from sync.tables import changes
from tests.conftest import drop_pg_database, fresh_pg_database

OLD_FIELDS = ("id", "movement_id", "fund_id", "seq", "account", "amount_fen", "kind",
              "donation_id", "correction_id", "disbursement_id", "project_id", "note",
              "created_by", "created_at")
NOTE = "王小红 13912345678 多记了"


def _old_hash(entry: dict[str, Any], prev: str) -> str:
    return hashlib.sha256(json.dumps([prev] + [entry[c] for c in OLD_FIELDS],
                                     ensure_ascii=False, separators=(",", ":")).encode()).hexdigest()


async def _old_world(db: Database, fund_id: str, *, tamper: bool = False) -> str:
    """A fund with a seed and a voided gift, written as the code before 0015 wrote it."""
    await migrate(db, "0011")
    movements = [("m1", "fund:general", "federation:seed", 5_000, "seed", "种子资金", None),
                 ("m2", "fund:general", "station:TH-001", 3_000, "donation", "", None),
                 ("m3", "fund:general", "station:TH-001", -3_000, "void", NOTE, "c1")]
    prev, seq, rows = "0" * 64, 0, []
    for movement_id, account, counter, amount, kind, note, correction in movements:
        for side, acc, value in (("f", account, amount), ("c", counter, -amount)):
            seq += 1
            entry = {"id": f"{movement_id}:{side}", "movement_id": movement_id, "fund_id": fund_id,
                     "seq": seq, "account": acc, "amount_fen": value, "kind": kind,
                     "donation_id": "d1" if kind != "seed" else None, "correction_id": correction,
                     "disbursement_id": None, "project_id": None, "note": note,
                     "created_by": "staff1", "created_at": f"2026-09-05T02:3{seq}:00.000Z",
                     "station": "TH-001", "district": "天河区"}
            entry["prev_hash"] = prev
            entry["hash"] = prev = _old_hash(entry, prev)
            rows.append(entry)
    if tamper:
        rows[2]["amount_fen"] = 300  # altered after it was hashed
    async with db.engine.begin() as conn:
        await conn.execute(text(
            "INSERT INTO funds (id, name, district, station, purpose, balance_fen, reserved_fen, "
            "head_seq, head_hash, created_by, created_at) VALUES (:id, '基金', '天河区', 'TH-001', "
            "'', 5000, 0, :seq, :head, 'dm', '2026-09-05T02:00:00.000Z')"),
            {"id": fund_id, "seq": seq, "head": prev})
        old_table = table("ledger_entries", *[column(c) for c in rows[0]])  # columns of 0011
        await conn.execute(old_table.insert().values(rows))
        await conn.execute(changes.insert().values([
            {"txid": 1, "type": "ledger_entry", "record_id": r["id"], "station": "TH-001",
             "district": "天河区", "owner": None, "public": False, "audience": 2,
             "wire": json.dumps(r, ensure_ascii=False)} for r in rows]))
        await conn.execute(text("UPDATE sync_state SET int_value = 1 WHERE key = 'tx_counter'"))
    return prev


async def _check(url: str) -> None:
    db = Database(url)
    try:
        old_head = await _old_world(db, "f1")
        await migrate(db)
        async with db.engine.connect() as conn:
            report = await verify_fund(conn, "f1")
            head = (await conn.execute(select(funds.c.head_hash).where(funds.c.id == "f1"))
                    ).scalar_one()
            kept = (await conn.execute(text(
                "SELECT old_head_seq, old_head_hash, new_head_hash FROM ledger_rehash"))).one()
            void = (await conn.execute(select(ledger_entries).where(
                ledger_entries.c.id == "m3:f"))).mappings().one()
            feed = (await conn.execute(select(changes.c.txid, changes.c.wire).where(
                changes.c.type == "ledger_entry"))).all()
        assert report is not None and report.ok, report
        assert report.balance_fen == 5_000 and report.entries == 6
        assert head != old_head and tuple(kept) == (6, old_head, head)
        assert void["note"] == NOTE and void["category"] == "other" and len(void["note_digest"]) == 64
        # the phones get the re-hashed entries: moved to the end of the feed, built afresh
        assert len(feed) == 6 and all(txid > 1 and wire is None for txid, wire in feed)
    finally:
        await db.dispose()


async def _refuses(url: str) -> None:
    db = Database(url)
    try:
        await _old_world(db, "f9", tamper=True)
        with pytest.raises(RuntimeError, match="f9: the ledger does not verify at seq 3"):
            await migrate(db)
    finally:
        await db.dispose()


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_migration_0015_rehashes_verified_chains_and_refuses_altered_ones(
    backend: str, tmp_path: Path
) -> None:
    if backend == "sqlite":
        asyncio.run(_check(f"sqlite:///{tmp_path / 'a.db'}"))
        asyncio.run(_refuses(f"sqlite:///{tmp_path / 'b.db'}"))
        return
    for name, check in ((f"charity_mig13_{os.getpid()}", _check),
                        (f"charity_mig13b_{os.getpid()}", _refuses)):
        url = fresh_pg_database(name)
        try:
            asyncio.run(check(url))
        finally:
            drop_pg_database(name)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.text(), st.integers(-(2**62), 2**62), st.none()), max_size=16), st.text())
def test_the_hash_covers_the_bytes_the_chains_were_made_with(values: list[Any], prev: str) -> None:
    """Entries are hashed with msgspec now (two per gift, several times faster); the bytes
    must stay those of the rule every stored chain was made with: ``json.dumps`` of the
    array, ``ensure_ascii=False``, no spaces."""
    from server.domain.funds import HASHED_FIELDS, entry_hash, note_digest

    assume(all("\ud800" > ch or ch > "\udfff" for v in values if isinstance(v, str) for ch in v))
    assume(not any("\ud800" <= ch <= "\udfff" for ch in prev))
    entry = dict(zip(HASHED_FIELDS, (values + [None] * len(HASHED_FIELDS))[: len(HASHED_FIELDS)], strict=True))
    old = json.dumps([prev] + [entry[n] for n in HASHED_FIELDS], ensure_ascii=False, separators=(",", ":"))
    assert entry_hash(entry, prev) == hashlib.sha256(old.encode()).hexdigest()
    note = next((v for v in values if isinstance(v, str)), "")
    old_note = json.dumps([prev, note], ensure_ascii=False, separators=(",", ":"))
    assert note_digest(prev, note) == hashlib.sha256(old_note.encode()).hexdigest()
