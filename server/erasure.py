"""Erasure of a person's personal data (PIPL's right to deletion), carried out by an admin
from the console (docs/security.md "Erasure (PIPL)").

``GET /api/v1/admin/erasure/search?q=`` finds donors (by name or phone on their gifts)
and people (by name, phone or user id); ``POST /api/v1/admin/erasure`` erases one of
them: ``{"subject": "donor", "donation_ids": [...]}`` or ``{"subject": "person",
"user_id": ...}``, with a ``reason`` category. Admins only.

What is erased is the person's *identity*: names, phone numbers, the free text that may
name them (a gift's note, a correction's reason, a receipt's history notes, an hour log's
note, the ledger notes of their gifts). What stays is what happened: amounts, goods,
hours, dates, stations, who on the staff recorded it. Every synced record that changes is
written through the engine (``sync.write.run_unit``), so phones holding it receive the
erased version on their next pull, exactly what a fresh pull would give.

Attachments (photos of goods, invoices) stay with the gift: they are evidence of what
was given, keyed by content hash with no name and no EXIF; a photo that shows a person is
removed by staff with ``attachment.remove@1`` and its bytes go with the retention sweep
(docs/security.md, "Erasure (PIPL)").

The fund ledger stays verifiable: a ledger note is outside what the chain hashes (its
salted digest is inside), so erasure blanks the note and marks its salt ``erased``, and
the digest the hash covers is unchanged (``server/domain/funds.py``).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal

import msgspec
from litestar import Request, get, post
from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from server import audit
from server.api import APP_VERSION, decode_body
from server.auth import resolve_grant
from server.domain import online
from server.domain.donations import A_DONOR, corrections, donations, public_donor, receipts
from server.domain.funds import ERASED, ledger_entries
from server.domain.goods import goods_movements
from server.domain.people import memberships, system_write
from server.domain.rounds import erase_person_needs
from server.domain.timebank import redemptions
from server.domain.volunteers import hour_logs, volunteer_cards, volunteers
from server.notify.tables import notifications, notify_outbox
from server.openapi import TOKEN, errors
from server.reports import ERASURE_EPOCH
from sync.errors import ProtocolError
from sync.scopes import ADMIN, Grant
from sync.tables import sync_state, users
from sync.unit import MutationContext, Tx

ERASED_NAME = "已删除 / erased"
MAX_DONATIONS = 5_000
"""Gifts one erasure may cover (a donor has a handful; the bound keeps one transaction
reasonable)."""

ReasonCategory = Literal["subject_request", "guardian_request", "retention_expired", "other"]
REASONS = {
    "subject_request": "本人申请 / the person asked",
    "guardian_request": "监护人申请 / a guardian asked",
    "retention_expired": "保存期满 / retention period over",
    "other": "其他 / other",
}


class ErasureRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    subject: Literal["donor", "person", "online_donor"]
    reason: ReasonCategory
    donation_ids: list[str] = []
    """``donor``: the gifts of this donor, as the search grouped them (the admin confirms
    the list)."""
    user_id: str | None = None
    """``person``: the volunteer or staff member (their account, profile, hour logs)."""
    nickname: str | None = None
    """``online_donor``: the nickname a platform's statements gave (online gifts and the
    statements' lines keep it; ``server/domain/online.py``)."""


def _forbidden() -> ProtocolError:
    return ProtocolError(403, "forbidden", "无权限:只有管理员可以执行删除请求",
                         "not allowed: only an admin carries out erasure requests")


async def _admin(request: Request[Any, Any, Any]) -> Grant:
    from server.state import state_of

    grant = await resolve_grant(state_of(request).db, request.headers.get("authorization"),
                                app_version=request.headers.get(APP_VERSION))
    if grant.rank < ADMIN:
        raise _forbidden()
    return grant


def _masked_phone(phone: str | None) -> str | None:
    """Enough to tell two donors apart on the confirmation screen, not the number."""
    if not phone:
        return None
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 8 else "****"


