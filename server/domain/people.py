"""People, their memberships (who does what where) and districts (docs/accounts.md).

A person is a row of ``users``; what their phones may do comes from their active
memberships, read at every request (``server/auth.py``), so a role given or ended
counts from the phone's next request. Memberships are synced records: a console lists
people from them (the person's name, phone and languages are copied into each), and a
person always pulls their own.

Who may grant: role R at a place needs rank >= max(R, manager) there (a manager makes
volunteers, staff and managers of their station; a district manager anything up to
district manager in their district; an admin anything). Nobody changes their own
memberships, except that an admin may step down while another admin remains.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

from sqlalchemy import Column, Index, String, Table, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from schemas.people import (
    DistrictCreateArgs,
    DistrictRecord,
    MembershipAddArgs,
    MembershipEndArgs,
    MembershipRecord,
    PersonCreateArgs,
    PersonUpdateArgs,
)
from server import audit
from server.domain.access import has_rank, live_station
from server.domain.stations import stations
from sync.db import Database
from sync.errors import Rejected, already_exists, forbidden, not_found
from sync.hlc import HybridLogicalClock
from sync.ids import uuid7
from sync.merge import edited_fields
from sync.pokes import PokeSink
from sync.registry import RecordType, Registry
from sync.scopes import ADMIN, MANAGER, RANK, STAFF, Grant, Scope
from sync.tables import metadata, users
from sync.timeutil import now_iso
from sync.unit import MutationContext, Tx
from sync.write import run_unit

T = TypeVar("T")

memberships = Table(
    "memberships",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("user_id", String(64), nullable=False),
    Column("role", String(32), nullable=False),
    Column("station", String(32), nullable=True),
    Column("district", String(100), nullable=True),
    Column("name", String(64), nullable=False),
    Column("phone", String(20), nullable=True),
    Column("languages", String(64), nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("created_by", String(64), nullable=True),
    Column("ended_at", String(32), nullable=True),
    Column("updated_at", String(32), nullable=False),
    Index("ix_memberships_user_id_ended_at", "user_id", "ended_at"),
)
"""``district`` of a station role is the station's (copied when written; the grant reads
the station's own at request time)."""

districts = Table(
    "districts",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("created_at", String(32), nullable=False),
    Column("created_by", String(64), nullable=True),
)

STATION_ROLES = frozenset({"volunteer", "staff", "manager"})
PERSON_FIELDS = ("name", "phone", "languages")


# -- records -------------------------------------------------------------------------------


def membership_scope(row: Mapping[str, Any]) -> Scope:
    if row["role"] == "admin":
        return Scope(owner=row["user_id"], audience=ADMIN)
    # staff see who signed up as a volunteer at their station (the phone number stays with
    # managers: see the redaction); other roles are the managers' business
    audience = STAFF if row["role"] == "volunteer" else MANAGER
    return Scope(station=row["station"], district=row["district"], owner=row["user_id"],
                 audience=audience)


def membership_wire(row: Mapping[str, Any]) -> dict[str, Any]:
    return {c: row[c] for c in ("id", "user_id", "role", "station", "district", "name", "phone",
                                "languages", "created_at", "created_by", "ended_at")}


def _redact_membership(data: dict[str, Any], grant: Grant) -> dict[str, Any]:
    if data.get("user_id") != grant.user_id:
        data["phone"] = None
    return data


def _district_wire(row: Mapping[str, Any]) -> dict[str, Any]:
    return {"name": row["name"], "created_at": row["created_at"], "created_by": row["created_by"]}


def install_records(registry: Registry) -> None:
    registry.add_record_type(RecordType(
        "membership", memberships, "id", membership_scope, membership_wire,
        redact=_redact_membership, tombstone=None, redacts_for=lambda g: g.rank < MANAGER,
        shape=MembershipRecord))
    registry.add_record_type(RecordType(
        "district", districts, "name", lambda _row: Scope(public=True), _district_wire,
        tombstone=None, shape=DistrictRecord))


def records_registry() -> Registry:
    """Only the record types of this module: what ``issue_token`` writes through."""
    registry = Registry()
    install_records(registry)
    return registry


