"""A Web Push service on loopback that does what a real one checks.

Each request must carry a valid VAPID JWT (RFC 8292: ``Authorization: vapid
t=<jwt>,k=<key>``, ES256 verified against ``k``, ``aud`` this service's origin,
``exp`` in the future, ``sub`` a mailto: or https: contact) and an RFC 8291
``aes128gcm`` body, which is decrypted with the subscription's private key. So
the real encryption and signing path of the server runs end to end.

Answers are scripted per subscription (``respond``), default ``201``; ``hold``
makes new requests wait (a send in flight when the sender dies). ``sent_pairs`` reads
the server's side: which deliveries it recorded as sent, to compare with ``received``.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import http_ece
from aiohttp import web
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from sqlalchemy import select

from server.notify.tables import push_deliveries, push_subscriptions
from server.state import AppState

URGENCIES = {"very-low", "low", "normal", "high"}
B64URL = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Received:
    subscription: str
    payload: dict[str, Any]
    topic: str | None
    ttl: int
    urgency: str | None
    vapid_key: str
    answered: int | None = None
    """The status sent back; None while held, or when the sender hung up meanwhile."""
    at: float = field(default_factory=time.monotonic)


@dataclass
class Subscriber:
    id: str
    private_key: ec.EllipticCurvePrivateKey
    auth: bytes


class PushService:
    def __init__(self) -> None:
        self.subscribers: dict[str, Subscriber] = {}
        self.received: list[Received] = []
        self.errors: list[str] = []
        self.scripts: dict[str, list[tuple[int, dict[str, str]]]] = {}
        self.holding = False
        self.held = 0
        self.hold_after: int | None = None
        """Start holding once this many requests were answered."""
        self._release = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.origin = ""

    async def start(self) -> PushService:
        app = web.Application()
        app.router.add_post("/push/{sub}", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.origin = f"http://127.0.0.1:{port}"
        return self

    async def stop(self) -> None:
        self.release()
        if self._runner is not None:
            await self._runner.cleanup()

    def subscription(self) -> dict[str, Any]:
        """A new browser subscription: what ``PushSubscription.toJSON()`` gives a PWA."""
        sub_id = uuid.uuid4().hex
        private = ec.generate_private_key(ec.SECP256R1())
        auth = os.urandom(16)
        self.subscribers[sub_id] = Subscriber(sub_id, private, auth)
        public = private.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return {"endpoint": f"{self.origin}/push/{sub_id}",
                "keys": {"p256dh": b64url(public), "auth": b64url(auth)}}

    def respond(self, endpoint: str, answers: Iterable[tuple[int, dict[str, str]]]) -> None:
        self.scripts.setdefault(endpoint.rsplit("/", 1)[1], []).extend(answers)

    def hold(self) -> None:
        self.holding = True
        self._release.clear()

    def release(self) -> None:
        self.holding = False
        self._release.set()

    def for_endpoint(self, endpoint: str) -> list[Received]:
        sub_id = endpoint.rsplit("/", 1)[1]
        return [r for r in self.received if r.subscription == sub_id]

    async def _handle(self, request: web.Request) -> web.Response:
        sub_id = request.match_info["sub"]
        subscriber = self.subscribers.get(sub_id)
        if subscriber is None:
            return web.Response(status=404)
        body = await request.read()
        try:
            vapid_key = self._check_vapid(request.headers.get("Authorization", ""))
            received = self._open(subscriber, request, body, vapid_key)
        except AssertionError as exc:
            self.errors.append(str(exc))
            return web.Response(status=400, text=str(exc))
        self.received.append(received)
        answered = sum(1 for r in self.received if r.answered is not None)
        if self.hold_after is not None and answered >= self.hold_after:
            self.hold()
            self.hold_after = None
        if self.holding:
            self.held += 1
            await self._release.wait()
            if request.transport is None or request.transport.is_closing():
                return web.Response(status=499)  # the sender is gone: it never heard back
        script = self.scripts.get(sub_id)
        status, headers = script.pop(0) if script else (201, {})
        received.answered = status
        return web.Response(status=status, headers=headers)

    def _check_vapid(self, authorization: str) -> str:
        scheme, _, params = authorization.partition(" ")
        assert scheme.lower() == "vapid", f"Authorization scheme {scheme!r} is not vapid"
        parts = dict(p.strip().split("=", 1) for p in params.split(","))
        token, key = parts["t"], parts["k"]
        public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(key))
        head_b64, claims_b64, signature_b64 = token.split(".")
        header = json.loads(unb64url(head_b64))
        assert header.get("alg") == "ES256", f"JWT alg {header.get('alg')}"
        signature = unb64url(signature_b64)
        assert len(signature) == 64, "ES256 signature must be 64 bytes (r||s)"
        der = encode_dss_signature(int.from_bytes(signature[:32], "big"),
                                   int.from_bytes(signature[32:], "big"))
        try:
            public.verify(der, f"{head_b64}.{claims_b64}".encode(), ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            raise AssertionError("VAPID JWT signature does not verify") from None
        claims = json.loads(unb64url(claims_b64))
        assert claims.get("aud") == self.origin, f"aud {claims.get('aud')} != {self.origin}"
        assert int(claims.get("exp", 0)) > time.time(), "JWT expired"
        assert int(claims["exp"]) <= time.time() + 24 * 3600, "JWT exp more than 24 h ahead"
        assert str(claims.get("sub", "")).startswith(("mailto:", "https:")), "sub missing"
        return key

    def _open(self, subscriber: Subscriber, request: web.Request, body: bytes,
              vapid_key: str) -> Received:
        assert request.headers.get("Content-Encoding") == "aes128gcm", "not aes128gcm"
        ttl = request.headers.get("TTL")
        assert ttl is not None and ttl.isdigit(), "TTL header missing"
        urgency = request.headers.get("Urgency")
        assert urgency in URGENCIES, f"Urgency {urgency!r}"
        topic = request.headers.get("Topic")
        assert topic is None or (len(topic) <= 32 and set(topic) <= B64URL), f"Topic {topic!r}"
        plain = http_ece.decrypt(body, private_key=subscriber.private_key,
                                 auth_secret=subscriber.auth, version="aes128gcm")
        return Received(subscriber.id, json.loads(plain), topic, int(ttl), urgency, vapid_key)


async def sent_pairs(state: AppState) -> set[tuple[str, str]]:
    """(push service subscription, notification) of every delivery recorded as sent."""
    async with state.db.read() as conn:
        rows = await conn.execute(
            select(push_subscriptions.c.endpoint, push_deliveries.c.notification_id)
            .join(push_subscriptions, push_subscriptions.c.id == push_deliveries.c.subscription_id)
            .where(push_deliveries.c.state == "sent"))
        return {(endpoint.rsplit("/", 1)[1], note) for endpoint, note in rows}
