"""Signed volunteer codes: what the volunteer's QR code carries.

Staff check a volunteer in by scanning the code on the volunteer's phone. A plain user
id in that code could be copied once and used for ever; this code is signed by the
server (HMAC-SHA256) and carries the user id, when it was issued and when it expires, so
a screenshot stops working after the code's lifetime (``CHARITY_VOLUNTEER_CODE_DAYS``).

Phones work offline: the volunteer's phone shows the last code it received (it gets a
new one with ``/api/v1/me`` at every start and from ``GET /api/v1/timebank/volunteer-code``
whenever the code screen opens online); the staff phone queues the check-in with the code
in its args; the server checks the signature and the expiry against the check-in's
*device* time, because the push may arrive hours later.

Form (compact for a QR code, URL-safe, about 60 characters)::

    <generation>.<user id, base64url>.<issued, base36 seconds>.<expires, base36 seconds>.<tag>

``tag`` is the first 16 bytes of HMAC-SHA256 over everything before it, base64url.

Keys live in the database (``sync_state``, ``volunteer_code_key:<generation>``), like the
enrolment key, so every worker and every host signs and checks with the same key and a
backup of the data is a backup of the key. ``python -m server volunteer-codes rotate``
adds a generation; new codes are signed with the newest, and an older generation keeps
verifying until no code signed with it can still be valid (its successor is older than
the code lifetime), then it is deleted.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from sync.db import Database
from sync.tables import sync_state

KEY_PREFIX = "volunteer_code_key:"
TAG_BYTES = 16


@dataclass(frozen=True)
class VolunteerCode:
    user_id: str
    issued_at: dt.datetime
    expires_at: dt.datetime
    generation: int


class CodeError(ValueError):
    """The code is malformed, signed with no key we hold, or its tag does not match."""


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _b36(value: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        value, rest = divmod(value, 36)
        out = digits[rest] + out
        if value == 0:
            return out


def _tag(key: bytes, body: str) -> str:
    return _b64(hmac.new(key, body.encode(), hashlib.sha256).digest()[:TAG_BYTES])


def sign(key: bytes, generation: int, user_id: str, issued_at: dt.datetime, days: float) -> str:
    """A code for ``user_id``, issued at ``issued_at``, valid for ``days``."""
    issued = int(issued_at.timestamp())
    expires = issued + int(days * 86400)
    body = f"{generation}.{_b64(user_id.encode())}.{_b36(issued)}.{_b36(expires)}"
    return f"{body}.{_tag(key, body)}"


def parse(code: str) -> tuple[int, str, VolunteerCode]:
    """Split a code without checking it: (generation, signed body, claims)."""
    parts = code.strip().split(".")
    if len(parts) != 5:
        raise CodeError("malformed")
    try:
        generation = int(parts[0])
        user_id = _unb64(parts[1]).decode()
        issued, expires = int(parts[2], 36), int(parts[3], 36)
        claims = VolunteerCode(
            user_id=user_id,
            issued_at=dt.datetime.fromtimestamp(issued, dt.UTC),
            expires_at=dt.datetime.fromtimestamp(expires, dt.UTC),
            generation=generation,
        )
    except (ValueError, OverflowError, OSError, binascii.Error, UnicodeDecodeError) as exc:
        raise CodeError("malformed") from exc
    return generation, ".".join(parts[:4]), claims


def verify(keys: dict[int, bytes], code: str) -> VolunteerCode:
    """The code's claims if a key we hold signed it (times are not checked here: the
    caller compares them with the moment that matters, the check-in's device time)."""
    generation, body, claims = parse(code)
    key = keys.get(generation)
    if key is None:
        raise CodeError("unknown key")
    expected = _tag(key, body)
    if not hmac.compare_digest(expected, code.strip().rsplit(".", 1)[1]):
        raise CodeError("bad signature")
    return claims


# -- keys ----------------------------------------------------------------------------------


async def keys_on(conn: Any) -> dict[int, bytes]:
    """Every generation held, read on the caller's connection (a mutator's ``tx.conn``)."""
    rows = (await conn.execute(
        select(sync_state.c.key, sync_state.c.text_value)
        .where(sync_state.c.key.like(f"{KEY_PREFIX}%"))
    )).all()
    return {int(key[len(KEY_PREFIX):]): bytes.fromhex(value) for key, value in rows if value}


async def _add_generation(conn: AsyncConnection, now: dt.datetime, *, only_if_none: bool,
                          lifetime_days: float) -> int:
    held = (await conn.execute(
        select(sync_state.c.key, sync_state.c.int_value)
        .where(sync_state.c.key.like(f"{KEY_PREFIX}%"))
    )).all()
    made = {int(key[len(KEY_PREFIX):]): int(created) for key, created in held}
    if made and only_if_none:
        return max(made)
    generation = max(made, default=0) + 1
    await conn.execute(insert(sync_state).values(
        key=f"{KEY_PREFIX}{generation}", int_value=int(now.timestamp()),
        text_value=secrets.token_hex(32)))
    # A generation can go once its successor is older than a code's lifetime: every code
    # it signed was issued before the successor existed, so has expired.
    horizon = now.timestamp() - lifetime_days * 86400
    created = {**made, generation: int(now.timestamp())}
    for old in sorted(made):
        successor = min(g for g in created if g > old)
        if created[successor] <= horizon:
            await conn.execute(delete(sync_state).where(sync_state.c.key == f"{KEY_PREFIX}{old}"))
    return generation


async def ensure_key(db: Database, lifetime_days: float) -> None:
    """Make the first key if there is none (on the first ``/me`` or code request)."""
    async with db.read() as conn:
        if await keys_on(conn):
            return

    async def make(conn: AsyncConnection) -> int:
        return await _add_generation(conn, dt.datetime.now(dt.UTC), only_if_none=True,
                                     lifetime_days=lifetime_days)

    await db.run_write(make)


async def rotate(db: Database, lifetime_days: float, now: dt.datetime | None = None) -> int:
    """A new signing key; returns its generation. Codes signed with the previous keys
    keep verifying until they expire."""
    moment = now or dt.datetime.now(dt.UTC)

    async def make(conn: AsyncConnection) -> int:
        return await _add_generation(conn, moment, only_if_none=False, lifetime_days=lifetime_days)

    return await db.run_write(make)


async def issue(conn: Any, user_id: str, days: float, now: dt.datetime | None = None) -> dict[str, Any] | None:
    """A fresh code for ``user_id`` signed with the newest key, as the phone keeps it;
    None when no key exists yet."""
    keys = await keys_on(conn)
    if not keys:
        return None
    generation = max(keys)
    moment = (now or dt.datetime.now(dt.UTC)).replace(microsecond=0)
    code = sign(keys[generation], generation, user_id, moment, days)
    _, _, claims = parse(code)
    return {"code": code, "user_id": user_id,
            "issued_at": claims.issued_at.isoformat().replace("+00:00", "Z"),
            "expires_at": claims.expires_at.isoformat().replace("+00:00", "Z")}


__all__ = ["CodeError", "VolunteerCode", "ensure_key", "issue", "keys_on", "parse", "rotate",
           "sign", "verify"]
