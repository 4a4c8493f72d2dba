"""The dashboard: the programme at a glance for the city bureau, a district and a station.

Read side only, like ``reports.py`` and ``exports.py``: it reads the tables the domain
modules export and writes nothing. Every figure is defined by **one row query** over a
ledger (fund ledger entries, the Time Bank's credit entries, hour logs, goods movements)
and a grouping of those rows: the figure is the sum of its rows' values per key, and the
drill-down of a key returns exactly those rows (``Figure.drill``). There is no second
count that could drift from the ledger: a figure and its rows come from the same list.

No personal data leaves this module: rows carry ids of ledger entries, days, stations,
kinds, categories and amounts; never a name, a phone, a user id or a free-text note
(a volunteer in the active-volunteers list is an ordinal, not an id).

Who sees what: managers and up. A station manager sees their station, a district manager
their district (and any station in it), an admin the whole city (the city bureau).
docs/dashboard.md lists every figure and the rows it sums.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from litestar import Request, Response, get
from sqlalchemy import ColumnElement, and_, func, select, true
from sqlalchemy.ext.asyncio import AsyncConnection

from schemas.service_projects import BRAND_CATEGORIES
from server import charts, reports
from server.auth import resolve_grant
from server.certificates import SERVICE_TYPE_NAMES
from server.domain.campaigns import campaigns
from server.domain.donations import donations
from server.domain.funds import funds, ledger_entries
from server.domain.goods import goods_movements, goods_stock
from server.domain.people import districts
from server.domain.service_projects import (
    SCORE_KEYS,
    evaluations,
    grant_tranches,
    project_grants,
    service_projects,
)
from server.domain.stations import stations
from server.domain.timebank import timebank_entries
from server.domain.training import training_signups, trainings
from server.domain.volunteers import hour_logs
from server.openapi import TOKEN, answer, errors
from server.state import query_day, state_of
from sync.errors import ProtocolError
from sync.scopes import ADMIN, DISTRICT_MANAGER, MANAGER, Grant

PAGE_SIZE = 50
"""Rows per page of a drill-down."""

ALL = "*"
"""The drill-down key of a figure's total."""


# ----------------------------------------------------------------------------- the place


@dataclass(frozen=True)
class View:
    """What one answer covers: a place (the city, a district or a station) and a period of
    whole Shanghai days ``[low, high)`` as stored UTC stamps."""

    level: str  # "city" | "district" | "station"
    district: str | None
    station: str | None
    start: dt.date
    end: dt.date
    low: str
    high: str

    def where(self, station: Any, district: Any) -> ColumnElement[bool]:
        """The place filter on a row's station and district columns (or expressions)."""
        if self.station is not None:
            return and_(station == self.station)
        if self.district is not None:
            return and_(district == self.district)
        return true()

    def label(self) -> dict[str, Any]:
        return {"level": self.level, "district": self.district, "station": self.station,
                "from": self.start.isoformat(), "to": self.end.isoformat()}


def _forbidden(zh: str, en: str) -> ProtocolError:
    return ProtocolError(403, "forbidden", zh, en)


def manager_grant(grant: Grant) -> None:
    """Managers and up open the dashboard (a station's people below that do not)."""
    if grant.rank < MANAGER:
        raise _forbidden("无权限:只有管理者可以查看数据看板",
                         "not allowed: the dashboard is for managers")


async def resolve_view(conn: AsyncConnection, grant: Grant, *, district: str | None,
                       station: str | None, start: dt.date | None, end: dt.date | None,
                       today: dt.date | None = None) -> View:
    """The place asked for (else the caller's own: the city for an admin, the district of a
    district manager, the station of a manager), refused with 403 when the caller holds no
    manager's rank there. The period defaults to this year up to today."""
    manager_grant(grant)
    today = today or dt.datetime.now(reports.SHANGHAI).date()
    start = start or dt.date(today.year, 1, 1)
    end = end or max(today, start)
    if end < start:
        raise ProtocolError(400, "invalid_args", "结束日期早于开始日期", "'to' is before 'from'",
                            field="to")
    low, high = reports.period_bounds(start, end)
    if station:
        row = (await conn.execute(select(stations.c.code, stations.c.district).where(
            stations.c.code == station))).first()
        if row is None:
            raise ProtocolError(404, "not_found", f"找不到站点 {station}", f"no station {station}",
                                field="station")
        if district and district != row.district:
            raise ProtocolError(400, "invalid_args", "该站点不属于所选的区",
                                "the station is not in that district", field="station")
        if grant.rank_at(station, str(row.district)) < MANAGER:
            raise _forbidden("无权限查看该站点的数据", "not allowed to see this station's figures")
        return View("station", str(row.district), station, start, end, low, high)
    if district:
        if grant.rank_at(None, district) < DISTRICT_MANAGER:
            raise _forbidden("无权限查看该区的数据", "not allowed to see this district's figures")
        return View("district", district, None, start, end, low, high)
    if grant.rank >= ADMIN:
        return View("city", None, None, start, end, low, high)
    top = grant.memberships[0]
    if top.rank >= DISTRICT_MANAGER:
        return View("district", top.district, None, start, end, low, high)
    return View("station", top.district, top.station, start, end, low, high)


