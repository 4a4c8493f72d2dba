"""Training: lectures and courses, sign-up with a waiting list, attendance at the door,
training hours and feedback (issue 15; docs/training.md).

A ``training`` belongs to a station and is public (every phone lists it). A person signs
up (``training_signup``): a seat while ``confirmed`` is below ``capacity``, else the
waiting list in order; withdrawing gives the seat to the first person waiting. At the
door a staff phone, offline, scans the person's signed code (the Time Bank's volunteer
code, ``server.domain.volunteer_codes``, issued to anyone with an account for this) and
queues ``training.attend``; two phones scanning the same person count once. Who attended
gets the training's hours on their record (their sign-ups) and their service certificate.

Every change of a training's seats reads the training row first (``tx.get`` locks it on
PostgreSQL, SQLite has one writer), so sign-ups, withdrawals and attendance of one
training serialise on it: the counts on the training and each waiting position stay
exact when phones push together. The training comes before its sign-ups in the lock
order (types not ranked by ``sync.push.LOCK_RANK`` lock by name: ``training`` <
``training_feedback`` < ``training_signup``).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Index,
    Integer,
    String,
    Table,
    Text,
    and_,
    insert,
    select,
    text,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from schemas.attachments import AttachmentRef
from schemas.events import TrainingCancelled, TrainingSeatGiven
from schemas.training import (
    TrainingAttendArgs,
    TrainingCancelArgs,
    TrainingCreateArgs,
    TrainingFeedbackArgs,
    TrainingFeedbackRecord,
    TrainingRecord,
    TrainingSignupArgs,
    TrainingSignupRecord,
    TrainingUpdateArgs,
    TrainingWithdrawArgs,
)
from server.domain import attachments, volunteer_codes
from server.domain.access import require_rank, station_for
from server.domain.volunteers import HoursRules
from server.notify.tables import notify_outbox
from sync.db import Database
from sync.errors import Rejected, already_exists, not_found
from sync.merge import edited_fields
from sync.pokes import PokeSink
from sync.push import Peek, locks_first
from sync.registry import RecordType, Registry
from sync.scopes import STAFF, Grant, Scope
from sync.tables import metadata, users
from sync.timeutil import iso
from sync.unit import MutationContext, Tx
from sync.write import run_unit

SHANGHAI = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")
DOOR_OPENS_BEFORE = dt.timedelta(hours=2)
"""A scan at the door counts from this long before the start ..."""
DOOR_CLOSES_AFTER = dt.timedelta(hours=6)
"""... until this long after the end (by the staff phone's clock)."""
SWEEP_LOCK = 72_410_015
"""PostgreSQL advisory lock: one worker at a time sends the reminders."""
TAKES_SEAT = ("confirmed", "attended")
ACTIVE = ("confirmed", "waitlisted", "attended")

trainings = Table(
    "trainings",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("station", String(32), nullable=False, index=True),
    Column("district", String(100), nullable=False),
    Column("topic", String(200), nullable=False),
    Column("speaker", String(100), nullable=False),
    Column("starts_at", String(40), nullable=False, index=True),
    Column("ends_at", String(40), nullable=False),
    Column("place", String(200), nullable=False),
    Column("capacity", Integer, nullable=False),
    Column("minutes", Integer, nullable=False),
    Column("audience", String(16), nullable=False),
    Column("occasion", String(24), nullable=False),
    Column("description", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("cancel_reason", Text, nullable=True),
    Column("confirmed", Integer, nullable=False),
    Column("waitlisted", Integer, nullable=False),
    Column("attended", Integer, nullable=False),
    Column("attachments", Text, nullable=False, default="[]"),
    Column("created_by", String(64), nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("updated_at", String(32), nullable=False),
)
"""``starts_at``/``ends_at`` in one sortable form (UTC, milliseconds, ``Z``).
``confirmed`` counts seats taken (confirmed and attended sign-ups), ``waitlisted`` the
waiting list, ``attended`` who came: kept by the mutators under the training's lock."""

training_signups = Table(
    "training_signups",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("training_id", String(36), nullable=False),
    Column("user_id", String(64), nullable=False),
    Column("name", String(100), nullable=False),
    Column("station", String(32), nullable=False, index=True),
    Column("district", String(100), nullable=False),
    Column("status", String(16), nullable=False),
    Column("position", Integer, nullable=True),
    Column("signed_up_at", String(32), nullable=False),
    Column("signed_up_by", String(64), nullable=False),
    Column("attended_at", String(40), nullable=True),
    Column("attended_by", String(64), nullable=True),
    Column("walk_in", Boolean, nullable=False, default=False),
    Column("minutes", Integer, nullable=False, default=0),
    Column("updated_at", String(32), nullable=False),
    Index("ix_training_signups_training_user", "training_id", "user_id"),
    Index("ix_training_signups_user_status", "user_id", "status"),
)
"""One person's sign-up (at most one not ``cancelled`` per person and training: checked
under the training's lock). ``position``: place on the waiting list, 1 = next."""

training_feedback = Table(
    "training_feedback",
    metadata,
    Column("id", String(110), primary_key=True),
    Column("training_id", String(36), nullable=False, index=True),
    Column("user_id", String(64), nullable=False),
    Column("station", String(32), nullable=False),
    Column("district", String(100), nullable=False),
    Column("score", Integer, nullable=False),
    Column("useful", Integer, nullable=False),
    Column("comment", Text, nullable=False),
    Column("submitted_at", String(32), nullable=False),
)
"""``id`` = ``<training id>:<user>``: one form per person and training."""

training_reminders = Table(
    "training_reminders",
    metadata,
    Column("training_id", String(36), primary_key=True),
    Column("sent_at", String(32), nullable=False),
)
"""Trainings whose day-before reminder was sent (never twice)."""


# -- time ------------------------------------------------------------------------------


def parse_time(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value).astimezone(dt.UTC)


def normal_time(value: str) -> str:
    return iso(parse_time(value))


def shanghai_day(value: str | dt.datetime) -> dt.date:
    moment = parse_time(value) if isinstance(value, str) else value
    return moment.astimezone(SHANGHAI).date()


def _device_time(ctx: MutationContext) -> dt.datetime:
    """The phone's clock when the act was queued (the HLC's wall part)."""
    millis = int(ctx.hlc.split(":", 1)[0])
    return dt.datetime.fromtimestamp(millis / 1000, dt.UTC)


def _check_times(starts_at: str, ends_at: str) -> None:
    start, end = parse_time(starts_at), parse_time(ends_at)
    if end <= start:
        raise Rejected("invalid_args", "结束时间必须晚于开始时间", "the training must end after it starts",
                       field="ends_at")
    if end - start > dt.timedelta(days=31):
        raise Rejected("invalid_args", "一次培训不能超过 31 天", "a training cannot last more than 31 days",
                       field="ends_at")


# -- records ---------------------------------------------------------------------------


def _training_wire(row: Mapping[str, Any]) -> dict[str, Any]:
    data = {c: row[c] for c in trainings.c.keys() if c not in ("attachments", "minutes")}
    data["hours"] = int(row["minutes"]) / 60
    data["attachments"] = attachments.wire(row["attachments"])
    return data


def _signup_wire(row: Mapping[str, Any]) -> dict[str, Any]:
    data = {c: row[c] for c in training_signups.c.keys() if c not in ("user_id", "minutes")}
    data["user"] = row["user_id"]
    data["walk_in"] = bool(row["walk_in"])
    data["hours"] = int(row["minutes"] or 0) / 60
    return data


def _feedback_wire(row: Mapping[str, Any]) -> dict[str, Any]:
    data = {c: row[c] for c in training_feedback.c.keys() if c != "user_id"}
    data["user"] = row["user_id"]
    return data


def _personal_scope(row: Mapping[str, Any]) -> Scope:
    """The person's own phones, and staff and up of the training's station."""
    return Scope(station=row["station"], district=row["district"], owner=row["user_id"],
                 audience=STAFF)


# -- reads under the training's lock ----------------------------------------------------


async def _training(tx: Tx, training_id: str, field: str = "training_id") -> dict[str, Any]:
    training = await tx.get("training", training_id)
    if training is None:
        raise not_found("培训", "training", training_id, field=field)
    return training


def _open(training: Mapping[str, Any]) -> None:
    if training["status"] == "cancelled":
        raise Rejected("training_cancelled", f"培训“{training['topic']}”已取消",
                       f"the training “{training['topic']}” was cancelled", field="training_id")


async def _active_signup(tx: Tx, training_id: str, user: str) -> dict[str, Any] | None:
    """The person's sign-up that is not cancelled (under the training's lock)."""
    rows = await tx.query(
        select(training_signups.c.id).where(
            training_signups.c.training_id == training_id, training_signups.c.user_id == user,
            training_signups.c.status.in_(ACTIVE)).order_by(training_signups.c.id))
    for (signup_id,) in rows:
        signup = await tx.get("training_signup", str(signup_id))
        if signup is not None and signup["status"] in ACTIVE:
            return signup
    return None


async def _waiting(tx: Tx, training_id: str) -> list[dict[str, Any]]:
    """The waiting list in order (under the training's lock)."""
    rows = await tx.query(
        select(training_signups.c.id).where(
            training_signups.c.training_id == training_id,
            training_signups.c.status == "waitlisted"))
    found = []
    for (signup_id,) in rows:
        signup = await tx.get("training_signup", str(signup_id))
        if signup is not None and signup["status"] == "waitlisted":
            found.append(signup)
    return sorted(found, key=lambda s: (int(s["position"] or 0), s["signed_up_at"], s["id"]))


async def _person_name(tx: Tx, user: str) -> str | None:
    """The name staff know the person by: the person's own (``users.name``, when it is more
    than the id it defaults to), else their volunteer profile's, else the id. None: no
    such person (or erased)."""
    row = (await tx.query(select(users.c.name, users.c.erased_at).where(users.c.id == user))).first()
    if row is None or row.erased_at:
        return None
    if row.name and row.name != user:
        return str(row.name)
    profile = await tx.read_unlocked("volunteer", user)  # a read for a name: no lock, no order
    return str(profile["name"]) if profile is not None else user


async def _promote(tx: Tx, ctx: MutationContext, training: dict[str, Any]) -> dict[str, Any]:
    """Give free seats to the waiting list in order; renumber who still waits. Returns
    the training's new counts (staged by the caller)."""
    waiting = await _waiting(tx, training["id"])
    confirmed = int(training["confirmed"])
    capacity = int(training["capacity"])
    given = []
    still = []
    for signup in waiting:
        if confirmed < capacity:
            confirmed += 1
            given.append(signup)
        else:
            still.append(signup)
    for signup in given:
        tx.update("training_signup", signup["id"], {"status": "confirmed", "position": None,
                                                    "updated_at": ctx.now})
        await tx.emit(ctx, TrainingSeatGiven(
            training_id=training["id"], signup_id=signup["id"], user=signup["user_id"],
            topic=training["topic"], starts_at=training["starts_at"], place=training["place"],
            station=training["station"], district=training["district"]))
    for number, signup in enumerate(still, start=1):
        if signup["position"] != number:
            tx.update("training_signup", signup["id"], {"position": number, "updated_at": ctx.now})
    return {"confirmed": confirmed, "waitlisted": len(still)}


# -- who may sign up ------------------------------------------------------------------------


async def _check_audience(tx: Tx, ctx: MutationContext, training: Mapping[str, Any],
                          user: str) -> None:
    """``staff``: people with a staff role somewhere; ``volunteers``: registered
    volunteers (a Time Bank profile) or staff; ``residents`` and ``all``: anyone with an
    account. Checked for the caller's own sign-up; staff signing up someone else at
    their station's counter vouch for them."""
    audience = training["audience"]
    if user != ctx.user_id or audience in ("residents", "all"):
        return
    if audience == "staff" and ctx.grant.rank < STAFF:
        raise Rejected("not_in_audience", "本培训面向工作人员", "this training is for staff",
                       field="training_id")
    if audience == "volunteers" and ctx.grant.rank < STAFF and \
            await tx.read_unlocked("volunteer", user) is None:  # a check: no lock, no order
        raise Rejected("not_in_audience", "本培训面向登记的志愿者,请先在“服务”页登记",
                       "this training is for registered volunteers: register on the Service tab first",
                       field="training_id")


def _for_whom(ctx: MutationContext, training: Mapping[str, Any], user: str | None) -> str:
    """The person the act is for: the caller, or (staff of the training's station)
    someone else."""
    if user is None or user == ctx.user_id:
        return ctx.user_id
    require_rank(ctx, STAFF, training["station"], training["district"],
                 ("只有培训所在站点的工作人员可以为他人报名或取消",
                  "only staff of the training's station sign others up or withdraw them"))
    return user


# -- lock plans ------------------------------------------------------------------------------


async def _locks_training(peek: Peek, grant: Grant, args: Any) -> list[tuple[str, str]]:
    return [("training", args.training_id)]


# -- mutators --------------------------------------------------------------------------------


async def create_training(tx: Tx, ctx: MutationContext, args: TrainingCreateArgs) -> None:
    station = await station_for(tx, ctx, args.station, refusal=(
        f"只有站点 {args.station} 的工作人员可以开设培训",
        f"only staff of station {args.station} set up trainings"))
    if await tx.get("training", args.id) is not None:
        raise already_exists("培训", "training", args.id)
    _check_times(args.starts_at, args.ends_at)
    tx.insert("training", {
        "id": args.id, "station": station["code"], "district": station["district"],
        "topic": args.topic, "speaker": args.speaker, "starts_at": normal_time(args.starts_at),
        "ends_at": normal_time(args.ends_at), "place": args.place, "capacity": args.capacity,
        "minutes": _minutes(args.hours), "audience": args.audience, "occasion": args.occasion,
        "description": args.description, "status": "open", "cancel_reason": None,
        "confirmed": 0, "waitlisted": 0, "attended": 0,
        "attachments": attachments.encode(args.attachments),
        "created_by": ctx.user_id, "created_at": ctx.now, "updated_at": ctx.now,
    })
    attachments.stage_refs(tx, "training", args.id, args.attachments)


async def _editable(tx: Tx, ctx: MutationContext, training_id: str) -> dict[str, Any]:
    training = await _training(tx, training_id, field="id")
    require_rank(ctx, STAFF, training["station"], training["district"],
                 (f"只有站点 {training['station']} 的工作人员可以修改培训",
                  f"only staff of station {training['station']} edit its trainings"))
    return training


async def update_training(tx: Tx, ctx: MutationContext, args: TrainingUpdateArgs) -> None:
    training = await _editable(tx, ctx, args.id)
    _open(training)
    values: dict[str, Any] = {}
    if args.attachments:
        files = attachments.added(training["attachments"], args.attachments)
        values["attachments"] = attachments.encode(files)
        attachments.stage_refs(tx, "training", args.id, files)
    edits = edited_fields(args.fields) if attachments.sets_any(args.fields) else {}
    for name in ("starts_at", "ends_at"):
        if name in edits:
            edits[name] = normal_time(edits[name])
    merged = {**training, **edits}
    _check_times(merged["starts_at"], merged["ends_at"])
    if "capacity" in edits and int(edits["capacity"]) < int(training["confirmed"]):
        raise Rejected(
            "capacity_below_taken",
            f"已有 {training['confirmed']} 人占座,名额不能少于此数(可请人取消报名)",
            f"{training['confirmed']} seats are taken; the capacity cannot be lower "
            "(people can withdraw first)", field="fields.capacity")
    if not edits and not values:
        raise Rejected("invalid_args", "没有要修改的内容", "nothing to change", field="fields")
    values.update(edits)
    if "hours" in edits:
        values["minutes"] = _minutes(edits["hours"])
        values.pop("hours", None)
        await _recredit(tx, ctx, training["id"], values["minutes"])
    merged = {**training, **values}
    if "capacity" in edits:
        values.update(await _promote(tx, ctx, merged))
    tx.update("training", args.id, {**values, "updated_at": ctx.now})


def _minutes(hours: float) -> int:
    return round(hours * 60)


async def _recredit(tx: Tx, ctx: MutationContext, training_id: str, minutes: int) -> None:
    """The training's hours changed: the attendees' records follow."""
    rows = await tx.query(select(training_signups.c.id).where(
        training_signups.c.training_id == training_id, training_signups.c.status == "attended"))
    for (signup_id,) in rows:
        if await tx.get("training_signup", str(signup_id)) is not None:
            tx.update("training_signup", str(signup_id), {"minutes": minutes, "updated_at": ctx.now})


async def cancel_training(tx: Tx, ctx: MutationContext, args: TrainingCancelArgs) -> None:
    training = await _editable(tx, ctx, args.id)
    if training["status"] == "cancelled":
        return  # cancelling twice changes nothing
    if training["attended"]:
        raise Rejected("training_held", "已有人签到的培训不能取消",
                       "people already attended this training; it cannot be cancelled", field="id")
    tx.update("training", args.id, {"status": "cancelled", "cancel_reason": args.reason,
                                    "updated_at": ctx.now})
    people = await tx.query(select(training_signups.c.user_id).where(
        training_signups.c.training_id == args.id, training_signups.c.status.in_(ACTIVE)))
    told = tuple(sorted({str(r[0]) for r in people}))
    if told:
        await tx.emit(ctx, TrainingCancelled(
            training_id=training["id"], topic=training["topic"], starts_at=training["starts_at"],
            place=training["place"], reason=args.reason, users=told, station=training["station"],
            district=training["district"]))


@locks_first(_locks_training)
async def signup(tx: Tx, ctx: MutationContext, args: TrainingSignupArgs) -> None:
    training = await _training(tx, args.training_id)
    _open(training)
    user = _for_whom(ctx, training, args.user)
    if await tx.get("training_signup", args.id) is not None:
        raise already_exists("报名", "sign-up", args.id)
    if _device_time(ctx) >= parse_time(training["starts_at"]) or \
            parse_time(ctx.now) >= parse_time(training["ends_at"]):
        raise Rejected("signup_closed", f"培训“{training['topic']}”已开始,报名已截止",
                       f"the training “{training['topic']}” has started; sign-up is closed",
                       field="training_id")
    await _check_audience(tx, ctx, training, user)
    held = await _active_signup(tx, training["id"], user)
    if held is not None:
        state_zh = {"confirmed": "已报名此培训", "waitlisted": f"已在此培训的候补名单第 {held['position']} 位",
                    "attended": "已签到参加此培训"}[held["status"]]
        state_en = {"confirmed": "already signed up for this training",
                    "waitlisted": f"already no. {held['position']} on this training's waiting list",
                    "attended": "already attended this training"}[held["status"]]
        raise Rejected("already_signed_up", f"{state_zh},不能重复报名",
                       f"{state_en}; one sign-up per person", field="training_id")
    name = await _person_name(tx, user)
    if name is None:
        raise not_found("人员", "person", user, field="user")
    seat = int(training["confirmed"]) < int(training["capacity"])
    waiting = int(training["waitlisted"])
    tx.insert("training_signup", {
        "id": args.id, "training_id": training["id"], "user_id": user, "name": name,
        "station": training["station"], "district": training["district"],
        "status": "confirmed" if seat else "waitlisted", "position": None if seat else waiting + 1,
        "signed_up_at": ctx.now, "signed_up_by": ctx.user_id, "attended_at": None,
        "attended_by": None, "walk_in": False, "minutes": 0, "updated_at": ctx.now,
    })
    counts = {"confirmed": int(training["confirmed"]) + 1} if seat else {"waitlisted": waiting + 1}
    tx.update("training", training["id"], {**counts, "updated_at": ctx.now})


@locks_first(_locks_training)
async def withdraw(tx: Tx, ctx: MutationContext, args: TrainingWithdrawArgs) -> None:
    training = await _training(tx, args.training_id)
    user = _for_whom(ctx, training, args.user)
    held = await _active_signup(tx, training["id"], user)
    if held is None:
        raise Rejected("not_signed_up", "没有此培训的报名可取消", "no sign-up for this training to withdraw",
                       field="training_id")
    if held["status"] == "attended":
        raise Rejected("already_attended", "已签到,不能取消报名",
                       "already attended: the sign-up cannot be withdrawn", field="training_id")
    tx.update("training_signup", held["id"], {"status": "cancelled", "position": None,
                                              "updated_at": ctx.now})
    after = {**training}
    if held["status"] == "confirmed":
        after["confirmed"] = int(training["confirmed"]) - 1
    counts = {"confirmed": after["confirmed"]}
    if training["status"] == "open":
        counts.update(await _promote(tx, ctx, after))  # also renumbers the waiting list
    else:
        counts["waitlisted"] = len(await _waiting(tx, training["id"]))
    tx.update("training", training["id"], {**counts, "updated_at": ctx.now})


async def _code_user(tx: Tx, code: str, device_at: dt.datetime) -> str:
    """The user of a signed code that was valid at the door (the staff phone's clock)."""
    rules = tx.registry.config(HoursRules)
    try:
        claims = volunteer_codes.verify(await volunteer_codes.keys_on(tx.conn), code)
    except volunteer_codes.CodeError:
        raise Rejected("code_invalid", "二维码无效(不是本系统签发的,或已被改动)",
                       "the code is not valid (not issued by this server, or altered)",
                       field="code") from None
    if device_at > claims.expires_at:
        raise Rejected("code_expired", "二维码已过期,请本人联网打开培训页面获取新码",
                       "the code has expired; its owner gets a new one by opening the training online",
                       field="code")
    if device_at < claims.issued_at - dt.timedelta(minutes=rules.clock_tolerance_minutes):
        raise Rejected("code_not_yet_valid", "签到时间早于二维码的签发时间,请检查手机时钟",
                       "the scan is dated before the code was issued; check the phone's clock",
                       field="at")
    return claims.user_id


@locks_first(_locks_training)
async def attend(tx: Tx, ctx: MutationContext, args: TrainingAttendArgs) -> None:
    training = await _training(tx, args.training_id)
    require_rank(ctx, STAFF, training["station"], training["district"],
                 ("只有培训所在站点的工作人员可以登记签到",
                  "only staff of the training's station record attendance"))
    _open(training)
    at = parse_time(args.at)
    if not parse_time(training["starts_at"]) - DOOR_OPENS_BEFORE <= at <= \
            parse_time(training["ends_at"]) + DOOR_CLOSES_AFTER:
        raise Rejected("not_during_training", "签到时间不在培训时间内(开始前 2 小时至结束后 6 小时)",
                       "the scan is not during the training (from 2 hours before the start to "
                       "6 hours after the end)", field="at")
    if args.code is not None:
        user = await _code_user(tx, args.code, at)
        if args.user is not None and args.user != user:
            raise Rejected("code_mismatch", "二维码不属于所选的人", "the code belongs to someone else",
                           field="code")
    elif args.user is not None:
        user = args.user
    else:
        raise Rejected("invalid_args", "请扫描二维码或选择报名人员", "scan a code or pick a person",
                       field="code")
    stamp = normal_time(args.at)
    held = await _active_signup(tx, training["id"], user)
    if held is not None and held["status"] == "attended":
        # a second scan (another door phone, offline): counted once, at the earlier time
        if stamp < str(held["attended_at"]):
            tx.update("training_signup", held["id"], {"attended_at": stamp, "updated_at": ctx.now})
        return
    counts: dict[str, Any] = {"attended": int(training["attended"]) + 1}
    if held is None:
        if args.code is None:
            raise Rejected("not_signed_up", "此人未报名,请扫描本人的二维码登记现场参加",
                           "this person has not signed up: scan their code to record a walk-in",
                           field="user")
        name = await _person_name(tx, user)
        if name is None:
            raise not_found("人员", "person", user, field="code")
        if await tx.get("training_signup", args.id) is not None:
            raise already_exists("报名", "sign-up", args.id)
        tx.insert("training_signup", {
            "id": args.id, "training_id": training["id"], "user_id": user, "name": name,
            "station": training["station"], "district": training["district"],
            "status": "attended", "position": None, "signed_up_at": ctx.now,
            "signed_up_by": ctx.user_id, "attended_at": stamp, "attended_by": ctx.user_id,
            "walk_in": True, "minutes": int(training["minutes"]), "updated_at": ctx.now,
        })
        counts["confirmed"] = int(training["confirmed"]) + 1
    else:
        tx.update("training_signup", held["id"], {
            "status": "attended", "position": None, "attended_at": stamp,
            "attended_by": ctx.user_id, "minutes": int(training["minutes"]), "updated_at": ctx.now})
        if held["status"] == "waitlisted":  # came anyway and was let in
            counts["confirmed"] = int(training["confirmed"]) + 1
            after = await _waiting(tx, training["id"])
            for number, signup in enumerate([s for s in after if s["id"] != held["id"]], start=1):
                if signup["position"] != number:
                    tx.update("training_signup", signup["id"], {"position": number,
                                                                "updated_at": ctx.now})
            counts["waitlisted"] = int(training["waitlisted"]) - 1
    tx.update("training", training["id"], {**counts, "updated_at": ctx.now})


async def feedback(tx: Tx, ctx: MutationContext, args: TrainingFeedbackArgs) -> None:
    training = await _training(tx, args.training_id)
    held = await _active_signup(tx, training["id"], ctx.user_id)
    if held is None or held["status"] != "attended":
        raise Rejected("not_attended", "只有签到参加过培训的人可以填写反馈",
                       "only people who attended the training give feedback", field="training_id")
    ident = f"{training['id']}:{ctx.user_id}"
    row = {"training_id": training["id"], "user_id": ctx.user_id, "station": training["station"],
           "district": training["district"], "score": args.score, "useful": args.useful,
           "comment": args.comment, "submitted_at": ctx.now}
    if await tx.get("training_feedback", ident) is None:
        tx.insert("training_feedback", {"id": ident, **row})
    else:
        tx.update("training_feedback", ident, row)


async def may_attach(tx: Tx, ctx: MutationContext, training: dict[str, Any],
                     after: list[AttachmentRef]) -> None:
    """Staff of the training's station add or remove its materials."""
    require_rank(ctx, STAFF, training["station"], training["district"])


# -- read side --------------------------------------------------------------------------------


async def attended(conn: AsyncConnection, user: str) -> list[dict[str, Any]]:
    """The trainings ``user`` attended, oldest first: topic, speaker, occasion, place,
    station, starts_at, minutes (the certificate's "培训" section, the person's record)."""
    rows = (await conn.execute(
        select(trainings.c.id, trainings.c.topic, trainings.c.speaker, trainings.c.occasion,
               trainings.c.place, trainings.c.station, trainings.c.starts_at,
               training_signups.c.minutes)
        .select_from(training_signups.join(trainings, trainings.c.id == training_signups.c.training_id))
        .where(training_signups.c.user_id == user, training_signups.c.status == "attended")
        .order_by(trainings.c.starts_at, trainings.c.id))).mappings().all()
    return [dict(r) for r in rows]


# -- the day-before reminder ----------------------------------------------------------------------


async def remind_due(db: Database, registry: Registry, pokes: PokeSink,
                     now: dt.datetime) -> list[str]:
    """One ``training.reminder`` to everyone holding a seat, for each open training that
    starts tomorrow (Shanghai day) or later today, once per training. Returns the
    trainings reminded."""
    tomorrow = shanghai_day(now) + dt.timedelta(days=1)
    horizon = dt.datetime.combine(tomorrow + dt.timedelta(days=1), dt.time(), SHANGHAI)

    async def candidates(conn: Any) -> list[dict[str, Any]]:
        sent = select(training_reminders.c.training_id)
        rows = (await conn.execute(select(trainings).where(
            trainings.c.status == "open", trainings.c.starts_at > iso(now),
            trainings.c.starts_at < iso(horizon.astimezone(dt.UTC)),
            trainings.c.id.not_in(sent)).order_by(trainings.c.starts_at, trainings.c.id)
        )).mappings().all()
        return [dict(r) for r in rows]

    async with db.read() as conn:
        if not await candidates(conn):
            return []

    async def work(tx: Tx) -> list[str]:
        conn = tx.conn
        if db.is_postgres and not (await conn.execute(
                text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": SWEEP_LOCK})).scalar_one():
            return []
        stamp = iso(now)
        done = []
        for training in await candidates(conn):
            people = sorted({str(r[0]) for r in await conn.execute(
                select(training_signups.c.user_id).where(and_(
                    training_signups.c.training_id == training["id"],
                    training_signups.c.status.in_(TAKES_SEAT))))})
            await conn.execute(insert(training_reminders).values(
                training_id=training["id"], sent_at=stamp))
            if people:
                await conn.execute(insert(notify_outbox).values(
                    kind="training.reminder", station=training["station"],
                    district=training["district"], data=json.dumps({
                        "training_id": training["id"], "topic": training["topic"],
                        "starts_at": training["starts_at"], "place": training["place"],
                        "speaker": training["speaker"], "users": people,
                    }, ensure_ascii=False), created_at=stamp, state="pending", processed_at=None))
            done.append(str(training["id"]))
        return done

    return await run_unit(db, registry, pokes, work)


def install(registry: Registry) -> None:
    registry.add_record_type(RecordType(
        "training", trainings, "id", lambda row: Scope(station=row["station"],
                                                       district=row["district"], public=True),
        _training_wire, tombstone=None, shape=TrainingRecord))
    registry.add_record_type(RecordType(
        "training_signup", training_signups, "id", _personal_scope, _signup_wire,
        tombstone=None, shape=TrainingSignupRecord))
    registry.add_record_type(RecordType(
        "training_feedback", training_feedback, "id", _personal_scope, _feedback_wire,
        tombstone=None, shape=TrainingFeedbackRecord))
    attachments.allow(registry, "training", may_attach)
    by_id = (("training", "id"),)
    by_training = (("training", "training_id"),)
    registry.mutation("training.create", 1, TrainingCreateArgs,
                      preload=(("training", "id"), ("station", "station")))(create_training)
    registry.mutation("training.update", 1, TrainingUpdateArgs, preload=by_id)(update_training)
    registry.mutation("training.cancel", 1, TrainingCancelArgs, preload=by_id)(cancel_training)
    registry.mutation("training.signup", 1, TrainingSignupArgs, preload=by_training)(signup)
    registry.mutation("training.withdraw", 1, TrainingWithdrawArgs, preload=by_training)(withdraw)
    registry.mutation("training.attend", 1, TrainingAttendArgs, preload=by_training)(attend)
    registry.mutation("training.feedback", 1, TrainingFeedbackArgs, preload=by_training)(feedback)


__all__ = [
    "attended",
    "install",
    "remind_due",
    "shanghai_day",
    "training_feedback",
    "training_reminders",
    "training_signups",
    "trainings",
]
