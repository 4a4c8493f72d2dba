"""The dashboard in the app (pwa/src/areas/dashboard/): a district manager opens it from the
console, sees the district's figures with their charts, narrows to a station, opens the
rows behind a figure and pages through them, sees the service projects' progress and
evaluations and the training held (opening the evaluations' rows), and downloads the year's summary; a station
manager is offered only their station. Screenshots at 360x740 and 1280x800
(artifacts/screenshots/dashboard-*.png), and the summary PDF beside them.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import PHONE, SHOTS, Phone, Server
from tests.browser.steps import credit_hours, enrol_phone, seed_volunteer, wide_shot
from tests.helpers import campaign_args, mutation

STATION, OTHER = "DA-001", "DA-002"
DISTRICT = "黄埔区"
"""A district of its own: the browser tests share one server, and the figures are the
district's sums."""
DONOR = {"name": "赵六", "phone": "13700000000", "wants_receipt": False}


def push_as(server: Server, token: str, name: str, args: dict[str, Any]) -> None:
    body = {"protocol": 1, "client_id": str(uuid.uuid4()), "mutations": [mutation(1, name, args)]}
    answer = server.http.post("/api/v1/sync/push", json=body,
                              headers={"Authorization": f"Bearer {token}"})
    result = answer.json()["results"][0]
    assert result["status"] in ("applied", "flagged"), (name, result)


def seed(server: Server) -> None:
    """Two stations of one district, each with a fund; 60 gifts (more than a page of rows)
    by four payment methods, a void, goods, approved hours of two volunteers."""
    activity = seed_volunteer(server, STATION, "vol-da", "达志愿", DISTRICT)
    server.station(OTHER, DISTRICT)
    server.push("volunteer.register", {"user_id": "vol-db", "name": "第二位", "stations": [STATION]})
    staff = server.token("staff-da", "staff", station=STATION)
    funds = {}
    for code in (STATION, OTHER):
        funds[code] = str(uuid.uuid4())
        server.push("fund.create", {"id": funds[code], "name": f"{code} 社区慈善基金",
                                    "district": DISTRICT, "station": code,
                                    "purpose": "社区帮扶"})
    # gifts from the public are taken under an open campaign: one for both stations
    server.push("campaign.create", campaign_args(
        str(uuid.uuid4()), list(funds.values()), district=DISTRICT, stations=[STATION, OTHER],
        name="中华慈善日联合募捐", target_fen=1_000_000))
    methods = ("cash", "wechat_pay", "alipay", "bank_transfer")
    voided = ""
    for number in range(60):
        gift = str(uuid.uuid4())
        voided = gift if number == 1 else voided  # a WeChat gift at the first station
        code = STATION if number % 5 else OTHER
        push_as(server, staff if code == STATION else server.admin, "donation.record", {
            "id": gift, "station": code, "kind": "money", "amount_fen": 1_000 + number * 250,
            "method": methods[number % 4], "donor": DONOR, "fund_id": funds[code],
            "direction": "fund"})
    push_as(server, staff, "donation.correct", {"id": str(uuid.uuid4()), "donation_id": voided,
                                                 "action": "void", "reason": "重复录入"})
    push_as(server, staff, "donation.record", {
        "id": str(uuid.uuid4()), "station": STATION, "kind": "goods", "direction": "undirected",
        "donor": DONOR, "items": [{"name": "大米", "unit": "袋", "quantity": 12,
                                   "estimated_value_fen": 6_000},
                                  {"name": "食用油", "unit": "桶", "quantity": 5,
                                   "estimated_value_fen": 8_000}]})
    credit_hours(server, activity, "vol-da", 3)
    credit_hours(server, activity, "vol-db", 2)
    seed_projects(server, staff, funds[STATION])


