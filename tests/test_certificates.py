"""The service certificate PDF (issues 13 and 18): values from the database are printed,
never obeyed as reportlab markup; the certificate reads as one (Chinese in a CJK font,
station names, issuer, seal, date of issue, a sensible period) and its record list is a
table that breaks across pages with its header repeated. The text is read back with pypdf.

Who may fetch whose certificate is covered in tests/test_timebank.py."""

from __future__ import annotations

import builtins
import datetime as dt
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from server.certificates import SHANGHAI, ServiceRecord, ServiceSummary, render_certificate
from server.pdf import CJK_FONT, LATIN_FONT, MISSING_GLYPH, cjk_font_has, font_runs, markup
from sync.timeutil import iso, utc_now
from tests.conftest import Api
from tests.devices import Device
from tests.helpers import new_id, station_args

TH1, TH2 = "TH-001", "TH-002"
TIANHE = "天河区"
STATION_NAME = "石牌街道社工站"
URL = "/api/v1/timebank/volunteers/{}/certificate"


def at(minutes: float) -> str:
    """A device time ``minutes`` after a base six hours ago."""
    return iso(utc_now().replace(second=0, microsecond=0) - dt.timedelta(hours=6, minutes=-minutes))


def pages_text(pdf: bytes) -> list[str]:
    """Each page's extracted text, whitespace collapsed."""
    return [" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(pdf)).pages]


def squeezed(text: str) -> str:
    return re.sub(r"\s+", "", text)


class Place:
    """Two stations of 天河区, staff of TH-001 and one service activity there."""

    def __init__(self, api: Api, staff: Device, activity: str) -> None:
        self.api, self.staff, self.activity = api, staff, activity

    @classmethod
    async def make(cls, api: Api, activity_title: str = "长者探访") -> Place:
        admin = Device(api, await api.token("admin", "admin"))
        body = await admin.push(admin.m("station.create", station_args(TH1, TIANHE, STATION_NAME)),
                                admin.m("station.create", station_args(TH2, TIANHE, "猎德社工站")))
        assert [r["status"] for r in body["results"]] == ["applied", "applied"], body
        staff = Device(api, await api.token("staff-a", "staff", station=TH1))
        activity = new_id()
        assert (await staff.send("activity.create", {
            "id": activity, "station": TH1, "title": activity_title, "service_type": "elder_care",
            "date": "2026-11-25"}))["status"] == "applied"
        return cls(api, staff, activity)

    async def volunteer(self, user_id: str, name: str) -> Device:
        result = await self.staff.send("volunteer.register", {"user_id": user_id, "name": name,
                                                              "stations": [TH1]})
        assert result["status"] == "applied", result
        return Device(self.api, await self.api.token(user_id, "volunteer", station=TH1))

    async def serve(self, phone: Device, start: float, minutes: float) -> None:
        """The volunteer checks in and out on their own phone; staff approve."""
        log_id = new_id()
        body = await phone.push(phone.m("hours.check_in", {"id": log_id, "activity_id": self.activity,
                                                           "at": at(start)}),
                                phone.m("hours.check_out", {"id": log_id, "at": at(start + minutes)}))
        assert [r["status"] for r in body["results"]] == ["applied", "applied"], body
        assert (await self.staff.send("hours.approve", {"id": log_id}))["status"] == "applied"

    async def certificate(self, phone: Device, user_id: str, query: str = "") -> list[str]:
        response = await self.api.http.get(URL.format(user_id) + query, headers=self.api.auth(phone.token))
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("application/pdf")
        return pages_text(response.content)


# -- values are printed, never obeyed -------------------------------------------------------


@pytest.mark.anyio
async def test_names_that_look_like_markup_are_printed_and_no_file_is_opened(
    api: Api, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from PIL import Image

    # a real image the old code would have opened and embedded (detectable both ways)
    planted = tmp_path / "p.png"
    Image.new("RGB", (4, 4), "red").save(planted)
    place = await Place.make(api, activity_title='探访<br/>&理发<font size="40">')
    names = {
        "vol-b": "张<b>三",
        "vol-img": f'<img src="{planted}"/>',
        "vol-passwd": '<img src="/etc/passwd"/>',
        "vol-amp": "李&王 &amp; <i>",
    }
    assert all(len(name) <= 100 for name in names.values())
    phones = {user_id: await place.volunteer(user_id, name) for user_id, name in names.items()}
    await place.serve(phones["vol-b"], 0, 60)  # an activity title with markup in the appendix

    opened: list[str] = []
    real_open = builtins.open

    def spy(file: Any, *args: Any, **kwargs: Any) -> Any:
        opened.append(str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", spy)
    for user_id, name in names.items():
        text = " ".join(await place.certificate(phones[user_id], user_id))
        assert squeezed(name) in squeezed(text), (name, text)
        assert f"{squeezed(name)}（志愿者编号：{user_id}）" in squeezed(text)
    monkeypatch.undo()
    assert str(planted) not in opened and "/etc/passwd" not in opened, opened
    appendix = " ".join((await place.certificate(phones["vol-b"], "vol-b"))[1:])
    assert squeezed('探访<br/>&理发<font size="40">') in squeezed(appendix)


def test_markup_escapes_every_run_and_sets_chinese_in_the_cid_font() -> None:
    assert markup('a<b>&"') == 'a&lt;b&gt;&amp;"'
    assert markup("张<b>三") == (f'<font face="{CJK_FONT}">张</font>&lt;b&gt;'
                                f'<font face="{CJK_FONT}">三</font>')
    # the interpunct of transliterated names is not in the CID font's CMap: Helvetica has it
    assert font_runs("阿依·买买提") == [(CJK_FONT, "阿依"), (LATIN_FONT, "·"), (CJK_FONT, "买买提")]
    # a name character outside the Basic Multilingual Plane, an emoji, a control character
    assert font_runs("𠮷田😀\x07x") == [(CJK_FONT, f"{MISSING_GLYPH}田{MISSING_GLYPH}"), (LATIN_FONT, " x")]
    assert all(cjk_font_has(char) for char in "志愿服务证明盖章，。（）：；、〓䶮堃ā")


CMAP = Path("/usr/share/poppler/cMap/Adobe-GB1/UniGB-UCS2-H")


@pytest.mark.skipif(not CMAP.exists(), reason="Adobe's UniGB-UCS2-H CMap (poppler-data) is not installed")
def test_the_coverage_table_is_the_cmap_of_the_cid_font() -> None:
    covered: set[int] = set()
    block = ""
    for line in CMAP.read_text("latin-1").splitlines():
        if line.endswith(("begincidrange", "begincidchar")):
            block = line.split()[-1]
        elif line.startswith("end"):
            block = ""
        elif block == "begincidrange" and (found := re.match(r"<(\w+)>\s*<(\w+)>", line)):
            covered.update(range(int(found[1], 16), int(found[2], 16) + 1))
        elif block == "begincidchar" and (found := re.match(r"<(\w+)>", line)):
            covered.add(int(found[1], 16))
    assert len(covered) > 28_000
    assert {code for code in range(0x10000) if cjk_font_has(chr(code))} == covered


# -- a real certificate ---------------------------------------------------------------------


@pytest.mark.anyio
async def test_the_certificate_reads_as_one(api: Api) -> None:
    place = await Place.make(api)
    user_id, name = "志愿者-甲01", "陈静"
    phone = await place.volunteer(user_id, name)
    await place.serve(phone, 0, 90)
    await place.serve(phone, 120, 30)
    today = dt.datetime.now(SHANGHAI).date()  # the date of issue (a run across midnight aside)
    pages = await place.certificate(phone, user_id)
    first, text = pages[0], " ".join(pages)

    assert first.index("兹证明") < first.index("This is to certify")  # Chinese first
    assert first.index("出具单位") < first.index("Issued by")
    assert squeezed(f"兹证明志愿者 {name}（志愿者编号：{user_id}）截至 {today.isoformat()} 累计参加志愿服务 2 次"
                    ) in squeezed(first)
    assert f"volunteer ID {user_id}" in first  # the id in the English line, not boxes
    assert f"服务站点 Stations {STATION_NAME}（{TH1}）" in first  # the station's name, not only its code
    assert "累计服务时数 Total hours 2.00" in first and "扶老 elder care 2.00" in first
    assert f"出具单位（盖章）：{STATION_NAME}（{TIANHE}）" in first
    assert f"Issued by (seal): {STATION_NAME} ({TIANHE})" in first
    assert "盖章 Seal" in first
    assert f"出具日期：{today.year}年{today.month}月{today.day}日" in first
    assert f"Date of issue: {today.isoformat()}" in first
    assert "None" not in text and "—" not in text and not re.search(r"在\s*至", text)
    # the appendix lists each record with its station's name and the activity
    assert "序号 No. 日期 Date 服务站点 Station 活动 Activity" in pages[1]
    assert text.count(f"{STATION_NAME} 长者探访 扶老 elder care") == 2
    assert "合计 Total 2.00" in pages[-1]

    with_start = await place.certificate(phone, user_id, "?from=2026-01-01")
    assert squeezed(f"于 2026-01-01 至 {today.isoformat()} 期间参加志愿服务 2 次") in squeezed(with_start[0])
    assert squeezed(f"from 2026-01-01 to {today.isoformat()}") in squeezed(with_start[0])
    assert "截至" not in with_start[0]
    empty = await place.certificate(phone, user_id, "?to=2020-12-31")
    assert squeezed("截至 2020-12-31 累计参加志愿服务 0 次") in squeezed(empty[0])
    assert "in 0 sessions" in empty[0]
    assert "No approved service in this period" in empty[1] and "None" not in " ".join(empty)


@pytest.mark.anyio
async def test_chinese_is_drawn_in_the_cjk_font(api: Api) -> None:
    """Every Chinese character of the PDF is in STSong-Light (the old English line set the
    volunteer id in Helvetica, which has no Chinese: boxes)."""
    place = await Place.make(api)
    phone = await place.volunteer("志愿者-乙", "赵六")
    response = await api.http.get(URL.format("志愿者-乙"), headers=api.auth(phone.token))
    assert response.status_code == 200
    chunks: list[tuple[str, str]] = []

    def visit(text: str, _cm: Any, _tm: Any, font: Any, _size: Any) -> None:
        if text.strip():
            chunks.append((text, str(font.get("/BaseFont")) if font else ""))

    for page in PdfReader(io.BytesIO(response.content)).pages:
        page.extract_text(visitor_text=visit)
    chinese = [(text, font) for text, font in chunks if re.search(r"[\u3000-\u9fff\uff00-\uffef]", text)]
    assert chinese and all(font == f"/{CJK_FONT}" for _, font in chinese), chinese
    assert any("志愿者-乙" in text or "志愿者" in text for text, _ in chinese)
    assert all(font in (f"/{CJK_FONT}", "/Helvetica", "/Helvetica-Bold") for _, font in chunks)
    # nothing but the two fonts: no font the reader must lack
    assert "\u25a0" not in "".join(text for text, _ in chunks)


def test_a_long_record_list_breaks_across_pages_and_repeats_its_header() -> None:
    volunteer = {"user_id": "vol-200", "name": "周敏", "station": TH1, "district": TIANHE,
                 "stations": json.dumps([TH1])}
    summary = ServiceSummary(volunteer=volunteer, start=None, end=None, districts={TH1: TIANHE},
                             station_names={TH1: STATION_NAME})
    first_day = dt.date(2026, 1, 1)
    for number in range(200):
        day = first_day + dt.timedelta(days=number)
        summary.records.append(ServiceRecord(day, TH1, f"长者探访 {number + 1}", "elder_care", 60))
        summary.sessions += 1
        summary.minutes += 60
        summary.by_month[day.strftime("%Y-%m")] += 60
        summary.by_type["elder_care"] += 60
        summary.stations.add(TH1)
    pages = pages_text(render_certificate(summary, dt.datetime(2026, 11, 28, 1, tzinfo=dt.UTC)))
    assert len(pages) >= 4, len(pages)
    header = "序号 No. 日期 Date 服务站点 Station 活动 Activity 服务类型 Service type 时数 Hours"
    assert all(header in page for page in pages[1:]), [page[:200] for page in pages]
    assert header not in pages[0]  # the certificate itself stays one page
    assert "出具日期：2026年11月28日" in pages[0] and "累计服务时数 Total hours 200.00" in pages[0]
    listed = " ".join(pages[1:])
    assert all(f"长者探访 {number}" in listed for number in (1, 100, 200))
    assert "合计 Total 200.00" in pages[-1]
    assert all(f"第 {number} 页 Page {number}" in page for number, page in enumerate(pages, 1))
