"""The community micro-venture round (社区公益微创投, issue 15; docs/programme.md): rounds
with dated phases and rules, residents' needs, community groups, proposals with every
version kept, and their review. Every mutation's args and every record as phones see it.

Money is integer fen. Dates are calendar days in Asia/Shanghai, both ends inclusive.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, UnsetType

from schemas.attachments import AttachmentRef, Attachments
from schemas.donations import AmountFen
from schemas.mutations import IsoDate, Name, Notes, Phone, StationCode, Title
from schemas.people import PersonId
from schemas.text import exact, multi_line, single_line
from schemas.wire import Uuid

PHASES: tuple[str, ...] = (
    "needs", "proposals", "review", "voting", "results", "implementation", "closed")
"""A round's phases in order; ``round.advance`` moves to the next one."""
DATED_PHASES: tuple[str, ...] = ("needs", "proposals", "review", "voting")
"""The phases with dates set in the round's rules."""
PHASE_NAMES: dict[str, tuple[str, str]] = {
    "needs": ("征集需求", "needs"),
    "proposals": ("提交提案", "proposals"),
    "review": ("评审", "review"),
    "voting": ("投票", "voting"),
    "results": ("公布结果", "results"),
    "implementation": ("项目实施", "implementation"),
    "closed": ("已结束", "closed"),
}

NEED_CATEGORIES: tuple[str, ...] = (
    "elderly", "children", "disability", "hardship", "environment", "governance", "culture",
    "other")
NEED_CATEGORY_NAMES: dict[str, tuple[str, str]] = {
    "elderly": ("扶老", "older people"),
    "children": ("恤孤", "children"),
    "disability": ("助残", "disability"),
    "hardship": ("助困", "hardship"),
    "environment": ("环境", "environment"),
    "governance": ("社区治理", "community governance"),
    "culture": ("文化", "culture"),
    "other": ("其他", "other"),
}

Phase = Literal["needs", "proposals", "review", "voting", "results", "implementation", "closed"]
NeedCategory = Literal["elderly", "children", "disability", "hardship", "environment",
                       "governance", "culture", "other"]
Key = Annotated[str, msgspec.Meta(pattern=exact(r"[a-z][a-z0-9_]{0,31}"),
                                  description="a short key: lower-case letters, digits, _")]
Community = Annotated[str, single_line(min_length=1, max_length=100)]
"""The neighbourhood (社区) a need comes from."""
Description = Annotated[str, multi_line(min_length=1, max_length=2000)]
Year = Annotated[int, msgspec.Meta(ge=2000, le=2999)]
Weight = Annotated[int, msgspec.Meta(ge=1, le=100)]
Score = Annotated[int, msgspec.Meta(ge=0, le=10)]
Count = Annotated[int, msgspec.Meta(ge=0, le=10_000_000)]
LineQuantity = Annotated[int, msgspec.Meta(ge=1, le=100_000)]
UnitCostFen = Annotated[int, msgspec.Meta(ge=0, le=100_000_000_00)]
RegistrationNo = Annotated[str, single_line(max_length=64)]
Reason = Annotated[str, multi_line(max_length=2000)]
RequiredReason = Annotated[str, multi_line(min_length=1, max_length=2000)]
Members = Annotated[list[PersonId], msgspec.Meta(max_length=200)]
NeedIds = Annotated[list[Uuid], msgspec.Meta(max_length=50)]


