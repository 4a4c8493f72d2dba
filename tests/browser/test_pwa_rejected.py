"""A rejected mutation is shown to its user with its reason (zh and en) and what to do,
and does not hold back the mutations queued after it."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import Server
from tests.browser.steps import (
    back_online,
    create_event,
    dismiss_sync_alert,
    enrol_phone,
    sync_problem,
)


def test_rejected_edit_is_shown_and_later_work_still_lands(phones: Any, server: Server) -> None:
    server.station("RJ-001")
    doomed = server.event("RJ-001", "雨天取消的活动", date="2026-12-15")
    phone = enrol_phone(phones, server, "rejected", "staff-rj", "staff", station="RJ-001")
    page = phone.page
    expect(page.get_by_test_id("event-card")).to_have_count(1)

    phone.offline(True)
    # First an edit of an event the manager is about to delete, then a new event.
    phone.go(f"/events/{doomed}")
    page.get_by_test_id("edit-event").click()
    page.locator("input[name=title]").fill("雨天改到室内")
    page.get_by_test_id("save-event").click()
    expect(page.get_by_test_id("event-title")).to_have_text("雨天改到室内")
    later_id = create_event(page, "室内手工义卖", "2026-12-16")
    assert phone.pending() == 2

    server.push("event.delete", {"id": doomed})  # meanwhile, on the server

    back_online(phone)
    # The later mutation was applied although the one before it was rejected.
    events = server.records("event")
    assert events[later_id]["title"] == "室内手工义卖"
    assert doomed not in events

    problem = sync_problem(phone, "1 项未被接受", "record_deleted")
    expect(problem).to_have_count(1)
    expect(problem.get_by_test_id("sync-reason")).to_have_text("该活动已被删除")
    expect(problem).to_contain_text("雨天改到室内")  # which change it was
    expect(problem).to_contain_text("请新建一条")  # what to do
    phone.shot("08-sync-rejected")

    page.get_by_role("button", name="EN").click()
    expect(problem.get_by_test_id("sync-reason")).to_have_text("this event was deleted")
    expect(problem).to_contain_text("Create a new one")
    dismiss_sync_alert(phone, "Dismiss")
    expect(page.get_by_test_id("sync-problem")).to_have_count(0)
    page.reload()  # dismissed stays dismissed
    expect(page.get_by_test_id("sync-state")).to_be_visible()
    expect(page.get_by_test_id("sync-alert")).to_have_count(0)
    page.get_by_role("button", name="中文").click()
