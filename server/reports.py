"""Read-side figures for public pages and exports, computed from the stored rows.

Everything a disclosure page shows is derived from the fund's ledger entries (and the
donation rows they point at for the masked donor), so an auditor holding the ledger
can reproduce every figure.
"""

from __future__ import annotations

import datetime as dt
import hmac
import json
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import RowMapping, false, or_, select, true
from sqlalchemy.ext.asyncio import AsyncConnection

from server.domain.campaigns import (
    CHINA_CHARITY_PLATFORM,
    campaign_totals,
    campaigns,
    gift_matches,
    matching_rules,
)
from server.domain.donations import corrections, donations, public_donor, receipts
from server.domain.events import events
from server.domain.funds import GENERAL, disbursements, funds, ledger_entries, projects, verify_fund
from server.domain.stations import stations
from sync.scopes import ADMIN, DISTRICT_MANAGER, MANAGER, Grant
from sync.tables import sync_state, users

SHANGHAI = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")
INCOME_KINDS = ("donation", "seed", "correction", "void")


def local_time(stamp: str) -> dt.datetime:
    return dt.datetime.fromisoformat(stamp).astimezone(SHANGHAI)


def local_text(stamp: str | None) -> str:
    """Minute precision: for managers' exports, not for public pages (``public_day``)."""
    return local_time(stamp).strftime("%Y-%m-%d %H:%M") if stamp else ""


