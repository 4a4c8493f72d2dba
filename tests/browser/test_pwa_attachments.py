"""Photos and invoices on the phone (docs/pwa.md "Photos and the upload queue"): a goods gift
with a photo recorded offline survives a reload, reaches the server when back online, the
photo follows with its progress shown, and the bytes the server holds carry no EXIF and no
GPS position, upright and at most 1,600 px; a disbursement above the invoice line cannot be
paid on the phone until its invoice photo has arrived, and can after."""

from __future__ import annotations

import hashlib
import io
import time
import uuid
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import Server
from tests.browser.steps import camera_photo, enrol_phone, setup_station, wait_for_series


def test_goods_photo_recorded_offline_arrives_without_exif(phones: Any, server: Server, tmp_path: Path) -> None:
    from PIL import Image

    event_id, _ = setup_station(server, "PH-001")
    phone = enrol_phone(phones, server, "goods", "staff-ph", "staff", station="PH-001")
    page = phone.page
    wait_for_series(phone)
    phone.wait_synced()
    photo = camera_photo(tmp_path / "IMG_20261205_101500.jpg")

    # No network from here on, and a reload: the app starts from the precache.
    phone.offline(True)
    page.reload()
    expect(page.get_by_test_id("sync-state")).to_have_text("离线")
    phone.go("/donations")
    page.get_by_test_id("don-event").select_option(event_id)
    page.get_by_test_id("new-goods").click()
    page.locator("input[name=item-name-0]").fill("轮椅")
    page.locator("input[name=item-qty-0]").fill("2")
    page.locator("input[name=item-unit-0]").fill("台")
    page.locator("input[name=item-value-0]").fill("2400")
    page.locator("input[name=wants-receipt]").uncheck()
    # Above the line (2,000 yuan by default) the form says a photo is needed, before queuing.
    expect(page.get_by_test_id("photo-needed")).to_contain_text("¥2,000.00")
    page.get_by_test_id("save-donation").click()
    expect(page.get_by_test_id("form-error")).to_contain_text("需要至少一张照片")
    assert phone.pending() == 0

    page.get_by_test_id("goods-photos-camera").set_input_files(str(photo))
    tile = page.get_by_test_id("goods-photos").get_by_test_id("attachment")
    expect(tile).to_have_count(1)
    expect(tile).to_have_attribute("data-state", "draft")
    expect(tile.locator("img")).to_be_visible()
    expect(page.get_by_test_id("photo-needed")).to_have_count(0)
    phone.shot("90-goods-photo-form")
    page.get_by_test_id("save-donation").click()
    expect(page.get_by_test_id("donation-amount")).to_contain_text("¥2,400.00")
    shown = page.get_by_test_id("donation-photos").get_by_test_id("attachment")
    expect(shown).to_have_attribute("data-state", "waiting")
    expect(shown).to_contain_text("等待上传")
    sha = shown.get_attribute("data-sha")
    assert sha and len(sha) == 64

    # A reload, still offline: the gift and its photo (from IndexedDB) are still there.
    page.reload()
    shown = page.get_by_test_id("donation-photos").get_by_test_id("attachment")
    expect(shown).to_have_attribute("data-state", "waiting")
    expect(shown.locator("img")).to_be_visible()
    phone.shot("91-goods-photo-waiting")
    assert phone.pending() == 1
    assert not [d for d in server.records("donation").values() if d["station"] == "PH-001"]

    # Online, on a slow line: each chunk takes a while, so the progress shows.
    chunks: list[str] = []

    def slow_chunk(route: Any) -> None:
        if route.request.method == "PATCH":
            chunks.append(route.request.headers.get("upload-offset", ""))
            time.sleep(0.4)
        route.continue_()

    phone.context.route("**/api/v1/files/*", slow_chunk)
    phone.offline(False)
    progress = shown.get_by_test_id("upload-progress")
    expect(progress).to_be_visible(timeout=20000)
    phone.shot("92-goods-photo-uploading")
    expect(shown).to_have_attribute("data-state", "uploaded", timeout=30000)
    expect(shown).to_contain_text("已上传")
    phone.wait_synced()
    assert len(chunks) >= 2 and chunks[0] == "0", chunks

    [gift] = [d for d in server.records("donation").values() if d["station"] == "PH-001"]
    assert [a["sha256"] for a in gift["attachments"]] == [sha]
    assert gift["attachments"][0]["media_type"] == "image/jpeg"
    answer = server.http.get(f"/api/v1/files/{sha}", headers={"Authorization": f"Bearer {server.admin}"})
    assert answer.status_code == 200, answer.text
    data = answer.content
    assert hashlib.sha256(data).hexdigest() == sha
    image = Image.open(io.BytesIO(data))
    assert image.format == "JPEG"
    # EXIF orientation 6 (turn right) applied on the phone: 4000x3000 stored, 1200x1600 upright
    assert image.size == (1200, 1600), image.size
    assert not image.getexif() and b"Exif" not in data[:65536]
    assert b"TestMaker" not in data and b"GPS" not in data
    assert "exif" not in image.info
    # the red corner (top left as stored) is top right once turned upright
    r, g, b = image.convert("RGB").getpixel((1200 - 20, 20))
    assert r > 180 and g < 80 and b < 80, (r, g, b)
    page.get_by_test_id("donation-photos").get_by_role("button", name="查看第 1 个文件").click()
    expect(page.get_by_test_id("file-viewer").locator("img")).to_be_visible()
    phone.shot("93-photo-viewer")


