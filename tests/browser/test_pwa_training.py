"""Training on the phones (docs/training.md): staff set up a lecture on 中华慈善日 with a
handout; one volunteer takes the only seat, another joins the waiting list; a second
phone of the first, offline, signs up again and is told why not; a withdrawal gives the
seat to the waiting person; at the door two offline staff phones scan the same entry
code (read from the QR code on the volunteer's screen) and it counts once; the attendee
sees the hours on their record, gives feedback, and the certificate PDF lists the
training. Screenshots at 360x740 (``pwa-training-*``)."""

from __future__ import annotations

import datetime as dt
import io
import uuid
from pathlib import Path
from typing import Any

from playwright.sync_api import expect
from pypdf import PdfReader

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, Phone, Server
from tests.browser.steps import (
    back_online,
    camera_photo,
    decode_qr,
    qr_video,
    seed_volunteer,
    sync_problem,
)

STATION = "TRN-001"
TOPIC = "《慈善法》与社区慈善"


def _phone(phones: Any, server: Server, user: str, role: str, name: str | None = None) -> tuple[Phone, str]:
    token = server.token(user, role, station=STATION)
    phone: Phone = phones(name or user)
    phone.enrol(token)
    return phone, token


def _entry_link(phone: Phone) -> str:
    """The volunteer shows the entry code; what a camera reads from the screen."""
    page = phone.page
    page.get_by_test_id("show-entry-code").click()
    qr = page.get_by_test_id("entry-qr")
    expect(qr.locator("svg")).to_be_visible()
    page.wait_for_timeout(300)  # the screen scrolls the code into view
    link = decode_qr(page.screenshot())
    assert "/#/training/" in link and "/door?vc=" in link, link
    return link


def _signups(server: Server, training: str) -> dict[str, str]:
    return {s["user"]: s["status"] for s in server.records("training_signup").values()
            if s["training_id"] == training and s["status"] != "cancelled"}


