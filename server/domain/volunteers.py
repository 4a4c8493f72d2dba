"""Volunteers, service activities and hour logs: check in and out offline, staff
approval, overlaps held for review, and the sweep that closes forgotten logs.

Every hour-log mutator holds the volunteer's profile (locked on PostgreSQL) before
it touches the volunteer's logs, so two phones pushing logs of one volunteer at once
are serialised and the second always sees the first when it looks for overlaps. The
profile comes first in the server's lock order (docs/architecture.md, "Lock order"):
each mutator declares a lock plan (``locks_first``) that makes the batch preload lock
the profile before the log it names, and approvals lock the Time Bank rows they will
move with it, so a manager approving while the volunteer's phone checks in or out
waits instead of deadlocking.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, Integer, String, Table, Text, select

from schemas.events import HoursDecided, HoursSubmitted
from schemas.timebank import (
    ActivityCreateArgs,
    HourLogRecord,
    HoursApproveArgs,
    HoursCheckInArgs,
    HoursCheckInV2Args,
    HoursCheckOutArgs,
    HoursEditArgs,
    HoursManualArgs,
    HoursRejectArgs,
    HoursReverseArgs,
    ServiceActivityRecord,
    VolunteerCardRecord,
    VolunteerRecord,
    VolunteerRegisterArgs,
    VolunteerUpdateArgs,
)
from server.domain import timebank, volunteer_codes
from server.domain.access import live_station, require_rank, station_for
from server.settings import Settings
from sync.builtin import resolve_issues
from sync.db import Database, HotSql
from sync.errors import Rejected, already_exists, forbidden, not_found
from sync.hlc import HybridLogicalClock
from sync.merge import edited_fields, encode_meta, flag_conflict, merge_edit, wire_field_hlc
from sync.pokes import PokeSink
from sync.push import Peek, locks_first
from sync.registry import RecordType, Registry
from sync.scopes import STAFF, Grant, Scope
from sync.tables import metadata
from sync.timeutil import iso, now_iso
from sync.unit import MutationContext, Tx
from sync.write import run_unit


@dataclass(frozen=True)
class HoursRules:
    """Limits on service sessions (``CHARITY_HOURS_*`` settings)."""

    open_cap_hours: float = 12
    """A log left open this long is closed at check-in + cap and flagged."""
    max_session_hours: float = 24
    """A longer session is refused."""
    clock_tolerance_minutes: float = 10
    """A device time this far after the server's receipt time means the clock is ahead."""
    late_sync_hours: float = 72
    """A device time this far before receipt: a very late sync or a clock far behind."""
    scan_backdate_hours: float = 72
    """A staff check-in whose device time is further before receipt is refused."""
    code_days: float = 7
    """Lifetime of a volunteer's signed code."""

    @classmethod
    def from_settings(cls, settings: Settings) -> HoursRules:
        return cls(
            open_cap_hours=settings.hours_open_cap_hours,
            max_session_hours=settings.hours_max_session_hours,
            clock_tolerance_minutes=settings.hours_clock_tolerance_minutes,
            late_sync_hours=settings.hours_late_sync_hours,
            scan_backdate_hours=settings.hours_scan_backdate_hours,
            code_days=settings.volunteer_code_days,
        )


