"""The dashboard (server/dashboard.py): every figure is the sum of the ledger rows its
drill-down opens, for random gifts, corrections, voids, payments, hours, reversals,
redemptions and goods; the figures follow a model of what was done; filters by place and
period; who may see which place; no personal data in any answer. SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import io
import json
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server import charts
from server.dashboard import ALL, FIGURES, PAGE_SIZE
from server.domain import service_projects as sp
from sync.timeutil import iso, utc_now
from tests.conftest import Api
from tests.dashboard_setup import (
    DONOR,
    OTHER_DISTRICT,
    SECRET_NOTE,
    TARGET_FEN,
    VOLUNTEER_NAME,
    VOLUNTEER_PHONE,
    Place,
    correct,
    give,
    goods,
    hand_out,
    new_place,
    redeem,
    reverse,
    serve,
    spend,
    volunteer_phone,
)
from tests.devices import Device
from tests.donation_setup import DISTRICT, STATION, build_world
from tests.helpers import new_id, online_platform, statement_csv, station_args
from tests.timebank_setup import balance

pytestmark = pytest.mark.anyio

PRIVATE = (DONOR["name"], DONOR["phone"], VOLUNTEER_NAME, VOLUNTEER_PHONE, SECRET_NOTE, "王大妈")


def _period() -> dict[str, str]:
    today = dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).date()
    return {"from": (today - dt.timedelta(days=30)).isoformat(), "to": today.isoformat()}


async def _get(api: Api, device: Device, path: str, params: dict[str, Any]) -> Any:
    response = await api.http.get(path, params=params, headers=api.auth(device.token))
    assert response.status_code == 200, response.text
    return response.json()


async def board(api: Api, device: Device, **params: Any) -> dict[str, Any]:
    return dict(await _get(api, device, "/api/v1/dashboard", params))


async def opened(api: Api, device: Device, figure: str, key: str, **params: Any
                 ) -> tuple[int, list[dict[str, Any]], list[str]]:
    """Every page of a drill-down: (the value it reports, all rows, the raw answers)."""
    rows: list[dict[str, Any]] = []
    raw: list[str] = []
    page, value = 1, None
    while True:
        body = await _get(api, device, "/api/v1/dashboard/rows",
                          {**params, "figure": figure, "key": key, "page": page})
        raw.append(json.dumps(body, ensure_ascii=False))
        assert len(body["rows"]) <= PAGE_SIZE
        value = body["value"] if value is None else value
        assert body["value"] == value  # the sum over all pages, on every page
        rows += body["rows"]
        if page >= body["pages"]:
            break
        page += 1
    assert len(rows) == body["count"]
    return int(value), rows, raw


def made_of(mean: bool, rows: list[dict[str, Any]]) -> int:
    """What a figure's rows make: their sum, or their mean rounded half up (0 for none)."""
    added = sum(r["value"] for r in rows)
    if not mean:
        return added
    return int(Fraction(added, len(rows)) + Fraction(1, 2)) if rows else 0


async def every_figure_opens_its_rows(api: Api, device: Device, **params: Any) -> dict[str, Any]:
    """For each figure, its total and each of its groups equal the sum of the rows their
    drill-down opens; the groups' rows together are the total's rows, each once. Returns
    the dashboard; fails if any answer carries personal data."""
    body = await board(api, device, **params)
    texts = [json.dumps(body, ensure_ascii=False)]
    for figure in FIGURES:
        data = body["figures"][figure.name]
        value, rows, raw = await opened(api, device, figure.name, ALL, **params)
        texts += raw
        assert value == data["total"] == made_of(figure.mean, rows), figure.name
        assert len(rows) == data["rows"]
        seen: list[str] = []
        for group in data["groups"]:
            value, rows, raw = await opened(api, device, figure.name, group["key"], **params)
            texts += raw
            assert value == group["value"] == made_of(figure.mean, rows), (figure.name, group)
            assert rows or (figure.name == "campaigns" and not group["value"]), (figure.name, group)
            seen += [r["id"] for r in rows]
        assert len(seen) == len(set(seen)) == data["rows"], figure.name
        if not figure.mean:
            assert sum(g["value"] for g in data["groups"]) == data["total"]
    for text in texts:
        for private in PRIVATE:
            assert private not in text, (private, text[:300])
    return body