# -- building blocks (also used by enrolment and sign-up) -----------------------------------


async def person_of(tx: Tx, user_id: str) -> dict[str, Any] | None:
    row = (await tx.query(select(users).where(users.c.id == user_id))).mappings().first()
    return dict(row) if row is not None else None


async def ensure_person(tx: Tx, ctx: MutationContext, user_id: str, *, name: str | None = None,
                        phone: str | None = None, languages: str = "zh") -> dict[str, Any]:
    """The person's row, made if missing (``name`` defaults to the id)."""
    found = await person_of(tx, user_id)
    if found is not None:
        return found
    row = {"id": user_id, "created_at": ctx.now, "name": name or user_id[:64], "phone": phone,
           "languages": languages, "created_by": ctx.user_id, "erased_at": None}
    tx.defer(insert(users).values(**row))
    await tx.query(select(1))  # write it now: a later read in this batch must find it
    return row


async def active_memberships_of(tx: Tx, user_id: str) -> list[dict[str, Any]]:
    found = await tx.query(select(memberships.c.id).where(
        memberships.c.user_id == user_id, memberships.c.ended_at.is_(None)))
    rows = []
    for (membership_id,) in found.all():
        row = await tx.get("membership", membership_id)
        if row is not None and row["ended_at"] is None:
            rows.append(row)
    return rows


async def place_of(tx: Tx, role: str, station: str | None, district: str | None,
                   ) -> tuple[str | None, str | None]:
    """(station, district) of a membership of ``role``, checked: a station role needs a
    live station (its district is the station's), a district manager a district, an
    admin neither."""
    if role in STATION_ROLES:
        if not station:
            raise Rejected("invalid_args", f"角色 {role} 须指明站点", f"role {role} needs a station",
                           field="station")
        row = await live_station(tx, station)
        if district is not None and district != row["district"]:
            raise Rejected("invalid_args", "站点不属于该区", "the station is in another district",
                           field="district")
        return station, str(row["district"])
    if station is not None:
        raise Rejected("invalid_args", f"角色 {role} 不属于某个站点",
                       f"role {role} is not tied to a station", field="station")
    if role == "district_manager":
        if not district:
            raise Rejected("invalid_args", "区管理者须指明区", "a district manager needs a district",
                           field="district")
        if await tx.get("district", district) is None:
            raise not_found("区", "district", district, field="district")
        return None, district
    if district is not None:
        raise Rejected("invalid_args", "管理员不属于某个区", "an admin is not tied to a district",
                       field="district")
    return None, None


def write_membership(tx: Tx, ctx: MutationContext, person: Mapping[str, Any], *, membership_id: str,
                     role: str, station: str | None, district: str | None) -> dict[str, Any]:
    row = {
        "id": membership_id, "user_id": person["id"], "role": role, "station": station,
        "district": district, "name": person.get("name") or person["id"],
        "phone": person.get("phone"), "languages": person.get("languages") or "zh",
        "created_at": ctx.now, "created_by": ctx.user_id, "ended_at": None, "updated_at": ctx.now,
    }
    tx.insert("membership", row)
    return row


async def ensure_membership(tx: Tx, ctx: MutationContext, user_id: str, role: str,
                            station: str | None, district: str | None) -> dict[str, Any]:
    """The person's active membership of ``role`` at the place, made if missing (no
    permission checks: for issuing tokens from the command line and for enrolment).
    A station that does not exist (yet) is taken as given."""
    person = await ensure_person(tx, ctx, user_id)
    if role in STATION_ROLES:
        district = (await _station_district(tx, station) if station else None) or district
    else:
        station = None
        district = None if role == "admin" else district
    for row in await active_memberships_of(tx, user_id):
        if row["role"] == role and row["station"] == station and (
                role in STATION_ROLES or row["district"] == district):
            return row
    return write_membership(tx, ctx, person, membership_id=uuid7(), role=role, station=station,
                            district=district)


async def _station_district(tx: Tx, station: str) -> str | None:
    """Read without a lock: issuing a token must not wait on a batch editing the station."""
    found = await tx.query(select(stations.c.district).where(stations.c.code == station))
    row = found.first()
    return str(row[0]) if row is not None else None