async def places_for(conn: AsyncConnection, grant: Grant) -> dict[str, Any]:
    """The districts and stations this grant may choose in the filters."""
    station_rows = (await conn.execute(
        select(stations.c.code, stations.c.name, stations.c.district)
        .where(stations.c.deleted_at.is_(None)).order_by(stations.c.district, stations.c.code)
    )).all()
    district_names = sorted({str(r[0]) for r in await conn.execute(select(districts.c.name))}
                            | {str(r.district) for r in station_rows})
    return {
        "city": grant.rank >= ADMIN,
        "districts": [d for d in district_names if grant.rank_at(None, d) >= DISTRICT_MANAGER],
        "stations": [{"code": r.code, "name": r.name, "district": r.district}
                     for r in station_rows if grant.rank_at(r.code, r.district) >= MANAGER],
    }


# ----------------------------------------------------------------------------- row queries

Row = dict[str, Any]


@functools.lru_cache(maxsize=65_536)
def _local_day(utc_hour: str) -> str:
    return reports.local_time(f"{utc_hour}:00:00+00:00").strftime("%Y-%m-%d")


def _day(stamp: str) -> str:
    """The Shanghai day of a stored UTC stamp (``2026-11-28T16:05:00.000Z``). Shanghai is
    UTC+8 all year, so the day depends on the UTC date and hour alone: cached by those (a
    year is 8,760 of them), which makes a year of ledger rows cheap to place."""
    if len(stamp) >= 13 and stamp[10] == "T" and stamp.endswith("Z"):
        return _local_day(stamp[:13])
    return reports.local_time(stamp).strftime("%Y-%m-%d")


def _month(stamp: str) -> str:
    return _day(stamp)[:7]


CHANNEL_COLUMN = "channel"
"""A ledger column naming a movement's channel, if the ledger ever has one. When present
and not empty it wins; otherwise a station gift's channel is its payment method and any
other movement's channel is its kind (``online``: the platform's gifts, booked by
``server/domain/online.py``; ``match``: sponsors' matching gifts; ``seed``), so a new
kind of income shows as its own channel without a change here."""

STATION_KINDS = ("donation", "correction", "void")
"""Ledger kinds of a gift taken at a station (and its corrections): channel by payment method."""


def gift_channel(kind: str, method: str | None, has_donation: bool, explicit: str | None = None
                 ) -> str:
    if explicit:
        return str(explicit)
    if has_donation and kind in STATION_KINDS:
        return f"station:{method or 'other'}"
    return str(kind)


async def income_rows(conn: AsyncConnection, view: View) -> list[Row]:
    """Money in: the fund side (``fund:*`` accounts) of every ledger movement in the period
    that is not a payment out (gifts, their corrections and voids, allocations, seed money,
    online and matching gifts), placed at the gift's station when it is a station gift and at
    the fund's place otherwise."""
    place_station = func.coalesce(donations.c.station, ledger_entries.c.station)
    place_district = func.coalesce(donations.c.district, ledger_entries.c.district)
    has_channel = CHANNEL_COLUMN in ledger_entries.c
    extra = [ledger_entries.c[CHANNEL_COLUMN]] if has_channel else []
    rows = (await conn.execute(
        select(ledger_entries.c.id, ledger_entries.c.kind, ledger_entries.c.amount_fen,
               ledger_entries.c.created_at, ledger_entries.c.fund_id, ledger_entries.c.account,
               donations.c.id.label("gift"), donations.c.method,
               place_station.label("place_station"), place_district.label("place_district"),
               *extra)
        .select_from(ledger_entries.outerjoin(donations,
                                              donations.c.id == ledger_entries.c.donation_id))
        .where(ledger_entries.c.account.like("fund:%"), ledger_entries.c.kind != "disbursement",
               ledger_entries.c.created_at >= view.low, ledger_entries.c.created_at < view.high,
               view.where(place_station, place_district))
        .order_by(ledger_entries.c.created_at, ledger_entries.c.id))).all()
    names = await _fund_names(conn)
    out = []
    for r in rows:
        day = _day(r.created_at)
        out.append({
            "id": r.id, "day": day, "month": day[:7], "kind": r.kind,
            "channel": gift_channel(r.kind, r.method, r.gift is not None,
                                    r[-1] if has_channel else None),
            "fund": names.get(r.fund_id, r.fund_id),
            "account": "project" if r.account.startswith("fund:project:") else "general",
            "station": r.place_station, "district": r.place_district,
            "amount_fen": int(r.amount_fen),
        })
    return out


async def _fund_names(conn: AsyncConnection) -> dict[str, str]:
    return {str(r.id): str(r.name) for r in await conn.execute(select(funds.c.id, funds.c.name))}


async def fund_rows(conn: AsyncConnection, view: View) -> list[Row]:
    """Fund balances at the end of the period: the fund side of every ledger entry of the
    funds that live at the place (a station's funds, a district's, or all), from the first
    entry to the period's end."""
    rows = (await conn.execute(
        select(ledger_entries.c.id, ledger_entries.c.seq, ledger_entries.c.kind,
               ledger_entries.c.account, ledger_entries.c.amount_fen,
               ledger_entries.c.created_at, ledger_entries.c.fund_id,
               funds.c.name, funds.c.station, funds.c.district)
        .select_from(ledger_entries.join(funds, funds.c.id == ledger_entries.c.fund_id))
        .where(ledger_entries.c.account.like("fund:%"), ledger_entries.c.created_at < view.high,
               view.where(funds.c.station, funds.c.district))
        .order_by(ledger_entries.c.fund_id, ledger_entries.c.seq))).all()
    return [{
        "id": r.id, "seq": int(r.seq), "day": _day(r.created_at), "kind": r.kind,
        "account": "project" if r.account.startswith("fund:project:") else "general",
        "fund_id": r.fund_id, "fund": r.name, "station": r.station,
        "district": r.district, "amount_fen": int(r.amount_fen),
    } for r in rows]


