"""Enrolment on the phone (src/areas/account): by the link of a QR code (asking first when
someone is already on the phone), by a typed short code, by a QR code read from the camera;
refused codes show the server's reason; volunteer sign-up from a station's poster."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, SHOTS, TIMEOUT_MS, Phone, Server
from tests.browser.steps import make_code, person, qr_video, set_pin, wide_shot


def expire(server: Server, code_id: str) -> None:
    """Make a code's 15 minutes pass (SQLite: the browser tests' database)."""
    path = server.proc.database_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as db:
        db.execute("UPDATE enrolment_codes SET expires_at = '2000-01-01T00:00:00.000000Z' WHERE id = ?",
                   (code_id,))


def test_enrol_by_link_asks_before_replacing(phones: Any, server: Server) -> None:
    server.station("EN-001")
    person(server, "王芳", "staff", "EN-001")
    person(server, "李明", "volunteer", "EN-001")
    phone: Phone = phones("link")
    page = phone.page
    page.goto(f"/#/enrol?code={make_code(server, '王芳')['secret']}")
    expect(page.get_by_test_id("enrol-link")).to_be_visible()
    # the secret leaves the address bar (in the screen's first effect, just after it shows)
    expect(page).not_to_have_url(re.compile("code="))
    expect(page.get_by_test_id("device-name")).not_to_have_value("")
    phone.shot("70-enrol-link")
    wide_shot(phone, "70-enrol-link")
    page.get_by_test_id("device-name").fill("王芳的手机")
    page.get_by_test_id("enrol-go").click()
    expect(page.get_by_test_id("pin-setup")).to_be_visible()
    phone.shot("71-pin-setup")
    wide_shot(phone, "71-pin-setup")
    page.get_by_test_id("pin-new").fill("12")
    page.get_by_test_id("pin-again").fill("12")
    page.get_by_test_id("pin-save").click()
    expect(page.get_by_test_id("pin-error")).to_contain_text("4 到 8 位数字")
    set_pin(phone)
    page.wait_for_url("**/#/events")
    phone.wait_synced()
    devices = server.http.get("/api/v1/devices", params={"person": "王芳"},
                              headers={"Authorization": f"Bearer {server.admin}"}).json()
    mine = [d for d in devices if d["name"] == "王芳的手机"]  # (the other is the CLI's token)
    assert len(mine) == 1 and mine[0]["revoked_at"] is None
    assert mine[0]["app_version"] == "0.1.0"  # X-App-Version reached the server

    # Offline, 王芳 creates an event; then a link for 李明 is opened on the same phone.
    phone.offline(True)
    phone.go("/events/new")
    page.locator("input[name=title]").fill("王芳离线建的活动")
    page.locator("input[name=date]").fill("2026-12-20")
    page.get_by_test_id("save-event").click()
    expect(page.get_by_test_id("event-title")).to_have_text("王芳离线建的活动")
    page.goto(f"/#/enrol?code={make_code(server, '李明')['secret']}")
    expect(page.get_by_test_id("enrol-replace-who")).to_contain_text("王芳")
    expect(page.get_by_test_id("enrol-replace-pending")).to_have_attribute("data-count", "1")
    phone.shot("72-enrol-replace")
    wide_shot(phone, "72-enrol-replace")
    page.get_by_test_id("enrol-replace-cancel").click()  # nothing changes
    page.wait_for_url("**/#/events")
    assert phone.pending() == 1

    phone.offline(False)
    page.goto(f"/#/enrol?code={make_code(server, '李明')['secret']}")
    page.get_by_test_id("enrol-replace-go").click()
    page.wait_for_url("**/#/events")
    phone.go("/me")
    expect(page.get_by_test_id("me-user")).to_have_text("李明")
    titles = [e["title"] for e in server.records("event").values()]
    assert "王芳离线建的活动" in titles  # delivered before the phone changed hands
    # An old-style recovery token of someone else asks the same question.
    page.goto(f"/#/enrol?token={server.token('王芳', 'staff', station='EN-001')}")
    expect(page.get_by_test_id("enrol-replace-who")).to_contain_text("李明")


def test_short_code_and_refused_codes(phones: Any, server: Server) -> None:
    server.station("EN-002")
    person(server, "short-staff", "staff", "EN-002")
    phone: Phone = phones("short")
    page = phone.page
    page.goto("/#/enrol")
    phone.shot("73-enrol")
    wide_shot(phone, "73-enrol")

    def typed(code: str) -> None:
        page.locator("input[name=short]").fill(code)
        page.get_by_role("button", name="登记", exact=True).click()

    expired = make_code(server, "short-staff")
    expire(server, expired["id"])
    typed(expired["short_code"])
    message = page.get_by_test_id("enrol-message")
    expect(message).to_have_attribute("data-code", "enrol_code_expired")
    expect(message).to_contain_text("过期")
    phone.shot("74-enrol-expired")
    page.get_by_role("button", name="EN").click()
    expect(message).to_contain_text("expired")
    page.get_by_role("button", name="中文").click()

    used = make_code(server, "short-staff")
    assert server.http.post("/api/v1/enrol", json={"code": used["secret"], "device_name": "别的手机"}).status_code == 200
    page.goto(f"/#/enrol?code={used['secret']}")
    page.get_by_test_id("enrol-go").click()
    expect(message).to_have_attribute("data-code", "enrol_code_used")
    page.get_by_role("button", name="返回").click()  # back to the scan and short-code form

    typed("ZZZZ-ZZZZ")
    expect(message).to_have_attribute("data-code", "enrol_code_unknown")
    typed("abc")
    expect(message).to_contain_text("8 位")

    fresh = make_code(server, "short-staff")
    typed(fresh["short_code"].lower().replace("-", ""))  # any case, no dash
    set_pin(phone)
    page.wait_for_url("**/#/events")
    phone.go("/me")
    expect(page.get_by_test_id("me-user")).to_have_text("short-staff")


def test_enrol_by_camera_scan(browser: Any, phones: Any, server: Server, tmp_path: Path) -> None:
    server.station("EN-003")
    person(server, "scan-vol", "volunteer", "EN-003")
    code = make_code(server, "scan-vol")
    video = tmp_path / "qr.y4m"
    qr_video(video, f"{server.base_url}/#/enrol?code={code['secret']}")

    # Without a camera the screen says what to do instead.
    plain: Phone = phones("no-camera")
    plain.page.goto("/#/enrol")
    plain.page.get_by_test_id("enrol-scan").click()
    expect(plain.page.get_by_test_id("scan-problem")).to_contain_text("短码")
    plain.shot("75-scan-refused")

    launched = browser.browser_type.launch(executable_path=str(CHROMIUM), args=[
        *CHROMIUM_ARGS, "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={video}"])
    try:
        phone = Phone(launched, server, "camera")
        page = phone.page
        phone.context.grant_permissions(["camera"])
        page.goto("/#/enrol")
        page.get_by_test_id("enrol-scan").click()
        expect(page.get_by_test_id("enrol-link")).to_be_visible(timeout=TIMEOUT_MS)
        page.get_by_test_id("enrol-go").click()  # a volunteer: no PIN asked
        page.wait_for_url("**/#/events")
        phone.go("/me")
        expect(page.get_by_test_id("me-user")).to_have_text("scan-vol")
        assert not any("pageerror" in m for m in phone.messages), phone.messages
        phone.close()
    finally:
        launched.close()


def test_signup_from_poster(phones: Any, server: Server) -> None:
    server.station("EN-004")
    answer = server.http.get("/api/v1/stations/EN-004/signup-code",
                             headers={"Authorization": f"Bearer {server.admin}"})
    assert answer.status_code == 200, answer.text
    secret = answer.json()["secret"]
    phone: Phone = phones("signup")
    page = phone.page
    page.goto(f"/#/signup?code={secret}")
    expect(page.get_by_test_id("signup-station")).to_contain_text("EN-004 社工站")
    expect(page.get_by_test_id("signup-privacy")).to_contain_text("如何删除")
    page.locator("input[name=name]").fill("陈小梅")
    page.locator("input[name=phone]").fill("1380013")
    page.get_by_role("button", name="报名").click()
    expect(page.get_by_test_id("signup-error-consent")).to_be_visible()
    phone.shot("76-signup")
    wide_shot(phone, "76-signup")
    page.get_by_test_id("signup-consent").check()
    page.locator("input[name=phone]").fill("13800138000")
    page.get_by_role("button", name="报名").click()
    page.wait_for_url("**/#/hours")
    phone.go("/me")
    expect(page.get_by_test_id("me-name")).to_have_text("陈小梅")
    members = [m for m in server.records("membership").values() if m["name"] == "陈小梅"]
    assert [(m["role"], m["station"], m["phone"]) for m in members] == [("volunteer", "EN-004", "13800138000")]

    # A bad poster link says so.
    page.goto("/#/signup?code=" + "x" * 43)
    expect(page.get_by_test_id("enrol-replace")).to_be_visible()  # someone (陈小梅) is on the phone
    page.get_by_test_id("enrol-replace-go").click()
    expect(page.get_by_test_id("enrol-message")).to_have_attribute("data-code", "enrol_code_unknown")


@pytest.fixture(autouse=True)
def _shots_dir() -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
