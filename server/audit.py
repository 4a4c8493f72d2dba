"""The audit log: who did which security- or money-relevant act, on which device, when,
to what, and from where (docs/security.md, "Audit log").

Append-only. Nothing in the code updates or deletes a row, and the database refuses it
too (migration 0012: a trigger on PostgreSQL and on SQLite). Other modules record an act
with one call:

- inside a sync mutation, ``stage(tx, ctx, action, kind, id, ...)``: the row is staged in
  the mutation's frame (``tx.defer``), so it commits with the mutation or vanishes with
  its rejection;
- inside an HTTP route's write transaction, ``await record(conn, grant, action, ...)``;
- a route that only reads (an export), ``await record_now(db, grant, action, ...)``: its
  own small write transaction, before the answer leaves.

A row holds the actor's id and their name at the time (read in the same statement), the
device token and device id, the server's time, an action code, the target (kind and id),
the place it concerns (station and district: district managers see their district's
rows), a small JSON ``detail`` of codes, ids and amounts (never free text, never more
personal data than the ids), and the client's address and request id
(``server/request_id.py``). The log is read through ``GET /api/v1/audit`` (admins: all,
district managers: their districts) and exported as CSV; it is not a synced record type,
so it never fills a phone.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from litestar import Request, Response, get
from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    String,
    Table,
    Text,
    and_,
    column,
    false,
    insert,
    literal,
    or_,
    select,
    table,
)
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import ColumnElement
from sqlalchemy.sql.dml import Insert

from server import request_id as rid
from server.openapi import TOKEN, answer, errors
from sync.db import Database
from sync.errors import ProtocolError
from sync.scopes import ADMIN, DISTRICT_MANAGER, Grant
from sync.tables import metadata, users
from sync.timeutil import now_iso
from sync.unit import MutationContext, Tx

# the stations table by name only: the domain modules import this one
_stations = table("stations", column("code", String), column("district", String))

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("at", String(32), nullable=False),
    Column("action", String(64), nullable=False),
    Column("actor_id", String(64), nullable=True),
    Column("actor_name", String(200), nullable=True),
    Column("token_id", String(64), nullable=True),
    Column("device_id", String(64), nullable=True),
    Column("target_kind", String(32), nullable=False),
    Column("target_id", String(200), nullable=False),
    Column("station", String(64), nullable=True),
    Column("district", String(100), nullable=True),
    Column("detail", Text, nullable=False),
    Column("client_ip", String(64), nullable=True),
    Column("request_id", String(64), nullable=True),
    Index("ix_audit_log_at", "at"),
    Index("ix_audit_log_district_id", "district", "id"),
    Index("ix_audit_log_action_id", "action", "id"),
    Index("ix_audit_log_actor_id_id", "actor_id", "id"),
    Index("ix_audit_log_target_id", "target_id"),
)

ACTIONS: dict[str, tuple[str, str]] = {
    "export.donations": ("导出捐赠明细", "exported donations"),
    "export.fund_statement": ("导出基金流水", "exported a fund statement"),
    "export.year_summary": ("导出年度总结", "exported a year summary"),
    "export.audit": ("导出审计日志", "exported the audit log"),
    "device.revoke_lost": ("停用丢失的设备", "cut off a lost device"),
    "device.revoke": ("停用设备", "revoked a device"),
    "device.sign_out_request": ("要求设备退出登录", "asked a device to sign out"),
    "device.sign_out": ("设备退出登录", "a device signed out"),
    "enrol.code_issue": ("生成登记码", "issued an enrolment code"),
    "enrol.code_use": ("使用登记码登记设备", "enrolled a device with a code"),
    "enrol.signup_rotate": ("更换报名链接", "replaced a sign-up link"),
    "admin.first_setup": ("首位管理员设立", "first administrator set up"),
    "membership.add": ("授予角色", "granted a role"),
    "membership.end": ("结束角色", "ended a role"),
    "disbursement.approve": ("批准拨付", "approved a disbursement"),
    "disbursement.reject": ("驳回拨付", "rejected a disbursement"),
    "disbursement.pay": ("拨付付款", "paid a disbursement"),
    "correction.approve": ("批准捐赠更正", "approved a donation correction"),
    "correction.reject": ("驳回捐赠更正", "rejected a donation correction"),
    "person.erase": ("删除个人资料", "erased a person's personal data"),
    "online.platform_save": ("设置募捐平台", "set up a fundraising platform"),
    "online.link_set": ("设置平台项目链接", "set a fund's or project's platform page"),
    "online.statement_import": ("导入网络捐赠对账单", "imported an online donation statement"),
    "online.statement_book": ("网络捐赠入账", "booked online gifts from a statement"),
    "online.reconcile_book": ("对账:补记网络捐赠", "reconciliation: booked an order"),
    "online.reconcile_explain": ("对账:说明未匹配订单", "reconciliation: explained an order"),
    "online.nickname_erase": ("删除网络捐赠人昵称", "erased an online donor's nickname"),
    "campaign.create": ("登记募捐活动", "set up a fundraising campaign"),
    "campaign.update": ("修改募捐活动", "edited a fundraising campaign"),
    "matching_rule.create": ("设立配捐规则", "set up a matching rule"),
    "matching_rule.update": ("修改配捐规则", "edited a matching rule"),
    "disclosure.publish": ("公开信息披露报告", "published a disclosure report"),
    "grant.create": ("签订项目资助协议", "signed a project grant"),
    "tranche.add": ("追加资助分期", "added a grant tranche"),
    "evaluation.submit": ("提交项目评估", "submitted a project evaluation"),
    "service_project.close": ("服务项目结项", "closed a service project"),
    "export.evaluation": ("下载项目评估报告", "downloaded a project evaluation report"),
    "round.create": ("设立社区公益微创投", "set up a micro-venture round"),
    "round.update": ("修改微创投规则", "changed a micro-venture round's rules"),
    "round.phase": ("推进微创投阶段", "moved a micro-venture round to its next phase"),
    "need.publish": ("发布需求的公开标题", "published a need's public title"),
    "need.contact_erase": ("删除需求的联系人资料", "erased a need's contact details"),
    "group.register": ("登记社区社会组织", "registered a community group"),
    "group.set_members": ("修改社区社会组织成员", "changed a community group's members"),
    "review.assign": ("指派提案评审", "assigned a proposal's reviewer"),
    "review.declare_conflict": ("评审人声明利益冲突", "a reviewer declared a conflict of interest"),
    "proposal.conclude": ("作出提案评审结论", "concluded a proposal's review"),
    "ballot.tally": ("录入纸质票计票", "entered a booth's paper ballot count"),
    "round.publish_results": ("公布微创投投票结果", "published a micro-venture round's results"),
}
"""Every action code the log may hold, with its label (Chinese, English). ``record`` and
``stage`` refuse a code not listed here, so a misspelt one fails its tests."""

SYSTEM_ACTOR = "system"
MAX_DETAIL_CHARS = 1000
PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
MAX_EXPORT_ROWS = 50_000


def _detail_text(detail: Mapping[str, Any] | None) -> str:
    text = json.dumps(dict(detail or {}), ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    if len(text) > MAX_DETAIL_CHARS:
        raise ValueError(f"audit detail too long ({len(text)} characters): keep it to codes and ids")
    return text


def entry(action: str, *, actor_id: str | None, token_id: str | None, device_id: str | None,
          target_kind: str, target_id: str, station: str | None = None,
          district: str | None = None, detail: Mapping[str, Any] | None = None,
          at: str | None = None) -> Insert:
    """The INSERT of one audit row. The actor's name is read in the same statement (their
    name at the time); a missing ``district`` is the station's; the client address and
    request id are the current request's (none outside a request: the command line)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}: add it to server.audit.ACTIONS")
    name: Any = literal(None, String)
    if actor_id is not None:
        name = (select(users.c.name).where(users.c.id == actor_id).scalar_subquery()
                if actor_id != SYSTEM_ACTOR else literal("系统 / system"))
    place: Any = literal(district, String)
    if district is None and station is not None:
        place = select(_stations.c.district).where(_stations.c.code == station).scalar_subquery()
    return insert(audit_log).values(
        at=at or now_iso(), action=action, actor_id=actor_id, actor_name=name,
        token_id=token_id, device_id=device_id, target_kind=target_kind,
        target_id=str(target_id)[:200], station=station, district=place,
        detail=_detail_text(detail), client_ip=rid.client_ip(), request_id=rid.current())