async def campaign_rows(conn: AsyncConnection, view: View) -> list[Row]:
    """Campaigns against target: the fund side of every ledger movement of a gift that
    belongs to a campaign (the gift, its corrections and voids, sponsors' matches and their
    reversals), from the campaign's start to the end of the period, at the gift's station.
    Only campaigns the place may see: the city's and its district's (a station's: those
    its station collects under)."""
    targets = await campaign_targets(conn, view)
    rows = (await conn.execute(
        select(ledger_entries.c.id, ledger_entries.c.kind, ledger_entries.c.amount_fen,
               ledger_entries.c.created_at, donations.c.station, donations.c.district,
               donations.c.campaign)
        .select_from(ledger_entries.join(donations,
                                         donations.c.id == ledger_entries.c.donation_id))
        .where(ledger_entries.c.account.like("fund:%"), ledger_entries.c.kind != "disbursement",
               donations.c.campaign.is_not(None), ledger_entries.c.created_at < view.high,
               view.where(donations.c.station, donations.c.district))
        .order_by(ledger_entries.c.created_at, ledger_entries.c.id))).mappings().all()
    return [{
        "id": r["id"], "day": _day(r["created_at"]), "kind": r["kind"],
        "campaign": r["campaign"], "station": r["station"], "district": r["district"],
        "amount_fen": int(r["amount_fen"]),
    } for r in rows if r["campaign"] in targets]


async def campaign_targets(conn: AsyncConnection, view: View) -> dict[str, dict[str, Any]]:
    """The campaigns open at some time at the place: name, period and target (fen, or None)."""
    table = campaigns
    query = select(table.c.id, table.c.name, table.c.starts_on, table.c.ends_on,
                   table.c.target_fen, table.c.district, table.c.stations)
    if view.district is not None:
        query = query.where((table.c.district == view.district) | table.c.district.is_(None))
    found: dict[str, dict[str, Any]] = {}
    for row in (await conn.execute(query.order_by(table.c.starts_on, table.c.id))).mappings():
        stations_list = json.loads(row["stations"] or "[]")
        if view.station is not None and stations_list and view.station not in stations_list:
            continue
        found[str(row["id"])] = {"name": row["name"], "starts_on": row["starts_on"],
                                 "ends_on": row["ends_on"], "target_fen": row["target_fen"]}
    return found


GOODS_IN = ("received", "voided")
"""Goods movements that count as goods received (a void takes a gift's goods back out)."""


async def goods_rows(conn: AsyncConnection, view: View) -> list[Row]:
    """Every goods movement in the period at the place, with its stock's item and unit
    (the station's catalogue words; never the recipient or the note)."""
    rows = (await conn.execute(
        select(goods_movements.c.id, goods_movements.c.kind, goods_movements.c.delta,
               goods_movements.c.created_at, goods_movements.c.station,
               goods_movements.c.district, goods_stock.c.name, goods_stock.c.unit)
        .select_from(goods_movements.join(goods_stock,
                                          goods_stock.c.id == goods_movements.c.stock_id))
        .where(goods_movements.c.created_at >= view.low, goods_movements.c.created_at < view.high,
               view.where(goods_movements.c.station, goods_movements.c.district))
        .order_by(goods_movements.c.created_at, goods_movements.c.id))).mappings().all()
    return [{
        "id": r["id"], "day": _day(r["created_at"]), "kind": r["kind"],
        "item": f"{r['name']}（{r['unit']}）", "station": r["station"], "district": r["district"],
        "quantity": int(r["delta"]),
    } for r in rows]


async def _approved_logs(conn: AsyncConnection, view: View) -> Sequence[Any]:
    return (await conn.execute(
        select(hour_logs.c.id, hour_logs.c.volunteer_id, hour_logs.c.station,
               hour_logs.c.district, hour_logs.c.service_type, hour_logs.c.check_in_at,
               hour_logs.c.approved_minutes)
        .where(hour_logs.c.status == "approved", hour_logs.c.check_in_at >= view.low,
               hour_logs.c.check_in_at < view.high,
               view.where(hour_logs.c.station, hour_logs.c.district))
        .order_by(hour_logs.c.check_in_at, hour_logs.c.id))).mappings().all()


async def hour_rows(conn: AsyncConnection, view: View) -> list[Row]:
    """Approved hour logs whose check-in falls in the period (a reversed or rejected log is
    not approved), with their approved minutes; never the volunteer."""
    return [{
        "id": r["id"], "day": _day(r["check_in_at"]), "month": _month(r["check_in_at"]),
        "service_type": r["service_type"], "station": r["station"], "district": r["district"],
        "minutes": int(r["approved_minutes"] or 0),
    } for r in await _approved_logs(conn, view)]


async def volunteer_rows(conn: AsyncConnection, view: View) -> list[Row]:
    """One row per volunteer with an approved hour log in the period: an ordinal (by minutes
    served, then sessions; not an id), sessions, minutes and the stations served at."""
    served: dict[str, dict[str, Any]] = {}
    for log in await _approved_logs(conn, view):
        slot = served.setdefault(log["volunteer_id"], {"sessions": 0, "minutes": 0,
                                                       "stations": set(), "districts": set()})
        slot["sessions"] += 1
        slot["minutes"] += int(log["approved_minutes"] or 0)
        slot["stations"].add(log["station"])
        slot["districts"].add(log["district"])
    ranked = sorted(served.values(), key=lambda s: (-s["minutes"], -s["sessions"],
                                                    sorted(s["stations"])))
    return [{
        "id": f"V{number:04d}", "sessions": s["sessions"], "minutes": s["minutes"],
        "station": "、".join(sorted(s["stations"])), "district": "、".join(sorted(s["districts"])),
        "count": 1,
    } for number, s in enumerate(ranked, start=1)]