async def ensure_district(tx: Tx, ctx: MutationContext, name: str) -> None:
    """The district record, made if missing (``station.create`` calls this)."""
    if await tx.get("district", name) is None:
        tx.insert("district", {"name": name, "created_at": ctx.now, "created_by": ctx.user_id})


def may_grant(grant: Grant, role: str, station: str | None, district: str | None) -> bool:
    """Granting (or ending) ``role`` at the place needs rank >= max(role, manager) there."""
    return grant.rank_at(station, district) >= max(RANK[role], MANAGER)


async def system_write(
    db: Database, registry: Registry, pokes: PokeSink, grant: Grant, name: str,
    work: Callable[[Tx, MutationContext], Awaitable[T]],
) -> T:
    """Run ``work`` as ``grant`` through ``sync.write.run_unit`` (enrolment, sign-up,
    tokens from the command line): the records it writes reach the change feed like any
    others, and ``pokes`` wakes the phones that see them."""
    clock = HybridLogicalClock(node="server-accounts")

    async def run(tx: Tx) -> T:
        ctx = MutationContext(grant=grant, client_id="server", mutation_id=0, key=uuid7(),
                              name=name, version=1, hlc=clock.now(), now=now_iso(), clock=clock)
        result = await work(tx, ctx)
        tx.keep_frame()
        return result

    return await run_unit(db, registry, pokes, run)


async def has_active_admin(conn: AsyncConnection) -> bool:
    found = await conn.execute(select(func.count()).select_from(memberships).where(
        memberships.c.role == "admin", memberships.c.ended_at.is_(None)))
    return int(found.scalar() or 0) > 0


# -- mutators ------------------------------------------------------------------------------


def _refuse_grant(role: str) -> Rejected:
    return forbidden(f"您不能在此授予或结束角色 {role}", f"you may not grant or end role {role} here")


async def _add(tx: Tx, ctx: MutationContext, person: Mapping[str, Any], membership_id: str, role: str,
               station: str | None, district: str | None) -> None:
    if person["id"] == ctx.user_id:
        raise forbidden("不能更改自己的角色", "nobody changes their own memberships")
    if await tx.get("membership", membership_id) is not None:
        raise already_exists("成员", "membership", membership_id)
    station, district = await place_of(tx, role, station, district)
    if not may_grant(ctx.grant, role, station, district):
        raise _refuse_grant(role)
    if person.get("erased_at"):
        raise Rejected("person_erased", "此人的资料已删除", "this person was erased", field="user_id")
    for row in await active_memberships_of(tx, person["id"]):
        if (row["role"], row["station"], row["district"]) == (role, station, district):
            raise Rejected("already_member", "此人已有该角色", "the person already has this role here",
                           field="role")
    write_membership(tx, ctx, person, membership_id=membership_id, role=role, station=station,
                     district=district)
    audit.stage(tx, ctx, "membership.add", "person", person["id"], station=station,
                district=district, detail={"membership": membership_id, "role": role})


async def create_person(tx: Tx, ctx: MutationContext, args: PersonCreateArgs) -> None:
    if ctx.grant.rank < MANAGER:
        raise forbidden("只有管理者可以登记人员", "only managers and up add people")
    if await person_of(tx, args.id) is not None:
        raise already_exists("人员", "person", args.id)
    if args.membership is not None:  # check before writing anything
        spec = args.membership
        station, district = await place_of(tx, spec.role, spec.station, spec.district)
        if not may_grant(ctx.grant, spec.role, station, district):
            raise _refuse_grant(spec.role)
    person = await ensure_person(tx, ctx, args.id, name=args.name, phone=args.phone,
                                 languages=args.languages)
    if args.membership is not None:
        spec = args.membership
        await _add(tx, ctx, person, spec.id, spec.role, spec.station, spec.district)


