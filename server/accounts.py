"""Who the phone is (``/api/v1/me``), its sign-out, and the console's device list and
revocation (docs/accounts.md).

``GET /api/v1/devices?station=CODE|person=ID`` lists tokens for managers of the place
(an admin: all; anyone: their own). ``POST /api/v1/devices/{token_id}/revoke`` with
``{"mode": "lost"}`` revokes and wipes at once (Web Push subscriptions deleted, event
streams ended, later requests ``403 device_wiped``); ``{"mode": "sign_out"}`` asks the
phone to push what it holds and sign itself out (``POST /api/v1/me/sign-out``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from litestar import Request, get, post
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from schemas.people import RevokeRequest
from server import audit
from server.api import APP_VERSION, decode_body
from server.auth import resolve_grant, revoke_tag, revoke_token, token_row
from server.domain import volunteer_codes
from server.domain.people import memberships
from server.domain.stations import stations
from server.domain.volunteers import volunteers
from server.openapi import TOKEN, errors
from sync.errors import ProtocolError
from sync.scopes import ADMIN, MANAGER, RANK, Grant
from sync.tables import device_tokens, users
from sync.timeutil import now_iso

MAX_DEVICES = 1000


def forbidden(zh: str, en: str) -> ProtocolError:
    return ProtocolError(403, "forbidden", f"无权限:{zh}", f"not allowed: {en}")


def membership_view(row: Mapping[str, Any]) -> dict[str, Any]:
    return {"id": row["id"], "role": row["role"], "station": row["station"],
            "district": row["district"]}


async def person_memberships(conn: AsyncConnection, user_ids: Sequence[str], *,
                             active_only: bool = True) -> dict[str, list[dict[str, Any]]]:
    """Memberships of these people, each with its station's district filled in."""
    if not user_ids:
        return {}
    stmt = (select(memberships, stations.c.district.label("station_district"))
            .select_from(memberships.outerjoin(stations, stations.c.code == memberships.c.station))
            .where(memberships.c.user_id.in_(list(user_ids))))
    if active_only:
        stmt = stmt.where(memberships.c.ended_at.is_(None))
    out: dict[str, list[dict[str, Any]]] = {}
    for row in (await conn.execute(stmt.order_by(memberships.c.created_at))).mappings():
        item = dict(row)
        if item["role"] != "admin":
            item["district"] = item["station_district"] or item["district"]
        out.setdefault(str(row["user_id"]), []).append(item)
    return out


def place_of_person(held: Sequence[Mapping[str, Any]]) -> tuple[str | None, str | None]:
    """The place an act about this person concerns (their highest active membership's
    station and district), for the audit log: that district's managers see it."""
    live = [m for m in held if m["ended_at"] is None] or list(held)
    if not live:
        return None, None
    top = max(live, key=lambda m: RANK[m["role"]])
    return top["station"], top["district"]


def may_act_for(grant: Grant, user_id: str, held: Sequence[Mapping[str, Any]]) -> bool:
    """The caller may manage this person's devices: themself, an admin, or someone who
    could grant one of the person's memberships and is not outranked by them."""
    if grant.user_id == user_id or grant.rank == ADMIN:
        return True
    top = max((RANK[m["role"]] for m in held if m["ended_at"] is None), default=-1)
    if top >= grant.rank:
        return False
    return any(grant.rank_at(m["station"], m["district"]) >= max(RANK[m["role"]], MANAGER)
               for m in held)


async def me_body(conn: AsyncConnection, grant: Grant) -> dict[str, Any]:
    """What ``/api/v1/me`` and an enrolment answer: the person, every active membership,
    this device, and whether the console asked it to sign out."""
    person = (await conn.execute(select(users).where(users.c.id == grant.user_id))
              ).mappings().first()
    held = (await person_memberships(conn, [grant.user_id])).get(grant.user_id, [])
    about: dict[str, Any] = dict(person) if person is not None else {}
    return {
        "user": grant.user_id, "role": grant.role, "station": grant.station,
        "district": grant.district,
        "name": about.get("name") or grant.user_id,
        "phone": about.get("phone"),
        "languages": about.get("languages") or "zh",
        "memberships": [membership_view(m) for m in held],
        "token_id": grant.token_id, "device_id": grant.device_id, "sign_out": grant.sign_out,
    }


