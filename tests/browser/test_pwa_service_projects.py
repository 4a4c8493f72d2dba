"""A brand service project on the phones (pwa/src/areas/projects, docs/projects.md).

A station's staff member creates the pilot "耆乐安居" with its indicators and weighted
milestones; a district manager signs its grant with two tranches; the staff member, with no
signal, reports a milestone done with a photo, takes a beneficiary's feedback and logs a
supervision visit with a follow-up due date, and all of it reaches the server once back
online; the tranche tied to that milestone is requested from the project's screen, then
approved and paid by two other people on the existing funds screen, and the project shows it
paid; an indicator's actual is recorded; the evaluation is submitted by a fund manager who
did not create the project, and its PDF is downloaded and read. Screenshots at 360x740.
"""

from __future__ import annotations

import io
import uuid
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import Server
from tests.browser.steps import back_online, camera_photo, enrol_phone

STATION = "SP-001"
DISTRICT = "荔湾区"
NAME = "耆乐安居 · 居家安全改造"


def test_brand_project_from_creation_to_evaluation(phones: Any, server: Server, tmp_path: Path) -> None:
    server.station(STATION, DISTRICT)
    fund_id = str(uuid.uuid4())
    server.push("fund.create", {"id": fund_id, "name": f"{STATION} 社区基金", "district": DISTRICT,
                                "station": STATION, "purpose": "社区帮扶"})
    server.push("fund.seed", {"id": str(uuid.uuid4()), "fund_id": fund_id, "amount_fen": 5_000_000})
    staff = enrol_phone(phones, server, "sp-staff", "sp-staff", "staff", station=STATION)
    approver = enrol_phone(phones, server, "sp-approver", "sp-dm-1", "district_manager", district=DISTRICT)
    payer = enrol_phone(phones, server, "sp-payer", "sp-dm-2", "district_manager", district=DISTRICT)
    page = staff.page

    # 1. The staff member starts the brand project from the donations home.
    staff.go("/donations")
    page.get_by_test_id("projects-link").click()
    # none of this station's yet (the browser tests share a server: other stations' may show)
    expect(page.get_by_test_id("project-card").filter(has_text=STATION)).to_have_count(0)
    page.get_by_test_id("new-project").click()
    form = page.get_by_test_id("project-create")
    form.locator("select[name=category]").select_option("elderly")
    form.locator("input[name=name]").fill(NAME)
    form.locator("textarea[name=summary]").fill("为独居和高龄老人入户评估居家安全,安装扶手、防滑垫和夜灯。")
    form.locator("input[name=ind-name-0]").fill("完成入户安全评估")
    form.locator("input[name=ind-target-0]").fill("40")
    form.locator("input[name=ind-unit-0]").fill("户")
    form.locator("input[name=ms-title-0]").fill("入户评估")
    form.locator("input[name=ms-weight-0]").fill("40")
    form.locator("input[name=ms-due-0]").fill("2026-12-20")
    # weights that do not add up to 100 are refused on the phone, before anything is queued
    page.get_by_test_id("save-project").click()
    expect(page.get_by_test_id("field-error-milestones")).to_contain_text("100")
    page.get_by_test_id("add-milestone").click()
    form.locator("input[name=ms-title-1]").fill("安装扶手与夜灯")
    form.locator("input[name=ms-weight-1]").fill("60")
    expect(page.get_by_test_id("weight-sum")).to_contain_text("100/100")
    page.get_by_test_id("milestone-rows").scroll_into_view_if_needed()
    staff.shot("sp-01-create")
    page.get_by_test_id("save-project").click()
    expect(page.get_by_test_id("project-name")).to_have_text(NAME)
    expect(page.get_by_test_id("form-saved")).to_contain_text("已创建项目")
    project_id = page.get_by_test_id("project-detail").get_attribute("data-id")
    assert project_id
    staff.wait_synced()
    stored = server.records("service_project")[project_id]
    assert stored["kind"] == "brand" and stored["station"] == STATION and stored["progress"] == 0
    assert server.records("project")[project_id]["fund_id"] == fund_id
    milestones = {m["title"]: m for m in server.records("milestone").values() if m["project_id"] == project_id}
    assert {t: m["weight"] for t, m in milestones.items()} == {"入户评估": 40, "安装扶手与夜灯": 60}
    staff.shot("sp-02-detail-new")
    # the plan changes: the second milestone gets its due date (existing ones cannot be dropped)
    page.get_by_test_id("go-milestones").click()
    plan = page.get_by_test_id("milestones-form")
    plan.locator("input[name=ms-due-1]").fill("2027-01-15")
    expect(page.get_by_test_id("weight-sum")).to_contain_text("100/100")
    staff.shot("sp-02b-milestones")
    page.get_by_test_id("save-milestones").click()
    expect(page.get_by_test_id("form-saved")).to_contain_text("已保存里程碑")
    staff.wait_synced()
    server.wait_for(lambda: server.records("milestone")[milestones["安装扶手与夜灯"]["id"]]["due"] == "2027-01-15",
                    "the milestone's due date", page=page)

    # 2. A district manager (the fund's manager) signs the grant: an advance and a tranche
    # paid once the first milestone is done.
    approver.page.reload()
    approver.go(f"/projects/{project_id}")
    approver.page.get_by_test_id("go-grant").click()
    grant = approver.page.get_by_test_id("grant-form")
    grant.locator("input[name=amount]").fill("20000")
    grant.locator("input[name=tr-amount-0]").fill("8000")
    approver.page.get_by_test_id("add-tranche").click()
    grant.locator("input[name=tr-amount-1]").fill("12000")
    grant.locator("select[name=tr-milestone-1]").select_option(label="入户评估")
    expect(approver.page.get_by_test_id("tranche-sum")).to_contain_text("¥20,000.00 / ¥20,000.00")
    approver.shot("sp-03-grant")
    approver.page.get_by_test_id("save-grant").click()
    expect(approver.page.get_by_test_id("tranche")).to_have_count(2)
    approver.wait_synced()
    tranches = [t for t in server.records("grant_tranche").values() if t["project_id"] == project_id]
    assert sorted(t["amount_fen"] for t in tranches) == [800_000, 1_200_000]
    [second] = [t for t in tranches if t["amount_fen"] == 1_200_000]

    # 3. With no signal: the first milestone reported done with a photo, a beneficiary's
    # feedback, a supervision visit with a follow-up due date. All show at once.
    page.reload()
    staff.go(f"/projects/{project_id}")
    expect(page.get_by_test_id("tranche").filter(has_text="入户评估").get_by_test_id("tranche-wait")).to_be_visible()
    staff.offline(True)
    page.get_by_test_id("go-report").click()
    report = page.get_by_test_id("report-form")
    report.locator("select[name=milestone]").select_option(milestones["入户评估"]["id"])
    report.locator("input[name=progress]").fill("100")
    report.locator("textarea[name=text]").fill("已完成 40 户入户安全评估,记录需改造项目。")
    photo = camera_photo(tmp_path / "visit.jpg", size=(1600, 1200), orientation=1)
    page.get_by_test_id("report-photos-pick").set_input_files(str(photo))
    expect(page.get_by_test_id("report-photos").get_by_test_id("attachment")).to_have_count(1)
    staff.shot("sp-04-report-offline")
    page.get_by_test_id("save-report").click()
    expect(page.get_by_test_id("form-saved")).to_contain_text("已保存进度报告")
    expect(page.get_by_test_id("detail-progress")).to_have_attribute("data-value", "40")
    expect(page.get_by_test_id("report")).to_have_count(1)

    page.get_by_test_id("go-feedback").click()
    page.get_by_test_id("seg-score").locator("[data-value='4']").click()
    page.locator("textarea[name=comment]").fill("扶手很实用,夜灯希望再亮一些。")
    staff.shot("sp-05-feedback-offline")
    page.get_by_test_id("save-feedback").click()
    expect(page.get_by_test_id("form-saved")).to_contain_text("第 1 条")
    page.get_by_role("link", name="完成,返回项目").click()

    page.get_by_test_id("go-visit").click()
    visit = page.get_by_test_id("visit-form")
    visit.locator("input[name=visited]").fill("2026-11-20")
    page.get_by_test_id("seg-rating").locator("[data-value=needs_improvement]").click()
    visit.locator("textarea[name=findings]").fill("台账不全,两户的改造照片缺失。")
    visit.locator("textarea[name=follow_up]").fill("补齐两户改造前后照片")
    visit.locator("input[name=due]").fill("2026-12-05")
    staff.shot("sp-06-visit-offline")
    page.get_by_test_id("save-visit").click()
    expect(page.get_by_test_id("form-saved")).to_contain_text("已保存督查记录")
    expect(page.get_by_test_id("visit-item")).to_contain_text("补齐两户")
    expect(page.get_by_test_id("feedback-item")).to_have_count(1)
    assert staff.pending() == 3
    page.get_by_test_id("reports").scroll_into_view_if_needed()
    staff.shot("sp-07-detail-offline")

    # Online again: everything reaches the server, the photo too.
    back_online(staff)
    reports = [r for r in server.records("progress_report").values() if r["project_id"] == project_id]
    assert len(reports) == 1 and reports[0]["progress"] == 100 and len(reports[0]["attachments"]) == 1
    assert server.records("service_project")[project_id]["progress"] == 40
    [feedback] = [f for f in server.records("project_feedback").values() if f["project_id"] == project_id]
    assert feedback["score"] == 4 and feedback["comment"].startswith("扶手很实用")
    [logged] = [v for v in server.records("supervision_visit").values() if v["project_id"] == project_id]
    assert (logged["rating"], logged["follow_up_due"]) == ("needs_improvement", "2026-12-05")
    tile = page.get_by_test_id("report").get_by_test_id("attachment")
    expect(tile).to_have_attribute("data-state", "uploaded", timeout=30000)

    # 4. The milestone is done: the staff member requests its tranche from the project.
    item = page.get_by_test_id("tranche").filter(has_text="入户评估")
    item.get_by_test_id("request-tranche").click()
    expect(page.get_by_test_id("tranche-amount")).to_have_text("¥12,000.00")
    page.locator("input[name=payee]").fill("荔湾安居服务社")
    page.locator("input[name=purpose]").fill("第二期:入户评估完成")
    # above the invoice line: the invoice photo goes with the request (paid only once it arrived)
    expect(page.get_by_test_id("tranche-invoice")).to_contain_text("须先上传发票")
    invoice = camera_photo(tmp_path / "invoice.jpg", size=(1200, 1600), orientation=1)
    page.get_by_test_id("tranche-invoice-pick").set_input_files(str(invoice))
    expect(page.get_by_test_id("tranche-invoice").get_by_test_id("attachment")).to_have_count(1)
    staff.shot("sp-08-tranche-request")
    page.get_by_test_id("save-tranche").click()
    expect(page.get_by_test_id("form-saved")).to_contain_text("已提交拨付申请")
    expect(page.get_by_test_id("tranche").filter(has_text="入户评估")).to_have_attribute("data-status", "requested")
    staff.wait_synced()
    tranche = server.records("grant_tranche")[second["id"]]
    assert tranche["status"] == "requested" and tranche["disbursement_id"]
    disbursement_id = tranche["disbursement_id"]
    assert server.records("disbursement")[disbursement_id]["amount_fen"] == 1_200_000
    server.wait_for(lambda: server.http.get(
        f"/api/v1/files/{server.records('disbursement')[disbursement_id]['attachments'][0]['sha256']}",
        headers={"Authorization": f"Bearer {server.admin}"}).status_code == 200, "the invoice uploaded", page=page)

    # 5. Approved by one district manager and paid by another, on the existing funds screen.
    approver.page.reload()
    approver.go("/funds")
    row = approver.page.get_by_test_id("disbursement").filter(has_text="荔湾安居服务社")
    expect(row).to_have_attribute("data-status", "requested")
    expect(row).to_contain_text(NAME)
    row.scroll_into_view_if_needed()
    approver.shot("sp-08b-funds-approve")
    row.get_by_test_id("approve-disbursement").click()
    approver.wait_synced()
    server.wait_for(lambda: server.records("disbursement")[disbursement_id]["status"] == "approved",
                    "the approval", page=approver.page)
    payer.page.reload()
    payer.go("/funds")
    row = payer.page.get_by_test_id("disbursement").filter(has_text="荔湾安居服务社")
    expect(row).to_have_attribute("data-status", "approved")
    row.get_by_test_id("open-pay").click()
    row.locator("input[name=reference]").fill("BANK-SP-0001")
    row.get_by_test_id("pay-disbursement").click()
    server.wait_for(lambda: server.records("grant_tranche")[second["id"]]["status"] == "paid",
                    "the tranche paid", page=payer.page)
    page.reload()
    paid = page.get_by_test_id("tranche").filter(has_text="入户评估")
    expect(paid).to_have_attribute("data-status", "paid")
    expect(paid.get_by_test_id("tranche-status")).to_have_text("已付款")
    page.get_by_test_id("tranches").scroll_into_view_if_needed()
    staff.shot("sp-09-tranche-paid")
    staff.go("/projects")
    card = page.get_by_test_id("project-card").filter(has_text=NAME)
    expect(card.get_by_test_id("project-progress")).to_have_attribute("data-value", "40")
    staff.shot("sp-09b-list")
    card.click()

    # 6. An indicator's actual for the quarter, against its target.
    page.get_by_test_id("go-indicator").click()
    page.locator("input[name=period]").fill("2026-Q4")
    page.locator("input[name=value]").fill("40")
    staff.shot("sp-10-indicator")
    page.get_by_test_id("save-indicator").click()
    expect(page.get_by_test_id("indicator").get_by_test_id("indicator-value")).to_contain_text("40 / 40")
    staff.wait_synced()

    # 7. The evaluation by a fund manager who did not create the project, and its PDF.
    approver.page.reload()
    approver.go(f"/projects/{project_id}")
    approver.page.get_by_test_id("go-evaluate").click()
    evaluation = approver.page.get_by_test_id("evaluate-form")
    for key, score in (("needs", "90"), ("performance", "85"), ("feedback", "80"), ("supervision", "70")):
        evaluation.locator(f"input[name=score-{key}]").fill(score)
    expect(approver.page.get_by_test_id("evaluation-mean")).to_contain_text("81")
    evaluation.locator("textarea[name=conclusion]").fill("需求回应充分,台账管理需加强。")
    evaluation.locator("textarea[name=public_summary]").fill("完成 40 户老人居家安全评估与改造,受益老人满意度较高。")
    approver.shot("sp-11-evaluate")
    approver.page.get_by_test_id("save-evaluation").click()
    expect(approver.page.get_by_test_id("form-saved")).to_contain_text("已提交评估")
    approver.wait_synced()
    approver.page.reload()
    expect(approver.page.get_by_test_id("evaluation-overall")).to_have_text("81")
    assert server.records("evaluation")[project_id]["spent_fen"] == 1_200_000
    approver.page.get_by_test_id("evaluation").scroll_into_view_if_needed()
    approver.shot("sp-12-evaluated")
    with approver.page.expect_download() as info:
        approver.page.get_by_test_id("evaluation-pdf").click()
    pdf = tmp_path / "evaluation.pdf"
    info.value.save_as(pdf)
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF-")
    from pypdf import PdfReader

    text = "".join(p.extract_text() or "" for p in PdfReader(io.BytesIO(data)).pages)
    assert "耆乐安居" in text, text[:400]

    # The same project in English, as the station's staff see it.
    page.reload()
    page.locator("button.lang").click()
    expect(page.get_by_test_id("evaluation")).to_contain_text("Overall")
    expect(page.get_by_test_id("milestones")).to_contain_text("weight 60")
    staff.shot("sp-13-detail-en")
    page.locator("button.lang").click()
