"""Browser tests: the built phone app in headless Chromium (Playwright, sync API) against
the real server started as a subprocess on SQLite.

Chromium is the system one (``/usr/bin/chromium``, installed by ``.ci/run``); Playwright's
own browsers are never downloaded. Without it the tests skip with the reason, unless
``CHARITY_REQUIRE_BROWSER=1`` (CI) makes that a failure. Screenshots of each main screen at
360x740 go to ``artifacts/screenshots/``.

Here: the fixtures (``browser``, ``server``, ``phones``) and what they hand out (``Server``,
``Phone``, ``eventually``). The steps tests repeat (enrol, back online, the sync alert, an
event's form, seeds) are in tests/browser/steps.py; a test module never imports another.
"""

from __future__ import annotations

import asyncio
import os
import re
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.helpers import mutation
from tests.serverproc import ROOT, ServerProcess, cli_token

CHROMIUM = Path(os.environ.get("CHARITY_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
REQUIRE_BROWSER = os.environ.get("CHARITY_REQUIRE_BROWSER") == "1"
DIST = ROOT / "pwa" / "dist"
SHOTS = ROOT / "artifacts" / "screenshots"
PHONE = {"width": 360, "height": 740}
TIMEOUT_MS = 15000

pytestmark = pytest.mark.browser


def _unavailable(reason: str) -> None:
    if REQUIRE_BROWSER:
        pytest.fail(reason + " (CHARITY_REQUIRE_BROWSER=1: browser tests are required)")
    pytest.skip(reason)


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        _unavailable(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    if not (DIST / "index.html").is_file():
        pytest.fail("pwa/dist is missing: run ./scripts/setup.sh (npm ci and the build)")
    from playwright.sync_api import expect, sync_playwright

    # Assertions wait as long as actions do (Playwright's own default is 5 s, too short for
    # a loaded CI machine running four test workers beside the servers).
    expect.set_options(timeout=TIMEOUT_MS)
    # Package scope: Playwright's sync API runs an event loop in this thread until it
    # stops, which the async tests that follow must not find still running.
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


class Server:
    """The server subprocess plus an admin who seeds data through the sync API."""

    def __init__(self, proc: ServerProcess) -> None:
        self.proc = proc
        self.base_url = proc.base_url
        self.http = httpx.Client(base_url=proc.base_url, timeout=10)
        self.admin = self.token("admin", "admin")
        self.admin_client = str(uuid.uuid4())
        self.next_id = 1

    def token(self, user: str, role: str, station: str | None = None, district: str | None = None) -> str:
        """A device token from ``python -m server token issue``, as a phone's user gets one."""
        return cli_token(database_url=self.proc.database_url, data_dir=self.proc.data_dir,
                         user=user, role=role, station=station, district=district)

    def push(self, name: str, args: dict[str, Any]) -> dict[str, Any]:
        """One mutation as the admin; returns its result."""
        body = {"protocol": 1, "client_id": self.admin_client,
                "mutations": [mutation(self.next_id, name, args)]}
        self.next_id += 1
        response = self.http.post("/api/v1/sync/push", json=body,
                                  headers={"Authorization": f"Bearer {self.admin}"})
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()["results"][0]
        assert result["status"] in ("applied", "flagged"), result
        return result

    def records(self, type_name: str) -> dict[str, dict[str, Any]]:
        """The server's current records of a type, as the admin sees them (a full snapshot)."""
        found: dict[str, dict[str, Any]] = {}
        cursor = None
        client = str(uuid.uuid4())
        while True:
            page = self.http.post(
                "/api/v1/sync/pull", json={"protocol": 1, "client_id": client, "cursor": cursor},
                headers={"Authorization": f"Bearer {self.admin}"},
            ).json()
            for change in page["changes"]:
                if change["type"] == type_name:
                    if change["op"] == "put":
                        found[change["id"]] = change["data"]
                    else:
                        found.pop(change["id"], None)
            cursor = page["cursor"]
            if not page["more"]:
                return found

    def wait_for(self, check: Callable[[], bool], what: str, timeout: float = TIMEOUT_MS / 1000,
                 page: Any = None) -> None:
        """Poll the server until ``check()`` holds (a phone's sync is asynchronous). With a
        ``page``, wait through it, so Playwright keeps dispatching route handlers meanwhile."""
        deadline = time.monotonic() + timeout
        while not check():
            if time.monotonic() > deadline:
                raise AssertionError(f"server never showed: {what}")
            if page is not None:
                page.wait_for_timeout(100)
            else:
                time.sleep(0.1)

    def station(self, code: str, district: str = "天河区") -> None:
        self.push("station.create", {"code": code, "name": f"{code} 社工站", "district": district})

    def event(self, station: str, title: str, date: str = "2026-12-05", **extra: Any) -> str:
        event_id = str(uuid.uuid4())
        self.push("event.create", {"id": event_id, "station": station, "date": date, "title": title, **extra})
        return event_id


def _postgres_url(name: str) -> str:
    """A fresh PostgreSQL database for the browser tests' server (made in a thread: the
    Playwright loop may already run in this one)."""
    from concurrent.futures import ThreadPoolExecutor

    from tests.conftest import PG_ADMIN_URL, REQUIRE_PG, _create_pg_database, _pg_url

    try:
        with ThreadPoolExecutor(1) as pool:
            pool.submit(asyncio.run, _create_pg_database(name)).result()
    except Exception as exc:  # noqa: BLE001 - any failure to reach the server
        message = f"PostgreSQL not reachable at {PG_ADMIN_URL}: {exc!r}"
        if REQUIRE_PG:
            pytest.fail(message + " (CHARITY_REQUIRE_POSTGRES=1: PostgreSQL tests are required)")
        pytest.skip(message)
    return _pg_url(name)


def _drop_postgres(name: str) -> None:
    from concurrent.futures import ThreadPoolExecutor

    import asyncpg

    from tests.conftest import PG_ADMIN_URL

    async def drop() -> None:
        conn = await asyncpg.connect(PG_ADMIN_URL.replace("postgresql://", "postgres://", 1), timeout=5)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, drop()).result()


@pytest.fixture(scope="package", params=["sqlite"])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """SQLite unless a test asks for ``postgres`` too (``indirect`` parametrisation)."""
    data_dir = tmp_path_factory.mktemp(f"pwa-server-{request.param}")
    if request.param == "postgres":
        url = _postgres_url(f"charity_browser_{os.getpid()}")
    else:
        url = f"sqlite:///{data_dir / 'charity.db'}"
    # the notification tests subscribe at https://push.example.test (not a public push service)
    proc = ServerProcess(database_url=url, data_dir=data_dir,
                         extra_env={"CHARITY_PUSH_ANY_HOST": "1"})
    with proc:
        seeded = Server(proc)
        yield seeded
        seeded.http.close()
    if request.param == "postgres":
        _drop_postgres(f"charity_browser_{os.getpid()}")


def eventually(page: Any, expression: str, expected: Any, timeout: float = TIMEOUT_MS / 1000) -> None:
    """Evaluate ``expression`` (it may return a promise, which page.evaluate awaits, unlike
    wait_for_function) until it gives ``expected``."""
    deadline = time.monotonic() + timeout
    value = None
    while time.monotonic() < deadline:
        value = page.evaluate(expression)
        if value == expected:
            return
        time.sleep(0.1)
    raise AssertionError(f"{expression} gave {value!r}, not {expected!r}")


class Phone:
    """One phone: a browser context of its own (its own IndexedDB, service worker, network)."""

    def __init__(self, browser: Any, server: Server, name: str, **options: Any) -> None:
        """``options`` go to the browser context as well (e.g. ``bypass_csp=True``)."""
        self.server = server
        self.name = name
        self.context = browser.new_context(
            viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True,
            locale="zh-CN", service_workers="allow", base_url=server.base_url, **options,
        )
        self.context.set_default_timeout(TIMEOUT_MS)
        self.page = self.context.new_page()
        self.messages: list[str] = []
        self.page.on("console", lambda msg: self.messages.append(f"{msg.type}: {msg.text}"))
        self.page.on("pageerror", lambda exc: self.messages.append(f"pageerror: {exc}"))

    def enrol(self, token: str) -> None:
        """Open the enrolment link; wait until the app synced once and the service worker
        (with the precached shell) controls the page."""
        self.page.goto(f"/#/enrol?token={token}")
        self.page.wait_for_url("**/#/events")
        # not wait_for_function: Playwright evaluates its string with eval, which the
        # server's Content-Security-Policy (no 'unsafe-eval') refuses; evaluate is not bound
        eventually(self.page, "navigator.serviceWorker.controller !== null", True)
        self.wait_synced()

    def go(self, path: str) -> None:
        self.page.evaluate("path => { location.hash = path }", path)

    def offline(self, flag: bool) -> None:
        self.context.set_offline(flag)

    def pending(self) -> int:
        return int(self.page.get_by_test_id("sync-pending").get_attribute("data-count") or "0")

    def wait_synced(self) -> None:
        """Nothing left in the outbox and at least one completed sync."""
        from playwright.sync_api import expect

        # the count, not its words: "all synced" is not said while a sync runs or a file waits
        self.page.wait_for_selector(
            '[data-testid="syncbar"]:not([data-long]) [data-testid="sync-pending"][data-count="0"]',
            state="attached")
        expect(self.page.get_by_test_id("sync-last")).not_to_contain_text(
            re.compile("尚未|Not synced"))

    def shot(self, name: str) -> None:
        SHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SHOTS / f"{name}.png"))

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def phones(browser: Any, server: Server, request: pytest.FixtureRequest) -> Iterator[Any]:
    """``phones("name")`` makes a phone; all are closed after the test. On failure the
    pages' console output is printed, which is what one needs to see why."""
    made: list[Phone] = []

    def make(name: str) -> Phone:
        phone = Phone(browser, server, name)
        made.append(phone)
        return phone

    yield make
    for phone in made:
        if phone.messages:
            print(f"--- console of {phone.name} ---\n" + "\n".join(phone.messages[-40:]))
        phone.close()
