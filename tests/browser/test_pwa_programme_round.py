"""A whole micro-venture round, from a resident's need to the project's evaluation PDF, on
the combined app (issue 15, "What it must show"; docs/programme.md, docs/projects.md);
SQLite and PostgreSQL.

The district's fund manager opens a round on her phone. A resident raises a need on the
round's public page (as a station's QR poster leads to it); a staff phone at an event, with
no signal, records another on a resident's behalf; staff publish the two needs' titles and
register a community group. A member of the group submits two proposals on her phone, each
answering a need. In review the manager is refused when she assigns the member herself
(conflict of interest); a staff member reviews both on the scorecard; the manager concludes
them with adjusted prices. Two staff phones take ballots offline at two booths and the same
resident votes at both (for a different proposal each time): after both sync, the ballot
cast first counts and the other is kept, flagged and shown to the manager. The results stay
within the budget: the proposal the duplicate would have helped gets nothing from it. The
funded proposal becomes a project with a grant agreement of two tranches; on the station's
phone, offline, the first milestone is reported done with a photo, a beneficiary's feedback
and a supervision visit are taken; the tranche tied to that milestone is requested from the
project's screen (with the invoice photo), approved by the fund manager and paid by a second
manager on the funds screen: three people. A manager who did not make the project evaluates
it, and the evaluation PDF is read back with pypdf. Screenshots at 360×740 (``rp-*``).

One step goes through the server's sync API instead of a screen (marked SERVER STEP): the
phase dates moved so that the vote runs today (the round's edit screen is driven in
test_pwa_rounds.py). The grant is signed from the funded line of the results.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import uuid
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Phone, Server
from tests.browser.steps import back_online, camera_photo, enrol_phone
from tests.helpers import mutation

pytestmark = pytest.mark.browser

STATION, DISTRICT = "RP-001", "从化区"
RESIDENT = ("王阿婆", "13800005555")
MEMBER, REVIEWER = "rp-res", "rp-staff2"
RAILS, GREEN = "长者卫生间扶手", "楼道绿植与照明"
PUBLIC_NEED = "楼道太暗,老人晚上下楼看不清台阶,希望装感应灯、摆些绿植。"
BOOTH_NEED = "独居老人卫生间没有扶手,冬天洗澡容易滑倒。"


def day(offset: int = 0) -> str:
    """A calendar day in Asia/Shanghai (the server's days), ``offset`` days from today."""
    return (dt.datetime.now(ZoneInfo("Asia/Shanghai")).date() + dt.timedelta(days=offset)).isoformat()


def push_as(server: Server, token: str, name: str, args: dict[str, Any]) -> dict[str, Any]:
    body = {"protocol": 1, "client_id": str(uuid.uuid4()), "mutations": [mutation(1, name, args)]}
    answer = server.http.post("/api/v1/sync/push", json=body, headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()["results"][0]
    return result


def refreshed(phone: Phone, path: str) -> None:
    """Reload the app at ``path`` (a fresh pull on start) and wait for it to sync."""
    phone.go(path)
    phone.page.reload()
    phone.wait_synced()


def advance(phone: Phone, round_id: str, to: str) -> None:
    """The manager moves the round on to ``to`` from its page (with the confirmation)."""
    refreshed(phone, f"/rounds/{round_id}")
    page = phone.page
    page.get_by_test_id("advance-phase").click()
    page.get_by_test_id("advance-confirm").click()
    expect(page.get_by_test_id("round-phase")).to_have_attribute("data-phase", to)
    phone.wait_synced()


def submit_proposal(phone: Phone, round_id: str, title: str, need_title: str, lines: list[tuple[str, int, int]],
                    steps: list[tuple[str, str]], total: str) -> None:
    """A proposal through the form: the need it answers, budget lines (item, quantity,
    unit cost in yuan), an indicator, timeline steps (title, due)."""
    page = phone.page
    phone.go(f"/rounds/{round_id}/proposals")
    page.get_by_test_id("new-proposal").click()
    page.get_by_test_id("proposal-title-input").fill(title)
    page.locator("label.check", has_text=need_title).get_by_test_id("proposal-need").check()
    page.get_by_test_id("proposal-beneficiaries").fill("金洲社区高龄、独居老人")
    page.get_by_test_id("proposal-activities").fill("入户评估,采购安装,完工回访。")
    for i, (item, quantity, unit) in enumerate(lines):
        if i:
            page.get_by_test_id("add-line").click()
        line = page.get_by_test_id("budget-line").nth(i)
        line.get_by_test_id("line-item").fill(item)
        line.get_by_test_id("line-qty").fill(str(quantity))
        line.get_by_test_id("line-unit").fill(str(unit))
    expect(page.get_by_test_id("form-total")).to_contain_text(total)
    page.get_by_test_id("indicator-name").fill("受益户数")
    page.get_by_test_id("indicator-target").fill("30")
    page.get_by_test_id("indicator-unit").fill("户")
    for i, (step, due) in enumerate(steps):
        if i:
            page.get_by_role("button", name="+ 添加节点").click()
        page.get_by_test_id("step-title").nth(i).fill(step)
        page.get_by_test_id("step-due").nth(i).fill(due)
    page.get_by_test_id("save-proposal").click()
    expect(page.get_by_test_id("proposal-detail")).to_be_visible()
    expect(page.get_by_test_id("proposal-total")).to_have_text(total)


@pytest.mark.parametrize(
    "server", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
def test_a_whole_round_from_needs_to_the_evaluation_pdf(phones: Any, server: Server, tmp_path: Path) -> None:
    server.station(STATION, district=DISTRICT)
    fund = str(uuid.uuid4())
    server.push("fund.create", {"id": fund, "name": "从化社区基金", "district": DISTRICT,
                                "station": STATION, "purpose": "社区公益微创投"})
    server.push("fund.seed", {"id": str(uuid.uuid4()), "fund_id": fund, "amount_fen": 5_000_000})
    server.token(MEMBER, "volunteer", station=STATION)  # a resident with an account (sign-up link)
    fed = enrol_phone(phones, server, "manager", "rp-dm", "district_manager", district=DISTRICT)
    payer = enrol_phone(phones, server, "payer", "rp-dm-2", "district_manager", district=DISTRICT)
    booth1 = enrol_phone(phones, server, "booth-1", "rp-staff1", "staff", station=STATION)
    booth2 = enrol_phone(phones, server, "booth-2", REVIEWER, "staff", station=STATION)
    member = enrol_phone(phones, server, "member", MEMBER, "volunteer", station=STATION)
    dm_token = server.token("rp-dm", "district_manager", district=DISTRICT)

    # -- 1. the fund's manager opens the round on her phone (the dates default from today)
    page = fed.page
    fed.go("/rounds")
    page.get_by_test_id("new-round").click()
    form = page.get_by_test_id("round-form")
    form.locator("select[name=fund_id]").select_option(fund)
    form.locator("input[name=title]").fill("2026 年从化社区公益微创投")
    form.locator("input[name=budget]").fill("10000")
    form.locator("input[name=min]").fill("1000")
    form.locator("input[name=max]").fill("6000")
    page.get_by_test_id("save-round").click()
    expect(page.get_by_test_id("round-detail")).to_be_visible()
    fed.wait_synced()
    [round_] = [r for r in server.records("round").values() if r["fund_id"] == fund]
    round_id = round_["id"]
    assert round_["phase"] == "needs" and round_["budget_fen"] == 1_000_000
    fed.shot("rp-01-round")

    # -- 2. a resident raises a need on the round's public page (no account, no app)
    public = phones("public")
    public.page.goto(f"/public/rounds/{round_id}")
    expect(public.page.get_by_test_id("phase")).to_contain_text("征集需求")
    needs_form = public.page.get_by_test_id("need-form")
    needs_form.locator("select[name=category]").select_option("environment")
    needs_form.locator("input[name=community]").fill("金洲社区")
    needs_form.locator("textarea[name=description]").fill(PUBLIC_NEED)
    needs_form.locator("input[name=contact_phone]").fill("13900006666")
    needs_form.scroll_into_view_if_needed()
    public.shot("rp-02-public-need-form")
    needs_form.get_by_role("button").click()
    expect(public.page.get_by_test_id("need-sent")).to_be_visible()
    public.shot("rp-03-public-need-sent")
    assert PUBLIC_NEED not in public.page.content()  # what a resident typed is never public

    # -- 3. a staff phone at an event, with no signal, records a need for a resident
    refreshed(booth1, f"/rounds/{round_id}")
    booth1.offline(True)
    page = booth1.page
    booth1.go(f"/rounds/{round_id}/needs")
    page.get_by_test_id("new-need").click()
    page.get_by_test_id("need-cat-elderly").click()
    page.get_by_test_id("need-community").fill("金洲社区")
    page.get_by_test_id("need-description-input").fill(BOOTH_NEED)
    booth1.shot("rp-04-booth-need-offline")
    page.get_by_test_id("save-need").click()
    expect(page.get_by_test_id("form-saved")).to_be_visible()
    page.get_by_test_id("need-done").click()
    assert booth1.pending() == 1
    back_online(booth1)
    needs = {n["raised_via"]: n for n in server.records("need").values() if n["round_id"] == round_id}
    assert set(needs) == {"public", "booth"}, needs
    assert needs["public"]["contact"]["phone"] == "13900006666"  # staff only

    # staff publish a short title for each (the descriptions stay with the staff)
    refreshed(booth1, f"/rounds/{round_id}/needs")
    for words, title in ((BOOTH_NEED, "独居老人卫生间加装扶手"), (PUBLIC_NEED, "楼道照明与绿化")):
        card = page.get_by_test_id("need-card").filter(has_text=words)
        card.get_by_test_id("need-publish-open").click()
        card.get_by_test_id("need-title-input").fill(title)
        card.get_by_test_id("need-publish").click()
        expect(card.get_by_test_id("need-public-title")).to_have_text(title)
    booth1.wait_synced()
    booth1.shot("rp-05-needs")
    public.page.reload()
    expect(public.page.get_by_test_id("needs")).to_contain_text("楼道照明与绿化")
    assert PUBLIC_NEED not in public.page.content() and BOOTH_NEED not in public.page.content()

    # -- 4. staff register the residents' group; the round moves on to proposals
    booth1.go("/groups")
    page.get_by_test_id("new-group").click()
    page.get_by_test_id("group-name").fill("金洲长者互助会")
    page.locator("input[name=registration_no]").fill("CH-2026-003")
    page.get_by_test_id("group-member-input").fill(MEMBER)
    page.get_by_test_id("group-member-add").click()
    page.get_by_test_id("save-group").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("金洲长者互助会")
    booth1.wait_synced()
    advance(fed, round_id, "proposals")

    # -- 5. the group's member submits two proposals on her phone
    refreshed(member, f"/rounds/{round_id}/proposals")
    submit_proposal(member, round_id, RAILS, "独居老人卫生间加装扶手",
                    [("不锈钢扶手", 30, 150), ("防滑垫", 30, 50)],
                    [("入户评估", day(40)), ("安装扶手与防滑垫", day(80))], "¥6,000.00")
    member.shot("rp-06-proposal")
    submit_proposal(member, round_id, GREEN, "楼道照明与绿化",
                    [("感应灯", 40, 80), ("绿植", 36, 50)], [("安装与布置", day(60))], "¥5,000.00")
    member.wait_synced()
    proposals = {p["title"]: p for p in server.records("proposal").values() if p["round_id"] == round_id}
    assert set(proposals) == {RAILS, GREEN}
    assert proposals[RAILS]["budget_total_fen"] == 600_000 and proposals[GREEN]["budget_total_fen"] == 500_000
    assert proposals[RAILS]["need_ids"] == [needs["booth"]["id"]]
    assert proposals[GREEN]["need_ids"] == [needs["public"]["id"]]

    # -- 6. review: the member herself is refused as a reviewer; a staff member reviews both
    advance(fed, round_id, "review")
    page = fed.page
    for title in (RAILS, GREEN):
        refreshed(fed, f"/proposals/{proposals[title]['id']}")
        page.get_by_test_id("assign-reviewer-input").fill(MEMBER)
        page.get_by_test_id("assign-reviewer").click()
        expect(page.get_by_test_id("form-error")).to_contain_text("利益冲突")
        if title == RAILS:
            fed.shot("rp-07-conflict-refused")
        assert fed.pending() == 0  # refused on the phone, nothing queued
        page.get_by_test_id("assign-reviewer-input").fill(REVIEWER)
        page.get_by_test_id("assign-reviewer").click()
        expect(page.get_by_test_id("review-line")).to_contain_text(REVIEWER)
        fed.wait_synced()
    # the server refuses it too, with the reason (a phone that skipped the check)
    refused = push_as(server, dm_token, "review.assign",
                      {"id": str(uuid.uuid4()), "proposal_id": proposals[GREEN]["id"], "reviewer": MEMBER})
    assert refused["status"] == "rejected" and refused["code"] == "conflict_of_interest", refused

    refreshed(booth2, "/reviews")
    page = booth2.page
    for title, price in ((RAILS, "6000"), (GREEN, "5000")):
        booth2.go("/reviews")
        page.get_by_test_id("review-card").filter(has_text=title).click()
        for criterion in round_["criteria"]:
            page.get_by_test_id(f"score-{criterion['key']}").fill("8")
        page.get_by_test_id("feasible-yes").click()
        page.get_by_test_id("review-reason").fill("需求真实,预算合理,团队有社区服务经验。")
        page.get_by_test_id("review-price").fill(price)
        if title == RAILS:
            booth2.shot("rp-08-scorecard")
        page.get_by_test_id("save-review").click()
        expect(page.get_by_test_id("review-card").filter(has_text=title)).to_contain_text("已提交")
    booth2.wait_synced()

    page = fed.page
    for title, price in ((RAILS, "6000"), (GREEN, "5000")):
        refreshed(fed, f"/proposals/{proposals[title]['id']}")
        page.get_by_test_id("conclude-yes").click()
        page.get_by_test_id("conclude-price").fill(price)
        page.get_by_test_id("conclude-reason").fill(f"评审通过,核定金额 {price} 元。")
        page.get_by_test_id("conclude-save").click()
        expect(page.get_by_test_id("proposal-status")).to_have_attribute("data-status", "feasible")
        fed.wait_synced()
    # SERVER STEP (no screen used here): the phase dates move so that the vote runs today
    # (before the rules lock; the round's edit screen is driven in test_pwa_rounds.py)
    moved = push_as(server, dm_token, "round.update", {"id": round_id, "fields": {"phases": {
        "needs": {"starts": day(-12), "ends": day(-10)}, "proposals": {"starts": day(-9), "ends": day(-6)},
        "review": {"starts": day(-5), "ends": day(-1)}, "voting": {"starts": day(0), "ends": day(6)}}}})
    assert moved["status"] == "applied", moved
    advance(fed, round_id, "voting")

    # -- 7. two booth phones, offline; the same resident votes at both
    rails_id, green_id = proposals[RAILS]["id"], proposals[GREEN]["id"]
    for phone in (booth1, booth2):
        refreshed(phone, f"/rounds/{round_id}/booth")
        phone.offline(True)
    page = booth1.page
    page.get_by_test_id("booth-name").fill("金洲广场")
    page.get_by_test_id("booth-book").fill("A-001")
    page.get_by_test_id("booth-start").click()
    page.get_by_test_id("voter-name").fill(RESIDENT[0])
    page.get_by_test_id("voter-phone").fill(RESIDENT[1])
    for choice in page.get_by_test_id("ballot-choice").all():
        choice.check()
    expect(page.get_by_test_id("ballot-total")).to_have_attribute("data-over", "1")
    page.get_by_test_id("booth-cast").click()
    expect(page.get_by_test_id("form-error")).to_contain_text("超出预算")  # refused before queueing
    page.locator(f"[data-testid=ballot-choice][data-id='{green_id}']").uncheck()
    booth1.shot("rp-09-booth-1")
    page.get_by_test_id("booth-cast").click()
    expect(page.get_by_test_id("booth-last")).to_contain_text("第 1 张")
    page.get_by_test_id("voter-name").fill("赵伯")
    page.get_by_test_id("voter-phone").fill("13700007777")
    page.locator(f"[data-testid=ballot-choice][data-id='{rails_id}']").check()
    page.get_by_test_id("booth-cast").click()
    expect(page.get_by_test_id("booth-last")).to_contain_text("第 2 张")
    assert booth1.pending() == 2
    fed.page.wait_for_timeout(1100)  # the second booth's clock reads later
    page = booth2.page
    page.get_by_test_id("booth-name").fill("金洲小学门口")
    page.get_by_test_id("booth-book").fill("B-002")
    page.get_by_test_id("booth-start").click()
    page.get_by_test_id("voter-name").fill(RESIDENT[0])
    page.get_by_test_id("voter-phone").fill(RESIDENT[1])
    page.locator(f"[data-testid=ballot-choice][data-id='{green_id}']").check()
    page.get_by_test_id("booth-cast").click()
    expect(page.get_by_test_id("booth-last")).to_contain_text("第 1 张")
    booth2.shot("rp-10-booth-2")
    # the later ballot reaches the server first; the earlier one takes its place after
    back_online(booth2, booth1)
    ballots = [b for b in server.records("ballot").values() if b["round_id"] == round_id]
    assert len(ballots) == 3, ballots
    theirs = [b for b in ballots if sum(1 for o in ballots if o["voter_key"] == b["voter_key"]) == 2]
    counted = next(b for b in theirs if b["status"] == "counted")
    flagged = next(b for b in theirs if b["status"] == "duplicate")
    assert (counted["booth"], flagged["booth"]) == ("金洲广场", "金洲小学门口")
    assert flagged["duplicate_of"] == counted["id"] and flagged["proposal_ids"] == [green_id]
    assert all(RESIDENT[0] not in str(b) and RESIDENT[1] not in str(b) for b in ballots)

    # the manager sees the flagged ballot beside the one that counts
    refreshed(fed, f"/rounds/{round_id}")
    page = fed.page
    expect(page.get_by_test_id("open-ballots")).to_contain_text("1 张待查看")
    page.get_by_test_id("open-ballots").click()
    item = page.get_by_test_id("flagged-ballot")
    expect(item).to_have_count(1)
    expect(item.locator(".side.kept")).to_contain_text("金洲广场")
    expect(item.locator(".side.lost")).to_contain_text("金洲小学门口")
    item.scroll_into_view_if_needed()
    fed.shot("rp-11-flagged")

    # -- 8. results within the budget: the duplicate's vote for GREEN does not count
    refreshed(fed, f"/rounds/{round_id}/results")
    page.get_by_test_id("publish-results").click()
    page.get_by_test_id("publish-confirm").click()
    server.wait_for(lambda: server.records("round")[round_id]["phase"] == "results", "the results published",
                    page=page)
    refreshed(fed, f"/rounds/{round_id}/results")
    expect(page.get_by_test_id("result-line")).to_have_count(2)
    results = {r["proposal_id"]: r for r in server.records("round_result").values() if r["round_id"] == round_id}
    assert (results[rails_id]["votes_total"], results[green_id]["votes_total"]) == (2, 0)
    assert results[rails_id]["funded"] and results[rails_id]["amount_fen"] == 600_000
    assert not results[green_id]["funded"]  # 6,000 + 5,000 > 10,000: it no longer fits
    assert sum(r["amount_fen"] for r in results.values() if r["funded"]) <= 1_000_000
    expect(page.locator("[data-testid=result-line][data-funded='1']")).to_have_count(1)
    fed.shot("rp-12-results")
    public.page.goto(f"/public/rounds/{round_id}")
    section = public.page.get_by_test_id("round-results")
    expect(section.get_by_test_id("result-line").first).to_contain_text(RAILS)
    expect(section.get_by_test_id("participation")).to_contain_text("1")  # one second ballot set aside
    section.scroll_into_view_if_needed()
    public.shot("rp-13-public-results")

    # -- 9. the funded proposal becomes a project with a grant agreement of two tranches,
    # signed from its line in the results
    timeline = proposals[RAILS]["timeline"]
    assert [s["title"] for s in timeline] == ["入户评估", "安装扶手与防滑垫"]
    line = page.locator("[data-testid=result-line][data-funded='1']")
    expect(page.locator("[data-testid=result-line][data-funded='0']").get_by_test_id("result-sign-grant")).to_have_count(0)
    line.get_by_test_id("result-sign-grant").click()
    grant = page.get_by_test_id("proposal-grant")
    expect(grant.locator("input[name=amount]")).to_have_value("6000")  # the award
    grant.locator("select[name=category]").select_option("elderly")
    grant.locator("textarea[name=summary]").fill("为金洲社区 30 户独居老人加装卫生间扶手和防滑垫。")
    grant.locator("input[name=tr-amount-0]").fill("2000")
    page.get_by_test_id("add-tranche").click()
    grant.locator("input[name=tr-amount-1]").fill("4000")
    grant.locator("select[name=tr-key-1]").select_option(timeline[0]["key"])
    expect(page.get_by_test_id("tranche-sum")).to_contain_text("¥6,000.00 / ¥6,000.00")
    fed.shot("rp-13b-grant")
    page.get_by_test_id("save-grant").click()
    expect(page).to_have_url(re.compile(r"#/projects/[0-9a-f-]{36}"))  # the new project, at once
    fed.wait_synced()
    [project] = [p for p in server.records("service_project").values() if p["proposal_id"] == rails_id]
    project_id = project["id"]
    assert (project["kind"], project["station"], project["category"]) == ("micro_venture", STATION, "elderly")
    [signed] = [g for g in server.records("grant").values() if g["project_id"] == project_id]
    assert signed["amount_fen"] == 600_000 and signed["signed_by"] == "rp-dm"
    tranches = {t["amount_fen"]: t for t in server.records("grant_tranche").values() if t["project_id"] == project_id}
    assert set(tranches) == {200_000, 400_000} and tranches[200_000]["milestone_id"] is None
    second_id = tranches[400_000]["id"]
    refreshed(fed, f"/rounds/{round_id}/results")
    expect(page.get_by_test_id("result-project")).to_have_attribute("href", f"#/projects/{project_id}")

    # -- 10. the station's phone, offline: the first milestone done with a photo, feedback, a visit
    refreshed(booth1, "/projects")
    page = booth1.page
    card = page.get_by_test_id("project-card").filter(has_text=RAILS)
    expect(card).to_be_visible()
    booth1.shot("rp-14-projects")
    card.click()
    expect(page.get_by_test_id("project-name")).to_have_text(RAILS)
    booth1.shot("rp-15-project")
    booth1.offline(True)
    page.get_by_test_id("go-report").click()
    report = page.get_by_test_id("report-form")
    [first_step] = [m["id"] for m in server.records("milestone").values()
                    if m["project_id"] == project_id and m["title"] == "入户评估"]
    report.locator("select[name=milestone]").select_option(first_step)
    report.locator("input[name=progress]").fill("100")
    report.locator("textarea[name=text]").fill("30 户入户评估完成,确定安装位置。")
    photo = camera_photo(tmp_path / "visit.jpg", size=(1600, 1200), orientation=1)
    page.get_by_test_id("report-photos-pick").set_input_files(str(photo))
    expect(page.get_by_test_id("report-photos").get_by_test_id("attachment")).to_have_count(1)
    page.get_by_test_id("save-report").click()
    expect(page.get_by_test_id("detail-progress")).to_have_attribute("data-value", "50")
    page.get_by_test_id("go-feedback").click()
    page.get_by_test_id("seg-score").locator("[data-value='5']").click()
    page.locator("textarea[name=comment]").fill("评估很细心,盼着早点装上。")
    page.get_by_test_id("save-feedback").click()
    expect(page.get_by_test_id("form-saved")).to_contain_text("第 1 条")
    page.get_by_role("link", name="完成,返回项目").click()
    page.get_by_test_id("go-visit").click()
    visit = page.get_by_test_id("visit-form")
    expect(visit.locator("input[name=visited]")).not_to_have_value("")  # today, by the phone's clock
    page.get_by_test_id("seg-rating").locator("[data-value=good]").click()
    visit.locator("textarea[name=findings]").fill("评估表齐全,入户照片清楚。")
    visit.locator("textarea[name=follow_up]").fill("安装完成后抽查五户")
    visit.locator("input[name=due]").fill(day(90))
    page.get_by_test_id("save-visit").click()
    expect(page.get_by_test_id("visit-item")).to_contain_text("抽查五户")
    assert booth1.pending() == 3
    booth1.shot("rp-16-project-offline")
    back_online(booth1)
    assert server.records("service_project")[project_id]["progress"] == 50
    assert [f["score"] for f in server.records("project_feedback").values() if f["project_id"] == project_id] == [5]
    [logged] = [v for v in server.records("supervision_visit").values() if v["project_id"] == project_id]
    assert logged["follow_up_due"] == day(90)
    expect(page.get_by_test_id("report").get_by_test_id("attachment")).to_have_attribute(
        "data-state", "uploaded", timeout=30000)

    # -- 11. the tranche of the finished milestone: requested (staff), approved (the fund's
    # manager) and paid (a second manager) through the fund's disbursement flow
    item = page.get_by_test_id("tranche").filter(has_text="入户评估")
    item.get_by_test_id("request-tranche").click()
    expect(page.get_by_test_id("tranche-amount")).to_have_text("¥4,000.00")
    page.locator("input[name=payee]").fill("金洲长者互助会")
    page.locator("input[name=purpose]").fill("第二期:入户评估完成")
    invoice = camera_photo(tmp_path / "invoice.jpg", size=(1200, 1600), orientation=1)
    page.get_by_test_id("tranche-invoice-pick").set_input_files(str(invoice))
    expect(page.get_by_test_id("tranche-invoice").get_by_test_id("attachment")).to_have_count(1)
    booth1.shot("rp-17-tranche-request")
    page.get_by_test_id("save-tranche").click()
    expect(page.get_by_test_id("tranche").filter(has_text="入户评估")).to_have_attribute("data-status", "requested")
    booth1.wait_synced()
    disbursement_id = server.records("grant_tranche")[second_id]["disbursement_id"]
    assert disbursement_id and server.records("disbursement")[disbursement_id]["amount_fen"] == 400_000
    server.wait_for(lambda: server.http.get(
        f"/api/v1/files/{server.records('disbursement')[disbursement_id]['attachments'][0]['sha256']}",
        headers={"Authorization": f"Bearer {server.admin}"}).status_code == 200, "the invoice uploaded", page=page)

    refreshed(fed, "/funds")
    row = fed.page.get_by_test_id("disbursement").filter(has_text="金洲长者互助会")
    expect(row).to_have_attribute("data-status", "requested")
    row.scroll_into_view_if_needed()
    fed.shot("rp-18-approve")
    row.get_by_test_id("approve-disbursement").click()
    fed.wait_synced()
    server.wait_for(lambda: server.records("disbursement")[disbursement_id]["status"] == "approved",
                    "the approval", page=fed.page)
    refreshed(payer, "/funds")
    row = payer.page.get_by_test_id("disbursement").filter(has_text="金洲长者互助会")
    expect(row).to_have_attribute("data-status", "approved")
    row.get_by_test_id("open-pay").click()
    row.locator("input[name=reference]").fill("BANK-RP-0001")
    row.get_by_test_id("pay-disbursement").click()
    server.wait_for(lambda: server.records("grant_tranche")[second_id]["status"] == "paid",
                    "the tranche paid", page=payer.page)
    paid = server.records("disbursement")[disbursement_id]
    assert len({paid["requested_by"], paid["decided_by"], paid["paid_by"]}) == 3, paid
    refreshed(booth1, f"/projects/{project_id}")
    expect(page.get_by_test_id("tranche").filter(has_text="入户评估")).to_have_attribute("data-status", "paid")
    page.get_by_test_id("tranches").scroll_into_view_if_needed()
    booth1.shot("rp-19-tranche-paid")

    # -- 12. the evaluation, by a manager who did not make the project, and its PDF
    refreshed(payer, f"/projects/{project_id}")
    page = payer.page
    page.get_by_test_id("go-evaluate").click()
    evaluation = page.get_by_test_id("evaluate-form")
    for key, score in (("needs", "92"), ("performance", "80"), ("feedback", "90"), ("supervision", "86")):
        evaluation.locator(f"input[name=score-{key}]").fill(score)
    evaluation.locator("textarea[name=conclusion]").fill("回应了居民提出的需求,进度与拨付相符。")
    evaluation.locator("textarea[name=public_summary]").fill("30 户独居老人完成入户评估,扶手安装进行中。")
    payer.shot("rp-20-evaluate")
    page.get_by_test_id("save-evaluation").click()
    expect(page.get_by_test_id("form-saved")).to_contain_text("已提交评估")
    payer.wait_synced()
    assert server.records("evaluation")[project_id]["spent_fen"] == 400_000  # from the ledger
    refreshed(payer, f"/projects/{project_id}")
    page.get_by_test_id("evaluation").scroll_into_view_if_needed()
    payer.shot("rp-21-evaluated")
    with page.expect_download() as info:
        page.get_by_test_id("evaluation-pdf").click()
    pdf = tmp_path / "evaluation.pdf"
    info.value.save_as(pdf)
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF-")
    from pypdf import PdfReader

    text = "".join(p.extract_text() or "" for p in PdfReader(io.BytesIO(data)).pages)
    squashed = re.sub(r"\s+", "", text)
    assert RAILS in squashed, text[:600]
    assert "4,000.00" in squashed or "4000.00" in squashed, text[:1200]  # spent, from the ledger

    # the project's public page: progress, the paid tranche, the summary; nothing a resident typed
    public.page.goto(f"/public/projects/{project_id}")
    body = public.page.locator("body")
    expect(body).to_contain_text(RAILS)
    expect(body).to_contain_text("30 户独居老人完成入户评估")
    assert "评估很细心" not in public.page.content() and "盼着" not in public.page.content()
    public.shot("rp-22-public-project")
