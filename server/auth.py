"""Device tokens: issue, revoke, and resolve a bearer token to a grant (docs/accounts.md).

A token belongs to a person; what it allows is the person's *active memberships*, read
at every request in the same query that finds the token, so a role given or ended counts
from the next request. Phones get tokens by enrolment (``server/enrol.py``);
``python -m server token issue`` remains for recovery and tests.

Refusals: 401 ``unauthorized`` (no or unknown token), 401 ``device_expired`` (unused for
``CHARITY_DEVICE_IDLE_DAYS``), 403 ``device_wiped`` (revoked as lost: the phone wipes
itself), 403 ``device_revoked``, 403 ``no_membership``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from server.domain.stations import district_of_sql
from server.notify.tables import push_subscriptions
from sync.db import Database, HotSql
from sync.errors import ProtocolError
from sync.pokes import PokeSink
from sync.scopes import DISTRICT_MANAGER, RANK, ROLES, Grant, Membership
from sync.tables import device_tokens
from sync.timeutil import iso, now_iso, utc_now

SEEN_EVERY_SECONDS = 60
"""``last_seen_at`` is written at most this often per token."""
_idle_days: float = 60.0


def configure(device_idle_days: float) -> None:
    """Set by the app at start (``CHARITY_DEVICE_IDLE_DAYS``)."""
    global _idle_days
    _idle_days = float(device_idle_days)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def check_place(role: str, station: str | None, district: str | None) -> None:
    if role not in RANK:
        raise ValueError(f"unknown role {role!r}; one of {', '.join(ROLES)}")
    rank = RANK[role]
    if rank < DISTRICT_MANAGER and not station:
        raise ValueError(f"role {role} needs --station")
    if rank == DISTRICT_MANAGER and not district:
        raise ValueError("role district_manager needs --district")


async def insert_token(conn: Any, *, user_id: str, name: str | None = None,
                       device_id: str | None = None, created_by: str | None = None,
                       ) -> tuple[str, str]:
    """A new token row on ``conn`` (inside the caller's transaction): (token_id, token)."""
    token = secrets.token_urlsafe(32)
    token_id = str(uuid.uuid4())
    now = now_iso()
    await conn.execute(insert(device_tokens).values(
        id=token_id, token_hash=hash_token(token), user_id=user_id, role=None, station=None,
        district=None, revoked_at=None, created_at=now, name=name, device_id=device_id,
        created_by=created_by, last_seen_at=now, wipe=False,
    ))
    return token_id, token


SYSTEM = Grant(token_id="system", user_id="system", role="admin", station=None, district=None)


async def issue_token(
    db: Database, *, user: str, role: str, station: str | None, district: str | None,
    name: str | None = None, device_id: str | None = None, pokes: PokeSink | None = None,
) -> tuple[str, str]:
    """Ensure the person and that membership (added if missing), then a new device token;
    returns (token_id, token). A station that does not exist yet is accepted (tests make
    tokens first); the command line checks it. ``pokes``: the app's, when it runs in
    one (else PostgreSQL's NOTIFY still reaches every worker)."""
    check_place(role, station, district)
    if not user or len(user) > 64:
        raise ValueError("--user must be 1 to 64 characters")
    from server.domain.people import ensure_membership, system_write

    async def work(tx: Any, ctx: Any) -> tuple[str, str]:
        await ensure_membership(tx, ctx, user, role, station, district)
        await tx.query(select(1))  # the person row first
        return await insert_token(tx.conn, user_id=user, name=name, device_id=device_id,
                                  created_by="system")

    return await system_write(db, _registry(), pokes or PokeSink(None, postgres=db.is_postgres),
                              SYSTEM, "token.issue", work)


_REGISTRY: Any = None


def _registry() -> Any:
    global _REGISTRY
    if _REGISTRY is None:
        from server.domain import stations
        from server.domain.people import records_registry

        _REGISTRY = records_registry()
        stations.install(_REGISTRY)
    return _REGISTRY


async def revoke_token(db: Database, token_id: str, *, reason: str = "admin",
                       wipe: bool = False, pokes: PokeSink | None = None,
                       also: Callable[[AsyncConnection], Awaitable[None]] | None = None) -> bool:
    """Revoke a token now. ``wipe`` (lost or stolen): its Web Push subscriptions go too
    and every later request answers ``device_wiped``. Open event streams of the token
    end within seconds (they re-check it; a ``t:<id>`` poke, through ``pokes``, wakes
    them at once). ``also`` runs in the same transaction when the token was revoked
    (the audit row)."""
    sink = pokes or PokeSink(None, postgres=db.is_postgres)
    tags = {revoke_tag(token_id)}

    async def work(conn: AsyncConnection) -> bool:
        values: dict[str, Any] = {"revoked_at": now_iso(), "revoke_reason": reason}
        if wipe:
            values["wipe"] = True
        result = await conn.execute(
            update(device_tokens)
            .where(device_tokens.c.id == token_id, device_tokens.c.revoked_at.is_(None))
            .values(**values)
        )
        done = bool(result.rowcount)
        if not done and wipe:  # already revoked (signed out): a later "lost" still wipes
            result = await conn.execute(update(device_tokens).where(
                device_tokens.c.id == token_id).values(wipe=True, revoke_reason=reason))
            done = bool(result.rowcount)
        if done and wipe:
            await conn.execute(delete(push_subscriptions).where(
                push_subscriptions.c.token_id == token_id))
        if done:
            await sink.stage(conn, tags)
            if also is not None:
                await also(conn)
        return done

    done = await db.run_write(work)
    if done:
        sink.committed(tags)
    return done


def revoke_tag(token_id: str) -> str:
    """The poke tag an event stream of this token listens to for its revocation."""
    return f"t:{token_id}"


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
    "SELECT t.id, t.user_id, t.revoked_at, t.wipe, t.device_id, t.created_at, t.last_seen_at, "
    "t.app_version, t.pending_count, t.pending_summary, t.sign_out_requested_at, "
    f"m.role, m.station, m.district, {district_of_sql('m.station')} AS station_district "
    "FROM device_tokens AS t "
    "LEFT OUTER JOIN memberships AS m ON m.user_id = t.user_id AND m.ended_at IS NULL "
    "WHERE t.token_hash = :token_hash"
)
TOUCH_TOKEN = HotSql(
    "UPDATE device_tokens SET last_seen_at = :now, app_version = :app_version, "
    "pending_count = :pending_count, pending_summary = :pending_summary WHERE id = :id"
)


