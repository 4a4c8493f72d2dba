"""Notifications in the phone app: a push delivered to the service worker (through the
DevTools protocol, as headless Chromium reaches no push service) shows the notification
the server's payload describes; a tap opens the screen of its url and marks it read through
the outbox; the inbox and the settings screens."""

from __future__ import annotations

import json
import sqlite3
import uuid
from typing import Any

from playwright.sync_api import expect

from server.notify.sender import payload
from tests.browser.conftest import Phone, Server, eventually
from tests.browser.steps import enrol_phone
from tests.helpers import mutation

NOTIFICATIONS = ("navigator.serviceWorker.ready.then(r => r.getNotifications())"
                 ".then(ns => ns.map(n => ({title: n.title, body: n.body, tag: n.tag, url: n.data && n.data.url})))")


def db_rows(server: Server, sql: str, *args: Any) -> list[dict[str, Any]]:
    """Rows of the server's SQLite database, read as the server wrote them."""
    path = server.proc.database_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(r) for r in conn.execute(sql, args)]


def flag_a_conflict(server: Server, station: str, title: str) -> str:
    """Two edits of the same date from the same base: the later one is kept and flagged
    (`conflict_recorded`), which notifies the station's managers."""
    event_id = server.event(station, title)
    base = server.records("event")[event_id]["field_hlc"]
    server.push("event.update", {"id": event_id, "fields": {"date": "2026-12-06"}, "base": {"date": base["date"]}})
    # The flag names the station of whoever made the edit: a staff member of the station.
    staff = server.token(f"staff-{station}", "staff", station=station)
    late = {"id": event_id, "fields": {"date": "2026-12-07"}, "base": {"date": base["date"]}}
    answer = server.http.post("/api/v1/sync/push", headers={"Authorization": f"Bearer {staff}"}, json={
        "protocol": 1, "client_id": str(uuid.uuid4()), "mutations": [mutation(1, "event.update", late)]})
    assert answer.json()["results"][0]["status"] == "flagged", answer.text
    return event_id


def wait_notification(server: Server, user: str, count: int, page: Any) -> list[dict[str, Any]]:
    query = "SELECT * FROM notifications WHERE user_id = ? ORDER BY created_at"
    server.wait_for(lambda: len(db_rows(server, query, user)) >= count, f"{count} notifications of {user}", page=page)
    return db_rows(server, query, user)


class PushChannel:
    """ServiceWorker.deliverPushMessage to the app's registration."""

    def __init__(self, phone: Phone) -> None:
        self.phone = phone
        self.registrations: list[dict[str, Any]] = []
        self.cdp = phone.context.new_cdp_session(phone.page)
        self.cdp.on("ServiceWorker.workerRegistrationUpdated",
                    lambda event: self.registrations.extend(event["registrations"]))
        self.cdp.send("ServiceWorker.enable")
        eventually(phone.page, "Promise.resolve(1)", 1)
        phone.page.wait_for_timeout(200)
        live = [r for r in self.registrations if not r.get("isDeleted")]
        assert live, "the service worker's registration was not reported"
        self.registration_id = live[-1]["registrationId"]

    def deliver(self, data: dict[str, Any]) -> None:
        self.cdp.send("ServiceWorker.deliverPushMessage", {
            "origin": self.phone.server.base_url, "registrationId": self.registration_id,
            "data": json.dumps(data, ensure_ascii=False),
        })


