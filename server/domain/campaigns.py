"""Fundraising campaigns and matched giving (issue 16; docs/campaigns.md).

Under the Charity Law a station collects from the public only within a public
fundraising plan (公开募捐方案) of an organisation holding the public fundraising
qualification, filed on the national platform (备案编号). A ``campaign`` records that
plan; every gift at a station belongs to one (``donation.record`` checks it through
``campaign_for_gift``) and its receipt names the organisation that holds the money.

A ``matching_rule`` is a sponsor's pledge to match gifts to some campaigns in a period
(a ratio, a cap per gift, a cap in total). ``match_gift`` books the sponsor's match in
the fund ledger in the same transaction as the gift; the rule's ``matched_fen`` is read
with ``tx.get`` (``SELECT ... FOR UPDATE`` on PostgreSQL, the one writer on SQLite), so
two gifts arriving together on two workers serialise on the rule row and the second
sees what the first matched: the total cap is never exceeded. ``reverse_match`` gives a
corrected or voided gift's match back to the rule.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import BigInteger, Column, Integer, String, Table, Text, func, select
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from schemas.campaigns import (
    CampaignCreateArgs,
    CampaignRecord,
    CampaignUpdateArgs,
    GiftMatchRecord,
    MatchingRuleCreateArgs,
    MatchingRuleRecord,
    MatchingRuleUpdateArgs,
)
from server import audit
from server.domain import funds as funds_module
from server.domain.access import live_station
from sync.errors import Rejected, already_exists, forbidden, not_found
from sync.merge import edited_fields
from sync.push import locks_exclusive
from sync.registry import RecordType, Registry
from sync.scopes import DISTRICT_MANAGER, STAFF, Grant, Scope
from sync.tables import metadata
from sync.unit import MutationContext, Tx

SHANGHAI = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")

OFFLINE_GRACE_DAYS = 30
"""A gift recorded offline while its campaign was open (the phone's clock within the
period) is still accepted when it syncs up to this many days after the campaign ended;
later, or stamped outside the period, it is refused. The law is not relaxed: the gift
was collected inside the plan, only its upload was late (docs/campaigns.md)."""

CHINA_CHARITY_PLATFORM = "https://cszg.mca.gov.cn/"
"""慈善中国, the national charity information platform, where filed plans can be checked."""

campaigns = Table(
    "campaigns",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("organisation", String(100), nullable=False),
    Column("organisation_code", String(18), nullable=False),
    Column("qualification", String(100), nullable=False),
    Column("certificate_number", String(64), nullable=False),
    Column("filing_number", String(64), nullable=False),
    Column("purpose", Text, nullable=False),
    Column("starts_on", String(10), nullable=False),
    Column("ends_on", String(10), nullable=False),
    Column("district", String(100), nullable=True, index=True),
    Column("fund_ids", Text, nullable=False),
    Column("project_ids", Text, nullable=False),
    Column("stations", Text, nullable=False),
    Column("target_fen", BigInteger, nullable=True),
    Column("platform_url", String(300), nullable=False, default="", server_default=""),
    Column("created_by", String(64), nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("updated_at", String(32), nullable=False),
)
"""``fund_ids``, ``project_ids`` and ``stations`` are JSON lists of ids."""

matching_rules = Table(
    "matching_rules",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("sponsor", String(100), nullable=False),
    Column("ratio_percent", Integer, nullable=False),
    Column("cap_per_gift_fen", BigInteger, nullable=False),
    Column("cap_total_fen", BigInteger, nullable=False),
    Column("matched_fen", BigInteger, nullable=False),
    Column("starts_on", String(10), nullable=False),
    Column("ends_on", String(10), nullable=False),
    Column("campaign_ids", Text, nullable=False),
    Column("district", String(100), nullable=True, index=True),
    Column("created_by", String(64), nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("updated_at", String(32), nullable=False),
)
"""``matched_fen`` is the sum of ``gift_matches.amount_fen`` of the rule, written in the
same transaction as each match (the row lock on it is what keeps the cap)."""

gift_matches = Table(
    "gift_matches",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("rule_id", String(36), nullable=False, index=True),
    Column("donation_id", String(36), nullable=False, index=True),
    Column("campaign_id", String(36), nullable=False, index=True),
    Column("fund_id", String(36), nullable=False),
    Column("account", String(60), nullable=False),
    Column("sponsor", String(100), nullable=False),
    Column("booked_fen", BigInteger, nullable=False),
    Column("amount_fen", BigInteger, nullable=False),
    Column("station", String(32), nullable=False),
    Column("district", String(100), nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("updated_at", String(32), nullable=False),
)
"""A match's ledger movement is ``<donation id>:m<n>`` (kind ``match``, counter account
``sponsor:<rule id>``); its reversal ``<correction id>:m<n>``."""


MATCH_NAMESPACE = uuid.UUID("5b0d7c1e-8f3a-4b52-9d6e-2a1c0f4e7b93")


def match_id(donation_id: str, rule_id: str) -> str:
    """A gift's match by a rule: one per pair, named from the pair (a UUID 5)."""
    return str(uuid.uuid5(MATCH_NAMESPACE, f"{donation_id}:{rule_id}"))