async def search(conn: AsyncConnection, q: str) -> dict[str, Any]:
    """Donors (gifts grouped by name and phone) and people matching ``q``."""
    like = f"%{q}%"
    rows = (await conn.execute(
        select(donations.c.id, donations.c.donor_name, donations.c.donor_phone,
               donations.c.donor_organisation, donations.c.station, donations.c.recorded_at)
        .where(or_(donations.c.donor_name.like(like), donations.c.donor_phone == q,
                   donations.c.donor_organisation.like(like)))
        .order_by(donations.c.recorded_at).limit(MAX_DONATIONS))).mappings().all()
    groups: dict[tuple[Any, Any, Any], dict[str, Any]] = {}
    for row in rows:
        key = (row["donor_name"], row["donor_phone"], row["donor_organisation"])
        group = groups.setdefault(key, {
            "subject": "donor", "name": row["donor_name"], "organisation": row["donor_organisation"],
            "phone": _masked_phone(row["donor_phone"]), "donation_ids": [], "stations": [],
            "first": row["recorded_at"][:10], "last": row["recorded_at"][:10]})
        group["donation_ids"].append(row["id"])
        group["last"] = row["recorded_at"][:10]
        if row["station"] not in group["stations"]:
            group["stations"].append(row["station"])
    profiles = {str(r.user_id): r for r in await conn.execute(
        select(volunteers.c.user_id, volunteers.c.name, volunteers.c.phone)
        .where(or_(volunteers.c.name.like(like), volunteers.c.phone == q)).limit(50))}
    people = (await conn.execute(
        select(users.c.id, users.c.name, users.c.phone)
        .where(users.c.erased_at.is_(None),
               or_(users.c.name.like(like), users.c.phone == q, users.c.id == q,
                   users.c.id.in_(list(profiles))))
        .order_by(users.c.name).limit(50))).mappings().all()
    roles: dict[str, list[str]] = {}
    if people:
        for user_id, role, station in await conn.execute(
                select(memberships.c.user_id, memberships.c.role, memberships.c.station)
                .where(memberships.c.user_id.in_([p["id"] for p in people]),
                       memberships.c.ended_at.is_(None))):
            roles.setdefault(user_id, []).append(f"{role}@{station}" if station else role)
    return {
        "online_donors": await online.nickname_search(conn, q),
        "donors": list(groups.values()),
        "people": [{"subject": "person", "user_id": p["id"],
                    "name": profiles[p["id"]].name if p["id"] in profiles else p["name"],
                    "phone": _masked_phone(p["phone"] or (
                        profiles[p["id"]].phone if p["id"] in profiles else None)),
                    "roles": roles.get(p["id"], [])}
                   for p in people],
    }


def _blank_history(history: str) -> str:
    return json.dumps([{**step, "note": ""} for step in json.loads(history)], ensure_ascii=False)


async def _ids(tx: Tx, column: Any, where: Any) -> list[str]:
    return sorted(str(r[0]) for r in (await tx.query(select(column).where(where))).all())


async def _erase_donor(tx: Tx, ctx: MutationContext, donation_ids: list[str]) -> dict[str, int]:
    """The donor's name, phone and organisation, their gifts' notes, the reasons and
    decision notes of corrections of those gifts, receipts' history notes, the ledger
    notes of their movements and the goods movements' notes. Amounts stay."""
    await tx.preload("donation", donation_ids)
    found = [d for d in donation_ids if await tx.get("donation", d) is not None]
    if len(found) != len(donation_ids):
        missing = sorted(set(donation_ids) - set(found))[:3]
        raise ProtocolError(404, "not_found", f"找不到捐赠:{', '.join(missing)}",
                            f"no such donation: {', '.join(missing)}", field="donation_ids")
    numbers = await _ids(tx, receipts.c.number, receipts.c.donation_id.in_(found))
    fixes = await _ids(tx, corrections.c.id, corrections.c.donation_id.in_(found))
    entries = await _ids(tx, ledger_entries.c.id, ledger_entries.c.donation_id.in_(found))
    moves = await _ids(tx, goods_movements.c.id, goods_movements.c.donation_id.in_(found))
    # lock order (docs/architecture.md): donation, receipt, donation_correction,
    # ledger_entry, goods_movement
    await tx.preload("receipt", numbers)
    await tx.preload("donation_correction", fixes)
    await tx.preload("ledger_entry", entries)
    await tx.preload("goods_movement", moves)
    notes = await _erase_from_notifications(tx, [
        (d, public_donor(row)) for d in found if (row := await tx.get("donation", d)) is not None])
    for donation_id in found:
        tx.update("donation", donation_id, {
            "donor_anonymous": True, "donor_name": None, "donor_phone": None,
            "donor_organisation": None, "public_name_consent": False, "note": ""})
    for number in numbers:
        receipt = await tx.get("receipt", number)
        assert receipt is not None
        tx.update("receipt", number, {"history": _blank_history(receipt["history"])})
    for correction_id in fixes:
        tx.update("donation_correction", correction_id, {"reason": "", "decision_note": ""})
    for entry_id in entries:
        tx.update("ledger_entry", entry_id, {"note": "", "note_salt": ERASED})
    for move_id in moves:
        tx.update("goods_movement", move_id, {"note": ""})
    return {"donations": len(found), "receipts": len(numbers), "corrections": len(fixes),
            "ledger_entries": len(entries), "goods_movements": len(moves),
            "notifications": notes}


