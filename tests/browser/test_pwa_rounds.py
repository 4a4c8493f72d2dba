"""The micro-venture round on phones (issue 15; src/areas/programme/, docs/programme.md).

A district manager opens a round on her phone; a staff phone records a resident's need
offline at an event; staff register a community group and a resident of it submits a
proposal with budget lines (the total computed as typed, the same on the server) and edits
it (a second version kept); a reviewer fills the scorecard on the phone; the manager
concludes, refuses a group member as reviewer (conflict of interest) and opens the vote.
Two staff phones take ballots offline at two booths and the same resident votes at both:
the phone refuses a ballot over the budget before queueing it; after both sync the one
cast first counts and the other is kept, flagged and shown to the manager beside it. A
paper tally and a ballot from the resident's own phone; the manager publishes the results,
which never spend more than the budget. SQLite and PostgreSQL. Screenshots of each screen
at 360×740 (``mv-*``).
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Phone, Server
from tests.browser.steps import enrol_phone
from tests.helpers import mutation

pytestmark = pytest.mark.browser

STATION, DISTRICT = "MV-001", "南沙区"
RESIDENT = ("张阿姨", "13800001111")


def day(offset: int = 0) -> str:
    """A calendar day in Asia/Shanghai (the server's days), ``offset`` days from today."""
    return (dt.datetime.now(ZoneInfo("Asia/Shanghai")).date() + dt.timedelta(days=offset)).isoformat()


def push_as(server: Server, token: str, name: str, args: dict[str, Any]) -> dict[str, Any]:
    body = {"protocol": 1, "client_id": str(uuid.uuid4()), "mutations": [mutation(1, name, args)]}
    answer = server.http.post("/api/v1/sync/push", json=body, headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()["results"][0]
    return result


def applied(server: Server, token: str, name: str, args: dict[str, Any]) -> None:
    result = push_as(server, token, name, args)
    assert result["status"] == "applied", (name, result)


def refreshed(phone: Phone, path: str) -> None:
    """Reload the app at ``path`` (a fresh pull on start) and wait for it to sync."""
    phone.go(path)
    phone.page.reload()
    phone.wait_synced()


@pytest.mark.parametrize(
    "server", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
def test_a_round_on_phones_with_two_offline_booths(phones: Any, server: Server) -> None:
    server.station(STATION, district=DISTRICT)
    fund = str(uuid.uuid4())
    server.push("fund.create", {"id": fund, "name": "南沙社区基金", "district": DISTRICT,
                                "station": STATION, "purpose": "社区公益微创投"})
    for user, role in (("mv-res", "volunteer"), ("mv-rev2", "volunteer")):
        server.token(user, role, station=STATION)
    server.push("volunteer.register", {"user_id": "mv-res", "name": "梁姨", "stations": [STATION]})
    fed = enrol_phone(phones, server, "federation", "mv-dm", "district_manager", district=DISTRICT)
    booth1 = enrol_phone(phones, server, "booth-1", "mv-staff1", "staff", station=STATION)
    booth2 = enrol_phone(phones, server, "booth-2", "mv-staff2", "staff", station=STATION)
    resident = enrol_phone(phones, server, "resident", "mv-res", "volunteer", station=STATION)
    res_token = server.token("mv-res", "volunteer", station=STATION)
    rev2_token = server.token("mv-rev2", "volunteer", station=STATION)

    # -- the district manager opens a round on her phone
    page = fed.page
    fed.go("/rounds")
    page.get_by_test_id("new-round").click()
    form = page.get_by_test_id("round-form")
    form.locator("select[name=fund_id]").select_option(fund)
    form.locator("input[name=title]").fill("2026 年南沙社区公益微创投")
    form.locator("input[name=budget]").fill("10000")
    form.locator("input[name=min]").fill("1000")
    form.locator("input[name=max]").fill("6000")
    fed.shot("mv-01-round-form")
    form.locator("fieldset").first.scroll_into_view_if_needed()
    fed.shot("mv-01b-round-dates")
    page.get_by_test_id("save-round").click()
    expect(page.get_by_test_id("round-detail")).to_be_visible()
    expect(page.get_by_test_id("round-budget")).to_have_text("¥10,000.00")
    fed.wait_synced()
    rounds = [r for r in server.records("round").values() if r["fund_id"] == fund]
    assert len(rounds) == 1, rounds
    round_id = rounds[0]["id"]
    assert rounds[0]["phase"] == "needs" and rounds[0]["budget_fen"] == 1_000_000
    assert rounds[0]["station"] == STATION and sum(c["weight"] for c in rounds[0]["criteria"]) == 100
    fed.shot("mv-02-round")

    # -- a staff phone at an event, offline, records a resident's need on her behalf
    refreshed(booth1, f"/rounds/{round_id}")
    booth1.offline(True)
    page = booth1.page
    booth1.go(f"/rounds/{round_id}/needs")
    page.get_by_test_id("new-need").click()
    page.get_by_test_id("need-cat-elderly").click()
    page.get_by_test_id("need-community").fill("金洲社区")
    page.get_by_test_id("need-description-input").fill("楼里独居老人多,卫生间没有扶手,去年有人滑倒。")
    page.locator("details.more-fields summary").click()
    page.locator("input[name=contact_name]").fill("陈伯")
    page.locator("input[name=contact_phone]").fill("13900002222")
    booth1.shot("mv-03-need-form")
    page.get_by_test_id("save-need").click()
    expect(page.get_by_test_id("form-saved")).to_be_visible()
    expect(page.get_by_test_id("need-community")).to_have_value("金洲社区")  # kept for the next resident
    page.get_by_test_id("need-done").click()
    card = page.get_by_test_id("need-card")
    expect(card).to_have_count(1)
    expect(card).to_contain_text("待同步")
    page.reload()  # offline: the need is still there (the outbox)
    expect(page.get_by_test_id("need-card")).to_contain_text("楼里独居老人多")
    assert booth1.pending() == 1
    booth1.shot("mv-04-needs-offline")
    booth1.offline(False)
    booth1.wait_synced()
    needs = [n for n in server.records("need").values() if n["round_id"] == round_id]
    assert len(needs) == 1 and needs[0]["raised_via"] == "booth", needs
    assert needs[0]["contact"] == {"name": "陈伯", "phone": "13900002222"}
    need_id = needs[0]["id"]
    # staff give it a public title (the description never goes public)
    page.get_by_test_id("need-publish-open").click()
    page.get_by_test_id("need-title-input").fill("老旧楼栋卫生间加装扶手")
    page.get_by_test_id("need-publish").click()
    expect(page.get_by_test_id("need-public-title")).to_have_text("老旧楼栋卫生间加装扶手")
    server.wait_for(lambda: server.records("need")[need_id]["public_title"] != "", "the need's title", page=page)

    # -- staff register the residents' group; the manager moves the round on to proposals
    booth1.go("/groups")
    page.get_by_test_id("new-group").click()
    page.get_by_test_id("group-name").fill("金洲邻里互助队")
    page.locator("input[name=registration_no]").fill("NS-2026-017")
    page.get_by_test_id("group-member-input").fill("梁姨")  # her name stands for her id
    page.get_by_test_id("group-member-add").click()
    expect(page.get_by_test_id("group-member")).to_contain_text("梁姨 mv-res")
    booth1.shot("mv-05-group")
    page.get_by_test_id("save-group").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("金洲邻里互助队")
    booth1.wait_synced()
    groups = [g for g in server.records("community_group").values() if g["name"] == "金洲邻里互助队"]
    assert len(groups) == 1 and groups[0]["members"] == ["mv-res"], groups
    group_id = groups[0]["id"]

    advance(fed, round_id, "proposals")

    # -- a member of the group submits a proposal with budget lines, then edits it
    refreshed(resident, f"/rounds/{round_id}/proposals")
    page = resident.page
    page.get_by_test_id("new-proposal").click()
    page.get_by_test_id("proposal-title-input").fill("耆乐安居:卫生间扶手")
    # the published need (the resident's phone holds none of the staff's needs: the public page's)
    page.get_by_test_id("proposal-need").check()
    page.get_by_test_id("proposal-beneficiaries").fill("金洲社区独居老人")
    page.get_by_test_id("proposal-activities").fill("入户评估,安装扶手和防滑垫,回访。")
    lines = page.get_by_test_id("budget-line")
    lines.nth(0).get_by_test_id("line-item").fill("不锈钢扶手")
    lines.nth(0).get_by_test_id("line-qty").fill("20")
    lines.nth(0).get_by_test_id("line-unit").fill("150")
    page.get_by_test_id("add-line").click()
    lines.nth(1).get_by_test_id("line-item").fill("防滑垫")
    lines.nth(1).get_by_test_id("line-qty").fill("10")
    lines.nth(1).get_by_test_id("line-unit").fill("80.5")
    expect(page.get_by_test_id("form-total")).to_contain_text("¥3,805.00")
    page.get_by_test_id("indicator-name").fill("安装户数")
    page.get_by_test_id("indicator-target").fill("20")
    page.get_by_test_id("step-title").fill("完成安装")
    page.get_by_test_id("step-due").fill(day(60))
    page.get_by_test_id("save-proposal").click()  # an indicator without its unit is asked for
    expect(page.get_by_test_id("form-error")).to_contain_text("请填写每个指标的单位")
    page.get_by_test_id("indicator-unit").fill("户")
    resident.shot("mv-06-proposal-form")
    page.get_by_test_id("save-proposal").click()
    expect(page.get_by_test_id("proposal-detail")).to_be_visible()
    expect(page.get_by_test_id("proposal-total")).to_have_text("¥3,805.00")
    resident.wait_synced()
    proposals = {p["title"]: p for p in server.records("proposal").values() if p["round_id"] == round_id}
    first = proposals["耆乐安居:卫生间扶手"]
    assert first["budget_total_fen"] == 380_500 and first["need_ids"] == [need_id]
    assert [line["unit_cost_fen"] for line in first["budget_lines"]] == [15_000, 8_050]
    assert [(i["name"], i["target"], i["unit"]) for i in first["indicators"]] == [("安装户数", 20, "户")]
    page.get_by_test_id("edit-proposal").click()
    page.get_by_test_id("proposal-title-input").fill("耆乐安居:卫生间扶手与防滑")
    page.get_by_test_id("save-proposal").click()
    expect(page.get_by_test_id("proposal-title")).to_have_text("耆乐安居:卫生间扶手与防滑")
    resident.wait_synced()
    refreshed(resident, f"/proposals/{first['id']}")
    page.locator("[data-testid=proposal-versions] summary").click()
    expect(page.get_by_test_id("proposal-version")).to_have_count(2)
    resident.shot("mv-07-proposal")
    assert server.records("proposal")[first["id"]]["version"] == 2
    # two more proposals of the group (pushed as the resident)
    others = {}
    for title, amount in (("楼道照明", 500_000), ("长者饭堂送餐", 400_000)):
        others[title] = str(uuid.uuid4())
        applied(server, res_token, "proposal.submit", {
            "id": others[title], "round_id": round_id, "group_id": group_id, "title": title,
            "need_ids": [], "beneficiaries": "社区长者", "beneficiary_count": 30, "activities": "服务",
            "budget_lines": [{"item": title, "quantity": 1, "unit_cost_fen": amount}]})

    # -- review: a reviewer's scorecard on the phone; a group member refused as reviewer
    advance(fed, round_id, "review")
    refreshed(fed, f"/proposals/{first['id']}")
    page = fed.page
    page.get_by_test_id("assign-reviewer-input").fill("mv-res")
    page.get_by_test_id("assign-reviewer").click()
    expect(page.get_by_test_id("form-error")).to_contain_text("利益冲突")
    assert fed.pending() == 0  # refused on the phone, nothing queued
    page.get_by_test_id("assign-reviewer-input").fill("mv-staff2")
    page.get_by_test_id("assign-reviewer").click()
    fed.wait_synced()
    # and on the server too: a member of the group is refused with the reason
    refused = push_as(server, server.token("mv-dm", "district_manager", district=DISTRICT), "review.assign",
                      {"id": str(uuid.uuid4()), "proposal_id": others["楼道照明"], "reviewer": "mv-res"})
    assert refused["status"] == "rejected" and refused["code"] == "conflict_of_interest", refused
    dm_token = server.token("mv-dm", "district_manager", district=DISTRICT)
    for proposal_id in others.values():
        review = str(uuid.uuid4())
        applied(server, dm_token, "review.assign", {"id": review, "proposal_id": proposal_id, "reviewer": "mv-rev2"})
        applied(server, rev2_token, "review.submit", {
            "id": review, "scores": {c["key"]: 7 for c in rounds[0]["criteria"]}, "feasible": True,
            "reason": "可行"})
    refreshed(booth2, "/reviews")
    page = booth2.page
    page.get_by_test_id("review-card").click()
    expect(page.get_by_test_id("reviewed-proposal")).to_contain_text("不锈钢扶手")  # what is reviewed
    for criterion in rounds[0]["criteria"]:
        page.get_by_test_id(f"score-{criterion['key']}").fill("8")
    expect(page.get_by_test_id("weighted-score")).to_contain_text("80")
    page.get_by_test_id("feasible-yes").click()
    page.get_by_test_id("review-reason").fill("需求明确,预算合理,建议扶手单价按市场价核减。")
    page.get_by_test_id("review-price").fill("3500")
    booth2.shot("mv-08-scorecard")
    page.get_by_test_id("save-review").click()
    expect(page.get_by_test_id("review-card")).to_contain_text("已提交")
    booth2.wait_synced()

    # a reviewer with ties to a group steps aside on the phone
    declined = str(uuid.uuid4())
    applied(server, dm_token, "review.assign", {"id": declined, "proposal_id": others["楼道照明"], "reviewer": "mv-staff1"})
    refreshed(booth1, f"/reviews/{declined}")
    page = booth1.page
    page.get_by_test_id("declare-conflict-open").click()
    page.get_by_test_id("conflict-reason").fill("我的家人在申报组织做志愿者")
    booth1.shot("mv-08b-declare-conflict")
    page.get_by_test_id("declare-conflict").click()
    server.wait_for(lambda: server.records("review")[declined]["status"] == "declined_conflict", "the conflict declared",
                    page=page)

    refreshed(fed, f"/proposals/{first['id']}")
    page = fed.page
    page.get_by_test_id("conclude-yes").click()
    page.get_by_test_id("conclude-price").fill("3500")
    page.get_by_test_id("conclude-reason").fill("评审通过,核定金额 3500 元。")
    fed.shot("mv-09-conclude")
    page.get_by_test_id("conclude-save").click()
    expect(page.get_by_test_id("proposal-status")).to_have_attribute("data-status", "feasible")
    fed.wait_synced()
    for proposal_id, price in ((others["楼道照明"], 500_000), (others["长者饭堂送餐"], 400_000)):
        applied(server, dm_token, "proposal.conclude", {"id": proposal_id, "feasible": True,
                                                        "adjusted_price_fen": price, "reason": "可行"})
    # the vote runs from today: the dates move before the rules lock
    applied(server, dm_token, "round.update", {"id": round_id, "fields": {"phases": {
        "needs": {"starts": day(-12), "ends": day(-10)}, "proposals": {"starts": day(-9), "ends": day(-6)},
        "review": {"starts": day(-5), "ends": day(-1)}, "voting": {"starts": day(0), "ends": day(6)}}}})
    advance(fed, round_id, "voting")
    expect(fed.page.get_by_test_id("round-rules")).to_contain_text("锁定")

    # -- two booth phones, offline, and the same resident at both
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
    total = page.get_by_test_id("ballot-total")
    expect(total).to_have_attribute("data-over", "1")
    expect(total).to_contain_text("超出 ¥2,500.00")
    booth1.shot("mv-10-booth-over-budget")
    page.get_by_test_id("booth-cast").click()
    expect(page.get_by_test_id("form-error")).to_contain_text("超出预算")
    assert booth1.pending() == 0  # refused before queueing
    page.locator(f"[data-testid=ballot-choice][data-id='{others['楼道照明']}']").uncheck()
    expect(total).to_have_attribute("data-over", "0")
    page.get_by_test_id("booth-cast").click()
    expect(page.get_by_test_id("booth-last")).to_contain_text("第 1 张")
    # a second resident at the same booth
    page.get_by_test_id("voter-name").fill("李伯")
    page.get_by_test_id("voter-phone").fill("13700003333")
    page.locator(f"[data-testid=ballot-choice][data-id='{others['楼道照明']}']").check()
    page.get_by_test_id("booth-cast").click()
    expect(page.get_by_test_id("booth-last")).to_contain_text("第 2 张")
    # the same resident again on this phone: refused at once
    page.get_by_test_id("voter-name").fill(RESIDENT[0])
    page.get_by_test_id("voter-phone").fill(RESIDENT[1])
    page.locator(f"[data-testid=ballot-choice][data-id='{first['id']}']").check()
    page.get_by_test_id("booth-cast").click()
    expect(page.get_by_test_id("form-error")).to_contain_text("已在本机投过票")
    assert booth1.pending() == 2
    page.get_by_test_id("voter-name").fill("")
    page.get_by_test_id("voter-phone").fill("")
    page.locator(f"[data-testid=ballot-choice][data-id='{first['id']}']").uncheck()
    booth1.shot("mv-11-booth")
    fed.page.wait_for_timeout(1100)  # the second booth's clock reads later
    page = booth2.page
    page.get_by_test_id("booth-name").fill("金洲小学门口")
    page.get_by_test_id("booth-book").fill("B-007")
    page.get_by_test_id("booth-start").click()
    page.get_by_test_id("voter-name").fill(RESIDENT[0])
    page.get_by_test_id("voter-phone").fill(RESIDENT[1])
    page.locator(f"[data-testid=ballot-choice][data-id='{others['楼道照明']}']").check()
    page.get_by_test_id("booth-cast").click()
    expect(page.get_by_test_id("booth-last")).to_contain_text("第 1 张")
    page.reload()  # offline: the session and its queued ballot survive
    expect(page.get_by_test_id("booth-queued")).to_contain_text("1")
    # the later ballot reaches the server first; the earlier one then takes its place
    booth2.offline(False)
    booth2.wait_synced()
    booth1.offline(False)
    booth1.wait_synced()
    ballots = [b for b in server.records("ballot").values() if b["round_id"] == round_id]
    assert len(ballots) == 3, ballots
    hers = [b for b in ballots if b["booth"] in ("金洲广场", "金洲小学门口")
            and sum(1 for o in ballots if o["voter_key"] == b["voter_key"]) == 2]
    assert len(hers) == 2, ballots
    counted = next(b for b in hers if b["status"] == "counted")
    flagged = next(b for b in hers if b["status"] == "duplicate")
    assert counted["booth"] == "金洲广场" and flagged["booth"] == "金洲小学门口"
    assert flagged["duplicate_of"] == counted["id"]
    assert all(RESIDENT[1] not in str(b) and RESIDENT[0] not in str(b) for b in ballots)

    # -- the manager sees the flagged ballot beside the one that counts
    refreshed(fed, f"/rounds/{round_id}")
    page = fed.page
    expect(page.get_by_test_id("open-ballots")).to_contain_text("1 张待查看")
    page.get_by_test_id("open-ballots").click()
    item = page.get_by_test_id("flagged-ballot")
    expect(item).to_have_count(1)
    expect(item).to_have_attribute("data-id", flagged["id"])
    expect(item.locator(".side.kept")).to_contain_text("金洲广场")
    expect(item.locator(".side.lost")).to_contain_text("金洲小学门口")
    expect(page.get_by_test_id("flagged-count")).to_have_text("1")
    item.scroll_into_view_if_needed()
    fed.shot("mv-12-flagged")

    # -- a paper tally at a third booth, and the resident's own phone
    page = booth1.page
    booth1.go(f"/rounds/{round_id}/tally")
    page.get_by_test_id("tally-booth").fill("金洲市场")
    page.get_by_test_id("tally-ballots").fill("4")
    for field, n in zip(page.get_by_test_id("tally-votes").all(), (3, 1, 2), strict=True):
        field.fill(str(n))
    booth1.shot("mv-13-tally")
    page.get_by_test_id("tally-save").click()
    expect(page.get_by_test_id("form-saved")).to_be_visible()
    server.wait_for(lambda: any(x["round_id"] == round_id for x in server.records("paper_tally").values()),
                    "the paper tally", page=page)
    tallies = [x for x in server.records("paper_tally").values() if x["round_id"] == round_id]
    assert len(tallies) == 1 and tallies[0]["ballots"] == 4 and sum(tallies[0]["votes"].values()) == 6, tallies
    refreshed(resident, f"/rounds/{round_id}/vote")
    page = resident.page
    page.locator(f"[data-testid=ballot-choice][data-id='{first['id']}']").check()
    page.locator(f"[data-testid=ballot-choice][data-id='{others['长者饭堂送餐']}']").check()
    expect(page.get_by_test_id("ballot-total")).to_contain_text("还剩 ¥2,500.00")
    resident.shot("mv-14-own-vote")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_test_id("vote-cast").click()
    expect(page.get_by_test_id("my-ballot")).to_be_visible()
    resident.wait_synced()

    # -- results: published by the manager, within the budget
    refreshed(fed, f"/rounds/{round_id}/results")
    page = fed.page
    page.get_by_test_id("publish-results").click()
    expect(page.get_by_role("alertdialog")).to_contain_text("提前")
    page.get_by_test_id("publish-confirm").click()
    server.wait_for(lambda: server.records("round")[round_id]["phase"] == "results", "the results published",
                    page=page)
    refreshed(fed, f"/rounds/{round_id}/results")
    lines_shown = page.get_by_test_id("result-line")
    expect(lines_shown).to_have_count(3)
    results = [r for r in server.records("round_result").values() if r["round_id"] == round_id]
    assert sum(r["amount_fen"] for r in results if r["funded"]) <= 1_000_000
    assert sum(r["votes_paper"] for r in results) == 6
    funded = sum(1 for r in results if r["funded"])
    expect(page.locator("[data-testid=result-line][data-funded='1']")).to_have_count(funded)
    expect(page.get_by_test_id("results-budget")).to_contain_text(re.compile(r"预算 ¥10,000\.00"))
    fed.shot("mv-15-results")
    # each funded proposal leads its fund's manager to signing its grant (the projects area)
    expect(page.get_by_test_id("result-sign-grant")).to_have_count(funded)
    page.get_by_test_id("result-sign-grant").first.click()
    expect(page).to_have_url(re.compile(r"#/projects/from-proposal/"))
    fed.go("/rounds")
    # the browser tests share a server: other tests' rounds may be listed too
    expect(page.locator(f"[data-testid=round-card][data-id='{round_id}']")).to_contain_text("结果")
    fed.shot("mv-16-rounds")
    # the same in English
    page.locator("button.lang").click()
    fed.go(f"/rounds/{round_id}/results")
    expect(page.get_by_role("heading", level=1)).to_have_text("Results")
    fed.shot("mv-17-results-en")
    fed.go(f"/rounds/{round_id}/ballots")
    expect(page.get_by_test_id("flagged-ballot")).to_contain_text("Not counted")
    fed.shot("mv-18-flagged-en")
    page.locator("button.lang").click()


def advance(phone: Phone, round_id: str, to: str) -> None:
    """The manager moves the round on to ``to`` from its page (with the confirmation)."""
    refreshed(phone, f"/rounds/{round_id}")
    page = phone.page
    page.get_by_test_id("advance-phase").click()
    page.get_by_test_id("advance-confirm").click()
    expect(page.get_by_test_id("round-phase")).to_have_attribute("data-phase", to)
    phone.wait_synced()