# ----------------------------------------------------------------------------- records


def _ids(text: str) -> list[str]:
    return list(_parsed_ids(text))


@functools.lru_cache(maxsize=4096)
def _parsed_ids(text: str) -> tuple[str, ...]:
    """A JSON list of ids, parsed once: every gift checks its campaign's lists."""
    return tuple(json.loads(text))


def _campaign_scope(row: Mapping[str, Any]) -> Scope:
    return Scope(district=row["district"], public=True)


def _campaign_wire(row: Mapping[str, Any]) -> dict[str, Any]:
    data = {c: row[c] for c in campaigns.c.keys()}
    for name in ("fund_ids", "project_ids", "stations"):
        data[name] = _ids(row[name])
    return data


def _rule_scope(row: Mapping[str, Any]) -> Scope:
    return Scope(district=row["district"], public=True)


def _rule_wire(row: Mapping[str, Any]) -> dict[str, Any]:
    data = {c: row[c] for c in matching_rules.c.keys()}
    data["campaign_ids"] = _ids(row["campaign_ids"])
    return data


def _match_scope(row: Mapping[str, Any]) -> Scope:
    return Scope(station=row["station"], district=row["district"], audience=STAFF)


def _match_wire(row: Mapping[str, Any]) -> dict[str, Any]:
    return {c: row[c] for c in gift_matches.c.keys() if c != "account"}


# ----------------------------------------------------------------------------- rules


def runs_campaigns(grant: Grant, district: str | None) -> bool:
    """Who sets up campaigns and matching rules: the district's managers for a district
    campaign (the federation that holds the plan's money locally), admins for the city's."""
    return grant.rank_at(None, district) >= DISTRICT_MANAGER


def gift_day(hlc: str) -> str:
    """The calendar day (Asia/Shanghai) of the phone's clock when the gift was recorded."""
    millis = int(hlc.split(":", 1)[0])
    return dt.datetime.fromtimestamp(millis / 1000, SHANGHAI).date().isoformat()


def server_day(now_iso: str) -> str:
    return dt.datetime.fromisoformat(now_iso).astimezone(SHANGHAI).date().isoformat()


def is_open(campaign: Mapping[str, Any], day: str) -> bool:
    return bool(campaign["starts_on"] <= day <= campaign["ends_on"])


def collects_at(campaign: Mapping[str, Any], station: Mapping[str, Any]) -> bool:
    listed = _parsed_ids(campaign["stations"])
    if listed:
        return station["code"] in listed
    return campaign["district"] is None or campaign["district"] == station["district"]


def raises_for(campaign: Mapping[str, Any], fund_id: str | None, project_id: str | None,
               project_fund: str | None = None) -> bool:
    """The campaign raises for this fund (and project, when the gift names one). A gift
    no fund takes yet (waiting for allocation) is checked when it is allocated."""
    if fund_id is None:
        return True
    if fund_id not in _parsed_ids(campaign["fund_ids"]):
        return False
    projects = _parsed_ids(campaign["project_ids"])
    return project_id is None or not projects or project_id in projects


def _fen(amount: int) -> str:
    return f"{amount / 100:,.2f}"


