"""Enrolment: a phone gets its token by exchanging a code (docs/accounts.md).

Three kinds of code, one table:

- ``device``: made by a manager for a person (``POST /api/v1/enrol/codes``): a link and
  QR code carrying a 32-byte secret, and an 8-character short code to type
  (``ABCD-EFGH``, Crockford base32). Valid ``CHARITY_ENROL_CODE_MINUTES``; single use.
- ``first_admin``: printed by ``serve`` while nobody is an administrator, and by
  ``python -m server admin enrol-link``; makes person 管理员 with an admin membership.
- ``signup``: one per station, on its poster; anyone may sign up as a volunteer there.

Only hashes of secrets are stored. Secrets of ``first_admin`` and ``signup`` codes are
derived from the code's id with a key kept in the database (HMAC), so the poster and the
start-up banner can show them again; device secrets are random and shown once.
Failed attempts are counted per client address (and short codes globally) and answered
``429 rate_limited`` with ``Retry-After`` beyond the limit.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import io
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

from litestar import Request, Response, get, post
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    String,
    Table,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from schemas.people import EnrolCodeRequest, EnrolRequest, SignupRequest
from schemas.timebank import VolunteerRegisterArgs
from server import audit
from server.accounts import forbidden, may_act_for, me_body, person_memberships, place_of_person
from server.api import APP_VERSION, decode_body
from server.auth import SYSTEM, TokenResolver, insert_token, resolve_grant
from server.domain.people import (
    ensure_person,
    has_active_admin,
    memberships,
    system_write,
    write_membership,
)
from server.domain.stations import stations
from server.openapi import TOKEN, answer, errors
from server.settings import Settings
from sync.db import Database
from sync.errors import ProtocolError, Rejected
from sync.ids import uuid7
from sync.pokes import PokeSink
from sync.scopes import MANAGER, RANK, STAFF, Grant
from sync.tables import device_tokens, metadata, sync_state
from sync.timeutil import iso, now_iso, utc_now

enrolment_codes = Table(
    "enrolment_codes",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("secret_hash", String(64), nullable=False, unique=True),
    Column("short_hash", String(64), nullable=True, index=True),
    Column("user_id", String(64), nullable=True, index=True),
    Column("station", String(32), nullable=True),
    Column("created_by", String(64), nullable=True),
    Column("created_at", String(32), nullable=False),
    Column("expires_at", String(32), nullable=True),
    Column("used_at", String(32), nullable=True),
    Column("used_by", String(36), nullable=True),
    Column("revoked_at", String(32), nullable=True),
)

enrol_failures = Table(
    "enrol_failures",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("client_ip", String(64), nullable=False),
    Column("short", Boolean, nullable=False),
    Column("at", String(32), nullable=False),
    Index("ix_enrol_failures_client_ip_at", "client_ip", "at"),
    Index("ix_enrol_failures_at", "at"),
)
"""Failed exchanges in the rate-limit window (older rows are deleted as new ones come)."""

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
FIRST_ADMIN_HOURS = 24
FIRST_ADMIN_NAME = "管理员"
KEY_NAME = "enrol_secret_key"


def sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def new_short_code() -> str:
    return "".join(secrets.choice(CROCKFORD) for _ in range(8))


def show_short(code: str) -> str:
    return f"{code[:4]}-{code[4:]}"


def normalise_short(typed: str) -> str:
    """Any case, with or without the dash or spaces; Crockford's look-alikes mapped."""
    cleaned = typed.upper().replace("-", "").replace(" ", "")
    return cleaned.translate(str.maketrans("OIL", "011"))


def refusal(status: int, code: str, zh: str, en: str) -> ProtocolError:
    return ProtocolError(status, code, zh, en)


UNKNOWN = (404, "enrol_code_unknown", "登记码无效,请检查是否输错", "unknown enrolment code; check for typos")
EXPIRED = (410, "enrol_code_expired", "登记码已过期,请向管理者索取新码", "this enrolment code expired; ask for a new one")
USED = (409, "enrol_code_used", "登记码已被使用过", "this enrolment code was already used")
REVOKED = (410, "enrol_code_revoked", "登记码已作废,请向管理者索取新码", "this enrolment code was revoked; ask for a new one")