def seed_projects(server: Server, staff: str, fund_id: str) -> None:
    """A brand project at the first station with its first milestone done (progress 40), a
    grant of ¥2,000, its evaluation (90/80/95/85: overall 88); a training there with one
    attendance of two hours."""
    project, first = str(uuid.uuid4()), str(uuid.uuid4())
    push_as(server, staff, "service_project.create", {
        "id": project, "fund_id": fund_id, "station": STATION, "category": "elderly",
        "name": "黄埔耆乐安居", "summary": "为高龄老人家中加装扶手", "indicators": [],
        "milestones": [{"id": first, "title": "入户评估", "weight": 40},
                       {"id": str(uuid.uuid4()), "title": "安装与回访", "weight": 60}]})
    push_as(server, staff, "progress.report", {"id": str(uuid.uuid4()), "project_id": project,
                                               "milestone_id": first, "progress": 100})
    push_as(server, server.admin, "grant.create", {
        "id": str(uuid.uuid4()), "project_id": project, "amount_fen": 200_000,
        "signed_at": dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).date().isoformat(),
        "tranches": []})
    push_as(server, server.admin, "evaluation.submit", {
        "project_id": project, "evaluators": ["dm-da"], "conclusion": "按计划推进",
        "public_summary": "入户评估完成。",
        "scores": {"needs": 90, "performance": 80, "feedback": 95, "supervision": 85}})
    training = str(uuid.uuid4())
    soon = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(minutes=20)
    push_as(server, staff, "training.create", {
        "id": training, "station": STATION, "topic": "《慈善法》与社区慈善", "speaker": "陈律师",
        "starts_at": soon.isoformat().replace("+00:00", "Z"),
        "ends_at": (soon + dt.timedelta(hours=2)).isoformat().replace("+00:00", "Z"),
        "place": "二楼", "capacity": 20, "hours": 2, "audience": "volunteers"})
    learner = server.token("vol-da", "volunteer", station=STATION)
    code = server.http.get("/api/v1/training/code", headers={"Authorization": f"Bearer {learner}"})
    assert code.status_code == 200, code.text
    push_as(server, staff, "training.attend", {
        "id": str(uuid.uuid4()), "training_id": training, "code": code.json()["code"],
        "at": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace(
            "+00:00", "Z")})


