"""The app lock's PIN is a station setting (docs/pwa.md "App lock"): staff enrolled by a code
at a station whose record says ``pin_required: false`` are not asked for a PIN, staff at a
default station are, and a phone enrolled without one asks at its next start once its
station turns the setting on (not in the middle of what its person is doing)."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import Phone, Server, eventually
from tests.browser.steps import enrol_by_link, make_code, person, set_pin

RELAXED, STRICT = "NP-001", "PN-001"


def replica_pin_required(code: str) -> str:
    """The phone's replica copy of the station's ``pin_required`` (null: not pulled yet)."""
    return f"""() => new Promise((resolve, reject) => {{
      const open = indexedDB.open('charity');
      open.onerror = () => reject(open.error);
      open.onsuccess = () => {{
        const got = open.result.transaction('replica').objectStore('replica').get(['station', '{code}']);
        got.onsuccess = () => {{ resolve(got.result ? got.result.data.pin_required : null); open.result.close(); }};
        got.onerror = () => reject(got.error);
      }};
    }})"""


def test_staff_set_a_pin_only_where_the_station_requires_it(phones: Any, server: Server) -> None:
    server.push("station.create", {"code": RELAXED, "name": "不设锁的站", "district": "天河区",
                                   "pin_required": False})
    server.station(STRICT)
    person(server, "np-staff", "staff", RELAXED)
    person(server, "pn-staff", "staff", STRICT)

    # staff at the station without the rule: enrolled by a code, synced, never asked
    relaxed: Phone = phones("no-pin")
    page = relaxed.page
    enrol_by_link(relaxed, make_code(server, "np-staff")["secret"], pin=None)
    eventually(page, replica_pin_required(RELAXED), False)
    expect(page.get_by_test_id("syncbar")).to_be_visible()
    expect(page.get_by_test_id("pin-setup")).to_have_count(0)
    page.reload()  # a start decides again from the replica: still nothing to set
    expect(page.get_by_test_id("syncbar")).to_be_visible()
    expect(page.get_by_test_id("pin-setup")).to_have_count(0)
    expect(page.get_by_test_id("lock-screen")).to_have_count(0)

    # staff at a default station: asked before anything else (enrol_by_link sets the PIN)
    strict: Phone = phones("pin")
    enrol_by_link(strict, make_code(server, "pn-staff")["secret"])
    eventually(strict.page, replica_pin_required(STRICT), True)
    expect(strict.page.get_by_test_id("pin-setup")).to_have_count(0)
    assert strict.page.evaluate("""async () => {
      const db = await new Promise((ok) => { const r = indexedDB.open('charity'); r.onsuccess = () => ok(r.result); });
      return new Promise((ok) => { const r = db.transaction('meta').objectStore('meta').get('pin'); r.onsuccess = () => ok(!!r.result); });
    }""") is True

    # the first station turns the rule on: its phone pulls it, lets its person carry on,
    # and asks at the next start
    server.push("station.update", {"code": RELAXED, "fields": {"pin_required": True}})
    eventually(page, replica_pin_required(RELAXED), True)
    expect(page.get_by_test_id("syncbar")).to_be_visible()
    expect(page.get_by_test_id("pin-setup")).to_have_count(0)
    page.reload()
    set_pin(relaxed)
    expect(page.get_by_test_id("syncbar")).to_be_visible()
