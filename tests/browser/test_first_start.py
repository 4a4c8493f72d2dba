"""The accounts issue's headline: from an empty database, with no shell command after
``serve``, a first administrator, a station with its money and people, three phones
enrolled three ways (QR code, short code, poster sign-up), an offline donation seen and
exported by the manager, and a role change that takes effect at the staff phone's next pull.

The server is the real process on a fresh SQLite file; its printed first-administrator link
(and the terminal QR code beside it) is all a person gets. Every phone is a browser context
of its own; QR codes are read from pixels (the admin's screen, the poster) as a camera would.
"""

from __future__ import annotations

import base64
import csv
import io
import re
import time
import uuid
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.browser.conftest import SHOTS, TIMEOUT_MS, Phone, Server
from tests.browser.steps import (
    NUMBER,
    decode_qr,
    open_section,
    pick_station,
    save,
    set_pin,
    wait_for_series,
)
from tests.donation_setup import money
from tests.helpers import mutation
from tests.serverproc import ServerProcess

pytestmark = pytest.mark.slow

OFFICE = {"width": 1280, "height": 800}
PHONE = {"width": 360, "height": 740}
LINK = re.compile(r"(https?://\S+/#/enrol\?code=[A-Za-z0-9_-]{20,})")

# Half-block characters of segno's compact terminal QR code: (top light, bottom light).
BLOCKS = {"█": (1, 1), "▀": (1, 0), "▄": (0, 1), " ": (0, 0)}


def _qr_image(modules: list[list[int]], scale: int = 8, border: int = 4) -> bytes:
    """A PNG of a module matrix (1 = dark), with a quiet zone, for the decoder."""
    import cv2
    import numpy as np

    grid = np.array(modules, dtype=np.uint8)
    grid = np.pad(grid, border, constant_values=0)
    image = np.where(grid == 1, 0, 255).astype(np.uint8)
    image = np.kron(image, np.ones((scale, scale), dtype=np.uint8))
    ok, png = cv2.imencode(".png", image)
    assert ok
    return bytes(png.tobytes())


def terminal_qr(output: str) -> str:
    """Read the QR code ``serve`` drew with block characters (light blocks on a dark
    terminal) back into modules and decode it."""
    rows = [line for line in output.splitlines()
            if len(line) > 20 and set(line) <= set(BLOCKS) and "█" in line]
    assert rows, "no QR code in the server's output"
    modules: list[list[int]] = []
    for line in rows:
        top = [1 - BLOCKS[c][0] for c in line]
        bottom = [1 - BLOCKS[c][1] for c in line]
        modules += [top, bottom]
    width = max(len(r) for r in modules)
    modules = [r + [0] * (width - len(r)) for r in modules]
    return decode_qr(_qr_image(modules))


def poster_qr(pdf: bytes) -> str:
    """Draw the poster's QR code from the PDF's page content (reportlab fills one
    rectangle per run of dark modules) and decode the picture."""
    import cv2
    import numpy as np

    for raw in re.findall(rb"stream\r?\n(.*?)endstream", pdf, re.DOTALL):
        data = raw.strip()
        if data.endswith(b"~>"):
            data = base64.a85decode(data, adobe=True)
        try:
            text = zlib.decompress(data).decode("latin-1")
        except zlib.error:
            text = data.decode("latin-1")
        rects = [tuple(map(float, r)) for r in re.findall(
            r"([\d.]+) ([\d.]+) ([\d.]+) ([\d.]+) re f\*", text)]
        if len(rects) < 50:
            continue
        unit = min(min(w, h) for _x, _y, w, h in rects)  # one module
        top = max(y + h for _x, y, _w, h in rects)
        right = max(x + w for x, _y, w, _h in rects)
        px = 10 / unit
        size = int((max(top, right) + 8 * unit) * px)
        image = np.full((size, size), 255, dtype=np.uint8)
        pad = int(4 * unit * px)
        for x, y, w, h in rects:
            x0, y0 = pad + round(x * px), pad + round((top - y - h) * px)
            image[y0:y0 + round(h * px), x0:x0 + round(w * px)] = 0
        ok, png = cv2.imencode(".png", image)
        assert ok
        return decode_qr(bytes(png.tobytes()))
    raise AssertionError("no QR code drawn in the poster")