class PhaseDates(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    starts: IsoDate
    ends: IsoDate


class Criterion(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One line of the review scorecard: scored 0..10, weighted (weights sum to 100)."""

    key: Key
    name: Name
    weight: Weight


Criteria = Annotated[list[Criterion], msgspec.Meta(min_length=1, max_length=12)]
PhasePlan = dict[Literal["needs", "proposals", "review", "voting"], PhaseDates]

DEFAULT_CRITERIA: tuple[tuple[str, str, int], ...] = (
    ("need_fit", "需求契合度", 30),
    ("feasibility", "可行性", 25),
    ("budget", "预算合理性", 20),
    ("capacity", "团队能力", 15),
    ("sustainability", "可持续性", 10),
)
"""The scorecard a round gets when its creator names none."""


class RoundCreateArgs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A yearly round of a community fund: budget, rules and dated phases. The round
    starts in its needs phase."""

    id: Uuid
    fund_id: Uuid
    station: StationCode
    """The station whose community the round serves (the fund's station, if it has one)."""
    title: Title
    year: Year
    budget_fen: AmountFen
    min_project_fen: AmountFen
    max_project_fen: AmountFen
    phases: PhasePlan
    """Dates of the needs, proposals, review and voting phases (all four)."""
    criteria: Criteria | None = None
    """The review scorecard; none: ``DEFAULT_CRITERIA``."""
    voters: Literal["residents"] = "residents"
    method: Literal["knapsack"] = "knapsack"


class RoundFields(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    title: Title | UnsetType = UNSET
    budget_fen: AmountFen | UnsetType = UNSET
    min_project_fen: AmountFen | UnsetType = UNSET
    max_project_fen: AmountFen | UnsetType = UNSET
    phases: PhasePlan | UnsetType = UNSET
    criteria: Criteria | UnsetType = UNSET
    voters: Literal["residents"] | UnsetType = UNSET
    method: Literal["knapsack"] | UnsetType = UNSET


class RoundUpdateArgs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Dates, budget and rules; refused once the rules are locked (voting opened)."""

    id: Uuid
    fields: RoundFields


class RoundAdvanceArgs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Move the round to ``to``, which must be its next phase (so a repeated or late
    request never skips one)."""

    id: Uuid
    to: Phase


class NeedContact(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The resident's contact, if they give it: staff only, never public, erasable."""

    name: Name | None = None
    phone: Phone | None = None


class NeedSubmitArgs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A need raised by a resident: recorded by station staff (offline, on the resident's
    behalf, at a booth or an event) or by a signed-in resident themself."""

    id: Uuid
    round_id: Uuid
    category: NeedCategory
    community: Community
    description: Description
    """In the resident's words: staff only, never published."""
    raised_via: Literal["booth", "staff"] = "staff"
    contact: NeedContact | None = None
    attachments: Attachments = []


class NeedMergeArgs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Merge need ``id`` (a duplicate) into ``into``: its residents count there; it is kept."""

    id: Uuid
    into: Uuid


class NeedPublishArgs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Staff write the need's public title (no resident's words, no personal data)."""

    id: Uuid
    public_title: Title


class NeedEraseContactArgs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Erase what identifies the resident on a need (PIPL): their contact and their words
    (replaced by ``ERASED_TEXT``); the category, community, count and public title stay."""

    id: Uuid


ERASED_TEXT = "已删除 / erased"


class GroupRegisterArgs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A community social organisation (社区社会组织) at a station, with its members."""

    id: Uuid
    name: Name
    station: StationCode
    registration_no: RegistrationNo = ""
    members: Members = []


class GroupSetMembersArgs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    id: Uuid
    members: Members


class BudgetLine(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    item: Name
    quantity: LineQuantity
    unit_cost_fen: UnitCostFen


class Indicator(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    key: Key
    name: Name
    unit: Annotated[str, single_line(min_length=1, max_length=16)]
    target: Annotated[float, msgspec.Meta(ge=0, le=1e9)]


class TimelineStep(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    key: Key
    title: Title
    due: IsoDate


BudgetLines = Annotated[list[BudgetLine], msgspec.Meta(min_length=1, max_length=50)]
Indicators = Annotated[list[Indicator], msgspec.Meta(max_length=20)]
Timeline = Annotated[list[TimelineStep], msgspec.Meta(max_length=30)]


class ProposalSubmitArgs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A group's proposal (version 1); the total is computed from the budget lines."""

    id: Uuid
    round_id: Uuid
    group_id: Uuid
    title: Title
    need_ids: NeedIds
    beneficiaries: Notes
    beneficiary_count: Count
    activities: Notes
    budget_lines: BudgetLines
    indicators: Indicators = []
    team: Notes = ""
    timeline: Timeline = []


class ProposalFields(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    title: Title | UnsetType = UNSET
    need_ids: NeedIds | UnsetType = UNSET
    beneficiaries: Notes | UnsetType = UNSET
    beneficiary_count: Count | UnsetType = UNSET
    activities: Notes | UnsetType = UNSET
    budget_lines: BudgetLines | UnsetType = UNSET
    indicators: Indicators | UnsetType = UNSET
    team: Notes | UnsetType = UNSET
    timeline: Timeline | UnsetType = UNSET


class ProposalEditArgs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A new version of the proposal (the old one is kept); until the proposals phase ends."""

    id: Uuid
    fields: ProposalFields


class ProposalWithdrawArgs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    id: Uuid
    reason: Reason = ""


class ReviewAssignArgs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A fund manager asks ``reviewer`` to review the proposal (never a member of its group)."""

    id: Uuid
    proposal_id: Uuid
    reviewer: PersonId


class ReviewDeclareConflictArgs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The reviewer declines: a conflict of interest (a tie to the group, ...)."""

    id: Uuid
    reason: RequiredReason


class ReviewSubmitArgs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The scorecard: a score 0..10 for every criterion of the round, feasible or not with
    a reason, and the price the reviewer finds right."""

    id: Uuid
    scores: dict[Key, Score]
    feasible: bool
    reason: RequiredReason
    adjusted_price_fen: AmountFen | None = None


class ProposalConcludeArgs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A fund manager's conclusion from the reviews: feasible with an adjusted price
    (within the round's minimum and maximum), or infeasible; the reason is shown to the
    group."""

    id: Uuid
    feasible: bool
    reason: RequiredReason
    adjusted_price_fen: AmountFen | None = None


# ----------------------------------------------------------------------------- records


class RoundRecord(msgspec.Struct, frozen=True):
    """A round; public."""

    id: str
    fund_id: str
    station: str
    district: str
    title: str
    year: int
    budget_fen: int
    min_project_fen: int
    max_project_fen: int
    voters: str
    method: str
    phase: str
    phases: dict[str, dict[str, str]]
    rules_locked: bool
    criteria: list[Criterion]
    phase_changed_at: str
    created_by: str
    created_at: str
    updated_at: str


class NeedRecord(msgspec.Struct, frozen=True):
    """A need: staff of the station (and the resident who raised it on their own phone).
    ``description`` and ``contact`` are never public (the public page shows
    ``public_title``, category, community and count only)."""

    id: str
    round_id: str
    station: str
    district: str
    category: str
    community: str
    description: str
    public_title: str
    status: str
    merged_into: str | None
    raised_count: int
    raised_via: str
    contact: NeedContact | None
    attachments: list[AttachmentRef]
    created_by: str
    created_at: str
    updated_at: str


class CommunityGroupRecord(msgspec.Struct, frozen=True):
    """A community group; ``members`` shown to its members and the station's staff."""

    id: str
    name: str
    station: str
    district: str
    registration_no: str
    members: list[str]
    created_by: str
    created_at: str
    updated_at: str


class ProposalRecord(msgspec.Struct, frozen=True):
    id: str
    round_id: str
    group_id: str
    station: str
    district: str
    title: str
    need_ids: list[str]
    beneficiaries: str
    beneficiary_count: int
    activities: str
    budget_lines: list[BudgetLine]
    budget_total_fen: int
    indicators: list[Indicator]
    team: str
    timeline: list[TimelineStep]
    version: int
    status: str
    review_score: float | None
    adjusted_price_fen: int | None
    review_reason: str
    submitted_by: str
    submitted_at: str
    updated_at: str


class ProposalSnapshot(msgspec.Struct, frozen=True):
    """A proposal's fields at one version."""

    title: str
    need_ids: list[str]
    beneficiaries: str
    beneficiary_count: int
    activities: str
    budget_lines: list[BudgetLine]
    budget_total_fen: int
    indicators: list[Indicator]
    team: str
    timeline: list[TimelineStep]


class ProposalVersionRecord(msgspec.Struct, frozen=True):
    """A proposal as it stood at one version (``snapshot``: its fields then)."""

    id: str
    proposal_id: str
    round_id: str
    station: str
    district: str
    version: int
    snapshot: ProposalSnapshot
    edited_by: str
    edited_at: str


class ReviewedNeed(msgspec.Struct, frozen=True):
    """A need a proposal answers, as the public sees it."""

    id: str
    category: str
    community: str
    public_title: str
    raised_count: int


class ReviewedProposal(ProposalSnapshot, frozen=True):
    """The proposal as its reviewer gets it (copied when assigned, in the review phase)."""

    id: str
    version: int
    group: str
    needs: list[ReviewedNeed]


class ReviewRecord(msgspec.Struct, frozen=True):
    """One reviewer's review of one proposal: the reviewer and the federation see it."""

    id: str
    proposal_id: str
    round_id: str
    station: str
    district: str
    reviewer: str
    status: str
    scores: dict[str, int]
    weighted_score: float | None
    feasible: bool | None
    reason: str
    adjusted_price_fen: int | None
    assigned_by: str
    assigned_at: str
    submitted_at: str | None
    updated_at: str
    proposal: ReviewedProposal
    """What is reviewed: a reviewer from another station sees no proposal record."""