def test_push_shows_notification_and_tap_opens_its_screen(phones: Any, server: Server) -> None:
    server.station("NT-001")
    phone: Phone = phones("notify")
    phone.context.grant_permissions(["notifications"], origin=server.base_url)
    phone.enrol(server.token("mgr-nt", "manager", station="NT-001"))
    event_id = flag_a_conflict(server, "NT-001", "推送测试活动")
    row = wait_notification(server, "mgr-nt", 1, phone.page)[0]
    assert row["kind"] == "review.flagged"
    sent = payload(row)  # exactly what the server encrypts for the push service
    assert sent["url"].startswith("/#/review/")

    # The inbox record arrives by sync too (the push is only the wake-up): the badge.
    expect(phone.page.get_by_test_id("badge-inbox")).to_have_text("1")

    push = PushChannel(phone)
    push.deliver(sent)
    eventually(phone.page, f"{NOTIFICATIONS}.then(ns => ns.length)", 1)
    shown = phone.page.evaluate(NOTIFICATIONS)[0]
    assert shown == {"title": sent["title"]["zh"], "body": sent["body"]["zh"], "tag": sent["id"], "url": sent["url"]}

    # In English the same push (same tag: it replaces the first) speaks English.
    phone.page.get_by_role("button", name="EN").click()
    eventually(phone.page, "navigator.serviceWorker.ready.then(() => 1)", 1)
    phone.page.wait_for_timeout(300)  # the language reaches IndexedDB for the worker
    push.deliver(sent)
    eventually(phone.page, f"{NOTIFICATIONS}.then(ns => ns.map(n => n.title).join('|'))", sent["title"]["en"])
    phone.page.get_by_role("button", name="中文").click()

    # A tap while offline: the app opens the notification's screen at once, and the mark
    # waits in the outbox until the phone is back online.
    phone.go("/events")
    phone.offline(True)
    phone.page.evaluate("tag => navigator.serviceWorker.controller.postMessage({type: 'OPEN_NOTIFICATION', tag})", sent["id"])
    phone.page.wait_for_url("**" + sent["url"][1:])
    expect(phone.page.locator("main.review h1")).to_have_text("审核")
    # The flagged entry the notification is about stands out.
    expect(phone.page.locator(f"#issue-{sent['target']['issue_id']}.focus")).to_be_visible()
    eventually(phone.page, f"{NOTIFICATIONS}.then(ns => ns.length)", 0)  # closed by the tap
    expect(phone.page.get_by_test_id("sync-pending")).to_have_attribute("data-count", "1")
    expect(phone.page.get_by_test_id("badge-inbox")).to_have_count(0)  # read at once, offline
    assert db_rows(server, "SELECT read_at FROM notifications WHERE id = ?", sent["id"])[0]["read_at"] is None
    phone.offline(False)
    server.wait_for(lambda: db_rows(server, "SELECT read_at FROM notifications WHERE id = ?", sent["id"])[0]["read_at"] is not None,
                    "the tap's mark_read", page=phone.page)
    assert event_id