EARNED = ("hours_credit", "hours_reversal")
REDEEMED = ("redemption", "redemption_refund")


async def credit_rows(conn: AsyncConnection, view: View) -> list[Row]:
    """The volunteers' side (``vol:*`` accounts) of credit movements in the period: hours
    credited and reversed (earned), redemptions and their refunds (redeemed, shown positive).
    Transfers between people are neither."""
    rows = (await conn.execute(
        select(timebank_entries.c.id, timebank_entries.c.kind, timebank_entries.c.amount_cents,
               timebank_entries.c.created_at, timebank_entries.c.station,
               timebank_entries.c.district)
        .where(timebank_entries.c.account_id.like("vol:%"),
               timebank_entries.c.kind.in_(EARNED + REDEEMED),
               timebank_entries.c.created_at >= view.low, timebank_entries.c.created_at < view.high,
               view.where(timebank_entries.c.station, timebank_entries.c.district))
        .order_by(timebank_entries.c.created_at, timebank_entries.c.id))).mappings().all()
    return [{
        "id": r["id"], "day": _day(r["created_at"]), "kind": r["kind"],
        "flow": "earned" if r["kind"] in EARNED else "redeemed",
        "station": r["station"], "district": r["district"],
        "credits_cents": int(r["amount_cents"]) * (1 if r["kind"] in EARNED else -1),
    } for r in rows]


# ----------------------------------------------------------------------------- projects


def _in_period(view: View, day: str) -> bool:
    return view.start.isoformat() <= day <= view.end.isoformat()


async def project_rows(conn: AsyncConnection, view: View) -> list[Row]:
    """The service projects at the place made before the period's end, as they stand
    (status, weighted progress kept on the record by its milestones), with their
    evaluation's overall score when there is one (``None`` otherwise)."""
    rows = (await conn.execute(
        select(service_projects.c.id, service_projects.c.name, service_projects.c.station,
               service_projects.c.district, service_projects.c.kind,
               service_projects.c.category, service_projects.c.status,
               service_projects.c.progress, evaluations.c.overall)
        .select_from(service_projects.outerjoin(
            evaluations, evaluations.c.project_id == service_projects.c.id))
        .where(service_projects.c.created_at < view.high,
               view.where(service_projects.c.station, service_projects.c.district))
        .order_by(service_projects.c.created_at, service_projects.c.id))).mappings().all()
    return [{
        "id": r["id"], "name": r["name"], "station": r["station"], "district": r["district"],
        "kind": r["kind"], "category": r["category"], "status": r["status"],
        "progress": int(r["progress"]),
        "overall": None if r["overall"] is None else int(r["overall"]), "count": 1,
    } for r in rows]


async def grant_rows(conn: AsyncConnection, view: View) -> list[Row]:
    """Grant agreements signed in the period at the place: the amount agreed (the signing
    day is a date as the agreement says it, not a stamp)."""
    rows = (await conn.execute(
        select(project_grants.c.id, project_grants.c.amount_fen, project_grants.c.signed_at,
               project_grants.c.station, project_grants.c.district, service_projects.c.name,
               service_projects.c.kind, service_projects.c.progress)
        .select_from(project_grants.join(
            service_projects, service_projects.c.id == project_grants.c.project_id))
        .where(view.where(project_grants.c.station, project_grants.c.district))
        .order_by(project_grants.c.signed_at, project_grants.c.id))).mappings().all()
    return [{
        "id": r["id"], "day": r["signed_at"][:10], "name": r["name"], "kind": r["kind"],
        "station": r["station"], "district": r["district"], "progress": int(r["progress"]),
        "amount_fen": int(r["amount_fen"]),
    } for r in rows if _in_period(view, r["signed_at"][:10])]


async def tranche_rows(conn: AsyncConnection, view: View) -> list[Row]:
    """Grant tranches paid in the period: the fund side of the ledger's disbursement
    entries whose disbursement is a grant's tranche (what left the fund, shown positive),
    at the project's place."""
    rows = (await conn.execute(
        select(ledger_entries.c.id, ledger_entries.c.amount_fen, ledger_entries.c.created_at,
               grant_tranches.c.station, grant_tranches.c.district, service_projects.c.name,
               service_projects.c.kind, service_projects.c.progress)
        .select_from(ledger_entries
                     .join(grant_tranches,
                           grant_tranches.c.disbursement_id == ledger_entries.c.disbursement_id)
                     .join(service_projects,
                           service_projects.c.id == grant_tranches.c.project_id))
        .where(ledger_entries.c.kind == "disbursement", ledger_entries.c.account.like("fund:%"),
               ledger_entries.c.created_at >= view.low, ledger_entries.c.created_at < view.high,
               view.where(grant_tranches.c.station, grant_tranches.c.district))
        .order_by(ledger_entries.c.created_at, ledger_entries.c.id))).mappings().all()
    return [{
        "id": r["id"], "day": _day(r["created_at"]), "name": r["name"], "kind": r["kind"],
        "station": r["station"], "district": r["district"], "progress": int(r["progress"]),
        "amount_fen": -int(r["amount_fen"]),
    } for r in rows]