def _actor(grant: Grant | None) -> dict[str, str | None]:
    if grant is None or grant.token_id == SYSTEM_ACTOR:
        return {"actor_id": SYSTEM_ACTOR, "token_id": None, "device_id": None}
    return {"actor_id": grant.user_id, "token_id": grant.token_id, "device_id": grant.device_id}


def stage(tx: Tx, ctx: MutationContext, action: str, target_kind: str, target_id: str, *,
          station: str | None = None, district: str | None = None,
          detail: Mapping[str, Any] | None = None, actor: Grant | None = None) -> None:
    """Record an act done by a sync mutation (or a ``system_write``): staged in the
    mutation's frame, kept or dropped with it. ``actor``: someone other than the caller
    (an enrolment, where the grant is the system's)."""
    tx.defer(entry(action, **_actor(actor or ctx.grant), target_kind=target_kind,
                   target_id=target_id, station=station, district=district, detail=detail,
                   at=ctx.now))


async def record(conn: AsyncConnection, grant: Grant | None, action: str, target_kind: str,
                 target_id: str, *, station: str | None = None, district: str | None = None,
                 detail: Mapping[str, Any] | None = None) -> None:
    """Record an act in the caller's write transaction (``None``: the system)."""
    await conn.execute(entry(action, **_actor(grant), target_kind=target_kind,
                             target_id=target_id, station=station, district=district,
                             detail=detail))