def full_shot(phone: Phone, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    phone.page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_the_dashboard_opens_every_figure_down_to_its_rows(phones: Any, server: Server) -> None:
    seed(server)
    district = enrol_phone(phones, server, "district", "dm-da", "district_manager",
                           district=DISTRICT)
    page = district.page
    district.go("/admin")
    page.get_by_test_id("admin-link-dashboard").click()
    expect(page.get_by_test_id("dash-showing")).to_contain_text("黄埔区")
    expect(page.get_by_test_id("dash-showing")).not_to_contain_text("黄埔区(区)")  # said once
    money = page.get_by_test_id("dash-figure-money_by_channel")
    # 60 gifts of 10.00 + 2.50 n (n = 0..59), less the void of the second (12.50)
    expect(money.get_by_test_id("dash-total-money_by_channel")).to_have_text("¥5,012.50")
    expect(money.locator("svg")).to_be_visible()
    expect(money).to_contain_text("站点·微信支付")
    expect(page.get_by_test_id("dash-figure-hours_by_type")).to_contain_text("5 小时")
    expect(page.get_by_test_id("dash-total-active_volunteers")).to_have_text("2 人")
    expect(page.get_by_test_id("dash-figure-goods_received")).to_contain_text("大米（袋）")
    # 12 bags of rice and 5 barrels of oil are not added up (17) in the headline: two kinds
    expect(page.get_by_test_id("dash-total-goods_received")).to_have_text("2 种")
    expect(page.get_by_test_id("dash-pending")).to_have_count(0)  # nothing left uncounted
    projects = page.get_by_test_id("dash-section-projects")
    expect(projects).to_contain_text("服务项目:进展与评估")
    expect(projects.get_by_test_id("dash-total-projects_by_kind")).to_have_text("1")
    expect(projects.get_by_test_id("dash-figure-projects_by_category")).to_contain_text("扶老")
    expect(projects.get_by_test_id("dash-figure-projects_by_status")).to_contain_text("结项中")
    expect(projects.get_by_test_id("dash-total-project_progress")).to_have_text("40%")
    expect(projects.get_by_test_id("dash-total-grants_signed")).to_have_text("¥2,000.00")
    expect(projects.get_by_test_id("dash-total-tranches_paid")).to_have_text("¥0.00")
    expect(projects.get_by_test_id("dash-total-evaluation_overall")).to_have_text("88 分")
    methods = projects.get_by_test_id("dash-figure-evaluation_methods")
    for words in ("需求评价", "90 分", "绩效管理", "80 分", "跟踪反馈", "95 分", "监督检查", "85 分"):
        expect(methods).to_contain_text(words)
    training = page.get_by_test_id("dash-section-training")
    expect(training.get_by_test_id("dash-total-trainings_held")).to_have_text("1")
    expect(training.get_by_test_id("dash-total-training_attendances")).to_have_text("1")
    expect(training.get_by_test_id("dash-total-training_hours")).to_have_text("2 小时")
    campaign = page.get_by_test_id("dash-figure-campaigns")
    expect(campaign).to_contain_text("中华慈善日联合募捐")
    expect(campaign).to_contain_text("目标 ¥10,000.00(50%)")
    body = page.locator("main").inner_text()
    for private in ("赵六", "13700000000", "达志愿", "vol-da", "陈律师"):
        assert private not in body, private
    district.shot("dashboard-district")
    full_shot(district, "dashboard-district-full")
    wide_shot(district, "dashboard-district")

    # the rows behind the district's total: 60 gifts and the void, two pages
    page.get_by_test_id("dash-total-money_by_month").click()
    expect(page.get_by_test_id("dash-rows-sum")).to_contain_text("¥5,012.50")
    expect(page.get_by_test_id("dash-rows-sum")).to_contain_text("61 条记录")
    rows = page.get_by_test_id("dash-rows-table").locator("tbody tr")
    expect(rows).to_have_count(50)
    district.shot("dashboard-rows")
    full_shot(district, "dashboard-rows-full")
    wide_shot(district, "dashboard-rows")
    page.get_by_test_id("dash-next").click()
    expect(rows).to_have_count(11)
    expect(page.get_by_test_id("dash-prev")).to_be_visible()
    page.get_by_role("link", name=re.compile("返回看板")).click()

    # the rows behind the evaluations: the project, its station, progress and score
    projects.get_by_test_id("dash-total-evaluations_done").click()
    table = page.get_by_test_id("dash-rows-table")
    for words in ("黄埔耆乐安居", STATION, "40%", "88 分"):
        expect(table).to_contain_text(words)
    district.shot("dashboard-project-rows")
    wide_shot(district, "dashboard-project-rows")
    page.get_by_role("link", name=re.compile("返回看板")).click()
    page.get_by_test_id("dash-open-evaluation_methods-feedback").click()
    expect(page.get_by_test_id("dash-rows-sum")).to_contain_text("这些记录的平均值:95 分")
    page.get_by_role("link", name=re.compile("返回看板")).click()
    page.get_by_test_id("dash-section-projects").scroll_into_view_if_needed()
    district.shot("dashboard-projects")
    page.get_by_test_id("dash-section-training").scroll_into_view_if_needed()
    district.shot("dashboard-training")
    page.set_viewport_size({"width": 1280, "height": 800})
    page.evaluate("document.querySelector('[data-testid=dash-section-projects]').scrollIntoView()")
    district.shot("dashboard-projects-1280")
    page.set_viewport_size(PHONE)

    # a group's rows: WeChat Pay's 15 gifts and the void
    page.get_by_test_id("dash-open-money_by_channel-station:wechat_pay").click()
    expect(page.get_by_test_id("dash-rows-key")).to_contain_text("站点·微信支付")
    expect(page.get_by_test_id("dash-rows-sum")).to_contain_text("16 条记录")
    # a row names its station as the district manager's phone knows it, not by code alone
    station_names = {s["code"]: s["name"] for s in server.records("station").values()}
    expect(page.get_by_test_id("dashboard-rows")).to_contain_text(station_names[STATION])
    page.get_by_role("link", name=re.compile("返回看板")).click()

    # narrow to one station: its 48 gifts and the void
    page.get_by_test_id("dash-place").select_option(f"s:{STATION}")
    expect(page.get_by_test_id("dash-showing")).to_contain_text(STATION)
    page.get_by_test_id("dash-total-money_by_month").click()
    expect(page.get_by_test_id("dash-rows-sum")).to_contain_text("49 条记录")
    page.get_by_role("link", name=re.compile("返回看板")).click()
    expect(page.get_by_test_id("dash-showing")).to_contain_text(STATION)

    # the year's summary as a PDF
    with page.expect_download() as download:
        page.get_by_test_id("dash-summary-pdf").click()
    saved = SHOTS / "dashboard-year-summary.pdf"
    download.value.save_as(saved)
    assert saved.read_bytes().startswith(b"%PDF")
    expect(page.get_by_test_id("dash-summary-status")).to_contain_text("year_summary_")

    # a station manager: only their station to choose, and no other district's figures
    manager = enrol_phone(phones, server, "manager", "mgr-da", "manager", station=STATION)
    manager.go("/dashboard")
    options = manager.page.get_by_test_id("dash-place").locator("option")
    expect(options).to_have_count(2)  # "my place" and the station
    expect(manager.page.get_by_test_id("dash-showing")).to_contain_text(STATION)
    manager.go(f"/dashboard?place=d:{DISTRICT}")
    expect(manager.page.get_by_test_id("dash-error")).to_contain_text("无权限")
