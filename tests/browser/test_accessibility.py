"""Accessibility: axe-core (the npm package, ``pwa/node_modules/axe-core``) over every screen
of the app, for each role that can open it, and over every public page, on a 360x740 phone.
Any serious or critical violation fails the test, listed readably (rule, impact, the
elements and axe's summary of what to fix).

axe is injected by evaluating the file's text in the page, so a strict Content-Security-
Policy (``script-src 'self'``) on the pages does not stop it (evaluate runs through the
DevTools protocol, not a script element), and the contexts bypass CSP besides.

The app's screens are listed in ``SCREENS`` with the role each needs (the router's
``minRole``); ``test_every_route_of_the_router_is_checked`` keeps the list complete: a
route added to an area's ``index.js`` without a screen here fails it.

One server, one browser, each role's phone enrolled once; the whole runs in well under a
minute.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.browser.conftest import PHONE, Phone, Server
from tests.browser.conftest import SHOTS as SHOT_DIR
from tests.browser.steps import open_campaign, record_money, seed_volunteer, set_pin, upload_photo
from tests.helpers import hlc, mutation

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "pwa" / "node_modules" / "axe-core" / "axe.min.js"
AREAS = ROOT / "pwa" / "src" / "areas"
APP = ROOT / "pwa" / "src" / "app.jsx"
STATION = "AX-001"
FAILING = ("serious", "critical")
# axe rates these moderate; on the public pages they fail too (one main landmark, nothing
# outside a landmark, a level-one heading).
PUBLIC_RULES = ("region", "landmark-one-main", "page-has-heading-one")
RANK = {"volunteer": 0, "staff": 1, "manager": 2, "admin": 4}

# Every route of the app's router (pwa/src/areas/*/index.js and app.jsx) as a path to open,
# with the least role that may open it ({...} is filled from the seeded records).
SCREENS: list[tuple[str, str]] = [
    ("/events", "volunteer"),
    ("/events/{event}", "volunteer"),
    ("/events/new", "staff"),
    ("/events/{event}/edit", "staff"),
    ("/hours", "volunteer"),
    ("/timebank", "volunteer"),
    ("/hours/staff", "staff"),
    ("/hours/review", "staff"),
    ("/me", "volunteer"),
    ("/me/pin", "volunteer"),
    ("/inbox", "volunteer"),
    ("/inbox/prefs", "manager"),
    ("/donations", "staff"),
    ("/donations/new/money", "staff"),
    ("/donations/new/goods", "staff"),
    ("/donations/d/{donation}", "staff"),
    ("/receipts/{receipt}", "staff"),
    ("/funds", "manager"),
    ("/corrections/{correction}", "manager"),
    ("/review", "manager"),
    ("/review/{conflict}", "manager"),
    ("/admin", "staff"),
    ("/admin/people", "staff"),
    ("/admin/people/{person}", "staff"),
    ("/admin/timebank", "staff"),
    ("/admin/places", "manager"),
    ("/admin/funds", "manager"),
    ("/admin/campaigns", "admin"),  # district managers and up
    ("/admin/exports", "manager"),
    ("/admin/disclosure", "manager"),
    ("/admin/disclosure/fund/{fund}/1", "manager"),
    ("/admin/devices", "manager"),
    ("/admin/audit", "admin"),
    ("/admin/online", "admin"),  # district managers and up: the admin stands for them
    ("/admin/erasure", "admin"),  # district managers and up: the admin stands for them
    ("/dashboard", "manager"),
    ("/dashboard/rows", "manager"),
    ("/rounds", "volunteer"),
    ("/rounds/new", "admin"),  # the fund's district managers and up
    ("/rounds/{round}", "volunteer"),
    ("/rounds/{round}/edit", "admin"),
    ("/rounds/{round}/needs", "volunteer"),
    ("/rounds/{round}/needs/new", "volunteer"),
    ("/rounds/{round}/proposals", "volunteer"),
    ("/rounds/{round}/proposals/new", "volunteer"),
    ("/rounds/{round}/booth", "staff"),
    ("/rounds/{round}/vote", "volunteer"),
    ("/rounds/{round}/ballots", "manager"),
    ("/rounds/{round}/tally", "staff"),
    ("/rounds/{round}/results", "volunteer"),
    ("/proposals/{proposal}", "volunteer"),
    ("/proposals/{proposal}/edit", "volunteer"),
    ("/groups", "volunteer"),
    ("/groups/new", "staff"),
    ("/groups/{group}", "volunteer"),
    ("/reviews", "volunteer"),
    ("/reviews/{review}", "volunteer"),
    ("/projects", "staff"),
    ("/projects/new", "staff"),
    ("/projects/{service_project}", "staff"),
    ("/projects/{service_project}/report", "staff"),
    ("/projects/{service_project}/feedback", "staff"),
    ("/projects/{service_project}/visit", "staff"),
    ("/projects/{service_project}/indicator", "staff"),
    ("/projects/{service_project}/milestones", "staff"),
    ("/projects/{service_project}/tranche/{tranche}", "staff"),
    ("/projects/{service_project}/grant", "manager"),
    ("/projects/{service_project}/evaluate", "manager"),
    ("/proposals/{proposal}/grant", "manager"),  # a funded proposal's grant (the projects area)
]
SHOTS = {("volunteer", "/timebank"): "a11y-timebank-volunteer",
         ("staff", "/donations"): "a11y-donations-staff",
         ("manager", "/donations/d/{donation}"): "a11y-donation-voided-manager",
         ("manager", "/events/{event}"): "a11y-event-conflict-manager",
         ("manager", "/admin/devices"): "a11y-devices-manager",
         ("admin", "/admin/campaigns"): "a11y-campaigns-admin",
         ("volunteer", "/rounds/{round}"): "a11y-round-volunteer",
         ("volunteer", "/proposals/{proposal}"): "a11y-proposal-member",
         ("staff", "/reviews/{review}"): "a11y-scorecard-staff"}
# Screens with no route of their own, opened by the app itself: enrolment and sign-up
# (open routes), the PIN set-up and the lock screen; checked in the test below.
OPEN_SCREENS = ["/enrol", "/signup"]


def axe_violations(page: Page, also: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page as it is now, and those of
    the rules ``also`` whatever their impact."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE.read_text(encoding="utf-8"))
    found: list[dict[str, Any]] = page.evaluate(
        """async () => {
            const result = await axe.run(document, {resultTypes: ['violations']});
            return result.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map(n => ({target: n.target.join(' '), summary: n.failureSummary,
                                          html: n.html.slice(0, 160)}))}));
        }"""
    )
    return [v for v in found if v["impact"] in FAILING or v["id"] in also]


def readable(where: str, violations: list[dict[str, Any]]) -> str:
    lines = [f"{where}:"]
    for v in violations:
        lines.append(f"  [{v['impact']}] {v['id']}: {v['help']}")
        for node in v["nodes"][:6]:
            summary = " ".join(node["summary"].split())[:300]
            lines.append(f"      {node['target']}  {node['html']}\n        -> {summary}")
        if len(v["nodes"]) > 6:
            lines.append(f"      ... and {len(v['nodes']) - 6} more")
    return "\n".join(lines)


class Audit:
    """Collects each page's violations so one run reports all of them at once."""

    def __init__(self) -> None:
        self.failures: list[str] = []
        self.checked: list[str] = []

    def check(self, page: Page, where: str, also: tuple[str, ...] = ()) -> None:
        page.wait_for_load_state("domcontentloaded")
        violations = axe_violations(page, also)
        self.checked.append(where)
        if violations:
            self.failures.append(readable(where, violations))

    def verdict(self) -> None:
        assert not self.failures, (
            f"{len(self.failures)} of {len(self.checked)} screens have serious or critical "
            "accessibility violations:\n\n" + "\n\n".join(self.failures))