@get("/api/v1/me", security=TOKEN, tags=["devices"], summary="Who the token belongs to: the person, their roles, this device", responses=errors(401, 403))
async def me_route(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """Who the bearer token belongs to: the phone decides which screens to show from it
    (the server still authorises every mutation)."""
    from server.state import state_of

    state = state_of(request)
    grant = await resolve_grant(state.db, request.headers.get("authorization"),
                                app_version=request.headers.get(APP_VERSION))
    days = state.settings.volunteer_code_days
    await volunteer_codes.ensure_key(state.db, days)
    async with state.db.read() as conn:
        body = await me_body(conn, grant)
        body["volunteer_code"] = await _volunteer_code(conn, grant.user_id, days)
        return body


async def _volunteer_code(conn: AsyncConnection, user_id: str, days: float) -> dict[str, Any] | None:
    """A fresh signed code for a registered volunteer (docs/timebank.md, "Volunteer codes")."""
    found = (await conn.execute(select(volunteers.c.user_id).where(volunteers.c.user_id == user_id))).first()
    return None if found is None else await volunteer_codes.issue(conn, user_id, days)


@get("/api/v1/timebank/volunteer-code", security=TOKEN, tags=["timebank"], summary="A fresh signed code for the caller's volunteer QR code", responses=errors(401, 403, 404))
async def volunteer_code_route(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """The volunteer's phone asks whenever its code screen opens online and keeps the
    answer for offline use; staff scan the code to check the volunteer in."""
    from server.state import state_of

    state = state_of(request)
    grant = await resolve_grant(state.db, request.headers.get("authorization"),
                                app_version=request.headers.get(APP_VERSION))
    days = state.settings.volunteer_code_days
    await volunteer_codes.ensure_key(state.db, days)
    async with state.db.read() as conn:
        code = await _volunteer_code(conn, grant.user_id, days)
    if code is None:
        raise ProtocolError(404, "not_a_volunteer", "您还不是登记的志愿者", "you are not a registered volunteer")
    return code


@get("/api/v1/training/code", security=TOKEN, tags=["training"], summary="A fresh signed code for the caller's training entry QR code", responses=errors(401, 403))
async def training_code_route(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """The person's entry code for trainings (docs/training.md, "At the door"): the same
    signed code as the Time Bank's volunteer code, issued to anyone with an account
    (residents and staff sign up for trainings too). The phone keeps it for offline use;
    the door phone's ``training.attend`` sends it and the server checks it."""
    from server.state import state_of

    state = state_of(request)
    grant = await resolve_grant(state.db, request.headers.get("authorization"),
                                app_version=request.headers.get(APP_VERSION))
    days = state.settings.volunteer_code_days
    await volunteer_codes.ensure_key(state.db, days)
    async with state.db.read() as conn:
        code = await volunteer_codes.issue(conn, grant.user_id, days)
    assert code is not None  # ensure_key made one
    return code


@post("/api/v1/me/sign-out", status_code=200, security=TOKEN, tags=["devices"], summary="Sign this device out (after it delivered its queue)", responses=errors(401, 403))
async def sign_out_route(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """The phone signs itself out (after pushing what it held): its token is revoked."""
    from server.state import state_of

    state = state_of(request)
    grant = await resolve_grant(state.db, request.headers.get("authorization"))
    station, district = audit.grant_place(grant)

    async def log(conn: AsyncConnection) -> None:
        await audit.record(conn, grant, "device.sign_out", "device", grant.token_id,
                           station=station, district=district, detail={"user": grant.user_id})

    await revoke_token(state.db, grant.token_id, reason="signed_out", pokes=state.pokes, also=log)
    return {"token_id": grant.token_id, "signed_out": True}


def _device_view(row: Mapping[str, Any], person_name: str | None,
                 held: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    summary = row["pending_summary"]
    return {
        "token_id": row["id"], "name": row["name"], "device_id": row["device_id"],
        "person": {"id": row["user_id"], "name": person_name or row["user_id"]},
        "roles": [membership_view(m) for m in held if m["ended_at"] is None],
        "created_at": row["created_at"], "last_seen_at": row["last_seen_at"],
        "app_version": row["app_version"], "pending_count": row["pending_count"],
        "pending_summary": json.loads(summary) if summary else None,
        "revoked_at": row["revoked_at"], "revoke_reason": row["revoke_reason"],
        "wiped": bool(row["wipe"]), "sign_out_requested_at": row["sign_out_requested_at"],
    }


@get("/api/v1/devices", security=TOKEN, tags=["devices"], summary="The devices of a station or a person, with what each last reported unsynced", responses=errors(400, 401, 403))
async def devices_route(request: Request[Any, Any, Any], station: str | None = None,
                        person: str | None = None) -> list[dict[str, Any]]:
    from server.state import state_of

    state = state_of(request)
    grant = await resolve_grant(state.db, request.headers.get("authorization"),
                                app_version=request.headers.get(APP_VERSION))
    async with state.db.read() as conn:
        if station is not None:
            place = (await conn.execute(select(stations.c.district).where(stations.c.code == station))
                     ).first()
            if place is None:
                raise ProtocolError(404, "not_found", f"找不到站点:{station}", f"no such station: {station}")
            if grant.rank_at(station, place[0]) < MANAGER:
                raise forbidden("只有该站点的管理者可以查看设备", "only the station's managers list its devices")
            people_ids = [r[0] for r in (await conn.execute(
                select(memberships.c.user_id).where(memberships.c.station == station).distinct()))]
        elif person is not None:
            held = (await person_memberships(conn, [person], active_only=False)).get(person, [])
            if not may_act_for(grant, person, held):
                raise forbidden("您不能查看此人的设备", "you may not list this person's devices")
            people_ids = [person]
        elif grant.rank == ADMIN:
            people_ids = None
        else:
            people_ids = [grant.user_id]
        stmt = select(device_tokens).order_by(device_tokens.c.created_at.desc()).limit(MAX_DEVICES)
        if people_ids is not None:
            stmt = stmt.where(device_tokens.c.user_id.in_(people_ids))
        rows = [dict(r) for r in (await conn.execute(stmt)).mappings()]
        owners = sorted({r["user_id"] for r in rows})
        names = dict((await conn.execute(select(users.c.id, users.c.name).where(
            users.c.id.in_(owners)))).all()) if owners else {}
        held_by = await person_memberships(conn, owners, active_only=False)
    return [_device_view(r, names.get(r["user_id"]), held_by.get(r["user_id"], [])) for r in rows]


@post("/api/v1/devices/{token_id:str}/revoke", status_code=200, security=TOKEN, tags=["devices"], summary="End a device: sign it out, or mark it lost (refused at once, wiped on next contact)", responses=errors(400, 401, 403, 404))
async def revoke_device_route(request: Request[Any, Any, Any], token_id: str) -> dict[str, Any]:
    from server.state import state_of

    state = state_of(request)
    grant = await resolve_grant(state.db, request.headers.get("authorization"),
                                app_version=request.headers.get(APP_VERSION))
    body: RevokeRequest = decode_body(await request.body(), RevokeRequest)
    async with state.db.read() as conn:
        row = await token_row(conn, token_id)
        if row is None:
            raise ProtocolError(404, "not_found", f"找不到设备:{token_id}", f"no such device: {token_id}")
        held = (await person_memberships(conn, [row["user_id"]], active_only=False)
                ).get(row["user_id"], [])
    if not may_act_for(grant, row["user_id"], held):
        raise forbidden("您不能停用此人的设备", "you may not revoke this person's devices")
    station, district = place_of_person(held)

    async def log(conn: AsyncConnection) -> None:
        await audit.record(conn, grant, f"device.{'revoke_lost' if body.mode == 'lost' else 'sign_out_request'}",
                           "device", token_id, station=station, district=district,
                           detail={"user": row["user_id"], "mode": body.mode})

    if body.mode == "lost":
        await revoke_token(state.db, token_id, reason="lost", wipe=True, pokes=state.pokes,
                           also=log)
    else:
        if row["revoked_at"] is not None:
            raise ProtocolError(409, "already_revoked", "此设备已停用", "this device is already revoked")

        tags = {revoke_tag(token_id)}  # its open event streams re-check the token now

        async def ask(conn: AsyncConnection) -> None:
            await conn.execute(update(device_tokens).where(device_tokens.c.id == token_id)
                               .values(sign_out_requested_at=now_iso()))
            await log(conn)
            await state.pokes.stage(conn, tags)

        await state.db.run_write(ask)
        state.pokes.committed(tags)
    async with state.db.read() as conn:
        after = await token_row(conn, token_id)
    assert after is not None
    return {"token_id": token_id, "mode": body.mode, "revoked_at": after["revoked_at"],
            "revoke_reason": after["revoke_reason"], "wiped": bool(after["wipe"]),
            "sign_out_requested_at": after["sign_out_requested_at"]}


ROUTES = [me_route, sign_out_route, devices_route, revoke_device_route, volunteer_code_route,
          training_code_route]


