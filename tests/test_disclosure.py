"""The disclosure calendar (issue 16, docs/disclosure.md): due dates by the Charity Law's
rule, a reminder before the due date sent once, a period frozen with the ledger's chain
head at its last entry (later gifts change nothing), late and overdue marks on the public
pages, the PDF, and who may publish. SQLite and PostgreSQL (the ``api`` fixture)."""

from __future__ import annotations

import datetime as dt
import io
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select, text

from server.domain import disclosure
from server.domain.disclosure import Period, Subject, schedule
from server.domain.funds import ledger_entries, verify_fund
from server.notify.tables import notify_outbox
from server.notify.worker import Notifier
from sync.timeutil import iso
from tests.conftest import Api
from tests.devices import Device
from tests.donation_setup import DISTRICT, STATION, World, build_world, money
from tests.helpers import campaign_args, new_id

pytestmark = pytest.mark.anyio
D = dt.date


def at(text_: str) -> dt.datetime:
    """A moment given in Shanghai time (``2026-04-02 10:00``)."""
    return dt.datetime.fromisoformat(text_).replace(tzinfo=disclosure.SHANGHAI)


class Clock:
    """The server's clock in these tests: what pushes book (``ctx.now``, the ledger's
    ``created_at``) and what the calendar reads as now."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.moment = at("2026-02-10 10:00")
        monkeypatch.setattr("sync.push.now_iso", lambda: iso(self.moment))
        monkeypatch.setattr(disclosure, "now", lambda: self.moment.astimezone(dt.UTC))

    def set(self, text_: str) -> None:
        self.moment = at(text_)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[Clock]:
    yield Clock(monkeypatch)


# ----------------------------------------------------------------------------- the rule


def periods(subject: Subject, through: D) -> list[tuple[int, str, D, D, D]]:
    return [(p.seq, p.kind, p.start, p.end, p.due) for p in schedule(subject, through)]


def test_a_fund_discloses_each_quarter_one_month_after_it_ends() -> None:
    fund = Subject("fund", "f1", "基金", None, "天河区", D(2026, 2, 10), None, ("f1",))
    assert periods(fund, D(2026, 11, 28)) == [
        (1, "quarter", D(2026, 2, 10), D(2026, 3, 31), D(2026, 4, 30)),
        (2, "quarter", D(2026, 4, 1), D(2026, 6, 30), D(2026, 7, 31)),
        (3, "quarter", D(2026, 7, 1), D(2026, 9, 30), D(2026, 10, 31)),
        (4, "quarter", D(2026, 10, 1), D(2026, 12, 31), D(2027, 1, 31)),
    ]
    # a fund made on the quarter's last day still has that (one-day) quarter
    late = Subject("fund", "f2", "基金", None, None, D(2026, 12, 31), None, ("f2",))
    assert periods(late, D(2027, 1, 1))[0][2:] == (D(2026, 12, 31), D(2026, 12, 31), D(2027, 1, 31))


def test_a_nine_month_campaign_discloses_every_three_months_and_within_three_months_of_its_end(
) -> None:
    campaign = Subject("campaign", "c1", "九九公益日", "TH-001", "天河区", D(2026, 1, 15),
                       D(2026, 10, 14), ("f1",))
    assert periods(campaign, D(2026, 11, 28)) == [
        (1, "interim", D(2026, 1, 15), D(2026, 4, 14), D(2026, 5, 14)),
        (2, "interim", D(2026, 4, 15), D(2026, 7, 14), D(2026, 8, 14)),
        (3, "final", D(2026, 1, 15), D(2026, 10, 14), D(2027, 1, 14)),
    ]
    # before it starts only the final report is known, already with its number
    assert periods(campaign, D(2026, 1, 1)) == [
        (3, "final", D(2026, 1, 15), D(2026, 10, 14), D(2027, 1, 14))]
    # six months or less: only the final report; month ends clamp (31 Aug + 3 = 30 Nov)
    short = Subject("campaign", "c2", "月捐", None, "天河区", D(2026, 3, 1), D(2026, 8, 31), ())
    assert periods(short, D(2026, 9, 1)) == [
        (1, "final", D(2026, 3, 1), D(2026, 8, 31), D(2026, 11, 30))]
    # just over six months: one interim report
    longer = Subject("campaign", "c3", "长期", None, "天河区", D(2026, 3, 1), D(2026, 9, 1), ())
    assert [p[1] for p in periods(longer, D(2026, 9, 1))] == ["interim", "interim", "final"]


# ----------------------------------------------------------------------------- helpers


async def staff_and_managers(api: Api) -> dict[str, Device]:
    return {
        "dm2": Device(api, await api.token("dm2", "district_manager", district=DISTRICT)),
        "dm3": Device(api, await api.token("dm3", "district_manager", district=DISTRICT)),
        "other_mgr": Device(api, await api.token("mgr-yx", "manager", station="YX-001")),
    }


async def applied(device: Device, name: str, args: dict[str, Any]) -> None:
    result = await device.send(name, args)
    assert result["status"] == "applied", (name, result)


async def gift(world: World, amount_fen: int, *, project: bool = False) -> None:
    await applied(world.staff, "donation.record", money(
        new_id(), amount_fen, fund_id=world.fund_id,
        project_id=world.project_id if project else None))


async def first_quarter(api: Api, clock: Clock) -> tuple[World, dict[str, Device]]:
    """A fund made on 10 Feb 2026 with seed money, three gifts and a paid disbursement in
    its first quarter, and a gift on 2 April (the second quarter)."""
    world = await build_world(api, seed_fen=100_000)
    people = await staff_and_managers(api)
    clock.set("2026-03-02 09:00")
    await gift(world, 20_000)
    await gift(world, 5_000, project=True)
    clock.set("2026-03-31 23:50")  # Shanghai: still the first quarter
    await gift(world, 1_234)
    ident = new_id()
    await applied(world.manager, "disbursement.request", {
        "id": ident, "fund_id": world.fund_id, "project_id": world.project_id,
        "amount_fen": 30_000, "payee": "王阿姨", "purpose": "住院押金", "category": "hardship"})
    await applied(people["dm2"], "disbursement.decide", {"id": ident, "decision": "approve"})
    await applied(people["dm3"], "disbursement.pay", {"id": ident, "reference": "TX-1"})
    clock.set("2026-04-02 10:00")
    await gift(world, 99_900)
    return world, people


async def publish(api: Api, device: Device, fund_id: str, seq: int) -> Any:
    return await api.http.post(f"/api/v1/disclosure/fund/{fund_id}/{seq}/publish",
                               headers=api.auth(device.token))


# ----------------------------------------------------------------------------- freezing


async def test_a_published_period_is_frozen_with_the_chain_head_at_its_last_entry(
    api: Api, clock: Clock,
) -> None:
    world, _ = await first_quarter(api, clock)
    clock.set("2026-04-08 10:00")
    preview = (await api.http.get(f"/api/v1/disclosure/fund/{world.fund_id}/1/preview",
                                  headers=api.auth(world.manager.token))).json()
    assert preview["line"]["status"] == "due" and preview["late_if_published_now"] is False
    answer = await publish(api, world.manager, world.fund_id, 1)
    assert answer.status_code == 201, answer.text
    report = answer.json()
    figures = report["figures"]
    assert (report["start"], report["end"], report["due"]) == ("2026-02-10", "2026-03-31",
                                                               "2026-04-30")
    assert report["late"] is False and figures["opening_fen"] == 0
    assert figures["income_fen"] == 100_000 + 20_000 + 5_000 + 1_234
    assert {c["channel"]: (c["amount_fen"], c["count"]) for c in figures["income_by_channel"]} == {
        "federation": (100_000, 1), "station": (26_234, 3)}
    assert [(d["project_id"], d["amount_fen"]) for d in figures["income_by_destination"]] == [
        (None, 121_234), (world.project_id, 5_000)]
    assert figures["spending_by_category"] == [
        {"category": "hardship", "label": ["困难救助", "hardship relief"], "amount_fen": 30_000,
         "count": 1}]
    assert figures["closing_fen"] == 126_234 - 30_000
    # no personal data, no free text: not the donor, not the payee, not the purpose typed
    for secret in ("张三", "13800138000", "王阿姨", "住院押金", "TX-1"):
        assert secret not in answer.text

    # the head is the ledger's at the period's last entry, and that chain verifies
    async with api.state.db.read() as conn:
        last = (await conn.execute(
            select(ledger_entries.c.seq, ledger_entries.c.hash)
            .where(ledger_entries.c.fund_id == world.fund_id,
                   ledger_entries.c.created_at < "2026-03-31T16:00:00.000Z")
            .order_by(ledger_entries.c.seq.desc()).limit(1))).one()
        head_now = (await conn.execute(select(func.max(ledger_entries.c.seq)).where(
            ledger_entries.c.fund_id == world.fund_id))).scalar()
        assert (await verify_fund(conn, world.fund_id)).ok  # type: ignore[union-attr]
    assert report["heads"] == [{"fund_id": world.fund_id, "fund_name": "天河社区慈善基金",
                                "seq": last.seq, "hash": last.hash}]
    assert last.seq < head_now  # the April gift is after the head

    # later gifts (and a later payment) change nothing in the published report
    clock.set("2026-04-20 10:00")
    await gift(world, 77_700)
    again = (await api.http.get(f"/api/v1/public/disclosures/fund/{world.fund_id}/1")).json()
    assert again == report
    assert again["digest"] == disclosure.digest(again["figures"], again["heads"])

    # the second quarter is the next one's: opening balance = the first's closing
    clock.set("2026-07-03 10:00")
    second = (await publish(api, world.manager, world.fund_id, 2)).json()
    assert second["figures"]["opening_fen"] == figures["closing_fen"]
    assert second["figures"]["income_fen"] == 99_900 + 77_700


async def test_publishing_is_refused_twice_for_a_running_period_and_to_non_managers(
    api: Api, clock: Clock,
) -> None:
    world, people = await first_quarter(api, clock)
    clock.set("2026-04-08 10:00")
    running = await publish(api, world.manager, world.fund_id, 2)
    assert running.status_code == 409 and running.json()["code"] == "period_open"
    for device in (world.staff, people["other_mgr"]):  # staff; another station's manager
        refused = await publish(api, device, world.fund_id, 1)
        assert refused.status_code == 403, refused.text
        assert refused.json()["code"] == "forbidden" and "管理者" in refused.json()["message"]["zh"]
    missing = await publish(api, world.manager, world.fund_id, 9)
    assert missing.status_code == 404
    first = await publish(api, world.district, world.fund_id, 1)  # the federation may too
    assert first.status_code == 201
    twice = await publish(api, world.manager, world.fund_id, 1)
    assert twice.status_code == 409 and twice.json()["code"] == "already_published"
    async with api.state.db.read() as conn:
        rows = (await conn.execute(text(
            "SELECT action, actor_id, target_id FROM audit_log WHERE action = 'disclosure.publish'"
        ))).all()
    assert [tuple(r) for r in rows] == [("disclosure.publish", "dm", f"fund:{world.fund_id}:1")]

    # the stored report cannot be changed, even behind the application's back
    async def tamper(conn: Any) -> None:
        await conn.execute(text("UPDATE disclosures SET late = :t"), {"t": True})

    with pytest.raises(Exception, match="never changed"):
        await api.state.db.run_write(tamper)


# ----------------------------------------------------------------------------- late, overdue


async def test_late_and_overdue_disclosures_are_marked_on_the_public_pages(
    api: Api, clock: Clock,
) -> None:
    world, _ = await first_quarter(api, clock)
    clock.set("2026-05-03 10:00")  # the first quarter was due on 30 April
    late = await publish(api, world.manager, world.fund_id, 1)
    assert late.status_code == 201 and late.json()["late"] is True
    page = (await api.http.get(f"/public/disclosures/fund/{world.fund_id}/1")).text
    assert "迟报" in page and "late" in page
    clock.set("2026-08-05 10:00")  # the second quarter was due on 31 July: overdue
    fund_page = (await api.http.get(f"/public/funds/{world.fund_id}")).text
    assert "逾期未公开" in fund_page and "迟报" in fund_page
    listed = (await api.http.get(f"/api/v1/public/funds/{world.fund_id}")).json()["disclosures"]
    assert [(d["seq"], d["status"]) for d in listed] == [(2, "overdue"), (1, "published_late")]
    calendar = (await api.http.get("/api/v1/disclosure/calendar",
                                   headers=api.auth(world.manager.token))).json()
    assert [(line["seq"], line["status"]) for line in calendar["lines"]] == [
        (2, "overdue"), (3, "running"), (1, "published_late")]
    staff = await api.http.get("/api/v1/disclosure/calendar", headers=api.auth(world.staff.token))
    assert staff.status_code == 403


# ----------------------------------------------------------------------------- reminders


@pytest.fixture
async def notifier(api: Api) -> Any:
    worker = Notifier(api.state)
    await worker.open()
    try:
        yield worker
    finally:
        await worker.stop()


async def inbox(api: Api, token: str) -> list[dict[str, Any]]:
    snapshot = await api.snapshot(token)
    return [data for (kind, _), data in snapshot.items()
            if kind == "notification" and data["kind"] == "disclosure.due"
            and data["target"]["subject_kind"] == "fund"]


async def test_a_reminder_is_sent_before_the_due_date_once_and_settled_by_publishing(
    api: Api, clock: Clock, notifier: Notifier,
) -> None:
    world, _ = await first_quarter(api, clock)
    rules = disclosure.DisclosureRules(remind_days=14)

    async def sweep(when: str) -> list[str]:
        """The fund's reminders sent (the world's long-running campaign has its own)."""
        sent = await disclosure.remind_due(api.state.db, api.state.registry, api.state.pokes,
                                           rules, at(when))
        return [ident for ident in sent if ident.startswith("fund:")]

    assert await sweep("2026-04-15 10:00") == []  # 15 days before 30 April
    assert await sweep("2026-04-16 10:00") == [f"fund:{world.fund_id}:1"]
    assert await sweep("2026-04-16 10:05") == []
    assert await sweep("2026-04-29 10:00") == []  # sent once
    await notifier.tick(at("2026-04-29 10:00").astimezone(dt.UTC))
    async with api.state.db.read() as conn:
        outbox = (await conn.execute(select(func.count()).select_from(notify_outbox).where(
            notify_outbox.c.kind == "disclosure.due",
            notify_outbox.c.data.like(f"%fund:{world.fund_id}:1%")))).scalar()
    assert outbox == 1
    mgr_token, dm_token = world.manager.token, world.district.token
    (note,) = await inbox(api, mgr_token)
    assert len(await inbox(api, dm_token)) == 1
    assert await inbox(api, world.staff.token) == []
    assert note["title"]["zh"] == "信息公开将到期:天河社区慈善基金"
    assert "2026-04-30" in note["body"]["zh"] and "2026-04-30" in note["body"]["en"]
    assert note["url"] == f"/#/admin/disclosure/fund/{world.fund_id}/1"
    assert note["resolved_at"] is None

    clock.set("2026-04-29 11:00")
    assert (await publish(api, world.manager, world.fund_id, 1)).status_code == 201
    await notifier.tick(at("2026-04-29 11:00").astimezone(dt.UTC))
    (settled,) = await inbox(api, mgr_token)
    assert settled["resolved_at"] is not None
    # published: the overdue sweep later has nothing to say about it
    assert await sweep("2026-05-20 10:00") == []


async def test_an_overdue_period_never_reminded_is_reminded_once_as_overdue(
    api: Api, clock: Clock, notifier: Notifier,
) -> None:
    world, _ = await first_quarter(api, clock)
    rules = disclosure.DisclosureRules(remind_days=14)
    sent = await disclosure.remind_due(api.state.db, api.state.registry, api.state.pokes,
                                       rules, at("2026-05-05 10:00"))
    assert [i for i in sent if i.startswith("fund:")] == [f"fund:{world.fund_id}:1"]
    await notifier.tick(at("2026-05-05 10:00").astimezone(dt.UTC))
    (note,) = await inbox(api, world.manager.token)
    assert note["title"]["zh"] == "信息公开已逾期:天河社区慈善基金"


# ----------------------------------------------------------------------------- the PDF


async def test_the_report_pdf_says_what_the_page_says(
    api: Api, clock: Clock, tmp_path: Any,
) -> None:
    world, _ = await first_quarter(api, clock)
    clock.set("2026-05-03 10:00")
    assert (await publish(api, world.manager, world.fund_id, 1)).status_code == 201
    answer = await api.http.get(f"/public/disclosures/fund/{world.fund_id}/1/report.pdf")
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(answer.content))
    words = "".join(page.extract_text() for page in reader.pages)
    squeezed = words.replace(" ", "").replace("\n", "")
    for expected in ("天河社区慈善基金", "季度公开", "2026-02-10", "2026-03-31", "2026-04-30",
                     "迟报", "LATE", "¥1,262.34", "¥962.34", "困难救助", "站点募捐",
                     "慈善会注资"):
        assert expected.replace(" ", "") in squeezed, expected
    report = (await api.http.get(f"/api/v1/public/disclosures/fund/{world.fund_id}/1")).json()
    assert report["heads"][0]["hash"] in squeezed and report["digest"] in squeezed
    for secret in ("张三", "王阿姨", "住院押金"):
        assert secret not in words
    (tmp_path / "report.pdf").write_bytes(answer.content)
    if target := os.environ.get("DISCLOSURE_PDF_OUT"):  # to look at it
        Path(target).write_bytes(answer.content)
    missing = await api.http.get(f"/public/disclosures/fund/{world.fund_id}/2/report.pdf")
    assert missing.status_code == 404


def test_periods_have_inclusive_ends() -> None:
    period = Period(1, "quarter", D(2026, 1, 1), D(2026, 3, 31), D(2026, 4, 30))
    assert disclosure.bounds(period) == ("2025-12-31T16:00:00.000Z", "2026-03-31T16:00:00.000Z")
    assert STATION == "TH-001"


# ----------------------------------------------------------------------------- campaigns


def hlc_at(moment: dt.datetime) -> str:
    """A phone's clock stamp at ``moment`` (a gift's day is its phone's day)."""
    return f"{int(moment.timestamp() * 1000):016d}:0000:test"


