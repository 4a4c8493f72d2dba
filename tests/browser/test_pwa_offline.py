"""Offline from the start: the app loads once online, then starts with no network, keeps
what was entered offline across a reload, and delivers it when the network is back."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import Phone, Server
from tests.browser.steps import back_online, enrol_phone


def test_installable_shell(phones: Any, server: Server) -> None:
    """Manifest (name, standalone, theme colour, icons that load) and a service worker at
    scope "/" whose precache list names the built files."""
    phone: Phone = phones("install")
    phone.page.goto("/")
    expect(phone.page.get_by_role("heading", name="登记本设备")).to_be_visible()
    phone.shot("01-enrol")
    phone.page.get_by_text("有恢复令牌?").click()
    phone.page.get_by_label("恢复令牌").fill("not-a-token")
    phone.page.get_by_role("button", name="用令牌登记").click()
    expect(phone.page.get_by_test_id("enrol-message")).to_contain_text("令牌无效")
    manifest = phone.page.evaluate("fetch('/manifest.webmanifest').then(r => r.json())")
    assert manifest["name"].startswith("社区慈善")
    assert manifest["display"] == "standalone"
    assert manifest["theme_color"] == "#c0392b"
    sizes = {icon["sizes"] for icon in manifest["icons"]}
    assert {"192x192", "512x512"} <= sizes
    for icon in manifest["icons"]:
        status = phone.page.evaluate("src => fetch(src).then(r => r.status + ' ' + r.headers.get('content-type'))", icon["src"])
        assert status == "200 image/png", (icon, status)
    scope = phone.page.evaluate("navigator.serviceWorker.ready.then(r => r.scope)")
    assert scope == server.base_url + "/"
    cached = phone.page.evaluate(
        "caches.keys().then(ks => Promise.all(ks.map(k => caches.open(k).then(c => c.keys()))))"
        ".then(lists => lists.flat().map(r => new URL(r.url).pathname))"
    )
    assert "/index.html" in cached
    assert any(re.fullmatch(r"/assets/index-[\w-]+\.js", path) for path in cached), cached


def test_offline_start_edit_and_create_reach_server(phones: Any, server: Server) -> None:
    server.station("OF-001")
    existing = server.event("OF-001", "社区义卖", date="2026-12-05", contact_phone="13800138000")
    phone = enrol_phone(phones, server, "offline", "staff-of", "staff", station="OF-001")
    page = phone.page
    expect(page.get_by_test_id("event-card").filter(has_text="社区义卖")).to_be_visible()
    phone.shot("02-events")

    # No network at all, then a reload: the shell comes from the service worker's precache
    # and the data from IndexedDB.
    phone.offline(True)
    page.reload()
    expect(page.get_by_test_id("event-card").filter(has_text="社区义卖")).to_be_visible()
    expect(page.get_by_test_id("sync-state")).to_have_text("离线")

    # Edit the existing event offline.
    page.get_by_test_id("event-card").filter(has_text="社区义卖").click()
    expect(page.get_by_test_id("event-title")).to_have_text("社区义卖")
    phone.shot("03-event-detail")
    page.get_by_test_id("edit-event").click()
    page.locator("input[name=title]").fill("社区义卖(改期)")
    page.locator("input[name=date]").fill("2026-12-06")
    phone.shot("04-event-edit")
    page.get_by_test_id("save-event").click()
    expect(page.get_by_test_id("event-title")).to_have_text("社区义卖(改期)")

    # Create one offline.
    phone.go("/events")
    page.get_by_test_id("new-event").click()
    page.locator("input[name=title]").fill("离线新建的活动")
    page.locator("input[name=date]").fill("2026-12-24")
    page.locator("input[name=contact_phone]").fill("020-12345678")
    page.locator("textarea[name=notes]").fill("在广场东门")
    phone.shot("05-event-new")
    page.get_by_test_id("save-event").click()
    expect(page.get_by_test_id("event-title")).to_have_text("离线新建的活动")
    created_id = page.url.rsplit("/", 1)[-1]
    assert phone.pending() == 2

    # Survives a reload, still offline: shown with its pending mark.
    page.reload()
    expect(page.get_by_test_id("event-title")).to_have_text("离线新建的活动")
    assert phone.pending() == 2
    phone.go("/events")
    expect(page.get_by_test_id("event-card").filter(has_text="待同步")).to_have_count(2)
    phone.shot("06-events-offline-pending")
    assert server.records("event")[existing]["title"] == "社区义卖"  # nothing sent yet
    # The lazily loaded QR code chunk is precached too.
    phone.go("/me")
    page.get_by_role("button", name="显示二维码").click()
    expect(page.locator(".qr svg")).to_be_visible()
    phone.go("/events")

    # Back online: both reach the server, with the data entered.
    back_online(phone)
    events = server.records("event")
    assert events[existing]["title"] == "社区义卖(改期)"
    assert events[existing]["date"] == "2026-12-06"
    assert events[existing]["contact_phone"] == "13800138000"  # untouched field kept
    created = events[created_id]
    assert (created["title"], created["date"], created["contact_phone"], created["notes"], created["station"]) == (
        "离线新建的活动", "2026-12-24", "020-12345678", "在广场东门", "OF-001",
    )
    assert created["created_by"] == "staff-of"
    expect(page.get_by_test_id("event-card").filter(has_text="待同步")).to_have_count(0)

    # The "Me" screen, and the English switch on the list.
    phone.go("/me")
    expect(page.get_by_test_id("me-user")).to_have_text("staff-of")
    phone.shot("09-me")
    page.get_by_role("button", name="English").click()
    phone.go("/events")
    expect(page.get_by_role("link", name="+ New event")).to_be_visible()
    expect(page.get_by_test_id("sync-state")).to_have_text("Online")
    phone.shot("10-events-en")
    page.get_by_role("button", name="中文").click()


def test_volunteer_reads_events_without_phone_or_edit(phones: Any, server: Server) -> None:
    """A volunteer sees the station's events read-only, the organiser's phone withheld by
    the server (redacted), and no create, edit or review."""
    server.station("VO-001")
    event_id = server.event("VO-001", "社区探访", contact_phone="13700000000")
    phone = enrol_phone(phones, server, "volunteer", "vol-vo", "volunteer", station="VO-001")
    page = phone.page
    expect(page.get_by_test_id("event-card")).to_have_count(1)
    expect(page.get_by_test_id("new-event")).to_have_count(0)
    expect(page.get_by_role("link", name="审核")).to_have_count(0)
    phone.go(f"/events/{event_id}")
    expect(page.get_by_test_id("event-phone")).to_have_text("(已隐藏)")
    expect(page.get_by_test_id("edit-event")).to_have_count(0)
    phone.shot("12-volunteer-event")
    phone.go("/review")
    expect(page.get_by_text("找不到这个页面。")).to_be_visible()
    phone.go("/hours/review")  # hour approvals: staff and up
    expect(page.get_by_text("找不到这个页面。")).to_be_visible()
    phone.go("/hours")  # a volunteer without a profile is asked to register first
    expect(page.get_by_test_id("register-form")).to_be_visible()