# -- secrets ---------------------------------------------------------------------------------


async def _key(db: Database) -> bytes:
    """The HMAC key for derived secrets, made on first use."""
    async with db.read() as conn:
        found = (await conn.execute(select(sync_state.c.text_value).where(
            sync_state.c.key == KEY_NAME))).scalar()
    if found:
        return bytes.fromhex(found)

    async def make(conn: AsyncConnection) -> str:
        again = (await conn.execute(select(sync_state.c.text_value).where(
            sync_state.c.key == KEY_NAME))).scalar()
        if again:
            return str(again)
        value = secrets.token_hex(32)
        await conn.execute(insert(sync_state).values(key=KEY_NAME, int_value=0, text_value=value))
        return value

    return bytes.fromhex(await db.run_write(make))


def derived_secret(key: bytes, code_id: str) -> str:
    digest = hmac.new(key, code_id.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def link(settings: Settings, route: str, secret: str) -> str:
    return f"{settings.base_url}/#/{route}?code={secret}"


# -- making codes ----------------------------------------------------------------------------


@dataclass(frozen=True)
class MadeCode:
    id: str
    secret: str
    link: str
    expires_at: str | None
    short_code: str | None = None


async def make_device_code(db: Database, settings: Settings, user_id: str, created_by: str,
                           *, grant: Grant | None = None,
                           place: tuple[str | None, str | None] = (None, None)) -> MadeCode:
    """A device code for ``user_id``; their older unused ones are revoked. Audited as
    ``enrol.code_issue`` by ``grant`` (the system when None), at the person's ``place``."""
    secret, short = secrets.token_urlsafe(32), new_short_code()
    code_id, now = uuid7(), utc_now()
    expires = iso(now + dt.timedelta(minutes=settings.enrol_code_minutes))

    async def work(conn: AsyncConnection) -> None:
        await conn.execute(update(enrolment_codes).where(
            enrolment_codes.c.user_id == user_id, enrolment_codes.c.kind == "device",
            enrolment_codes.c.used_at.is_(None), enrolment_codes.c.revoked_at.is_(None),
        ).values(revoked_at=iso(now)))
        await conn.execute(insert(enrolment_codes).values(
            id=code_id, kind="device", secret_hash=sha256(secret), short_hash=sha256(short),
            user_id=user_id, station=None, created_by=created_by, created_at=iso(now),
            expires_at=expires))
        await audit.record(conn, grant, "enrol.code_issue", "person", user_id, station=place[0],
                           district=place[1], detail={"code": code_id, "kind": "device"})

    await db.run_write(work)
    return MadeCode(code_id, secret, link(settings, "enrol", secret), expires, show_short(short))


async def make_first_admin_code(db: Database, settings: Settings, *, fresh: bool) -> MadeCode:
    """The unexpired unused first-administrator code (``fresh``: always a new one, the
    older ones revoked)."""
    key = await _key(db)
    now = utc_now()

    async def work(conn: AsyncConnection) -> tuple[str, str]:
        live = (enrolment_codes.c.kind == "first_admin", enrolment_codes.c.used_at.is_(None),
                enrolment_codes.c.revoked_at.is_(None))
        if not fresh:
            found = (await conn.execute(select(enrolment_codes.c.id, enrolment_codes.c.expires_at)
                                        .where(*live, enrolment_codes.c.expires_at > iso(now))
                                        .order_by(enrolment_codes.c.created_at.desc()))).first()
            if found is not None:
                return str(found[0]), str(found[1])
        await conn.execute(update(enrolment_codes).where(*live).values(revoked_at=iso(now)))
        code_id = uuid7()
        expires = iso(now + dt.timedelta(hours=FIRST_ADMIN_HOURS))
        await conn.execute(insert(enrolment_codes).values(
            id=code_id, kind="first_admin", secret_hash=sha256(derived_secret(key, code_id)),
            created_by="system", created_at=iso(now), expires_at=expires))
        await audit.record(conn, None, "enrol.code_issue", "enrolment_code", code_id,
                           detail={"code": code_id, "kind": "first_admin"})
        return code_id, expires

    code_id, expires = await db.run_write(work)
    secret = derived_secret(key, code_id)
    return MadeCode(code_id, secret, link(settings, "enrol", secret), expires)


async def signup_code(db: Database, settings: Settings, station: str, created_by: str, *,
                      rotate: bool = False) -> MadeCode:
    """The station's sign-up code, made on first use (``rotate``: a new one, the old revoked)."""
    key = await _key(db)

    async def work(conn: AsyncConnection) -> str:
        live = (enrolment_codes.c.kind == "signup", enrolment_codes.c.station == station,
                enrolment_codes.c.revoked_at.is_(None))
        found = (await conn.execute(select(enrolment_codes.c.id).where(*live))).scalar()
        if found is not None and not rotate:
            return str(found)
        await conn.execute(update(enrolment_codes).where(*live).values(revoked_at=now_iso()))
        code_id = uuid7()
        await conn.execute(insert(enrolment_codes).values(
            id=code_id, kind="signup", secret_hash=sha256(derived_secret(key, code_id)),
            station=station, created_by=created_by, created_at=now_iso(), expires_at=None))
        return code_id

    code_id = await db.run_write(work)
    secret = derived_secret(key, code_id)
    return MadeCode(code_id, secret, link(settings, "signup", secret), None)


def terminal_qr(text: str) -> str:
    """A QR code drawn with block characters, for the start-up banner."""
    import segno

    out = io.StringIO()
    segno.make(text, error="m").terminal(out=out, compact=True)
    return out.getvalue()


async def first_admin_banner(settings: Settings) -> str | None:
    """What ``serve`` prints while nobody is an administrator (None once someone is)."""
    db = Database(settings.resolved_database_url)
    try:
        async with db.read() as conn:
            if await has_active_admin(conn):
                return None
        made = await make_first_admin_code(db, settings, fresh=False)
    finally:
        await db.dispose()
    return admin_banner(made)


def admin_banner(made: MadeCode) -> str:
    return (
        "\n尚无管理员。用手机打开下面的链接(或扫描二维码)成为第一位管理员:\n"
        "No administrator yet. Open this link on a phone (or scan the QR code) to become the "
        "first administrator:\n\n"
        f"  {made.link}\n\n{terminal_qr(made.link)}\n"
        f"(valid until {made.expires_at}; python -m server admin enrol-link makes a new one)\n"
    )


# -- rate limiting -----------------------------------------------------------------------------


def client_ip(request: Request[Any, Any, Any]) -> str:
    client = request.client
    return (client.host if client is not None else "unknown")[:64]


async def check_rate(db: Database, settings: Settings, ip: str, short: bool) -> None:
    since = iso(utc_now() - dt.timedelta(minutes=settings.enrol_failure_window_minutes))
    async with db.read() as conn:
        mine = (await conn.execute(select(func.count(), func.min(enrol_failures.c.at)).where(
            enrol_failures.c.client_ip == ip, enrol_failures.c.at > since))).one()
        everyone = (0, None)
        if short:
            everyone = (await conn.execute(select(func.count(), func.min(enrol_failures.c.at)).where(
                enrol_failures.c.short.is_(True), enrol_failures.c.at > since))).one()
    for (count, oldest), limit in ((mine, settings.enrol_failures_per_ip),
                                   (everyone, settings.enrol_failures_short_global)):
        if count >= limit and oldest is not None:
            frees = dt.datetime.fromisoformat(oldest) + dt.timedelta(
                minutes=settings.enrol_failure_window_minutes)
            wait = max(1, int((frees - utc_now()).total_seconds()) + 1)
            raise ProtocolError(
                429, "rate_limited", f"尝试次数过多,请 {wait} 秒后再试",
                f"too many attempts; try again in {wait}s", retry_after=wait)


async def record_failure(db: Database, settings: Settings, ip: str, short: bool) -> None:
    old = iso(utc_now() - dt.timedelta(minutes=settings.enrol_failure_window_minutes))

    async def work(conn: AsyncConnection) -> None:
        await conn.execute(delete(enrol_failures).where(enrol_failures.c.at <= old))
        await conn.execute(insert(enrol_failures).values(client_ip=ip, short=short, at=now_iso()))

    await db.run_write(work)


# -- exchanging -------------------------------------------------------------------------------


async def _find(db: Database, *, secret: str | None, short: str | None) -> dict[str, Any] | None:
    async with db.read() as conn:
        if secret is not None:
            stmt = select(enrolment_codes).where(enrolment_codes.c.secret_hash == sha256(secret))
        else:
            stmt = (select(enrolment_codes).where(
                enrolment_codes.c.short_hash == sha256(normalise_short(short or "")),
                enrolment_codes.c.kind == "device")
                .order_by(enrolment_codes.c.created_at.desc()))
        row = (await conn.execute(stmt)).mappings().first()
    return dict(row) if row is not None else None


def _usable(code: dict[str, Any] | None, kinds: tuple[str, ...]) -> tuple[int, str, str, str] | None:
    """Why this code cannot be exchanged now (a refusal), or None."""
    if code is None or code["kind"] not in kinds:
        return UNKNOWN
    if code["revoked_at"] is not None:
        return REVOKED
    if code["used_at"] is not None:
        return USED
    if code["expires_at"] is not None and code["expires_at"] <= now_iso():
        return EXPIRED
    return None


async def _device_id_for(conn: AsyncConnection, user_id: str, wanted: str | None) -> str:
    """The phone's own ``device_id`` unless another person's token already has it."""
    if wanted:
        other = (await conn.execute(select(device_tokens.c.id).where(
            device_tokens.c.device_id == wanted, device_tokens.c.user_id != user_id).limit(1))).first()
        if other is None:
            return wanted
    return str(uuid.uuid4())


class _Answer(Exception):
    """A refusal raised inside the exchange's transaction (rolls it back)."""

    def __init__(self, refusal: tuple[int, str, str, str]) -> None:
        super().__init__(refusal[1])
        self.refusal = refusal


async def _enrolled_answer(db: Database, token: str, token_id: str, device_id: str
                           ) -> dict[str, Any]:
    resolver = TokenResolver(token)
    async with db.read() as conn:
        try:
            grant = await resolver(conn)
        except ProtocolError:
            grant = None
        me = await me_body(conn, grant) if grant is not None else None
    return {"token": token, "token_id": token_id, "device_id": device_id, "me": me}


async def exchange(db: Database, registry: Any, pokes: PokeSink, code: dict[str, Any], *,
                   device_name: str, device_id: str | None, person: dict[str, Any] | None = None,
                   ) -> tuple[str, str, str]:
    """Mark the code used (device, first_admin) and make the token in one transaction;
    for a sign-up, make the person, their volunteer membership and profile too (the
    phones that see them are poked through ``pokes``). Returns (token_id, token, device_id)."""
    kind = code["kind"]
    new_user = uuid7() if kind in ("first_admin", "signup") else None
    user_id = new_user or str(code["user_id"])
    if kind == "signup":
        actor = Grant(token_id="signup", user_id=user_id, role="volunteer", station=code["station"],
                      district=None)
    else:
        actor = SYSTEM

    async def work(tx: Any, ctx: Any) -> tuple[str, str, str]:
        conn = tx.conn
        if kind != "signup":
            marked = await conn.execute(update(enrolment_codes).where(
                enrolment_codes.c.id == code["id"], enrolment_codes.c.used_at.is_(None),
                enrolment_codes.c.revoked_at.is_(None)).values(used_at=now_iso()))
            if not marked.rowcount:
                raise _Answer(USED)
        if kind == "first_admin":
            made = await ensure_person(tx, ctx, user_id, name=FIRST_ADMIN_NAME)
            write_membership(tx, ctx, made, membership_id=uuid7(), role="admin", station=None,
                             district=None)
        elif kind == "signup":
            assert person is not None
            station = await tx.get("station", code["station"])
            if station is None or station["deleted_at"]:
                raise _Answer(REVOKED)
            made = await ensure_person(tx, ctx, user_id, name=person["name"], phone=person["phone"])
            write_membership(tx, ctx, made, membership_id=uuid7(), role="volunteer",
                             station=station["code"], district=station["district"])
            from server.domain.volunteers import register_volunteer

            await register_volunteer(tx, ctx, VolunteerRegisterArgs(
                user_id=user_id, name=person["name"], stations=[station["code"]],
                phone=person["phone"]))
        await tx.query(select(1))  # staged rows first
        chosen = await _device_id_for(conn, user_id, device_id)
        token_id, token = await insert_token(conn, user_id=user_id, name=device_name,
                                             device_id=chosen, created_by=code["created_by"])
        held = (await tx.query(select(memberships.c.role, memberships.c.station,
                                      memberships.c.district).where(
            memberships.c.user_id == user_id, memberships.c.ended_at.is_(None)))).mappings().all()
        top = max(held, key=lambda m: RANK[m["role"]], default=None)
        station, district = (top["station"], top["district"]) if top else (None, None)
        enrolled = Grant(token_id=token_id, user_id=user_id, role=top["role"] if top else "volunteer",
                         station=station, district=district, device_id=chosen)
        if kind == "first_admin":
            audit.stage(tx, ctx, "admin.first_setup", "person", user_id, actor=enrolled)
        audit.stage(tx, ctx, "enrol.code_use", "device", token_id, station=station,
                    district=district, actor=enrolled, detail={"code": code["id"], "kind": kind})
        if kind != "signup":
            await conn.execute(update(enrolment_codes).where(enrolment_codes.c.id == code["id"])
                               .values(used_by=token_id))
        return token_id, token, chosen

    return await system_write(db, registry, pokes, actor, f"enrol.{kind}", work)


async def _refuse(db: Database, settings: Settings, ip: str, short: bool,
                  refusal: tuple[int, str, str, str]) -> ProtocolError:
    await record_failure(db, settings, ip, short)
    return refusal_error(refusal)


def refusal_error(refusal: tuple[int, str, str, str]) -> ProtocolError:
    status, code, zh, en = refusal
    return ProtocolError(status, code, zh, en)


# -- routes -----------------------------------------------------------------------------------


@post("/api/v1/enrol/codes", status_code=201, security=TOKEN, tags=["enrolment"], summary="Make a single-use enrolment code for a person (link, QR, short code)", responses=errors(400, 401, 403, 404))
async def make_code_route(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """A device code for a person: admin, managers of a station where the person has a
    membership, or staff of the station for its volunteers."""
    from server.state import state_of

    state = state_of(request)
    grant = await resolve_grant(state.db, request.headers.get("authorization"),
                                app_version=request.headers.get(APP_VERSION))
    body: EnrolCodeRequest = decode_body(await request.body(), EnrolCodeRequest)
    async with state.db.read() as conn:
        held = (await person_memberships(conn, [body.user_id])).get(body.user_id, [])
    if not held:
        raise ProtocolError(404, "not_found", f"找不到有角色的人员:{body.user_id}",
                            f"no person with a membership: {body.user_id}", field="user_id")
    staff_for_volunteer = any(
        m["role"] == "volunteer" and grant.rank_at(m["station"], m["district"]) >= STAFF
        for m in held)
    if not (may_act_for(grant, body.user_id, held) and (
            grant.user_id == body.user_id or grant.rank >= MANAGER)) and not staff_for_volunteer:
        raise forbidden("您不能为此人生成登记码", "you may not make enrolment codes for this person")
    made = await make_device_code(state.db, state.settings, body.user_id, grant.user_id,
                                  grant=grant, place=place_of_person(held))
    return {"id": made.id, "user_id": body.user_id, "link": made.link, "secret": made.secret,
            "short_code": made.short_code, "expires_at": made.expires_at}


@post("/api/v1/enrol", status_code=200, tags=["enrolment"], summary="Exchange an enrolment code for a device token", responses=errors(400, 404, 409, 410, 429))
async def enrol_route(request: Request[Any, Any, Any]) -> Response[Any]:
    """Exchange a code (link/QR secret or typed short code) for a device token."""
    from server.state import state_of

    state = state_of(request)
    body: EnrolRequest = decode_body(await request.body(), EnrolRequest)
    if (body.code is None) == (body.short_code is None):
        raise ProtocolError(400, "invalid_args", "请提供登记链接中的码或短码(二选一)",
                            "give either code or short_code", field="code")
    ip, short = client_ip(request), body.short_code is not None
    await check_rate(state.db, state.settings, ip, short)
    code = await _find(state.db, secret=body.code, short=body.short_code)
    problem = _usable(code, ("device", "first_admin"))
    if problem is not None or code is None:
        raise await _refuse(state.db, state.settings, ip, short, problem or UNKNOWN)
    try:
        token_id, token, device_id = await exchange(
            state.db, state.registry, state.pokes, code, device_name=body.device_name,
            device_id=body.device_id)
    except _Answer as answer:
        raise await _refuse(state.db, state.settings, ip, short, answer.refusal) from None
    return Response(await _enrolled_answer(state.db, token, token_id, device_id),
                    headers={"Cache-Control": "no-store"})


async def _station(db: Database, code: str) -> dict[str, Any]:
    async with db.read() as conn:
        row = (await conn.execute(select(stations).where(stations.c.code == code))).mappings().first()
    if row is None or row["deleted_at"]:
        raise ProtocolError(404, "not_found", f"找不到站点:{code}", f"no such station: {code}")
    return dict(row)


async def _staff_of(request: Request[Any, Any, Any], code: str, rank: int
                    ) -> tuple[Any, Grant, dict[str, Any]]:
    from server.state import state_of

    state = state_of(request)
    grant = await resolve_grant(state.db, request.headers.get("authorization"),
                                app_version=request.headers.get(APP_VERSION))
    station = await _station(state.db, code)
    if grant.rank_at(code, station["district"]) < rank:
        who = ("管理者", "managers") if rank >= MANAGER else ("工作人员", "staff")
        raise forbidden(f"只有站点 {code} 的{who[0]}可以这样做", f"only the {who[1]} of station {code} may do this")
    return state, grant, station


@get("/api/v1/stations/{code:str}/signup-code", security=TOKEN, tags=["enrolment"], summary="The station's volunteer sign-up link", responses=errors(400, 401, 403, 404))
async def signup_code_route(request: Request[Any, Any, Any], code: str) -> dict[str, Any]:
    """The station's sign-up link (made on first use), for the console to show its QR."""
    state, grant, station = await _staff_of(request, code, STAFF)
    made = await signup_code(state.db, state.settings, code, grant.user_id)
    return {"station": {"code": code, "name": station["name"]}, "link": made.link,
            "secret": made.secret, "id": made.id}


@post("/api/v1/stations/{code:str}/signup-code/rotate", status_code=200, security=TOKEN, tags=["enrolment"], summary="Replace the station's sign-up link (the old poster stops working)", responses=errors(400, 401, 403, 404))
async def rotate_signup_code_route(request: Request[Any, Any, Any], code: str) -> dict[str, Any]:
    """A new sign-up code for the station; posters with the old one stop working."""
    state, grant, station = await _staff_of(request, code, MANAGER)
    made = await signup_code(state.db, state.settings, code, grant.user_id, rotate=True)
    await audit.record_now(state.db, grant, "enrol.signup_rotate", "station", code, station=code,
                           district=station["district"], detail={"code": made.id})
    return {"station": {"code": code, "name": station["name"]}, "link": made.link,
            "secret": made.secret, "id": made.id}


@get("/api/v1/stations/{code:str}/signup-poster.pdf", security=TOKEN, tags=["enrolment"], summary="The station's sign-up poster (PDF with its QR code)", responses={**answer("an A4 poster", None, "application/pdf"), **errors(400, 401, 403, 404)})
async def signup_poster_route(request: Request[Any, Any, Any], code: str) -> Response[bytes]:
    state, grant, station = await _staff_of(request, code, STAFF)
    made = await signup_code(state.db, state.settings, code, grant.user_id)
    pdf = render_poster(station, made.link)
    return Response(pdf, media_type="application/pdf", headers={
        "Content-Disposition": f'inline; filename="signup-{code}.pdf"', "Cache-Control": "no-store"})


@get("/api/v1/public/signup/{secret:str}", tags=["enrolment"], summary="Which station a sign-up link belongs to", responses=errors(400, 404, 429))
async def public_signup_route(request: Request[Any, Any, Any], secret: str) -> dict[str, Any]:
    """What a sign-up link is for (the app shows the station before the form)."""
    from server.state import state_of

    state = state_of(request)
    ip = client_ip(request)
    await check_rate(state.db, state.settings, ip, False)
    code = await _find(state.db, secret=secret, short=None)
    problem = _usable(code, ("signup",))
    if problem is not None or code is None:
        raise await _refuse(state.db, state.settings, ip, False, problem or UNKNOWN)
    station = await _station(state.db, str(code["station"]))
    return {"station": {"code": station["code"], "name": station["name"]}}


@post("/api/v1/signup", status_code=200, tags=["enrolment"], summary="A resident signs up as a volunteer at a station and gets a device token", responses=errors(400, 404, 429))
async def signup_route(request: Request[Any, Any, Any]) -> Response[Any]:
    """A volunteer signs up from a station's poster: person, volunteer membership,
    volunteer profile and a device token, in one transaction."""
    from server.state import state_of

    state = state_of(request)
    body: SignupRequest = decode_body(await request.body(), SignupRequest)
    if not body.consent:
        raise ProtocolError(400, "consent_required", "须同意登记个人信息才能报名",
                            "consent to keeping your details is required", field="consent")
    ip = client_ip(request)
    await check_rate(state.db, state.settings, ip, False)
    code = await _find(state.db, secret=body.code, short=None)
    problem = _usable(code, ("signup",))
    if problem is not None or code is None:
        raise await _refuse(state.db, state.settings, ip, False, problem or UNKNOWN)
    try:
        token_id, token, device_id = await exchange(
            state.db, state.registry, state.pokes, code, device_name=body.device_name,
            device_id=body.device_id, person={"name": body.name, "phone": body.phone})
    except _Answer as answer:
        raise await _refuse(state.db, state.settings, ip, False, answer.refusal) from None
    except Rejected as refusal:
        raise ProtocolError(400, refusal.code, refusal.message.zh, refusal.message.en,
                            field=refusal.field) from None
    return Response(await _enrolled_answer(state.db, token, token_id, device_id),
                    headers={"Cache-Control": "no-store"})


def render_poster(station: dict[str, Any], url: str) -> bytes:
    """An A4 poster: the station's name, the QR code of its sign-up link, how to use it."""
    from reportlab.graphics import renderPDF
    from reportlab.graphics.barcode.qr import QrCodeWidget
    from reportlab.graphics.shapes import Drawing
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    if "STSong-Light" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    out = io.BytesIO()
    width, height = A4
    pdf = canvas.Canvas(out, pagesize=A4)
    pdf.setTitle(f"志愿者报名 {station['name']}")
    pdf.setSubject(str(station["code"]))
    pdf.setFont("STSong-Light", 30)
    pdf.drawCentredString(width / 2, height - 40 * mm, str(station["name"]))
    pdf.setFont("STSong-Light", 22)
    pdf.drawCentredString(width / 2, height - 55 * mm, "扫码报名成为志愿者")
    pdf.setFont("Helvetica", 14)
    pdf.drawCentredString(width / 2, height - 64 * mm, f"Scan to volunteer at {station['code']}")
    size = 120 * mm
    widget = QrCodeWidget(url, barLevel="M")
    x0, y0, x1, y1 = widget.getBounds()
    drawing = Drawing(size, size, transform=[size / (x1 - x0), 0, 0, size / (y1 - y0), 0, 0])
    drawing.add(widget)
    renderPDF.draw(drawing, pdf, (width - size) / 2, height - 75 * mm - size)
    lines = [
        "1. 用手机相机扫描二维码,在浏览器中打开。",
        "2. 填写姓名和手机号,同意登记后提交。",
        "3. 把应用添加到主屏幕,活动时用它签到签退。",
    ]
    pdf.setFont("STSong-Light", 14)
    y = height - 85 * mm - size
    for line in lines:
        pdf.drawString(30 * mm, y, line)
        y -= 9 * mm
    pdf.setFont("Helvetica", 10)
    pdf.drawString(30 * mm, y - 2 * mm, "Scan with the phone camera, fill in your name and phone, "
                   "and add the app to the home screen.")
    pdf.drawString(30 * mm, 15 * mm, url[: url.index("?")] if "?" in url else url)
    pdf.showPage()
    pdf.save()
    return out.getvalue()


ROUTES = [make_code_route, enrol_route, signup_code_route, rotate_signup_code_route,
          signup_poster_route, public_signup_route, signup_route]
