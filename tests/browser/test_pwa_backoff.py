"""A server shedding load: the phone shows it, waits at least the Retry-After the server
asked for, then delivers the same mutation."""

from __future__ import annotations

import json
import time
from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import Server
from tests.browser.steps import create_event, enrol_phone

RETRY_AFTER_S = 2


def test_retry_after_is_honoured(phones: Any, server: Server) -> None:
    server.station("RA-001")
    phone = enrol_phone(phones, server, "busy", "staff-ra", "staff", station="RA-001")
    page = phone.page

    pushes: list[tuple[float, list[str]]] = []

    def shed_first_push(route: Any) -> None:
        keys = [m["key"] for m in json.loads(route.request.post_data or "{}").get("mutations", [])]
        pushes.append((time.monotonic(), keys))
        if len(pushes) == 1:
            route.fulfill(status=503, headers={"Retry-After": str(RETRY_AFTER_S), "Content-Type": "application/json"},
                          body=json.dumps({"code": "overloaded", "message": {"zh": "服务器繁忙", "en": "server busy"}}))
        else:
            route.continue_()

    phone.context.route("**/api/v1/sync/push", shed_first_push)
    phone.go("/events/new")
    page.locator("input[name=title]").fill("繁忙时新建的活动")
    page.locator("input[name=date]").fill("2026-12-28")
    page.get_by_test_id("save-event").click()
    expect(page.get_by_test_id("sync-state")).to_contain_text("服务器繁忙")
    expect(page.get_by_test_id("sync-state")).to_contain_text("秒后重试")
    phone.shot("11-sync-busy")
    made = page.url.rsplit("/", 1)[-1]
    # A new write while waiting does not cut the wait short.
    second_made = create_event(page, "等待期间又建的活动", "2026-12-29")
    server.wait_for(lambda: made in server.records("event"), "the event after the server recovered",
                    page=page)
    assert len(pushes) >= 2
    (first_at, first_keys), (second_at, second_keys) = pushes[0], pushes[1]
    assert second_keys[0] == first_keys[0]  # the very same mutation first, not a new one
    server.wait_for(lambda: second_made in server.records("event"), "the second event", page=page)
    assert second_at - first_at >= RETRY_AFTER_S - 0.1  # never sooner than the server asked