def test_disbursement_paid_only_once_its_invoice_arrived(phones: Any, server: Server, tmp_path: Path) -> None:
    _, fund_id = setup_station(server, "PH-002")
    project_id = str(uuid.uuid4())
    server.push("project.create", {"id": project_id, "fund_id": fund_id, "name": "助残设备"})
    server.push("fund.seed", {"id": str(uuid.uuid4()), "fund_id": fund_id, "amount_fen": 500000})
    manager = enrol_phone(phones, server, "station-manager", "mgr-ph", "manager", station="PH-002")
    payer = enrol_phone(phones, server, "payer", "dm-ph", "district_manager", district="天河区")
    page = manager.page

    manager.go("/funds")
    page.get_by_test_id("new-disbursement").click()
    form = page.get_by_test_id("disbursement-form")
    form.locator("select[name=fund]").select_option(fund_id)
    form.locator("select[name=project]").select_option(project_id)
    form.locator("input[name=disb-amount]").fill("1500")
    form.locator("input[name=payee]").fill("康复器材店")
    form.locator("input[name=purpose]").fill("两台轮椅")
    expect(page.get_by_test_id("invoice-needed")).to_contain_text("¥1,000.00")
    page.get_by_test_id("invoice").evaluate("e => e.scrollIntoView({block: 'center'})")
    manager.shot("94-disbursement-invoice-form")
    page.get_by_test_id("submit-disbursement").click()
    expect(page.get_by_test_id("disbursement-form")).to_have_count(0)
    manager.wait_synced()
    [stored] = [d for d in server.records("disbursement").values() if d["fund_id"] == fund_id]
    assert stored["attachments"] == []
    server.push("disbursement.decide", {"id": stored["id"], "decision": "approve", "note": ""})

    # The payer sees it approved, but pay is disabled and the phone says why.
    payer.go("/funds")
    payer.page.reload()
    item = payer.page.get_by_test_id("disbursement").filter(has_text="康复器材店")
    expect(item).to_have_attribute("data-status", "approved")
    expect(item.get_by_test_id("invoice-missing")).to_contain_text("须先上传发票")
    expect(item.get_by_test_id("open-pay")).to_be_disabled()
    item.get_by_test_id("open-pay").evaluate("e => e.scrollIntoView({block: 'center'})")
    payer.shot("95-disbursement-pay-disabled")

    # The requester adds the invoice photo later (attachment.add). Its upload cannot get
    # through at first (the file routes fail) while the mutation does.
    manager.context.route("**/api/v1/files**", lambda route: route.abort())
    invoice = camera_photo(tmp_path / "invoice.jpg", size=(1200, 1600), orientation=1)
    item_m = page.get_by_test_id("disbursement").filter(has_text="康复器材店")
    item_m.get_by_test_id("add-invoice").click()
    item_m.get_by_test_id("invoice-later-pick").set_input_files(str(invoice))
    expect(item_m.get_by_test_id("attachment")).to_have_count(1)
    item_m.get_by_test_id("save-invoice").click()
    tile = item_m.get_by_test_id("disbursement-files").get_by_test_id("attachment")
    expect(tile).to_have_attribute("data-state", "waiting")
    manager.wait_synced()
    server.wait_for(lambda: bool(server.records("disbursement")[stored["id"]]["attachments"]), "the invoice reference")

    # The payer's phone has the reference but not the file: it says so, and pay stays off.
    payer.page.reload()
    item = payer.page.get_by_test_id("disbursement").filter(has_text="康复器材店")
    remote = item.get_by_test_id("disbursement-files").get_by_test_id("attachment")
    expect(remote).to_have_attribute("data-state", "pending")
    expect(remote).to_contain_text("等待上传")
    expect(item.get_by_test_id("invoice-missing")).to_contain_text("尚未上传到服务器")
    expect(item.get_by_test_id("open-pay")).to_be_disabled()
    remote.evaluate("e => e.scrollIntoView({block: 'center'})")
    payer.shot("96-invoice-waiting-on-another-phone")

    # The line comes back: the queue tries again and the photo arrives.
    manager.context.unroute("**/api/v1/files**")
    manager.offline(True)
    manager.offline(False)
    expect(tile).to_have_attribute("data-state", "uploaded", timeout=30000)

    # Now the payer can pay (after the next sync or a reload), and the server takes it.
    payer.page.reload()
    item = payer.page.get_by_test_id("disbursement").filter(has_text="康复器材店")
    expect(item.get_by_test_id("invoice-missing")).to_have_count(0)
    expect(item.get_by_test_id("disbursement-files").get_by_test_id("attachment")).to_have_attribute("data-state", "uploaded")
    item.get_by_test_id("open-pay").click()
    item.locator("input[name=reference]").fill("BANK-2026-PH2")
    item.get_by_test_id("pay-disbursement").click()
    server.wait_for(lambda: server.records("disbursement")[stored["id"]]["status"] == "paid", "the payment", page=payer.page)