async def _open_at(tx: Tx, station: Mapping[str, Any], day: str) -> list[dict[str, Any]]:
    # Read once per batch, district and day (a batch of 500 gifts asks the same question
    # 500 times); read again after a kept mutation of the batch wrote a campaign.
    key = f"campaigns_open:{station['district']}:{day}"
    remembered = tx.memo.get(key)
    if remembered is not None and remembered[0] == tx.generation("campaign"):
        ids = remembered[1]
    else:
        rows = await tx.query_on(
            select(campaigns.c.id).where(
                campaigns.c.starts_on <= day, campaigns.c.ends_on >= day,
                (campaigns.c.district == station["district"]) | campaigns.c.district.is_(None))
            .order_by(campaigns.c.starts_on, campaigns.c.id), ("campaign",))
        ids = [str(campaign_id) for (campaign_id,) in rows]
        tx.memo[key] = (tx.generation("campaign"), ids)
    found = []
    for campaign_id in ids:
        campaign = await tx.get("campaign", str(campaign_id))
        if campaign is not None and collects_at(campaign, station):
            found.append(campaign)
    return found


async def campaign_for_gift(
    tx: Tx, ctx: MutationContext, *, station: Mapping[str, Any], requested: str | None,
    event: Mapping[str, Any] | None, fund_id: str | None, project_id: str | None,
) -> dict[str, Any]:
    """The open campaign a gift at ``station`` belongs to, or a refusal saying why.

    The campaign named on the form; else the event's; else the one campaign open at the
    station that raises for the gift's fund (refused when there is none, or several to
    choose from). Open means: the phone's clock at recording (``ctx.hlc``) falls in the
    period, the server's day is not before it, and not more than ``OFFLINE_GRACE_DAYS``
    after its end."""
    day = gift_day(ctx.hlc)
    today = server_day(ctx.now)
    chosen = requested or (event.get("campaign") if event is not None else None)
    if chosen is None:
        open_here = await _open_at(tx, station, day)
        candidates = [c for c in open_here if raises_for(c, fund_id, project_id)]
        if open_here and not candidates:
            raise Rejected(
                "campaign_not_for_fund",
                f"站点 {station['code']} 进行中的募捐活动都不为该基金或项目募集,不能接受此笔定向捐赠",
                f"no campaign open at station {station['code']} raises for this fund or "
                "project: this directed gift cannot be taken", field="campaign")
        if not candidates:
            raise Rejected(
                "no_open_campaign",
                f"站点 {station['code']} 在 {day} 没有进行中的公开募捐活动(募捐方案),"
                "不能接受公众捐赠;请管理者先登记慈善组织的募捐方案",
                f"station {station['code']} has no open public fundraising campaign on {day}; "
                "gifts from the public are collected only under a qualified organisation's "
                "filed plan: ask a manager to set one up", field="campaign")
        if len(candidates) > 1:
            raise Rejected(
                "campaign_ambiguous", "该站点同时有多个募捐活动,请选择本笔捐赠所属的活动",
                "several campaigns are open at this station: choose the gift's campaign",
                field="campaign")
        chosen = str(candidates[0]["id"])
    campaign = await tx.get("campaign", chosen)
    if campaign is None:
        raise not_found("募捐活动", "campaign", chosen, field="campaign")
    name = campaign["name"]
    if not collects_at(campaign, station):
        raise Rejected("campaign_not_here", f"募捐活动“{name}”不在站点 {station['code']} 募集",
                       f"campaign “{name}” does not collect at station {station['code']}",
                       field="campaign")
    period = f"{campaign['starts_on']} – {campaign['ends_on']}"
    if not is_open(campaign, day) or today < campaign["starts_on"]:
        raise Rejected(
            "campaign_closed",
            f"捐赠日期 {day} 不在募捐活动“{name}”的募捐期({period})内,不能接受",
            f"the gift's date {day} is outside the period of campaign “{name}” ({period})",
            field="campaign")
    late = dt.date.fromisoformat(today) - dt.date.fromisoformat(campaign["ends_on"])
    if late.days > OFFLINE_GRACE_DAYS:
        raise Rejected(
            "campaign_closed",
            f"募捐活动“{name}”已于 {campaign['ends_on']} 结束,离线记录的捐赠须在结束后 "
            f"{OFFLINE_GRACE_DAYS} 天内同步,此笔已超期",
            f"campaign “{name}” ended on {campaign['ends_on']}; gifts recorded offline must "
            f"sync within {OFFLINE_GRACE_DAYS} days of the end, this one is too late",
            field="campaign")
    if not raises_for(campaign, fund_id, project_id):
        raise Rejected(
            "campaign_not_for_fund", f"募捐活动“{name}”不为该基金或项目募集",
            f"campaign “{name}” does not raise for this fund or project", field="campaign")
    return campaign


