"""Tables the engine owns. Domain tables join the same ``metadata`` from ``server/domain``.

The record as phones see it (``wire``) is encoded once when it is written and kept
in its ``changes`` row, so a pull sends it as it is; a change row without one (a
tombstone, or written before migration 0006) means "build it from the record".

Timestamps are ISO-8601 UTC text (``2026-11-25T06:36:00.123Z``) so that SQLite and
PostgreSQL store and sort them alike and phones receive them unchanged.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "pk": "pk_%(table_name)s",
    }
)

BigId = BigInteger().with_variant(Integer, "sqlite")

sync_state = Table(
    "sync_state",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("int_value", BigInteger, nullable=False, default=0),
    Column("text_value", Text, nullable=True),
)
"""Engine bookkeeping: ``tx_counter`` (SQLite change clock), ``pruned_txid`` and
``pruned_seq`` (the retention horizon: older cursors get ``reset``)."""

users = Table(
    "users",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("created_at", String(32), nullable=False),
)

device_tokens = Table(
    "device_tokens",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("user_id", String(64), nullable=False, index=True),
    Column("role", String(32), nullable=False),
    Column("station", String(32), nullable=True),
    Column("district", String(100), nullable=True),
    Column("revoked_at", String(32), nullable=True),
    Column("created_at", String(32), nullable=False),
)
"""A device's grant. Issued by ``python -m server token issue`` until enrolment exists."""

clients = Table(
    "clients",
    metadata,
    Column("client_id", String(36), primary_key=True),
    Column("token_id", String(36), nullable=False, index=True),
    Column("user_id", String(64), nullable=False),
    Column("last_mutation_id", BigInteger, nullable=False, default=0),
    Column("pending_count", Integer, nullable=True),
    Column("created_at", String(32), nullable=False),
    Column("last_seen_at", String(32), nullable=False),
)

mutations = Table(
    "mutations",
    metadata,
    Column("client_id", String(36), primary_key=True),
    Column("mutation_id", BigInteger, primary_key=True),
    Column("user_id", String(64), nullable=False),
    Column("key", String(36), nullable=True),
    Column("name", String(64), nullable=False),
    Column("version", SmallInteger, nullable=False),
    Column("status", String(16), nullable=False),
    Column("code", String(64), nullable=True),
    Column("message", Text, nullable=True),
    Column("issue_id", String(36), nullable=True),
    Column("txid", BigInteger, nullable=False),
    Column("applied_at", String(32), nullable=False),
    UniqueConstraint("user_id", "key"),
)
"""Stored outcome of every mutation. ``key`` is NULL on rows that were themselves
duplicates of another key, so the unique (user, key) index holds the first only."""

changes = Table(
    "changes",
    metadata,
    Column("seq", BigId, primary_key=True, autoincrement=True),
    Column("txid", BigInteger, nullable=False),
    Column("type", String(32), nullable=False),
    Column("record_id", String(64), nullable=False),
    Column("station", String(32), nullable=True),
    Column("district", String(100), nullable=True),
    Column("owner", String(64), nullable=True),
    Column("public", Boolean, nullable=False, default=False),
    Column("audience", SmallInteger, nullable=False, default=0),
    Column("wire", Text, nullable=True),
    Index("ix_changes_txid_seq", "txid", "seq"),
    Index("ix_changes_type_record", "type", "record_id"),
)
"""The change feed, compacted: one row per record, moved to the end on every write.
Since every write of a record rewrites its row, the row can carry the record as phones
see it: ``wire``, encoded once by the unit of work, so a pull reads the feed in order
and looks nothing up. NULL means "look at the record": a tombstone (``op: del``), or
a row from before migration 0006."""

conflicts = Table(
    "conflicts",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("record_type", String(32), nullable=False),
    Column("record_id", String(64), nullable=False),
    Column("field", String(64), nullable=False),
    Column("kept_value", Text, nullable=True),
    Column("lost_value", Text, nullable=True),
    Column("kept_hlc", String(100), nullable=False),
    Column("lost_hlc", String(100), nullable=False),
    Column("kept_by", String(64), nullable=False),
    Column("lost_by", String(64), nullable=False),
    Column("station", String(32), nullable=True),
    Column("district", String(100), nullable=True),
    Column("status", String(16), nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("resolved_by", String(64), nullable=True),
    Column("resolved_at", String(32), nullable=True),
)

sync_issues = Table(
    "sync_issues",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("client_id", String(36), nullable=False),
    Column("mutation_id", BigInteger, nullable=False),
    Column("mutation", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("code", String(64), nullable=False),
    Column("message", Text, nullable=False),
    Column("user_id", String(64), nullable=False),
    Column("station", String(32), nullable=True),
    Column("district", String(100), nullable=True),
    Column("created_at", String(32), nullable=False),
)
