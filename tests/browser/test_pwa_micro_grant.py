"""A micro-venture's grant signed on a phone (pwa/src/areas/projects/from-proposal.jsx,
docs/pwa.md "Service projects").

A round of a station's fund is taken through a need, a group's proposal (two timeline items),
review and voting to its published results, on the server as the people who do each step;
the district's manager then finds the funded proposal under "待签资助协议" on the projects
list, is refused on the phone an amount above the award (nothing queued), signs the grant at
the awarded amount with an advance and a tranche paid after one timeline item, and the
micro-venture project shows at once with its two milestones; the server has the project,
its milestones and the tranche tied to the right milestone. Screenshots at 360x740; axe on
the form.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from playwright.sync_api import expect

from server.domain.service_projects import milestone_id
from tests.browser.conftest import Phone, Server
from tests.helpers import mutation
from tests.serverproc import ROOT

STATION = "MGR-001"
DISTRICT = "番禺区"
TITLE = "楼道扶手行动"
SHANGHAI = dt.timezone(dt.timedelta(hours=8))
AXE = ROOT / "pwa" / "node_modules" / "axe-core" / "axe.min.js"


def push_as(server: Server, token: str, name: str, args: dict[str, Any]) -> None:
    """One mutation pushed with ``token`` (the person who does that step of the round)."""
    body = {"protocol": 1, "client_id": str(uuid.uuid4()), "mutations": [mutation(1, name, args)]}
    answer = server.http.post("/api/v1/sync/push", json=body, headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.text
    result = answer.json()["results"][0]
    assert result["status"] == "applied", (name, result)


def serious_axe_violations(page: Any) -> list[str]:
    """axe-core's serious and critical violations on the page (as the accessibility run)."""
    page.evaluate(AXE.read_text(encoding="utf-8"))
    found: list[str] = page.evaluate("""async () => (await axe.run(document, {resultTypes: ['violations']}))
        .violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
        .map(v => `${v.id}: ${v.help} (${v.nodes.map(n => n.target.join(' ')).join(', ')})`)""")
    return found


def _day(offset: int) -> str:
    return (dt.datetime.now(SHANGHAI).date() + dt.timedelta(days=offset)).isoformat()


def funded_proposal(server: Server) -> tuple[str, str]:
    """The round and its proposal funded at 3,000 yuan (tests/test_service_projects.py's
    funded_proposal, through the sync API as each person)."""
    server.station(STATION, DISTRICT)
    fund_id = str(uuid.uuid4())
    server.push("fund.create", {"id": fund_id, "name": f"{STATION} 社区基金", "district": DISTRICT,
                                "station": STATION, "purpose": "社区微创投"})
    server.push("fund.seed", {"id": str(uuid.uuid4()), "fund_id": fund_id, "amount_fen": 1_000_000})
    dm = server.token("mg-dm", "district_manager", district=DISTRICT)
    staff = server.token("mg-staff", "staff", station=STATION)
    member = server.token("mg-li", "volunteer", station=STATION)
    reviewer = server.token("mg-zhao", "volunteer", station=STATION)
    resident = server.token("mg-chen", "volunteer", station=STATION)
    round_id, group_id, need_id, proposal_id, review = (str(uuid.uuid4()) for _ in range(5))
    push_as(server, dm, "round.create", {
        "id": round_id, "fund_id": fund_id, "station": STATION, "title": "2026 年番禺微创投",
        "year": 2026, "budget_fen": 500_000, "min_project_fen": 10_000, "max_project_fen": 400_000,
        "phases": {"needs": {"starts": _day(-30), "ends": _day(-1)},
                   "proposals": {"starts": _day(0), "ends": _day(10)},
                   "review": {"starts": _day(11), "ends": _day(20)},
                   "voting": {"starts": _day(21), "ends": _day(30)}}})
    push_as(server, staff, "need.submit", {"id": need_id, "round_id": round_id, "category": "elderly",
                                           "community": "市桥社区", "description": "老楼楼道没有扶手"})
    push_as(server, staff, "group.register", {"id": group_id, "name": "市桥邻里互助会", "station": STATION,
                                              "members": ["mg-li"]})
    push_as(server, dm, "round.advance", {"id": round_id, "to": "proposals"})
    push_as(server, member, "proposal.submit", {
        "id": proposal_id, "round_id": round_id, "group_id": group_id, "title": TITLE,
        "need_ids": [need_id], "beneficiaries": "独居长者", "beneficiary_count": 20,
        "activities": "采购并安装楼道扶手",
        "budget_lines": [{"item": "扶手", "quantity": 30, "unit_cost_fen": 10_000}],
        "indicators": [{"key": "floors", "name": "安装楼层", "unit": "层", "target": 12}],
        "team": "志愿者", "timeline": [{"key": "buy", "title": "采购扶手", "due": _day(40)},
                                     {"key": "fit", "title": "上门安装", "due": _day(60)}]})
    push_as(server, dm, "round.advance", {"id": round_id, "to": "review"})
    push_as(server, dm, "review.assign", {"id": review, "proposal_id": proposal_id, "reviewer": "mg-zhao"})
    push_as(server, reviewer, "review.submit", {
        "id": review, "scores": {"need_fit": 8, "feasibility": 7, "budget": 6, "capacity": 9,
                                 "sustainability": 5},
        "feasible": True, "reason": "可行", "adjusted_price_fen": 300_000})
    push_as(server, dm, "proposal.conclude", {"id": proposal_id, "feasible": True, "reason": "可行",
                                              "adjusted_price_fen": 300_000})
    push_as(server, dm, "round.update", {"id": round_id, "fields": {"phases": {
        "needs": {"starts": _day(-40), "ends": _day(-31)},
        "proposals": {"starts": _day(-30), "ends": _day(-21)},
        "review": {"starts": _day(-20), "ends": _day(-11)},
        "voting": {"starts": _day(-1), "ends": _day(10)}}}})
    push_as(server, dm, "round.advance", {"id": round_id, "to": "voting"})
    push_as(server, resident, "ballot.cast", {"id": str(uuid.uuid4()), "round_id": round_id,
                                              "proposal_ids": [proposal_id]})
    push_as(server, dm, "round.publish_results", {"round_id": round_id, "early": True})
    assert server.records("round_result")[proposal_id]["funded"]
    return round_id, proposal_id


