"""What station staff and donors tripped on in the walk-through (issue 18, "Staff and
donors"), each checked in the browser at 360×740: the printed receipt's date, holder of the
money and where the official receipt comes from; the public check's station name and gift
time; the goods form at 360 px; a draft kept across a reload; a phone whose clock is a day
behind (warned, and its list follows the event); a redemption the fresh balance cannot
cover refused before it is queued (the offline case unchanged)."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any
from zoneinfo import ZoneInfo

from playwright.sync_api import expect

from tests.browser.conftest import SHOTS, Phone, Server, eventually
from tests.browser.steps import (
    credit_hours,
    enrol_phone,
    record_money,
    seed_volunteer,
    setup_station,
    wait_for_series,
)

HOLDER = "广州市天河区慈善会"
"""The organisation of the campaign tests.browser.steps.setup_station opens."""


def shot(phone: Phone, name: str) -> None:
    """The screen at 360×740, kept with the other screenshots."""
    phone.shot(f"h18-{name}")


DRAFTS = """() => new Promise((done) => {
  const open = indexedDB.open('charity');
  open.onsuccess = () => {
    const keys = open.result.transaction('meta').objectStore('meta').getAllKeys();
    keys.onsuccess = () => done(keys.result.filter((k) => String(k).startsWith('draft:')).length);
  };
})"""

DRAFT_HOLDS = """(text) => new Promise((done) => {
  const open = indexedDB.open('charity');
  open.onsuccess = () => {
    const rows = open.result.transaction('meta').objectStore('meta').getAll();
    rows.onsuccess = () => done(rows.result.some((r) => r && r.saved_at && JSON.stringify(r.value).includes(text)));
  };
})"""
"""Whether a draft holds ``text``: each keystroke is its own put, so the first draft row can
land before the last field typed does."""


def test_receipt_has_date_holder_official_note_and_public_check_names_station(phones: Any, server: Server) -> None:
    code = f"RC-{uuid.uuid4().hex[:6].upper()}"
    event_id, _ = setup_station(server, code)
    phone = enrol_phone(phones, server, "staff", "staff-rc", "staff", station=code)
    wait_for_series(phone)
    number, check = record_money(phone, event_id, "66")
    page = phone.page

    # the date with the time (a paper receipt read next week needs the day)
    when = page.get_by_test_id("receipt-time").inner_text()
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", when), when
    today = page.evaluate("() => { const d = new Date(); const p = (n) => String(n).padStart(2, '0');"
                          " return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}` }")
    assert when.startswith(today)
    # who holds the money (募用分离): the organisation whose fundraising plan the gift was
    # collected under, which also issues the official receipt
    expect(page.get_by_test_id("receipt-holder")).to_have_text(HOLDER)
    expect(page.get_by_test_id("receipt-official-note")).to_contain_text("公益事业捐赠票据")
    expect(page.get_by_test_id("receipt-official-note")).to_contain_text(HOLDER)
    shot(phone, "receipt")
    page.evaluate("() => window.scrollTo(0, document.body.scrollHeight)")
    shot(phone, "receipt-bottom")

    # the public check: the station's name, and when the gift was made (the phone's time)
    phone.wait_synced()
    donation = next(d for d in server.records("donation").values() if d.get("receipt_number") == number)
    public = phone.context.new_page()
    public.goto(f"/public/receipts/{number}?code={check}")
    card = public.locator(".card")
    expect(card).to_contain_text(f"{code} 社工站")
    given = dt.datetime.fromisoformat(donation["device_time"])
    expect(public.get_by_test_id("given-at")).to_have_text(
        given.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M"))
    expect(card).to_contain_text(f"Held by {HOLDER}")
    public.set_viewport_size({"width": 360, "height": 740})
    public.screenshot(path=str(SHOTS / "h18-public-receipt.png"), full_page=True)
    public.close()


def test_goods_form_fits_360(phones: Any, server: Server) -> None:
    code = f"GF-{uuid.uuid4().hex[:6].upper()}"
    setup_station(server, code)
    phone = enrol_phone(phones, server, "staff", "staff-gf", "staff", station=code)
    page = phone.page
    phone.go("/donations/new/goods")
    page.locator("input[name=item-name-0]").fill("大米(5 公斤装)")
    page.locator("input[name=item-qty-0]").fill("12")
    page.locator("input[name=item-value-0]").fill("180")
    page.get_by_test_id("add-item").click()
    page.locator("input[name=item-name-1]").fill("食用油")
    page.locator("input[name=item-qty-1]").fill("18")
    page.locator("input[name=item-value-1]").fill("1260.50")
    for name in ("item-qty-0", "item-value-0", "item-qty-1", "item-value-1"):
        box = page.locator(f"input[name={name}]")
        # the figure is not clipped: the input is wider than what it holds
        fits = box.evaluate("(el) => el.scrollWidth <= el.clientWidth && el.clientWidth >= 44")
        assert fits, name
    remove = page.get_by_role("button", name="删除此项").first
    height = remove.bounding_box()["height"]  # type: ignore[index]
    assert height < 50, f"the remove button wraps ({height}px high)"
    shot(phone, "goods-form")


def test_draft_survives_a_reload_until_saved_or_discarded(phones: Any, server: Server) -> None:
    code = f"DR-{uuid.uuid4().hex[:6].upper()}"
    event_id, _ = setup_station(server, code)
    phone = enrol_phone(phones, server, "staff", "staff-dr", "staff", station=code)
    wait_for_series(phone)
    page = phone.page

    def half_typed(amount: str) -> None:
        phone.go(f"/donations/new/money?event={event_id}")
        page.locator("input[name=amount]").fill(amount)
        page.get_by_test_id("seg-donor").locator("[data-value=person]").click()
        page.locator("input[name=donor-name]").fill("张三")
        page.locator("input[name=donor-phone]").fill("13800000000")
        eventually(page, DRAFTS, 1)
        eventually(page, f"() => ({DRAFT_HOLDS})('13800000000')", True)

    half_typed("88.50")
    page.reload()
    expect(page.get_by_test_id("draft-restored")).to_be_visible()
    expect(page.locator("input[name=amount]")).to_have_value("88.50")
    expect(page.locator("input[name=donor-name]")).to_have_value("张三")
    expect(page.locator("input[name=donor-phone]")).to_have_value("13800000000")
    shot(phone, "draft-restored")

    # discarded: the form is empty and stays so after a reload
    page.get_by_test_id("draft-discard").click()
    expect(page.locator("input[name=amount]")).to_have_value("")
    expect(page.get_by_test_id("draft-restored")).to_have_count(0)
    eventually(page, DRAFTS, 0)
    page.reload()
    expect(page.locator("input[name=amount]")).to_have_value("")
    expect(page.get_by_test_id("draft-restored")).to_have_count(0)

    # saved: the draft is gone, the next gift starts blank
    half_typed("20")
    page.get_by_test_id("save-donation").click()
    expect(page.get_by_test_id("receipt-number")).to_be_visible()
    eventually(page, DRAFTS, 0)
    receipt_hash = page.evaluate("() => location.hash")
    phone.go("/donations/new/money")
    expect(page.locator("input[name=amount]")).to_have_value("")
    expect(page.get_by_test_id("draft-restored")).to_have_count(0)

    # the correction form keeps its draft the same way (one helper for every record form)
    phone.go(receipt_hash.lstrip("#"))
    page.get_by_role("link", name="捐赠详情").click()
    page.get_by_test_id("open-correction").click()
    page.locator("input[name=reason]").fill("捐赠人要求撤回,已退回现金")
    eventually(page, DRAFTS, 1)
    eventually(page, f"() => ({DRAFT_HOLDS})('已退回现金')", True)
    page.reload()
    expect(page.get_by_test_id("correction-form").get_by_test_id("draft-restored")).to_be_visible()
    expect(page.locator("input[name=reason]")).to_have_value("捐赠人要求撤回,已退回现金")
    shot(phone, "correction-draft")
    page.get_by_role("button", name="取消").click()
    eventually(page, DRAFTS, 0)


def test_phone_a_day_behind_is_warned_and_lists_the_events_gifts(phones: Any, server: Server) -> None:
    code = f"CK-{uuid.uuid4().hex[:6].upper()}"
    setup_station(server, code)
    today = dt.date.today().isoformat()  # the browser runs on this machine, in its time zone
    event_id = server.event(code, "今日义卖", date=today)
    right = enrol_phone(phones, server, "right", "staff-ck1", "staff", station=code)
    wait_for_series(right)
    record_money(right, event_id, "18")
    right.wait_synced()
    expect(right.page.get_by_test_id("clock-warning")).to_have_count(0)

    behind = phones("behind")
    behind.page.clock.install(time=dt.datetime.now() - dt.timedelta(days=1))
    behind.enrol(server.token("staff-ck2", "staff", station=code))
    page = behind.page
    behind.go("/donations")
    expect(page.get_by_test_id("clock-warning")).to_contain_text("慢 1 天")
    # the event of the server's day is chosen and its gift listed, not the phone's day (empty)
    expect(page.get_by_test_id("don-event")).to_have_value(event_id)
    expect(page.get_by_test_id("don-list-title")).to_have_text("本场捐赠(1)")
    expect(page.get_by_test_id("donation-card")).to_have_count(1)
    shot(behind, "clock-behind")
    page.evaluate("() => localStorage.setItem('charity.lang', 'en')")
    page.reload()
    expect(page.get_by_test_id("clock-warning")).to_contain_text("1 day behind")
    expect(page.get_by_test_id("total-count")).to_have_text("1 gift")
    shot(behind, "clock-behind-en")


def test_unaffordable_redemption_is_refused_when_the_balance_is_fresh(phones: Any, server: Server) -> None:
    station = f"RU-{uuid.uuid4().hex[:6].upper()}"
    activity = seed_volunteer(server, station, "vol-ru", "陆志愿")
    credit_hours(server, activity, "vol-ru", 2)
    server.push("catalogue.add", {"id": str(uuid.uuid4()), "station": station, "title": "爱心午餐券",
                                  "kind": "goods", "cost_cents": 300})
    server.push("catalogue.add", {"id": str(uuid.uuid4()), "station": station, "title": "免费理发一次",
                                  "kind": "service", "cost_cents": 100})
    phone = enrol_phone(phones, server, "volunteer", "vol-ru", "volunteer", station=station)
    asked: list[str] = []
    phone.page.on("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    page = phone.page
    phone.go("/timebank")
    expect(page.get_by_test_id("balance")).to_have_attribute("data-cents", "200")

    # online and just pulled: said before anything is queued
    lunch = page.get_by_test_id("catalogue-item").filter(has_text="爱心午餐券")
    lunch.get_by_test_id("redeem").click()
    expect(page.get_by_test_id("redeem-refused")).to_contain_text("积分不足:余额 2,需要 3 积分")
    assert asked == []
    expect(page.get_by_test_id("my-redemption")).to_have_count(0)
    assert phone.pending() == 0
    shot(phone, "redeem-refused")

    # offline the phone cannot know: the request goes as before, for the server to decide
    phone.offline(True)
    lunch.get_by_test_id("redeem").click()
    expect(page.locator("[data-testid=my-redemption][data-status=needs_review]")).to_have_count(1)
    assert len(asked) == 1
    assert phone.pending() == 1

    # English: one credit, not "1 credits"
    page.evaluate("() => localStorage.setItem('charity.lang', 'en')")
    page.reload()
    haircut = page.get_by_test_id("catalogue-item").filter(has_text="免费理发一次")
    expect(haircut).to_contain_text("1 credit")
    expect(haircut).not_to_contain_text("1 credits")
    expect(lunch).to_contain_text("3 credits")
    shot(phone, "timebank-en")

