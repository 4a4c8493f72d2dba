"""Turn outbox rows into inbox records and push deliveries, and raise the timed alerts.

Each step is one short write transaction: the outbox rows it claims, the inbox
records (with their change-feed rows, so phones pull them) and the delivery rows
commit together, so a crash before the commit leaves the outbox row pending and
a crash after it leaves nothing to redo. On PostgreSQL the rows are claimed with
``FOR UPDATE SKIP LOCKED`` so several workers share the work without overlap.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, delete, func, insert, or_, select, text, update

from server.domain.people import memberships
from server.domain.stations import stations
from server.notify.kinds import KINDS, RESOLVE, Content, Kind
from server.notify.tables import (
    hours_waiting,
    notification_prefs,
    notifications,
    notify_marks,
    notify_outbox,
    push_deliveries,
    push_subscriptions,
)
from server.notify.vapid import current_key
from server.state import AppState
from sync.ids import uuid7
from sync.tables import clients, device_tokens
from sync.timeutil import iso
from sync.unit import Tx
from sync.write import run_unit

BATCH = 100
CHECK_LOCK = 72_410_006
"""PostgreSQL advisory lock: one worker at a time runs the timed checks."""


@dataclass
class Prefs:
    muted_kinds: frozenset[str] = frozenset()
    stations: frozenset[str] | None = None
    quiet_start: str | None = None
    quiet_end: str | None = None
    push_enabled: bool = True

    @classmethod
    def from_row(cls, row: Mapping[str, Any] | None) -> Prefs:
        if row is None:
            return cls()
        stations = json.loads(row["stations"]) if row["stations"] else None
        return cls(
            muted_kinds=frozenset(json.loads(row["muted_kinds"] or "[]")),
            stations=frozenset(stations) if stations is not None else None,
            quiet_start=row["quiet_start"],
            quiet_end=row["quiet_end"],
            push_enabled=bool(row["push_enabled"]),
        )

    def wants(self, kind: str, station: str | None) -> bool:
        if kind in self.muted_kinds:
            return False
        return self.stations is None or station is None or station in self.stations


def quiet_until(prefs: Prefs, now: dt.datetime, zone: ZoneInfo) -> dt.datetime | None:
    """The end of the quiet hours ``now`` falls in (UTC), or None when it is not quiet.
    Quiet hours may wrap midnight (22:00 to 07:00)."""
    if not prefs.quiet_start or not prefs.quiet_end or prefs.quiet_start == prefs.quiet_end:
        return None
    local = now.astimezone(zone)
    start = dt.time.fromisoformat(prefs.quiet_start)
    end = dt.time.fromisoformat(prefs.quiet_end)
    clock = local.time()
    if start < end:
        quiet = start <= clock < end
        end_day = local.date()
    else:
        quiet = clock >= start or clock < end
        end_day = local.date() if clock < end else local.date() + dt.timedelta(days=1)
    if not quiet:
        return None
    return dt.datetime.combine(end_day, end, tzinfo=zone).astimezone(dt.UTC)


@dataclass
class Expanded:
    outbox_rows: int = 0
    notifications: int = 0
    deliveries: int = 0


class _Lookups:
    """What one expansion batch reads about its rows, read once for the batch (a charity
    day's outbox is hundreds of rows about one station): station names, recipients,
    preferences, push subscriptions and settled subjects. The batch's transaction sees
    them unchanged, so a cache per batch answers as the table would."""

    def __init__(self, conn: Any, key_id: int | None) -> None:
        self.conn = conn
        self.key_id = key_id
        self.station_names: dict[str, str] = {}
        self._recipients: dict[tuple[bool, bool, bool, str | None, str | None], set[str]] = {}
        self._prefs: dict[str, Prefs] = {}
        self._subscriptions: dict[str, list[str]] = {}
        self.resolved: set[str] = set()
        """Subjects marked ``resolved:`` before this batch (of the subjects asked about)."""

    async def load_stations(self, codes: set[str]) -> None:
        wanted = sorted(codes - set(self.station_names))
        if wanted:
            for code, name in await self.conn.execute(
                    select(stations.c.code, stations.c.name).where(stations.c.code.in_(wanted))):
                if name:
                    self.station_names[str(code)] = str(name)

    async def load_resolved(self, subjects: set[str]) -> None:
        keys = sorted({f"resolved:{subject}"[:150] for subject in subjects})
        for start in range(0, len(keys), 500):
            for (key,) in await self.conn.execute(
                    select(notify_marks.c.key).where(notify_marks.c.key.in_(keys[start:start + 500]))):
                self.resolved.add(str(key))

    def is_resolved(self, subject: str) -> bool:
        return f"resolved:{subject}"[:150] in self.resolved

    async def recipients(self, kind: Kind, station: str | None, district: str | None,
                         exclude: Sequence[str]) -> list[str]:
        """Active managers of the station and district managers of the district (from
        their memberships, docs/accounts.md); everyone at the station for a kind that
        says so."""
        station_people = bool(station and kind.station_people)
        station_managers = bool(station and not station_people and kind.station_managers)
        district_managers = bool(district and (kind.district_managers or not station))
        found_key = (station_people, station_managers, district_managers, station, district)
        found = self._recipients.get(found_key)
        if found is None:
            m = memberships.c
            wanted = []
            if station_people:
                wanted.append(m.station == station)
            elif station_managers:
                wanted.append(and_(m.role == "manager", m.station == station))
            if district_managers:
                wanted.append(and_(m.role == "district_manager", m.district == district))
            found = set()
            if wanted:
                found = {str(r[0]) for r in await self.conn.execute(
                    select(m.user_id).where(m.ended_at.is_(None), or_(*wanted)).distinct())}
            self._recipients[found_key] = found
        return sorted(found - set(exclude))

    async def people(self, users: list[str]) -> tuple[dict[str, Prefs], dict[str, list[str]]]:
        """Preferences and push subscriptions (of the current key) of ``users``."""
        missing = [u for u in users if u not in self._prefs]
        if missing:
            for u in missing:
                self._prefs[u] = Prefs()
                self._subscriptions[u] = []
            for r in (await self.conn.execute(
                    select(notification_prefs).where(notification_prefs.c.user_id.in_(missing)))).mappings():
                self._prefs[str(r["user_id"])] = Prefs.from_row(r)
            if self.key_id is not None:
                for sub in await self.conn.execute(
                    select(push_subscriptions.c.id, push_subscriptions.c.user_id).where(
                        push_subscriptions.c.user_id.in_(missing),
                        push_subscriptions.c.stale_reason.is_(None),
                        push_subscriptions.c.vapid_key_id == self.key_id,
                    )
                ):
                    self._subscriptions[str(sub.user_id)].append(str(sub.id))
        return self._prefs, self._subscriptions


async def _repeat_suppressed(conn: Any, key: str, now: dt.datetime, hours: int) -> bool:
    """True when ``key`` was alerted less than ``hours`` ago; otherwise remember now."""
    row = (await conn.execute(select(notify_marks.c.value).where(notify_marks.c.key == key))).first()
    if row is not None and row[0] > iso(now - dt.timedelta(hours=hours)):
        return True
    await _set_mark(conn, key, iso(now), now)
    return False


async def _set_mark(conn: Any, key: str, value: str, now: dt.datetime) -> None:
    await conn.execute(delete(notify_marks).where(notify_marks.c.key == key))
    await conn.execute(insert(notify_marks).values(key=key, value=value, updated_at=iso(now)))


def _claim(stmt: Any, state: AppState, of: Any) -> Any:
    return stmt.with_for_update(skip_locked=True, of=of) if state.db.is_postgres else stmt


async def expand_outbox(state: AppState, now: dt.datetime) -> Expanded:
    """Process up to ``BATCH`` pending outbox rows in one transaction."""
    async with state.db.read() as conn:
        if (await conn.execute(
            select(notify_outbox.c.id).where(notify_outbox.c.state == "pending").limit(1)
        )).first() is None:
            return Expanded()
    settings = state.settings
    zone = ZoneInfo(settings.notify_timezone)

    async def work(tx: Tx) -> Expanded:
        conn = tx.conn
        rows = (await conn.execute(_claim(
            select(notify_outbox).where(notify_outbox.c.state == "pending")
            .order_by(notify_outbox.c.id).limit(BATCH), state, notify_outbox,
        ))).mappings().all()
        done = Expanded(outbox_rows=len(rows))
        if not rows:
            return done
        key = await current_key(conn)
        lookups = _Lookups(conn, key.id if key else None)
        deliveries: list[dict[str, Any]] = []
        stamp = iso(now)
        # Settled in this very batch: its notification (staged, not yet in the table the
        # resolve step reads) is not made at all.
        settled = {str(subject) for row in rows if row["kind"] == RESOLVE
                   for subject in json.loads(row["data"]).get("subjects") or []}
        decoded = [json.loads(row["data"]) for row in rows]
        await lookups.load_stations({str(row["station"]) for row, data in zip(rows, decoded)
                                     if row["station"] and "station_name" not in data})
        contents: list[Content | None] = []
        for row, data in zip(rows, decoded):
            kind = KINDS.get(row["kind"])
            if kind is None or row["kind"] == RESOLVE:
                contents.append(None)
                continue
            if row["station"] and "station_name" not in data:
                data["station_name"] = lookups.station_names.get(row["station"], row["station"])
            contents.append(kind.build(data))
        await lookups.load_resolved({c.subject for c in contents if c is not None and c.subject})
        outcomes: dict[str, list[int]] = {}
        for row, data, content in zip(rows, decoded, contents):
            kind = KINDS.get(row["kind"])
            outcome = "done"
            if row["kind"] == RESOLVE:
                await _resolve(conn, tx, [str(x) for x in data.get("subjects") or []], now)
            elif kind is None or content is None:
                outcome = "unknown_kind"
            elif kind.name == "fund.low" and await _repeat_suppressed(
                conn, f"fund_low:{data.get('fund_id')}", now, settings.notify_fund_low_repeat_hours
            ):
                outcome = "suppressed"
            else:
                made = await _fan_out(lookups, tx, kind, content, row, data, now, zone, settled)
                done.notifications += made[0]
                deliveries.extend(made[1])
            outcomes.setdefault(outcome, []).append(int(row["id"]))
        for outcome, ids in outcomes.items():
            await conn.execute(update(notify_outbox).where(notify_outbox.c.id.in_(ids))
                               .values(state=outcome, processed_at=stamp))
        if deliveries:
            await conn.execute(insert(push_deliveries), deliveries)
        done.deliveries = len(deliveries)
        return done

    return await run_unit(state.db, state.registry, state.pokes, work)


async def _fan_out(
    lookups: _Lookups, tx: Tx, kind: Kind, content: Content, row: Mapping[Any, Any],
    data: Mapping[str, Any], now: dt.datetime, zone: ZoneInfo, settled: set[str],
) -> tuple[int, list[dict[str, Any]]]:
    station, district = row["station"], row["district"]
    if content.subject and (content.subject in settled or lookups.is_resolved(content.subject)):
        return 0, []  # settled before it could be announced: nobody needs to act
    if kind.named_in is not None:
        named = data.get(kind.named_in)
        people = named if isinstance(named, list | tuple) else [named]
        users = sorted({str(u) for u in people if u} - set(content.exclude_users))
    else:
        users = await lookups.recipients(kind, station, district, content.exclude_users)
    if not users:
        return 0, []
    prefs, subscriptions = await lookups.people(users)
    stamp = iso(now)
    topic = kind.topic(content.collapse)
    made = 0
    deliveries: list[dict[str, Any]] = []
    for user in users:
        pref = prefs.get(user, Prefs())
        if not pref.wants(kind.name, station):
            continue
        notification_id = uuid7()
        tx.insert("notification", {
            "id": notification_id, "user_id": user, "kind": kind.name, "station": station,
            "district": district,
            "title": json.dumps(dict(zip(("zh", "en"), content.title)), ensure_ascii=False),
            "body": json.dumps(dict(zip(("zh", "en"), content.body)), ensure_ascii=False),
            "url": content.url[:300],
            "target": json.dumps(content.target, ensure_ascii=False, default=str),
            "created_at": stamp, "read_at": None, "deleted_at": None,
            "subject": content.subject, "resolved_at": None,
        })
        tx.keep_frame()
        made += 1
        if not pref.push_enabled:
            continue
        later = quiet_until(pref, now, zone)
        for subscription_id in subscriptions.get(user, []):
            deliveries.append({
                "notification_id": notification_id, "subscription_id": subscription_id,
                "kind": kind.name, "topic": topic, "state": "pending", "attempts": 0,
                "next_attempt_at": iso(later) if later else stamp, "lease_until": None,
                "last_status": None, "last_error": None, "created_at": stamp, "sent_at": None,
            })
    return made, deliveries


async def _resolve(conn: Any, tx: Tx, subjects: list[str], now: dt.datetime) -> None:
    """Mark every inbox notification about ``subjects`` resolved (and read): the inbox
    moves them to its "done" part on every phone of the recipient."""
    if not subjects:
        return
    stamp = iso(now)
    for subject in subjects:
        await _set_mark(conn, f"resolved:{subject}"[:150], stamp, now)
    ids = [str(r[0]) for r in await conn.execute(
        select(notifications.c.id).where(notifications.c.subject.in_(subjects),
                                         notifications.c.resolved_at.is_(None))
    )]
    await tx.preload("notification", ids)
    for notification_id in ids:
        row = await tx.get("notification", notification_id)
        if row is None:
            continue
        tx.update("notification", notification_id,
                  {"resolved_at": stamp, "read_at": row["read_at"] or stamp})
        tx.keep_frame()


# -- timed alerts ------------------------------------------------------------------------


def _outbox_row(kind: str, station: str | None, district: str | None,
                data: Mapping[str, Any], now: dt.datetime) -> dict[str, Any]:
    return {"kind": kind, "station": station, "district": district,
            "data": json.dumps(dict(data), ensure_ascii=False, default=str),
            "created_at": iso(now), "state": "pending", "processed_at": None}


async def _check_lock(state: AppState, conn: Any) -> bool:
    if not state.db.is_postgres:
        return True
    return bool((await conn.execute(
        text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": CHECK_LOCK}
    )).scalar_one())


async def check_hours_waiting(state: AppState, now: dt.datetime) -> int:
    """One ``hours.waiting`` outbox row per station whose submitted hours waited too long."""
    hours = state.settings.notify_hours_waiting_hours
    cutoff = iso(now - dt.timedelta(hours=hours))
    due = and_(hours_waiting.c.decided_at.is_(None), hours_waiting.c.reminded_at.is_(None),
               hours_waiting.c.submitted_at <= cutoff)
    async with state.db.read() as conn:
        if (await conn.execute(select(hours_waiting.c.log_id).where(due).limit(1))).first() is None:
            return 0

    async def work(conn: Any) -> int:
        if not await _check_lock(state, conn):
            return 0
        rows = (await conn.execute(
            select(hours_waiting).where(due).order_by(hours_waiting.c.submitted_at).limit(1000)
        )).mappings().all()
        by_station: dict[tuple[str | None, str | None], list[Mapping[str, Any]]] = {}
        for row in rows:
            by_station.setdefault((row["station"], row["district"]), []).append(row)
        outbox = [
            _outbox_row("hours.waiting", station, district, {
                "station": station, "district": district, "count": len(logs), "hours": hours,
                "log_ids": [r["log_id"] for r in logs], "oldest": logs[0]["submitted_at"],
            }, now)
            for (station, district), logs in by_station.items()
        ]
        if outbox:
            await conn.execute(insert(notify_outbox), outbox)
            await _mark_reminded(conn, [r["log_id"] for r in rows], iso(now))
        return len(outbox)

    return int(await state.db.run_write(work))


async def _mark_reminded(conn: Any, log_ids: Sequence[str], stamp: str) -> None:
    for start in range(0, len(log_ids), 500):
        await conn.execute(
            update(hours_waiting).where(hours_waiting.c.log_id.in_(log_ids[start:start + 500]))
            .values(reminded_at=stamp)
        )


async def check_stale_phones(state: AppState, now: dt.datetime) -> int:
    """A station phone holding unsynced work and unheard of for too long: one alert per
    silence (a phone that syncs and falls silent again is a new silence)."""
    hours = state.settings.notify_stale_phone_hours
    cutoff = iso(now - dt.timedelta(hours=hours))
    mark_key = func.concat("stale:", clients.c.client_id) if state.db.is_postgres else (
        "stale:" + clients.c.client_id)
    query = (
        select(clients.c.client_id, clients.c.user_id, clients.c.pending_count,
               clients.c.last_seen_at, memberships.c.station,
               func.coalesce(stations.c.district, memberships.c.district).label("district"),
               notify_marks.c.value.label("alerted_for"))
        .select_from(
            clients.join(device_tokens, device_tokens.c.id == clients.c.token_id)
            .join(memberships, and_(memberships.c.user_id == device_tokens.c.user_id,
                                    memberships.c.ended_at.is_(None),
                                    memberships.c.station.is_not(None)))
            .outerjoin(stations, stations.c.code == memberships.c.station)
            .outerjoin(notify_marks, notify_marks.c.key == mark_key)
        )
        .where(clients.c.pending_count > 0, clients.c.last_seen_at <= cutoff,
               device_tokens.c.revoked_at.is_(None),
               or_(notify_marks.c.value.is_(None), notify_marks.c.value != clients.c.last_seen_at))
        .limit(500)
    )
    async with state.db.read() as conn:
        if not (await conn.execute(query)).first():
            return 0

    async def work(conn: Any) -> int:
        if not await _check_lock(state, conn):
            return 0
        rows = (await conn.execute(query)).mappings().all()
        for row in rows:
            await _set_mark(conn, f"stale:{row['client_id']}", row["last_seen_at"], now)
        if rows:
            await conn.execute(insert(notify_outbox), [
                _outbox_row("phone.stale", row["station"], row["district"], {
                    "client_id": row["client_id"], "user_id": row["user_id"],
                    "pending": row["pending_count"], "last_seen_at": row["last_seen_at"],
                    "hours": hours, "station": row["station"], "district": row["district"],
                }, now)
                for row in rows
            ])
        return len(rows)

    return int(await state.db.run_write(work))


async def forget_old(state: AppState, now: dt.datetime) -> None:
    """Processed outbox rows and finished deliveries are only history: keep them a while."""
    cutoff = iso(now - dt.timedelta(days=state.settings.notify_keep_days))

    async def work(conn: Any) -> None:
        await conn.execute(delete(notify_outbox).where(
            notify_outbox.c.state != "pending", notify_outbox.c.processed_at < cutoff))
        await conn.execute(delete(push_deliveries).where(
            push_deliveries.c.state.in_(("sent", "failed", "gone", "skipped")),
            push_deliveries.c.created_at < cutoff))
        await conn.execute(delete(notify_marks).where(
            notify_marks.c.key.like("resolved:%"), notify_marks.c.updated_at < cutoff))

    await state.db.run_write(work)
