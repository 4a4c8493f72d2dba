"""Fundraising campaigns (public fundraising plans of qualified organisations) and
matched giving (issue 16): every mutation's args and every record as phones see it.

Money is integer fen. Dates are calendar days in Asia/Shanghai, both ends inclusive.
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import UNSET, UnsetType

from schemas.donations import AmountFen
from schemas.mutations import IsoDate, Name, Notes, StationCode, Title
from schemas.text import exact, single_line
from schemas.wire import Uuid

CreditCode = Annotated[str, msgspec.Meta(
    pattern=exact(r"[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}"),
    description="unified social credit code (统一社会信用代码), 18 characters")]
FilingNumber = Annotated[str, single_line(min_length=4, max_length=64)]
"""The plan's filing number (备案编号) on 慈善中国, e.g. 53440100MJK5829384A25001."""
CertificateNumber = Annotated[str, single_line(min_length=1, max_length=64)]
Qualification = Annotated[str, single_line(min_length=1, max_length=100)]
MAX_LINKS = 50
FundIds = Annotated[list[Uuid], msgspec.Meta(min_length=1, max_length=MAX_LINKS)]
ProjectIds = Annotated[list[Uuid], msgspec.Meta(max_length=MAX_LINKS)]
StationCodes = Annotated[list[StationCode], msgspec.Meta(max_length=MAX_LINKS)]
CampaignIds = Annotated[list[Uuid], msgspec.Meta(min_length=1, max_length=MAX_LINKS)]
RatioPercent = Annotated[int, msgspec.Meta(
    ge=1, le=1000, description="matched fen per 100 fen given: 100 = 1:1, 50 = 1:2")]


class CampaignCreateArgs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A public fundraising plan filed by a qualified organisation, under which stations
    collect. ``district`` null: the city's (admins only)."""

    id: Uuid
    name: Title
    organisation: Name
    """The organisation holding the public fundraising qualification, which holds the money."""
    organisation_code: CreditCode
    qualification: Qualification
    """e.g. 公开募捐资格 (public fundraising qualification)."""
    certificate_number: CertificateNumber
    filing_number: FilingNumber
    purpose: Notes
    starts_on: IsoDate
    ends_on: IsoDate
    fund_ids: FundIds
    district: Name | None = None
    project_ids: ProjectIds = []
    """Empty: every project of the funds."""
    stations: StationCodes = []
    """Stations that collect under it; empty: every station of its district (or the city)."""
    target_fen: AmountFen | None = None
    platform_url: Annotated[str, single_line(max_length=300)] = ""
    """The plan's page on the national charity information platform (慈善中国), if known."""


class CampaignFields(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    name: Title | UnsetType = UNSET
    purpose: Notes | UnsetType = UNSET
    starts_on: IsoDate | UnsetType = UNSET
    ends_on: IsoDate | UnsetType = UNSET
    fund_ids: FundIds | UnsetType = UNSET
    project_ids: ProjectIds | UnsetType = UNSET
    stations: StationCodes | UnsetType = UNSET
    target_fen: AmountFen | None | UnsetType = UNSET
    certificate_number: CertificateNumber | UnsetType = UNSET
    filing_number: FilingNumber | UnsetType = UNSET
    platform_url: Annotated[str, single_line(max_length=300)] | UnsetType = UNSET


class CampaignUpdateArgs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Edit a campaign (the organisation and its code are fixed: a new organisation is a
    new plan)."""

    id: Uuid
    fields: CampaignFields


class MatchingRuleCreateArgs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A sponsor matches gifts to these campaigns in the period: ``ratio_percent`` fen
    per 100 fen given, at most ``cap_per_gift_fen`` per gift and ``cap_total_fen`` in all."""

    id: Uuid
    sponsor: Name
    """Published on the campaign and fund pages as the matching gifts' giver."""
    ratio_percent: RatioPercent
    cap_per_gift_fen: AmountFen
    cap_total_fen: AmountFen
    starts_on: IsoDate
    ends_on: IsoDate
    campaign_ids: CampaignIds


class MatchingRuleFields(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    sponsor: Name | UnsetType = UNSET
    ratio_percent: RatioPercent | UnsetType = UNSET
    cap_per_gift_fen: AmountFen | UnsetType = UNSET
    cap_total_fen: AmountFen | UnsetType = UNSET
    starts_on: IsoDate | UnsetType = UNSET
    ends_on: IsoDate | UnsetType = UNSET


class MatchingRuleUpdateArgs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Edit a rule; the total cap cannot go below what is already matched."""

    id: Uuid
    fields: MatchingRuleFields


# ----------------------------------------------------------------------------- records


class CampaignRecord(msgspec.Struct, frozen=True):
    """A public fundraising plan; public (its page is shown on site)."""

    id: str
    name: str
    organisation: str
    organisation_code: str
    qualification: str
    certificate_number: str
    filing_number: str
    purpose: str
    starts_on: str
    ends_on: str
    district: str | None
    fund_ids: list[str]
    project_ids: list[str]
    stations: list[str]
    target_fen: int | None
    platform_url: str
    created_by: str
    created_at: str
    updated_at: str


class MatchingRuleRecord(msgspec.Struct, frozen=True):
    """A sponsor's matching pledge; ``matched_fen`` is what it has matched so far (never
    above ``cap_total_fen``)."""

    id: str
    sponsor: str
    ratio_percent: int
    cap_per_gift_fen: int
    cap_total_fen: int
    matched_fen: int
    starts_on: str
    ends_on: str
    campaign_ids: list[str]
    district: str | None
    created_by: str
    created_at: str
    updated_at: str


class GiftMatchRecord(msgspec.Struct, frozen=True):
    """One gift's match by one rule: ``amount_fen`` as it stands (a correction or void of
    the gift lowers it; ``booked_fen`` is what was first matched)."""

    id: str
    rule_id: str
    donation_id: str
    campaign_id: str
    fund_id: str
    sponsor: str
    booked_fen: int
    amount_fen: int
    station: str
    district: str
    created_at: str
    updated_at: str