volunteers = Table(
    "volunteers",
    metadata,
    Column("user_id", String(64), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("phone", String(32), nullable=True),
    Column("skills", Text, nullable=False),
    Column("stations", Text, nullable=False),
    Column("station", String(32), nullable=False, index=True),
    Column("district", String(100), nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("updated_at", String(32), nullable=False),
    Column("field_meta", Text, nullable=False),
)

volunteer_cards = Table(
    "volunteer_cards",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("user_id", String(64), nullable=False, index=True),
    Column("station", String(32), nullable=False),
    Column("district", String(100), nullable=False),
    Column("name", String(100), nullable=False),
    Column("phone", String(32), nullable=True),
    Column("skills", Text, nullable=False),
    Column("updated_at", String(32), nullable=False),
    Column("deleted_at", String(32), nullable=True),
)
"""A volunteer as staff of a station they serve, other than the home station, see them."""

service_activities = Table(
    "service_activities",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("station", String(32), nullable=False, index=True),
    Column("district", String(100), nullable=False),
    Column("event_id", String(36), nullable=True),
    Column("project_id", String(64), nullable=True),
    Column("service_type", String(32), nullable=False),
    Column("title", String(200), nullable=False),
    Column("date", String(10), nullable=False),
    Column("notes", Text, nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("created_at", String(32), nullable=False),
)

hour_logs = Table(
    "hour_logs",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("volunteer_id", String(64), nullable=False, index=True),
    Column("activity_id", String(36), nullable=False),
    Column("station", String(32), nullable=False, index=True),
    Column("district", String(100), nullable=False),
    Column("service_type", String(32), nullable=False),
    Column("status", String(16), nullable=False),
    Column("source", String(16), nullable=False),
    Column("recorded_by", String(64), nullable=False),
    Column("check_in_at", String(32), nullable=False),
    Column("check_out_at", String(32), nullable=True),
    Column("device_check_in_at", String(40), nullable=False),
    Column("device_check_out_at", String(40), nullable=True),
    Column("received_check_in_at", String(32), nullable=False),
    Column("received_check_out_at", String(32), nullable=True),
    Column("note", Text, nullable=False),
    Column("flags", Text, nullable=False),
    Column("overlaps", Text, nullable=False),
    Column("submitted_at", String(32), nullable=True),
    Column("decided_by", String(64), nullable=True),
    Column("decided_at", String(32), nullable=True),
    Column("decision_reason", Text, nullable=True),
    Column("approved_minutes", Integer, nullable=True),
    Column("credited_cents", Integer, nullable=True),
    Column("created_at", String(32), nullable=False),
    Column("updated_at", String(32), nullable=False),
    Column("field_meta", Text, nullable=False),
    Column("handled_by", Text, nullable=False, server_default="[]"),
)
"""``handled_by``: everyone who created, checked in or out, or changed the times of a log
(JSON list of user ids). None of them, nor the volunteer, may approve it (docs/security.md,
"Separation of duties")."""

VOLUNTEER_EDITABLE = ("name", "phone", "skills", "stations")
LOG_EDITABLE = ("check_in_at", "check_out_at", "note")
LOG_MATTERS = frozenset({"check_in_at", "check_out_at", "note"})
"""The times decide credits; the note is free text a manager must not lose unseen."""
LIVE = ("open", "submitted", "approved")
"""Statuses of logs that count: a rejected or reversed log overlaps nothing."""


# -- time ----------------------------------------------------------------------------------


def parse_time(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value).astimezone(dt.UTC)


def normal_time(value: str) -> str:
    """Device times in one sortable form (UTC, milliseconds, ``Z``)."""
    return iso(parse_time(value))


def session_minutes(check_in_at: str, check_out_at: str) -> int:
    return int((parse_time(check_out_at) - parse_time(check_in_at)).total_seconds() // 60)


def _check_session(rules: HoursRules, check_in_at: str, check_out_at: str) -> list[str]:
    """Refuse impossible sessions; return flags for ones staff should look at."""
    start, end = parse_time(check_in_at), parse_time(check_out_at)
    if end <= start:
        raise Rejected(
            "check_out_before_check_in", "签退时间必须晚于签到时间",
            "check-out must be after check-in", field="check_out_at",
        )
    hours = (end - start).total_seconds() / 3600
    if hours > rules.max_session_hours:
        raise Rejected(
            "session_too_long",
            f"单次服务不能超过 {rules.max_session_hours:g} 小时(此次 {hours:.1f} 小时)",
            f"a session cannot exceed {rules.max_session_hours:g} hours (this one: {hours:.1f})",
            field="check_out_at",
        )
    return ["long_session"] if hours > rules.open_cap_hours else []


def _clock_flags(rules: HoursRules, ctx: MutationContext, device_time: str) -> list[str]:
    """Compare a device's time with the server's receipt time."""
    lead = (parse_time(device_time) - parse_time(ctx.now)).total_seconds()
    if lead > rules.clock_tolerance_minutes * 60:
        return ["clock_ahead"]
    if -lead > rules.late_sync_hours * 3600:
        return ["late_sync"]
    return []


FLAG_MESSAGES = {
    "overlap": ("该志愿者在同一时间已有另一条服务记录,已标记待工作人员审核,不会重复计分",
                ("this volunteer already has a log overlapping this time; flagged for staff "
                 "review, it will not be credited twice")),
    "clock_ahead": ("设备时间比服务器快,记录已保留待审核",
                    "the device clock is ahead of the server's; kept for review"),
    "late_sync": ("设备时间比服务器接收时间早很多(长时间离线或时钟落后),已标记待审核",
                  ("the device time is long before the server received it (long offline or a "
                   "clock behind); flagged for review")),
    "long_session": ("服务时长超过常规上限,已标记待审核",
                     "the session is longer than the usual cap; flagged for review"),
    "backdated": ("工作人员为其他站点的志愿者签到,且签到时间比服务器收到时早,已标记待审核",
                  ("staff checked in another station's volunteer with a device time well before "
                   "the server received it; flagged for review")),
}


def _flag_all(ctx: MutationContext, flags: list[str], log_id: str) -> None:
    """Hold the mutation for review; deciding the log (approve, reject) settles it."""
    for code in flags:
        if code in FLAG_MESSAGES:
            ctx.flag(f"hours_{code}", *FLAG_MESSAGES[code], subject=f"hour_log:{log_id}")


def _merged(existing: list[str], new: list[str]) -> list[str]:
    return list(dict.fromkeys([*existing, *new]))


# -- lock plans (what the batch preload locks first, in the server's lock order) -----------


async def _locks_for_new_log(peek: Peek, grant: Grant, args: Any) -> list[tuple[str, str]]:
    """check-in, manual entry: the profile of whoever the log is for."""
    return [("volunteer", args.volunteer_id or grant.user_id)]


async def _locks_for_check_in_v2(peek: Peek, grant: Grant, args: Any) -> list[tuple[str, str]]:
    """check-in@2: the profile of the code's user (read unchecked here; checked by the mutator)."""
    target = args.volunteer_id or grant.user_id
    if args.volunteer_code is not None:
        try:
            target = volunteer_codes.parse(args.volunteer_code)[2].user_id
        except volunteer_codes.CodeError:
            pass
    return [("volunteer", target)]


async def _locks_for_log(peek: Peek, grant: Grant, args: Any) -> list[tuple[str, str]]:
    """check-out, edit, reject: the log's volunteer's profile (before the log itself)."""
    log = await peek("hour_log", args.id)
    return [] if log is None else [("volunteer", log["volunteer_id"])]


async def _locks_for_decision(peek: Peek, grant: Grant, args: Any) -> list[tuple[str, str]]:
    """approve, reverse: the profile, the station's rate and both Time Bank accounts."""
    log = await peek("hour_log", args.id)
    if log is None:
        return []
    return [
        ("volunteer", log["volunteer_id"]),
        ("timebank_rate", f"{log['station']}:{log['service_type']}"),
        ("timebank_account", timebank.bank_account_id(log["station"])),
        ("timebank_account", timebank.volunteer_account_id(log["volunteer_id"])),
    ]


async def _locks_for_profile(peek: Peek, grant: Grant, args: Any) -> list[tuple[str, str]]:
    """register, update: the stations served (before the profile) and the account."""
    stations = getattr(args, "stations", None)
    if stations is None:
        stations = getattr(getattr(args, "fields", None), "stations", None)
    codes = list(stations) if isinstance(stations, list) else []
    return [*(("station", code) for code in codes),
            ("timebank_account", timebank.volunteer_account_id(args.user_id))]


# -- volunteers ----------------------------------------------------------------------------


async def _served_stations(tx: Tx, codes: list[str]) -> dict[str, Any]:
    """Every station must exist; returns the home (first) station's row."""
    rows = [await live_station(tx, code, field="stations") for code in codes]
    return rows[0]


@locks_first(_locks_for_profile)
async def register_volunteer(tx: Tx, ctx: MutationContext, args: VolunteerRegisterArgs) -> None:
    home = await _served_stations(tx, args.stations)
    if args.user_id != ctx.user_id:
        require_rank(ctx, STAFF, home["code"], home["district"])
    if len(timebank.volunteer_account_id(args.user_id)) > 64:
        raise Rejected("invalid_args", "用户编号过长(最多 60 个字符)", "user id too long (60 characters at most)",
                       field="user_id")
    if await tx.get("volunteer", args.user_id) is not None:
        raise already_exists("志愿者", "volunteer", args.user_id, field="user_id")
    row = {
        "user_id": args.user_id, "name": args.name, "phone": args.phone,
        "skills": json.dumps(args.skills, ensure_ascii=False),
        "stations": json.dumps(list(dict.fromkeys(args.stations))),
        "station": home["code"], "district": home["district"], "created_by": ctx.user_id,
        "created_at": ctx.now, "updated_at": ctx.now,
        "field_meta": encode_meta({name: [ctx.hlc, ctx.user_id] for name in VOLUNTEER_EDITABLE}),
    }
    tx.insert("volunteer", row)
    await timebank.open_volunteer_account(tx, ctx, row)
    await _sync_cards(tx, ctx, [], row)


def card_id(user_id: str, station: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"volunteer-card:{station}:{user_id}"))


async def _sync_cards(
    tx: Tx, ctx: MutationContext, old_stations: list[str], volunteer: Mapping[str, Any]
) -> None:
    """One card per served station other than home, kept equal to the profile; a card of
    a station no longer served becomes a tombstone (removed from that station's phones)."""
    served = json.loads(volunteer["stations"])[1:]
    for code in dict.fromkeys([*old_stations, *served]):
        ident = card_id(volunteer["user_id"], code)
        card = await tx.get("volunteer_card", ident)
        if code not in served:
            if card is not None and card["deleted_at"] is None:
                tx.update("volunteer_card", ident, {"deleted_at": ctx.now, "updated_at": ctx.now})
            continue
        values = {"name": volunteer["name"], "phone": volunteer["phone"], "skills": volunteer["skills"],
                  "updated_at": ctx.now, "deleted_at": None}
        if card is None:
            station = await live_station(tx, code, field="stations")
            tx.insert("volunteer_card", {"id": ident, "user_id": volunteer["user_id"], "station": code,
                                         "district": station["district"], **values})
        else:
            tx.update("volunteer_card", ident, values)


async def _volunteer(tx: Tx, user_id: str, field: str = "volunteer_id") -> dict[str, Any]:
    """The profile, locked on PostgreSQL: serialises everything about one volunteer."""
    volunteer = await tx.get("volunteer", user_id)
    if volunteer is None:
        raise Rejected("not_a_volunteer", f"{user_id} 不是已登记的志愿者",
                       f"{user_id} is not a registered volunteer", field=field)
    return volunteer


@locks_first(_locks_for_profile)
async def update_volunteer(tx: Tx, ctx: MutationContext, args: VolunteerUpdateArgs) -> None:
    volunteer = await _volunteer(tx, args.user_id, field="user_id")
    if args.user_id != ctx.user_id:
        require_rank(ctx, STAFF, volunteer["station"], volunteer["district"])
    edits = edited_fields(args.fields)
    for name in ("skills", "stations"):  # stored as JSON text, compared as such
        if name in edits:
            edits[name] = json.dumps(list(dict.fromkeys(edits[name])), ensure_ascii=False)
    outcome = merge_edit(
        tx, ctx, record_type="volunteer", record_id=args.user_id, current=volunteer, edits=edits,
        base=args.base, matters=frozenset({"phone", "name"}), station=volunteer["station"],
        district=volunteer["district"],
    )
    values = {**outcome.applied, "field_meta": encode_meta(outcome.field_meta), "updated_at": ctx.now}
    if "stations" in outcome.applied:
        home = await _served_stations(tx, json.loads(outcome.applied["stations"]))
        values.update(station=home["code"], district=home["district"])
    tx.update("volunteer", args.user_id, values)
    await timebank.move_account_home(tx, ctx, {**volunteer, **values})
    await _sync_cards(tx, ctx, json.loads(volunteer["stations"]), {**volunteer, **values})
    if outcome.conflict_ids:
        flag_conflict(ctx, "volunteer", args.user_id)


# -- service activities --------------------------------------------------------------------


async def create_activity(tx: Tx, ctx: MutationContext, args: ActivityCreateArgs) -> None:
    station = await station_for(tx, ctx, args.station)
    if await tx.get("service_activity", args.id) is not None:
        raise already_exists("服务活动", "service activity", args.id)
    if args.event_id is not None:
        event = await tx.get("event", args.event_id)
        if event is None or event["deleted_at"] or event["station"] != args.station:
            raise not_found("本站活动", "event of this station", args.event_id, field="event_id")
    tx.insert("service_activity", {
        "id": args.id, "station": args.station, "district": station["district"],
        "event_id": args.event_id, "project_id": args.project_id,
        "service_type": args.service_type, "title": args.title, "date": args.date,
        "notes": args.notes, "created_by": ctx.user_id, "created_at": ctx.now,
    })


# -- hour logs: overlaps -------------------------------------------------------------------


def _interval(rules: HoursRules, log: Mapping[str, Any]) -> tuple[dt.datetime, dt.datetime]:
    """An open log counts as running until the cap."""
    start = parse_time(log["check_in_at"])
    if log["check_out_at"]:
        return start, parse_time(log["check_out_at"])
    return start, start + dt.timedelta(hours=rules.open_cap_hours)


OVERLAP_REACH_HOURS = 24 * 7
"""How far back before a log's start the overlap check looks for logs still running then
(or the longest session the settings allow, if longer)."""


async def _overlapping(tx: Tx, rules: HoursRules, log: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Live logs of the same volunteer whose time overlaps this log's (each read with
    ``tx.get``, so locked: they are about to point back at this one).

    The volunteer's logs as written so far come from the table without writing the batch
    out first (``Tx.query_unflushed``), and this batch's own, not yet written, from
    ``Tx.staged_where``: a batch of a charity day's hour logs is then still written in a few
    statements at its end, not row by row before each log's check (as it was)."""
    volunteer = log["volunteer_id"]
    start, end = _interval(rules, log)
    # only logs that began before this one ends and not longer before it began than the
    # longest a log can last (a week at least: a volunteer's whole history is not read)
    reach = dt.timedelta(hours=max(rules.max_session_hours, rules.open_cap_hours, OVERLAP_REACH_HOURS))
    lo, hi = iso(start - reach), iso(end)
    rows = [row for row in await _logs_near(tx, volunteer, start - reach, end)
            if row["id"] != log["id"] and lo < row["check_in_at"] < hi]
    candidates: dict[str, Mapping[str, Any]] = {str(row["id"]): row for row in rows}
    for row in tx.staged_where("hour_log", "volunteer_id", volunteer):  # newer than the table's
        if row["id"] != log["id"]:
            candidates[str(row["id"])] = row
    found = []
    for log_id, seen in candidates.items():
        if seen["status"] not in LIVE:
            continue
        other_start, other_end = _interval(rules, seen)
        if not (other_start < end and start < other_end):
            continue
        other = await tx.get("hour_log", log_id)
        if other is None or other["status"] not in LIVE:
            continue
        other_start, other_end = _interval(rules, other)
        if other_start < end and start < other_end:
            found.append(other)
    return found


LOGS_NEAR = HotSql(
    "SELECT id, status, check_in_at, check_out_at FROM hour_logs WHERE volunteer_id = :volunteer "
    "AND status :live[] AND check_in_at > :lo AND check_in_at < :hi"
)
NEAR_MARGIN = dt.timedelta(days=30)
"""How much wider than asked ``_logs_near`` reads: a phone's queue of hour logs spans days,
so the batch's later logs of the volunteer are answered from the first read."""


async def _logs_near(tx: Tx, volunteer: str, lo: dt.datetime, hi: dt.datetime) -> list[dict[str, Any]]:
    """The volunteer's live logs in the table (as written so far) that began between
    ``lo`` and ``hi``, and maybe more around them: read once per batch and volunteer
    (``NEAR_MARGIN`` wider) while the batch writes nothing out. The batch holds the
    volunteer's profile locked (``locks_first``), so no other writer adds a log of theirs
    meanwhile; a log another changed (a manager's decision) is read again, locked, by
    ``tx.get`` before it counts."""
    memo: dict[str, tuple[int, dt.datetime, dt.datetime, list[dict[str, Any]]]] = \
        tx.memo.setdefault("hour_logs_near", {})
    held = memo.get(volunteer)
    if held is not None and held[0] == tx.writes and held[1] <= lo and hi <= held[2]:
        return held[3]
    wide_lo, wide_hi = lo - NEAR_MARGIN, hi + NEAR_MARGIN
    rows = await tx.query_unflushed(LOGS_NEAR, volunteer=volunteer, live=list(LIVE),
                                    lo=iso(wide_lo), hi=iso(wide_hi))
    memo[volunteer] = (tx.writes, wide_lo, wide_hi, rows)
    return rows


def _list(value: str) -> list[str]:
    return list(json.loads(value))


async def _relink_overlaps(
    tx: Tx, ctx: MutationContext, log_id: str, old: list[str], new: list[str]
) -> None:
    """Keep ``overlaps`` symmetric: partners gained or lost point back (or stop)."""
    for partner_id in set(old) ^ set(new):
        partner = await tx.get("hour_log", partner_id)
        if partner is None:
            continue
        links = [i for i in _list(partner["overlaps"]) if i != log_id]
        flags = _list(partner["flags"])
        if partner_id in new:
            links.append(log_id)
            flags = _merged(flags, ["overlap"])
        tx.update("hour_log", partner_id, {
            "overlaps": json.dumps(sorted(links)), "flags": json.dumps(flags), "updated_at": ctx.now,
        })


async def _refresh_overlaps(
    tx: Tx, ctx: MutationContext, rules: HoursRules, log: Mapping[str, Any]
) -> dict[str, Any]:
    """Find this log's overlaps now; returns the ``overlaps``/``flags`` values to write
    and flags the mutation when the log newly overlaps another."""
    found = sorted(other["id"] for other in await _overlapping(tx, rules, log))
    old = _list(log["overlaps"])
    await _relink_overlaps(tx, ctx, log["id"], old, found)
    flags = _list(log["flags"])
    if set(found) - set(old):
        flags = _merged(flags, ["overlap"])
        _flag_all(ctx, ["overlap"], log["id"])
    return {"overlaps": json.dumps(found), "flags": json.dumps(flags)}


async def _drop_from_overlaps(tx: Tx, ctx: MutationContext, log: Mapping[str, Any]) -> None:
    """A rejected or reversed log no longer overlaps anything."""
    await _relink_overlaps(tx, ctx, log["id"], _list(log["overlaps"]), [])


# -- hour logs: recording ------------------------------------------------------------------


async def _activity(tx: Tx, activity_id: str) -> dict[str, Any]:
    activity = await tx.get("service_activity", activity_id)
    if activity is None:
        raise not_found("服务活动", "service activity", activity_id, field="activity_id")
    return activity


async def _staff_check_in_rules(
    tx: Tx, ctx: MutationContext, rules: HoursRules, log: dict[str, Any], *, coded: bool
) -> None:
    """Staff checking someone else in: only volunteers of stations their grant covers; a
    volunteer not on the activity's station's list only with their signed code; the
    device time at most ``scan_backdate_hours`` before receipt, and flagged when it is
    backdated for another station's volunteer."""
    volunteer = await _volunteer(tx, log["volunteer_id"])
    if not await _covers_volunteer(tx, ctx, volunteer):
        raise Rejected(
            "not_your_volunteer", f"{volunteer['user_id']} 不是您所在站点的志愿者,不能代为签到",
            f"{volunteer['user_id']} is not a volunteer of a station you are staff at; you cannot check them in",
            field="volunteer_id")
    if not coded and log["station"] not in json.loads(volunteer["stations"]):
        raise Rejected(
            "volunteer_code_required", "该志愿者不属于本站点,请扫描志愿者手机上的二维码签到",
            "this volunteer does not serve this station; scan the code on the volunteer's phone",
            field="volunteer_id")
    backdated = (parse_time(ctx.now) - parse_time(log["check_in_at"])).total_seconds()
    if backdated > rules.scan_backdate_hours * 3600:
        raise Rejected(
            "check_in_too_old",
            f"代签到时间比服务器收到时早 {backdated / 3600:.0f} 小时,超过 {rules.scan_backdate_hours:g} 小时上限;请改为补录服务时数",
            (f"the check-in time is {backdated / 3600:.0f} hours before the server received it, more than "
             f"{rules.scan_backdate_hours:g}; record the hours as a manual entry instead"),
            field="at")
    if volunteer["station"] != log["station"] and backdated > rules.clock_tolerance_minutes * 60:
        log["flags"] = json.dumps(_merged(_list(log["flags"]), ["backdated"]))
        _flag_all(ctx, ["backdated"], log["id"])


async def _recorder(
    tx: Tx, ctx: MutationContext, volunteer_id: str | None, activity: Mapping[str, Any], *, manual: bool
) -> tuple[dict[str, Any], str]:
    """Who the log is for and how it was recorded: by the volunteer, or by staff of the
    activity's station on their behalf (a scanned QR code, or a manual entry)."""
    target = volunteer_id or ctx.user_id
    volunteer = await _volunteer(tx, target)
    if target == ctx.user_id:
        return volunteer, "manual" if manual else "self"
    require_rank(ctx, STAFF, activity["station"], activity["district"])
    return volunteer, "manual" if manual else "staff_scan"


async def _start_log(
    tx: Tx, ctx: MutationContext, log_id: str, activity_id: str, volunteer_id: str | None,
    device_in: str, *, manual: bool, note: str = "",
) -> dict[str, Any]:
    """A new open log (not yet staged) after the checks every new log passes."""
    activity = await _activity(tx, activity_id)
    volunteer, source = await _recorder(tx, ctx, volunteer_id, activity, manual=manual)
    if await tx.get("hour_log", log_id) is not None:
        raise already_exists("服务记录", "hour log", log_id)
    return {
        "id": log_id, "volunteer_id": volunteer["user_id"], "activity_id": activity["id"],
        "station": activity["station"], "district": activity["district"],
        "service_type": activity["service_type"], "status": "open", "source": source,
        "recorded_by": ctx.user_id, "check_in_at": normal_time(device_in), "check_out_at": None,
        "device_check_in_at": device_in, "device_check_out_at": None,
        "received_check_in_at": ctx.now, "received_check_out_at": None, "note": note,
        "flags": "[]", "overlaps": "[]", "submitted_at": None, "decided_by": None,
        "decided_at": None, "decision_reason": None, "approved_minutes": None,
        "credited_cents": None, "created_at": ctx.now, "updated_at": ctx.now,
        "field_meta": encode_meta({name: [ctx.hlc, ctx.user_id] for name in LOG_EDITABLE}),
        "handled_by": json.dumps([ctx.user_id]),
    }


def _handled(log: Mapping[str, Any], ctx: MutationContext) -> str:
    """``handled_by`` with the caller added."""
    return json.dumps(_merged(_list(log["handled_by"]), [ctx.user_id]))


async def _submitted(tx: Tx, ctx: MutationContext, log: Mapping[str, Any]) -> None:
    await tx.emit(ctx, HoursSubmitted(
        log_id=log["id"], volunteer_id=log["volunteer_id"], station=log["station"],
        district=log["district"], minutes=session_minutes(log["check_in_at"], log["check_out_at"]),
        submitted_at=log["submitted_at"],
    ))


async def _decided(tx: Tx, ctx: MutationContext, log: Mapping[str, Any], decision: str) -> None:
    """Tell the other areas, and settle the held submissions about this log (the
    volunteer's "held for review" and the manager's list stop showing it)."""
    await resolve_issues(tx, ctx, f"hour_log:{log['id']}")
    await tx.emit(ctx, HoursDecided(
        log_id=log["id"], station=log["station"], district=log["district"], decision=decision,
    ))


# -- hour logs: mutators (the deployment's HoursRules from the registry) ------------------


@locks_first(_locks_for_new_log)
async def check_in(tx: Tx, ctx: MutationContext, args: HoursCheckInArgs) -> None:
    """``hours.check_in@1`` (phones before signed codes): a self check-in, or staff
    picking a volunteer of the activity's station; another station's volunteer needs @2
    with the volunteer's signed code."""
    await _check_in(tx, ctx, args.id, args.activity_id, args.at, args.volunteer_id, coded=False)


@locks_first(_locks_for_check_in_v2)
async def check_in_v2(tx: Tx, ctx: MutationContext, args: HoursCheckInV2Args) -> None:
    """``hours.check_in@2``: as @1, and staff may give the volunteer's signed code, checked
    against the check-in's device time (the push may arrive long after the scan)."""
    volunteer_id = args.volunteer_id
    if args.volunteer_code is not None:
        claims = await _verified_code(tx, ctx, args.volunteer_code, args.at)
        if volunteer_id is not None and volunteer_id != claims.user_id:
            raise Rejected("volunteer_code_mismatch", "二维码不属于所选的志愿者",
                           "the code belongs to another volunteer than the one chosen",
                           field="volunteer_code")
        volunteer_id = claims.user_id
    await _check_in(tx, ctx, args.id, args.activity_id, args.at, volunteer_id,
                    coded=args.volunteer_code is not None)


async def _verified_code(tx: Tx, ctx: MutationContext, code: str, device_at: str) -> volunteer_codes.VolunteerCode:
    """The code's claims, if the server signed it and it was valid at the device time."""
    rules = tx.registry.config(HoursRules)
    try:
        claims = volunteer_codes.verify(await volunteer_codes.keys_on(tx.conn), code)
    except volunteer_codes.CodeError:
        raise Rejected("volunteer_code_invalid", "志愿者二维码无效(不是本系统签发的,或已被改动)",
                       "the volunteer code is not valid (not issued by this server, or altered)",
                       field="volunteer_code") from None
    moment = parse_time(device_at)
    if moment > claims.expires_at:
        raise Rejected(
            "volunteer_code_expired",
            "志愿者二维码已过期,请志愿者联网打开“我的”页面获取新二维码",
            "the volunteer code has expired; the volunteer gets a new one by opening the Me screen online",
            field="volunteer_code")
    if moment < claims.issued_at - dt.timedelta(minutes=rules.clock_tolerance_minutes):
        raise Rejected("volunteer_code_not_yet_valid", "签到时间早于二维码的签发时间,请检查设备时钟",
                       "the check-in time is before the code was issued; check the device clock",
                       field="at")
    return claims


async def _covers_volunteer(tx: Tx, ctx: MutationContext, volunteer: Mapping[str, Any]) -> bool:
    """The caller is staff (or up) at a station the volunteer serves (home or other)."""
    for code in json.loads(volunteer["stations"]):
        if code == volunteer["station"]:
            district = volunteer["district"]
        else:
            station = await tx.get("station", code)
            district = station["district"] if station is not None else None
        if ctx.grant.rank_at(code, district) >= STAFF:
            return True
    return False


async def _check_in(
    tx: Tx, ctx: MutationContext, log_id: str, activity_id: str, at: str,
    volunteer_id: str | None, *, coded: bool,
) -> None:
    rules = tx.registry.config(HoursRules)
    log = await _start_log(tx, ctx, log_id, activity_id, volunteer_id, at, manual=False)
    if log["source"] == "staff_scan":
        await _staff_check_in_rules(tx, ctx, rules, log, coded=coded)
    clock = _clock_flags(rules, ctx, log["check_in_at"])
    log.update(await _refresh_overlaps(tx, ctx, rules, log))
    log["flags"] = json.dumps(_merged(_list(log["flags"]), clock))
    _flag_all(ctx, clock, log["id"])
    tx.insert("hour_log", log)


@locks_first(_locks_for_log)
async def check_out(tx: Tx, ctx: MutationContext, args: HoursCheckOutArgs) -> None:
    rules = tx.registry.config(HoursRules)
    log = await _log_for_recorder(tx, ctx, args.id)
    reopened = (log["status"] == "submitted" and "auto_closed" in _list(log["flags"])
                and log["device_check_out_at"] is None)  # the phone's real check-out, late
    if log["status"] != "open" and not reopened:
        raise Rejected("already_checked_out", "该记录已签退", "this log is already checked out", field="id")
    out = normal_time(args.at)
    flags = _check_session(rules, log["check_in_at"], out) + _clock_flags(rules, ctx, out)
    _flag_all(ctx, flags, args.id)
    values = {
        "check_out_at": out, "device_check_out_at": args.at, "received_check_out_at": ctx.now,
        "status": "submitted", "submitted_at": log["submitted_at"] or ctx.now,
        "flags": json.dumps(_merged(_list(log["flags"]), flags)), "updated_at": ctx.now,
        "handled_by": _handled(log, ctx),
    }
    closed = {**log, **values}
    closed.update(await _refresh_overlaps(tx, ctx, rules, closed))
    tx.update("hour_log", args.id, closed)
    if not reopened:
        await _submitted(tx, ctx, closed)


@locks_first(_locks_for_new_log)
async def record_manual(tx: Tx, ctx: MutationContext, args: HoursManualArgs) -> None:
    rules = tx.registry.config(HoursRules)
    log = await _start_log(tx, ctx, args.id, args.activity_id, args.volunteer_id,
                           args.check_in_at, manual=True, note=args.note)
    out = normal_time(args.check_out_at)
    flags = _check_session(rules, log["check_in_at"], out) + _clock_flags(rules, ctx, out)
    _flag_all(ctx, flags, args.id)
    log.update(
        check_out_at=out, device_check_out_at=args.check_out_at, received_check_out_at=ctx.now,
        status="submitted", submitted_at=ctx.now, flags=json.dumps(flags),
    )
    log.update(await _refresh_overlaps(tx, ctx, rules, log))
    tx.insert("hour_log", log)
    await _submitted(tx, ctx, log)


@locks_first(_locks_for_log)
async def edit_log(tx: Tx, ctx: MutationContext, args: HoursEditArgs) -> None:
    rules = tx.registry.config(HoursRules)
    log = await _log_for_recorder(tx, ctx, args.id)
    if log["status"] not in ("open", "submitted"):
        raise Rejected("already_decided", "已审核的记录不能修改", "a decided log cannot be edited", field="id")
    edits = edited_fields(args.fields)
    if log["status"] == "open" and "check_out_at" in edits:
        raise Rejected("log_open", "记录尚未签退,请先签退", "the log is still open; check out first",
                       field="fields.check_out_at")
    for name in ("check_in_at", "check_out_at"):
        if name in edits:
            edits[name] = normal_time(edits[name])
    outcome = merge_edit(
        tx, ctx, record_type="hour_log", record_id=args.id, current=log, edits=edits,
        base=args.base, matters=LOG_MATTERS, station=log["station"], district=log["district"],
    )
    edited = {**log, **outcome.applied, "field_meta": encode_meta(outcome.field_meta),
              "updated_at": ctx.now}
    if LOG_MATTERS & set(outcome.applied):
        edited["handled_by"] = _handled(log, ctx)  # who changed the times does not approve them
    if edited["check_out_at"]:
        flags = _check_session(rules, edited["check_in_at"], edited["check_out_at"])
        edited["flags"] = json.dumps(_merged(_list(edited["flags"]), flags))
    edited.update(await _refresh_overlaps(tx, ctx, rules, edited))
    tx.update("hour_log", args.id, edited)
    if outcome.conflict_ids:
        flag_conflict(ctx, "hour_log", args.id)


@locks_first(_locks_for_decision)
async def approve_log(tx: Tx, ctx: MutationContext, args: HoursApproveArgs) -> None:
    rules = tx.registry.config(HoursRules)
    log = await _log_for_staff(tx, ctx, args.id)
    if ctx.user_id in _list(log["handled_by"]):
        raise Rejected(
            "second_person_required",
            "这条记录是您登记、代签到/签退或修改过时间的,需由另一位工作人员审核",
            ("you recorded this log, checked it in or out, or changed its times; another staff "
             "member must approve it"),
            field="id")
    if log["status"] == "open":
        raise Rejected("log_open", "记录尚未签退,不能计分", "the log is still open; it cannot be credited",
                       field="id")
    if log["status"] != "submitted":
        raise _already_decided(log)
    partners = await _overlapping(tx, rules, log)
    if partners and not args.supersede_overlapping:
        raise Rejected(
            "overlap_unresolved",
            "该记录与同一志愿者的其他记录时间重叠,请先处理(改时间、驳回重复记录,或确认以此条为准)",
            "this log overlaps another log of the same volunteer; resolve it first (edit the "
            "times, reject the duplicate, or approve with supersede_overlapping)",
            field="id",
        )
    if any(p["status"] == "approved" for p in partners):
        raise Rejected(
            "overlaps_approved", "与已批准的记录重叠,不能重复计分",
            "overlaps a log that is already approved; it cannot be credited twice", field="id",
        )
    for partner in partners:
        await _reject(tx, ctx, partner, f"与记录 {log['id']} 重复 / duplicate of log {log['id']}")
    minutes = session_minutes(log["check_in_at"], log["check_out_at"])
    rate = await timebank.rate_for(tx, log["station"], log["service_type"])
    credits = round(minutes * rate / 60)
    if credits > 0:
        await timebank.pay_hours(tx, ctx, log, credits, reverse=False, memo=log["service_type"])
    decided = {**log, "status": "approved", "decided_by": ctx.user_id, "decided_at": ctx.now,
               "approved_minutes": minutes, "credited_cents": credits, "overlaps": "[]",
               "updated_at": ctx.now}
    tx.update("hour_log", args.id, decided)
    await _decided(tx, ctx, decided, "approved")


@locks_first(_locks_for_log)
async def reject_log(tx: Tx, ctx: MutationContext, args: HoursRejectArgs) -> None:
    log = await _log_for_staff(tx, ctx, args.id)
    if log["status"] not in ("open", "submitted"):
        raise _already_decided(log)
    await _reject(tx, ctx, log, args.reason)


@locks_first(_locks_for_decision)
async def reverse_log(tx: Tx, ctx: MutationContext, args: HoursReverseArgs) -> None:
    log = await _log_for_staff(tx, ctx, args.id)
    if log["status"] != "approved":
        raise Rejected("not_approved", "只有已批准的记录可以冲销", "only an approved log can be reversed",
                       field="id")
    credits = int(log["credited_cents"] or 0)
    if credits > 0:
        await timebank.pay_hours(tx, ctx, log, credits, reverse=True, memo=args.reason)
        account = await tx.get("timebank_account", timebank.volunteer_account_id(log["volunteer_id"]))
        if account is not None and account["balance_cents"] < 0:
            ctx.flag("balance_negative", "冲销后该志愿者余额为负,请跟进",
                     "after the reversal the volunteer's balance is negative; please follow up")
    decided = {**log, "status": "reversed", "decision_reason": args.reason,
               "decided_by": ctx.user_id, "decided_at": ctx.now, "updated_at": ctx.now}
    tx.update("hour_log", args.id, decided)
    await _decided(tx, ctx, decided, "reversed")


async def _reject(tx: Tx, ctx: MutationContext, log: Mapping[str, Any], reason: str) -> None:
    await _drop_from_overlaps(tx, ctx, log)
    decided = {**log, "status": "rejected", "decision_reason": reason, "decided_by": ctx.user_id,
               "decided_at": ctx.now, "overlaps": "[]", "updated_at": ctx.now}
    tx.update("hour_log", log["id"], decided)
    await _decided(tx, ctx, decided, "rejected")


def _already_decided(log: Mapping[str, Any]) -> Rejected:
    return Rejected("already_decided", f"该记录已处理(状态 {log['status']})",
                    f"this log was already decided ({log['status']})", field="id")


async def _log(tx: Tx, log_id: str) -> dict[str, Any]:
    log = await tx.get("hour_log", log_id)
    if log is None:
        raise not_found("服务记录", "hour log", log_id, field="id")
    await _volunteer(tx, log["volunteer_id"])  # the lock that serialises the volunteer
    return log


async def _log_for_recorder(tx: Tx, ctx: MutationContext, log_id: str) -> dict[str, Any]:
    """The volunteer's own log, or any log of a station the caller is staff at."""
    log = await _log(tx, log_id)
    if log["volunteer_id"] != ctx.user_id:
        require_rank(ctx, STAFF, log["station"], log["district"])
    return log


async def _log_for_staff(tx: Tx, ctx: MutationContext, log_id: str) -> dict[str, Any]:
    """Staff of the log's station decide on it, never on their own hours."""
    log = await _log(tx, log_id)
    require_rank(ctx, STAFF, log["station"], log["district"])
    if log["volunteer_id"] == ctx.user_id:
        raise forbidden("不能审核自己的服务时数", "you cannot decide on your own hours")
    return log


# -- the sweep of forgotten open logs ------------------------------------------------------


SYSTEM_GRANT = Grant(token_id="system", user_id="system", role="admin", station=None, district=None)


async def sweep_open_logs(
    db: Database, registry: Registry, pokes: PokeSink, rules: HoursRules, now: str | None = None
) -> list[str]:
    """Close every log open longer than the cap at check-in + cap, flag it
    ``auto_closed`` and submit it for approval; wakes the devices that see them.
    Returns the closed ids. A later real check-out from the offline phone still
    replaces the capped time."""
    moment = now or now_iso()
    cutoff = iso(parse_time(moment) - dt.timedelta(hours=rules.open_cap_hours))
    clock = HybridLogicalClock(node="server-sweep")
    async with db.read() as conn:
        found = (await conn.execute(
            select(hour_logs.c.id, hour_logs.c.volunteer_id)
            .where(hour_logs.c.status == "open", hour_logs.c.check_in_at <= cutoff)
        )).all()
    if not found:
        return []
    log_ids = sorted(row[0] for row in found)
    profiles = sorted({row[1] for row in found})

    async def close(tx: Tx) -> list[str]:
        # the server's lock order: every profile, then the logs (in id order)
        await tx.preload("volunteer", profiles)
        await tx.preload("hour_log", log_ids)
        closed = []
        for log_id in log_ids:
            log = await tx.get("hour_log", log_id)  # locked; still open?
            if log is None or log["status"] != "open":
                continue
            ctx = _system_context(clock, moment, log_id)
            capped = iso(parse_time(log["check_in_at"]) + dt.timedelta(hours=rules.open_cap_hours))
            done = {**log, "check_out_at": capped, "status": "submitted", "submitted_at": moment,
                    "flags": json.dumps(_merged(_list(log["flags"]), ["auto_closed"])),
                    "updated_at": moment}
            tx.update("hour_log", log_id, done)
            await _submitted(tx, ctx, done)
            tx.keep_frame()
            closed.append(log_id)
        return closed

    return await run_unit(db, registry, pokes, close)


def _system_context(clock: HybridLogicalClock, now: str, log_id: str) -> MutationContext:
    return MutationContext(
        grant=SYSTEM_GRANT, client_id="system", mutation_id=0, key=log_id, name="hours.sweep",
        version=1, hlc=clock.now(), now=now, clock=clock,
    )


# -- record types --------------------------------------------------------------------------


def _owned_scope(row: Mapping[str, Any], owner: str) -> Scope:
    """The volunteer's own devices, and staff and up of the station; no other volunteer."""
    return Scope(station=row["station"], district=row["district"], owner=row[owner], audience=STAFF)


def _volunteer_wire(row: Mapping[str, Any]) -> dict[str, Any]:
    data = {c: row[c] for c in ("user_id", "name", "phone", "station", "district", "created_by",
                                "created_at", "updated_at")}
    data.update(skills=json.loads(row["skills"]), stations=json.loads(row["stations"]),
                field_hlc=wire_field_hlc(row["field_meta"]))
    return data


def _card_wire(row: Mapping[str, Any]) -> dict[str, Any]:
    data = {c: row[c] for c in ("id", "user_id", "station", "district", "name", "phone", "updated_at")}
    data["skills"] = json.loads(row["skills"])
    return data


def _activity_wire(row: Mapping[str, Any]) -> dict[str, Any]:
    return {c: row[c] for c in ("id", "station", "district", "event_id", "project_id",
                                "service_type", "title", "date", "notes", "created_by", "created_at")}


LOG_WIRE_FIELDS = tuple(
    c.name for c in hour_logs.columns
    if c.name not in ("field_meta", "flags", "overlaps", "approved_minutes", "handled_by")
)


def _log_wire(row: Mapping[str, Any]) -> dict[str, Any]:
    data = {c: row[c] for c in LOG_WIRE_FIELDS}
    data.update(
        minutes=session_minutes(row["check_in_at"], row["check_out_at"]) if row["check_out_at"] else None,
        flags=json.loads(row["flags"]), overlaps=json.loads(row["overlaps"]),
        handled_by=json.loads(row["handled_by"] or "[]"),
        field_hlc=wire_field_hlc(row["field_meta"]),
    )
    return data


def install(registry: Registry, rules: HoursRules = HoursRules()) -> None:
    registry.configure(rules)
    registry.add_record_type(RecordType(
        "volunteer", volunteers, "user_id", lambda row: _owned_scope(row, "user_id"),
        _volunteer_wire, tombstone=None, shape=VolunteerRecord))
    registry.add_record_type(RecordType(
        "volunteer_card", volunteer_cards, "id",
        lambda row: Scope(station=row["station"], district=row["district"], audience=STAFF),
        _card_wire, shape=VolunteerCardRecord))
    registry.add_record_type(RecordType(
        "service_activity", service_activities, "id",
        lambda row: Scope(station=row["station"], district=row["district"]), _activity_wire,
        tombstone=None, shape=ServiceActivityRecord))
    registry.add_record_type(RecordType(
        "hour_log", hour_logs, "id", lambda row: _owned_scope(row, "volunteer_id"), _log_wire,
        tombstone=None, shape=HourLogRecord))

    registry.mutation("volunteer.register", 1, VolunteerRegisterArgs,
                      preload=(("volunteer", "user_id"),))(register_volunteer)
    registry.mutation("volunteer.update", 1, VolunteerUpdateArgs,
                      preload=(("volunteer", "user_id"),))(update_volunteer)
    registry.mutation("activity.create", 1, ActivityCreateArgs,
                      preload=(("service_activity", "id"), ("station", "station")))(create_activity)
    new_log = (("hour_log", "id"), ("service_activity", "activity_id"))
    by_id = (("hour_log", "id"),)
    registry.mutation("hours.check_in", 1, HoursCheckInArgs, preload=new_log)(check_in)
    registry.mutation("hours.check_in", 2, HoursCheckInV2Args, preload=new_log)(check_in_v2)
    registry.mutation("hours.check_out", 1, HoursCheckOutArgs, preload=by_id)(check_out)
    registry.mutation("hours.manual", 1, HoursManualArgs, preload=new_log)(record_manual)
    registry.mutation("hours.edit", 1, HoursEditArgs, preload=by_id)(edit_log)
    registry.mutation("hours.approve", 1, HoursApproveArgs, preload=by_id)(approve_log)
    registry.mutation("hours.reject", 1, HoursRejectArgs, preload=by_id)(reject_log)
    registry.mutation("hours.reverse", 1, HoursReverseArgs, preload=by_id)(reverse_log)


__all__ = [
    "HoursRules",
    "hour_logs",
    "install",
    "parse_time",
    "service_activities",
    "sweep_open_logs",
    "volunteer_cards",
    "volunteers",
]