def test_training_from_sign_up_to_the_door_and_the_certificate(server: Server, phones: Any, tmp_path: Any) -> None:
    seed_volunteer(server, STATION, "tr-bo", "柏志愿")
    server.push("volunteer.register", {"user_id": "tr-ann", "name": "安志愿", "stations": [STATION]})
    staff, _ = _phone(phones, server, "tr-staff", "staff")
    door2, _ = _phone(phones, server, "tr-door2", "staff")
    ann, _ = _phone(phones, server, "tr-ann", "volunteer")
    ann2, _ = _phone(phones, server, "tr-ann", "volunteer", name="tr-ann-second-phone")
    bo, bo_token = _phone(phones, server, "tr-bo", "volunteer")

    # -- staff set up the lecture through the form, starting in about an hour
    page = staff.page
    staff.go("/hours")
    page.get_by_test_id("to-training").click()
    page.get_by_test_id("new-training").click()
    when = page.evaluate("""() => {
        const pad = (n) => String(n).padStart(2, '0');
        const start = new Date(Math.ceil((Date.now() + 70 * 60000) / 300000) * 300000);
        const end = new Date(start.getTime() + 90 * 60000);
        const hm = (d) => `${pad(d.getHours())}:${pad(d.getMinutes())}`;
        const day = `${start.getFullYear()}-${pad(start.getMonth() + 1)}-${pad(start.getDate())}`;
        return { day, from: hm(start), to: end.getDate() === start.getDate() ? hm(end) : '23:59' };
    }""")
    form = page.get_by_test_id("training-form")
    form.locator("input[name=topic]").fill(TOPIC)
    form.locator("input[name=speaker]").fill("陈律师(市慈善会法律顾问)")
    form.locator("select[name=occasion]").select_option("charity_day")
    form.locator("input[name=day]").fill(when["day"])
    form.locator("input[name=from]").fill(when["from"])
    form.locator("input[name=to]").fill(when["to"])
    form.locator("input[name=place]").fill("天河社工站二楼活动室")
    form.locator("input[name=capacity]").fill("1")
    form.locator("input[name=hours]").fill("2.5")
    form.locator("textarea[name=description]").fill("慈善组织认定、公开募捐备案与信息公开;社区慈善基金的规范运作。")
    page.get_by_test_id("training-files-pick").set_input_files(str(camera_photo(tmp_path / "handout.jpg", size=(1200, 900))))
    expect(page.get_by_test_id("training-files").get_by_test_id("attachment")).to_have_count(1)
    staff.shot("pwa-training-form")
    page.get_by_test_id("save-training").click()
    expect(page.locator("main h1")).to_have_text(TOPIC)
    training = page.url.rsplit("/", 1)[-1]
    staff.wait_synced()
    server.wait_for(lambda: training in server.records("training"), "the training on the server")
    expect(page.get_by_test_id("training-materials").get_by_test_id("attachment")).to_have_count(1)

    # -- ann takes the only seat; her second phone, offline, signs up again
    ann2.offline(True)
    ann.go("/training")
    card = ann.page.locator(f'[data-testid="training-card"][data-id="{training}"]')
    expect(card).to_contain_text("中华慈善日")
    expect(card).to_contain_text("余 1 座")
    ann.shot("pwa-training-list")
    card.click()
    ann.page.get_by_test_id("training-signup").click()
    expect(ann.page.get_by_test_id("my-status")).to_have_text("已报名")
    ann.wait_synced()
    ann2.go(f"/training/{training}")
    ann2.page.get_by_test_id("training-signup").click()
    expect(ann2.page.get_by_test_id("my-status")).to_have_text("已报名")  # shown at once, offline
    back_online(ann2)
    problem = sync_problem(ann2, "1 项未被接受", "already_signed_up")
    expect(problem).to_contain_text("不能重复报名")
    ann2.shot("pwa-training-double-signup")
    assert _signups(server, training) == {"tr-ann": "confirmed"}

    # -- bo finds it full and joins the waiting list
    bo.go(f"/training/{training}")
    expect(bo.page.get_by_test_id("training-seats")).to_contain_text("已报 1 / 1")
    expect(bo.page.get_by_test_id("training-signup")).to_have_text("名额已满,加入候补")
    bo.page.get_by_test_id("training-signup").click()
    expect(bo.page.get_by_test_id("my-status")).to_have_text("候补第 1 位")
    bo.wait_synced()
    bo.shot("pwa-training-waitlist")

    # -- ann withdraws: bo gets the seat (his phone follows); ann signs up again: waiting
    ann.page.get_by_test_id("training-withdraw").click()
    ann.page.get_by_test_id("training-withdraw-confirm").click()
    expect(ann.page.get_by_test_id("training-signup")).to_be_visible()
    ann.wait_synced()
    expect(bo.page.get_by_test_id("my-status")).to_have_text("已报名")
    server.wait_for(lambda: _signups(server, training) == {"tr-bo": "confirmed"}, "bo promoted")
    ann.page.get_by_test_id("training-signup").click()
    expect(ann.page.get_by_test_id("my-status")).to_have_text("候补第 1 位")
    ann.wait_synced()

    # -- entry codes, read off the screens as a camera would
    bo_link = _entry_link(bo)
    bo.shot("pwa-training-entry-code")
    ann_link = _entry_link(ann)

    # -- the door: both staff phones offline; the same person on both counts once
    for door in (staff, door2):
        door.go(f"/training/{training}/door")
        expect(door.page.get_by_test_id("door-counts")).to_be_visible()
        door.offline(True)
    for door in (staff, door2):
        door.page.get_by_test_id("door-code").fill(bo_link)
        door.page.get_by_test_id("door-use-code").click()
        expect(door.page.get_by_test_id("door-result")).to_contain_text("已签到")
    staff.page.get_by_test_id("door-code").fill(bo_link)  # the same phone again: told, not queued
    staff.page.get_by_test_id("door-use-code").click()
    expect(staff.page.get_by_test_id("door-result")).to_contain_text("已经签到过")
    staff.page.get_by_test_id("door-code").fill(ann_link)  # from the waiting list: let in
    staff.page.get_by_test_id("door-use-code").click()
    expect(staff.page.get_by_test_id("door-result")).to_contain_text("已签到")
    expect(staff.page.get_by_test_id("door-attended")).to_have_text("2")
    staff.shot("pwa-training-door")
    back_online(staff, door2)
    server.wait_for(lambda: _signups(server, training) == {"tr-bo": "attended", "tr-ann": "attended"},
                    "both attended")
    record = server.records("training")[training]
    assert (record["attended"], record["confirmed"], record["waitlisted"]) == (2, 2, 0)
    expect(door2.page.get_by_test_id("door-attended")).to_have_text("2")

    # -- bo: the hours on his record, then the feedback form
    bo.go(f"/training/{training}")
    expect(bo.page.get_by_test_id("my-hours")).to_contain_text("2.5")
    form = bo.page.get_by_test_id("training-feedback")
    form.locator('[data-testid="feedback-score-4"] + span').click()
    form.locator('[data-testid="feedback-useful-5"] + span').click()
    bo.page.get_by_test_id("feedback-comment").fill("案例很实用,希望下次讲讲募捐备案的流程")
    bo.page.get_by_test_id("feedback-send").click()
    expect(bo.page.get_by_test_id("feedback-given")).to_be_visible()
    bo.shot("pwa-training-feedback")
    bo.wait_synced()
    bo.go("/training")
    expect(bo.page.get_by_test_id("my-training-hours")).to_have_text("2.5")
    expect(bo.page.get_by_test_id("record-line")).to_contain_text(TOPIC)
    bo.shot("pwa-training-record")
    bo.go("/me")  # the person's profile says it too
    expect(bo.page.get_by_test_id("me-training-link")).to_contain_text("培训 2.5 小时 · 参加 1 次")

    # -- staff see who came and what they said
    staff.go(f"/training/{training}")
    lines = staff.page.get_by_test_id("signup-line")
    expect(lines).to_have_count(2)
    expect(staff.page.get_by_test_id("signup-list")).to_contain_text("已签到")
    expect(staff.page.get_by_test_id("feedback-average")).to_contain_text("4.0", timeout=20_000)
    staff.shot("pwa-training-staff")

    # -- the service certificate lists the training with its hours
    got = server.http.get("/api/v1/timebank/volunteers/tr-bo/certificate",
                          headers={"Authorization": f"Bearer {bo_token}"})
    assert got.status_code == 200 and got.headers["content-type"] == "application/pdf"
    text = "".join("".join(p.extract_text().split()) for p in PdfReader(io.BytesIO(got.content)).pages)
    for shown in ("培训时数", TOPIC, "中华慈善日", "2.50"):
        assert shown in text, (shown, text)