def period_bounds(start: dt.date | None, end: dt.date | None) -> tuple[str, str]:
    """UTC text bounds [from, to) of whole Shanghai days, comparable with stored stamps."""
    low = dt.datetime.combine(start or dt.date(2000, 1, 1), dt.time(), SHANGHAI)
    high = dt.datetime.combine((end or dt.date(2999, 12, 30)) + dt.timedelta(days=1), dt.time(),
                               SHANGHAI)
    return (low.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            high.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z"))


def yuan(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100:,}.{abs(fen) % 100:02d}"


# ----------------------------------------------------------------------------- donations


async def correction_state(conn: AsyncConnection, donation_ids: Sequence[str]
                           ) -> dict[str, tuple[int, bool]]:
    """Per donation: (sum of applied deltas, voided)."""
    found: dict[str, tuple[int, bool]] = {}
    for start in range(0, len(donation_ids), 500):
        chunk = list(donation_ids[start:start + 500])
        rows = await conn.execute(
            select(corrections.c.donation_id, corrections.c.action, corrections.c.delta_fen)
            .where(corrections.c.donation_id.in_(chunk), corrections.c.status == "applied"))
        for donation_id, action, delta in rows:
            total, voided = found.get(donation_id, (0, False))
            found[donation_id] = (total + int(delta), voided or action == "void")
    return found


def donation_status(
    row: Mapping[str, Any] | RowMapping, state: tuple[int, bool] | None
) -> tuple[int, str]:
    delta, voided = state or (0, False)
    if voided:
        return 0, "voided"
    return int(row["amount_fen"]) + delta, "corrected" if delta else "recorded"


async def event_totals(conn: AsyncConnection, event_id: str) -> dict[str, Any] | None:
    event = (await conn.execute(select(events).where(events.c.id == event_id))).mappings().first()
    if event is None or event["deleted_at"]:
        return None
    station = (await conn.execute(
        select(stations.c.name).where(stations.c.code == event["station"]))).scalar()
    rows = (await conn.execute(
        select(donations.c.id, donations.c.kind, donations.c.amount_fen)
        .where(donations.c.event_id == event_id))).mappings().all()
    state = await correction_state(conn, [r["id"] for r in rows])
    totals = {"money_fen": 0, "money_count": 0, "goods_value_fen": 0, "goods_count": 0}
    for row in rows:
        amount, status = donation_status(row, state.get(row["id"]))
        if status == "voided":
            continue
        prefix = "money" if row["kind"] == "money" else "goods"
        totals["money_fen" if prefix == "money" else "goods_value_fen"] += amount
        totals[f"{prefix}_count"] += 1
    return {"event_id": event_id, "title": event["title"], "date": event["date"],
            "station": event["station"], "station_name": station, **totals}


async def check_receipt(conn: AsyncConnection, number: str, code: str) -> dict[str, Any] | None:
    """What the public may see of a receipt, only with its verification code."""
    receipt = (await conn.execute(
        select(receipts).where(receipts.c.number == number))).mappings().first()
    if receipt is None or not hmac.compare_digest(str(receipt["code"]), code.strip().upper()):
        return None
    donation = (await conn.execute(
        select(donations).where(donations.c.id == receipt["donation_id"]))).mappings().one()
    amount, status = donation_status(
        donation, (await correction_state(conn, [donation["id"]])).get(donation["id"]))
    fund_name = None
    if donation["fund_id"]:
        fund_name = (await conn.execute(
            select(funds.c.name).where(funds.c.id == donation["fund_id"]))).scalar()
    station_name = (await conn.execute(
        select(stations.c.name).where(stations.c.code == donation["station"]))).scalar()
    campaign = None
    if donation["campaign"]:
        campaign = (await conn.execute(
            select(campaigns).where(campaigns.c.id == donation["campaign"]))).mappings().first()
    return {
        # the organisation whose public fundraising plan the gift was collected under: it
        # holds the money and issues the official donation receipt
        "campaign": None if campaign is None else {
            "id": campaign["id"], "name": campaign["name"],
            "organisation": campaign["organisation"],
            "organisation_code": campaign["organisation_code"],
            "filing_number": campaign["filing_number"]},
        "number": number, "status": receipt["status"], "official_number": receipt["official_number"],
        "replaced_by": receipt["replaced_by"], "replaces": receipt["replaces"],
        "issued_at": public_day(receipt["issued_at"]), "station": donation["station"],
        # the public reads the station's name, not its code, and when the gift was made (the
        # recording phone's time), not when the phone happened to sync
        "station_name": station_name or donation["station"], "given_at": donation["device_time"],
        "kind": donation["kind"], "amount_fen": int(donation["amount_fen"]),
        "current_amount_fen": amount, "donation_status": status,
        "donor": public_donor(donation), "fund": fund_name,
        "items": json.loads(donation["items"]), "recorded_at": public_day(donation["recorded_at"]),
    }


# ----------------------------------------------------------------------------- funds


async def fund_list(conn: AsyncConnection) -> list[dict[str, Any]]:
    rows = (await conn.execute(select(funds).order_by(funds.c.created_at, funds.c.id))).mappings()
    return [{c: row[c] for c in ("id", "name", "district", "station", "purpose", "balance_fen",
                                 "head_seq", "head_hash")} for row in rows]


CORRECTION_KINDS = {"void": "作废 / void", "correction": "金额更正 / amount corrected"}
CORRECTION_CATEGORIES = {
    "entry_error": "录入错误 / entry error", "refund": "退款 / refund",
    "duplicate": "重复录入 / duplicate", "other": "其他 / other",
}
PURPOSE_CATEGORIES = {
    "hardship": "困难救助 / hardship relief", "project": "项目支出 / project spending",
    "goods": "物资采购 / goods", "operations": "运营 / operations", "other": "其他 / other",
}
BENEFICIARY = "受助人 / beneficiary"
AN_ORGANISATION = "机构 / organisation"
PAGE_SIZE = 50
"""Gifts per page of the disclosure (HTML and JSON)."""


def public_day(stamp: str | None) -> str:
    """Public pages give times to the day (Asia/Shanghai), not the minute: a gift's
    minute and station are enough to pick a person out of a queue."""
    return local_time(stamp).strftime("%Y-%m-%d") if stamp else ""


def public_payee(disbursement: Mapping[str, Any] | RowMapping | None) -> str:
    """A payee as the public sees it: a person is 受助人 / beneficiary (for hardship relief
    the payee is the person helped); an organisation by name only when it was marked
    publishable, else 机构 / organisation. Never a bank reference."""
    if disbursement is None or disbursement["payee_kind"] != "organisation":
        return BENEFICIARY
    return str(disbursement["payee"]) if disbursement["payee_public"] else AN_ORGANISATION


ERASURE_EPOCH = "erasure_epoch"
"""``sync_state`` key: bumped by every erasure (``server/erasure.py``), which changes what a
disclosure shows (a donor's consented name) without moving any chain head."""


async def erasure_epoch(conn: AsyncConnection) -> int:
    value = (await conn.execute(select(sync_state.c.int_value).where(
        sync_state.c.key == ERASURE_EPOCH))).scalar()
    return int(value or 0)


@dataclass
class DisclosureCache:
    """A fund's disclosure figures and chain verification, kept per process by what they
    depend on: the fund's chain head (every movement moves it, so a new gift, correction
    or payment makes a new key) and the erasure epoch. With several workers each keeps its
    own (each verifies a fund once per head); nothing has to be shared for it to be exact.

    ``ttl_seconds`` bounds how long a verification is trusted: a row altered behind the
    application's back (which moves no head) shows on the page within that time, and at
    once on ``/verify``, which always recomputes."""

    ttl_seconds: float = 600.0
    max_funds: int = 256
    entries: dict[str, tuple[tuple[int, str, int], float, dict[str, Any]]] = field(
        default_factory=dict)

    def get(self, fund_id: str, key: tuple[int, str, int]) -> dict[str, Any] | None:
        found = self.entries.get(fund_id)
        if found is None or found[0] != key or time.monotonic() - found[1] > self.ttl_seconds:
            return None
        return found[2]

    def put(self, fund_id: str, key: tuple[int, str, int], value: dict[str, Any]) -> None:
        if fund_id not in self.entries and len(self.entries) >= self.max_funds:
            self.entries.pop(next(iter(self.entries)))
        self.entries[fund_id] = (key, time.monotonic(), value)


async def _by_ids(conn: AsyncConnection, table: Any, ids: Sequence[str]) -> dict[str, RowMapping]:
    found: dict[str, RowMapping] = {}
    unique = sorted(set(ids))
    for start in range(0, len(unique), 500):
        for row in (await conn.execute(select(table).where(
                table.c.id.in_(unique[start:start + 500])))).mappings():
            found[row["id"]] = row
    return found


async def _fund_figures(conn: AsyncConnection, fund: Mapping[str, Any] | RowMapping) -> dict[str, Any]:
    """Everything of a disclosure that depends on the ledger (and the rows it points at):
    what the cache keeps. Free text (notes, reasons, payees' names, bank references) is
    never read into it."""
    fund_id = fund["id"]
    names = {r.id: r.name for r in await conn.execute(
        select(projects.c.id, projects.c.name).where(projects.c.fund_id == fund_id))}
    entries = (await conn.execute(
        select(ledger_entries.c.seq, ledger_entries.c.kind, ledger_entries.c.category,
               ledger_entries.c.account,
               ledger_entries.c.amount_fen, ledger_entries.c.created_at,
               ledger_entries.c.project_id, ledger_entries.c.donation_id,
               ledger_entries.c.correction_id, ledger_entries.c.disbursement_id)
        .where(ledger_entries.c.fund_id == fund_id, ledger_entries.c.account.like("fund:%"))
        .order_by(ledger_entries.c.seq))).mappings().all()
    donor_rows = await _by_ids(conn, donations, [e["donation_id"] for e in entries
                                                 if e["donation_id"]])
    sponsors = await _sponsors(conn, [e["donation_id"] for e in entries if e["kind"] == "match"])
    # A gift stays in the list as the ledger holds it; one voided later (the void is under
    # the corrections) says so beside its amount, and so does its sponsor's match.
    voided = {e["donation_id"] for e in entries if e["kind"] == "void"}
    approvals = await _by_ids(conn, corrections, [e["correction_id"] for e in entries
                                                  if e["correction_id"]])
    paid_rows = await _by_ids(conn, disbursements, [e["disbursement_id"] for e in entries
                                                    if e["disbursement_id"]])
    by_month: dict[str, dict[str, int]] = defaultdict(lambda: {"income_fen": 0, "spending_fen": 0})
    by_project: dict[str, dict[str, Any]] = {}
    gifts: list[dict[str, Any]] = []
    fixes: list[dict[str, Any]] = []
    payments: dict[str, dict[str, Any]] = {}
    income = spending = 0
    for entry in entries:
        amount = int(entry["amount_fen"])
        month = local_time(entry["created_at"]).strftime("%Y-%m")
        project = entry["project_id"]
        slot = by_project.setdefault(project or "", {
            "project_id": project, "name": names.get(project, "基金通用 / general") if project
            else "基金通用 / general", "income_fen": 0, "spending_fen": 0,
            "spent_from_directed_fen": 0, "spent_from_general_fen": 0})
        day = public_day(entry["created_at"])
        if entry["kind"] == "disbursement":
            spending -= amount
            by_month[month]["spending_fen"] -= amount
            slot["spending_fen"] -= amount
            # A payment takes the project's directed money first, then the fund's general
            # money (domain/funds.py pay_disbursement); saying which keeps a project that
            # spent more than was directed to it from reading as overspent.
            if entry["account"] == GENERAL:
                slot["spent_from_general_fen"] -= amount
            else:
                slot["spent_from_directed_fen"] -= amount
            category = entry["category"] or "other"
            paid = payments.setdefault(entry["disbursement_id"], {
                "seq": entry["seq"], "at": day, "amount_fen": 0, "project": slot["name"],
                "category": category, "category_label": PURPOSE_CATEGORIES.get(
                    category, PURPOSE_CATEGORIES["other"]),
                "payee": public_payee(paid_rows.get(entry["disbursement_id"]))})
            paid["amount_fen"] -= amount  # one payment may take restricted, then general money
            continue
        income += amount
        by_month[month]["income_fen"] += amount
        slot["income_fen"] += amount
        donation = donor_rows.get(entry["donation_id"]) if entry["donation_id"] else None
        if entry["kind"] == "donation" and donation is not None:
            gifts.append({"seq": entry["seq"], "at": day, "amount_fen": amount,
                          "donor": public_donor(donation), "station": donation["station"],
                          "project": slot["name"] if project else None,
                          "voided": entry["donation_id"] in voided})
        elif entry["kind"] == "match" and donation is not None:
            gifts.append({"seq": entry["seq"], "at": day, "amount_fen": amount,
                          "donor": matched_by(sponsors.get(entry["donation_id"], [])),
                          "station": donation["station"],
                          "project": slot["name"] if project else None,
                          "voided": entry["donation_id"] in voided})
        elif entry["kind"] in ("void", "correction"):
            correction = approvals.get(entry["correction_id"])
            category = entry["category"] or "other"
            fixes.append({
                "seq": entry["seq"], "at": day, "kind": entry["kind"],
                "kind_label": CORRECTION_KINDS[entry["kind"]], "category": category,
                "category_label": CORRECTION_CATEGORIES.get(category,
                                                            CORRECTION_CATEGORIES["other"]),
                "amount_fen": amount,
                "donor": public_donor(donation) if donation is not None else None,
                "approved_by_second_person": bool(correction and correction["decided_by"]),
            })
    report = await verify_fund(conn, fund_id)
    assert report is not None
    gifts.reverse()  # newest first: page 1 is what changed lately
    return {
        "income_fen": income, "spending_fen": spending, "balance_fen": income - spending,
        "chain_ok": report.ok, "chain_problems": report.problems,
        "by_month": [{"month": m, **v} for m, v in sorted(by_month.items())],
        "by_project": sorted(by_project.values(), key=lambda p: (p["project_id"] is not None,
                                                                 p["name"])),
        "gifts": gifts, "corrections": fixes, "disbursements": list(payments.values()),
    }


def matched_by(sponsors: Sequence[str]) -> str:
    """How public pages name a matching gift: from its sponsor (a sponsor's matching pledge
    is public; the gift it matched keeps its own donor's consent)."""
    names = "、".join(sponsors) or "配捐方"
    return f"配捐 · {names} / matched by {names}"


async def _sponsors(conn: AsyncConnection, donation_ids: Sequence[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = defaultdict(list)
    for chunk in range(0, len(donation_ids), 500):
        for row in await conn.execute(
                select(gift_matches.c.donation_id, gift_matches.c.sponsor)
                .where(gift_matches.c.donation_id.in_(donation_ids[chunk:chunk + 500]))
                .order_by(gift_matches.c.rule_id)):
            found[str(row.donation_id)].append(str(row.sponsor))
    return found


async def campaign_page(conn: AsyncConnection, campaign_id: str, today: str | None = None
                        ) -> dict[str, Any] | None:
    """What the law asks to be shown where a campaign collects (Charity Law art. 23-25 and
    the Ministry's public fundraising rules): the organisation and its qualification, the
    filing number, purpose, period, how to check, and what it raised against its target
    (gifts and sponsors' matches, from the ledger)."""
    campaign = (await conn.execute(
        select(campaigns).where(campaigns.c.id == campaign_id))).mappings().first()
    if campaign is None:
        return None
    fund_ids = json.loads(campaign["fund_ids"])
    fund_names = [str(r.name) for r in await conn.execute(
        select(funds.c.name).where(funds.c.id.in_(fund_ids)).order_by(funds.c.name))]
    project_ids = json.loads(campaign["project_ids"])
    project_names = [str(r.name) for r in await conn.execute(
        select(projects.c.name).where(projects.c.id.in_(project_ids)).order_by(projects.c.name))]
    codes = json.loads(campaign["stations"])
    station_query = select(stations.c.code, stations.c.name).where(stations.c.deleted_at.is_(None))
    if codes:
        station_query = station_query.where(stations.c.code.in_(codes))
    elif campaign["district"] is not None:
        station_query = station_query.where(stations.c.district == campaign["district"])
    station_list = [{"code": str(r.code), "name": str(r.name)}
                    for r in await conn.execute(station_query.order_by(stations.c.code))]
    rules = [
        {"sponsor": str(r.sponsor), "ratio_percent": int(r.ratio_percent),
         "cap_per_gift_fen": int(r.cap_per_gift_fen), "cap_total_fen": int(r.cap_total_fen),
         "matched_fen": int(r.matched_fen), "starts_on": str(r.starts_on),
         "ends_on": str(r.ends_on)}
        for r in await conn.execute(select(matching_rules).order_by(matching_rules.c.starts_on,
                                                                    matching_rules.c.id))
        if campaign_id in json.loads(r.campaign_ids)]
    totals = await campaign_totals(conn, campaign)
    target = campaign["target_fen"]
    day = today or dt.datetime.now(SHANGHAI).date().isoformat()
    status = ("upcoming" if day < campaign["starts_on"] else
              "closed" if day > campaign["ends_on"] else "open")
    return {
        "id": campaign["id"], "name": campaign["name"], "organisation": campaign["organisation"],
        "organisation_code": campaign["organisation_code"],
        "qualification": campaign["qualification"],
        "certificate_number": campaign["certificate_number"],
        "filing_number": campaign["filing_number"], "purpose": campaign["purpose"],
        "starts_on": campaign["starts_on"], "ends_on": campaign["ends_on"], "status": status,
        "district": campaign["district"], "funds": fund_names, "projects": project_names,
        "fund_ids": fund_ids, "stations": station_list,
        "platform_url": campaign["platform_url"] or CHINA_CHARITY_PLATFORM,
        "check_platform": CHINA_CHARITY_PLATFORM, "matching": rules,
        "progress_percent": progress_percent(totals["raised_fen"], target),
        **totals,
    }


def progress_percent(raised_fen: int, target_fen: int | None) -> float | int | None:
    """Whole percent (floored, at most 100); under 1 % one decimal, so a campaign that
    has raised something never reads as 0 %."""
    if not target_fen:
        return None
    percent = int(raised_fen) * 100 / int(target_fen)
    if 0 < percent < 1:
        return max(0.1, round(percent, 1))
    return min(100, int(raised_fen) * 100 // int(target_fen))


async def fund_disclosure(conn: AsyncConnection, fund_id: str, page: int = 1,
                          cache: DisclosureCache | None = None) -> dict[str, Any] | None:
    """Income and spending by month and by project, one page of gifts (newest first) with
    each donor as the public may see them, each correction with its kind and reason
    category, each payment with its purpose category and public payee, the chain head and
    whether the chain verifies. Figures and verification come from ``cache`` when the
    fund's head (and the erasure epoch) are those they were computed for."""
    fund = (await conn.execute(select(funds).where(funds.c.id == fund_id))).mappings().first()
    if fund is None:
        return None
    key = (int(fund["head_seq"]), str(fund["head_hash"]), await erasure_epoch(conn))
    figures = cache.get(fund_id, key) if cache is not None else None
    if figures is None:
        figures = await _fund_figures(conn, fund)
        if cache is not None:
            cache.put(fund_id, key, figures)
    gifts = figures["gifts"]
    pages = max(1, -(-len(gifts) // PAGE_SIZE))
    page = min(max(1, page), pages)
    shown = gifts[(page - 1) * PAGE_SIZE:page * PAGE_SIZE]
    # a reader knows a station by its name; read now, as a station may be renamed any time
    codes = sorted({str(g["station"]) for g in shown})
    names = {r.code: r.name for r in await conn.execute(
        select(stations.c.code, stations.c.name).where(stations.c.code.in_(codes)))} if codes else {}
    return {
        "fund": {c: fund[c] for c in ("id", "name", "district", "station", "purpose")}
        | {"created_at": public_day(fund["created_at"])},
        "head_seq": fund["head_seq"], "head_hash": fund["head_hash"],
        **{k: v for k, v in figures.items() if k != "gifts"},
        "donations_total": len(gifts), "page": page, "pages": pages, "page_size": PAGE_SIZE,
        "donations": [{**g, "station": names.get(g["station"]) or g["station"]} for g in shown],
    }


# ----------------------------------------------------------------------------- exports


DONATION_COLUMNS = (
    "id", "recorded_at", "device_time", "station", "event", "kind", "amount_fen",
    "current_amount_fen", "status", "method", "items", "donor_name", "donor_phone",
    "donor_organisation", "donor_anonymous", "direction", "fund", "project", "receipt_number",
    "official_number", "recorded_by",
)

# Export column headers: Chinese first (for the finance staff who open them), English under it.
COLUMN_TITLES: dict[str, tuple[str, str]] = {
    "id": ("编号", "id"), "recorded_at": ("登记时间", "recorded at"),
    "device_time": ("手机时间", "device time"), "station": ("站点", "station"),
    "event": ("活动", "event"), "kind": ("类别", "kind"), "amount_fen": ("金额(分)", "amount (fen)"),
    "amount_yuan": ("金额(元)", "amount (yuan)"),
    "current_amount_fen": ("现金额(分)", "current amount (fen)"),
    "current_amount_yuan": ("现金额(元)", "current amount (yuan)"),
    "status": ("状态", "status"), "method": ("支付方式", "payment method"),
    "items": ("物资明细", "items"), "donor_name": ("捐赠人", "donor"),
    "donor_phone": ("捐赠人电话", "donor phone"),
    "donor_organisation": ("捐赠单位", "donor organisation"),
    "donor_anonymous": ("匿名", "anonymous"), "direction": ("捐赠去向", "direction"),
    "fund": ("基金", "fund"), "project": ("项目", "project"),
    "receipt_number": ("收据号", "receipt number"),
    "official_number": ("正式票据号", "official receipt number"),
    "recorded_by": ("登记人", "recorded by"),
    "seq": ("序号", "seq"), "created_at": ("时间", "time"), "account": ("账户", "account"),
    "counter_account": ("对方账户", "counter account"),
    "balance_fen": ("余额(分)", "balance (fen)"), "balance_yuan": ("余额(元)", "balance (yuan)"),
    "donation_id": ("捐赠编号", "donation id"), "disbursement_id": ("拨付编号", "disbursement id"),
    "note": ("摘要", "note"), "hash": ("链哈希", "chain hash"),
}

# Codes shown to finance staff as words (Chinese, the English after a slash).
LABELS: dict[str, dict[str, str]] = {
    "kind": {"money": "善款 / money", "goods": "物资 / goods", "donation": "捐赠 / donation",
             "seed": "种子资金 / seed", "correction": "更正 / correction", "void": "作废 / void",
             "disbursement": "拨付 / disbursement", "match": "配捐 / matched gift"},
    "status": {"recorded": "已登记 / recorded", "corrected": "已更正 / corrected",
               "voided": "已作废 / voided"},
    "method": {"cash": "现金 / cash", "bank_transfer": "银行转账 / bank transfer",
               "wechat_pay": "微信支付 / WeChat Pay", "alipay": "支付宝 / Alipay",
               "other": "其他 / other"},
    "direction": {"fund": "指定基金 / to a fund", "project": "指定项目 / to a project",
                  "undirected": "未指定 / undirected"},
}


def label(column: str, code: str | None) -> str:
    """The human label of a code in an export column (the code itself if unknown)."""
    if not code:
        return ""
    return LABELS.get(column, {}).get(code, code)


async def donation_rows(conn: AsyncConnection, where: Any, start: str, end: str
                        ) -> list[dict[str, Any]]:
    rows = (await conn.execute(
        select(donations).where(where, donations.c.recorded_at >= start,
                                donations.c.recorded_at < end)
        .order_by(donations.c.recorded_at, donations.c.id))).mappings().all()
    state = await correction_state(conn, [r["id"] for r in rows])
    fund_names = {r.id: r.name for r in await conn.execute(select(funds.c.id, funds.c.name))}
    project_names = {r.id: r.name for r in await conn.execute(select(projects.c.id, projects.c.name))}
    station_names = {r.code: r.name for r in await conn.execute(select(stations.c.code, stations.c.name))}
    event_ids = sorted({r["event_id"] for r in rows if r["event_id"]})
    event_names: dict[str, str] = {}
    for begin in range(0, len(event_ids), 500):
        for event_id, title, date in await conn.execute(
                select(events.c.id, events.c.title, events.c.date)
                .where(events.c.id.in_(event_ids[begin:begin + 500]))):
            event_names[event_id] = f"{title}({date})"
    recorders = sorted({r["recorded_by"] for r in rows if r["recorded_by"]})
    people: dict[str, str] = {}
    for begin in range(0, len(recorders), 500):
        for user_id, name in await conn.execute(
                select(users.c.id, users.c.name).where(users.c.id.in_(recorders[begin:begin + 500]))):
            people[user_id] = name or user_id
    booked: dict[str, tuple[str, str | None]] = {}  # gifts allocated to a fund afterwards
    unbooked = [r["id"] for r in rows if r["kind"] == "money" and not r["fund_id"]]
    for begin in range(0, len(unbooked), 500):
        for donation_id, fund_id, project_id in await conn.execute(
                select(ledger_entries.c.donation_id, ledger_entries.c.fund_id,
                       ledger_entries.c.project_id)
                .where(ledger_entries.c.donation_id.in_(unbooked[begin:begin + 500]),
                       ledger_entries.c.kind == "donation",
                       ledger_entries.c.account.like("fund:%"))):
            booked[donation_id] = (fund_id, project_id)
    numbers = [r["receipt_number"] for r in rows if r["receipt_number"]]
    official: dict[str, str | None] = {}
    for begin in range(0, len(numbers), 500):
        for number, value in await conn.execute(
                select(receipts.c.number, receipts.c.official_number)
                .where(receipts.c.number.in_(numbers[begin:begin + 500]))):
            official[number] = value
    out = []
    for row in rows:
        amount, status = donation_status(row, state.get(row["id"]))
        items = json.loads(row["items"])
        fund_id, project_id = booked.get(row["id"], (row["fund_id"], row["project_id"]))
        out.append({
            "id": row["id"], "recorded_at": local_text(row["recorded_at"]),
            "device_time": local_text(row["device_time"]),
            "station": station_names.get(row["station"]) or row["station"],
            "event": event_names.get(row["event_id"], row["event_id"]) if row["event_id"] else "",
            "kind": label("kind", row["kind"]), "amount_fen": row["amount_fen"],
            "current_amount_fen": amount, "status": label("status", status),
            "method": label("method", row["method"]),
            "items": "; ".join(f"{i['name']} {i['quantity']}{i['unit']}" for i in items),
            "donor_name": row["donor_name"] or "", "donor_phone": row["donor_phone"] or "",
            "donor_organisation": row["donor_organisation"] or "",
            "donor_anonymous": "是 / yes" if row["donor_anonymous"] else "否 / no",
            "direction": label("direction", row["direction"]),
            "fund": fund_names.get(fund_id, ""),
            "project": project_names.get(project_id, ""),
            "receipt_number": row["receipt_number"] or "",
            "official_number": official.get(row["receipt_number"] or "") or "",
            "recorded_by": people.get(row["recorded_by"], row["recorded_by"]),
        })
    return out


STATEMENT_COLUMNS = ("seq", "created_at", "kind", "account", "counter_account", "amount_fen",
                     "balance_fen", "project", "donation_id", "disbursement_id", "note", "hash")


async def fund_statement(conn: AsyncConnection, fund_id: str, start: str, end: str
                         ) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
    """The fund's side of every movement, with its counter account and the running
    balance (opening balance = everything before the period)."""
    fund = (await conn.execute(select(funds).where(funds.c.id == fund_id))).mappings().first()
    if fund is None:
        return None
    names = {r.id: r.name for r in await conn.execute(select(projects.c.id, projects.c.name))}
    entries = (await conn.execute(
        select(ledger_entries).where(ledger_entries.c.fund_id == fund_id,
                                     ledger_entries.c.created_at < end)
        .order_by(ledger_entries.c.seq))).mappings().all()
    counter = {e["movement_id"]: e["account"] for e in entries
               if not str(e["account"]).startswith("fund:")}
    balance, opening, lines = 0, 0, []
    for entry in entries:
        if not str(entry["account"]).startswith("fund:"):
            continue
        balance += int(entry["amount_fen"])
        if entry["created_at"] < start:
            opening = balance
            continue
        lines.append({
            "seq": entry["seq"], "created_at": local_text(entry["created_at"]),
            "kind": label("kind", entry["kind"]), "account": entry["account"],
            "counter_account": counter.get(entry["movement_id"], ""),
            "amount_fen": int(entry["amount_fen"]), "balance_fen": balance,
            "project": names.get(entry["project_id"], ""), "donation_id": entry["donation_id"] or "",
            "disbursement_id": entry["disbursement_id"] or "", "note": entry["note"],
            "hash": entry["hash"],
        })
    summary = {"fund": fund["name"], "opening_fen": opening, "closing_fen": balance}
    return summary, lines


def export_scope(table: Any, grant: Grant) -> Any:
    """Rows of ``table`` (with station and district columns) a manager may export: those of
    every place where one of the person's memberships is manager or above."""
    places = []
    for held in grant.memberships:
        if held.rank == ADMIN:
            return true()
        if held.rank == DISTRICT_MANAGER and held.district:
            places.append(table.c.district == held.district)
        elif held.rank == MANAGER and held.station:
            places.append(table.c.station == held.station)
    return or_(*places) if places else false()