async def evaluation_rows(conn: AsyncConnection, view: View) -> list[Row]:
    """Closing evaluations made in the period at the place: one row per evaluation with
    its overall score and the four methods' scores."""
    rows = (await conn.execute(
        select(evaluations.c.id, evaluations.c.scores, evaluations.c.overall,
               evaluations.c.evaluated_at, evaluations.c.station, evaluations.c.district,
               service_projects.c.name, service_projects.c.kind, service_projects.c.progress)
        .select_from(evaluations.join(
            service_projects, service_projects.c.id == evaluations.c.project_id))
        .where(evaluations.c.evaluated_at >= view.low, evaluations.c.evaluated_at < view.high,
               view.where(evaluations.c.station, evaluations.c.district))
        .order_by(evaluations.c.evaluated_at, evaluations.c.id))).mappings().all()
    out = []
    for r in rows:
        scores = json.loads(r["scores"])
        out.append({
            "id": r["id"], "day": _day(r["evaluated_at"]), "name": r["name"], "kind": r["kind"],
            "station": r["station"], "district": r["district"], "progress": int(r["progress"]),
            "overall": int(r["overall"]), "count": 1,
            **{k: int(scores[k]) for k in SCORE_KEYS},
        })
    return out


async def score_rows(conn: AsyncConnection, view: View) -> list[Row]:
    """The four methods' scores of the period's evaluations, one row per evaluation and
    method (the mean per method is the figure)."""
    return [{
        "id": f"{r['id']}:{method}", "day": r["day"], "name": r["name"], "method": method,
        "station": r["station"], "district": r["district"], "progress": r["progress"],
        "overall": r["overall"], "score": r[method],
    } for r in await evaluation_rows(conn, view) for method in SCORE_KEYS]


# ----------------------------------------------------------------------------- training


async def training_rows(conn: AsyncConnection, view: View) -> list[Row]:
    """Trainings held in the period at the place: not cancelled, starting on a day of the
    period (Shanghai), with the attendance their record counts."""
    rows = (await conn.execute(
        select(trainings.c.id, trainings.c.topic, trainings.c.starts_at, trainings.c.station,
               trainings.c.district, trainings.c.audience, trainings.c.minutes,
               trainings.c.attended)
        .where(trainings.c.status != "cancelled",
               view.where(trainings.c.station, trainings.c.district))
        .order_by(trainings.c.starts_at, trainings.c.id))).mappings().all()
    out = []
    for r in rows:
        day = _day(r["starts_at"])
        if _in_period(view, day):
            out.append({"id": r["id"], "day": day, "topic": r["topic"], "station": r["station"],
                        "district": r["district"], "audience": r["audience"],
                        "minutes": int(r["minutes"]), "attended": int(r["attended"]),
                        "count": 1})
    return out


async def attendance_rows(conn: AsyncConnection, view: View) -> list[Row]:
    """Attendances of the period's trainings: the sign-ups marked attended (the person is
    not named: the row is the sign-up's id), with the training hours each was credited."""
    held = {r["id"]: r for r in await training_rows(conn, view)}
    if not held:
        return []
    rows = (await conn.execute(
        select(training_signups.c.id, training_signups.c.training_id,
               training_signups.c.minutes)
        .where(training_signups.c.status == "attended",
               training_signups.c.training_id.in_(list(held)))
        .order_by(training_signups.c.training_id, training_signups.c.id))).mappings().all()
    out = []
    for r in rows:
        training = held[r["training_id"]]
        out.append({"id": r["id"], "day": training["day"], "topic": training["topic"],
                    "station": training["station"], "district": training["district"],
                    "audience": training["audience"], "minutes": int(r["minutes"] or 0),
                    "count": 1})
    return out


# ----------------------------------------------------------------------------- figures


@dataclass(frozen=True)
class Figure:
    """A figure: which rows (``source``), which of them (``keep``), how they group (``key``)
    and what each adds (``value``). ``columns`` are what a drill-down row shows."""

    name: str
    title: tuple[str, str]
    unit: str  # fen | minutes | cents | people | quantity
    source: str
    key: Callable[[Row], str]
    value: Callable[[Row], int]
    columns: tuple[str, ...]
    keep: Callable[[Row], bool] = lambda row: True
    chart: str = "bars"  # bars (categories, horizontal) | columns (months) | none
    section: str = "money"  # money | projects | training: where the app shows it
    mean: bool = False  # the figure is its rows' mean (rounded) instead of their sum

    def rows(self, source_rows: Sequence[Row]) -> list[Row]:
        return [r for r in source_rows if self.keep(r)]

    def total(self, rows: Sequence[Row]) -> int:
        """What ``rows`` make of the figure: their sum, or their rounded mean (0 when none)."""
        added = sum(self.value(r) for r in rows)
        if not self.mean:
            return added
        return (2 * added + len(rows)) // (2 * len(rows)) if rows else 0

    def groups(self, source_rows: Sequence[Row]) -> dict[str, int]:
        grouped: dict[str, list[Row]] = defaultdict(list)
        for row in self.rows(source_rows):
            grouped[self.key(row)].append(row)
        return {key: self.total(rows) for key, rows in grouped.items()}

    def drill(self, source_rows: Sequence[Row], key: str) -> list[Row]:
        """Exactly the rows the figure ``key`` sums (``*``: all of the figure's rows)."""
        return [r for r in self.rows(source_rows) if key == ALL or self.key(r) == key]