def _groups(body: dict[str, Any], figure: str) -> dict[str, int]:
    return {g["key"]: g["value"] for g in body["figures"][figure]["groups"]}


amounts = st.integers(min_value=1, max_value=40_000)  # under the correction approval threshold
operations = st.lists(st.one_of(
    st.tuples(st.just("gift"), amounts,
              st.sampled_from(["cash", "wechat_pay", "alipay", "bank_transfer"]), st.booleans()),
    st.tuples(st.just("correct"), st.integers(0, 20), amounts),
    st.tuples(st.just("void"), st.integers(0, 20)),
    st.tuples(st.just("spend"), amounts),
    st.tuples(st.just("hours"), st.integers(15, 240), st.sampled_from(["elder_care",
                                                                        "event_support"])),
    st.tuples(st.just("reverse"), st.integers(0, 20)),
    st.tuples(st.just("redeem"),),
    st.tuples(st.just("goods"), st.integers(1, 20)),
    st.tuples(st.just("hand_out"), st.integers(1, 20)),
), min_size=1, max_size=14)


async def _apply(place: Place, volunteer: Device, ops: list[tuple[Any, ...]]) -> dict[str, int]:
    """Run the operations; returns what the books should show (the model)."""
    model = {"spent": 0, "goods_in": 0, "goods_out": 0}
    for op in ops:
        kind = op[0]
        if kind == "gift":
            await give(place, op[1], method=op[2], directed=op[3])
        elif kind in ("correct", "void") and place.gifts:
            gift = place.gifts[op[1] % len(place.gifts)]
            if not gift["void"]:
                await correct(place, gift, op[2] if kind == "correct" else None)
        elif kind == "spend":
            if await spend(place, op[1]):
                model["spent"] += op[1]
        elif kind == "hours":
            await serve(place, op[1], op[2])
        elif kind == "reverse" and place.logs:
            log = place.logs[op[1] % len(place.logs)]
            if not log["reversed"]:
                await reverse(place, log)
        elif kind == "redeem":
            await redeem(place, volunteer)
        elif kind == "goods":
            await goods(place, op[1])
            model["goods_in"] += op[1]
        elif kind == "hand_out" and await hand_out(place, op[1]):
            model["goods_out"] += op[1]
    return model


