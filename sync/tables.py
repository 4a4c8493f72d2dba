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
    false,
    text,
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
    Column("name", String(64), nullable=True),
    Column("phone", String(20), nullable=True),
    Column("languages", String(64), nullable=True),
    Column("created_by", String(64), nullable=True),
    Column("erased_at", String(32), nullable=True),
)
"""People (docs/accounts.md): what they may do comes from their ``memberships``."""

device_tokens = Table(
    "device_tokens",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("user_id", String(64), nullable=False, index=True),
    Column("role", String(32), nullable=True),
    Column("station", String(32), nullable=True),
    Column("district", String(100), nullable=True),
    Column("revoked_at", String(32), nullable=True),
    Column("created_at", String(32), nullable=False),
    Column("name", String(64), nullable=True),
    Column("device_id", String(36), nullable=True, index=True),
    Column("created_by", String(64), nullable=True),
    Column("last_seen_at", String(32), nullable=True),
    Column("app_version", String(40), nullable=True),
    Column("pending_count", Integer, nullable=True),
    Column("pending_summary", Text, nullable=True),
    Column("revoke_reason", String(16), nullable=True),
    Column("wipe", Boolean, nullable=False, default=False, server_default=false()),
    Column("sign_out_requested_at", String(32), nullable=True),
)
"""A phone's token (docs/accounts.md). What it may do comes from its user's memberships
at request time; ``role``/``station``/``district`` are what it was issued with before
migration 0009 and are no longer read."""

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
    Column("exited_at", String(32), nullable=True),
    Index("ix_changes_txid_seq", "txid", "seq"),
    Index("ix_changes_type_record", "type", "record_id"),
    Index(
        "ix_changes_exited_at", "exited_at",
        sqlite_where=text("exited_at IS NOT NULL"), postgresql_where=text("exited_at IS NOT NULL"),
    ),
)
"""The change feed, compacted: one row per record, moved to the end on every write.
Since every write of a record rewrites its row, the row can carry the record as phones
see it: ``wire``, encoded once by the unit of work, so a pull reads the feed in order
and looks nothing up. NULL means "look at the record": a tombstone (``op: del``), or
a row from before migration 0006.

A row with ``exited_at`` set is a **scope exit** (migration 0007): the record left the
scope in its columns at that time, and a pull sends it as ``op: del`` to the grants that
see that scope. It always lies before the record's own row (written in the same
transaction, the live row only moves later), so a grant that sees both the old and the
new scope gets the removal, then the record. One per record and old scope; pruned with
the tombstones (``sync.retention``). The partial index keeps live rows out of it, so the
hot path pays nothing for it."""

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
    Column("subject", String(100), nullable=True),
    Column("resolved_at", String(32), nullable=True),
    Column("resolved_by", String(64), nullable=True),
    Index("ix_sync_issues_subject", "subject"),
)