def test_a_district_manager_signs_a_funded_proposals_grant(browser: Any, server: Server) -> None:
    round_id, proposal_id = funded_proposal(server)
    # bypass_csp: axe-core is injected into the page
    phone = Phone(browser, server, "mg-dm", bypass_csp=True)
    try:
        phone.enrol(server.token("mg-dm", "district_manager", district=DISTRICT))
        signs(phone, server, round_id, proposal_id)
    except Exception:
        print("--- console ---\n" + "\n".join(phone.messages[-40:]))
        raise
    finally:
        phone.close()


def signs(phone: Phone, server: Server, round_id: str, proposal_id: str) -> None:
    page = phone.page
    # 1. The funded proposal waits on the projects list.
    phone.go("/projects")
    card = page.get_by_test_id("grant-to-sign")
    expect(card).to_have_count(1)
    expect(card).to_contain_text(TITLE)
    expect(card).to_contain_text("3,000.00")
    phone.shot("mg-01-list")
    card.click()
    page.wait_for_url(f"**/#/projects/from-proposal/{proposal_id}")
    form = page.get_by_test_id("proposal-grant")
    expect(page.get_by_test_id("proposal-title")).to_have_text(TITLE)
    expect(page.get_by_test_id("proposal-head")).to_contain_text("市桥邻里互助会")
    expect(page.get_by_test_id("awarded")).to_contain_text("¥3,000.00")
    amount = form.locator("input[name=amount]")
    expect(amount).to_have_value("3000")

    # 2. Above the award: said at once, and refused on the phone with its reason.
    amount.fill("3500")
    expect(page.get_by_test_id("amount-over")).to_contain_text("3,000.00")
    page.get_by_test_id("save-grant").click()
    expect(page.get_by_test_id("field-error-amount_fen")).to_contain_text("不能超过评选结果")
    assert phone.pending() == 0
    page.get_by_test_id("proposal-head").scroll_into_view_if_needed()
    phone.shot("mg-02-above-award")

    # 3. The awarded amount, an advance and a tranche after the fitting.
    amount.fill("3000")
    expect(page.get_by_test_id("amount-over")).to_have_count(0)
    form.locator("select[name=category]").select_option("elderly")
    form.locator("input[name=tr-amount-0]").fill("900")
    page.get_by_test_id("add-tranche").click()
    form.locator("input[name=tr-amount-1]").fill("2100")
    form.locator("select[name=tr-key-1]").select_option("fit")
    expect(page.get_by_test_id("tranche-sum")).to_have_text("¥3,000.00 / ¥3,000.00")
    page.get_by_test_id("tranche-sum").evaluate("e => e.scrollIntoView({block: 'center'})")
    phone.shot("mg-03-form")
    violations = serious_axe_violations(page)
    assert not violations, violations
    page.get_by_test_id("save-grant").click()

    # 4. The project shows at once (the overlay), with the proposal's timeline as milestones.
    expect(page.get_by_test_id("project-name")).to_have_text(TITLE)
    expect(page.get_by_test_id("form-saved")).to_contain_text("已签订资助协议")
    project_id = page.get_by_test_id("project-detail").get_attribute("data-id")
    assert project_id
    expect(page.get_by_test_id("milestone")).to_have_count(2)
    expect(page.get_by_test_id("milestones")).to_contain_text("采购扶手")
    expect(page.get_by_test_id("milestones")).to_contain_text("上门安装")
    expect(page.get_by_test_id("tranche")).to_have_count(2)
    phone.wait_synced()
    phone.shot("mg-04-project")

    # 5. The server made the same project, milestones and tranches.
    project = server.records("service_project")[project_id]
    assert (project["kind"], project["round_id"], project["proposal_id"], project["category"]) == (
        "micro_venture", round_id, proposal_id, "elderly")
    milestones = sorted((m for m in server.records("milestone").values() if m["project_id"] == project_id),
                        key=lambda m: m["position"])
    assert [(m["title"], m["weight"]) for m in milestones] == [("采购扶手", 50), ("上门安装", 50)]
    grant = next(g for g in server.records("grant").values() if g["project_id"] == project_id)
    assert grant["amount_fen"] == 300_000
    tranches = {t["amount_fen"]: t for t in server.records("grant_tranche").values()
                if t["project_id"] == project_id}
    assert tranches[90_000]["milestone_id"] is None
    assert tranches[210_000]["milestone_id"] == milestone_id(project_id, "fit")
    page.reload()
    expect(page.get_by_test_id("milestone")).to_have_count(2)

    # 6. Signed: no longer waiting on the list; its route now leads to the project.
    phone.go("/projects")
    expect(page.locator(f'[data-testid=project-card][data-id="{project_id}"]')).to_be_visible()
    expect(page.get_by_test_id("grants-to-sign")).to_have_count(0)
    phone.go(f"/projects/from-proposal/{proposal_id}")
    expect(page.get_by_test_id("proposal-has-project")).to_be_visible()