SOURCES: dict[str, Callable[[AsyncConnection, View], Awaitable[list[Row]]]] = {
    "income": income_rows, "funds": fund_rows, "goods": goods_rows, "hours": hour_rows,
    "volunteers": volunteer_rows, "credits": credit_rows, "campaigns": campaign_rows,
    "projects": project_rows, "grants": grant_rows, "tranches": tranche_rows,
    "evaluations": evaluation_rows, "scores": score_rows, "trainings": training_rows,
    "attendances": attendance_rows,
}

PROJECT_COLUMNS = ("id", "name", "station", "kind", "category", "status", "progress", "overall")
EVALUATION_COLUMNS = ("id", "day", "name", "station", "progress", "overall")

FIGURES: tuple[Figure, ...] = (
    Figure("money_by_month", ("每月善款", "money by month"), "fen", "income",
           lambda r: r["month"], lambda r: r["amount_fen"],
           ("id", "day", "kind", "channel", "fund", "station", "amount_fen"), chart="columns"),
    Figure("money_by_channel", ("善款渠道", "money by channel"), "fen", "income",
           lambda r: r["channel"], lambda r: r["amount_fen"],
           ("id", "day", "kind", "channel", "fund", "station", "amount_fen")),
    Figure("goods_received", ("收到物资", "goods received"), "quantity", "goods",
           lambda r: r["item"], lambda r: r["quantity"],
           ("id", "day", "kind", "item", "station", "quantity"),
           keep=lambda r: r["kind"] in GOODS_IN),
    Figure("goods_handed_out", ("发放物资", "goods handed out"), "quantity", "goods",
           lambda r: r["item"], lambda r: -r["quantity"],
           ("id", "day", "kind", "item", "station", "quantity"),
           keep=lambda r: r["kind"] == "handed_out"),
    Figure("hours_by_type", ("服务时长(按类型)", "hours by service type"), "minutes", "hours",
           lambda r: r["service_type"], lambda r: r["minutes"],
           ("id", "day", "service_type", "station", "minutes")),
    Figure("active_volunteers", ("活跃志愿者", "active volunteers"), "people", "volunteers",
           lambda r: "active", lambda r: r["count"],
           ("id", "sessions", "minutes", "station"), chart="none"),
    Figure("credits", ("时间积分:获得与兑换", "credits earned and redeemed"), "cents", "credits",
           lambda r: r["flow"], lambda r: r["credits_cents"],
           ("id", "day", "kind", "station", "credits_cents")),
    Figure("fund_balances", ("基金余额(期末)", "fund balances (end of period)"), "fen", "funds",
           lambda r: r["fund_id"], lambda r: r["amount_fen"],
           ("id", "seq", "day", "kind", "account", "fund", "amount_fen")),
    Figure("campaigns", ("募捐活动:已筹与目标", "campaigns against target"), "fen", "campaigns",
           lambda r: r["campaign"], lambda r: r["amount_fen"],
           ("id", "day", "kind", "station", "amount_fen"), chart="target"),
    Figure("projects_by_kind", ("服务项目(按类型)", "service projects by kind"), "count",
           "projects", lambda r: r["kind"], lambda r: r["count"], PROJECT_COLUMNS,
           section="projects", chart="none"),
    Figure("projects_by_category", ("服务项目(按领域)", "service projects by category"),
           "count", "projects", lambda r: r["category"], lambda r: r["count"], PROJECT_COLUMNS,
           section="projects"),
    Figure("projects_by_status", ("服务项目(按状态)", "service projects by status"), "count",
           "projects", lambda r: r["status"], lambda r: r["count"], PROJECT_COLUMNS,
           section="projects", chart="none"),
    Figure("project_progress", ("平均加权进度", "mean weighted progress"), "percent",
           "projects", lambda r: r["kind"], lambda r: r["progress"], PROJECT_COLUMNS,
           section="projects", mean=True, chart="none"),
    Figure("grants_signed", ("已签资助协议", "grants signed"), "fen", "grants",
           lambda r: r["kind"], lambda r: r["amount_fen"],
           ("id", "day", "name", "station", "progress", "amount_fen"), section="projects"),
    Figure("tranches_paid", ("已拨付资助款", "grant tranches paid"), "fen", "tranches",
           lambda r: r["kind"], lambda r: r["amount_fen"],
           ("id", "day", "name", "station", "progress", "amount_fen"), section="projects"),
    Figure("evaluations_done", ("完成评估", "evaluations done"), "count", "evaluations",
           lambda r: r["kind"], lambda r: r["count"], EVALUATION_COLUMNS, section="projects",
           chart="none"),
    Figure("evaluation_overall", ("评估总分(平均)", "mean overall score"), "score",
           "evaluations", lambda r: r["kind"], lambda r: r["overall"], EVALUATION_COLUMNS,
           section="projects", mean=True, chart="none"),
    Figure("evaluation_methods", ("四项评估方法(平均分)", "the four methods (mean score)"),
           "score", "scores", lambda r: r["method"], lambda r: r["score"],
           ("id", "day", "name", "station", "progress", "overall", "score"), section="projects",
           mean=True, chart="none"),
    Figure("trainings_held", ("已举办培训", "trainings held"), "count", "trainings",
           lambda r: r["audience"], lambda r: r["count"],
           ("id", "day", "topic", "station", "attended", "minutes"), section="training",
           chart="none"),
    Figure("training_attendances", ("培训出席人次", "training attendances"), "count",
           "attendances", lambda r: r["audience"], lambda r: r["count"],
           ("id", "day", "topic", "station", "minutes"), section="training",
           chart="none"),
    Figure("training_hours", ("培训时长", "training hours"), "minutes", "attendances",
           lambda r: r["audience"], lambda r: r["minutes"],
           ("id", "day", "topic", "station", "minutes"), section="training",
           chart="none"),
)
BY_NAME = {f.name: f for f in FIGURES}

