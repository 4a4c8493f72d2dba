"""A district manager's first sync and a long list of gifts, kept small enough to be fast:
the progress bar of a pull of a couple of thousand records in several pages (surviving a
reload halfway), and a list of thousands of gifts that holds only a window of rows.
scripts/bench_browser.py measures the same at city scale (50,000 records, 10,000 gifts)."""

from __future__ import annotations

import re
import uuid
from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import Server, eventually
from tests.browser.steps import enrol_phone, setup_station
from tests.helpers import event_args, mutation

DISTRICT = "南沙区-大"
STATION = "NSD-001"
EVENTS = 2000

# Every reading of the progress text, kept across reloads in sessionStorage (an init
# script runs before the app on every load of the page).
WATCH_PROGRESS = """
(() => {
  const seen = () => JSON.parse(sessionStorage.getItem('progress-seen') || '[]');
  new MutationObserver(() => {
    const bar = document.querySelector('[data-testid="sync-progress"]');
    if (!bar) return;
    const list = seen();
    const reading = { done: Number(bar.dataset.done), total: Number(bar.dataset.total),
                      text: bar.textContent, load: performance.timeOrigin };
    const last = list[list.length - 1];
    if (!last || last.done !== reading.done || last.total !== reading.total || last.load !== reading.load) {
      list.push(reading);
      sessionStorage.setItem('progress-seen', JSON.stringify(list));
    }
  }).observe(document, { subtree: true, childList: true, attributes: true, characterData: true });
})();
"""


def seed_events(server: Server, count: int) -> None:
    """``count`` events at the district's station, pushed in batches of 200 by the admin."""
    client = str(uuid.uuid4())
    for first in range(0, count, 200):
        batch = [mutation(first + i + 1, "event.create",
                          event_args(str(uuid.uuid4()), station=STATION, title=f"社区活动 {first + i}"))
                 for i in range(min(200, count - first))]
        response = server.http.post(
            "/api/v1/sync/push", json={"protocol": 1, "client_id": client, "mutations": batch},
            headers={"Authorization": f"Bearer {server.admin}"}, timeout=60)
        assert response.status_code == 200, response.text
        assert {r["status"] for r in response.json()["results"]} == {"applied"}


def test_first_sync_shows_progress_and_resumes_after_a_reload(phones: Any, server: Server) -> None:
    server.station(STATION, district=DISTRICT)
    seed_events(server, EVENTS)
    phone = phones("district-first-sync")
    page = phone.page
    phone.context.add_init_script(WATCH_PROGRESS)
    # a slow network, so each page of the pull is on screen long enough to be seen
    cdp = phone.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", {
        "offline": False, "latency": 600, "downloadThroughput": -1, "uploadThroughput": -1})
    page.goto(f"/#/enrol?token={server.token('dm-nsd', 'district_manager', district=DISTRICT)}")
    bar = page.get_by_test_id("sync-progress")
    expect(bar).to_be_visible(timeout=30000)
    expect(page.get_by_test_id("sync-progress-text")).to_have_text(
        re.compile(r"^正在同步 [\d,]+ / [\d,]+ 条 \(\d+%\)$"))
    phone.shot("city-first-sync-progress")
    page.locator("button.lang").click()  # and in English, on from here
    expect(page.get_by_test_id("sync-progress-text")).to_have_text(
        re.compile(r"^Syncing [\d,]+ of [\d,]+ records \(\d+%\)$"))
    phone.shot("city-first-sync-progress-en")
    # halfway, the phone is reloaded: the count goes on from the stored cursor
    eventually(page, "Number(document.querySelector('[data-testid=sync-progress]')?.dataset.done || 0) >= 1000",
               True, timeout=30)
    page.reload()
    phone.wait_synced()
    expect(bar).to_have_count(0)  # gone once the pull is done
    readings = page.evaluate("JSON.parse(sessionStorage.getItem('progress-seen') || '[]')")
    loads = list(dict.fromkeys(r["load"] for r in readings))
    assert len(loads) == 2, readings  # seen before and after the reload
    before = [r for r in readings if r["load"] == loads[0]]
    after = [r for r in readings if r["load"] == loads[1]]
    assert len(before) >= 2, readings  # several readings, counting up
    assert [r["done"] for r in before] == sorted(r["done"] for r in before)
    total = before[0]["total"]
    assert total >= EVENTS + 1  # the events and their station, at least
    assert after and after[0]["done"] > before[-1]["done"] - 1, readings  # resumed, not from 0
    assert {r["total"] for r in readings} == {total}, readings
    assert all(0 < r["done"] < total for r in readings)
    count = page.evaluate("""() => new Promise((resolve) => {
      const open = indexedDB.open('charity');
      open.onsuccess = () => {
        const req = open.result.transaction('replica').objectStore('replica').index('type').count('event');
        req.onsuccess = () => resolve(req.result);
      };
    })""")
    assert count >= EVENTS


def test_thousands_of_gifts_render_only_a_window(phones: Any, server: Server) -> None:
    event_id, _ = setup_station(server, "WL-001")
    phone = enrol_phone(phones, server, "long-list", "staff-wl", "staff", station="WL-001")
    page = phone.page
    gifts = 3000
    page.evaluate(
        """([eventId, n]) => new Promise((resolve, reject) => {
          const open = indexedDB.open('charity');
          open.onsuccess = () => {
            const tx = open.result.transaction(['replica', 'meta'], 'readwrite');
            const now = Date.now();
            for (let i = 0; i < n; i++) {
              const id = `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
              tx.objectStore('replica').put({ type: 'donation', id, data: {
                id, kind: 'money', amount_fen: 100 + i, method: 'cash', items: [], donor_anonymous: true,
                donor_name: null, donor_phone: null, donor_organisation: null, wants_receipt: false,
                public_name_consent: false, direction: 'undirected', fund_id: null, project_id: null,
                station: 'WL-001', district: '天河区', event_id: eventId, recorded_by: 'staff-wl', client_id: 'x',
                device_time: new Date(now - i * 1000).toISOString(), recorded_at: new Date(now).toISOString(),
                receipt_number: `WL-001-S001-${String(i).padStart(5, '0')}`, note: '' } });
            }
            const meta = tx.objectStore('meta');
            const rev = meta.get('replica_rev');
            rev.onsuccess = () => meta.put((rev.result || 0) + 1, 'replica_rev');
            tx.oncomplete = () => resolve(true);
            tx.onerror = () => reject(tx.error);
          };
          open.onerror = () => reject(open.error);
        })""",
        [event_id, gifts],
    )
    page.reload()
    phone.go("/donations")
    page.get_by_test_id("don-event").select_option(event_id)
    expect(page.get_by_test_id("total-count")).to_have_text(f"{gifts} 笔")
    cards = page.get_by_test_id("donation-card")
    expect(cards).to_have_count(30)
    page.get_by_test_id("don-show-all").click()
    listed = page.locator('[data-testid="don-list"].windowlist')
    expect(listed).to_have_attribute("data-total", str(gifts))
    expect(cards.first).to_be_visible()
    rendered = cards.count()
    assert 0 < rendered <= 40, rendered  # a screenful and the overscan, not 3000
    phone.shot("city-long-list")
    # to the end of the list: the oldest gift is there, and still only a window
    last = "00000000-0000-4000-8000-" + f"{gifts - 1:012d}"
    for _ in range(20):
        page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
        page.wait_for_timeout(100)
        if page.locator(f'[data-id="{last}"]').count():
            break
    expect(page.locator(f'[data-id="{last}"]')).to_be_in_viewport()
    assert cards.count() <= 40
    phone.shot("city-long-list-end")
