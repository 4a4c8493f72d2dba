"""Service projects (issue 15; docs/projects.md): brand projects of a station and
micro-venture projects from a funded proposal, their grant with tranches, milestones with
weighted progress, progress reports, follow-up feedback, supervision visits, indicator
actuals and the closing evaluation. Every mutation's args and every record as phones see it.

Money is integer fen; dates are calendar days (Asia/Shanghai); ids are client-made UUIDs.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from schemas.attachments import AttachmentRef, Attachments
from schemas.donations import AmountFen
from schemas.mutations import IsoDate, Name, Notes, StationCode, Title
from schemas.text import exact, multi_line, single_line
from schemas.wire import Uuid

BRAND_CATEGORIES: dict[str, tuple[str, str]] = {
    "elderly": ("扶老", "elderly"),
    "hardship": ("助困", "hardship"),
    "orphans": ("恤孤", "orphans"),
    "disability": ("助残", "disability"),
    "governance": ("社区治理", "community governance"),
}
"""A service project's category (the plan's five brand lines), in its words."""

BrandCategory = Literal["elderly", "hardship", "orphans", "disability", "governance"]
ProjectKind = Literal["micro_venture", "brand"]
ProjectStatus = Literal["active", "closing", "closed"]
TrancheStatus = Literal["planned", "requested", "approved", "paid", "rejected"]
VisitRating = Literal["good", "needs_improvement", "serious"]

MAX_INDICATORS = 20
MAX_MILESTONES = 20
MAX_TRANCHES = 20
MAX_EVALUATORS = 10

Key = Annotated[str, msgspec.Meta(pattern=exact(r"[A-Za-z0-9_-]{1,32}"),
                                  description="a short key, unique within its list")]
Unit = Annotated[str, single_line(min_length=1, max_length=20)]
Figure = Annotated[float, msgspec.Meta(ge=0, le=1_000_000_000)]
Weight = Annotated[int, msgspec.Meta(ge=1, le=100)]
Percent = Annotated[int, msgspec.Meta(ge=0, le=100)]
Period = Annotated[str, msgspec.Meta(
    pattern=exact(r"(?:19|2\d)\d{2}(?:-Q[1-4]|-(?:0[1-9]|1[0-2])|-H[12])?"),
    description="a period: 2026, 2026-Q3, 2026-H2 or 2026-07")]
UserId = Annotated[str, single_line(min_length=1, max_length=64)]
Summary = Annotated[str, multi_line(max_length=2000)]


class Indicator(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    key: Key
    name: Title
    unit: Unit
    target: Figure


Indicators = Annotated[list[Indicator], msgspec.Meta(max_length=MAX_INDICATORS)]


class MilestonePlan(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One milestone of a project's plan; ``weight`` is its share of the project (the
    weights of a project sum to 100)."""

    id: Uuid
    title: Title
    weight: Weight
    due: IsoDate | None = None


Milestones = Annotated[list[MilestonePlan], msgspec.Meta(max_length=MAX_MILESTONES)]