async def test_a_nine_month_campaign_is_on_the_calendar_and_its_interim_report_freezes_matches(
    api: Api, clock: Clock,
) -> None:
    world = await build_world(api)
    campaign, rule = new_id(), new_id()
    await applied(world.district, "campaign.create", campaign_args(
        campaign, [world.fund_id], starts_on="2026-01-15", ends_on="2026-10-14"))
    await applied(world.district, "matching_rule.create", {
        "id": rule, "sponsor": "天河爱心企业", "ratio_percent": 100, "cap_per_gift_fen": 5_000,
        "cap_total_fen": 1_000_000, "starts_on": "2026-01-15", "ends_on": "2026-10-14",
        "campaign_ids": [campaign]})

    async def give(when: str, amount_fen: int) -> None:
        clock.set(when)
        args = {**money(new_id(), amount_fen, fund_id=world.fund_id), "campaign": campaign}
        result = await world.staff.send("donation.record", args, stamp=hlc_at(clock.moment))
        assert result["status"] == "applied", result

    await give("2026-02-01 10:00", 20_000)   # matched 5,000 (the cap per gift)
    await give("2026-04-14 20:00", 3_000)    # matched 3,000; the period's last day
    await give("2026-04-16 09:00", 10_000)   # the second period

    clock.set("2026-04-20 10:00")
    calendar = (await api.http.get("/api/v1/disclosure/calendar",
                                   headers=api.auth(world.district.token))).json()
    mine = [(line["seq"], line["period_kind"], line["start"], line["end"], line["due"],
             line["status"]) for line in calendar["lines"] if line["subject_id"] == campaign]
    assert sorted(mine) == [
        (1, "interim", "2026-01-15", "2026-04-14", "2026-05-14", "due"),
        (2, "interim", "2026-04-15", "2026-07-14", "2026-08-14", "running"),
        (3, "final", "2026-01-15", "2026-10-14", "2027-01-14", "running"),
    ]
    refused = await api.http.post(f"/api/v1/disclosure/campaign/{campaign}/1/publish",
                                  headers=api.auth(world.manager.token))
    assert refused.status_code == 403  # a station manager does not run the district's plan
    answer = await api.http.post(f"/api/v1/disclosure/campaign/{campaign}/1/publish",
                                 headers=api.auth(world.district.token))
    assert answer.status_code == 201, answer.text
    figures = answer.json()["figures"]
    assert figures["subject"]["kind"] == "campaign" and figures["opening_fen"] == 0
    assert {c["channel"]: c["amount_fen"] for c in figures["income_by_channel"]} == {
        "station": 23_000, "sponsor": 8_000}
    assert figures["matched_fen"] == 8_000 and figures["income_fen"] == 31_000
    assert figures["spending_fen"] == 0
    async with api.state.db.read() as conn:
        last = (await conn.execute(
            select(ledger_entries.c.seq, ledger_entries.c.hash)
            .where(ledger_entries.c.fund_id == world.fund_id,
                   ledger_entries.c.created_at < "2026-04-14T16:00:00.000Z")
            .order_by(ledger_entries.c.seq.desc()).limit(1))).one()
    assert answer.json()["heads"] == [{"fund_id": world.fund_id,
                                       "fund_name": "天河社区慈善基金",
                                       "seq": last.seq, "hash": last.hash}]
    page = (await api.http.get(f"/public/disclosures/campaign/{campaign}/1")).text
    assert "阶段公开" in page and "配捐" in page
    clock.set("2026-08-20 10:00")  # the second interim report was due on 14 August
    listed = (await api.http.get(f"/api/v1/public/campaigns/{campaign}")).json()["disclosures"]
    assert [(d["seq"], d["status"]) for d in listed] == [(2, "overdue"), (1, "published")]
    campaign_page = (await api.http.get(f"/public/campaigns/{campaign}")).text
    assert "逾期未公开" in campaign_page and f"/public/disclosures/campaign/{campaign}/1" in campaign_page