def test_inbox_and_settings_screens(phones: Any, server: Server) -> None:
    server.station("NI-001")
    phone = enrol_phone(phones, server, "inbox", "mgr-ni", "manager", station="NI-001")
    for title in ("捐赠日", "敬老活动", "义卖"):
        flag_a_conflict(server, "NI-001", title)
    notes = wait_notification(server, "mgr-ni", 3, phone.page)
    expect(phone.page.get_by_test_id("badge-inbox")).to_have_text("3")
    phone.go("/inbox")
    items = phone.page.get_by_test_id("inbox-item")
    expect(items).to_have_count(3)
    expect(phone.page.locator('[data-testid=inbox-item][data-unread="1"]')).to_have_count(3)
    # Permission not granted here: the inbox says push is off and where to turn it on.
    expect(phone.page.get_by_test_id("inbox-push-off")).to_be_visible()
    phone.shot("20-inbox-unread")

    # Mark one read, then unread again; then all read.
    newest = notes[-1]["id"]
    phone.page.locator(f'[data-testid=inbox-item][data-id="{newest}"] [data-testid=inbox-toggle]').click()
    expect(phone.page.get_by_test_id("badge-inbox")).to_have_text("2")
    server.wait_for(lambda: db_rows(server, "SELECT read_at FROM notifications WHERE id = ?", newest)[0]["read_at"] is not None,
                    "mark read", page=phone.page)
    phone.page.locator(f'[data-testid=inbox-item][data-id="{newest}"] [data-testid=inbox-toggle]').click()
    expect(phone.page.get_by_test_id("badge-inbox")).to_have_text("3")
    server.wait_for(lambda: db_rows(server, "SELECT read_at FROM notifications WHERE id = ?", newest)[0]["read_at"] is None,
                    "mark unread", page=phone.page)
    phone.page.get_by_test_id("inbox-mark-all").click()
    expect(phone.page.get_by_test_id("badge-inbox")).to_have_count(0)
    server.wait_for(lambda: not db_rows(server, "SELECT id FROM notifications WHERE user_id = ? AND read_at IS NULL", "mgr-ni"),
                    "mark all read", page=phone.page)
    phone.wait_synced()
    phone.page.evaluate("window.scrollTo(0, 0)")
    phone.shot("21-inbox-read")

    # Tapping an item opens its screen.
    items.first.locator("button.open").click()
    phone.page.wait_for_url("**/#/review/*")

    # Settings: kinds, push to phones, quiet hours, the station's large-donation line.
    phone.go("/inbox/prefs")
    form = phone.page.get_by_test_id("prefs-form")
    form.locator("input[name='kind-phone.stale']").uncheck()
    form.locator("input[name=quiet_start]").fill("22:00")
    form.get_by_test_id("prefs-save").click()
    expect(form.get_by_test_id("prefs-message")).to_have_text("免打扰需要同时填写开始和结束时间")
    form.locator("input[name=quiet_end]").fill("07:00")
    form.get_by_test_id("prefs-save").click()
    expect(form.get_by_test_id("prefs-message")).to_have_text("已保存")
    line = phone.page.get_by_test_id("line-donation-NI-001")
    line.locator("input").fill("2000")
    line.get_by_role("button").click()
    server.wait_for(lambda: bool(db_rows(server, "SELECT * FROM notification_prefs WHERE user_id = ?", "mgr-ni")),
                    "the preferences", page=phone.page)
    prefs = db_rows(server, "SELECT * FROM notification_prefs WHERE user_id = ?", "mgr-ni")[0]
    assert json.loads(prefs["muted_kinds"]) == ["phone.stale"]
    assert (prefs["quiet_start"], prefs["quiet_end"]) == ("22:00", "07:00")
    server.wait_for(lambda: bool(db_rows(server, "SELECT * FROM alert_thresholds WHERE id = ?", "large_donation:NI-001")),
                    "the donation line", page=phone.page)
    assert db_rows(server, "SELECT amount_fen FROM alert_thresholds WHERE id = ?", "large_donation:NI-001")[0]["amount_fen"] == 200000
    phone.wait_synced()
    expect(form.locator("input[name='kind-phone.stale']")).not_to_be_checked()
    expect(form.locator("input[name=quiet_end]")).to_have_value("07:00")
    phone.page.evaluate("window.scrollTo(0, 0)")
    phone.shot("22-notify-settings")
    phone.page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    phone.shot("23-notify-settings-lines")


# Headless Chromium has no push service (and Playwright's contexts are incognito, where
# Chrome refuses the Push API), so the browser's PushManager is replaced by one that makes
# a subscription the way a browser does: a real P-256 key pair and a 16-byte auth secret,
# kept in localStorage so that it survives a reload as a real one would.
FAKE_PUSH_MANAGER = """
(() => {
  const b64 = (bytes) => btoa(String.fromCharCode(...new Uint8Array(bytes))).replace(/\\+/g, '-').replace(/\\//g, '_').replace(/=+$/, '');
  const unb64 = (text) => Uint8Array.from(atob(text.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));
  const make = (saved) => saved && ({
    endpoint: saved.endpoint,
    options: { userVisibleOnly: true, applicationServerKey: unb64(saved.key + '='.repeat((4 - saved.key.length % 4) % 4)).buffer },
    toJSON: () => ({ endpoint: saved.endpoint, expirationTime: null, keys: { p256dh: saved.p256dh, auth: saved.auth } }),
    unsubscribe: async () => { localStorage.removeItem('fake-push'); return true; },
  });
  PushManager.prototype.getSubscription = async function () { return make(JSON.parse(localStorage.getItem('fake-push'))); };
  PushManager.prototype.subscribe = async function (options) {
    const pair = await crypto.subtle.generateKey({ name: 'ECDH', namedCurve: 'P-256' }, true, ['deriveBits']);
    const saved = {
      endpoint: 'https://push.example.test/send/' + crypto.randomUUID(),
      key: b64(options.applicationServerKey), p256dh: b64(await crypto.subtle.exportKey('raw', pair.publicKey)),
      auth: b64(crypto.getRandomValues(new Uint8Array(16))),
    };
    localStorage.setItem('fake-push', JSON.stringify(saved));
    localStorage.setItem('fake-push-calls', String(Number(localStorage.getItem('fake-push-calls') || 0) + 1));
    return make(saved);
  };
})();
"""


