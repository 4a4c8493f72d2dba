"""Send due push deliveries: claim, encrypt and sign (pywebpush), post, record.

A delivery is claimed in a short transaction (state ``sending`` with a lease),
sent outside any transaction, and its outcome recorded in another short one. A
worker that dies mid-send leaves its claim to expire; the delivery is then sent
again *with the same Topic*, so a push service that still holds the first copy
replaces it instead of showing it twice. A completed send is never repeated.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from pywebpush import WebPushException, webpush_async
from sqlalchemy import and_, delete, or_, select, update

from server.notify.endpoints import endpoint_problem
from server.notify.kinds import KINDS
from server.notify.tables import notifications, push_deliveries, push_subscriptions
from server.notify.vapid import VapidKey, current_key
from server.state import AppState
from sync.timeutil import iso, utc_now

log = logging.getLogger("server.notify")

PAYLOAD_VERSION = 1


@dataclass(frozen=True)
class Job:
    delivery_id: int
    attempts: int
    kind: str
    topic: str
    subscription: Mapping[str, Any] | None
    notification: Mapping[str, Any] | None


@dataclass(frozen=True)
class Outcome:
    state: str
    """sent, retry, failed, gone (subscription removed), skipped."""
    status: int | None = None
    retry_after: float | None = None
    error: str | None = None


def payload(notification: Mapping[str, Any]) -> dict[str, Any]:
    """What the service worker receives (decrypted): everything to show the
    notification and open the right screen without a round trip."""
    return {
        "v": PAYLOAD_VERSION,
        "id": notification["id"],
        "kind": notification["kind"],
        "title": json.loads(notification["title"]),
        "body": json.loads(notification["body"]),
        "url": notification["url"],
        "target": json.loads(notification["target"]),
        "station": notification["station"],
        "created_at": notification["created_at"],
    }


def retry_after_seconds(value: str | None, now: dt.datetime) -> float | None:
    """``Retry-After``: delay in seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - now).total_seconds())


def _lease_seconds(state: AppState) -> int:
    """Longer than one send (its timeout + 1 s) and the recording of its outcome."""
    return state.settings.push_timeout_seconds * 2 + 5


def _due(now_text: str) -> Any:
    return or_(
        and_(push_deliveries.c.state == "pending", push_deliveries.c.next_attempt_at <= now_text),
        and_(push_deliveries.c.state == "sending", push_deliveries.c.lease_until < now_text),
    )


async def claim(state: AppState, now: dt.datetime, limit: int) -> tuple[VapidKey | None, list[Job]]:
    """Claim up to ``limit`` due deliveries (and those whose claim expired)."""
    now_text = iso(now)
    async with state.db.read() as conn:
        if (await conn.execute(
            select(push_deliveries.c.id).where(_due(now_text)).limit(1)
        )).first() is None:
            return None, []
    lease = iso(now + dt.timedelta(seconds=_lease_seconds(state)))

    async def work(conn: Any) -> tuple[VapidKey | None, list[Job]]:
        stmt = (select(push_deliveries).where(_due(now_text))
                .order_by(push_deliveries.c.next_attempt_at, push_deliveries.c.id).limit(limit))
        if state.db.is_postgres:
            stmt = stmt.with_for_update(skip_locked=True)
        rows = (await conn.execute(stmt)).mappings().all()
        if not rows:
            return None, []
        ids = [r["id"] for r in rows]
        await conn.execute(
            update(push_deliveries).where(push_deliveries.c.id.in_(ids))
            .values(state="sending", lease_until=lease, attempts=push_deliveries.c.attempts + 1)
        )
        subs = {
            r["id"]: dict(r) for r in (await conn.execute(select(push_subscriptions).where(
                push_subscriptions.c.id.in_({r["subscription_id"] for r in rows})))).mappings()
        }
        notes = {
            r["id"]: dict(r) for r in (await conn.execute(select(notifications).where(
                notifications.c.id.in_({r["notification_id"] for r in rows})))).mappings()
        }
        key = await current_key(conn)
        return key, [
            Job(int(r["id"]), int(r["attempts"]) + 1, r["kind"], r["topic"],
                subs.get(r["subscription_id"]), notes.get(r["notification_id"]))
            for r in rows
        ]

    claimed: tuple[VapidKey | None, list[Job]] = await state.db.run_write(work)
    return claimed