async def match_gift(tx: Tx, ctx: MutationContext, *, donation: Mapping[str, Any],
                     campaign: Mapping[str, Any], fund_id: str, account: str) -> int:
    """Book the matches of the rules covering this gift (its campaign, its day), each
    within what is left under the rule's total cap. Returns the fen matched."""
    day = gift_day(ctx.hlc)
    # The rules of a day, read once per batch (again after a kept mutation wrote a rule
    # other than by matching: a match only moves ``matched_fen``, which this read ignores).
    key = f"matching_rules:{day}"
    remembered = tx.memo.get(key)
    if remembered is not None and remembered[0] == tx.generation("matching_rule"):
        rules = remembered[1]
    else:
        rows = await tx.query_on(
            select(matching_rules.c.id, matching_rules.c.campaign_ids)
            .where(matching_rules.c.starts_on <= day, matching_rules.c.ends_on >= day)
            .order_by(matching_rules.c.id), ("matching_rule",))
        rules = [(str(r.id), _parsed_ids(r.campaign_ids)) for r in rows]
        tx.memo[key] = (tx.generation("matching_rule"), rules)
    rule_ids = sorted(rule_id for rule_id, covered in rules if campaign["id"] in covered)
    matched_any = False
    total = 0
    for n, rule_id in enumerate(rule_ids, start=1):
        rule = await tx.get("matching_rule", rule_id)  # FOR UPDATE: matches of a rule serialise
        if rule is None or not (rule["starts_on"] <= day <= rule["ends_on"]):
            continue
        left = int(rule["cap_total_fen"]) - int(rule["matched_fen"])
        amount = min(int(donation["amount_fen"]) * int(rule["ratio_percent"]) // 100,
                     int(rule["cap_per_gift_fen"]), left)
        if amount <= 0:
            continue
        matched = int(rule["matched_fen"]) + amount
        tx.update("matching_rule", rule_id, {"matched_fen": matched, "updated_at": ctx.now})
        tx.insert("gift_match", {
            "id": match_id(donation["id"], rule_id), "rule_id": rule_id,
            "donation_id": donation["id"], "campaign_id": campaign["id"], "fund_id": fund_id,
            "account": account, "sponsor": rule["sponsor"], "booked_fen": amount,
            "amount_fen": amount, "station": donation["station"],
            "district": donation["district"], "created_at": ctx.now, "updated_at": ctx.now,
        })
        await funds_module.post(tx, ctx, fund_id, funds_module.Movement(
            f"{donation['id']}:m{n}", account, f"sponsor:{rule_id}", amount, "match",
            refs={"donation_id": donation["id"], "project_id": donation.get("project_id")}),
            late=True)  # a match only adds to the fund: booked at the batch's end, like its gift
        total += amount
        matched_any = True
    if matched_any:
        # this mutation's frame, once kept, counts as a write of matching rules; what it
        # wrote (``matched_fen``) leaves the memo above true, so it stays good after it
        tx.memo[key] = (tx.generation("matching_rule") + 1, rules)
    return total


