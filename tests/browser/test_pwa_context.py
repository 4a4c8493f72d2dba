"""The app opened where it cannot work says so first: over plain http from another machine
(not a secure context: no service worker, no camera, no ``crypto.randomUUID``) and inside
WeChat's in-app browser (data may be wiped; open it in the phone's browser instead)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, PHONE, SHOTS, TIMEOUT_MS
from tests.serverproc import ServerProcess

WECHAT_UA = (
    "Mozilla/5.0 (Linux; Android 13; V2183A Build/TP1A.220624.014; wv) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Version/4.0 Chrome/116.0.0.0 Mobile Safari/537.36 XWEB/1160065 "
    "MMWEBSDK/20231202 MMWEBID/2247 MicroMessenger/8.0.47.2560(0x28002F30) WeChat/arm64 "
    "Weixin NetType/WIFI Language/zh_CN ABI/arm64"
)
MAPPED = "phone.test"


def _lan_ip() -> str | None:
    """A non-loopback IPv4 address of this machine (what ``hostname -I`` shows first)."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.connect(("192.0.2.1", 9))  # no packet is sent; this only picks a route
            address = str(sock.getsockname()[0])
    except OSError:
        return None
    return None if address.startswith("127.") else address


@pytest.fixture(scope="module")
def lan(browser: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, str, ServerProcess]]:
    """A server reachable at a non-secure origin, and a browser that can reach it: the
    machine's LAN address (server bound to 0.0.0.0) or, without one, a made-up host name
    that Chromium maps to 127.0.0.1 (still not a secure context: only localhost and
    127.0.0.1 are)."""
    data_dir: Path = tmp_path_factory.mktemp("pwa-context")
    ip = _lan_ip()
    proc = ServerProcess(
        database_url=f"sqlite:///{data_dir / 'charity.db'}", data_dir=data_dir,
        extra_env={"CHARITY_HOST": "0.0.0.0"} if ip else {},
    )
    args = [*CHROMIUM_ARGS] + ([] if ip else [f"--host-resolver-rules=MAP {MAPPED} 127.0.0.1"])
    with proc:
        launched = browser.browser_type.launch(executable_path=str(CHROMIUM), args=args)
        try:
            yield launched, f"http://{ip or MAPPED}:{proc.port}", proc
        finally:
            launched.close()


def _page(browser: Any, base_url: str, **extra: Any) -> Any:
    context = browser.new_context(
        viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True,
        locale="zh-CN", base_url=base_url, **extra,
    )
    context.set_default_timeout(TIMEOUT_MS)
    return context, context.new_page()


def test_plain_http_from_another_machine_explains_https(lan: tuple[Any, str, ServerProcess]) -> None:
    launched, origin, _ = lan
    context, page = _page(launched, origin)
    try:
        page.goto("/#/enrol?code=SECRET-CODE-123")
        assert page.evaluate("window.isSecureContext") is False
        screen = page.get_by_test_id("context-insecure")
        screen.wait_for()
        text = screen.inner_text()
        assert "此页面需要通过 HTTPS 打开" in text
        assert "must be opened over HTTPS" in text
        assert "管理员" in text and "administrator" in text
        # the enrol form (which would blame the code) is not there
        assert page.locator("input#short").count() == 0
        # the https link keeps the path and the enrolment code, which the text never shows
        host = origin.removeprefix("http://")
        link = page.get_by_test_id("context-https-link")
        assert link.get_attribute("href") == f"https://{host}/#/enrol?code=SECRET-CODE-123"
        assert "SECRET-CODE-123" not in text
        # nothing sticks out sideways on a small phone
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"page is {width}px wide on a {PHONE['width']}px phone"
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "context-insecure.png"), full_page=True)
    finally:
        context.close()


def test_secure_origin_goes_straight_to_the_app(lan: tuple[Any, str, ServerProcess]) -> None:
    """127.0.0.1 is a secure context: no explanation, the enrol form at once."""
    launched, _, proc = lan
    context, page = _page(launched, proc.base_url)
    try:
        page.goto("/#/enrol")
        page.locator("input#short").wait_for()
        assert page.get_by_test_id("context-insecure").count() == 0
        assert page.get_by_test_id("context-wechat").count() == 0
    finally:
        context.close()


def test_wechat_browser_is_told_to_open_the_phone_browser(lan: tuple[Any, str, ServerProcess]) -> None:
    launched, _, proc = lan
    context, page = _page(launched, proc.base_url, user_agent=WECHAT_UA)
    try:
        page.goto("/#/enrol?code=abc")
        screen = page.get_by_test_id("context-wechat")
        screen.wait_for()
        text = screen.inner_text()
        assert "在浏览器打开" in text and "···" in text
        assert "Open in Browser" in text
        assert page.locator("input#short").count() == 0
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"page is {width}px wide on a {PHONE['width']}px phone"
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "context-wechat.png"), full_page=True)
        # staying in WeChat is possible (some phones cannot leave it), and not asked again
        page.get_by_test_id("context-continue").click()
        page.get_by_test_id("enrol-link").wait_for()  # the link's enrol screen
        page.reload()  # the code left the address bar: the scan and short-code form
        page.locator("input#short").wait_for()
        assert page.get_by_test_id("context-wechat").count() == 0
    finally:
        context.close()


def test_plain_http_inside_wechat_gives_both_steps(lan: tuple[Any, str, ServerProcess]) -> None:
    """WeChat over http: HTTPS comes first (a phone browser on http would not help), with
    the way out of WeChat alongside."""
    launched, origin, _ = lan
    context, page = _page(launched, origin, user_agent=WECHAT_UA)
    try:
        page.goto("/")
        screen = page.get_by_test_id("context-insecure")
        screen.wait_for()
        text = screen.inner_text()
        assert "HTTPS" in text and "在浏览器打开" in text
        assert page.get_by_test_id("context-wechat").count() == 0
        page.screenshot(path=str(SHOTS / "context-insecure-wechat.png"), full_page=True)
    finally:
        context.close()