def test_event_photos_taken_with_the_event_and_added_later(phones: Any, server: Server, tmp_path: Path) -> None:
    """An event made with a photo carries it; a photo added when editing goes through
    attachment.add; both reach the server and show as uploaded."""
    server.station("PH-003")
    phone = enrol_phone(phones, server, "events", "staff-ev", "staff", station="PH-003")
    page = phone.page
    phone.go("/events/new")
    page.locator("input[name=title]").fill("敬老院探访")
    page.locator("input[name=date]").fill("2026-12-12")
    page.get_by_test_id("event-photos-pick-camera").set_input_files(str(camera_photo(tmp_path / "a.jpg", size=(2000, 1500))))
    expect(page.get_by_test_id("event-photos-pick").get_by_test_id("attachment")).to_have_count(1)
    page.get_by_test_id("save-event").click()
    expect(page.get_by_test_id("event-title")).to_have_text("敬老院探访")
    shown = page.get_by_test_id("event-photos").get_by_test_id("attachment")
    expect(shown).to_have_attribute("data-state", "uploaded", timeout=20000)
    event_id = page.url.rsplit("/", 1)[-1]

    page.get_by_test_id("edit-event").click()
    page.get_by_test_id("event-photos-pick-pick").set_input_files(str(camera_photo(tmp_path / "b.jpg", size=(1500, 2000), orientation=1)))
    expect(page.get_by_test_id("event-photos-pick").get_by_test_id("attachment")).to_have_count(2)
    page.get_by_test_id("event-photos-pick").evaluate("e => e.scrollIntoView({block: 'center'})")
    phone.shot("97-event-photos-edit")
    page.get_by_test_id("save-event").click()
    shown = page.get_by_test_id("event-photos").get_by_test_id("attachment")
    expect(shown).to_have_count(2)
    expect(shown.nth(1)).to_have_attribute("data-state", "uploaded", timeout=20000)
    phone.wait_synced()
    server.wait_for(lambda: len(server.records("event")[event_id].get("attachments", [])) == 2, "both photos on the event")
    kinds = {a["kind"] for a in server.records("event")[event_id]["attachments"]}
    assert kinds == {"photo"}
    # In English too: the states and the buttons' names.
    page.locator("button.lang").click()
    expect(shown.nth(0)).to_contain_text("Uploaded")
    expect(shown.nth(0).get_by_role("button", name="Open file 1")).to_be_enabled()
    page.get_by_test_id("edit-event").click()
    picker = page.get_by_test_id("event-photos-pick")
    expect(picker.get_by_text("Take photo")).to_be_visible()
    expect(picker.get_by_role("button", name="Remove file 2")).to_be_visible()
    picker.evaluate("e => e.scrollIntoView({block: 'center'})")
    phone.shot("98-event-photos-en")
    page.locator("button.lang").click()
