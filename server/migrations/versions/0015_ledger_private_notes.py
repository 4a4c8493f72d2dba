"""The fund ledger's free text leaves what the chain hashes, so it can be erased (PIPL);
corrections and disbursements get the categories public pages show instead of free text.

- ``ledger_entries``: ``category`` (public: a correction's reason category, a
  disbursement's purpose category), ``note_salt`` and ``note_digest``. The hash now covers
  the entry's public facts and ``note_digest = sha256(json([salt, note]))`` instead of
  the note itself (``server/domain/funds.py``, docs/donations.md "The ledger").
- ``donation_corrections.category`` (``other`` for existing rows);
  ``disbursements.category`` (``other``), ``payee_kind`` (``person``: nothing about an
  old payee is published), ``payee_public`` (false).
- ``ledger_rehash``: per fund, the head before and after this migration.

Why existing chains still prove what they proved. Before anything is rewritten, every
fund's chain is verified under the old rule (each hash over its entry including the
note, linked from 64 zeros, ending at the fund's published head); a fund whose chain
does not verify stops the migration with its id (an operator must look: rehashing it
would launder the tampering). Only then is every entry re-hashed under the new rule, in
the same order, with the same public facts and a digest of its note, and the fund's head
replaced. The old and new heads are kept in ``ledger_rehash``, so an auditor who noted
an old head can see that the chain the migration accepted ended exactly there; from the
new head on, altering an amount, an account, the order, a category or a note (while its
salt is kept) breaks the new chain exactly as before.

The rewritten ledger entries, funds, corrections and disbursements move to the end of
the change feed with no wire of their own (a pull builds them from the rows), so phones
that hold the old versions receive the new ones.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-28
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

GENESIS = "0" * 64
OLD_FIELDS = (
    "id", "movement_id", "fund_id", "seq", "account", "amount_fen", "kind", "donation_id",
    "correction_id", "disbursement_id", "project_id", "note", "created_by", "created_at",
)
NEW_FIELDS = (
    "id", "movement_id", "fund_id", "seq", "account", "amount_fen", "kind", "category",
    "donation_id", "correction_id", "disbursement_id", "project_id", "created_by", "created_at",
    "note_digest",
)
"""Frozen copies of the two rules (``server/domain/funds.py`` holds the live one)."""

MOVED_TYPES = ("ledger_entry", "fund", "donation_correction", "disbursement")


def _hash(values: list[Any]) -> str:
    return hashlib.sha256(json.dumps(values, ensure_ascii=False, separators=(",", ":"))
                          .encode()).hexdigest()


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _next_txid(bind: sa.Connection) -> int:
    if bind.dialect.name == "postgresql":
        return int(bind.execute(sa.text("SELECT pg_current_xact_id()::text::bigint")).scalar_one())
    bind.execute(sa.text("UPDATE sync_state SET int_value = int_value + 1 WHERE key = 'tx_counter'"))
    return int(bind.execute(
        sa.text("SELECT int_value FROM sync_state WHERE key = 'tx_counter'")).scalar_one())


def upgrade() -> None:
    with op.batch_alter_table("ledger_entries") as batch_op:
        batch_op.add_column(sa.Column("category", sa.String(16), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("note_salt", sa.String(32), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("note_digest", sa.String(64), nullable=False,
                                      server_default=""))
    with op.batch_alter_table("donation_corrections") as batch_op:
        batch_op.add_column(sa.Column("category", sa.String(16), nullable=False,
                                      server_default="other"))
    with op.batch_alter_table("disbursements") as batch_op:
        batch_op.add_column(sa.Column("category", sa.String(16), nullable=False,
                                      server_default="other"))
        batch_op.add_column(sa.Column("payee_kind", sa.String(16), nullable=False,
                                      server_default="person"))
        batch_op.add_column(sa.Column("payee_public", sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    op.create_table(
        "ledger_rehash",
        sa.Column("fund_id", sa.String(36), nullable=False),
        sa.Column("old_head_seq", sa.Integer(), nullable=False),
        sa.Column("old_head_hash", sa.String(64), nullable=False),
        sa.Column("new_head_hash", sa.String(64), nullable=False),
        sa.Column("at", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("fund_id", name=op.f("pk_ledger_rehash")),
    )
    _rehash()


def _rehash() -> None:
    bind = op.get_bind()
    funds = bind.execute(sa.text(
        "SELECT id, head_seq, head_hash FROM funds ORDER BY id")).mappings().all()
    entries = sa.table("ledger_entries", *[sa.column(c) for c in (
        "id", "category", "note_salt", "note_digest", "prev_hash", "hash")])
    now = _now()
    moved = False
    for fund in funds:
        rows = bind.execute(sa.text(
            "SELECT * FROM ledger_entries WHERE fund_id = :f ORDER BY seq"), {"f": fund["id"]}
        ).mappings().all()
        prev = GENESIS
        for expected, row in enumerate(rows, start=1):  # the old chain must hold first
            if (row["seq"] != expected or row["prev_hash"] != prev
                    or _hash([prev] + [row[c] for c in OLD_FIELDS]) != row["hash"]):
                raise RuntimeError(
                    f"fund {fund['id']}: the ledger does not verify at seq {row['seq']}; "
                    "refusing to re-hash a chain that was altered (see migration 0015)")
            prev = row["hash"]
        if prev != fund["head_hash"] or len(rows) != fund["head_seq"]:
            raise RuntimeError(f"fund {fund['id']}: the ledger does not end at the fund's head; "
                               "refusing to re-hash it (see migration 0015)")
        prev = GENESIS
        for row in rows:
            category = "other" if row["correction_id"] or row["disbursement_id"] else ""
            salt = secrets.token_hex(16)
            values = {**row, "category": category, "note_salt": salt,
                      "note_digest": _hash([salt, row["note"]])}
            new_hash = _hash([prev] + [values[c] for c in NEW_FIELDS])
            bind.execute(entries.update().where(entries.c.id == row["id"]).values(
                category=category, note_salt=salt, note_digest=values["note_digest"],
                prev_hash=prev, hash=new_hash))
            prev = new_hash
        if rows:
            bind.execute(sa.text("UPDATE funds SET head_hash = :h WHERE id = :f"),
                         {"h": prev, "f": fund["id"]})
            moved = True
        bind.execute(sa.text(
            "INSERT INTO ledger_rehash (fund_id, old_head_seq, old_head_hash, new_head_hash, at) "
            "VALUES (:f, :s, :o, :n, :at)"),
            {"f": fund["id"], "s": fund["head_seq"], "o": fund["head_hash"], "n": prev, "at": now})
    has_others = bind.execute(sa.text(
        "SELECT COUNT(*) FROM changes WHERE type IN ('donation_correction', 'disbursement')")
    ).scalar_one()
    if moved or has_others:
        _move_to_feed_end(bind)


def _move_to_feed_end(bind: sa.Connection) -> None:
    """Every live change row of the rewritten types goes to the end of the feed with a new
    txid and no wire (a pull builds the record from its row)."""
    txid = _next_txid(bind)
    types = ", ".join(f"'{t}'" for t in MOVED_TYPES)
    last = int(bind.execute(sa.text("SELECT COALESCE(MAX(seq), 0) FROM changes")).scalar_one())
    bind.execute(sa.text(
        "INSERT INTO changes (txid, type, record_id, station, district, owner, public, audience, "
        "wire, exited_at) SELECT :txid, type, record_id, station, district, owner, public, "
        f"audience, NULL, NULL FROM changes WHERE type IN ({types}) AND exited_at IS NULL "
        "ORDER BY seq"), {"txid": txid})
    bind.execute(sa.text(
        f"DELETE FROM changes WHERE type IN ({types}) AND exited_at IS NULL AND seq <= :last"),
        {"last": last})


def downgrade() -> None:
    """Back to hashes over the notes (an erased note stays blank: the old rule covers it as
    blank from here on)."""
    bind = op.get_bind()
    funds = bind.execute(sa.text("SELECT id FROM funds ORDER BY id")).scalars().all()
    entries = sa.table("ledger_entries", sa.column("id"), sa.column("prev_hash"), sa.column("hash"))
    for fund_id in funds:
        rows = bind.execute(sa.text(
            "SELECT * FROM ledger_entries WHERE fund_id = :f ORDER BY seq"), {"f": fund_id}
        ).mappings().all()
        prev = GENESIS
        for row in rows:
            new_hash = _hash([prev] + [row[c] for c in OLD_FIELDS])
            bind.execute(entries.update().where(entries.c.id == row["id"]).values(
                prev_hash=prev, hash=new_hash))
            prev = new_hash
        if rows:
            bind.execute(sa.text("UPDATE funds SET head_hash = :h WHERE id = :f"),
                         {"h": prev, "f": fund_id})
    op.drop_table("ledger_rehash")
    with op.batch_alter_table("disbursements") as batch_op:
        for name in ("payee_public", "payee_kind", "category"):
            batch_op.drop_column(name)
    with op.batch_alter_table("donation_corrections") as batch_op:
        batch_op.drop_column("category")
    with op.batch_alter_table("ledger_entries") as batch_op:
        for name in ("note_digest", "note_salt", "category"):
            batch_op.drop_column(name)
