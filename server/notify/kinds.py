"""What each kind of notification says, to whom, and how it travels as a push.

A kind is built from its outbox data (the domain event's payload plus what the
trigger added) into the inbox text (Chinese first), the screen a tap opens, and
a collapse key: a push service replaces an undelivered push of the same Topic,
so a repeat of the same notification (or a newer state of the same thing:
"fund still low", "hours still waiting") never piles up on a phone.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from server.notify.words import code_words, mutation_words, period_words

Text = tuple[str, str]
"""(zh, en)"""


@dataclass(frozen=True)
class Content:
    title: Text
    body: Text
    url: str
    target: dict[str, Any]
    collapse: str
    exclude_users: tuple[str, ...] = ()
    """Who must not get it: the requester (and the approver) of what waits for another person."""
    subject: str | None = None
    """The thing it is about (``issue:<id>``, ``disbursement:<id>:approval``): when that is
    settled the notification is marked resolved (server/notify/outbox.py)."""


@dataclass(frozen=True)
class Kind:
    name: str
    ttl_seconds: int
    urgency: str
    """RFC 8030 Urgency: very-low, low, normal, high."""
    station_managers: bool
    district_managers: bool
    build: Callable[[Mapping[str, Any]], Content]
    station_people: bool = False
    """Everyone with a role at the station, volunteers and residents included (a round's
    vote opening), not only its managers."""
    named_in: str | None = None
    """The outbox data's key naming the people it is for, one (``reviewer``) or a list
    (``users``): they alone get it, whatever their role (a reviewer's assignment, a person's
    own reminder); ``station_managers``/``district_managers`` are then unused."""

    def topic(self, collapse: str) -> str:
        """RFC 8030 Topic: at most 32 characters of the URL-safe base64 alphabet."""
        digest = hashlib.sha256(f"{self.name}|{collapse}".encode()).digest()[:24]
        return base64.urlsafe_b64encode(digest).decode()


def yuan(fen: Any) -> str:
    try:
        value = int(fen)
    except (TypeError, ValueError):
        return "?"
    sign = "-" if value < 0 else ""
    return f"{sign}¥{abs(value) // 100:,}.{abs(value) % 100:02d}"


def _station(data: Mapping[str, Any]) -> str:
    """The station's name (added by the outbox from the stations table), else its code,
    else the district."""
    return str(data.get("station_name") or data.get("station") or data.get("district") or "")


def _large_donation(data: Mapping[str, Any]) -> Content:
    goods = data.get("kind") == "goods"
    amount = yuan(data.get("amount_fen"))
    shown = str(data.get("donor_display") or "").strip()[:40]  # a push carries at most ~4 KB
    donor = shown or "匿名"
    donor_en = shown or "anonymous"
    return Content(
        title=(f"大额{'物资' if goods else ''}捐赠 {amount}", f"Large {'goods ' if goods else ''}donation {amount}"),
        body=(
            f"{_station(data)} 站收到{donor}的{'物资捐赠(估值)' if goods else '捐款'} {amount}",
            f"{_station(data)} received {'goods worth' if goods else 'a donation of'} {amount} from {donor_en}",
        ),
        url=f"/#/donations/d/{data.get('donation_id')}",
        target={"screen": "donation", "donation_id": data.get("donation_id"),
                "event_id": data.get("event_id")},
        collapse=str(data.get("donation_id")),
    )


def _hours_waiting(data: Mapping[str, Any]) -> Content:
    count = int(data.get("count") or 0)
    hours = data.get("hours")
    station = _station(data)
    return Content(
        title=(f"{count} 条服务时长待审批", f"{count} hour log{'s' if count != 1 else ''} waiting for approval"),
        body=(
            f"{station} 站有 {count} 条志愿服务时长已等待超过 {hours} 小时",
            f"{count} volunteer hour log{'s' if count != 1 else ''} at {station} waited more than {hours} h",
        ),
        url=f"/#/hours/review?station={station}",
        target={"screen": "hours_approvals", "station": data.get("station"),
                "log_ids": list(data.get("log_ids") or [])[:50]},
        collapse=f"hours:{station}",
    )


def _review(data: Mapping[str, Any]) -> Content:
    conflict = data.get("code") == "conflict_recorded"
    who = data.get("user_name") or data.get("user_id") or "?"
    what_zh, what_en = mutation_words(data.get("mutation"))
    why_zh, why_en = code_words(data.get("code"))
    title = ("有修改冲突待复核", "An edit conflict needs review") if conflict else (
        "有记录待复核", "An entry was flagged for review")
    return Content(
        title=title,
        body=(
            f"{who} 在{_station(data)}的「{what_zh}」待复核:{why_zh}",
            f"{what_en[:1].upper()}{what_en[1:]} by {who} at {_station(data)} held for review: {why_en}",
        ),
        url=f"/#/review/{data.get('issue_id')}",
        target={"screen": "review", "issue_id": data.get("issue_id")},
        collapse=str(data.get("issue_id")),
        subject=f"issue:{data.get('issue_id')}",
    )


def _correction(data: Mapping[str, Any]) -> Content:
    amount = yuan(data.get("amount_fen"))
    who = data.get("requested_by") or "?"
    return Content(
        title=("更正待第二人审批", "A correction needs a second approver"),
        body=(
            f"{who} 申请更正 {_station(data)} 的一笔捐赠({amount}),需要另一位管理者批准",
            f"{who} asked to correct a donation ({amount}) at {_station(data)}; another manager must approve",
        ),
        url=f"/#/corrections/{data.get('correction_id')}",
        target={"screen": "correction", "correction_id": data.get("correction_id"),
                "donation_id": data.get("donation_id")},
        collapse=str(data.get("correction_id")),
        exclude_users=(str(data["requested_by"]),) if data.get("requested_by") else (),
        subject=f"correction:{data.get('correction_id')}",
    )


def _disbursement_common(data: Mapping[str, Any]) -> tuple[str, str, str]:
    fund = str(data.get("fund_name") or data.get("fund_id") or "?")[:60]
    return yuan(data.get("amount_fen")), fund, str(data.get("disbursement_id"))


def _disbursement_approval(data: Mapping[str, Any]) -> Content:
    amount, fund, ident = _disbursement_common(data)
    who = data.get("requested_by") or "?"
    return Content(
        title=(f"拨付申请待审批 {amount}", f"Disbursement waiting for approval {amount}"),
        body=(
            f"{who} 申请从「{fund}」拨付 {amount},需要另一位管理者审批",
            f"{who} asked to pay {amount} from {fund}; another manager must approve",
        ),
        url=f"/#/funds/{data.get('fund_id')}",
        target={"screen": "fund", "fund_id": data.get("fund_id"), "disbursement_id": ident},
        collapse=f"disbursement:{ident}",
        exclude_users=tuple(str(data[k]) for k in ("requested_by",) if data.get(k)),
        subject=f"disbursement:{ident}:approval",
    )


def _disbursement_payment(data: Mapping[str, Any]) -> Content:
    amount, fund, ident = _disbursement_common(data)
    return Content(
        title=(f"拨付已批准,待付款 {amount}", f"Disbursement approved, waiting for payment {amount}"),
        body=(
            f"「{fund}」的拨付 {amount} 已由 {data.get('decided_by') or '?'} 批准,需要第三人付款",
            f"{amount} from {fund} was approved by {data.get('decided_by') or '?'}; a third person must pay it",
        ),
        url=f"/#/funds/{data.get('fund_id')}",
        target={"screen": "fund", "fund_id": data.get("fund_id"), "disbursement_id": ident},
        collapse=f"disbursement:{ident}",  # replaces the approval push still undelivered
        exclude_users=tuple(str(data[k]) for k in ("requested_by", "decided_by") if data.get(k)),
        subject=f"disbursement:{ident}:payment",
    )


def _fund_low(data: Mapping[str, Any]) -> Content:
    name = data.get("fund_name") or data.get("fund_id")
    return Content(
        title=(f"基金余额偏低:{name}", f"Fund running low: {name}"),
        body=(
            f"可用余额 {yuan(data.get('available_fen'))},低于提醒线 {yuan(data.get('low_water_fen'))}",
            (f"available {yuan(data.get('available_fen'))}, below the low-water mark "
            f"{yuan(data.get('low_water_fen'))}"),
        ),
        url=f"/#/funds/{data.get('fund_id')}",
        target={"screen": "fund", "fund_id": data.get("fund_id")},
        collapse=f"fund:{data.get('fund_id')}",
    )


def _phone_stale(data: Mapping[str, Any]) -> Content:
    pending = data.get("pending")
    hours = data.get("hours")
    who = data.get("user_id") or "?"
    return Content(
        title=("站点手机未同步", "A station phone has not synced"),
        body=(
            f"{who} 的手机有 {pending} 条记录未上传,已超过 {hours} 小时未连接服务器",
            (f"{who}'s phone holds {pending} unsynced entries and has not reached the server for "
            f"over {hours} h"),
        ),
        url="/#/inbox",  # the message itself says which phone and since when
        target={"screen": "inbox", "station": data.get("station"),
                "client_id": data.get("client_id")},
        collapse=f"stale:{data.get('client_id')}",
    )


def _disclosure_due(data: Mapping[str, Any]) -> Content:
    name = str(data.get("subject_name") or data.get("subject_id") or "?")[:60]
    kind_zh, kind_en = period_words(data.get("period_kind"))
    seq, due = data.get("seq"), data.get("due")
    span = f"{data.get('start')}–{data.get('end')}"
    ident = str(data.get("report_id"))
    if data.get("overdue"):
        title = (f"信息公开已逾期:{name}", f"Disclosure overdue: {name}")
    else:
        title = (f"信息公开将到期:{name}", f"Disclosure due soon: {name}")
    return Content(
        title=title,
        body=(
            f"「{name}」第 {seq} 期{kind_zh}公开({span})须在 {due} 前发布",
            f"{name}: {kind_en} disclosure no. {seq} ({span}) is due by {due}",
        ),
        url=f"/#/admin/disclosure/{data.get('subject_kind')}/{data.get('subject_id')}/{seq}",
        target={"screen": "disclosure", "subject_kind": data.get("subject_kind"),
                "subject_id": data.get("subject_id"), "seq": seq},
        collapse=f"disclosure:{ident}",
        subject=f"disclosure:{ident}",
    )


def _visit_follow_up(data: Mapping[str, Any]) -> Content:
    name = str(data.get("project_name") or data.get("project_id") or "?")[:60]
    due = data.get("due")
    if data.get("overdue"):
        title = (f"督查整改已逾期:{name}", f"Supervision follow-up overdue: {name}")
    else:
        title = (f"督查整改今日到期:{name}", f"Supervision follow-up due today: {name}")
    return Content(
        title=title,
        body=(
            f"「{name}」督查发现的问题须在 {due} 前整改完成,完成后请在项目中标记",
            (f"{name}: the follow-up asked for at a supervision visit is due by {due}; "
            "mark it done in the project"),
        ),
        url=f"/#/projects/{data.get('project_id')}",
        target={"screen": "service_project", "project_id": data.get("project_id"),
                "visit_id": data.get("visit_id")},
        collapse=f"visit:{data.get('visit_id')}",
        subject=f"visit:{data.get('visit_id')}",
    )


def _voting_open(data: Mapping[str, Any]) -> Content:
    title = str(data.get("title") or "微创投")[:60]
    ends = data.get("ends")
    until_zh = f",{ends} 截止" if ends else ""
    until_en = f" until {ends}" if ends else ""
    return Content(
        title=(f"微创投开始投票:{title}", f"Voting is open: {title}"),
        body=(
            f"{_station(data)}「{title}」开始投票{until_zh}。可以在手机上投票,也可以到投票点投票",
            f"{title} at {_station(data)} is voting{until_en}: vote on your phone or at a booth",
        ),
        url=f"/#/rounds/{data.get('round_id')}",
        target={"screen": "round", "round_id": data.get("round_id")},
        collapse=f"round:{data.get('round_id')}:voting",
    )


def _review_assigned(data: Mapping[str, Any]) -> Content:
    title = str(data.get("proposal_title") or data.get("proposal_id") or "?")[:60]
    round_title = str(data.get("round_title") or "")[:60]
    return Content(
        title=(f"请评审提案:{title}", f"Please review a proposal: {title}"),
        body=(
            f"「{round_title}」的提案「{title}」请您评审;如与申报组织有利益关系,请声明回避",
            (f"You are asked to review “{title}” of {round_title or 'a micro-venture round'}; "
             "if you have ties to the group, declare a conflict of interest"),
        ),
        url=f"/#/reviews/{data.get('review_id')}",
        target={"screen": "round_review", "review_id": data.get("review_id"),
                "proposal_id": data.get("proposal_id"), "round_id": data.get("round_id")},
        collapse=f"review:{data.get('review_id')}",
        subject=f"review:{data.get('review_id')}",
    )


def _when(value: Any) -> str:
    """A training's start in Shanghai time, "11月29日 14:00" / "29 Nov 14:00" alike."""
    import datetime as dt

    try:
        moment = dt.datetime.fromisoformat(str(value)).astimezone(dt.timezone(dt.timedelta(hours=8)))
    except ValueError:
        return str(value)
    return moment.strftime("%Y-%m-%d %H:%M")


