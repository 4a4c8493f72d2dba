"""People, memberships, districts, devices and enrolment codes (issue 12, docs/accounts.md).

Revision ID: 0009
Revises: 0007
Create Date: 2026-11-26

Every existing device token becomes a membership of its user (deduplicated), with a
change row so phones pull it; ``device_tokens.role`` becomes nullable and unused.
Existing people get ``name = id``; districts are made from the stations' districts.
"""
from __future__ import annotations

import datetime as dt
import uuid

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0007"
branch_labels = None
depends_on = None


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{dt.datetime.now(dt.UTC).microsecond // 1000:03d}Z")


def upgrade() -> None:
    with op.batch_alter_table("users") as batch_op:
        batch_op.add_column(sa.Column("name", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("phone", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("languages", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("created_by", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("erased_at", sa.String(length=32), nullable=True))
    with op.batch_alter_table("device_tokens") as batch_op:
        batch_op.alter_column("role", existing_type=sa.String(length=32), nullable=True)
        batch_op.add_column(sa.Column("name", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("device_id", sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column("created_by", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("last_seen_at", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("app_version", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("pending_count", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("pending_summary", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("revoke_reason", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("wipe", sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.add_column(sa.Column("sign_out_requested_at", sa.String(length=32), nullable=True))
        batch_op.create_index("ix_device_tokens_device_id", ["device_id"], unique=False)
    with op.batch_alter_table("receipt_series") as batch_op:
        batch_op.add_column(sa.Column("device_id", sa.String(length=36), nullable=True))

    op.create_table(
        "memberships",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("station", sa.String(length=32), nullable=True),
        sa.Column("district", sa.String(length=100), nullable=True),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("languages", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.String(length=32), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=True),
        sa.Column("ended_at", sa.String(length=32), nullable=True),
        sa.Column("updated_at", sa.String(length=32), nullable=False),
        sa.Column("wire", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_memberships")),
    )
    op.create_index("ix_memberships_user_id_ended_at", "memberships", ["user_id", "ended_at"])
    op.create_table(
        "districts",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.String(length=32), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=True),
        sa.Column("wire", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_districts")),
    )
    op.create_table(
        "enrolment_codes",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("short_hash", sa.String(length=64), nullable=True),
        sa.Column("user_id", sa.String(length=64), nullable=True),
        sa.Column("station", sa.String(length=32), nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.String(length=32), nullable=False),
        sa.Column("expires_at", sa.String(length=32), nullable=True),
        sa.Column("used_at", sa.String(length=32), nullable=True),
        sa.Column("used_by", sa.String(length=36), nullable=True),
        sa.Column("revoked_at", sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enrolment_codes")),
        sa.UniqueConstraint("secret_hash", name=op.f("uq_enrolment_codes_secret_hash")),
    )
    op.create_index("ix_enrolment_codes_short_hash", "enrolment_codes", ["short_hash"])
    op.create_index("ix_enrolment_codes_user_id", "enrolment_codes", ["user_id"])
    op.create_table(
        "enrol_failures",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True,
                  nullable=False),
        sa.Column("client_ip", sa.String(length=64), nullable=False),
        sa.Column("short", sa.Boolean(), nullable=False),
        sa.Column("at", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enrol_failures")),
    )
    op.create_index("ix_enrol_failures_client_ip_at", "enrol_failures", ["client_ip", "at"])
    op.create_index("ix_enrol_failures_at", "enrol_failures", ["at"])
    _memberships_from_tokens()


def _next_txid(bind: sa.Connection) -> int:
    if bind.dialect.name == "postgresql":
        return int(bind.execute(sa.text("SELECT pg_current_xact_id()::text::bigint")).scalar_one())
    bind.execute(sa.text("UPDATE sync_state SET int_value = int_value + 1 WHERE key = 'tx_counter'"))
    return int(bind.execute(
        sa.text("SELECT int_value FROM sync_state WHERE key = 'tx_counter'")).scalar_one())


def _memberships_from_tokens() -> None:
    bind = op.get_bind()
    now = _now()
    bind.execute(sa.text("UPDATE users SET name = substr(id, 1, 64), languages = 'zh' "
                         "WHERE name IS NULL"))
    station_district: dict[str, str] = dict(bind.execute(sa.text("SELECT code, district FROM stations")).all())
    tokens = bind.execute(sa.text(
        "SELECT user_id, role, station, district FROM device_tokens "
        "WHERE revoked_at IS NULL ORDER BY created_at")).all()
    names: dict[str, str] = dict(bind.execute(sa.text("SELECT id, name FROM users")).all())
    seen: set[tuple[str, str, str | None, str | None]] = set()
    rows, feed = [], []
    txid = None
    for user_id, role, station, district in tokens:
        if role in ("volunteer", "staff", "manager"):
            district = station_district.get(station) or district
        elif role == "admin":
            station = district = None
        else:
            station = None
        key = (user_id, role, station, district)
        if key in seen or role is None:
            continue
        seen.add(key)
        if txid is None:
            txid = _next_txid(bind)
        membership_id = str(uuid.uuid4())
        rows.append({"id": membership_id, "user_id": user_id, "role": role, "station": station,
                     "district": district, "name": names.get(user_id) or user_id[:64],
                     "phone": None, "languages": "zh", "created_at": now, "created_by": None,
                     "ended_at": None, "updated_at": now, "wire": None})
        admin = role == "admin"
        feed.append({"txid": txid, "type": "membership", "record_id": membership_id,
                     "station": None if admin else station, "district": None if admin else district,
                     "owner": user_id, "public": False, "audience": 4 if admin else 2, "wire": None})
    memberships = sa.table("memberships", *[sa.column(c) for c in (
        "id", "user_id", "role", "station", "district", "name", "phone", "languages",
        "created_at", "created_by", "ended_at", "updated_at", "wire")])
    changes = sa.table("changes", *[sa.column(c) for c in (
        "txid", "type", "record_id", "station", "district", "owner", "public", "audience", "wire")])
    if rows:
        bind.execute(memberships.insert(), rows)
        bind.execute(changes.insert(), feed)
    district_names = sorted(set(station_district.values()))
    if district_names:
        txid = txid or _next_txid(bind)
        bind.execute(sa.table("districts", sa.column("name"), sa.column("created_at"),
                              sa.column("created_by"), sa.column("wire")).insert(),
                     [{"name": n, "created_at": now, "created_by": None, "wire": None}
                      for n in district_names])
        bind.execute(changes.insert(), [
            {"txid": txid, "type": "district", "record_id": n, "station": None, "district": None,
             "owner": None, "public": True, "audience": 0, "wire": None} for n in district_names])


def downgrade() -> None:
    op.drop_table("enrol_failures")
    op.drop_table("enrolment_codes")
    op.drop_table("districts")
    op.drop_index("ix_memberships_user_id_ended_at", table_name="memberships")
    op.drop_table("memberships")
    op.execute("DELETE FROM changes WHERE type IN ('membership', 'district')")
    with op.batch_alter_table("receipt_series") as batch_op:
        batch_op.drop_column("device_id")
    with op.batch_alter_table("device_tokens") as batch_op:
        batch_op.drop_index("ix_device_tokens_device_id")
        for name in ("sign_out_requested_at", "wipe", "revoke_reason", "pending_summary",
                     "pending_count", "app_version", "last_seen_at", "created_by", "device_id",
                     "name"):
            batch_op.drop_column(name)
    with op.batch_alter_table("users") as batch_op:
        for name in ("erased_at", "created_by", "languages", "phone", "name"):
            batch_op.drop_column(name)