class FirstStart(Server):
    """The server as a person meets it: nobody is known; the admin token used for the
    server-side checks is the one the first administrator's browser got by the link."""

    def __init__(self, proc: ServerProcess) -> None:  # no CLI token, unlike Server
        self.proc = proc
        self.base_url = proc.base_url
        self.http = httpx.Client(base_url=proc.base_url, timeout=10)
        self.admin = ""
        self.admin_client = str(uuid.uuid4())
        self.next_id = 1


@pytest.fixture
def fresh(tmp_path: Path) -> Iterator[FirstStart]:
    data_dir = tmp_path / "var"
    proc = ServerProcess(database_url=f"sqlite:///{data_dir / 'charity.db'}", data_dir=data_dir)
    with proc:
        server = FirstStart(proc)
        yield server
        server.http.close()


def both(phone: Phone, name: str, top: bool = True) -> None:
    """The screen at phone size and at office size."""
    phone.page.set_viewport_size(PHONE)
    if top:
        phone.page.evaluate("scrollTo(0, 0)")
    phone.shot(f"{name}-360")
    phone.page.set_viewport_size(OFFICE)
    phone.shot(f"{name}-1280")
    phone.page.set_viewport_size(PHONE)


def stored_token(phone: Phone) -> str:
    token: str = phone.page.evaluate("""async () => {
      const db = await new Promise((ok) => { const r = indexedDB.open('charity'); r.onsuccess = () => ok(r.result); });
      const got = await new Promise((ok) => { const r = db.transaction('meta').objectStore('meta').get('token'); r.onsuccess = () => ok(r.result); });
      db.close();
      return got;
    }""")
    return token


def replica_donation_stations(phone: Phone) -> list[str]:
    stations: list[str] = phone.page.evaluate("""async () => {
      const db = await new Promise((ok) => { const r = indexedDB.open('charity'); r.onsuccess = () => ok(r.result); });
      const rows = await new Promise((ok) => { const r = db.transaction('replica').objectStore('replica').index('type').getAll('donation'); r.onsuccess = () => ok(r.result); });
      db.close();
      return rows.map((row) => row.data.station);
    }""")
    return stations


def record_gift(phone: Phone, yuan: str, donor: str) -> str:
    """A cash gift, not tied to an event, from a named donor; returns the receipt number."""
    page = phone.page
    phone.go("/donations")
    page.get_by_test_id("don-event").select_option("none")
    page.get_by_test_id("new-money").click()
    page.locator("input[name=amount]").fill(yuan)
    page.get_by_test_id("seg-method").locator("[data-value=cash]").click()
    page.get_by_test_id("seg-donor").locator("[data-value=person]").click()
    page.locator("input[name=donor-name]").fill(donor)
    page.get_by_test_id("save-donation").click()
    number = page.get_by_test_id("receipt-number")
    expect(number).to_have_text(NUMBER)
    return str(number.inner_text())


def add_person(admin: Phone, station: str, name: str, phone_no: str, role: str) -> str:
    """Console: a person with a first role at the station; returns their id (from the URL)."""
    page = admin.page
    open_section(admin, "people")
    pick_station(admin, station)
    page.get_by_test_id("person-form-open").click()
    form = page.get_by_test_id("person-form")
    form.locator("[name=name]").fill(name)
    form.locator("[name=phone]").fill(phone_no)
    form.locator("select[name=role]").select_option(role)
    page.get_by_test_id("person-form-submit").click()
    expect(page.get_by_test_id("person-added")).to_contain_text(name)
    return str(page.url).split("/admin/people/")[1].split("?")[0]


def make_code(admin: Phone) -> tuple[str, str, bytes]:
    """Console: 生成登记码 on the person's screen; returns (link, short code, the QR's pixels)."""
    page = admin.page
    page.get_by_test_id("make-code").click()
    shown = page.get_by_test_id("enrol-code")
    expect(shown).to_be_visible()
    link = shown.get_attribute("data-link") or ""
    short = page.get_by_test_id("short-code").inner_text()
    assert re.fullmatch(r"[0-9A-Z]{4}-[0-9A-Z]{4}", short), short
    return link, short, page.get_by_test_id("enrol-qr").screenshot()


def test_first_start_to_role_change(browser: Any, fresh: FirstStart, tmp_path: Path) -> None:
    started = time.monotonic()
    server = fresh
    made: list[Phone] = []

    def phone(name: str) -> Phone:
        made.append(Phone(browser, server, name))
        return made[-1]

    try:
        _story(server, phone, tmp_path)
    finally:
        for p in made:
            if p.messages and any(m.startswith(("pageerror", "error")) for m in p.messages):
                print(f"--- console of {p.name} ---\n" + "\n".join(p.messages[-40:]))
            p.close()
    assert time.monotonic() - started < 150, "the story should stay well under the slow budget"