@settings(max_examples=8, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(ops=operations)
async def test_every_figure_is_the_sum_of_the_rows_it_opens(api: Api, ops: list[tuple[Any, ...]]
                                                            ) -> None:
    place = await new_place(api)
    volunteer = await volunteer_phone(place)
    model = await _apply(place, volunteer, ops)
    period = _period()
    body = await every_figure_opens_its_rows(api, place.manager, station=place.code, **period)
    # ... and the figures are what was done (the rows are the right rows, not just summed)
    figures = body["figures"]
    given_fen = sum(g["amount"] for g in place.gifts)
    assert figures["money_by_channel"]["total"] == given_fen
    assert figures["campaigns"]["groups"] == [{
        "key": place.campaign_id, "zh": f"{place.code} 慈善日募捐", "en": f"{place.code} 慈善日募捐",
        "value": given_fen, "target": TARGET_FEN, "starts_on": "2020-01-01",
        "ends_on": "2099-12-31"}]
    assert figures["money_by_month"]["total"] == given_fen
    by_method: dict[str, int] = {}
    for gift in place.gifts:
        by_method[f"station:{gift['method']}"] = by_method.get(f"station:{gift['method']}", 0) \
            + gift["amount"]
    assert _groups(body, "money_by_channel") == {k: v for k, v in by_method.items()
                                                  if v or k in _groups(body, "money_by_channel")}
    assert _groups(body, "fund_balances") == ({place.fund_id: given_fen - model["spent"]}
                                              if place.gifts else {})
    served: dict[str, int] = {}
    for log in place.logs:
        if not log["reversed"]:
            served[log["type"]] = served.get(log["type"], 0) + log["minutes"]
    assert _groups(body, "hours_by_type") == served
    assert figures["active_volunteers"]["total"] == (1 if served else 0)
    credits = _groups(body, "credits")
    assert credits.get("earned", 0) - credits.get("redeemed", 0) == await balance(
        api, place.volunteer_id)
    assert figures["goods_received"]["total"] == model["goods_in"]
    assert figures["goods_handed_out"]["total"] == model["goods_out"]
    # the wider views add up too (they hold the other examples' stations as well)
    await every_figure_opens_its_rows(api, place.federation, district=place.district, **period)
    await every_figure_opens_its_rows(api, place.admin, **period)


async def test_filters_by_place_and_period(api: Api) -> None:
    here = await new_place(api)
    there = await new_place(api, OTHER_DISTRICT)
    await give(here, 1_000)
    await give(there, 20_000, method="wechat_pay")
    await serve(here, 60, days_ago=3)
    await serve(there, 90, days_ago=0.5)  # within the last day in Shanghai, whatever the hour
    period = _period()
    station = await every_figure_opens_its_rows(api, here.manager, station=here.code, **period)
    assert station["view"]["level"] == "station"
    assert station["figures"]["money_by_month"]["total"] == 1_000
    assert _groups(station, "hours_by_type") == {"elder_care": 60}
    district = await board(api, there.federation, **period)  # their own district by default
    assert district["view"] == {"level": "district", "district": OTHER_DISTRICT,
                                "station": None, **period}
    assert district["figures"]["money_by_channel"]["groups"] == [
        {"key": "station:wechat_pay", "zh": "站点·微信支付", "en": "station · WeChat Pay",
         "value": 20_000}]
    city = await board(api, here.admin, **period)
    assert city["view"]["level"] == "city"
    assert city["figures"]["money_by_month"]["total"] == 21_000
    assert _groups(city, "hours_by_type") == {"elder_care": 150}
    assert city["figures"]["active_volunteers"]["total"] == 2
    # the period: gifts today, hours three days ago
    today = period["to"]
    since_today = await board(api, here.admin, **{"from": today, "to": today})
    assert since_today["figures"]["money_by_month"]["total"] == 21_000
    assert _groups(since_today, "hours_by_type").get("elder_care", 0) <= 90  # not 3 days ago
    before = (dt.date.fromisoformat(today) - dt.timedelta(days=2)).isoformat()
    earlier = await board(api, here.admin, **{"from": period["from"], "to": before})
    assert earlier["figures"]["money_by_month"]["total"] == 0
    assert _groups(earlier, "hours_by_type") == {"elder_care": 60}
    # the fund balance at the end of an earlier period does not hold later gifts
    assert _groups(earlier, "fund_balances") == {}
    assert _groups(city, "fund_balances") == {here.fund_id: 1_000, there.fund_id: 20_000}


async def test_who_may_see_which_place(api: Api) -> None:
    here = await new_place(api)
    there = await new_place(api, OTHER_DISTRICT)
    await give(there, 5_000)

    async def status(device: Device, **params: Any) -> int:
        response = await api.http.get("/api/v1/dashboard", params=params,
                                      headers=api.auth(device.token))
        return response.status_code

    async def rows_status(device: Device, **params: Any) -> int:
        response = await api.http.get("/api/v1/dashboard/rows",
                                      params={"figure": "money_by_month", "key": "*", **params},
                                      headers=api.auth(device.token))
        return response.status_code

    # a station manager: their station, not another district's nor their own district's whole
    assert await status(here.manager) == 200
    assert (await board(api, here.manager))["view"]["station"] == here.code
    assert await status(here.manager, station=there.code) == 403
    assert await status(here.manager, district=OTHER_DISTRICT) == 403
    assert await status(here.manager, district=here.district) == 403
    assert await rows_status(here.manager, station=there.code) == 403
    assert await rows_status(here.manager, district=OTHER_DISTRICT) == 403
    # staff and volunteers do not open the dashboard
    assert await status(here.staff) == 403
    assert await status(await volunteer_phone(here)) == 403
    # a district manager: their district and its stations, not another district's
    assert await status(here.federation, station=here.code) == 200
    assert await status(here.federation, district=OTHER_DISTRICT) == 403
    assert await status(here.federation, station=there.code) == 403
    # the city
    assert await status(here.admin, station=there.code) == 200
    # the filters offered are the places one may choose
    places = (await board(api, here.manager))["places"]
    assert places == {"city": False, "districts": [],
                      "stations": [{"code": here.code, "name": places["stations"][0]["name"],
                                    "district": here.district}]}
    # bad input: a clear 4xx naming the field
    for params, field in (({"from": "2026-13-01"}, "from"), ({"station": "NOPE"}, "station"),
                          ({"from": "2026-05-02", "to": "2026-05-01"}, "to")):
        response = await api.http.get("/api/v1/dashboard", params=params,
                                      headers=api.auth(here.admin.token))
        assert 400 <= response.status_code < 500 and response.json()["field"] == field, params
    response = await api.http.get("/api/v1/dashboard/rows", params={"figure": "nope"},
                                  headers=api.auth(here.admin.token))
    assert response.status_code == 404
    response = await api.http.get("/api/v1/dashboard/rows",
                                  params={"figure": "money_by_month", "page": "x"},
                                  headers=api.auth(here.admin.token))
    assert response.status_code == 400
    assert (await api.http.get("/api/v1/dashboard")).status_code == 401


# -- the year's summary ------------------------------------------------------------------


async def _summary(api: Api, device: Device, fmt: str, **params: Any) -> bytes:
    response = await api.http.get(f"/api/v1/dashboard/summary.{fmt}", params=params,
                                  headers=api.auth(device.token))
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    return response.content


async def test_year_summary_pdf_and_workbook(api: Api) -> None:
    here = await new_place(api)
    there = await new_place(api, OTHER_DISTRICT)
    await give(here, 123_456, method="wechat_pay")
    await give(there, 20_000)
    await serve(here, 90, "event_support")
    await goods(here, 7)
    formula = await new_place(api, name="=HYPERLINK(1)")  # a name a spreadsheet would run
    await give(formula, 100)
    year = dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).year
    if dt.date.fromisoformat(at_day := _period()["to"]).year != year:  # pragma: no cover
        pytest.skip(f"{at_day} is in another year")
    city = await board(api, here.admin, **{"from": f"{year}-01-01", "to": f"{year}-12-31"})

    from pypdf import PdfReader
    text = "\n".join(page.extract_text() for page in PdfReader(
        io.BytesIO(await _summary(api, here.admin, "pdf", year=year))).pages)
    flat = text.replace(" ", "").replace("\n", "")
    assert f"{year}年度总结·全市" in flat
    assert charts.amount(city["figures"]["money_by_month"]["total"], "fen").replace(" ", "") in flat
    for words in ("按区", "bydistrict", "按站点", "bystation", "站点·微信支付", "活动保障", "大米", "¥1,234.56", "服务项目与培训", "serviceprojectsandtraining"):
        assert words in flat, words
    for private in PRIVATE:
        assert private.replace(" ", "") not in flat

    from openpyxl import load_workbook
    book = load_workbook(io.BytesIO(await _summary(api, here.federation, "xlsx", year=year)))
    assert book.sheetnames[:3] == ["概况 overview", "按月 by month", "按站点 by station"]
    assert "按区 by district" not in book.sheetnames  # a district's summary: by station
    overview = {row[0]: row[1] for row in book["概况 overview"].iter_rows(min_row=6,
                                                                       values_only=True)}
    district = await board(api, here.federation, **{"from": f"{year}-01-01",
                                                    "to": f"{year}-12-31"})
    assert overview["善款收入 money received"] == district["figures"]["money_by_month"]["total"] / 100
    assert overview["服务时长 hours served"] == 1.5
    assert overview["收到物资 goods received"] == district["figures"]["goods_received"]["total"]
    stations = {row[1]: row for row in book["按站点 by station"].iter_rows(min_row=6,
                                                                        values_only=True)}
    assert stations[here.code][3] == 1234.56 and stations[here.code][4] == 1.5
    assert there.code not in stations  # another district's station
    # text cells are neutralised: the station code is shown, never run as a formula
    city_book = load_workbook(io.BytesIO(await _summary(api, here.admin, "xlsx", year=year)))
    names = [row[0] for row in city_book["按站点 by station"].iter_rows(min_row=6,
                                                                      values_only=True)]
    assert "'=HYPERLINK(1)" in names and "=HYPERLINK(1)" not in names
    for sheet in city_book.worksheets:
        for row in sheet.iter_rows(values_only=True):
            for value in row:
                assert not any(p in str(value) for p in PRIVATE)
    # a station manager: their station's summary only, and the act is audited
    assert (await api.http.get("/api/v1/dashboard/summary.pdf", params={"district": OTHER_DISTRICT},
                               headers=api.auth(here.manager.token))).status_code == 403
    assert (await api.http.get("/api/v1/dashboard/summary.pdf", params={"year": "20x6"},
                               headers=api.auth(here.manager.token))).status_code == 400
    station_pdf = await _summary(api, here.manager, "pdf", year=year)
    station_text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(station_pdf)).pages)
    assert "¥1,234.56" in station_text and "¥200.00" not in station_text
    response = await api.http.get("/api/v1/audit", params={"action": "export.year_summary"},
                                  headers=api.auth(here.admin.token))
    assert response.status_code == 200
    assert len(response.json()["items"]) == 4


