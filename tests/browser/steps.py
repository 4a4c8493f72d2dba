"""Steps the browser tests take again and again, each written once: enrol a phone, come
back online and sync, open the sync alert and read a problem's code, dismiss it; make or
edit an event on the screens; seed a station for donations or a volunteer for hours.

Also the steps more than one module takes: a money gift through the screens, enrolment by
a device code (link, PIN), the console's folded forms and sections, reading a QR code.

A step waits for what it did to show (as the tests did by hand) and asserts nothing else:
what a test checks stays in the test. The phone, the server and the ``phones`` fixture are
in tests/browser/conftest.py.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from playwright.sync_api import Locator, Page, expect

from tests.browser.conftest import PHONE, Phone, Server
from tests.helpers import campaign_args, mutation

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
    open_campaign(server, code, [fund_id])
    return event_id, fund_id


def open_campaign(server: Server, code: str, fund_ids: list[str], district: str = "天河区",
                  **fields: Any) -> str:
    """An open fundraising campaign collecting at station ``code`` only (gifts need one;
    limited to the station so the shared server's other stations keep one campaign each)."""
    campaign_id = str(uuid.uuid4())
    result = server.push("campaign.create", campaign_args(campaign_id, fund_ids, district=district,
                                                          stations=[code], **fields))
    assert result["status"] == "applied", result
    return campaign_id


def wait_for_series(phone: Phone) -> str:
    """The phone claims its receipt series by itself once enrolled as staff (online)."""
    phone.go("/donations/new/money")
    series: Locator = phone.page.get_by_text(re.compile(r"收据号段 \S+-S\d{3}"))
    expect(series).to_be_visible()
    return series.inner_text().split("收据号段 ")[1].strip()


def seed_volunteer(server: Server, station: str, user: str, name: str,
                   district: str = "天河区") -> str:
    """A station, a registered volunteer and today's service activity; returns its id."""
    server.station(station, district)
    server.push("volunteer.register", {"user_id": user, "name": name, "stations": [station]})
    activity = str(uuid.uuid4())
    server.push("activity.create", {"id": activity, "station": station, "title": "社区敬老探访",
                                    "service_type": "elder_care", "date": dt.date.today().isoformat()})
    return activity


# -- donations -------------------------------------------------------------------------------

NUMBER = re.compile(r"^[A-Z0-9-]+-S\d{3}-\d{5}$")


def record_money(phone: Phone, event_id: str, yuan: str, method: str = "wechat_pay",
                 donor: str | None = None) -> tuple[str, str]:
    """Record a money gift through the screens; returns (receipt number, code)."""
    page = phone.page
    phone.go("/donations")
    page.get_by_test_id("don-event").select_option(event_id)
    page.get_by_test_id("new-money").click()
    page.locator("input[name=amount]").fill(yuan)
    page.get_by_test_id("seg-method").locator(f"[data-value={method}]").click()
    if donor:
        page.get_by_test_id("seg-donor").locator("[data-value=person]").click()
        page.locator("input[name=donor-name]").fill(donor)
    page.get_by_test_id("save-donation").click()
    number = page.get_by_test_id("receipt-number")
    expect(number).to_have_text(NUMBER)
    return number.inner_text(), page.get_by_test_id("receipt-code").inner_text()


# -- enrolment by code --------------------------------------------------------------------

PIN = "2468"


def make_code(server: Server, user: str) -> dict[str, Any]:
    """A device code for ``user`` made by the admin, as the console does."""
    answer = server.http.post("/api/v1/enrol/codes", json={"user_id": user},
                              headers={"Authorization": f"Bearer {server.admin}"})
    assert answer.status_code == 201, answer.text
    body: dict[str, Any] = answer.json()
    return body


def person(server: Server, user: str, role: str, station: str) -> None:
    """A person with a membership (through the recovery CLI, which ensures both)."""
    server.token(user, role, station=station)


def set_pin(phone: Phone, pin: str = PIN) -> None:
    page = phone.page
    expect(page.get_by_test_id("pin-setup")).to_be_visible()
    page.get_by_test_id("pin-new").fill(pin)
    page.get_by_test_id("pin-again").fill(pin)
    page.get_by_test_id("pin-save").click()
    expect(page.get_by_test_id("pin-setup")).to_have_count(0)


def enrol_by_link(phone: Phone, secret: str, *, pin: str | None = PIN) -> None:
    """Open the QR code's link, confirm, set the PIN (staff and up), wait for a sync."""
    page = phone.page
    page.goto(f"/#/enrol?code={secret}")
    page.get_by_test_id("enrol-go").click()
    if pin:
        set_pin(phone, pin)
    page.wait_for_url("**/#/events")
    phone.wait_synced()


def wide_shot(phone: Phone, name: str) -> None:
    """The screen at 1280×800 too (then back to the phone's size)."""
    phone.page.set_viewport_size({"width": 1280, "height": 800})
    phone.shot(name + "-1280")
    phone.page.set_viewport_size(PHONE)


# -- the console ------------------------------------------------------------------------------


def decode_qr(png: bytes) -> str:
    """What a camera reads from the QR code in the screenshot (OpenCV's detector)."""
    import cv2
    import numpy as np

    image = cv2.imdecode(np.frombuffer(png, dtype=np.uint8), cv2.IMREAD_GRAYSCALE)
    assert image is not None, "the screenshot is not an image"
    for scale in (1.0, 0.5, 0.35):
        sized = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        for detector in (cv2.QRCodeDetectorAruco(), cv2.QRCodeDetector()):
            text, _points, _ = detector.detectAndDecode(sized)
            if text:
                return str(text)
    return ""


def qr_video(path: Path, text: str) -> None:
    """A still video (I420, 640×480, a few frames) of the QR code of ``text``: Chromium's
    fake camera plays it as if the phone were pointed at an admin's screen."""
    import segno

    qr = segno.make(text, error="m")
    matrix = [list(row) for row in qr.matrix_iter(scale=1, border=4)]
    size = len(matrix)
    scale = 440 // size
    width, height = 640, 480
    left, top = (width - size * scale) // 2, (height - size * scale) // 2
    luma = bytearray([235]) * (width * height)
    for y, row in enumerate(matrix):
        for x, dark in enumerate(row):
            if dark:
                for dy in range(scale):
                    start = (top + y * scale + dy) * width + left + x * scale
                    luma[start:start + scale] = bytes([16]) * scale
    chroma = bytes([128]) * (width * height // 4)
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(10):
            out.write(b"FRAME\n" + bytes(luma) + chroma + chroma)


def pick_station(phone: Phone, code: str) -> None:
    select = phone.page.get_by_test_id("admin-station-select")
    if select.count():
        select.select_option(code)
    else:
        expect(phone.page.get_by_test_id("admin-station")).to_contain_text(code)


def save(phone: Phone, form: str, fields: dict[str, str], selects: dict[str, Any] | None = None) -> None:
    """Open a folded form, fill it, submit once; wait for its confirmation."""
    page = phone.page
    page.get_by_test_id(f"{form}-open").click()
    box = page.get_by_test_id(form)
    for name, value in (selects or {}).items():
        select = box.locator(f"select[name={name}]")
        select.select_option(**value) if isinstance(value, dict) else select.select_option(value)
    for name, value in fields.items():
        box.locator(f"[name={name}]").fill(value)
    page.get_by_test_id(f"{form}-submit").click()
    expect(page.get_by_test_id(f"{form}-status")).to_have_attribute("data-tone", "ok")


def open_section(phone: Phone, key: str) -> None:
    """Back to the console's list of sections (a phone shows one at a time), then the section."""
    phone.go("/admin")
    phone.page.get_by_test_id(f"admin-link-{key}").click()
    expect(phone.page.get_by_test_id(f"admin-{key}")).to_be_visible()


def credit_hours(server: Server, activity: str, user: str, hours: int) -> None:
    """Approved hours for the volunteer, recorded by the admin and approved by a second
    admin (whoever records hours never approves them)."""
    log = str(uuid.uuid4())
    start = dt.datetime.now(dt.UTC) - dt.timedelta(hours=hours + 30)
    server.push("hours.manual", {"id": log, "activity_id": activity, "volunteer_id": user,
                                 "check_in_at": start.isoformat(),
                                 "check_out_at": (start + dt.timedelta(hours=hours)).isoformat()})
    body = {"protocol": 1, "client_id": str(uuid.uuid4()),
            "mutations": [mutation(1, "hours.approve", {"id": log})]}
    response = server.http.post("/api/v1/sync/push", json=body, headers={
        "Authorization": f"Bearer {server.token('admin-2', 'admin')}"})
    assert response.json()["results"][0]["status"] == "applied", response.text


# -- photos -------------------------------------------------------------------------------


def camera_photo(path: Any, size: tuple[int, int] = (4000, 3000), orientation: int = 6) -> Any:
    """A JPEG as a phone camera writes it: ``size`` as stored, sensor noise (so it does not
    compress to nothing), a red block in the stored top-left corner, and EXIF with the maker,
    an orientation (6: turn right to view) and a GPS position. Returns ``path``."""
    from PIL import Image, ImageDraw

    image = Image.effect_noise(size, 40).convert("RGB")
    ImageDraw.Draw(image).rectangle((0, 0, size[0] // 8, size[1] // 8), fill=(220, 20, 20))
    exif = Image.Exif()
    exif[0x010F] = "TestMaker"  # Make
    exif[0x0112] = orientation
    exif.get_ifd(0x8825).update({1: "N", 2: (22.0, 32.0, 10.0), 3: "E", 4: (113.0, 19.0, 5.0)})
    image.save(path, "JPEG", quality=90, exif=exif)
    return path


def upload_photo(server: Server, token: str, kind: str = "invoice") -> dict[str, Any]:
    """A small JPEG uploaded with ``token`` through the file routes (one chunk), as a phone
    sends an invoice photo; returns the AttachmentRef a record carries."""
    import hashlib
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (240, 240, 230)).save(buffer, "JPEG")
    data = buffer.getvalue()
    sha = hashlib.sha256(data).hexdigest()
    auth = {"Authorization": f"Bearer {token}"}
    started = server.http.post("/api/v1/files", json={"sha256": sha, "size": len(data), "media_type": "image/jpeg"},
                               headers=auth)
    assert started.status_code == 200, started.text
    if not started.json()["complete"]:
        sent = server.http.patch(f"/api/v1/files/{sha}", content=data,
                                 headers={**auth, "Upload-Offset": "0", "Content-Type": "application/octet-stream"})
        assert sent.status_code == 200 and sent.json()["complete"], sent.text
    return {"sha256": sha, "media_type": "image/jpeg", "size": len(data), "kind": kind, "public": False}