PENDING: dict[str, tuple[str, str]] = {}
"""Figures the issue asks for whose ledgers do not exist yet: the answer names them so the
app shows an honest "not yet" instead of a made-up zero (docs/dashboard.md)."""

CHANNEL_LABELS = {
    "online": ("线上", "online"), "seed": ("种子资金", "seed money"),
    "match": ("配捐", "matching gifts"), "donation": ("捐赠", "gifts"),
    "correction": ("更正", "corrections"), "void": ("作废", "voids"),
}
KIND_LABELS = {"hours_credit": ("服务入账", "hours credited"),
               "hours_reversal": ("服务冲回", "hours reversed"),
               "redemption": ("兑换", "redemption"), "redemption_refund": ("兑换退回", "refund"),
               "received": ("收到", "received"), "voided": ("作废", "voided"),
               "handed_out": ("发放", "handed out"), "disbursement": ("拨付", "disbursement")}
FLOW_LABELS = {"earned": ("获得", "earned"), "redeemed": ("兑换", "redeemed")}
PROJECT_LABELS: dict[str, tuple[str, str]] = {
    "brand": ("品牌项目", "brand project"), "micro_venture": ("微创投", "micro-venture"),
    "active": ("进行中", "active"), "closing": ("结项中", "closing"), "closed": ("已结项", "closed"),
    **BRAND_CATEGORIES,
}
METHOD_LABELS = {"needs": ("需求评价", "needs"), "performance": ("绩效管理", "performance"),
                 "feedback": ("跟踪反馈", "feedback"), "supervision": ("监督检查", "supervision")}
AUDIENCE_LABELS = {"volunteers": ("志愿者", "volunteers"), "staff": ("工作人员", "staff"),
                   "residents": ("居民", "residents"), "all": ("所有人", "everyone")}


def key_label(figure: Figure, key: str, fund_names: Mapping[str, str],
              campaign_names: Mapping[str, str] | None = None) -> tuple[str, str]:
    """A group key in words (Chinese, English)."""
    if figure.source == "campaigns":
        name = (campaign_names or {}).get(key, key)
        return name, name
    if figure.source == "funds":
        name = fund_names.get(key, key)
        return name, name
    if figure.name == "money_by_channel":
        if key.startswith("station:"):
            method = reports.label("method", key.split(":", 1)[1]).split(" / ")
            return f"站点·{method[0]}", f"station · {method[-1]}"
        return CHANNEL_LABELS.get(key, (key, key))
    if figure.source == "hours":
        return SERVICE_TYPE_NAMES.get(key, (key, key))
    if figure.source == "credits":
        return FLOW_LABELS.get(key, (key, key))
    if figure.source == "volunteers":
        return "活跃志愿者", "active volunteers"
    if figure.source == "scores":
        return METHOD_LABELS.get(key, (key, key))
    if figure.source in ("trainings", "attendances"):
        return AUDIENCE_LABELS.get(key, (key, key))
    if figure.source in ("projects", "grants", "tranches", "evaluations"):
        return PROJECT_LABELS.get(key, (key, key))
    return key, key


def _order(figure: Figure, groups: dict[str, int]) -> list[str]:
    if figure.chart == "columns":
        return sorted(groups)
    if figure.source == "credits":
        return [k for k in ("earned", "redeemed") if k in groups]
    if figure.source == "scores":
        return [k for k in SCORE_KEYS if k in groups]
    if figure.mean:
        return sorted(groups)
    return sorted(groups, key=lambda k: (-abs(groups[k]), k))


async def load_sources(conn: AsyncConnection, view: View, names: Sequence[str] | None = None
                       ) -> dict[str, list[Row]]:
    wanted = names or list(SOURCES)
    return {name: await SOURCES[name](conn, view) for name in wanted}


async def figures_of(conn: AsyncConnection, view: View,
                     sources: Mapping[str, list[Row]] | None = None) -> dict[str, Any]:
    """Every figure of the view: its total and its groups (key, words, value). ``sources``:
    the rows already read for this view (``load_sources``), else they are read here."""
    sources = sources if sources is not None else await load_sources(conn, view)
    fund_names = await _fund_names(conn)
    targets = await campaign_targets(conn, view)
    campaign_names = {k: str(v["name"]) for k, v in targets.items()}
    out: dict[str, Any] = {}
    for figure in FIGURES:
        rows = sources[figure.source]
        kept = figure.rows(rows)
        groups = figure.groups(kept)
        items = []
        for key in _order(figure, groups):
            zh, en = key_label(figure, key, fund_names, campaign_names)
            items.append({"key": key, "zh": zh, "en": en, "value": groups[key]})
        if figure.source == "campaigns":  # every campaign of the place, raised or not
            items = [{"key": key, "zh": info["name"], "en": info["name"],
                      "value": groups.get(key, 0), "target": info["target_fen"],
                      "starts_on": info["starts_on"], "ends_on": info["ends_on"]}
                     for key, info in targets.items()]
        out[figure.name] = {
            "title": {"zh": figure.title[0], "en": figure.title[1]}, "unit": figure.unit,
            "total": figure.total(kept), "section": figure.section, "mean": figure.mean,
            "rows": len(kept), "groups": items,
        }
    return out