async def test_online_and_matching_gifts_show_as_their_own_channels(api: Api) -> None:
    """Online gifts booked from a platform statement (kind ``online``) and a sponsor's
    matches (kind ``match``) are channels of their own, next to the station's methods; the
    campaign's progress counts its gifts and their matches, not the online gifts."""
    place = await new_place(api)
    await online_platform(api.state.db)
    headers = api.auth(place.federation.token)
    label = f"{place.code} 网络募捐"
    linked = await api.http.post("/api/v1/admin/online/links", headers=headers, json={
        "target_kind": "fund", "target_id": place.fund_id, "platform": "gylm",
        "url": f"https://www.gylm.example.cn/project/{place.fund_id}", "label": label})
    assert linked.status_code == 200, linked.text
    day = _period()["to"]
    statement = await api.http.post(
        "/api/v1/admin/online/statements", headers=headers,
        params={"platform": "gylm", "filename": "s.csv"}, content=statement_csv([
            (f"{place.code}-1", f"{day} 09:15:00", "12.30", "小明", label, "微信"),
            (f"{place.code}-2", f"{day} 10:00:00", "100", "爱心人士", label, "支付宝")]))
    assert statement.status_code == 200, statement.text
    booked = await api.http.post(
        f"/api/v1/admin/online/statements/{statement.json()['statement']['id']}/book",
        headers=headers, json={"limit": 100})
    assert booked.status_code == 200 and booked.json()["remaining"] == 0, booked.text
    rule = await place.federation.send("matching_rule.create", {
        "id": new_id(), "sponsor": "爱心企业", "ratio_percent": 50, "cap_per_gift_fen": 10_000,
        "cap_total_fen": 100_000, "starts_on": "2020-01-01", "ends_on": "2099-12-31",
        "campaign_ids": [place.campaign_id]})
    assert rule["status"] == "applied", rule
    await give(place, 8_000, method="alipay")
    body = await every_figure_opens_its_rows(api, place.manager, station=place.code, **_period())
    assert _groups(body, "money_by_channel") == {"online": 11_230, "match": 4_000,
                                                 "station:alipay": 8_000}
    names = {g["key"]: g["zh"] for g in body["figures"]["money_by_channel"]["groups"]}
    assert names["online"] == "线上" and names["match"] == "配捐"
    assert _groups(body, "campaigns") == {place.campaign_id: 12_000}
    text = json.dumps(body, ensure_ascii=False)
    assert "小明" not in text and "爱心人士" not in text