async def reverse_match(tx: Tx, ctx: MutationContext, *, donation: Mapping[str, Any],
                        correction_id: str, new_amount_fen: int) -> int:
    """After a correction (``new_amount_fen``: the gift's amount now; 0 for a void), lower
    each of its matches to what the rule gives for the new amount (never raise it: a
    match is fixed when the gift arrives) and give the difference back to the rule."""
    rows = await tx.query(
        select(gift_matches.c.id).where(gift_matches.c.donation_id == donation["id"])
        .order_by(gift_matches.c.rule_id))
    returned = 0
    for n, (mid,) in enumerate(rows, start=1):
        match = await tx.get("gift_match", str(mid))
        if match is None:
            continue
        rule = await tx.get("matching_rule", match["rule_id"])
        assert rule is not None
        due = min(int(match["amount_fen"]), int(new_amount_fen) * int(rule["ratio_percent"]) // 100,
                  int(rule["cap_per_gift_fen"]))
        back = int(match["amount_fen"]) - max(0, due)
        if back <= 0:
            continue
        tx.update("gift_match", match["id"], {"amount_fen": int(match["amount_fen"]) - back,
                                              "updated_at": ctx.now})
        tx.update("matching_rule", rule["id"], {
            "matched_fen": int(rule["matched_fen"]) - back, "updated_at": ctx.now})
        await funds_module.post(tx, ctx, match["fund_id"], funds_module.Movement(
            f"{correction_id}:m{n}", match["account"], f"sponsor:{rule['id']}", -back,
            "match", refs={"donation_id": donation["id"], "correction_id": correction_id,
                           "project_id": donation.get("project_id")}))
        returned += back
    return returned


# ----------------------------------------------------------------------------- mutators


async def _check_links(tx: Tx, ctx: MutationContext, district: str | None, fund_ids: Sequence[str],
                       project_ids: Sequence[str], stations: Sequence[str]) -> None:
    for fund_id in fund_ids:
        fund = await tx.get("fund", fund_id)
        if fund is None:
            raise not_found("基金", "fund", fund_id, field="fund_ids")
        if district is not None and fund["district"] != district:
            raise Rejected("invalid_args", f"基金“{fund['name']}”不属于 {district}",
                           f"fund “{fund['name']}” is not in {district}", field="fund_ids")
    for project_id in project_ids:
        project = await tx.get("project", project_id)
        if project is None:
            raise not_found("项目", "project", project_id, field="project_ids")
        if project["fund_id"] not in fund_ids:
            raise Rejected("invalid_args", "项目须属于所列基金之一",
                           "each project belongs to one of the listed funds", field="project_ids")
    for code in stations:
        station = await live_station(tx, code, field="stations")
        if district is not None and station["district"] != district:
            raise Rejected("invalid_args", f"站点 {code} 不在 {district}",
                           f"station {code} is not in {district}", field="stations")


def _check_period(starts_on: str, ends_on: str) -> None:
    if ends_on < starts_on:
        raise Rejected("invalid_args", "结束日期早于开始日期", "the period ends before it starts",
                       field="ends_on")


async def create_campaign(tx: Tx, ctx: MutationContext, args: CampaignCreateArgs) -> None:
    if not runs_campaigns(ctx.grant, args.district):
        raise forbidden("只有该区(或市)慈善会的管理者可以登记募捐活动",
                        "only the district's (or the city's) federation managers set up campaigns")
    if await tx.get("campaign", args.id) is not None:
        raise already_exists("募捐活动", "campaign", args.id)
    _check_period(args.starts_on, args.ends_on)
    await _check_links(tx, ctx, args.district, args.fund_ids, args.project_ids, args.stations)
    tx.insert("campaign", {
        "id": args.id, "name": args.name, "organisation": args.organisation,
        "organisation_code": args.organisation_code, "qualification": args.qualification,
        "certificate_number": args.certificate_number, "filing_number": args.filing_number,
        "purpose": args.purpose, "starts_on": args.starts_on, "ends_on": args.ends_on,
        "district": args.district, "fund_ids": json.dumps(list(dict.fromkeys(args.fund_ids))),
        "project_ids": json.dumps(list(dict.fromkeys(args.project_ids))),
        "stations": json.dumps(list(dict.fromkeys(args.stations))),
        "target_fen": args.target_fen, "platform_url": args.platform_url,
        "created_by": ctx.user_id, "created_at": ctx.now, "updated_at": ctx.now,
    })
    audit.stage(tx, ctx, "campaign.create", "campaign", args.id, district=args.district,
                detail={"filing_number": args.filing_number, "organisation": args.organisation})