def _training_reminder(data: Mapping[str, Any]) -> Content:
    topic = str(data.get("topic") or "?")[:60]
    when, place = _when(data.get("starts_at")), str(data.get("place") or "")[:60]
    return Content(
        title=(f"明天培训:{topic}", f"Training tomorrow: {topic}"),
        body=(f"{when} 在 {place},请带上手机,在门口出示培训页面的入场码",
              f"{when} at {place}; show the entry code on the training's page at the door"),
        url=f"/#/training/{data.get('training_id')}",
        target={"screen": "training", "training_id": data.get("training_id")},
        collapse=f"training:{data.get('training_id')}",
    )


def _training_seat(data: Mapping[str, Any]) -> Content:
    topic = str(data.get("topic") or "?")[:60]
    when, place = _when(data.get("starts_at")), str(data.get("place") or "")[:60]
    return Content(
        title=(f"候补转正:{topic}", f"You have a seat: {topic}"),
        body=(f"有人取消报名,您已从候补名单获得名额:{when} 在 {place}",
              f"someone withdrew and your place on the waiting list became a seat: {when} at {place}"),
        url=f"/#/training/{data.get('training_id')}",
        target={"screen": "training", "training_id": data.get("training_id")},
        collapse=f"training-seat:{data.get('signup_id')}",
    )