class TokenResolver:
    """Resolves a bearer token on the connection the sync engine is already using,
    inside its transaction: no extra connection, and a revocation or a role change
    counts from the next request. Notes what the device reported (``X-App-Version``,
    a push's pending counts) and when it was last seen: written in the same
    transaction on a write (``write=True``), else by ``touch`` afterwards."""

    def __init__(self, token: str, *, app_version: str | None = None, write: bool = False,
                 pending_count: int | None = None,
                 pending_summary: dict[str, int] | None = None) -> None:
        self.token_hash = hash_token(token)
        self.app_version = app_version[:40] if app_version else None
        self.write = write
        self.pending_count = pending_count
        self.pending_summary = (json.dumps(pending_summary, ensure_ascii=False, sort_keys=True)
                                if pending_summary is not None else None)
        self._due: dict[str, Any] | None = None
        self.grant: Grant | None = None
        """The last grant resolved (a route reads ``sign_out`` from it)."""

    async def __call__(self, conn: Any) -> Grant:
        rows = await RESOLVE_TOKEN.rows(conn, token_hash=self.token_hash)
        if not rows:
            raise unauthorized()
        row = rows[0]
        if row["wipe"]:
            raise ProtocolError(403, "device_wiped", "此设备已被挂失,数据已清除",
                                "this device was reported lost; its data is wiped")
        if row["revoked_at"] is not None:
            raise ProtocolError(403, "device_revoked", "此设备已被停用", "this device was revoked")
        now = utc_now()
        seen = row["last_seen_at"] or row["created_at"]
        if seen < iso(now - dt.timedelta(days=_idle_days)):
            raise ProtocolError(
                401, "device_expired", f"此设备已超过 {_idle_days:g} 天未使用,请重新登记",
                f"this device was not used for {_idle_days:g} days; enrol it again")
        found = tuple(
            Membership(r["role"], r["station"],
                       None if r["role"] == "admin" else (r["station_district"] or r["district"]))
            for r in rows if r["role"] is not None
        )
        if not found:
            raise ProtocolError(403, "no_membership", "您目前没有任何角色,请联系站点管理者",
                                "you have no role at any station; ask a manager")
        self._note(row, iso(now))
        if self.write and self._due is not None:
            await TOUCH_TOKEN.execute(conn, **self._due)
            self._due = None
        self.grant = Grant.of(row["id"], row["user_id"], found, device_id=row["device_id"],
                              sign_out=row["sign_out_requested_at"] is not None)
        return self.grant

    def _note(self, row: dict[str, Any], now: str) -> None:
        values = {
            "id": row["id"], "now": row["last_seen_at"],
            "app_version": self.app_version or row["app_version"],
            "pending_count": row["pending_count"] if self.pending_count is None else self.pending_count,
            "pending_summary": self.pending_summary or row["pending_summary"],
        }
        stale = (row["last_seen_at"] or "") < iso(utc_now() - dt.timedelta(seconds=SEEN_EVERY_SECONDS))
        changed = any(values[k] != row[k] for k in ("app_version", "pending_count", "pending_summary"))
        if stale or changed:
            values["now"] = now
            self._due = values

    async def touch(self, db: Database) -> None:
        """Write what ``__call__`` noted, if anything (at most once a minute per token
        for ``last_seen_at`` alone)."""
        due, self._due = self._due, None
        if due is None:
            return

        async def work(conn: Any) -> None:
            await TOUCH_TOKEN.execute(conn, **due)

        await db.run_write(work)


def grant_resolver(token: str, **options: Any) -> TokenResolver:
    return TokenResolver(token, **options)


async def resolve_grant(db: Database, authorization: str | None, *,
                        app_version: str | None = None) -> Grant:
    """Bearer token to grant (401/403 as the module says), noting the device was seen."""
    resolver = TokenResolver(bearer_token(authorization), app_version=app_version)
    async with db.engine.connect() as conn:
        grant = await resolver(conn)
    await resolver.touch(db)
    return grant


async def token_row(conn: AsyncConnection, token_id: str) -> dict[str, Any] | None:
    found = (await conn.execute(select(device_tokens).where(device_tokens.c.id == token_id))
             ).mappings().first()
    return dict(found) if found is not None else None