class ServiceProjectCreateArgs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A brand service project of a station, supported by a fund (it is also the fund's
    ``project`` with the same id)."""

    id: Uuid
    fund_id: Uuid
    station: StationCode
    category: BrandCategory
    name: Title
    summary: Summary = ""
    """Staff-written, public (the project's page)."""
    indicators: Indicators = []
    milestones: Milestones = []
    attachments: Attachments = []


class TranchePlan(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    id: Uuid
    amount_fen: AmountFen
    milestone_id: Uuid | None = None
    """Paid once this milestone is at 100 (null: no milestone, e.g. the first advance)."""
    milestone_key: Key | None = None
    """For a micro-venture grant: the proposal timeline's key instead of an id."""


Tranches = Annotated[list[TranchePlan], msgspec.Meta(max_length=MAX_TRANCHES)]


class MilestoneWeight(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    key: Key
    weight: Weight


class GrantCreateArgs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The grant agreement (协议资助). With ``proposal_id`` (a funded proposal of a round):
    makes the micro-venture project ``project_id`` (its milestones from the proposal's
    timeline) and the grant. Without: the grant of an existing brand project."""

    id: Uuid
    project_id: Uuid
    amount_fen: AmountFen
    signed_at: IsoDate
    tranches: Tranches = []
    proposal_id: Uuid | None = None
    category: BrandCategory | None = None
    summary: Summary = ""
    weights: Annotated[list[MilestoneWeight], msgspec.Meta(max_length=MAX_MILESTONES)] = []
    """Weights of the proposal's timeline items (by key); default: equal shares."""


class TrancheAddArgs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One more planned tranche of a grant (the tranches never sum above the grant)."""

    id: Uuid
    grant_id: Uuid
    amount_fen: AmountFen
    milestone_id: Uuid | None = None


class TrancheRequestArgs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Ask for a tranche's money: a disbursement of the fund (request, approve, pay by
    three people; the invoice photo above the line) is made and linked."""

    id: Uuid
    """The tranche."""
    disbursement_id: Uuid
    payee: Name
    payee_kind: Literal["person", "organisation"] = "organisation"
    payee_public: bool = False
    purpose: Notes = ""
    attachments: Attachments = []


class MilestoneSetArgs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The project's milestone plan, whole: every existing milestone is listed (none is
    dropped), new ones may be added, titles, weights and dues change; weights sum to 100."""

    project_id: Uuid
    milestones: Annotated[list[MilestonePlan], msgspec.Meta(min_length=1, max_length=MAX_MILESTONES)]


class ProgressReportArgs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    id: Uuid
    project_id: Uuid
    milestone_id: Uuid
    progress: Percent
    """The milestone's progress now (0..100)."""
    text: Notes = ""
    attachments: Attachments = []


class FeedbackRecordArgs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A beneficiary's follow-up feedback, taken by staff (offline): no name."""

    id: Uuid
    project_id: Uuid
    score: Annotated[int, msgspec.Meta(ge=1, le=5)]
    comment: Notes = ""
    """Staff and managers only; never public."""
    taken_on: IsoDate | None = None


class VisitRecordArgs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A supervision visit (督查), logged offline."""

    id: Uuid
    project_id: Uuid
    visited_on: IsoDate
    rating: VisitRating
    findings: Notes = ""
    follow_up: Notes = ""
    follow_up_due: IsoDate | None = None
    attachments: Attachments = []


class VisitFollowUpDoneArgs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    id: Uuid
    note: Notes = ""


class IndicatorRecordArgs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """An indicator's actual value for one period (a second one for the same period
    replaces it: same record, latest value)."""

    id: Uuid
    project_id: Uuid
    indicator_key: Key
    period: Period
    value: Figure


class EvaluationScores(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The plan's four methods: 需求评价 needs, 绩效管理 performance, 跟踪反馈 feedback,
    监督检查 supervision; each 0..100."""

    needs: Percent
    performance: Percent
    feedback: Percent
    supervision: Percent


class EvaluationSubmitArgs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    project_id: Uuid
    scores: EvaluationScores
    conclusion: Notes
    public_summary: Summary
    evaluators: Annotated[list[UserId], msgspec.Meta(max_length=MAX_EVALUATORS)] = []
    """Who evaluated with the submitter (the submitter is added)."""


class ServiceProjectCloseArgs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    id: Uuid


# ----------------------------------------------------------------------------- records


class ServiceProjectRecord(msgspec.Struct, frozen=True):
    id: str
    fund_id: str
    station: str
    district: str
    kind: ProjectKind
    category: str
    name: str
    summary: str
    round_id: str | None
    proposal_id: str | None
    indicators: list[Indicator]
    status: ProjectStatus
    progress: int
    """0..100: the milestones' progress weighted by their weights."""
    created_by: str
    created_at: str
    attachments: list[AttachmentRef] = []


class GrantRecord(msgspec.Struct, frozen=True):
    id: str
    project_id: str
    fund_id: str
    station: str
    district: str
    amount_fen: int
    signed_at: str
    signed_by: str
    created_at: str


class GrantTrancheRecord(msgspec.Struct, frozen=True):
    id: str
    grant_id: str
    project_id: str
    milestone_id: str | None
    amount_fen: int
    status: TrancheStatus
    disbursement_id: str | None
    station: str
    district: str
    updated_at: str


class MilestoneRecord(msgspec.Struct, frozen=True):
    id: str
    project_id: str
    title: str
    weight: int
    due: str | None
    progress: int
    position: int
    station: str
    district: str
    updated_at: str


class ProgressReportRecord(msgspec.Struct, frozen=True):
    id: str
    project_id: str
    milestone_id: str
    progress: int
    text: str
    attachments: list[AttachmentRef]
    by: str
    at: str
    station: str
    district: str


class ProjectFeedbackRecord(msgspec.Struct, frozen=True):
    id: str
    project_id: str
    score: int
    comment: str
    taken_by: str
    taken_at: str
    station: str
    district: str


class SupervisionVisitRecord(msgspec.Struct, frozen=True):
    id: str
    project_id: str
    visited_at: str
    findings: str
    rating: VisitRating
    follow_up: str
    follow_up_due: str | None
    follow_up_done_at: str | None
    follow_up_note: str
    attachments: list[AttachmentRef]
    by: str
    station: str
    district: str


class IndicatorActualRecord(msgspec.Struct, frozen=True):
    id: str
    project_id: str
    indicator_key: str
    period: str
    value: float
    by: str
    at: str
    station: str
    district: str


class EvaluationRecord(msgspec.Struct, frozen=True):
    id: str
    project_id: str
    scores: EvaluationScores
    overall: int
    spent_fen: int
    budget_fen: int
    conclusion: str
    public_summary: str
    evaluators: list[str]
    evaluated_at: str
    station: str
    district: str


__all__ = [
    "BRAND_CATEGORIES",
    "EvaluationRecord",
    "EvaluationScores",
    "EvaluationSubmitArgs",
    "FeedbackRecordArgs",
    "GrantCreateArgs",
    "GrantRecord",
    "GrantTrancheRecord",
    "Indicator",
    "IndicatorActualRecord",
    "IndicatorRecordArgs",
    "MilestonePlan",
    "MilestoneRecord",
    "MilestoneSetArgs",
    "ProgressReportArgs",
    "ProgressReportRecord",
    "ProjectFeedbackRecord",
    "ServiceProjectCloseArgs",
    "ServiceProjectCreateArgs",
    "ServiceProjectRecord",
    "SupervisionVisitRecord",
    "TrancheAddArgs",
    "TranchePlan",
    "TrancheRequestArgs",
    "VisitFollowUpDoneArgs",
    "VisitRecordArgs",
]
