"""The disclosure calendar: when each fund (and each campaign) must disclose, reminders
before each due date, and published reports that freeze a period's figures.

The rule (docs/disclosure.md, with its sources): an activity longer than six months
discloses at least every three months and within three months of its end (Charity Law,
2016 text art. 72; 慈善组织信息公开办法). A **subject** of the calendar is anything that
must disclose: a fund (open-ended: calendar quarters in Asia/Shanghai, each due one
month after the quarter ends) or a campaign (a fixed period: three-month interim periods
from its start, each due one month after it ends, when it runs longer than six months;
and a final report over the whole campaign, due three months after its end). A new kind
of subject registers a :class:`SubjectSource` in ``SOURCES``.

A published report (``disclosures``) is one row per subject and period, written once
and never changed (triggers refuse UPDATE and DELETE, migration 0019): the period's
figures as JSON (categories and sums only: no names, no free text) and, per fund, the
ledger's hash head at the period's last entry, so anyone holding the ledger can check
that the report covers exactly the chain up to that entry (``/api/v1/public/funds/{id}/verify``).

A period's entries are the fund's ledger entries booked (server time) within its days;
ordered by the chain: the period runs from the entry after the last one booked before
its first day to the last one booked before the day after its end. Later gifts land in
later periods and never change a published report.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    insert,
    select,
    text,
)
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from server import audit
from server.domain.campaigns import campaigns, runs_campaigns
from server.domain.donations import donations
from server.domain.funds import funds, ledger_entries, projects, works_for_fund
from server.domain.stations import stations
from server.notify.kinds import RESOLVE
from server.notify.tables import notify_outbox
from server.settings import Settings
from sync.db import Database
from sync.errors import ProtocolError
from sync.pokes import PokeSink
from sync.registry import Registry
from sync.scopes import MANAGER, Grant
from sync.tables import metadata
from sync.timeutil import iso
from sync.unit import Tx
from sync.write import run_unit

SHANGHAI = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")
SWEEP_LOCK = 72_410_019
"""PostgreSQL advisory lock: one worker at a time sends disclosure reminders."""

disclosures = Table(
    "disclosures",
    metadata,
    Column("id", String(200), primary_key=True),
    Column("subject_kind", String(16), nullable=False),
    Column("subject_id", String(64), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("period_kind", String(16), nullable=False),
    Column("period_start", String(10), nullable=False),
    Column("period_end", String(10), nullable=False),
    Column("due_on", String(10), nullable=False),
    Column("station", String(32), nullable=True),
    Column("district", String(100), nullable=True),
    Column("published_at", String(32), nullable=False),
    Column("published_by", String(64), nullable=False),
    Column("late", Boolean, nullable=False),
    Column("figures", Text, nullable=False),
    Column("heads", Text, nullable=False),
    Column("digest", String(64), nullable=False),
    UniqueConstraint("subject_kind", "subject_id", "seq"),
)
"""Published reports, append-only. ``id`` is ``<kind>:<subject id>:<seq>``; ``figures``
the frozen JSON (:func:`period_figures`); ``heads`` a JSON list of ``{fund_id, seq,
hash}`` (the chain head of each fund at the period's end); ``digest`` the SHA-256 of the
canonical JSON of both, printed on the page and the PDF."""

disclosure_reminders = Table(
    "disclosure_reminders",
    metadata,
    Column("id", String(200), primary_key=True),
    Column("due_on", String(10), nullable=False),
    Column("sent_at", String(32), nullable=False),
)
"""One row per period reminded (same id as its report): a reminder is sent once."""


# ----------------------------------------------------------------------------- the rule


@dataclass(frozen=True)
class Subject:
    """Something that must disclose: a fund, a campaign."""

    kind: str
    id: str
    name: str
    station: str | None
    district: str | None
    start: dt.date
    end: dt.date | None
    """None: open-ended (a fund)."""
    fund_ids: tuple[str, ...] = ()
    """The funds whose ledgers the reports read (a fund: itself)."""


@dataclass(frozen=True)
class Period:
    seq: int
    kind: str
    """``quarter`` (a fund), ``interim`` (a campaign over six months), ``final`` (a campaign)."""
    start: dt.date
    end: dt.date
    """Inclusive."""
    due: dt.date


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` moved by ``months``, clamped to the month's last day (31 Jan + 1 = 28/29 Feb)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    last = (dt.date(year + (month == 12), month % 12 + 1, 1) - dt.timedelta(days=1)).day
    return dt.date(year, month, min(day.day, last))


def month_end(day: dt.date) -> dt.date:
    return add_months(day.replace(day=1), 1) - dt.timedelta(days=1)


INTERIM_MONTHS = 3
"""At least every three months (for an activity longer than six months)."""
LONG_MONTHS = 6
FINAL_MONTHS = 3
"""The final report within three months of the end."""
INTERIM_GRACE_MONTHS = 1
"""An interim (or quarterly) report is due one month after its period ends: consecutive
reports stay three months apart, and the books of the period can be closed."""


def schedule(subject: Subject, through: dt.date) -> list[Period]:
    """The subject's periods. A fund's run from the quarter of its creation to the quarter
    holding ``through`` (the last one still running); a campaign's interim periods likewise
    (those begun by ``through``), and its final report always. A period's number never
    changes: the final one of a campaign is numbered after all its interim periods."""
    if subject.end is None:
        found = []
        start = subject.start
        seq = 1
        while start <= through:
            quarter_end = month_end(dt.date(start.year, (start.month - 1) // 3 * 3 + 3, 1))
            found.append(Period(seq, "quarter", start, quarter_end,
                                month_end(add_months(quarter_end, INTERIM_GRACE_MONTHS))))
            start = quarter_end + dt.timedelta(days=1)
            seq += 1
        return found
    found = []
    if subject.end >= add_months(subject.start, LONG_MONTHS):
        seq = 1
        while add_months(subject.start, INTERIM_MONTHS * (seq - 1)) <= through:
            next_start = add_months(subject.start, INTERIM_MONTHS * seq)
            end = next_start - dt.timedelta(days=1)
            if end >= subject.end:
                break
            begin = add_months(subject.start, INTERIM_MONTHS * (seq - 1))
            found.append(Period(seq, "interim", begin, end,
                                add_months(end, INTERIM_GRACE_MONTHS)))
            seq += 1
    found.append(Period(_interims(subject) + 1, "final", subject.start, subject.end,
                        add_months(subject.end, FINAL_MONTHS)))
    return found


def now() -> dt.datetime:
    """The calendar's clock (routes and public pages read it here; tests move it)."""
    return dt.datetime.now(dt.UTC)


def _interims(subject: Subject) -> int:
    """How many interim periods a campaign has in all."""
    assert subject.end is not None
    if subject.end < add_months(subject.start, LONG_MONTHS):
        return 0
    count = 0
    while add_months(subject.start, INTERIM_MONTHS * (count + 1)) - dt.timedelta(days=1) < subject.end:
        count += 1
    return count


def today_in_shanghai(now: dt.datetime) -> dt.date:
    return now.astimezone(SHANGHAI).date()


def report_id(subject: Subject, seq: int) -> str:
    return f"{subject.kind}:{subject.id}:{seq}"


def bounds(period: Period) -> tuple[str, str]:
    """UTC text bounds [from, to) of the period's whole Shanghai days."""
    low = dt.datetime.combine(period.start, dt.time(), SHANGHAI)
    high = dt.datetime.combine(period.end + dt.timedelta(days=1), dt.time(), SHANGHAI)
    return iso(low.astimezone(dt.UTC)), iso(high.astimezone(dt.UTC))


# ----------------------------------------------------------------------------- subjects


@dataclass(frozen=True)
class SubjectSource:
    """How one kind of subject is found, who answers for it, and what its figures are."""

    load: Callable[[AsyncConnection, str | None], Awaitable[list[Subject]]]
    """Every subject of the kind, or the one with that id."""
    may_publish: Callable[[Grant, Subject], bool]
    figures: Callable[[AsyncConnection, Subject, Period], Awaitable[dict[str, Any]]]


def _local_day(stamp: str) -> dt.date:
    return dt.datetime.fromisoformat(stamp).astimezone(SHANGHAI).date()


async def _load_funds(conn: AsyncConnection, subject_id: str | None) -> list[Subject]:
    query = select(funds.c.id, funds.c.name, funds.c.station, funds.c.district,
                   funds.c.created_at).order_by(funds.c.created_at, funds.c.id)
    if subject_id is not None:
        query = query.where(funds.c.id == subject_id)
    return [Subject("fund", str(r.id), str(r.name), r.station, r.district,
                    _local_day(str(r.created_at)), None, (str(r.id),))
            for r in await conn.execute(query)]


def _fund_manager(grant: Grant, subject: Subject) -> bool:
    """The fund's station managers or the federation's (district managers, admins)."""
    return works_for_fund(grant, {"station": subject.station, "district": subject.district},
                          rank=MANAGER)


CHANNELS: dict[str, tuple[str, str]] = {
    "station": ("站点募捐", "collected at stations"),
    "federation": ("慈善会注资", "federation's seed money"),
    "platform": ("网络募捐平台", "online platform"),
    "online": ("网络募捐平台", "online platform"),
    "sponsor": ("配捐", "matched giving"),
    "match": ("配捐", "matched giving"),
}
"""Income by channel: the prefix of the movement's counter account (``station:<code>``,
``federation:seed``, ...). An unknown prefix is shown as itself."""
MATCHED_CHANNELS = frozenset({"sponsor", "match"})
PURPOSES: dict[str, tuple[str, str]] = {
    "hardship": ("困难救助", "hardship relief"), "project": ("项目支出", "project spending"),
    "goods": ("物资采购", "goods"), "operations": ("运营", "operations"),
    "other": ("其他", "other"),
}
INCOME_KINDS = frozenset({"donation", "seed"})
CORRECTION_KINDS = frozenset({"correction", "void"})


def _channel(counter_account: str | None, kind: str) -> str:
    if counter_account:
        return counter_account.split(":", 1)[0]
    return kind


async def ledger_period(conn: AsyncConnection, fund_id: str, period: Period) -> dict[str, Any]:
    """One fund's figures for the period, from its ledger (see the module's docstring for
    which entries belong to a period) and its goods gifts (donation rows: goods are not
    money and never enter the ledger)."""
    low, high = bounds(period)
    rows = (await conn.execute(
        select(*LEDGER_COLUMNS)
        .where(ledger_entries.c.fund_id == fund_id, ledger_entries.c.created_at < high)
        .order_by(ledger_entries.c.seq))).mappings().all()
    head = await _head(conn, fund_id, high)
    opening_seq = max((int(r["seq"]) for r in rows if r["created_at"] < low), default=0)
    goods = await _goods(conn, donations.c.fund_id == fund_id, low, high)
    figures = await _aggregate(conn, rows, lambda r: int(r["seq"]) <= opening_seq, goods)
    return {"fund_id": fund_id, **figures, "head": head}


LEDGER_COLUMNS = (
    ledger_entries.c.fund_id, ledger_entries.c.seq, ledger_entries.c.movement_id,
    ledger_entries.c.account, ledger_entries.c.amount_fen, ledger_entries.c.kind,
    ledger_entries.c.category, ledger_entries.c.project_id, ledger_entries.c.created_at,
)


async def _head(conn: AsyncConnection, fund_id: str, high: str) -> dict[str, Any]:
    """The fund's chain head at the period's end: its last entry booked before ``high``
    (the genesis, seq 0, when there is none)."""
    name = (await conn.execute(select(funds.c.name).where(funds.c.id == fund_id))).scalar()
    last = (await conn.execute(
        select(ledger_entries.c.seq, ledger_entries.c.hash)
        .where(ledger_entries.c.fund_id == fund_id, ledger_entries.c.created_at < high)
        .order_by(ledger_entries.c.seq.desc()).limit(1))).first()
    return {"fund_id": fund_id, "fund_name": name, "seq": int(last.seq) if last else 0,
            "hash": str(last.hash) if last else "0" * 64}


async def _aggregate(conn: AsyncConnection, rows: Sequence[RowMapping],
                     before: Callable[[RowMapping], bool], goods: list[tuple[int, bool]]
                     ) -> dict[str, Any]:
    """Sums of ledger rows (both sides of each movement): what ``before`` says preceded
    the period makes the opening balance; the rest is the period's, by channel (the
    counter account's prefix), destination (general money or a project) and purpose."""
    counters = {r["movement_id"]: str(r["account"]) for r in rows
                if not str(r["account"]).startswith("fund:")}
    project_ids = sorted({str(r["project_id"]) for r in rows if r["project_id"]})
    names = {str(r.id): str(r.name) for r in await conn.execute(
        select(projects.c.id, projects.c.name).where(projects.c.id.in_(project_ids)))
             } if project_ids else {}
    opening = income = corrections = spending = 0
    corrections_count = gifts = 0
    channels: dict[str, dict[str, Any]] = {}
    destinations: dict[str, dict[str, Any]] = {}
    purposes: dict[str, dict[str, Any]] = {}
    for row in rows:
        if not str(row["account"]).startswith("fund:"):
            continue
        amount = int(row["amount_fen"])
        if before(row):
            opening += amount
            continue
        kind = str(row["kind"])
        if kind == "disbursement":
            spending -= amount
            category = str(row["category"] or "other")
            slot = purposes.setdefault(category, {
                "category": category, "label": PURPOSES.get(category, (category, category)),
                "amount_fen": 0, "movements": set()})
            slot["amount_fen"] -= amount
            slot["movements"].add(str(row["movement_id"]).rsplit(":", 1)[0])
            continue
        if kind in CORRECTION_KINDS:
            corrections += amount
            corrections_count += 1
            continue
        income += amount
        channel = _channel(counters.get(row["movement_id"]), kind)
        slot = channels.setdefault(channel, {
            "channel": channel, "label": CHANNELS.get(channel, (channel, channel)),
            "amount_fen": 0, "count": 0})
        slot["amount_fen"] += amount
        if amount > 0:
            gifts += 1
            slot["count"] += 1
        project = row["project_id"] if str(row["account"]) != "fund:general" else None
        key = str(project or "")
        target = destinations.setdefault(key, {
            "project_id": project,
            "label": (names.get(key, key), names.get(key, key)) if project else
            ("非定向(基金通用)", "undirected (general)"), "amount_fen": 0})
        target["amount_fen"] += amount
    kept = [amount for amount, voided in goods if not voided]
    return {
        "opening_fen": opening, "income_fen": income, "corrections_fen": corrections,
        "corrections_count": corrections_count, "spending_fen": spending,
        "closing_fen": opening + income + corrections - spending,
        "gifts_count": gifts,
        "income_by_channel": sorted(channels.values(), key=lambda c: c["channel"]),
        "income_by_destination": sorted(destinations.values(),
                                        key=lambda d: (d["project_id"] is not None, d["label"])),
        "spending_by_category": [
            {**{k: v for k, v in p.items() if k != "movements"}, "count": len(p["movements"])}
            for p in sorted(purposes.values(), key=lambda p: p["category"])],
        "goods_count": len(kept), "goods_value_fen": sum(kept),
        "matched_fen": sum(c["amount_fen"] for name, c in channels.items()
                           if name in MATCHED_CHANNELS),
    }


async def _goods(conn: AsyncConnection, where: Any, low: str, high: str
                 ) -> list[tuple[int, bool]]:
    """(valuation, voided) of each goods gift matching ``where`` recorded in [low, high)."""
    from server.reports import correction_state  # read side; imported late (no cycle)

    rows = (await conn.execute(
        select(donations.c.id, donations.c.amount_fen).where(
            where, donations.c.kind == "goods",
            donations.c.recorded_at >= low, donations.c.recorded_at < high))).all()
    state = await correction_state(conn, [str(r.id) for r in rows])
    return [(int(r.amount_fen) + state.get(str(r.id), (0, False))[0],
             state.get(str(r.id), (0, False))[1]) for r in rows]


async def _fund_figures(conn: AsyncConnection, subject: Subject, period: Period) -> dict[str, Any]:
    return await ledger_period(conn, subject.id, period)


async def _load_campaigns(conn: AsyncConnection, subject_id: str | None) -> list[Subject]:
    query = select(campaigns.c.id, campaigns.c.name, campaigns.c.district, campaigns.c.starts_on,
                   campaigns.c.ends_on, campaigns.c.fund_ids).order_by(campaigns.c.starts_on,
                                                                       campaigns.c.id)
    if subject_id is not None:
        query = query.where(campaigns.c.id == subject_id)
    return [Subject("campaign", str(r.id), str(r.name), None, r.district,
                    dt.date.fromisoformat(r.starts_on), dt.date.fromisoformat(r.ends_on),
                    tuple(json.loads(r.fund_ids)))
            for r in await conn.execute(query)]


def _campaign_manager(grant: Grant, subject: Subject) -> bool:
    """Who runs the campaign: its district's federation managers (the city's: admins)."""
    return runs_campaigns(grant, subject.district)


async def _campaign_figures(conn: AsyncConnection, subject: Subject, period: Period
                            ) -> dict[str, Any]:
    """What the campaign raised: the ledger entries of its gifts (their corrections and
    the sponsors' matches carry the gift's id) in whatever fund they were booked, and its
    goods; the chain head of each fund it raises for. Spending is not a campaign's: each
    fund's own reports show what was paid out of the money."""
    low, high = bounds(period)
    gift_ids = select(donations.c.id).where(donations.c.campaign == subject.id)
    rows = (await conn.execute(
        select(*LEDGER_COLUMNS)
        .where(ledger_entries.c.donation_id.in_(gift_ids), ledger_entries.c.created_at < high)
        .order_by(ledger_entries.c.fund_id, ledger_entries.c.seq))).mappings().all()
    start = low if period.kind == "interim" else "0"  # the final report: the whole campaign
    goods = await _goods(conn, donations.c.campaign == subject.id, start, high)
    figures = await _aggregate(conn, rows, lambda r: r["created_at"] < start, goods)
    fund_ids = sorted(set(subject.fund_ids) | {str(r["fund_id"]) for r in rows})
    return {**figures, "heads": [await _head(conn, fund_id, high) for fund_id in fund_ids]}


SOURCES: dict[str, SubjectSource] = {
    "fund": SubjectSource(_load_funds, _fund_manager, _fund_figures),
    "campaign": SubjectSource(_load_campaigns, _campaign_manager, _campaign_figures),
}


def source(kind: str) -> SubjectSource:
    found = SOURCES.get(kind)
    if found is None:
        raise ProtocolError(404, "not_found", "没有这种公开主体", f"no such subject kind: {kind}",
                            field="kind")
    return found


async def subject_of(conn: AsyncConnection, kind: str, subject_id: str) -> Subject:
    found = await source(kind).load(conn, subject_id)
    if not found:
        raise ProtocolError(404, "not_found", "找不到该基金或募捐活动",
                            "no such fund or campaign", field="id")
    return found[0]


async def all_subjects(conn: AsyncConnection) -> list[Subject]:
    found: list[Subject] = []
    for src in SOURCES.values():
        found += await src.load(conn, None)
    return found


# ----------------------------------------------------------------------------- figures


async def station_names(conn: AsyncConnection) -> dict[str, str]:
    return {str(r.code): str(r.name) for r in await conn.execute(
        select(stations.c.code, stations.c.name))}


async def period_figures(conn: AsyncConnection, subject: Subject, period: Period
                         ) -> dict[str, Any]:
    """What a report freezes: the subject as the public sees it, the period, and the
    figures (by channel, destination, purpose category; balances; goods; matched gifts)
    with the chain heads. Categories and sums only."""
    figures = await source(subject.kind).figures(conn, subject, period)
    names = await station_names(conn) if subject.station else {}
    return {
        "subject": {"kind": subject.kind, "id": subject.id, "name": subject.name,
                    "station": subject.station,
                    "station_name": names.get(subject.station or "", subject.station),
                    "district": subject.district},
        "period": {"seq": period.seq, "kind": period.kind, "start": period.start.isoformat(),
                   "end": period.end.isoformat(), "due": period.due.isoformat()},
        **figures,
    }


def heads_of(figures: Mapping[str, Any]) -> list[dict[str, Any]]:
    if "heads" in figures:
        return list(figures["heads"])
    return [dict(figures["head"])]


def digest(figures: Mapping[str, Any], heads: Sequence[Mapping[str, Any]]) -> str:
    content = json.dumps({"figures": figures, "heads": list(heads)}, ensure_ascii=False,
                         sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(content.encode()).hexdigest()


# ----------------------------------------------------------------------------- calendar


@dataclass
class CalendarLine:
    subject: Subject
    period: Period
    status: str
    """``running`` (the period has not ended), ``due`` (ended, not yet due), ``overdue``,
    ``published``, ``published_late``."""
    published_at: str | None = None
    report: str | None = None

    def view(self) -> dict[str, Any]:
        return {
            "id": report_id(self.subject, self.period.seq),
            "subject_kind": self.subject.kind, "subject_id": self.subject.id,
            "subject_name": self.subject.name, "station": self.subject.station,
            "district": self.subject.district, "seq": self.period.seq,
            "period_kind": self.period.kind, "start": self.period.start.isoformat(),
            "end": self.period.end.isoformat(), "due": self.period.due.isoformat(),
            "status": self.status, "published_at": self.published_at,
            "late": self.status == "published_late",
        }


async def published(conn: AsyncConnection, subject: Subject | None = None
                    ) -> dict[str, Mapping[str, Any] | RowMapping]:
    query = select(disclosures.c.id, disclosures.c.published_at, disclosures.c.late)
    if subject is not None:
        query = query.where(disclosures.c.subject_kind == subject.kind,
                            disclosures.c.subject_id == subject.id)
    return {str(r["id"]): r for r in (await conn.execute(query)).mappings()}


def line_for(subject: Subject, period: Period, today: dt.date,
             done: Mapping[str, Mapping[str, Any] | RowMapping]) -> CalendarLine:
    report = done.get(report_id(subject, period.seq))
    if report is not None:
        return CalendarLine(subject, period, "published_late" if report["late"] else "published",
                            str(report["published_at"]), report_id(subject, period.seq))
    if period.end >= today:
        return CalendarLine(subject, period, "running")
    return CalendarLine(subject, period, "overdue" if today > period.due else "due")


async def calendar(conn: AsyncConnection, today: dt.date, *, grant: Grant | None = None,
                   subject: Subject | None = None) -> list[CalendarLine]:
    """Every period of the subjects ``grant`` answers for (or of ``subject``), oldest first
    per subject."""
    subjects = [subject] if subject is not None else await all_subjects(conn)
    if grant is not None:
        subjects = [s for s in subjects if source(s.kind).may_publish(grant, s)]
    done = await published(conn, subject)
    return [line_for(s, period, today, done) for s in subjects for period in schedule(s, today)]


def find_period(subject: Subject, seq: int, today: dt.date) -> Period:
    for period in schedule(subject, max(today, subject.end or today)):
        if period.seq == seq:
            return period
    raise ProtocolError(404, "not_found", "没有这一期", "no such period", field="seq")


# ----------------------------------------------------------------------------- publishing


def _refuse_if_not_manager(grant: Grant, subject: Subject) -> None:
    if not source(subject.kind).may_publish(grant, subject):
        raise ProtocolError(403, "forbidden",
                            "只有基金所在站点或慈善会的管理者可以公开信息",
                            "only the fund's station managers or the federation publish disclosures")


def _refuse_if_running(period: Period, today: dt.date) -> None:
    if period.end >= today:
        raise ProtocolError(409, "period_open",
                            f"该期({period.end.isoformat()} 结束)尚未结束,结束后才能公开",
                            f"the period ends on {period.end.isoformat()}; it can be published "
                            "only after it has ended")


async def preview(conn: AsyncConnection, grant: Grant, kind: str, subject_id: str, seq: int,
                  now: dt.datetime) -> dict[str, Any]:
    """What publishing would freeze now, for the manager to check first."""
    subject = await subject_of(conn, kind, subject_id)
    _refuse_if_not_manager(grant, subject)
    today = today_in_shanghai(now)
    period = find_period(subject, seq, today)
    line = line_for(subject, period, today, await published(conn, subject))
    figures = None if line.status == "running" else await period_figures(conn, subject, period)
    return {"line": line.view(), "figures": figures,
            "late_if_published_now": today > period.due}


async def publish(db: Database, grant: Grant, kind: str, subject_id: str, seq: int,
                  now: dt.datetime) -> dict[str, Any]:
    """Freeze the period's figures into a published report (once), audited; settles the
    reminders about it. Refused: not a manager of the subject (403), the period still
    running or already published (409)."""
    stamp = iso(now)
    today = today_in_shanghai(now)

    async def work(conn: AsyncConnection) -> dict[str, Any]:
        subject = await subject_of(conn, kind, subject_id)
        _refuse_if_not_manager(grant, subject)
        period = find_period(subject, seq, today)
        _refuse_if_running(period, today)
        ident = report_id(subject, seq)
        if (await conn.execute(select(disclosures.c.id).where(disclosures.c.id == ident))).first():
            raise _already(ident)
        figures = await period_figures(conn, subject, period)
        heads = heads_of(figures)
        row = {
            "id": ident, "subject_kind": subject.kind, "subject_id": subject.id, "seq": seq,
            "period_kind": period.kind, "period_start": period.start.isoformat(),
            "period_end": period.end.isoformat(), "due_on": period.due.isoformat(),
            "station": subject.station, "district": subject.district, "published_at": stamp,
            "published_by": grant.user_id, "late": today > period.due,
            "figures": json.dumps(figures, ensure_ascii=False, sort_keys=True),
            "heads": json.dumps(heads, ensure_ascii=False), "digest": digest(figures, heads),
        }
        await conn.execute(insert(disclosures).values(**row))
        await audit.record(conn, grant, "disclosure.publish", "disclosure", ident,
                           station=subject.station, district=subject.district,
                           detail={"subject": f"{subject.kind}:{subject.id}", "seq": seq,
                                   "late": row["late"], "heads": heads})
        await conn.execute(insert(notify_outbox).values(
            kind=RESOLVE, station=None, district=None,
            data=json.dumps({"subjects": [f"disclosure:{ident}"]}, ensure_ascii=False),
            created_at=stamp, state="pending", processed_at=None))
        return row

    try:
        row = await db.run_write(work)
    except IntegrityError:  # a second publish of the same period raced this one
        raise _already(f"{kind}:{subject_id}:{seq}") from None
    return report_view(row)


def _already(ident: str) -> ProtocolError:
    return ProtocolError(409, "already_published", "该期信息已公开,公开后不能修改或重发",
                         f"this period is already published ({ident}); a report is never changed")


def report_view(row: Mapping[str, Any] | RowMapping) -> dict[str, Any]:
    """A published report as the public reads it (no publisher's id: the audit log has it)."""
    return {
        "id": row["id"], "subject_kind": row["subject_kind"], "subject_id": row["subject_id"],
        "seq": row["seq"], "period_kind": row["period_kind"], "start": row["period_start"],
        "end": row["period_end"], "due": row["due_on"],
        "published_on": _local_day(str(row["published_at"])).isoformat(),
        "late": bool(row["late"]), "figures": json.loads(row["figures"]),
        "heads": json.loads(row["heads"]), "digest": row["digest"],
    }


async def report(conn: AsyncConnection, ident: str) -> dict[str, Any] | None:
    row = (await conn.execute(select(disclosures).where(disclosures.c.id == ident))
           ).mappings().first()
    return report_view(row) if row is not None else None


async def public_calendar(conn: AsyncConnection, kind: str, subject_id: str, now: dt.datetime
                          ) -> list[dict[str, Any]]:
    """What a public page shows of a subject's calendar: published reports (late ones
    marked) and overdue ones; periods still running or not yet due are left out."""
    found = await source(kind).load(conn, subject_id)
    if not found:
        return []
    lines = await calendar(conn, today_in_shanghai(now), subject=found[0])
    return [line.view() for line in reversed(lines)
            if line.status in ("published", "published_late", "overdue")]


# ----------------------------------------------------------------------------- reminders


@dataclass(frozen=True)
class DisclosureRules:
    remind_days: int = 14
    """Days before a due date that the responsible managers are reminded."""

    @classmethod
    def from_settings(cls, settings: Settings) -> DisclosureRules:
        return cls(remind_days=settings.disclosure_remind_days)


async def remind_due(db: Database, registry: Registry, pokes: PokeSink, rules: DisclosureRules,
                     now: dt.datetime) -> list[str]:
    """Remind the managers of each period due within ``remind_days`` (or overdue) and not
    published: one ``disclosure.due`` notification per period, ever (a row in
    ``disclosure_reminders`` commits with the outbox row). Returns the reminded ids."""
    today = today_in_shanghai(now)
    horizon = today + dt.timedelta(days=rules.remind_days)

    async def candidates(conn: AsyncConnection) -> list[tuple[Subject, Period]]:
        lines = await calendar(conn, today)
        wanted = [(line.subject, line.period) for line in lines
                  if line.status in ("running", "due", "overdue") and line.period.due <= horizon]
        if not wanted:
            return []
        sent = {str(r[0]) for r in await conn.execute(select(disclosure_reminders.c.id))}
        return [(s, p) for s, p in wanted if report_id(s, p.seq) not in sent]

    async with db.read() as conn:
        if not await candidates(conn):
            return []

    async def work(tx: Tx) -> list[str]:
        conn = tx.conn
        if db.is_postgres and not (await conn.execute(
                text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": SWEEP_LOCK})).scalar_one():
            return []
        stamp = iso(now)
        done = []
        for subject, period in await candidates(conn):
            ident = report_id(subject, period.seq)
            await conn.execute(insert(disclosure_reminders).values(
                id=ident, due_on=period.due.isoformat(), sent_at=stamp))
            await conn.execute(insert(notify_outbox).values(
                kind="disclosure.due", station=subject.station, district=subject.district,
                data=json.dumps({
                    "report_id": ident, "subject_kind": subject.kind, "subject_id": subject.id,
                    "subject_name": subject.name, "seq": period.seq,
                    "period_kind": period.kind, "start": period.start.isoformat(),
                    "end": period.end.isoformat(), "due": period.due.isoformat(),
                    "overdue": today > period.due, "station": subject.station,
                    "district": subject.district,
                }, ensure_ascii=False),
                created_at=stamp, state="pending", processed_at=None))
            done.append(ident)
        return done

    return await run_unit(db, registry, pokes, work)


def install(registry: Registry, rules: DisclosureRules = DisclosureRules()) -> None:
    registry.configure(rules)


__all__ = [
    "CHANNELS",
    "PURPOSES",
    "SOURCES",
    "CalendarLine",
    "DisclosureRules",
    "Period",
    "Subject",
    "SubjectSource",
    "add_months",
    "all_subjects",
    "calendar",
    "digest",
    "disclosure_reminders",
    "disclosures",
    "find_period",
    "install",
    "ledger_period",
    "now",
    "period_figures",
    "preview",
    "public_calendar",
    "publish",
    "remind_due",
    "report",
    "report_id",
    "schedule",
    "subject_of",
    "today_in_shanghai",
]
