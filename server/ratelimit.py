"""Rate limits on the anonymous routes, per client address and route group: a token
bucket per (group, address) that holds ``per_minute`` requests and refills continuously,
so a burst of ``per_minute`` passes and then one request every ``60/per_minute`` seconds.
Beyond it the answer is ``429 rate_limited`` with ``Retry-After`` (the seconds until one
token is back), in the contract's error shape, or a short bilingual page under
``/public/``; nothing of the route runs. Like load shedding (``server/shedding.py``) it
is decided before any work is done.

The client address is the scope's: uvicorn replaces it with ``X-Forwarded-For`` only for
requests from ``forwarded_allow_ips`` (the proxy's), so a client cannot pick its own.

The buckets live in this process. With ``--workers N`` (or several machines) each worker
keeps its own, so an address gets up to N times the limit; the limits are sized against
abuse (thousands of guesses, hundreds of open streams), where a factor of N does not
matter. Litestar's ``RateLimitConfig`` was weighed and not used: one limit per middleware
keyed by address only (no route groups without a store per group), a fixed window, the
whole history of a window re-encoded as JSON on each request, and its refusal is not in
the contract's error shape nor carries ``Retry-After``.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

from server.settings import Settings

GROUPS = ("receipt", "stream", "enrol", "public")
MAX_BUCKETS = 50_000
"""Buckets kept per group before the full (idle) ones are dropped: memory stays bounded
when many addresses pass by."""

STATIC = "/public/static/"
"""The public pages' own script files: as cheap as the app's, not limited."""
_STREAM = re.compile(r"^/api/v1/public/events/[^/]+/stream/?$")
_NEED_FORM = re.compile(r"^/public/rounds/[^/]+/needs/?$")
"""A resident's need from a round's public page (server/rounds_public.py)."""


def group_of(path: str) -> str | None:
    """Which limit a request path falls under; None for the routes that are not limited
    (everything that needs a device token, the phone app's files, Swagger UI)."""
    if path.startswith(("/api/v1/public/receipts/", "/public/receipts/")) or path in (
            "/public/receipts", "/api/v1/public/receipts"):
        return "receipt"
    if _STREAM.match(path):
        return "stream"
    if path.rstrip("/") in ("/api/v1/enrol", "/api/v1/signup") or path.startswith(
            "/api/v1/public/signup/"):
        return "enrol"
    if _NEED_FORM.match(path):
        return "enrol"  # an anonymous write, like a sign-up: the stricter limit
    if path.startswith(STATIC):
        return None
    if path.startswith(("/public/", "/api/v1/public/")) or path in ("/public", "/api/v1/public"):
        return "public"
    return None


@dataclass
class _Bucket:
    tokens: float
    at: float


class RateLimiter:
    def __init__(self, per_minute: dict[str, int], clock: Callable[[], float] = time.monotonic
                 ) -> None:
        self.per_minute = dict(per_minute)
        self.clock = clock
        self._buckets: dict[str, dict[str, _Bucket]] = {g: {} for g in per_minute}
        self.refused_count = 0

    @classmethod
    def from_settings(cls, settings: Settings) -> RateLimiter:
        return cls({
            "receipt": settings.ratelimit_receipt_per_minute,
            "stream": settings.ratelimit_stream_per_minute,
            "enrol": settings.ratelimit_enrol_per_minute,
            "public": settings.ratelimit_public_per_minute,
        })

    def take(self, group: str, address: str) -> int | None:
        """Spend one request of ``address`` in ``group``: None when it may go ahead, else
        the whole seconds until it may (for ``Retry-After``). A limit of 0 is no limit."""
        rate = self.per_minute.get(group, 0)
        if rate <= 0:
            return None
        now = self.clock()
        buckets = self._buckets.setdefault(group, {})
        bucket = buckets.get(address)
        if bucket is None:
            if len(buckets) >= MAX_BUCKETS:
                self._forget_idle(buckets, rate, now)
            bucket = buckets[address] = _Bucket(float(rate), now)
        else:
            bucket.tokens = min(float(rate), bucket.tokens + (now - bucket.at) * rate / 60)
            bucket.at = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return None
        self.refused_count += 1
        return max(1, math.ceil((1 - bucket.tokens) * 60 / rate))

    @staticmethod
    def _forget_idle(buckets: dict[str, _Bucket], rate: int, now: float) -> None:
        """Drop the buckets that have refilled (their address is as if never seen); if
        that frees nothing, the oldest half goes."""
        full = [a for a, b in buckets.items() if b.tokens + (now - b.at) * rate / 60 >= rate]
        for address in full:
            del buckets[address]
        if len(buckets) >= MAX_BUCKETS:
            for address in sorted(buckets, key=lambda a: buckets[a].at)[: len(buckets) // 2]:
                del buckets[address]


TOO_MANY_ZH = "请求过于频繁,请 {wait} 秒后再试"
TOO_MANY_EN = "too many requests; try again in {wait}s"
TOO_MANY_PAGE = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>请求过于频繁 · Too many requests</title></head>
<body style="font-family:system-ui,sans-serif;padding:24px;max-width:560px">
<main><h1>请求过于频繁</h1><p>请 {wait} 秒后再刷新本页。</p>
<h2 lang="en">Too many requests</h2><p lang="en">Please reload this page in {wait} seconds.</p>
<p>请求编号 / request id: <code>{request_id}</code></p></main></body></html>"""