@locks_exclusive("campaign")
async def update_campaign(tx: Tx, ctx: MutationContext, args: CampaignUpdateArgs) -> None:
    campaign = await tx.get("campaign", args.id)
    if campaign is None:
        raise not_found("募捐活动", "campaign", args.id, field="id")
    if not runs_campaigns(ctx.grant, campaign["district"]):
        raise forbidden("只有该区(或市)慈善会的管理者可以修改募捐活动",
                        "only the district's (or the city's) federation managers edit campaigns")
    edits = edited_fields(args.fields)
    merged = {**_campaign_wire(campaign), **edits}
    _check_period(merged["starts_on"], merged["ends_on"])
    await _check_links(tx, ctx, campaign["district"], merged["fund_ids"], merged["project_ids"],
                       merged["stations"])
    values = {k: (json.dumps(list(dict.fromkeys(v))) if k in ("fund_ids", "project_ids", "stations")
                  else v) for k, v in edits.items()}
    tx.update("campaign", args.id, {**values, "updated_at": ctx.now})
    audit.stage(tx, ctx, "campaign.update", "campaign", args.id, district=campaign["district"],
                detail={"fields": sorted(edits)})


async def _check_campaigns(tx: Tx, campaign_ids: Sequence[str], district: str | None) -> None:
    for campaign_id in campaign_ids:
        campaign = await tx.get("campaign", campaign_id)
        if campaign is None:
            raise not_found("募捐活动", "campaign", campaign_id, field="campaign_ids")
        if district is not None and campaign["district"] != district:
            raise Rejected("invalid_args", "配捐规则只能用于本区的募捐活动",
                           "a matching rule covers campaigns of its own district only",
                           field="campaign_ids")


def _rule_district(campaign_rows: Sequence[Mapping[str, Any]]) -> str | None:
    districts = {c["district"] for c in campaign_rows}
    return districts.pop() if len(districts) == 1 else None


async def create_matching_rule(tx: Tx, ctx: MutationContext, args: MatchingRuleCreateArgs) -> None:
    rows = []
    for campaign_id in args.campaign_ids:
        campaign = await tx.get("campaign", campaign_id)
        if campaign is None:
            raise not_found("募捐活动", "campaign", campaign_id, field="campaign_ids")
        rows.append(campaign)
    district = _rule_district(rows)
    if not runs_campaigns(ctx.grant, district):
        raise forbidden("只有募捐活动所在区(或市)慈善会的管理者可以设立配捐规则",
                        "only the campaigns' federation managers set up matching rules")
    if await tx.get("matching_rule", args.id) is not None:
        raise already_exists("配捐规则", "matching rule", args.id)
    _check_period(args.starts_on, args.ends_on)
    if args.cap_per_gift_fen > args.cap_total_fen:
        raise Rejected("invalid_args", "单笔上限不能高于总上限",
                       "the cap per gift cannot exceed the total cap", field="cap_per_gift_fen")
    tx.insert("matching_rule", {
        "id": args.id, "sponsor": args.sponsor, "ratio_percent": args.ratio_percent,
        "cap_per_gift_fen": args.cap_per_gift_fen, "cap_total_fen": args.cap_total_fen,
        "matched_fen": 0, "starts_on": args.starts_on, "ends_on": args.ends_on,
        "campaign_ids": json.dumps(list(dict.fromkeys(args.campaign_ids))), "district": district,
        "created_by": ctx.user_id, "created_at": ctx.now, "updated_at": ctx.now,
    })
    audit.stage(tx, ctx, "matching_rule.create", "matching_rule", args.id, district=district,
                detail={"sponsor": args.sponsor, "cap_total_fen": args.cap_total_fen})


async def update_matching_rule(tx: Tx, ctx: MutationContext, args: MatchingRuleUpdateArgs) -> None:
    rule = await tx.get("matching_rule", args.id)
    if rule is None:
        raise not_found("配捐规则", "matching rule", args.id, field="id")
    if not runs_campaigns(ctx.grant, rule["district"]):
        raise forbidden("只有该区(或市)慈善会的管理者可以修改配捐规则",
                        "only the federation's managers edit matching rules")
    edits = edited_fields(args.fields)
    merged = {**rule, **edits}
    _check_period(merged["starts_on"], merged["ends_on"])
    if int(merged["cap_total_fen"]) < int(rule["matched_fen"]):
        raise Rejected(
            "invalid_args",
            f"已配捐 {_fen(int(rule['matched_fen']))} 元,总上限不能低于此数",
            f"{_fen(int(rule['matched_fen']))} yuan is already matched; the total cap cannot be lower",
            field="cap_total_fen")
    if int(merged["cap_per_gift_fen"]) > int(merged["cap_total_fen"]):
        raise Rejected("invalid_args", "单笔上限不能高于总上限",
                       "the cap per gift cannot exceed the total cap", field="cap_per_gift_fen")
    tx.update("matching_rule", args.id, {**edits, "updated_at": ctx.now})
    audit.stage(tx, ctx, "matching_rule.update", "matching_rule", args.id,
                district=rule["district"], detail={"fields": sorted(edits)})