async def send_one(
    state: AppState, session: aiohttp.ClientSession, key: VapidKey | None, job: Job,
    now: dt.datetime,
) -> Outcome:
    sub, note = job.subscription, job.notification
    if sub is None or note is None:
        return Outcome("skipped", error="subscription or notification gone")
    if note["read_at"] is not None or note["deleted_at"] is not None:
        return Outcome("skipped", error="already read in the app")
    if key is None or sub["vapid_key_id"] != key.id or sub["stale_reason"]:
        return Outcome("skipped", error="subscription made under another VAPID key")
    kind = KINDS[job.kind]
    parts = urlsplit(sub["endpoint"])
    settings = state.settings
    refused = endpoint_problem(sub["endpoint"], allow_http=settings.push_allow_http,
                               any_host=settings.push_any_host)
    if refused is not None:  # stored before the check, or the settings changed since
        return Outcome("failed", error=f"endpoint refused: {refused[1]}"[:200])
    timeout = settings.push_timeout_seconds
    try:
        response = await asyncio.wait_for(
            webpush_async(
                {"endpoint": sub["endpoint"], "keys": {"p256dh": sub["p256dh"], "auth": sub["auth"]}},
                data=json.dumps(payload(note), ensure_ascii=False),
                vapid_private_key=key.signer(),
                vapid_claims={"sub": settings.push_vapid_subject,
                              "aud": f"{parts.scheme}://{parts.netloc}"},
                ttl=kind.ttl_seconds,
                headers={"Urgency": kind.urgency, "Topic": job.topic},
                timeout=aiohttp.ClientTimeout(total=timeout),
                aiohttp_session=session,
            ),
            timeout + 1,
        )
    except WebPushException as exc:
        status = exc.status_code
        if status in (404, 410):
            return Outcome("gone", status)
        if status == 429 or (status is not None and status >= 500):
            return Outcome("retry", status, retry_after_seconds(exc.retry_after, now),
                           error=exc.message[:200])
        return Outcome("failed", status, error=str(exc.message)[:200])
    except (TimeoutError, aiohttp.ClientError, OSError) as exc:
        return Outcome("retry", error=f"{type(exc).__name__}: {exc}"[:200])
    status = getattr(response, "status", None)
    return Outcome("sent", status)


async def record(state: AppState, job: Job, outcome: Outcome, now: dt.datetime) -> None:
    settings = state.settings
    stamp = iso(now)
    values: dict[str, Any] = {"lease_until": None, "last_status": outcome.status,
                              "last_error": outcome.error}
    if outcome.state == "retry":
        if job.attempts >= settings.push_max_attempts:
            values["state"] = "failed"
        else:
            wait = outcome.retry_after
            if wait is None:
                wait = settings.push_retry_base_seconds * 2 ** (job.attempts - 1)
            wait = min(float(wait), float(settings.push_retry_max_seconds))
            values.update(state="pending", next_attempt_at=iso(now + dt.timedelta(seconds=wait)))
    else:
        values["state"] = outcome.state
        if outcome.state == "sent":
            values["sent_at"] = stamp

    async def work(conn: Any) -> None:
        await conn.execute(update(push_deliveries).where(push_deliveries.c.id == job.delivery_id)
                           .values(**values))
        if job.subscription is None:
            return
        sub_id = job.subscription["id"]
        if outcome.state == "gone":
            await conn.execute(delete(push_subscriptions).where(push_subscriptions.c.id == sub_id))
            await conn.execute(
                update(push_deliveries)
                .where(push_deliveries.c.subscription_id == sub_id,
                       push_deliveries.c.state == "pending")
                .values(state="gone")
            )
        elif outcome.state == "sent":
            await conn.execute(update(push_subscriptions).where(push_subscriptions.c.id == sub_id)
                               .values(last_ok_at=stamp))
        elif outcome.state == "failed" and outcome.status in (401, 403):
            await conn.execute(update(push_subscriptions).where(push_subscriptions.c.id == sub_id)
                               .values(stale_reason="vapid_rejected"))

    await state.db.run_write(work)
    if outcome.state not in ("sent", "skipped"):
        log.info("push delivery %s: %s %s %s", job.delivery_id, outcome.state, outcome.status,
                 outcome.error or "")


async def send_due(
    state: AppState, session: aiohttp.ClientSession, now: dt.datetime | None = None,
) -> list[Outcome]:
    """One round: claim at most ``push_concurrency`` due deliveries and send them all at
    once, so every claimed send starts at once and ends (timeout) well inside its lease;
    each outcome is recorded as soon as it is known."""
    moment = now or utc_now()
    key, jobs = await claim(state, moment, max(1, state.settings.push_concurrency))

    async def one(job: Job) -> Outcome:
        outcome = await send_one(state, session, key, job, moment)
        await record(state, job, outcome, now or utc_now())
        return outcome

    return list(await asyncio.gather(*(one(job) for job in jobs)))