def push_as(server: Server, token: str, name: str, args: dict[str, Any],
            stamp: str | None = None) -> dict[str, Any]:
    """One mutation with ``token`` (the admin's server.push cannot do what needs a second
    person: a correction's or a disbursement's approval)."""
    body = {"protocol": 1, "client_id": str(uuid.uuid4()),
            "mutations": [mutation(1, name, args, stamp=stamp)]}
    answer = server.http.post("/api/v1/sync/push", json=body,
                              headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()["results"][0]
    assert result["status"] in ("applied", "flagged"), (name, result)
    return result


def phone_for(browser: Any, server: Server, name: str, made: list[Phone]) -> Phone:
    """A phone whose context bypasses any Content-Security-Policy (for axe's injection)."""
    phone = Phone(browser, server, name, bypass_csp=True)
    made.append(phone)
    return phone


def test_every_route_of_the_router_is_checked() -> None:
    """Each route pattern of the router matches some path this module opens."""
    sources = [APP.read_text(encoding="utf-8")] + [
        p.read_text(encoding="utf-8") for p in sorted(AREAS.glob("*/index.js"))]
    patterns = [m.group(1) for text in sources
                for m in re.finditer(r"pattern:\s*/(\^.*?\$)/", text)]
    assert len(patterns) > 20, patterns
    paths = [path.format(event="e1", donation="d1", receipt="r1", correction="c1",
                         conflict="k1", person="p1", fund="f1", round="r1",
                         proposal="q1", group="g1", review="v1",
                         service_project="s1", tranche="t1") for path, _ in SCREENS] + OPEN_SCREENS
    unchecked = [p for p in patterns if not any(re.fullmatch(p, path) for path in paths)]
    assert not unchecked, f"routes with no screen in SCREENS: {unchecked}"


def seed(server: Server) -> dict[str, str]:
    """A station with an event, a volunteer, a fund whose project spent more than was
    directed to it, a voided gift (a correction) and a conflict to review."""
    ids = {"person": "vol-ax"}
    activity = seed_volunteer(server, STATION, "vol-ax", "安志愿")
    ids["event"] = server.event(STATION, "无障碍义卖日", date="2026-12-05", contact_phone="13900000000")
    manager = server.token("mgr-ax", "manager", station=STATION)
    staff = server.token("staff-ax", "staff", station=STATION)
    district = server.token("dm-ax", "district_manager", district="天河区")
    # Three approved hours: the volunteer's Time Bank has a ledger line ("+3").
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    hours = str(uuid.uuid4())
    push_as(server, staff, "hours.manual", {
        "id": hours, "activity_id": activity, "volunteer_id": "vol-ax",
        "check_in_at": (now - dt.timedelta(hours=4)).isoformat().replace("+00:00", "Z"),
        "check_out_at": (now - dt.timedelta(hours=1)).isoformat().replace("+00:00", "Z")})
    push_as(server, manager, "hours.approve", {"id": hours})
    fund, project = str(uuid.uuid4()), str(uuid.uuid4())
    ids["fund"] = fund
    server.push("fund.create", {"id": fund, "name": "安和社区基金", "district": "天河区",
                                "station": STATION, "purpose": "社区帮扶与适老化改造"})
    server.push("project.create", {"id": project, "fund_id": fund, "name": "耆乐安居"})
    ids["campaign"] = open_campaign(server, STATION, [fund], target_fen=5_000_000)
    push_as(server, district, "fund.seed", {"id": str(uuid.uuid4()), "fund_id": fund,
                                            "amount_fen": 1_000_000, "note": "种子资金"})
    donor = {"name": "王五", "phone": "13800138000", "wants_receipt": False}
    gift = str(uuid.uuid4())
    for donation, amount, where in ((gift, 5_000, {"fund_id": fund, "direction": "fund"}),
                                    (str(uuid.uuid4()), 20_000,
                                     {"project_id": project, "direction": "project"})):
        push_as(server, staff, "donation.record", {
            "id": donation, "station": STATION, "kind": "money", "amount_fen": amount,
            "method": "cash", "donor": donor, "event_id": ids["event"], **where})
    ids["donation"] = gift
    ids["correction"] = str(uuid.uuid4())
    push_as(server, staff, "donation.correct", {
        "id": ids["correction"], "donation_id": gift, "action": "void", "category": "duplicate",
        "reason": "重复录入:同一笔现金在两台手机上各记了一次,作废后一笔"})
    disbursement = str(uuid.uuid4())
    push_as(server, manager, "disbursement.request", {
        "id": disbursement, "fund_id": fund, "project_id": project, "amount_fen": 800_000,
        "payee": "耆乐安居服务队", "purpose": "上门适老化改造",
        "attachments": [upload_photo(server, manager)]})  # above the invoice line: paid with its invoice
    push_as(server, district, "disbursement.decide", {"id": disbursement, "decision": "approve"})
    server.push("disbursement.pay", {"id": disbursement, "reference": "工行转账 0042"})
    # A brand service project with its milestones, an indicator, feedback and an evaluation
    # (its public page: docs/projects.md).
    ids["service_project"] = str(uuid.uuid4())
    first = str(uuid.uuid4())
    push_as(server, staff, "service_project.create", {
        "id": ids["service_project"], "fund_id": fund, "station": STATION, "category": "elderly",
        "name": "耆乐安居·安和", "summary": "为独居老人加装扶手和烟感报警器",
        "indicators": [{"key": "homes", "name": "完成改造的家庭", "unit": "户", "target": 20},
                       {"key": "satisfaction", "name": "满意度", "unit": "%", "target": 90}],
        "milestones": [{"id": first, "title": "入户评估", "weight": 40},
                       {"id": str(uuid.uuid4()), "title": "安装与回访", "weight": 60}]})
    push_as(server, staff, "progress.report", {"id": str(uuid.uuid4()),
                                               "project_id": ids["service_project"],
                                               "milestone_id": first, "progress": 100})
    push_as(server, staff, "indicator.record", {"id": str(uuid.uuid4()),
                                                "project_id": ids["service_project"],
                                                "indicator_key": "homes", "period": "2026-Q4",
                                                "value": 8})
    push_as(server, staff, "feedback.record", {"id": str(uuid.uuid4()),
                                               "project_id": ids["service_project"], "score": 5})
    push_as(server, district, "evaluation.submit", {
        "project_id": ids["service_project"], "conclusion": "按计划推进",
        "public_summary": "8 户老人家中完成改造,满意度高。",
        "scores": {"needs": 90, "performance": 80, "feedback": 95, "supervision": 85}})
    # ... with a grant and its planned tranche and a visit with a follow-up (the phone's
    # project screens, pwa/src/areas/projects).
    ids["tranche"] = str(uuid.uuid4())
    push_as(server, district, "grant.create", {
        "id": str(uuid.uuid4()), "project_id": ids["service_project"], "amount_fen": 100_000,
        "signed_at": "2026-11-01", "tranches": [{"id": ids["tranche"], "amount_fen": 100_000}]})
    push_as(server, staff, "visit.record", {
        "id": str(uuid.uuid4()), "project_id": ids["service_project"], "visited_on": "2026-11-20",
        "rating": "good", "findings": "台账齐全", "follow_up": "补照片", "follow_up_due": "2026-12-05"})
    # An edit of the event's date made from an older version than the stored one (as an
    # offline phone's): the manager gets a conflict to review.
    push_as(server, staff, "event.update", {"id": ids["event"], "fields": {"date": "2026-12-06"}})
    push_as(server, manager, "event.update", {
        "id": ids["event"], "fields": {"date": "2026-12-07"},
        "base": {"date": "0000000000001:0000:offline"}}, stamp=hlc(offset_ms=1000))
    conflicts = server.records("conflict")
    assert conflicts, "the two edits made no conflict"
    ids["conflict"] = next(iter(conflicts))
    ids.update(seed_round(server, fund, district, staff))
    return ids


def seed_round(server: Server, fund: str, federation: str, staff: str) -> dict[str, str]:
    """A micro-venture round of the fund in review: a group with the volunteer in it, her
    proposal with budget lines, a review assigned to the station's staff member."""
    today = dt.date.today()

    def day(n: int) -> str:
        return (today + dt.timedelta(days=n)).isoformat()

    ids = {"round": str(uuid.uuid4()), "group": str(uuid.uuid4()), "proposal": str(uuid.uuid4()),
           "review": str(uuid.uuid4())}
    push_as(server, federation, "round.create", {
        "id": ids["round"], "fund_id": fund, "station": STATION, "title": "安和社区公益微创投", "year": today.year,
        "budget_fen": 5_000_000, "min_project_fen": 100_000, "max_project_fen": 2_000_000, "phases": {
            "needs": {"starts": day(-3), "ends": day(-1)}, "proposals": {"starts": day(0), "ends": day(7)},
            "review": {"starts": day(8), "ends": day(14)}, "voting": {"starts": day(15), "ends": day(21)}}})
    push_as(server, federation, "round.advance", {"id": ids["round"], "to": "proposals"})
    volunteer = server.token("vol-ax", "volunteer", station=STATION)  # a person with a membership
    push_as(server, staff, "group.register", {"id": ids["group"], "name": "安和邻里互助队", "station": STATION,
                                              "members": ["vol-ax"]})
    push_as(server, volunteer, "proposal.submit", {
        "id": ids["proposal"], "round_id": ids["round"], "group_id": ids["group"], "title": "长者居家安全改造",
        "need_ids": [], "beneficiaries": "独居长者", "beneficiary_count": 20, "activities": "入户评估与安装扶手",
        "budget_lines": [{"item": "扶手", "quantity": 20, "unit_cost_fen": 15_000},
                         {"item": "防滑垫", "quantity": 20, "unit_cost_fen": 8_000}]})
    push_as(server, federation, "round.advance", {"id": ids["round"], "to": "review"})
    push_as(server, federation, "review.assign", {"id": ids["review"], "proposal_id": ids["proposal"],
                                                  "reviewer": "staff-ax"})
    return ids


def open_screen(phone: Phone, path: str) -> None:
    """Go to an app screen and wait until it shows (its heading, which every screen has;
    a screen without one is reported by ``one_heading`` rather than waited for long)."""
    phone.go(path)
    page = phone.page
    page.wait_for_function("path => location.hash === '#' + path && !!document.querySelector('main')",
                           arg=path)
    with contextlib.suppress(PlaywrightTimeout):
        page.wait_for_selector("main h1", timeout=2000)
    page.wait_for_timeout(150)  # the screen's records come from IndexedDB


def one_heading(page: Page, where: str, audit: Audit) -> None:
    """Exactly one level-one heading on a screen (axe rates its absence only moderate)."""
    count = page.locator("h1").count()
    if count != 1:
        audit.failures.append(f"{where}: {count} level-one headings, not 1")


def public_page_checks(page: Page, where: str, audit: Audit) -> None:
    """What Lighthouse asks of a public page besides axe: a description for search
    results, and targets a thumb can hit (48x48 px)."""
    description = page.locator('meta[name="description"]')
    if description.count() != 1 or not (description.get_attribute("content") or "").strip():
        audit.failures.append(f"{where}: no meta description")
    small = page.evaluate("""() => [...document.querySelectorAll('a, button, input, select')]
        .map(e => [e.outerHTML.slice(0, 80), e.getBoundingClientRect()])
        .filter(([, r]) => r.width > 0 && (r.width < 48 || r.height < 48))
        .map(([html, r]) => `${html} (${Math.round(r.width)}x${Math.round(r.height)})`)""")
    if small:
        audit.failures.append(f"{where}: targets smaller than 48x48 px:\n  " + "\n  ".join(small))


def fund_page_on_a_phone(page: Page, audit: Audit) -> None:
    """At 360 px the correction's reason category reads as a line of text (it was squeezed to one
    character per line) and every figure of the by-project table is in view, the
    project's own money and the fund's share among them."""
    note = page.get_by_role("cell", name=re.compile("重复录入")).bounding_box()
    if note is None or note["width"] < 200:
        audit.failures.append(f"fund page at 360 px: the correction note is {note} wide")
    for figure in ("200.00", "8,000.00", "7,800.00"):
        cell = page.get_by_role("region", name=re.compile("by project")).get_by_role(
            "cell", name=figure, exact=True).first.bounding_box()
        if cell is None or cell["x"] < 0 or cell["x"] + cell["width"] > PHONE["width"]:
            audit.failures.append(f"fund page at 360 px: by project, {figure} is not in view ({cell})")
    expect(page.get_by_role("columnheader", name=re.compile("fund's share"))).to_have_count(1)


@pytest.mark.slow  # every screen for four roles, then the public pages: about a minute
def test_every_screen_and_public_page_has_no_serious_violations(browser: Any, server: Server) -> None:
    ids = seed(server)
    audit = Audit()
    made: list[Phone] = []
    try:
        # The app's screens, for each role that may open them.
        for role, user in (("volunteer", "vol-ax"), ("staff", "staff-ax"), ("manager", "mgr-ax"),
                           ("admin", "admin-ax")):
            phone = phone_for(browser, server, role, made)
            phone.enrol(server.token(user, role, station=None if role == "admin" else STATION))
            if role == "staff":
                number, code = record_money(phone, ids["event"], "88")
                ids["receipt"], ids["code"] = number, code
                phone.wait_synced()
            for template, least in SCREENS:
                if RANK[role] < RANK[least]:
                    continue
                path = template.format(**ids)
                open_screen(phone, path)
                where = f"app {path} as {role}"
                audit.check(phone.page, where)
                one_heading(phone.page, where, audit)
                if (role, template) in SHOTS:
                    phone.shot(SHOTS[role, template])
            if role == "admin":
                # The PIN set-up, then the lock screen a new start of the app shows.
                phone.go("/me/pin")
                set_pin(phone)
                phone.page.reload()
                expect(phone.page.get_by_test_id("lock-screen")).to_be_visible()
                audit.check(phone.page, "app lock screen")
                one_heading(phone.page, "app lock screen", audit)

        # A visitor: enrolment and sign-up, then the public pages.
        visitor = phone_for(browser, server, "visitor", made)
        page = visitor.page
        SHOT_DIR.mkdir(parents=True, exist_ok=True)
        for path in OPEN_SCREENS:
            page.goto(f"/#{path}")
            page.wait_for_selector("main h1")
            audit.check(page, f"app {path} (not enrolled)")
            one_heading(page, f"app {path}", audit)
        public = {
            "event live totals": f"/public/events/{ids['event']}",
            "funds": "/public/funds",
            "fund disclosure": f"/public/funds/{ids['fund']}",
            "campaign": f"/public/campaigns/{ids['campaign']}",
            "service project": f"/public/projects/{ids['service_project']}",
            "receipt found": f"/public/receipts/{ids['receipt']}?code={ids['code']}",
            "receipt not found": f"/public/receipts/{ids['receipt']}?code=WRONG",
            "error page": "/public/funds/no-such-fund",
        }
        for name, url in public.items():
            page.goto(url, wait_until="domcontentloaded")
            audit.check(page, f"public {name} {url}", also=PUBLIC_RULES)
            public_page_checks(page, f"public {name}", audit)
            page.screenshot(path=str(SHOT_DIR / f"a11y-public-{name.replace(' ', '-')}.png"),
                            full_page=True)
        page.goto(public["fund disclosure"], wait_until="domcontentloaded")
        fund_page_on_a_phone(page, audit)
        page.set_viewport_size({"width": 1280, "height": 800})
        page.screenshot(path=str(SHOT_DIR / "a11y-public-fund-disclosure-1280.png"), full_page=True)
        page.set_viewport_size(PHONE)
        expect(page.locator("main")).to_have_count(1)
    finally:
        for phone in made:
            phone.close()
    audit.verdict()