# ----------------------------------------------------------------------------- read side


async def campaign_totals(conn: AsyncConnection, campaign: Mapping[str, Any] | RowMapping
                          ) -> dict[str, Any]:
    """What a campaign raised, from the ledger: gifts (less their corrections) and the
    sponsors' matches, per sponsor. Read-side (public page, poster, dashboard)."""
    from server.domain.donations import corrections, donations  # read side: exported tables

    led = funds_module.ledger_entries
    gift_ids = select(donations.c.id).where(donations.c.campaign == campaign["id"])
    gifts = (await conn.execute(
        select(func.coalesce(func.sum(led.c.amount_fen), 0)).where(
            led.c.donation_id.in_(gift_ids), led.c.account.like("fund:%"),
            led.c.kind.in_(("donation", "correction", "void"))))).scalar()
    voided = select(corrections.c.donation_id).where(
        corrections.c.action == "void", corrections.c.status == "applied")
    count = (await conn.execute(  # gifts still standing: a voided one adds nothing to the sum
        select(func.count()).select_from(donations).where(
            donations.c.campaign == campaign["id"], donations.c.kind == "money",
            donations.c.id.not_in(voided)))).scalar()
    sponsors: list[dict[str, Any]] = [
        {"sponsor": str(r.sponsor), "amount_fen": int(r.total or 0)}
        for r in await conn.execute(
            select(gift_matches.c.sponsor, func.sum(gift_matches.c.amount_fen).label("total"))
            .where(gift_matches.c.campaign_id == campaign["id"])
            .group_by(gift_matches.c.sponsor).order_by(gift_matches.c.sponsor))
    ]
    matched = sum(int(s["amount_fen"]) for s in sponsors)
    return {"gifts_fen": int(gifts or 0), "gifts": int(count or 0), "matched_fen": matched,
            "sponsors": sponsors, "raised_fen": int(gifts or 0) + matched,
            "target_fen": campaign["target_fen"]}


def install(registry: Registry) -> None:
    registry.add_record_type(RecordType(
        "campaign", campaigns, "id", _campaign_scope, _campaign_wire, tombstone=None,
        shape=CampaignRecord))
    registry.add_record_type(RecordType(
        "matching_rule", matching_rules, "id", _rule_scope, _rule_wire, tombstone=None,
        shape=MatchingRuleRecord))
    registry.add_record_type(RecordType(
        "gift_match", gift_matches, "id", _match_scope, _match_wire, tombstone=None,
        shape=GiftMatchRecord))
    registry.mutation("campaign.create", 1, CampaignCreateArgs,
                      preload=(("campaign", "id"),))(create_campaign)
    registry.mutation("campaign.update", 1, CampaignUpdateArgs,
                      preload=(("campaign", "id"),))(update_campaign)
    registry.mutation("matching_rule.create", 1, MatchingRuleCreateArgs,
                      preload=(("matching_rule", "id"),))(create_matching_rule)
    registry.mutation("matching_rule.update", 1, MatchingRuleUpdateArgs,
                      preload=(("matching_rule", "id"),))(update_matching_rule)


__all__ = [
    "CHINA_CHARITY_PLATFORM",
    "OFFLINE_GRACE_DAYS",
    "campaign_for_gift",
    "campaign_totals",
    "campaigns",
    "collects_at",
    "gift_day",
    "gift_matches",
    "install",
    "is_open",
    "match_gift",
    "match_id",
    "matching_rules",
    "raises_for",
    "reverse_match",
    "runs_campaigns",
]
