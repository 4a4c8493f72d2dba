"""One syncing tab at a time (Web Locks), other tabs hand their work to it; and the
service worker delivers the outbox with no page of the app open."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import Server, eventually
from tests.browser.steps import create_event, enrol_phone

LEADERS = ("navigator.locks.query().then(s => s.held.filter(l => l.name === 'charity-sync-leader').length"
           " + ':' + s.pending.filter(l => l.name === 'charity-sync-leader').length)")


def test_one_leader_tab_and_handover(phones: Any, server: Server) -> None:
    server.station("TB-001")
    phone = enrol_phone(phones, server, "tabs", "staff-tb", "staff", station="TB-001")
    second = phone.context.new_page()
    second.goto("/#/events")
    expect(second.get_by_test_id("sync-state")).to_have_text("在线")
    # One tab leads, the other waits in line for the lock.
    eventually(phone.page, LEADERS, "1:1")

    # Written in the follower tab: the leader sends it, and the first tab shows it.
    made = create_event(second, "第二个标签页建的活动", "2026-12-20")
    server.wait_for(lambda: made in server.records("event"), "the follower tab's event")
    phone.go("/events")
    expect(phone.page.get_by_test_id("event-card").filter(has_text="第二个标签页建的活动")).to_be_visible()
    expect(second.get_by_test_id("sync-pending")).to_have_attribute("data-count", "0")

    # The leader tab closes: the other takes over and syncs on its own.
    phone.page.close()
    eventually(second, LEADERS, "1:0")
    later = create_event(second, "接手后建的活动", "2026-12-21")
    server.wait_for(lambda: later in server.records("event"), "the new leader's event")


def test_service_worker_replays_outbox_without_the_app_open(phones: Any, server: Server) -> None:
    server.station("SW-001")
    phone = enrol_phone(phones, server, "sw", "staff-sw", "staff", station="SW-001")
    blank = phone.context.new_page()  # keeps the browser context's devtools session alive
    cdp = phone.context.new_cdp_session(blank)
    phone.offline(True)
    made = create_event(phone.page, "只靠后台同步的活动", "2026-12-22")
    phone.page.close()  # no page of the app is open any more
    assert made not in server.records("event")
    phone.offline(False)
    # A fresh start of the worker (stopping it while the context is offline hangs the
    # devtools protocol, so the network comes back first; a Background Sync event the
    # browser may fire in between is the worker replaying too).
    cdp.send("ServiceWorker.enable")
    cdp.send("ServiceWorker.stopAllWorkers")
    # Any request in the worker's scope starts it again; this one is not the app.
    blank.goto("/healthz")
    server.wait_for(lambda: made in server.records("event"), "the event replayed by the service worker")
    assert server.records("event")[made]["title"] == "只靠后台同步的活动"