# -- service projects and training -------------------------------------------------------


async def applied(device: Device, name: str, args: dict[str, Any]) -> None:
    result = await device.send(name, args)
    assert result["status"] == "applied", (name, result)


def project_args(project_id: str, fund_id: str, station: str, category: str, name: str,
                 milestones: list[tuple[str, int]]) -> dict[str, Any]:
    return {"id": project_id, "fund_id": fund_id, "station": station, "category": category,
            "name": name, "summary": "为独居和高龄老人家中加装扶手",
            "indicators": [{"key": "homes", "name": "改造家庭", "unit": "户", "target": 30}],
            "milestones": [{"id": m, "title": f"第 {i} 步", "weight": w}
                           for i, (m, w) in enumerate(milestones, start=1)]}


async def test_projects_and_training_figures_are_what_the_records_say(api: Api) -> None:
    """A brand project at TH-001 (天河区): milestone 1 of 2 done (progress 40), a grant of
    ¥2,000 with a tranche of ¥800 paid through the fund's disbursement, its evaluation
    (90/80/95/85: overall 88); a second project in 越秀区 at 0%; a training at TR-DB1 with
    one attendance of 2.5 hours. Every figure equals what the records say, opens its rows,
    and the 天河区 manager sees only their district."""
    world = await build_world(api, seed_fen=1_000_000)
    payer = Device(api, await api.token("dm-pay", "district_manager", district=DISTRICT))
    pilot, m1, m2 = new_id(), new_id(), new_id()
    await applied(world.staff, "service_project.create", project_args(
        pilot, world.fund_id, STATION, "elderly", "耆乐安居", [(m1, 40), (m2, 60)]))
    today = dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).date()
    t1, d1 = new_id(), new_id()
    await applied(world.district, "grant.create", {
        "id": new_id(), "project_id": pilot, "amount_fen": 200_000,
        "signed_at": today.isoformat(),
        "tranches": [{"id": t1, "amount_fen": 80_000, "milestone_id": None}]})
    await applied(world.staff, "progress.report", {
        "id": new_id(), "project_id": pilot, "milestone_id": m1, "progress": 100})
    await applied(world.staff, "tranche.request", {"id": t1, "disbursement_id": d1,
                                                   "payee": "安居服务社"})
    await applied(world.district, "disbursement.decide", {"id": d1, "decision": "approve"})
    await applied(payer, "disbursement.pay", {"id": d1, "reference": "B-1"})
    await applied(world.district, "evaluation.submit", {
        "project_id": pilot, "evaluators": ["dm-pay"], "conclusion": "按计划完成",
        "public_summary": "30 户老人家中完成适老化改造。",
        "scores": {"needs": 90, "performance": 80, "feedback": 95, "supervision": 85}})
    # another district's project, at 0%
    far_fund, far_project = new_id(), new_id()
    await applied(world.admin, "fund.create", {"id": far_fund, "name": "越秀社区慈善基金",
                                               "district": "越秀区", "station": "YX-001",
                                               "purpose": "社区服务"})
    await applied(world.admin, "service_project.create", project_args(
        far_project, far_fund, "YX-001", "disability", "助残到家", [(new_id(), 100)]))
    # a training held at a station of 天河区, one attendance
    await applied(world.admin, "station.create", station_args("TR-DB1", "天河区"))
    trainer = Device(api, await api.token("db-trainer", "staff", station="TR-DB1"))
    learner = Device(api, await api.token("db-learner", "volunteer", station="TR-DB1"))
    await applied(trainer, "volunteer.register", {"user_id": "db-learner", "name": "王大妈",
                                                  "stations": ["TR-DB1"]})
    training = new_id()
    soon = utc_now().replace(microsecond=0) + dt.timedelta(minutes=20)
    await applied(trainer, "training.create", {
        "id": training, "station": "TR-DB1", "topic": "《慈善法》与社区慈善", "speaker": "陈律师",
        "starts_at": iso(soon), "ends_at": iso(soon + dt.timedelta(hours=2)),
        "place": "二楼", "capacity": 10, "hours": 2.5, "audience": "volunteers"})
    got = await api.http.get("/api/v1/training/code", headers=api.auth(learner.token))
    assert got.status_code == 200, got.text
    await applied(trainer, "training.attend", {"id": new_id(), "training_id": training,
                                               "code": got.json()["code"], "at": iso(utc_now())})

    period = {"from": (today - dt.timedelta(days=30)).isoformat(),
              "to": (today + dt.timedelta(days=1)).isoformat()}
    async with api.state.db.read() as conn:
        spent = await sp.spent_from_ledger(conn, pilot)
    assert spent == 80_000
    city = await every_figure_opens_its_rows(api, world.admin, **period)
    assert _groups(city, "projects_by_kind") == {"brand": 2}
    assert _groups(city, "projects_by_category") == {"elderly": 1, "disability": 1}
    assert _groups(city, "projects_by_status") == {"closing": 1, "active": 1}
    assert city["figures"]["project_progress"]["total"] == 20  # (40 + 0) / 2
    assert city["figures"]["grants_signed"]["total"] == 200_000
    assert city["figures"]["tranches_paid"]["total"] == spent
    assert city["figures"]["evaluations_done"]["total"] == 1
    assert city["figures"]["evaluation_overall"]["total"] == 88
    assert _groups(city, "evaluation_methods") == {"needs": 90, "performance": 80,
                                                   "feedback": 95, "supervision": 85}
    assert [g["key"] for g in city["figures"]["evaluation_methods"]["groups"]] == [
        "needs", "performance", "feedback", "supervision"]
    assert city["figures"]["evaluation_methods"]["total"] == 88  # 350 / 4 = 87.5, half up
    assert city["figures"]["trainings_held"]["total"] == 1
    assert city["figures"]["training_attendances"]["total"] == 1
    assert city["figures"]["training_hours"]["total"] == 150
    assert city["pending"] == {}
    # the rows behind the evaluations: the project, its station, progress and score
    _value, rows, _raw = await opened(api, world.admin, "evaluations_done", ALL, **period)
    assert [(r["name"], r["station"], r["progress"], r["overall"]) for r in rows] == [
        ("耆乐安居", "TH-001", 40, 88)]
    _value, rows, _raw = await opened(api, world.admin, "projects_by_kind", "brand", **period)
    assert sorted((r["name"], r["progress"], r["overall"]) for r in rows) == [
        ("助残到家", 0, None), ("耆乐安居", 40, 88)]
    # the district manager of 天河区: their district only, by default and when asked
    district = await every_figure_opens_its_rows(api, world.district, **period)
    assert district["view"]["district"] == "天河区"
    assert _groups(district, "projects_by_kind") == {"brand": 1}
    assert district["figures"]["project_progress"]["total"] == 40
    assert district["figures"]["training_hours"]["total"] == 150
    _value, rows, raw = await opened(api, world.district, "projects_by_kind", ALL, **period)
    assert [r["name"] for r in rows] == ["耆乐安居"]
    assert all("助残到家" not in text for text in raw)
    response = await api.http.get("/api/v1/dashboard/rows", params={
        "figure": "projects_by_kind", "key": ALL, "district": "越秀区", **period},
        headers=api.auth(world.district.token))
    assert response.status_code == 403
    # the station elsewhere in the city sees its own project alone; an earlier period: none
    far = await board(api, world.admin, station="YX-001", **period)
    assert _groups(far, "projects_by_category") == {"disability": 1}
    assert far["figures"]["training_attendances"]["total"] == 0
    before = (today - dt.timedelta(days=40)).isoformat()
    earlier = await board(api, world.admin, **{"from": before, "to": before})
    for name in ("projects_by_kind", "grants_signed", "tranches_paid", "evaluations_done",
                 "trainings_held", "training_hours"):
        assert earlier["figures"][name]["total"] == 0, name
    # no personal data: the volunteer's name, the speaker and the evaluators stay out
    for text in [json.dumps(city, ensure_ascii=False), *raw]:
        for private in ("王大妈", "陈律师", "dm-pay", "db-learner"):
            assert private not in text
    # the year's summary: the same numbers, in the PDF and the workbook
    if (today + dt.timedelta(days=1)).year != today.year:  # pragma: no cover
        return
    from openpyxl import load_workbook
    from pypdf import PdfReader
    book = load_workbook(io.BytesIO(await _summary(api, world.district, "xlsx", year=today.year)))
    lines = {row[0]: row[1] for row in book["项目与培训 projects"].iter_rows(
        min_row=6, values_only=True)}
    assert lines["服务项目 service projects"] == 1
    assert lines["平均加权进度 mean weighted progress"] == 40
    assert lines["已签资助协议 grants signed"] == 2_000
    assert lines["已拨付资助款 grant tranches paid"] == 800
    assert lines["评估总分(平均) mean overall score"] == 88
    assert lines["跟踪反馈(平均分) feedback (mean score)"] == 95
    assert lines["培训出席人次 training attendances"] == 1
    assert lines["培训时长 training hours"] == 2.5
    pdf = await _summary(api, world.admin, "pdf", year=today.year)
    flat = "".join("".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages).split())
    for words in ("服务项目与培训", "已拨付资助款", "¥800.00", "监督检查(平均分)", "2.5h"):
        assert words in flat, words
    for private in ("王大妈", "陈律师", "dm-pay"):
        assert private not in flat
