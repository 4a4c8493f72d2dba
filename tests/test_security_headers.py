"""Security headers on every kind of answer, HSTS only over HTTPS, the HTML content type
sent once, and the rate limits of the anonymous routes (docs/security.md)."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import httpx
import pytest

from server.app import create_app
from server.ratelimit import RateLimiter, group_of
from tests.conftest import Api
from tests.devices import Device
from tests.donation_setup import STATION, World, build_world, money, phone
from tests.helpers import new_id

pytestmark = pytest.mark.anyio

SECURITY = {
    "content-security-policy": None,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "permissions-policy": None,
}


@pytest.fixture
async def world(api: Api) -> World:
    return await build_world(api)


@pytest.fixture
async def client(api: Api) -> AsyncIterator[httpx.AsyncClient]:
    """A client of an app that also serves the phone app's files (``serve_static``)."""
    api.state.settings = dataclasses.replace(api.state.settings, serve_static=True)
    transport = httpx.ASGITransport(app=create_app(state=api.state))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


def assert_secure(response: httpx.Response) -> None:
    for name, value in SECURITY.items():
        assert name in response.headers, f"{response.request.url}: no {name}"
        if value is not None:
            assert response.headers[name] == value
    csp = response.headers["content-security-policy"]
    for part in ("default-src 'self'", "script-src 'self';", "object-src 'none'",
                 "base-uri 'self'", "frame-ancestors 'none'", "form-action 'self'"):
        assert part in csp, (part, csp)
    assert "'unsafe-eval'" not in csp and "script-src 'self' 'unsafe-inline'" not in csp
    assert "camera=(self)" in response.headers["permissions-policy"]
    assert response.headers.get_list("content-security-policy") == [csp]  # sent once


async def test_every_kind_of_answer_carries_the_security_headers(
        world: World, client: httpx.AsyncClient) -> None:
    admin = Api.auth(await world.api.token("root", "admin"))
    answers = [
        await client.post("/api/v1/sync/pull", headers=admin,
                          json={"protocol": 1, "client_id": new_id(), "cursor": None}),  # API
        await client.post("/api/v1/sync/pull", json={}),  # API refusal (401)
        await client.get("/"),  # the app shell
        await client.get("/sw.js"),  # the service worker
        await client.get("/manifest.webmanifest"),  # a static file
        await client.get(f"/public/events/{world.event_id}"),  # a public page
        await client.get(f"/api/v1/public/events/{world.event_id}"),  # its JSON
        await client.get("/public/events/nope"),  # a public 404 page
        await client.get("/public/static/event.js"),  # the public page's script
        await client.get("/schema"),  # Swagger UI
        await client.get("/schema/openapi.json"),
        await client.get("/api/v1/nothing"),  # a 404 of the API
        await client.get("/%00"),  # refused before routing
    ]
    assert [a.status_code for a in answers] == [200, 401, 200, 200, 200, 200, 200, 404, 200,
                                                200, 200, 404, 400]
    for response in answers:
        assert_secure(response)
        assert "strict-transport-security" not in response.headers  # plain HTTP


async def test_hsts_only_over_https(world: World, api: Api) -> None:
    transport = httpx.ASGITransport(app=create_app(state=api.state))
    async with httpx.AsyncClient(transport=transport, base_url="https://test") as https:
        for path in (f"/public/events/{world.event_id}", "/api/v1/public/funds", "/schema"):
            response = await https.get(path)
            assert response.status_code == 200, path
            assert response.headers["strict-transport-security"] == "max-age=31536000"
            assert_secure(response)
    plain = await api.http.get(f"/public/events/{world.event_id}")
    assert "strict-transport-security" not in plain.headers


async def test_hsts_behind_a_proxy_only_when_the_proxy_is_trusted(api: Api) -> None:
    """uvicorn's proxy-header middleware (what ``serve`` runs with ``forwarded_allow_ips``)
    turns ``X-Forwarded-Proto: https`` into the scope's scheme only from a trusted address."""
    from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

    app = create_app(state=api.state)
    proxied = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "198.51.100.9"}
    for client, trusted in ((("127.0.0.1", 5000), True), (("203.0.113.7", 5000), False)):
        transport = httpx.ASGITransport(
            app=ProxyHeadersMiddleware(app, trusted_hosts="127.0.0.1"), client=client)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            response = await http.get("/api/v1/public/funds", headers=proxied)
        assert response.status_code == 200
        assert ("strict-transport-security" in response.headers) is trusted, client


async def test_html_content_type_is_sent_once(world: World, client: httpx.AsyncClient) -> None:
    for path in (f"/public/events/{world.event_id}", "/public/funds",
                 f"/public/funds/{world.fund_id}", "/public/receipts/X-1?code=Y",
                 "/public/events/nope", "/"):
        response = await client.get(path)
        assert response.headers["content-type"] == "text/html; charset=utf-8", path