async def update_person(tx: Tx, ctx: MutationContext, args: PersonUpdateArgs) -> None:
    """Last writer wins per field (``base`` is accepted for symmetry and not used);
    every membership record of the person is rewritten with the new values."""
    person = await person_of(tx, args.id)
    if person is None or person.get("erased_at"):
        raise not_found("人员", "person", args.id, field="id")
    mine = await active_memberships_of(tx, args.id)
    if args.id != ctx.user_id and ctx.grant.rank < ADMIN and not any(
            has_rank(ctx, MANAGER, m["station"], m["district"]) for m in mine):
        raise forbidden("只有本人或其站点的管理者可以修改", "only the person or their managers edit them")
    edits = edited_fields(args.fields)  # refuses an empty edit
    tx.defer(update(users).where(users.c.id == args.id).values(**edits))
    every = await tx.query(select(memberships.c.id).where(memberships.c.user_id == args.id))
    for (membership_id,) in every.all():
        if await tx.get("membership", membership_id) is not None:
            tx.update("membership", membership_id, {**edits, "updated_at": ctx.now})


async def add_membership(tx: Tx, ctx: MutationContext, args: MembershipAddArgs) -> None:
    person = await person_of(tx, args.user_id)
    if person is None:
        raise not_found("人员", "person", args.user_id, field="user_id")
    await _add(tx, ctx, person, args.id, args.role, args.station, args.district)


async def end_membership(tx: Tx, ctx: MutationContext, args: MembershipEndArgs) -> None:
    row = await tx.get("membership", args.id)
    if row is None:
        raise not_found("成员", "membership", args.id, field="id")
    if row["ended_at"] is not None:
        raise Rejected("already_ended", "该角色已结束", "this membership already ended", field="id")
    if row["role"] == "admin":
        if ctx.grant.rank < ADMIN:
            raise _refuse_grant("admin")
        others = await tx.query(select(func.count()).select_from(memberships).where(
            memberships.c.role == "admin", memberships.c.ended_at.is_(None),
            memberships.c.id != args.id))
        if int(others.scalar() or 0) == 0:
            raise Rejected("last_admin", "这是最后一位管理员,不能结束",
                           "this is the last administrator; it cannot be ended")
    elif row["user_id"] == ctx.user_id:
        raise forbidden("不能更改自己的角色", "nobody changes their own memberships")
    elif not may_grant(ctx.grant, row["role"], row["station"], row["district"]):
        raise _refuse_grant(row["role"])
    tx.update("membership", args.id, {"ended_at": ctx.now, "updated_at": ctx.now})
    audit.stage(tx, ctx, "membership.end", "person", row["user_id"], station=row["station"],
                district=row["district"], detail={"membership": args.id, "role": row["role"]})


async def create_district(tx: Tx, ctx: MutationContext, args: DistrictCreateArgs) -> None:
    if ctx.grant.rank < ADMIN:
        raise forbidden("只有管理员可以设立区", "only admins create districts")
    if await tx.get("district", args.name) is not None:
        raise Rejected("already_exists", f"区已存在:{args.name}", f"district already exists: {args.name}",
                       field="name")
    tx.insert("district", {"name": args.name, "created_at": ctx.now, "created_by": ctx.user_id})


def install(registry: Registry) -> None:
    install_records(registry)
    registry.mutation("person.create", 1, PersonCreateArgs,
                      preload=(("membership", "membership.id"), ("station", "membership.station"))
                      )(create_person)
    registry.mutation("person.update", 1, PersonUpdateArgs)(update_person)
    registry.mutation("membership.add", 1, MembershipAddArgs,
                      preload=(("membership", "id"), ("station", "station")))(add_membership)
    registry.mutation("membership.end", 1, MembershipEndArgs,
                      preload=(("membership", "id"),))(end_membership)
    registry.mutation("district.create", 1, DistrictCreateArgs,
                      preload=(("district", "name"),))(create_district)


__all__ = [
    "add_membership",
    "create_district",
    "create_person",
    "districts",
    "end_membership",
    "ensure_district",
    "ensure_membership",
    "ensure_person",
    "has_active_admin",
    "install",
    "may_grant",
    "memberships",
    "person_of",
    "records_registry",
    "system_write",
    "update_person",
    "write_membership",
]