async def test_a_campaign_report_counts_only_its_period_and_its_own_gifts(
    api: Api, clock: Clock,
) -> None:
    """Gifts under the fund's other campaign and gifts after the period stay out."""
    world = await build_world(api)
    campaign = new_id()
    await applied(world.district, "campaign.create", campaign_args(
        campaign, [world.fund_id], starts_on="2026-01-15", ends_on="2026-10-14"))
    for when, amount, which in (("2026-02-01 10:00", 20_000, campaign),
                                ("2026-03-01 10:00", 7_000, world.campaign_id),
                                ("2026-04-14 20:00", 3_000, campaign),
                                ("2026-04-16 09:00", 10_000, campaign)):
        clock.set(when)
        args = {**money(new_id(), amount, fund_id=world.fund_id), "campaign": which}
        result = await world.staff.send("donation.record", args, stamp=hlc_at(clock.moment))
        assert result["status"] == "applied", result
    clock.set("2026-04-20 10:00")
    early = await api.http.post(f"/api/v1/disclosure/campaign/{campaign}/2/publish",
                                headers=api.auth(world.district.token))
    assert early.status_code == 409 and early.json()["code"] == "period_open"
    answer = await api.http.post(f"/api/v1/disclosure/campaign/{campaign}/1/publish",
                                 headers=api.auth(world.district.token))
    assert answer.status_code == 201, answer.text
    figures = answer.json()["figures"]
    assert figures["income_fen"] == 23_000 and figures["gifts_count"] == 2
    assert figures["matched_fen"] == 0 and figures["closing_fen"] == 23_000
    (head,) = answer.json()["heads"]
    assert head["fund_id"] == world.fund_id and head["seq"] == 6  # three gifts, two entries each