async def test_public_pages_have_no_inline_script(world: World, client: httpx.AsyncClient) -> None:
    """``script-src 'self'`` would block an inline script: none is left on the pages."""
    import re

    for path in (f"/public/events/{world.event_id}", "/public/funds",
                 f"/public/funds/{world.fund_id}", "/public/receipts/X-1?code=Y", "/", "/schema"):
        page = (await client.get(path)).text
        for tag in re.findall(r"<script\b[^>]*>", page):
            assert "src=" in tag, (path, tag)
        assert not re.search(r"<script\b[^>]*>\s*[^<\s]", page), path
        assert not re.search(r"<[^>]+\son[a-z]+\s*=", page), path  # no onsubmit="..." either
        assert "javascript:" not in page, path
    event = (await client.get(f"/public/events/{world.event_id}")).text
    assert f'data-stream="/api/v1/public/events/{world.event_id}/stream"' in event


# ----------------------------------------------------------------------------- rate limits


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def limited(api: Api, **per_minute: int) -> Clock:
    clock = Clock()
    api.state.limiter = RateLimiter({"receipt": 0, "stream": 0, "enrol": 0, "public": 0,
                                     **per_minute}, clock=clock)
    return clock


def test_route_groups() -> None:
    assert group_of("/api/v1/public/receipts/A-1") == "receipt"
    assert group_of("/public/receipts/A-1") == "receipt"
    assert group_of("/api/v1/public/events/e1/stream") == "stream"
    assert group_of("/api/v1/public/events/e1") == "public"
    assert group_of("/public/funds/f1") == "public"
    assert group_of("/api/v1/public/funds/f1/verify") == "public"
    assert group_of("/api/v1/enrol") == "enrol"
    assert group_of("/api/v1/signup") == "enrol"
    assert group_of("/api/v1/public/signup/abc") == "enrol"
    for free in ("/api/v1/sync/push", "/api/v1/sync/pull", "/api/v1/enrol/codes", "/",
                 "/assets/index.js", "/schema", "/public/static/event.js"):
        assert group_of(free) is None, free


async def test_receipt_checks_beyond_the_limit_get_429_with_retry_after(
        world: World, api: Api) -> None:
    clock = limited(api, receipt=5)
    for _ in range(5):
        assert (await api.http.get("/api/v1/public/receipts/X-1", params={"code": "A"})
                ).status_code == 404
    refused = await api.http.get("/api/v1/public/receipts/X-1", params={"code": "B"})
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "12"  # one of 5 per minute comes back in 12 s
    body = refused.json()
    assert body["code"] == "rate_limited" and body["request_id"] == refused.headers["x-request-id"]
    assert "12" in body["message"]["zh"] and "12" in body["message"]["en"]
    assert_secure(refused)

    page = await api.http.get("/public/receipts/X-1", params={"code": "B"})  # same group
    assert page.status_code == 429 and page.headers["retry-after"]
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert "请求过于频繁" in page.text and "Too many requests" in page.text

    # other anonymous groups and the sync routes are not spent by it
    assert (await api.http.get(f"/api/v1/public/events/{world.event_id}")).status_code == 200
    shop = await phone(world, "staff9")
    for _ in range(8):
        assert (await shop.device.send("donation.record", money(new_id(), 100)))[
            "status"] == "applied"
    await shop.device.pull()

    clock.now += 11
    assert (await api.http.get("/api/v1/public/receipts/X-1")).status_code == 429
    clock.now += 1  # the limit resets: one token back after 12 s, all 5 after a minute
    assert (await api.http.get("/api/v1/public/receipts/X-1")).status_code == 404
    assert (await api.http.get("/api/v1/public/receipts/X-1")).status_code == 429
    clock.now += 60
    for _ in range(5):
        assert (await api.http.get("/public/receipts/X-1")).status_code == 404


async def test_limits_are_per_client_address(world: World, api: Api) -> None:
    limited(api, public=2)
    other = httpx.ASGITransport(app=create_app(state=api.state), client=("203.0.113.7", 4000))
    async with httpx.AsyncClient(transport=other, base_url="http://test") as http:
        for _ in range(2):
            assert (await api.http.get("/api/v1/public/funds")).status_code == 200
        assert (await api.http.get("/api/v1/public/funds")).status_code == 429
        assert (await http.get("/api/v1/public/funds")).status_code == 200  # another address


async def test_enrolment_and_streams_are_limited(world: World, api: Api) -> None:
    limited(api, enrol=2, stream=1)
    for _ in range(2):
        assert (await api.http.post("/api/v1/enrol", json={"code": "nope"})).status_code != 429
    refused = await api.http.post("/api/v1/enrol", json={"code": "nope"})
    assert refused.status_code == 429 and refused.json()["code"] == "rate_limited"
    assert (await api.http.post("/api/v1/signup", json={})).status_code == 429
    assert (await api.http.get("/api/v1/public/events/nope/stream")).status_code == 404
    assert (await api.http.get("/api/v1/public/events/nope/stream")).status_code == 429


async def test_authenticated_sync_is_never_limited(world: World, api: Api) -> None:
    limited(api, receipt=1, stream=1, enrol=1, public=1)
    device = Device(api, await api.token("staff2", "staff", station=STATION))
    for _ in range(30):
        assert (await api.pull(device.token, device.client_id)).status_code == 200