async def _erase_from_notifications(tx: Tx, gifts: list[tuple[str, str]]) -> int:
    """A large gift's notification names a donor who consented to publication: rewrite
    its inbox records (synced: phones get the new text) and its outbox data so the name
    is gone there too. Gifts shown as "a donor" already named nobody."""
    named = [(gift, shown) for gift, shown in gifts if shown != A_DONOR]
    if not named:
        return 0
    changed = 0
    for gift, shown in named:
        rows = (await tx.query(select(notifications.c.id).where(
            notifications.c.kind == "donation.large",
            notifications.c.target.like(f'%"{gift}"%')))).scalars().all()
        await tx.preload("notification", sorted(rows))
        for note_id in sorted(rows):
            note = await tx.get("notification", note_id)
            if note is None:
                continue
            words = {"zh": "爱心人士", "en": "a donor"}
            tx.update("notification", note_id, {
                field: json.dumps({lang: str(text).replace(shown, words.get(lang, "***"))
                                   for lang, text in json.loads(note[field]).items()},
                                  ensure_ascii=False)
                for field in ("title", "body")})
            changed += 1
        for row in (await tx.query(select(notify_outbox.c.id, notify_outbox.c.data).where(
                notify_outbox.c.kind == "donation.large",
                notify_outbox.c.data.like(f'%"{gift}"%')))).mappings().all():
            data = json.loads(row["data"])
            data["donor_display"] = ""
            tx.defer(update(notify_outbox).where(notify_outbox.c.id == row["id"])
                     .values(data=json.dumps(data, ensure_ascii=False)))
    return changed


async def _erase_person(tx: Tx, ctx: MutationContext, user_id: str) -> dict[str, int]:
    """The person's name and phone on their account, memberships (ended), volunteer
    profile and cards; the notes on their hour logs and redemptions. Hours and credits
    stay, under the same (opaque) user id."""
    person = (await tx.query(select(users).where(users.c.id == user_id))).mappings().first()
    if person is None or person["erased_at"]:
        raise ProtocolError(404, "not_found", f"找不到人员:{user_id}", f"no such person: {user_id}",
                            field="user_id")
    cards = await _ids(tx, volunteer_cards.c.id, volunteer_cards.c.user_id == user_id)
    logs = await _ids(tx, hour_logs.c.id, hour_logs.c.volunteer_id == user_id)
    spent = await _ids(tx, redemptions.c.id, redemptions.c.volunteer_id == user_id)
    held = await _ids(tx, memberships.c.id, memberships.c.user_id == user_id)
    # lock order: volunteer, volunteer_card, hour_log, redemption, then membership
    await tx.preload("volunteer", [user_id])
    await tx.preload("volunteer_card", cards)
    await tx.preload("hour_log", logs)
    await tx.preload("redemption", spent)
    await tx.preload("membership", held)
    profile = await tx.get("volunteer", user_id)
    if profile is not None:
        tx.update("volunteer", user_id, {"name": ERASED_NAME, "phone": None,
                                         "updated_at": ctx.now})
    for card_id in cards:
        tx.update("volunteer_card", card_id, {"name": ERASED_NAME, "phone": None,
                                              "updated_at": ctx.now})
    for log_id in logs:
        log = await tx.get("hour_log", log_id)
        assert log is not None
        tx.update("hour_log", log_id, {
            "note": "", "decision_reason": None if log["decision_reason"] is None else "",
            "updated_at": ctx.now})
    for redemption_id in spent:
        redemption = await tx.get("redemption", redemption_id)
        assert redemption is not None
        if redemption.get("decline_reason"):
            tx.update("redemption", redemption_id, {"decline_reason": ""})
    for membership_id in held:
        membership = await tx.get("membership", membership_id)
        assert membership is not None
        tx.update("membership", membership_id, {
            "name": ERASED_NAME, "phone": None, "updated_at": ctx.now,
            "ended_at": membership["ended_at"] or ctx.now})
    raised = await erase_person_needs(tx, ctx, user_id)  # a micro-venture round's needs
    tx.defer(update(users).where(users.c.id == user_id).values(
        name=ERASED_NAME, phone=None, erased_at=ctx.now))
    return {"volunteers": 1 if profile is not None else 0, "volunteer_cards": len(cards),
            "hour_logs": len(logs), "redemptions": len(spent), "memberships": len(held),
            "needs": raised}