def _training_cancelled(data: Mapping[str, Any]) -> Content:
    topic = str(data.get("topic") or "?")[:60]
    when, reason = _when(data.get("starts_at")), str(data.get("reason") or "")[:100]
    return Content(
        title=(f"培训取消:{topic}", f"Training cancelled: {topic}"),
        body=(f"原定 {when} 的培训已取消:{reason}", f"the training of {when} was cancelled: {reason}"),
        url=f"/#/training/{data.get('training_id')}",
        target={"screen": "training", "training_id": data.get("training_id")},
        collapse=f"training:{data.get('training_id')}",  # replaces an undelivered reminder
    )


RESOLVE = "resolve"
"""An outbox row that is not a notification: the things named in its ``subjects`` were
settled (records.py ``enqueue_resolve``). It is processed in outbox order, so after the
rows that announced them; a mark (``resolved:<subject>``) keeps a notification still to be
expanded from being made at all."""

KINDS: dict[str, Kind] = {
    kind.name: kind
    for kind in (
        Kind("donation.large", 24 * 3600, "normal", True, True, _large_donation),
        Kind("hours.waiting", 24 * 3600, "low", True, False, _hours_waiting),
        Kind("review.flagged", 3 * 24 * 3600, "normal", True, True, _review),
        Kind("correction.waiting", 12 * 3600, "high", True, True, _correction),
        Kind("fund.low", 3 * 24 * 3600, "normal", True, True, _fund_low),
        Kind("phone.stale", 4 * 3600, "high", True, False, _phone_stale),
        # Only the federation (district managers) approves and pays (server/domain/funds.py).
        Kind("disbursement.waiting_approval", 24 * 3600, "high", False, True, _disbursement_approval),
        Kind("disbursement.waiting_payment", 24 * 3600, "high", False, True, _disbursement_payment),
        # The fund's (or campaign's) station managers and its district's (docs/disclosure.md).
        Kind("disclosure.due", 3 * 24 * 3600, "normal", True, True, _disclosure_due),
        # The project's station managers and its district's (docs/projects.md).
        Kind("visit.follow_up_due", 3 * 24 * 3600, "normal", True, True, _visit_follow_up),
        # Everyone at the round's station: its residents vote (docs/programme.md).
        Kind("round.voting_open", 3 * 24 * 3600, "normal", True, False, _voting_open,
             station_people=True),
        # The reviewer alone (docs/programme.md, "Review").
        Kind("review.assigned", 3 * 24 * 3600, "normal", False, False, _review_assigned,
             named_in="reviewer"),
        # A person's own: everyone holding a seat; the one who got a seat (docs/training.md).
        Kind("training.reminder", 24 * 3600, "normal", False, False, _training_reminder,
             named_in="users"),
        Kind("training.seat", 24 * 3600, "normal", False, False, _training_seat, named_in="users"),
        Kind("training.cancelled", 24 * 3600, "high", False, False, _training_cancelled,
             named_in="users"),
    )
}
