"""Tables of notifications: the inbox records, preferences and alert lines (synced), and
the server-side machinery behind push (keys, subscriptions, outbox, deliveries).

Times are ISO-8601 UTC text like every other table.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from sync.tables import BigId, metadata

notifications = Table(
    "notifications",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("user_id", String(64), nullable=False),
    Column("kind", String(40), nullable=False),
    Column("station", String(32), nullable=True),
    Column("district", String(100), nullable=True),
    Column("title", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("url", String(300), nullable=False),
    Column("target", Text, nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("read_at", String(32), nullable=True),
    Column("deleted_at", String(32), nullable=True),
    Column("subject", String(100), nullable=True),
    Column("resolved_at", String(32), nullable=True),
    Index("ix_notifications_user_created", "user_id", "created_at"),
    Index("ix_notifications_subject", "subject"),
)
"""The in-app inbox: one row per recipient, owned by them. ``title``/``body`` are JSON
``{zh, en}``; ``target`` is JSON ``{screen, ...ids}`` (where a tap leads)."""

notification_prefs = Table(
    "notification_prefs",
    metadata,
    Column("user_id", String(64), primary_key=True),
    Column("muted_kinds", Text, nullable=False),
    Column("stations", Text, nullable=True),
    Column("quiet_start", String(5), nullable=True),
    Column("quiet_end", String(5), nullable=True),
    Column("push_enabled", Boolean, nullable=False),
    Column("field_meta", Text, nullable=False),
    Column("updated_at", String(32), nullable=False),
)

alert_thresholds = Table(
    "alert_thresholds",
    metadata,
    Column("id", String(120), primary_key=True),
    Column("metric", String(32), nullable=False),
    Column("subject", String(64), nullable=False),
    Column("station", String(32), nullable=True),
    Column("district", String(100), nullable=True),
    Column("amount_fen", BigInteger, nullable=True),
    Column("set_by", String(64), nullable=False),
    Column("updated_at", String(32), nullable=False),
)
"""Per station large-donation lines (``large_donation:<station>``) and per fund
low-water marks (``fund_low:<fund_id>``); ``amount_fen`` NULL means the default."""

push_vapid_keys = Table(
    "push_vapid_keys",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("public_key", Text, nullable=False),
    Column("private_key", Text, nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("retired_at", String(32), nullable=True),
)
"""VAPID key generations; the highest ``id`` is current. In the database so every
PostgreSQL worker signs with the same key."""

push_subscriptions = Table(
    "push_subscriptions",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("endpoint", Text, nullable=False, unique=True),
    Column("p256dh", String(200), nullable=False),
    Column("auth", String(200), nullable=False),
    Column("user_id", String(64), nullable=False, index=True),
    Column("token_id", String(36), nullable=False),
    Column("vapid_key_id", Integer, nullable=False),
    Column("stale_reason", String(32), nullable=True),
    Column("created_at", String(32), nullable=False),
    Column("updated_at", String(32), nullable=False),
    Column("last_ok_at", String(32), nullable=True),
)

notify_outbox = Table(
    "notify_outbox",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("kind", String(40), nullable=False),
    Column("station", String(32), nullable=True),
    Column("district", String(100), nullable=True),
    Column("data", Text, nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("state", String(16), nullable=False),
    Column("processed_at", String(32), nullable=True),
    Index("ix_notify_outbox_state_id", "state", "id"),
)
"""What happened that may need a manager: written in the transaction of its cause,
turned into inbox records and push deliveries by the background task."""

push_deliveries = Table(
    "push_deliveries",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("notification_id", String(36), nullable=False),
    Column("subscription_id", String(36), nullable=False, index=True),
    Column("kind", String(40), nullable=False),
    Column("topic", String(32), nullable=False),
    Column("state", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", String(32), nullable=False),
    Column("lease_until", String(32), nullable=True),
    Column("last_status", Integer, nullable=True),
    Column("last_error", String(200), nullable=True),
    Column("created_at", String(32), nullable=False),
    Column("sent_at", String(32), nullable=True),
    UniqueConstraint("notification_id", "subscription_id"),
    Index("ix_push_deliveries_state_next", "state", "next_attempt_at"),
)
"""One row per (notification, subscription): pending -> sending (leased) -> sent,
or failed / gone / skipped. The unique pair is what makes "never twice" hold."""

hours_waiting = Table(
    "notify_hours_waiting",
    metadata,
    Column("log_id", String(64), primary_key=True),
    Column("station", String(32), nullable=True),
    Column("district", String(100), nullable=True),
    Column("volunteer_id", String(64), nullable=True),
    Column("minutes", Integer, nullable=True),
    Column("submitted_at", String(32), nullable=False),
    Column("decided_at", String(32), nullable=True),
    Column("reminded_at", String(32), nullable=True),
    Index("ix_notify_hours_waiting_submitted", "submitted_at"),
)
"""Hour logs submitted and not yet decided: fed by ``hours.submitted``/``hours.decided``."""

notify_marks = Table(
    "notify_marks",
    metadata,
    Column("key", String(150), primary_key=True),
    Column("value", String(64), nullable=False),
    Column("updated_at", String(32), nullable=False),
)
"""Small memory of what was already said: ``fund_low:<id>`` -> last alert time,
``stale:<client_id>`` -> the ``last_seen_at`` an alert was sent for."""