async def record_now(db: Database, grant: Grant | None, action: str, target_kind: str,
                     target_id: str, *, station: str | None = None, district: str | None = None,
                     detail: Mapping[str, Any] | None = None) -> None:
    """Record an act of a route that writes nothing else (an export): its own transaction,
    committed before the route answers (if it fails, the route fails)."""
    async def work(conn: AsyncConnection) -> None:
        await record(conn, grant, action, target_kind, target_id, station=station,
                     district=district, detail=detail)

    await db.run_write(work)


def recorder(grant: Grant | None, action: str, target_kind: str, target_id: str, *,
             station: str | None = None, district: str | None = None,
             detail: Mapping[str, Any] | None = None
             ) -> Callable[[AsyncConnection], Awaitable[None]]:
    """``record`` as a callback for a helper that runs its own transaction
    (``server.auth.revoke_token(..., also=...)``)."""
    async def run(conn: AsyncConnection) -> None:
        await record(conn, grant, action, target_kind, target_id, station=station,
                     district=district, detail=detail)

    return run


def grant_place(grant: Grant) -> tuple[str | None, str | None]:
    """The place an act of this grant concerns when it has no other (an export): the
    highest membership's station and district (None, None for an admin)."""
    if grant.rank >= ADMIN:
        return None, None
    return grant.station, grant.district


# -- reading ---------------------------------------------------------------------------------


def visible_to(grant: Grant) -> ColumnElement[bool]:
    """Rows this grant may read: an admin all, a district manager their districts' rows."""
    districts = []
    for held in grant.memberships:
        if held.rank >= ADMIN:
            return literal(True)
        if held.rank == DISTRICT_MANAGER and held.district:
            districts.append(held.district)
    return audit_log.c.district.in_(districts) if districts else false()


def may_read(grant: Grant) -> bool:
    return any(m.rank >= DISTRICT_MANAGER for m in grant.memberships)


def row_view(row: Mapping[str, Any]) -> dict[str, Any]:
    zh, en = ACTIONS.get(row["action"], (row["action"], row["action"]))
    return {
        "id": int(row["id"]), "at": row["at"], "action": row["action"],
        "action_label": {"zh": zh, "en": en},
        "actor": {"id": row["actor_id"], "name": row["actor_name"]},
        "token_id": row["token_id"], "device_id": row["device_id"],
        "target": {"kind": row["target_kind"], "id": row["target_id"]},
        "station": row["station"], "district": row["district"],
        "detail": json.loads(row["detail"]), "client_ip": row["client_ip"],
        "request_id": row["request_id"],
    }


def _filters(request: Request[Any, Any, Any], grant: Grant) -> list[ColumnElement[bool]]:
    from server import reports
    from server.state import query_day

    params = request.query_params
    where: list[ColumnElement[bool]] = [visible_to(grant)]
    action = params.get("action")
    if action:
        if action.endswith(".*"):
            where.append(audit_log.c.action.like(action[:-1].replace("%", "") + "%"))
        elif action in ACTIONS:
            where.append(audit_log.c.action == action)
        else:
            raise ProtocolError(400, "invalid_args", f"未知的操作类型:{action[:64]}",
                                f"unknown action: {action[:64]}", field="action")
    person = params.get("person")
    if person:
        person = person.strip()[:64]
        named = select(users.c.id).where(users.c.name == person)
        where.append(or_(audit_log.c.actor_id == person, audit_log.c.actor_id.in_(named),
                         audit_log.c.target_id == person))
    start = query_day(params.get("from"), "from")
    end = query_day(params.get("to"), "to")
    if start and end and end < start:
        raise ProtocolError(400, "invalid_args", "结束日期早于开始日期", "'to' is before 'from'",
                            field="to")
    if start or end:
        low, high = reports.period_bounds(start, end)
        where.append(and_(audit_log.c.at >= low, audit_log.c.at < high))
    return where