def test_subscribe_button_in_headless_chromium_says_why_it_failed(phones: Any, server: Server) -> None:
    """The real PushManager: permission is granted, the key fetched, and the browser's own
    refusal (no push service here) is shown with the reason, the inbox still working."""
    server.station("NS-001")
    phone: Phone = phones("subscribe-real")
    phone.context.grant_permissions(["notifications"], origin=server.base_url)
    phone.enrol(server.token("mgr-ns", "manager", station="NS-001"))
    phone.go("/me")
    expect(phone.page.get_by_test_id("push-settings")).to_have_attribute("data-status", "off")
    phone.page.get_by_test_id("push-subscribe").click()
    expect(phone.page.get_by_test_id("push-note")).to_contain_text("开启失败:AbortError")
    expect(phone.page.get_by_test_id("push-note")).to_contain_text("通知仍会出现在“通知”页")
    assert not db_rows(server, "SELECT id FROM push_subscriptions")


def test_subscribe_renew_rotate_unsubscribe(phones: Any, server: Server) -> None:
    server.station("NR-001")
    phone: Phone = phones("subscribe")
    phone.context.add_init_script(FAKE_PUSH_MANAGER)
    phone.context.grant_permissions(["notifications"], origin=server.base_url)
    phone.enrol(server.token("mgr-nr", "manager", station="NR-001"))
    phone.go("/me")
    phone.page.get_by_test_id("push-subscribe").click()
    expect(phone.page.get_by_test_id("push-settings")).to_have_attribute("data-status", "subscribed")
    expect(phone.page.get_by_test_id("push-status")).to_have_text("已开启:有新通知时本机会收到提醒。")
    phone.shot("24-push-subscribed")
    rows = db_rows(server, "SELECT * FROM push_subscriptions WHERE user_id = ?", "mgr-nr")
    assert len(rows) == 1 and rows[0]["endpoint"].startswith("https://push.example.test/")
    first_key = rows[0]["vapid_key_id"]

    # The key is rotated on the server: the next start notices and subscribes again.
    from tests.serverproc import run_cli

    done = run_cli(["vapid", "rotate"], database_url=server.proc.database_url, data_dir=server.proc.data_dir)
    assert done.returncode == 0, done.stderr
    phone.page.reload()
    server.wait_for(lambda: {r["vapid_key_id"] for r in db_rows(server, "SELECT * FROM push_subscriptions WHERE user_id = ?", "mgr-nr")}
                    == {first_key + 1}, "the subscription renewed under the new key", page=phone.page)
    assert phone.page.evaluate("localStorage.getItem('fake-push-calls')") == "2"
    renewed = db_rows(server, "SELECT * FROM push_subscriptions WHERE user_id = ?", "mgr-nr")
    assert renewed[0]["endpoint"] != rows[0]["endpoint"]  # a new subscription, the old one gone

    # An ordinary start only upserts (no new subscription).
    phone.page.reload()
    phone.wait_synced()
    phone.page.wait_for_timeout(500)
    assert phone.page.evaluate("localStorage.getItem('fake-push-calls')") == "2"

    phone.go("/me")
    phone.page.get_by_test_id("push-unsubscribe").click()
    expect(phone.page.get_by_test_id("push-settings")).to_have_attribute("data-status", "off")
    server.wait_for(lambda: not db_rows(server, "SELECT id FROM push_subscriptions WHERE user_id = ?", "mgr-nr"),
                    "the subscription removed", page=phone.page)


def test_permission_denied_says_how_to_allow(phones: Any, server: Server) -> None:
    server.station("ND-001")
    phone = enrol_phone(phones, server, "denied", "mgr-nd", "manager", station="ND-001")
    # What a browser reports after the user blocked notifications for the site.
    phone.page.add_init_script("Object.defineProperty(Notification, 'permission', { get: () => 'denied' })")
    phone.page.reload()
    phone.go("/me")
    expect(phone.page.get_by_test_id("push-settings")).to_have_attribute("data-status", "denied")
    expect(phone.page.get_by_test_id("push-status")).to_contain_text("网站设置 → 通知")
    expect(phone.page.get_by_test_id("push-subscribe")).to_be_visible()
