"""Device tokens: issue, revoke, and resolve a bearer token to a grant.

Until phone enrolment exists, ``python -m server token issue`` is how a device
gets its token: it stands in for enrolment and is documented as such.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from server.domain.stations import district_of_sql
from sync.db import Database, HotSql
from sync.errors import ProtocolError
from sync.scopes import DISTRICT_MANAGER, RANK, ROLES, Grant
from sync.tables import device_tokens, users
from sync.timeutil import now_iso


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def issue_token(
    db: Database, *, user: str, role: str, station: str | None, district: str | None
) -> tuple[str, str]:
    """Create (or reuse) the user and a new device token; returns (token_id, token)."""
    if role not in RANK:
        raise ValueError(f"unknown role {role!r}; one of {', '.join(ROLES)}")
    rank = RANK[role]
    if rank < DISTRICT_MANAGER and not station:
        raise ValueError(f"role {role} needs --station")
    if rank == DISTRICT_MANAGER and not district:
        raise ValueError("role district_manager needs --district")
    if not user or len(user) > 64:
        raise ValueError("--user must be 1 to 64 characters")
    token = secrets.token_urlsafe(32)
    token_id = str(uuid.uuid4())
    now = now_iso()

    async def work(conn: AsyncConnection) -> None:
        exists = (await conn.execute(select(users.c.id).where(users.c.id == user))).first()
        if exists is None:
            await conn.execute(insert(users).values(id=user, created_at=now))
        await conn.execute(
            insert(device_tokens).values(
                id=token_id, token_hash=hash_token(token), user_id=user, role=role,
                station=station, district=district, revoked_at=None, created_at=now,
            )
        )

    await db.run_write(work)
    return token_id, token


async def revoke_token(db: Database, token_id: str) -> bool:
    async def work(conn: AsyncConnection) -> bool:
        result = await conn.execute(
            update(device_tokens)
            .where(device_tokens.c.id == token_id, device_tokens.c.revoked_at.is_(None))
            .values(revoked_at=now_iso())
        )
        return bool(result.rowcount)

    return await db.run_write(work)


def unauthorized() -> ProtocolError:
    return ProtocolError(401, "unauthorized", "缺少或无效的设备令牌", "missing or invalid device token")


def bearer_token(authorization: str | None) -> str:
    """The token of an ``Authorization: Bearer`` header; 401 when there is none."""
    if not authorization or not authorization.lower().startswith("bearer "):
        raise unauthorized()
    token = authorization[7:].strip()
    if not token:
        raise unauthorized()
    return token


RESOLVE_TOKEN = HotSql(
    "SELECT t.id, t.user_id, t.role, t.station, t.district, t.revoked_at, "
    f"{district_of_sql('t.station')} AS station_district FROM device_tokens AS t "
    "WHERE t.token_hash = :token_hash"
)


def grant_resolver(token: str) -> Callable[[Any], Awaitable[Grant]]:
    """Look the token up on the connection the sync engine is already using, inside its
    transaction: no extra connection, and a revocation counts from the next request."""
    token_hash = hash_token(token)

    async def resolve(conn: Any) -> Grant:
        found = await RESOLVE_TOKEN.rows(conn, token_hash=token_hash)
        if not found:
            raise unauthorized()
        row = found[0]
        if row["revoked_at"] is not None:
            raise ProtocolError(403, "device_revoked", "此设备已被停用", "this device was revoked")
        return Grant(
            token_id=row["id"], user_id=row["user_id"], role=row["role"],
            station=row["station"], district=row["district"] or row["station_district"],
        )

    return resolve


async def resolve_grant(db: Database, authorization: str | None) -> Grant:
    """Bearer token to grant; 401 when unknown, 403 when the device was revoked."""
    resolve = grant_resolver(bearer_token(authorization))
    async with db.engine.connect() as conn:
        return await resolve(conn)
