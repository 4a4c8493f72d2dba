"""``/api/v1/push/*``: the VAPID public key and a device's push subscriptions."""

from __future__ import annotations

import base64
import binascii
import uuid
from typing import Any

import msgspec
from cryptography.hazmat.primitives.asymmetric import ec
from litestar import Request, Response, delete, get, post
from sqlalchemy import delete as sql_delete
from sqlalchemy import insert, select, update

from schemas.notifications import PushSubscriptionBody
from server.auth import resolve_grant
from server.notify.endpoints import endpoint_problem
from server.notify.tables import push_subscriptions
from server.notify.vapid import ensure_key
from server.openapi import TOKEN, answer, errors
from server.state import state_of
from sync.errors import ProtocolError
from sync.timeutil import now_iso

JSON = "application/json"



def invalid(zh: str, en: str, field: str) -> ProtocolError:
    return ProtocolError(400, "invalid_subscription", f"推送订阅无效:{zh}",
                         f"invalid push subscription: {en}", field=field)


def _b64url(value: str, field: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        raise invalid("不是 base64url 编码", "not base64url", field) from None


def _field_of(detail: str) -> str:
    """The dotted path msgspec names: ``... - at `$.keys.auth``` and/or ``missing required field `x```."""
    path = detail.rsplit(" - at `", 1)[1].rstrip("`").removeprefix("$") if " - at `" in detail else ""
    if "missing required field `" in detail:
        path += "." + detail.split("missing required field `", 1)[1].split("`", 1)[0]
    return path.strip(".") or "body"


def parse_subscription(raw: bytes, allow_http: bool, any_host: bool = False
                       ) -> PushSubscriptionBody:
    """Decode and check a browser's subscription; anything off is a 400 naming the field."""
    try:
        body = msgspec.json.decode(raw, type=PushSubscriptionBody)
    except msgspec.ValidationError as exc:
        detail = str(exc)
        raise invalid(f"字段不正确({detail})", detail, _field_of(detail)) from None
    except (msgspec.DecodeError, UnicodeDecodeError):
        raise invalid("请求不是有效的 JSON", "the body is not valid JSON", "body") from None
    problem = endpoint_problem(body.endpoint, allow_http=allow_http, any_host=any_host)
    if problem is not None:
        raise invalid(*problem, "endpoint")
    point = _b64url(body.keys.p256dh, "keys.p256dh")
    if len(point) != 65 or point[0] != 4:
        raise invalid("p256dh 必须是 65 字节的 P-256 公钥", "p256dh must be a 65-byte P-256 public key",
                      "keys.p256dh")
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    except ValueError:
        raise invalid("p256dh 不是曲线上的点", "p256dh is not a point on P-256", "keys.p256dh") from None
    if len(_b64url(body.keys.auth, "keys.auth")) != 16:
        raise invalid("auth 必须是 16 字节", "auth must be 16 bytes", "keys.auth")
    return body


@get("/api/v1/push/vapid-public-key", tags=["notifications"],
     summary="The Web Push public key")
async def vapid_public_key_route(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """The applicationServerKey for ``PushManager.subscribe`` (public, no token needed)."""
    key = await ensure_key(state_of(request).db)
    return {"public_key": key.public_key, "key_id": key.id}


@post("/api/v1/push/subscriptions", status_code=200, security=TOKEN, tags=["notifications"],
      summary="Subscribe this device to Web Push",
      description="Body: the browser's `PushSubscription` JSON (and the key it used).",
      responses={**answer("the subscription was updated"),
                 **answer("the subscription was made", status=201),
                 **errors(400, 401, 403, 409)})
async def subscribe_route(request: Request[Any, Any, Any]) -> Response[bytes]:
    """Upsert this device's subscription (the PWA calls it on every start)."""
    state = state_of(request)
    grant = await resolve_grant(state.db, request.headers.get("authorization"))
    body = parse_subscription(await request.body(), state.settings.push_allow_http,
                              state.settings.push_any_host)
    key = await ensure_key(state.db)
    if body.application_server_key is not None and body.application_server_key.rstrip("=") != key.public_key:
        raise ProtocolError(
            409, "vapid_key_changed", "推送密钥已更换,请重新订阅",
            "the push key was rotated; subscribe again with the current key",
            field="application_server_key",
        )
    now = now_iso()

    async def work(conn: Any) -> tuple[str, bool]:
        found = (await conn.execute(select(push_subscriptions.c.id).where(
            push_subscriptions.c.endpoint == body.endpoint))).first()
        values = {"p256dh": body.keys.p256dh, "auth": body.keys.auth, "user_id": grant.user_id,
                  "token_id": grant.token_id, "vapid_key_id": key.id, "stale_reason": None,
                  "updated_at": now}
        if found is not None:
            await conn.execute(update(push_subscriptions)
                               .where(push_subscriptions.c.id == found[0]).values(**values))
            return str(found[0]), False
        new_id = str(uuid.uuid4())
        await conn.execute(insert(push_subscriptions).values(
            id=new_id, endpoint=body.endpoint, created_at=now, last_ok_at=None, **values))
        return new_id, True

    subscription_id, created = await state.db.run_write(work)
    return Response(
        msgspec.json.encode({"id": subscription_id, "created": created, "vapid_key_id": key.id,
                             "public_key": key.public_key}),
        status_code=201 if created else 200, media_type=JSON,
    )


@delete("/api/v1/push/subscriptions", status_code=200, security=TOKEN, tags=["notifications"],
        summary="Unsubscribe from Web Push",
        responses={**answer("how many subscriptions were removed"),
                   **errors(400, 401, 403)})
async def unsubscribe_route(request: Request[Any, Any, Any], endpoint: str | None = None) -> Response[bytes]:
    """Remove this user's subscription at ``?endpoint=`` (or, without it, every
    subscription made with this device token: a sign-out)."""
    state = state_of(request)
    grant = await resolve_grant(state.db, request.headers.get("authorization"))
    where = (push_subscriptions.c.user_id == grant.user_id,
             push_subscriptions.c.endpoint == endpoint) if endpoint else (
             push_subscriptions.c.token_id == grant.token_id,)

    async def work(conn: Any) -> int:
        return int((await conn.execute(sql_delete(push_subscriptions).where(*where))).rowcount)

    removed = await state.db.run_write(work)
    return Response(msgspec.json.encode({"removed": removed}), media_type=JSON)


ROUTES = [vapid_public_key_route, subscribe_route, unsubscribe_route]
