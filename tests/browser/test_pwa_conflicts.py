"""Two phones, both offline, edit the same event: after reconnecting both show the same
data, and the manager's review screen shows the conflict with both values and resolves it."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Server
from tests.browser.steps import back_online, edit_event, enrol_phone


@pytest.mark.parametrize(
    "server", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
def test_two_offline_phones_converge_and_manager_sees_conflict(phones: Any, server: Server) -> None:
    server.station("CF-001")
    event_id = server.event("CF-001", "重阳节敬老活动", date="2026-12-10", contact_phone="13900000000")
    staff = enrol_phone(phones, server, "staff", "staff-cf", "staff", station="CF-001")
    manager = enrol_phone(phones, server, "manager", "mgr-cf", "manager", station="CF-001")
    for phone in (staff, manager):
        expect(phone.page.get_by_test_id("event-card")).to_have_count(1)
        phone.offline(True)

    # Both change the date (a field that matters) without seeing each other; the staff
    # member also changes the title, which nobody else touched.
    edit_event(staff, event_id, date="2026-12-11", title="重阳节敬老活动(上午)")
    edit_event(manager, event_id, date="2026-12-12")
    assert staff.pending() == 1 and manager.pending() == 1

    back_online(staff, manager)

    # The same data on both phones and on the server (the manager's later edit wins the
    # date; the staff member's title stays).
    server_event = server.records("event")[event_id]
    assert server_event["date"] == "2026-12-12"
    assert server_event["title"] == "重阳节敬老活动(上午)"
    for phone in (staff, manager):
        phone.go(f"/events/{event_id}")
        expect(phone.page.get_by_test_id("event-date")).to_contain_text("2026-12-12")
        expect(phone.page.get_by_test_id("event-title")).to_have_text("重阳节敬老活动(上午)")

    # The manager's own edit was flagged (applied, kept for review) and says so.
    expect(manager.page.get_by_test_id("sync-alert")).to_contain_text("1 项待复核")

    # The review screen: both values side by side.
    manager.go("/review")
    conflict = manager.page.get_by_test_id("conflict").filter(has_text="重阳节敬老活动")
    expect(conflict).to_have_count(1)
    expect(conflict.get_by_test_id("conflict-kept")).to_have_text("2026-12-12")
    expect(conflict.get_by_test_id("conflict-lost")).to_have_text("2026-12-11")
    expect(conflict).to_contain_text("staff-cf")
    expect(conflict).to_contain_text("mgr-cf")
    manager.shot("07-review-conflict")

    # Restore the other value: it reaches the server and the staff phone (by SSE poke).
    conflict.get_by_test_id("conflict-restore").click()
    server.wait_for(lambda: server.records("event")[event_id]["date"] == "2026-12-11",
                    "the restored date")
    expect(staff.page.get_by_test_id("event-date")).to_contain_text("2026-12-11")
    statuses = {c["status"] for c in server.records("conflict").values() if c["record_id"] == event_id}
    assert statuses == {"restored"}
    expect(manager.page.locator('[data-testid=conflict][data-status=open]')).to_have_count(0)
    expect(manager.page.locator('[data-testid=conflict][data-status=restored]')).to_have_count(1)
