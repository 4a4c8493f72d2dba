"""Donations, receipts, corrections, community funds and goods (issue 3): every
mutation's args and every record as phones see it.

Money is integer fen (分). An amount is at least 1 fen and at most
``MAX_AMOUNT_FEN`` (100 million yuan): a bigger one is a typing mistake.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

from schemas.mutations import Name, Notes, Phone, StationCode, Title
from schemas.text import exact, multi_line, single_line
from schemas.wire import Uuid

MAX_AMOUNT_FEN = 10_000_000_000
"""100,000,000 yuan: the largest single amount the books accept."""
MAX_QUANTITY = 1_000_000
MAX_GOODS_ITEMS = 50
"""Item lines of one goods gift: a longer list is a mistake or an attack (1,000 lines at
100 million yuan each once lifted the public live totals)."""
MAX_ITEM_QUANTITY = 100_000
"""Units on one item line of a gift."""
MAX_ITEM_VALUE_FEN = 100_000_000
"""1,000,000 yuan: the largest estimated value of one item line."""
MAX_GOODS_TOTAL_FEN = 1_000_000_000
"""10,000,000 yuan: the largest estimated value of a whole goods gift (a mutator check:
a JSON Schema cannot sum the lines); bigger gifts are recorded as several."""

AmountFen = Annotated[
    int, msgspec.Meta(ge=1, le=MAX_AMOUNT_FEN, description="amount in fen (1/100 yuan), > 0")
]
ValueFen = Annotated[
    int, msgspec.Meta(ge=0, le=MAX_AMOUNT_FEN, description="estimated value in fen, >= 0")
]
Quantity = Annotated[int, msgspec.Meta(ge=1, le=MAX_QUANTITY)]
SeriesCode = Annotated[str, msgspec.Meta(pattern=exact(r"[A-Za-z0-9_-]{2,40}"))]
ReceiptNumber = Annotated[
    str,
    msgspec.Meta(
        pattern=exact(r"[A-Za-z0-9_-]{2,40}-\d{5}"),
        description="provisional receipt number: <series>-<5-digit counter>",
    ),
]
VerificationCode = Annotated[
    str, msgspec.Meta(pattern=exact(r"[A-Z2-9]{8}"), description="8 characters, A-Z and 2-9")
]
OfficialNumber = Annotated[str, single_line(min_length=1, max_length=64)]
Reason = Annotated[str, multi_line(min_length=1, max_length=500)]
Unit = Annotated[str, single_line(min_length=1, max_length=16)]
ItemName = Annotated[str, single_line(min_length=1, max_length=100)]
PaymentReference = Annotated[str, single_line(min_length=1, max_length=100)]

Method = Literal["cash", "bank_transfer", "wechat_pay", "alipay", "other"]
Direction = Literal["fund", "project", "undirected"]
CorrectionCategory = Literal["entry_error", "refund", "duplicate", "other"]
DisbursementCategory = Literal["hardship", "project", "goods", "operations", "other"]


# ----------------------------------------------------------------------------- args


class ReceiptSeriesClaimArgs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A phone asks, while online, for a receipt series of its own at a station."""

    id: Uuid
    """Made by the phone; the allocated series record carries it as ``claim_id``."""
    station: StationCode