async def _bump_epoch(tx: Tx) -> None:
    """Public disclosures cached by chain head are rebuilt (a consented name may go)."""
    found = (await tx.query(select(func.count()).select_from(sync_state).where(
        sync_state.c.key == ERASURE_EPOCH))).scalar()
    if found:
        tx.defer(update(sync_state).where(sync_state.c.key == ERASURE_EPOCH)
                 .values(int_value=sync_state.c.int_value + 1))
    else:
        tx.defer(sync_state.insert().values(key=ERASURE_EPOCH, int_value=1, text_value=None))


async def erase(state: Any, grant: Grant, body: ErasureRequest) -> dict[str, Any]:
    """Carry out one erasure request in one transaction through the engine."""
    if grant.rank < ADMIN:
        raise _forbidden()
    if body.subject == "donor":
        if not body.donation_ids or len(body.donation_ids) > MAX_DONATIONS:
            raise ProtocolError(400, "invalid_args", f"请指明该捐赠人的捐赠(1 至 {MAX_DONATIONS} 笔)",
                                f"name the donor's gifts (1 to {MAX_DONATIONS})",
                                field="donation_ids")
    elif body.subject == "online_donor":
        if not body.nickname:
            raise ProtocolError(400, "invalid_args", "请指明昵称", "name the nickname",
                                field="nickname")
        return await _erase_online(state, grant, body)
    elif not body.user_id:
        raise ProtocolError(400, "invalid_args", "请指明人员", "name the person", field="user_id")

    async def work(tx: Tx, ctx: MutationContext) -> dict[str, int]:
        if body.subject == "donor":
            changed = await _erase_donor(tx, ctx, sorted(set(body.donation_ids)))
        else:
            assert body.user_id is not None
            changed = await _erase_person(tx, ctx, body.user_id)
        await _bump_epoch(tx)
        # who, what and why, with counts; never the erased values themselves
        target = ("person", body.user_id) if body.subject != "donor" else (
            "donation", min(body.donation_ids))
        audit.stage(tx, ctx, "person.erase", target[0], target[1] or "", detail={
            "subject": body.subject, "reason": body.reason,
            "donations": len(body.donation_ids or ()), "changed": changed})
        return changed

    changed = await system_write(state.db, state.registry, state.pokes, grant, "person.erase", work)
    state.disclosures.entries.clear()  # this process at once; others by the epoch
    return {"subject": body.subject, "reason": body.reason, "reason_label": REASONS[body.reason],
            "changed": changed}


async def _erase_online(state: Any, grant: Grant, body: ErasureRequest) -> dict[str, Any]:
    """An online donor's nickname, blanked on their gifts and the statements' lines (not a
    synced record: one write transaction, audited with counts, never the nickname)."""
    nickname = body.nickname or ""

    async def work(conn: AsyncConnection) -> dict[str, int]:
        changed = await online.erase_nickname(conn, nickname)
        if not any(changed.values()):
            raise ProtocolError(404, "not_found", "找不到该昵称", "no such nickname",
                                field="nickname")
        await audit.record(conn, grant, "online.nickname_erase", "online_donor",
                           hashlib.sha256(nickname.encode()).hexdigest()[:16],
                           detail={"reason": body.reason, "changed": changed})
        return changed

    changed = await state.db.run_write(work)
    return {"subject": body.subject, "reason": body.reason, "reason_label": REASONS[body.reason],
            "changed": changed}


@get("/api/v1/admin/erasure/search", security=TOKEN, tags=["admin"],
     summary="Find a donor or a person to erase (admins)", responses=errors(400, 401, 403))
async def erasure_search_route(request: Request[Any, Any, Any], q: str = "") -> dict[str, Any]:
    from server.state import state_of

    await _admin(request)
    q = q.strip()
    if len(q) < 2 or len(q) > 64:
        raise ProtocolError(400, "invalid_args", "请输入 2 至 64 个字符的姓名、电话或编号",
                            "give 2 to 64 characters of a name, phone or id", field="q")
    async with state_of(request).db.read() as conn:
        return await search(conn, q)


@post("/api/v1/admin/erasure", status_code=200, security=TOKEN, tags=["admin"],
      summary="Erase a donor's or a person's personal data (admins)",
      responses=errors(400, 401, 403, 404))
async def erasure_route(request: Request[Any, Any, Any]) -> dict[str, Any]:
    from server.state import state_of

    grant = await _admin(request)
    body: ErasureRequest = decode_body(await request.body(), ErasureRequest)
    return await erase(state_of(request), grant, body)


ROUTES = [erasure_search_route, erasure_route]