def test_the_door_phone_reads_an_entry_code_with_its_camera(browser: Any, server: Server, tmp_path: Path) -> None:
    """The in-app scanner (Chromium's fake camera playing the QR code of a volunteer's entry
    link), offline: the person is in at once, and on the server once back online."""
    station = "TRN-002"
    seed_volunteer(server, station, "tr-cam", "镜志愿")
    training = str(uuid.uuid4())
    start = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(minutes=30)
    server.push("training.create", {
        "id": training, "station": station, "topic": "广州市社会工作服务条例解读", "speaker": "李老师",
        "starts_at": start.isoformat().replace("+00:00", "Z"),
        "ends_at": (start + dt.timedelta(hours=2)).isoformat().replace("+00:00", "Z"),
        "place": "越秀社工站", "capacity": 20, "hours": 2, "occasion": "social_work_week"})
    token = server.token("tr-cam", "volunteer", station=station)  # the person's account
    server.push("training.signup", {"id": str(uuid.uuid4()), "training_id": training, "user": "tr-cam"})
    code = server.http.get("/api/v1/training/code", headers={"Authorization": f"Bearer {token}"}).json()["code"]
    video = tmp_path / "entry.y4m"
    qr_video(video, f"{server.base_url}/#/training/{training}/door?vc={code}")
    launched = browser.browser_type.launch(executable_path=str(CHROMIUM), args=[
        *CHROMIUM_ARGS, "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={video}"])
    try:
        door = Phone(launched, server, "tr-camera-door")
        door.context.grant_permissions(["camera"])
        door.enrol(server.token("tr-cam-staff", "staff", station=station))
        door.go(f"/training/{training}/door")
        expect(door.page.get_by_test_id("door-line")).to_have_attribute("data-status", "confirmed")
        door.offline(True)
        door.page.get_by_test_id("door-scan").click()
        expect(door.page.get_by_test_id("door-result")).to_contain_text("镜志愿 已签到")
        expect(door.page.get_by_test_id("door-line")).to_have_attribute("data-status", "attended")
        door.shot("pwa-training-door-camera")
        back_online(door)
        server.wait_for(lambda: _signups(server, training) == {"tr-cam": "attended"}, "attended by camera")
        assert not any("pageerror" in m for m in door.messages), door.messages
        door.close()
    finally:
        launched.close()
