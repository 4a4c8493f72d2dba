"""Steps the browser tests take again and again, each written once: enrol a phone, come
back online and sync, open the sync alert and read a problem's code, dismiss it; make or
edit an event on the screens; seed a station for donations or a volunteer for hours.

A step waits for what it did to show (as the tests did by hand) and asserts nothing else:
what a test checks stays in the test. The phone, the server and the ``phones`` fixture are
in tests/browser/conftest.py.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable

from playwright.sync_api import Locator, Page, expect

from tests.browser.conftest import Phone, Server

# -- a phone's life --------------------------------------------------------------------------


def enrol_phone(phones: Callable[[str], Phone], server: Server, name: str, user: str, role: str,
                station: str | None = None, district: str | None = None) -> Phone:
    """A new phone called ``name``, enrolled with a token of ``user`` and synced once."""
    phone = phones(name)
    phone.enrol(server.token(user, role, station=station, district=district))
    return phone


def back_online(*phones: Phone) -> None:
    """Each phone in turn gets its network back and syncs its outbox empty."""
    for phone in phones:
        phone.offline(False)
        phone.wait_synced()


# -- the sync alert --------------------------------------------------------------------------


def open_sync_alert(phone: Phone, says: str) -> None:
    """The sync alert says ``says`` (e.g. "1 项未被接受"); a tap lists its problems."""
    alert = phone.page.get_by_test_id("sync-alert")
    expect(alert).to_contain_text(says)
    alert.click()


def sync_problem(phone: Phone, says: str, code: str) -> Locator:
    """Open the sync alert; the problem it lists has the code ``code``. Returns the problem."""
    open_sync_alert(phone, says)
    problem: Locator = phone.page.get_by_test_id("sync-problem")
    expect(problem).to_have_attribute("data-code", code)
    return problem


def dismiss_sync_alert(phone: Phone, button: str = "知道了") -> None:
    """Close the list of problems with its button ("知道了", "Dismiss", or "收起")."""
    phone.page.get_by_role("button", name=button).click()


# -- events ----------------------------------------------------------------------------------


def create_event(page: Page, title: str, date: str) -> str:
    """A new event through the form, in this tab; returns its id once its screen shows it."""
    page.evaluate("() => { location.hash = '/events/new' }")
    page.locator("input[name=title]").fill(title)
    page.locator("input[name=date]").fill(date)
    page.get_by_test_id("save-event").click()
    expect(page.get_by_test_id("event-title")).to_have_text(title)
    return str(page.url.rsplit("/", 1)[-1])


def edit_event(phone: Phone, event_id: str, **values: str) -> None:
    page = phone.page
    phone.go(f"/events/{event_id}")
    page.get_by_test_id("edit-event").click()
    for name, value in values.items():
        page.locator(f"[name={name}]").fill(value)
    page.get_by_test_id("save-event").click()
    expect(page.get_by_test_id("event-detail")).to_be_visible()


# -- seeds -----------------------------------------------------------------------------------


def setup_station(server: Server, code: str) -> tuple[str, str]:
    """A station with an event and its community fund; returns (event id, fund id)."""
    server.station(code)
    event_id = server.event(code, "中华慈善日义卖", date="2026-12-05")
    fund_id = str(uuid.uuid4())
    server.push("fund.create", {"id": fund_id, "name": f"{code} 社区基金", "district": "天河区",
                                "station": code, "purpose": "社区帮扶"})
    return event_id, fund_id


def wait_for_series(phone: Phone) -> str:
    """The phone claims its receipt series by itself once enrolled as staff (online)."""
    phone.go("/donations/new/money")
    series: Locator = phone.page.get_by_text(re.compile(r"收据号段 \S+-S\d{3}"))
    expect(series).to_be_visible()
    return series.inner_text().split("收据号段 ")[1].strip()


def seed_volunteer(server: Server, station: str, user: str, name: str) -> str:
    """A station, a registered volunteer and today's service activity; returns its id."""
    server.station(station)
    server.push("volunteer.register", {"user_id": user, "name": name, "stations": [station]})
    activity = str(uuid.uuid4())
    server.push("activity.create", {"id": activity, "station": station, "title": "社区敬老探访",
                                    "service_type": "elder_care", "date": dt.date.today().isoformat()})
    return activity
