"""VAPID keys (RFC 8292): made on first start, kept in the database, rotated by command.

They live in the database rather than the data directory so that every PostgreSQL
worker (and every host behind a load balancer) signs with the same key, and a
backup of the data is a backup of the key. The repository never holds one.
Generations are numbered; the highest is current. After ``python -m server vapid
rotate`` subscriptions made under an older key get no more pushes (the push
service would refuse them) until the PWA re-subscribes with the new public key,
which it notices by comparing the key it subscribed with against
``GET /api/v1/push/vapid-public-key`` on every start.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from py_vapid import Vapid02
from py_vapid.utils import b64urlencode
from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError

from server.notify.tables import push_vapid_keys
from sync.db import Database
from sync.timeutil import now_iso


@dataclass(frozen=True)
class VapidKey:
    id: int
    public_key: str
    """Uncompressed P-256 point, base64url without padding: the PWA's applicationServerKey."""
    private_pem: str

    def signer(self) -> Vapid02:
        return _signer(self.private_pem)


@functools.lru_cache(maxsize=4)
def _signer(private_pem: str) -> Vapid02:
    """Parsed once per key, not once per push."""
    return Vapid02.from_pem(private_pem.encode())


def _new_key() -> tuple[str, str]:
    vapid = Vapid02()
    vapid.generate_keys()
    public = vapid.public_key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return b64urlencode(public), vapid.private_pem().decode()


async def current_key(conn: object) -> VapidKey | None:
    row = (
        await conn.execute(  # type: ignore[attr-defined]
            select(push_vapid_keys).order_by(push_vapid_keys.c.id.desc()).limit(1)
        )
    ).mappings().first()
    if row is None:
        return None
    return VapidKey(int(row["id"]), row["public_key"], row["private_key"])


async def _add_generation(db: Database, *, only_if_none: bool) -> VapidKey:
    public, private = _new_key()

    async def work(conn: object) -> VapidKey:
        existing = await current_key(conn)
        if existing is not None and only_if_none:
            return existing
        now = now_iso()
        next_id = (existing.id + 1) if existing else 1
        if existing is not None:
            await conn.execute(  # type: ignore[attr-defined]
                update(push_vapid_keys)
                .where(push_vapid_keys.c.retired_at.is_(None), push_vapid_keys.c.id < next_id)
                .values(retired_at=now)
            )
        await conn.execute(  # type: ignore[attr-defined]
            insert(push_vapid_keys).values(
                id=next_id, public_key=public, private_key=private, created_at=now, retired_at=None
            )
        )
        return VapidKey(next_id, public, private)

    try:
        return await db.run_write(work)
    except IntegrityError:  # another worker made generation 1 at the same moment
        if not only_if_none:
            raise
        async with db.read() as conn:
            found = await current_key(conn)
        assert found is not None
        return found


async def ensure_key(db: Database) -> VapidKey:
    """The current key, made now if this is the first start."""
    async with db.read() as conn:
        found = await current_key(conn)
    return found if found is not None else await _add_generation(db, only_if_none=True)


async def rotate_key(db: Database) -> VapidKey:
    """A new generation becomes current; older ones are kept (marked retired) for the record."""
    return await _add_generation(db, only_if_none=False)


async def key_count(db: Database) -> int:
    async with db.read() as conn:
        return int((await conn.execute(select(func.count()).select_from(push_vapid_keys))).scalar_one())