class Donor(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    anonymous: bool = False
    name: Name | None = None
    phone: Phone | None = None
    organisation: Name | None = None
    wants_receipt: bool = True
    public_name_consent: bool = False
    """The donor agreed that their name appears on public pages; otherwise it is masked."""


ItemQuantity = Annotated[int, msgspec.Meta(ge=1, le=MAX_ITEM_QUANTITY)]
ItemValueFen = Annotated[int, msgspec.Meta(
    ge=0, le=MAX_ITEM_VALUE_FEN, description="estimated value of the line in fen, >= 0")]


class GoodsItem(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    name: ItemName
    quantity: ItemQuantity
    unit: Unit
    estimated_value_fen: ItemValueFen


class ReceiptIssue(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    number: ReceiptNumber
    code: VerificationCode


class DonationRecordArgs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    id: Uuid
    station: StationCode
    kind: Literal["money", "goods"]
    donor: Donor
    direction: Direction = "undirected"
    event_id: Uuid | None = None
    amount_fen: AmountFen | None = None
    method: Method | None = None
    items: Annotated[list[GoodsItem], msgspec.Meta(max_length=MAX_GOODS_ITEMS)] = []
    fund_id: Uuid | None = None
    project_id: Uuid | None = None
    receipt: ReceiptIssue | None = None
    """Null when the donor waived the receipt."""
    note: Notes = ""
    campaign: Uuid | None = None
    """The fundraising campaign the gift is collected under; null: the event's, else the one
    campaign open at the station for the gift's fund (docs/campaigns.md)."""


class ReceiptAttachOfficialArgs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    number: ReceiptNumber
    official_number: OfficialNumber


class ReceiptReissueArgs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    number: ReceiptNumber
    new_number: ReceiptNumber
    code: VerificationCode
    reason: Reason


class ReceiptWithdrawArgs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    number: ReceiptNumber
    reason: Reason


class ReceiptReprintArgs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    number: ReceiptNumber


class CorrectionRequestArgs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """``void`` cancels a donation; ``correct`` sets its amount (money) or estimated
    value (goods) to ``new_amount_fen``."""

    id: Uuid
    donation_id: Uuid
    action: Literal["void", "correct"]
    reason: Reason
    """Free text for managers; never published (public pages show ``category``)."""
    new_amount_fen: ValueFen | None = None
    category: CorrectionCategory = "other"
    """What public pages show of why: 录入错误 entry error, 退款 refund, 重复录入 duplicate, 其他 other."""


class DonationAllocateArgs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Book an unallocated money gift into a fund (optionally restricted to a project)."""

    id: Uuid
    donation_id: Uuid
    fund_id: Uuid
    project_id: Uuid | None = None


class CorrectionDecideArgs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    id: Uuid
    decision: Literal["approve", "reject"]
    note: Notes = ""


class FundCreateArgs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A special fund inside the city federation (``district`` null) or a district's."""

    id: Uuid
    name: Title
    district: Name | None = None
    station: StationCode | None = None
    """The station whose community the fund serves; undirected gifts there go to it."""
    purpose: Notes = ""


class FundSeedArgs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    id: Uuid
    fund_id: Uuid
    amount_fen: AmountFen
    note: Notes = ""


class ProjectCreateArgs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    id: Uuid
    fund_id: Uuid
    name: Title
    description: Notes = ""


class DisbursementRequestArgs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    id: Uuid
    fund_id: Uuid
    project_id: Uuid
    amount_fen: AmountFen
    payee: Name
    purpose: Notes = ""
    category: DisbursementCategory = "project"
    """Published: 困难救助 hardship relief, 项目支出 project spending, 物资采购 goods,
    运营 operations, 其他 other. ``purpose`` and ``payee`` are for managers only."""
    payee_kind: Literal["person", "organisation"] = "person"
    """A person's name is never published (shown as 受助人 / beneficiary)."""
    payee_public: bool = False
    """An organisation payee's name may appear on the public page (ignored for a person)."""


class DisbursementDecideArgs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    id: Uuid
    decision: Literal["approve", "reject"]
    note: Notes = ""


class DisbursementPayArgs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    id: Uuid
    reference: PaymentReference
    """The bank or payment reference of the transfer."""


class GoodsHandOutArgs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    id: Uuid
    station: StationCode
    name: ItemName
    unit: Unit
    quantity: Quantity
    recipient_kind: Literal["beneficiary", "project"]
    recipient: Name
    project_id: Uuid | None = None
    note: Notes = ""


# ----------------------------------------------------------------------------- records


class ReceiptSeriesRecord(msgspec.Struct, frozen=True):
    """A block of provisional receipt numbers that only one device issues."""

    code: str
    claim_id: str
    station: str
    district: str
    client_id: str
    user: str
    created_at: str
    device_id: str | None = None
    """The device it belongs to (kept across re-enrolment); None before migration 0009."""


class DonationRecord(msgspec.Struct, frozen=True):
    """One gift as recorded; never changed. Its current amount and status come from
    its corrections (``donation_correction`` records)."""

    id: str
    kind: Literal["money", "goods"]
    amount_fen: int
    """Money amount, or the goods' total estimated value."""
    method: str | None
    items: list[dict[str, Any]]
    donor_anonymous: bool
    donor_name: str | None
    donor_phone: str | None
    donor_organisation: str | None
    wants_receipt: bool
    public_name_consent: bool
    direction: str
    fund_id: str | None
    project_id: str | None
    station: str
    district: str
    event_id: str | None
    recorded_by: str
    client_id: str
    device_time: str
    recorded_at: str
    receipt_number: str | None
    note: str
    campaign: str | None = None
    """The fundraising campaign it was collected under (null only before migration 0017)."""


class ReceiptRecord(msgspec.Struct, frozen=True):
    number: str
    donation_id: str
    code: str
    status: Literal["issued", "withdrawn", "replaced"]
    official_number: str | None
    reprints: int
    replaced_by: str | None
    replaces: str | None
    station: str
    issued_by: str
    issued_at: str
    updated_at: str
    history: list[dict[str, Any]]


class CorrectionRecord(msgspec.Struct, frozen=True):
    id: str
    donation_id: str
    action: Literal["void", "correct"]
    new_amount_fen: int | None
    delta_fen: int
    """Change of the donation's amount when applied (negative for a void)."""
    reason: str
    status: Literal["pending", "applied", "rejected"]
    requested_by: str
    requested_at: str
    decided_by: str | None
    decided_at: str | None
    decision_note: str
    station: str
    category: str = "other"


class FundRecord(msgspec.Struct, frozen=True):
    id: str
    name: str
    district: str | None
    station: str | None
    purpose: str
    balance_fen: int
    reserved_fen: int
    """Approved disbursements not paid yet."""
    head_seq: int
    head_hash: str
    created_by: str
    created_at: str


class ProjectRecord(msgspec.Struct, frozen=True):
    id: str
    fund_id: str
    name: str
    description: str
    created_at: str


class LedgerEntryRecord(msgspec.Struct, frozen=True):
    id: str
    movement_id: str
    fund_id: str
    seq: int
    account: str
    amount_fen: int
    kind: str
    donation_id: str | None
    correction_id: str | None
    disbursement_id: str | None
    project_id: str | None
    category: str
    """Public: a correction's reason category or a disbursement's purpose category."""
    note: str
    """Managers only; blank once erased (``note_digest`` stays: the hash covers it)."""
    created_by: str
    created_at: str
    note_digest: str
    prev_hash: str
    hash: str


class DisbursementRecord(msgspec.Struct, frozen=True):
    id: str
    fund_id: str
    project_id: str
    amount_fen: int
    payee: str
    purpose: str
    category: str
    payee_kind: str
    payee_public: bool
    status: Literal["requested", "approved", "rejected", "paid"]
    requested_by: str
    requested_at: str
    decided_by: str | None
    decided_at: str | None
    decision_note: str
    paid_by: str | None
    paid_at: str | None
    reference: str | None
    station: str | None
    """Where the fund lives (as on ``FundRecord``)."""
    district: str | None


class GoodsStockRecord(msgspec.Struct, frozen=True):
    id: str
    station: str
    name: str
    unit: str
    quantity: int
    updated_at: str


class GoodsMovementRecord(msgspec.Struct, frozen=True):
    id: str
    stock_id: str
    station: str
    delta: int
    kind: Literal["received", "handed_out", "voided"]
    donation_id: str | None
    recipient_kind: str | None
    recipient: str | None
    project_id: str | None
    note: str
    created_by: str
    created_at: str