def _story(server: FirstStart, new_phone: Any, tmp_path: Path) -> None:
    # 1. The server's output: the one-time link and the same as a QR code.
    output = server.proc.log_of_this_run()
    assert "尚无管理员" in output and "No administrator yet" in output, output
    found = LINK.search(output)
    assert found, output
    link = found.group(1)
    assert link.startswith(server.base_url + "/#/enrol?code=")
    assert terminal_qr(output) == link  # the printed QR code is the same link
    assert server.http.get("/api/v1/me").status_code == 401  # nobody yet

    admin: Phone = new_phone("admin")
    page = admin.page
    page.goto(link.removeprefix(server.base_url))
    expect(page.get_by_test_id("enrol-link")).to_be_visible()
    both(admin, "80-first-admin-enrol")
    page.get_by_test_id("device-name").fill("办公室电脑")
    page.get_by_test_id("enrol-go").click()
    set_pin(admin)  # an administrator sets a PIN before anything else
    page.wait_for_url("**/#/events")
    admin.wait_synced()
    server.admin = stored_token(admin)
    me = server.http.get("/api/v1/me", headers={"Authorization": f"Bearer {server.admin}"}).json()
    assert me["role"] == "admin" and me["name"] == "管理员", me
    # The link was for one use: a second browser opening it is refused.
    again = httpx.post(f"{server.base_url}/api/v1/enrol", timeout=10,
                       json={"code": link.split("code=")[1], "device_name": "x"})
    assert again.status_code == 409 and again.json()["code"] == "enrol_code_used", again.text
    page.get_by_role("link", name="管理").click()
    expect(page.get_by_test_id("admin-home")).to_be_visible()

    # 2. The console: district, station, fund with seed money, project, catalogue, rate.
    district, code, other = "越秀区", "YX-001", "YX-002"
    open_section(admin, "places")
    save(admin, "district-form", {"name": district})
    save(admin, "station-form", {"code": code, "name": "越秀街道社工站"}, {"district": district})
    open_section(admin, "funds")
    save(admin, "fund-form", {"name": "助老基金", "purpose": "社区助老"}, {"district": district, "station": code})
    save(admin, "seed-form", {"amount": "1000", "note": "开办资金"}, {"fund_id": {"label": "助老基金"}})
    save(admin, "project-form", {"name": "长者饭堂"}, {"fund_id": {"label": "助老基金"}})
    expect(page.get_by_test_id("admin-fund").filter(has_text="助老基金")).to_contain_text("1,000.00")
    # gifts from the public are taken only under a qualified organisation's filed plan
    open_section(admin, "campaigns")
    page.get_by_test_id("campaign-form-open").click()
    box = page.get_by_test_id("campaign-form")
    for name, value in {"name": "越秀区慈善日募捐", "organisation": "广州市越秀区慈善会",
                        "organisation_code": "53440104MJK582938B",
                        "certificate_number": "穗民公募字〔2024〕015号",
                        "filing_number": "53440104MJK582938B26001",
                        "purpose": "为社区长者募集资金", "starts_on": "2020-01-01",
                        "ends_on": "2099-12-31", "target": "50000"}.items():
        box.locator(f"[name='{name}']").fill(value)
    box.locator("select[name=district]").select_option(district)
    box.locator("input[name^='fund:']").first.check()
    page.get_by_test_id("campaign-form-submit").click()
    expect(page.get_by_test_id("campaign-form-status")).to_have_attribute("data-tone", "ok")
    open_section(admin, "timebank")
    pick_station(admin, code)
    save(admin, "item-form", {"title": "大米 5kg", "cost": "3", "stock": "5"}, {"kind": "goods"})
    save(admin, "item-form", {"title": "理发服务", "cost": "1.5", "stock": ""}, {"kind": "service"})
    save(admin, "rate-form", {"rate": "1.5"}, {"service_type": "elder_care"})
    manager_id = add_person(admin, code, "李经理", "13900002222", "manager")
    manager_link, _, manager_qr = make_code(admin)
    (SHOTS / "80-first-manager-qr.png").write_bytes(manager_qr)
    staff_id = add_person(admin, code, "王芳", "13900001111", "staff")
    _, staff_short, _ = make_code(admin)
    admin.wait_synced()
    assert server.records("station")[code]["district"] == district
    funds = [f for f in server.records("fund").values() if f["name"] == "助老基金"]
    assert len(funds) == 1 and funds[0]["balance_fen"] == 100000
    assert [p["name"] for p in server.records("project").values()] == ["长者饭堂"]
    assert sorted(i["title"] for i in server.records("redemption_item").values()) == ["大米 5kg", "理发服务"]
    assert server.records("timebank_rate")[f"{code}:elder_care"]["rate_cents"] == 150
    roles = {(m["name"], m["role"], m["station"]) for m in server.records("membership").values()}
    assert {("李经理", "manager", code), ("王芳", "staff", code)} <= roles

    # 3. The manager's phone reads the QR code on the admin's screen; the staff phone types.
    decoded = decode_qr(manager_qr)
    assert decoded == manager_link
    manager: Phone = new_phone("manager")
    manager.page.goto(decoded)  # what the camera app opens
    expect(manager.page.get_by_test_id("enrol-link")).to_be_visible()
    manager.page.get_by_test_id("enrol-go").click()
    set_pin(manager)
    manager.page.wait_for_url("**/#/events")
    manager.wait_synced()
    manager.go("/me")
    expect(manager.page.get_by_test_id("me-name")).to_have_text("李经理")

    staff: Phone = new_phone("staff")
    staff.page.goto("/#/enrol")
    staff.page.locator("input[name=short]").fill(staff_short)
    staff.page.get_by_test_id("device-name").fill("王芳的手机")
    staff.page.get_by_role("button", name="登记", exact=True).click()
    set_pin(staff)
    staff.page.wait_for_url("**/#/events")
    staff.wait_synced()
    staff.go("/me")
    expect(staff.page.get_by_test_id("me-name")).to_have_text("王芳")
    expect(staff.page.get_by_test_id("signout")).to_be_visible()
    both(staff, "81-me-staff")
    staff.page.get_by_test_id("signout").scroll_into_view_if_needed()
    both(staff, "81-me-staff-signout", top=False)
    devices = server.http.get("/api/v1/devices", params={"station": code},
                              headers={"Authorization": f"Bearer {server.admin}"}).json()
    assert {(d["person"]["id"], d["name"]) for d in devices} >= {(staff_id, "王芳的手机")}
    assert manager_id in {d["person"]["id"] for d in devices}

    # 4. A volunteer signs up from the station's poster (its QR code, read from the PDF).
    open_section(admin, "people")
    pick_station(admin, code)
    with page.expect_download() as info:
        page.get_by_test_id("admin-poster").click()
    poster = tmp_path / "poster.pdf"
    info.value.save_as(poster)
    assert info.value.suggested_filename == f"signup-poster-{code}.pdf"
    signup_link = poster_qr(poster.read_bytes())
    assert re.fullmatch(re.escape(server.base_url) + r"/#/signup\?code=[A-Za-z0-9_-]{20,}", signup_link), signup_link
    volunteer: Phone = new_phone("volunteer")
    vpage = volunteer.page
    vpage.goto("/#/enrol")  # first the enrol screen's scan: no camera here, it says what to do
    vpage.get_by_test_id("enrol-scan").click()
    expect(vpage.get_by_test_id("scan-problem")).to_contain_text("短码")
    both(volunteer, "85-scan-no-camera")
    vpage.goto(signup_link)
    expect(vpage.get_by_test_id("signup-station")).to_contain_text("越秀街道社工站")
    expect(vpage.get_by_test_id("signup-privacy")).to_be_visible()
    vpage.locator("input[name=name]").fill("陈小梅")
    vpage.locator("input[name=phone]").fill("13800138000")
    vpage.get_by_test_id("signup-consent").check()
    vpage.get_by_role("button", name="报名").click()
    vpage.wait_for_url("**/#/hours")
    volunteer.wait_synced()
    members = [m for m in server.records("membership").values() if m["name"] == "陈小梅"]
    assert [(m["role"], m["station"]) for m in members] == [("volunteer", code)]
    admin.wait_synced()
    expect(page.get_by_test_id("admin-signups")).to_contain_text("1")
    expect(page.get_by_test_id("admin-person").filter(has_text="陈小梅")).to_contain_text("新报名")

    # 5. The staff phone records a gift offline; online it syncs; the manager sees it, exports it.
    wait_for_series(staff)
    staff.offline(True)
    receipt = record_gift(staff, "88.50", "赵先生")
    staff.go("/donations")
    expect(staff.page.get_by_test_id("donation-card").filter(has_text="赵先生")).to_be_visible()
    assert staff.pending() >= 1
    assert not server.records("donation")  # nothing reached the server yet
    staff.offline(False)
    staff.wait_synced()
    gifts = list(server.records("donation").values())
    assert [(g["station"], g["amount_fen"], g["donor_name"], g["receipt_number"]) for g in gifts] == [
        (code, 8850, "赵先生", receipt)]
    manager.go("/donations")
    expect(manager.page.get_by_test_id("donation-card").filter(has_text="赵先生")).to_be_visible(timeout=TIMEOUT_MS)
    expect(manager.page.get_by_test_id("total-money")).to_have_text("¥88.50")
    open_section(manager, "exports")
    with manager.page.expect_download() as info:
        manager.page.get_by_test_id("export-donations-csv").click()
    csv_path = tmp_path / info.value.suggested_filename
    info.value.save_as(csv_path)
    lines = list(csv.reader(io.StringIO(csv_path.read_text(encoding="utf-8-sig"))))
    assert lines[0][:2] == ["编号", "登记时间"]  # Chinese headers, the English under them
    rows = [dict(zip(lines[1], line)) for line in lines[2:]]
    assert [(r["station"], r["amount (fen)"], r["receipt number"]) for r in rows] == [
        ("越秀街道社工站", "8850", receipt)], rows

    # 6. A role change: 王芳 moves to another station. A gift she records meanwhile (offline)
    #    at the old one is refused, and her phone's next pull drops the old station's gifts.
    staff.offline(True)
    record_gift(staff, "20", "钱女士")
    open_section(admin, "places")
    save(admin, "station-form", {"code": other, "name": "北京街社工站"}, {"district": district})
    admin.go(f"/admin/people/{staff_id}")
    page.get_by_test_id("membership-form-open").click()
    page.get_by_test_id("membership-form").locator("select[name=choice]").select_option(f"staff|{other}|")
    page.get_by_test_id("membership-form-submit").click()
    expect(page.get_by_test_id("membership-form-status")).to_have_attribute("data-tone", "ok")
    page.once("dialog", lambda dialog: dialog.accept())
    old_role = page.get_by_test_id("admin-membership").filter(has_text=code)
    old_role.get_by_test_id("end-membership").click()
    expect(old_role).to_have_attribute("data-ended", "1")
    admin.wait_synced()
    active = {(m["role"], m["station"]) for m in server.records("membership").values()
              if m["user_id"] == staff_id and not m["ended_at"]}
    assert active == {("staff", other)}
    both(admin, "83-admin-person-moved")

    staff.offline(False)
    staff.wait_synced()
    spage = staff.page
    spage.get_by_test_id("sync-alert").click()  # "1 项未被接受": what, and why
    problem = spage.get_by_test_id("sync-problem")
    expect(problem).to_have_count(1)
    expect(problem).to_have_attribute("data-code", "forbidden")
    expect(problem).to_contain_text("¥20.00")
    expect(problem.get_by_test_id("sync-reason")).to_contain_text(code)
    both(staff, "84-staff-refused")
    staff.go("/donations")
    expect(spage.get_by_test_id("donation-card")).to_have_count(0)
    assert code not in replica_donation_stations(staff)
    assert "赵先生" not in spage.content()
    both(staff, "82-staff-after-move")
    assert [g["donor_name"] for g in server.records("donation").values()] == ["赵先生"]
    # The server itself refuses her writes at the old station.
    token = stored_token(staff)
    refused = server.http.post("/api/v1/sync/push", headers={"Authorization": f"Bearer {token}"}, json={
        "protocol": 1, "client_id": str(uuid.uuid4()),
        "mutations": [mutation(1, "donation.record", money(str(uuid.uuid4()), 1000, station=code))]})
    assert refused.status_code == 200, refused.text
    result = refused.json()["results"][0]
    assert result["status"] == "rejected", result
    # The manager (of the old station) still sees the gift.
    manager.go("/donations")
    expect(manager.page.get_by_test_id("donation-card").filter(has_text="赵先生")).to_be_visible()
    for p in (admin, manager, staff, volunteer):
        assert not [m for m in p.messages if m.startswith("pageerror")], (p.name, p.messages)