def _charts(figures: Mapping[str, Any]) -> dict[str, str]:
    made: dict[str, str] = {}
    for figure in FIGURES:
        if figure.chart == "none":
            continue
        data = figures[figure.name]
        items = [(f"{g['zh']}", g["value"]) for g in data["groups"]]
        title = f"{figure.title[0]} {figure.title[1]}"
        if figure.chart == "columns":
            made[figure.name] = charts.column_chart(items, title=title, unit=figure.unit)
        elif figure.chart == "target":
            made[figure.name] = charts.target_chart(
                [(g["zh"], g["value"], g.get("target")) for g in data["groups"]], title=title)
        else:
            made[figure.name] = charts.bar_chart(items, title=title, unit=figure.unit)
    return made


async def drill_down(conn: AsyncConnection, view: View, name: str, key: str, page: int
                     ) -> dict[str, Any]:
    """One page of the rows behind figure ``name``'s group ``key`` (``*``: its total), with
    the sum of all of them (what the figure shows)."""
    figure = BY_NAME.get(name)
    if figure is None:
        raise ProtocolError(404, "not_found", f"没有数据项 {name}", f"no figure {name}",
                            field="figure")
    rows = figure.drill(await SOURCES[figure.source](conn, view), key)
    campaign_names: dict[str, str] = {}
    if figure.source == "campaigns":
        campaign_names = {k: str(v["name"]) for k, v in (await campaign_targets(conn, view)).items()}
    pages = max(1, -(-len(rows) // PAGE_SIZE))
    page = min(max(1, page), pages)
    shown = rows[(page - 1) * PAGE_SIZE:page * PAGE_SIZE]
    fund_names = await _fund_names(conn)
    zh, en = ("合计", "total") if key == ALL else key_label(figure, key, fund_names,
                                                            campaign_names)
    return {
        "figure": name, "title": {"zh": figure.title[0], "en": figure.title[1]}, "key": key,
        "zh": zh, "en": en, "unit": figure.unit,
        "value": figure.total(rows), "mean": figure.mean, "count": len(rows),
        "page": page, "pages": pages, "page_size": PAGE_SIZE, "columns": list(figure.columns),
        "rows": [{c: r[c] for c in figure.columns} | {"value": figure.value(r)} for r in shown],
    }


# ----------------------------------------------------------------------------- routes


def _page(request: Request[Any, Any, Any]) -> int:
    raw = request.query_params.get("page") or "1"
    if not raw.isdigit() or not 1 <= int(raw) <= 1_000_000:
        raise ProtocolError(400, "invalid_args", "页码应为正整数", "page must be a positive number",
                            field="page")
    return int(raw)


async def view_of_request(request: Request[Any, Any, Any], conn: AsyncConnection, grant: Grant
                          ) -> View:
    params = request.query_params
    return await resolve_view(
        conn, grant, district=params.get("district") or None,
        station=params.get("station") or None,
        start=query_day(params.get("from"), "from"), end=query_day(params.get("to"), "to"))


NO_STORE = {"Cache-Control": "no-store"}


@get("/api/v1/dashboard", security=TOKEN, tags=["dashboard"],
     summary="The dashboard's figures for a place and period",
     description="`?district=`, `?station=` choose the place (default: the caller's own), "
                 "`?from=`/`?to=` (YYYY-MM-DD) the period (default: this year). Managers "
                 "and up; every figure's rows open with `/api/v1/dashboard/rows`.",
     responses={**answer("figures, charts (SVG) and the places the caller may choose"),
                **errors(400, 401, 403, 404)})
async def dashboard_route(request: Request[Any, Any, Any]) -> Response[Any]:
    state = state_of(request)
    grant = await resolve_grant(state.db, request.headers.get("authorization"))
    manager_grant(grant)
    async with state.db.read() as conn:
        view = await view_of_request(request, conn, grant)
        figures = await figures_of(conn, view)
        places = await places_for(conn, grant)
    return Response({
        "view": view.label(), "places": places, "figures": figures, "charts": _charts(figures),
        "pending": {k: {"zh": zh, "en": en} for k, (zh, en) in PENDING.items()},
    }, headers=NO_STORE)


@get("/api/v1/dashboard/rows", security=TOKEN, tags=["dashboard"],
     summary="The ledger rows behind one dashboard figure (paginated)",
     description="`?figure=` names the figure, `?key=` its group (`*` for its total), "
                 "`?page=` the page (50 rows); place and period as for the dashboard.",
     responses={**answer("one page of rows and their sum over all pages"),
                **errors(400, 401, 403, 404)})
async def rows_route(request: Request[Any, Any, Any]) -> Response[Any]:
    state = state_of(request)
    grant = await resolve_grant(state.db, request.headers.get("authorization"))
    manager_grant(grant)
    name = request.query_params.get("figure") or ""
    key = request.query_params.get("key") or ALL
    page = _page(request)
    async with state.db.read() as conn:
        view = await view_of_request(request, conn, grant)
        body = await drill_down(conn, view, name, key, page)
    return Response({"view": view.label(), **body}, headers=NO_STORE)


ROUTES = [dashboard_route, rows_route]

__all__ = [
    "ALL", "BY_NAME", "FIGURES", "PAGE_SIZE", "ROUTES", "SOURCES", "Figure", "View",
    "drill_down", "figures_of", "load_sources", "places_for", "resolve_view",
]