async def _reader(request: Request[Any, Any, Any]) -> Grant:
    from server.api import APP_VERSION
    from server.auth import resolve_grant
    from server.state import state_of

    grant = await resolve_grant(state_of(request).db, request.headers.get("authorization"),
                                app_version=request.headers.get(APP_VERSION))
    if not may_read(grant):
        raise ProtocolError(403, "forbidden", "无权限:只有系统管理员和辖区管理者可以查看审计日志",
                            "not allowed: only administrators and district managers read the audit log")
    return grant


def _int_param(request: Request[Any, Any, Any], name: str, default: int | None, high: int
               ) -> int | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= high:
        raise ProtocolError(400, "invalid_args", f"{name} 应为 1 到 {high} 的整数",
                            f"{name} must be a whole number from 1 to {high}", field=name)
    return int(raw)


@get("/api/v1/audit", security=TOKEN, tags=["audit"], responses=errors(400, 401, 403), summary="The audit log, newest first (admins; district managers: their districts)",
     description="Filters: `action` (a code, or a prefix such as `export.*`), `person` (an actor's "
                 "or target's id, or an actor's name), `from`/`to` (YYYY-MM-DD, Shanghai days). "
                 "Pages of `limit` (default 50, at most 200); `before` = the `next` of the previous page.")
async def audit_route(request: Request[Any, Any, Any]) -> Response[Any]:
    from server.state import state_of

    grant = await _reader(request)
    where = _filters(request, grant)
    limit = _int_param(request, "limit", PAGE_SIZE, MAX_PAGE_SIZE)
    before = _int_param(request, "before", None, 2**62)
    assert limit is not None
    if before is not None:
        where.append(audit_log.c.id < before)
    async with state_of(request).db.read() as conn:
        rows = (await conn.execute(select(audit_log).where(*where)
                                   .order_by(audit_log.c.id.desc()).limit(limit + 1))).mappings().all()
    items = [row_view(dict(r)) for r in rows[:limit]]
    more = len(rows) > limit
    return Response({"items": items, "next": items[-1]["id"] if more and items else None},
                    headers={"Cache-Control": "no-store"})


EXPORT_COLUMNS = (
    ("id", "编号", "id"), ("at", "时间", "time"), ("action", "操作", "action"),
    ("actor_name", "操作人", "by"), ("actor_id", "操作人编号", "by (id)"),
    ("device_id", "设备", "device"), ("target_kind", "对象类别", "target kind"),
    ("target_id", "对象", "target"), ("station", "站点", "station"),
    ("district", "辖区", "district"), ("detail", "详情", "detail"),
    ("client_ip", "来源地址", "client address"), ("request_id", "请求编号", "request id"),
)


@get("/api/v1/audit.csv", security=TOKEN, tags=["audit"],
     responses={**answer("the rows, as text/csv", media_type="text/csv"), **errors(400, 401, 403)}, summary="The audit log as CSV (same filters and readers as /api/v1/audit)")
async def audit_export_route(request: Request[Any, Any, Any]) -> Response[bytes]:
    """Every row the filters select (up to 50,000), oldest first; the export itself is an
    audited act (``export.audit``)."""
    from server.exports import table_response
    from server.reports import local_text
    from server.state import state_of

    grant = await _reader(request)
    where = _filters(request, grant)
    state = state_of(request)
    async with state.db.read() as conn:
        rows = (await conn.execute(select(audit_log).where(*where).order_by(audit_log.c.id)
                                   .limit(MAX_EXPORT_ROWS))).mappings().all()
    station, district = grant_place(grant)
    filters = {k: str(v)[:64] for k, v in request.query_params.items()
               if k in ("action", "person", "from", "to")}
    await record_now(state.db, grant, "export.audit", "audit_log", "audit_log", station=station,
                     district=district, detail={"format": "csv", "rows": len(rows), **filters})

    def line(row: Mapping[str, Any]) -> list[Any]:
        zh, en = ACTIONS.get(row["action"], (row["action"], row["action"]))
        values = {**row, "at": local_text(row["at"]), "action": f"{zh} / {en} ({row['action']})"}
        return [values[key] if values[key] is not None else "" for key, _zh, _en in EXPORT_COLUMNS]

    return table_response([[c[1] for c in EXPORT_COLUMNS], [c[2] for c in EXPORT_COLUMNS]],
                          (line(dict(r)) for r in rows), "csv", "audit_log")


ROUTES = [audit_route, audit_export_route]

__all__ = ["ACTIONS", "ROUTES", "audit_log", "entry", "grant_place", "record", "record_now", "recorder",
           "stage", "visible_to"]
