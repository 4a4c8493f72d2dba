"""People, memberships, districts, devices and enrolment (docs/accounts.md).

Mutation args (``person.create``, ``person.update``, ``membership.add``,
``membership.end``, ``district.create``), the synced records ``membership`` and
``district``, and the bodies of the enrolment and device routes.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, UnsetType

from schemas.mutations import BaseHlcs, StationCode
from schemas.text import exact, single_line
from schemas.wire import Uuid

Role = Literal["volunteer", "staff", "manager", "district_manager", "admin"]
PersonId = Annotated[
    str, msgspec.Meta(pattern=exact(r"[^\s/\\?#%\x00-\x1f\x7f]{1,64}"),
                      description="a person's id (new ones: a UUID)")
]
PersonName = Annotated[str, single_line(min_length=1, max_length=64)]
PersonPhone = Annotated[
    str, msgspec.Meta(pattern=exact(r"\+?[0-9][0-9-]{2,19}"), max_length=20, description="digits, + and -")
]
Languages = Annotated[
    str, msgspec.Meta(pattern=exact(r"[a-z]{2,3}(-[A-Za-z]{2,4})?(,[a-z]{2,3}(-[A-Za-z]{2,4})?)*"),
                      max_length=64, description="comma list of language tags, e.g. zh,en")
]
DistrictName = Annotated[str, single_line(min_length=1, max_length=100)]
DeviceName = Annotated[str, single_line(min_length=1, max_length=64)]
ShortCode = Annotated[str, single_line(min_length=4, max_length=20)]
Secret = Annotated[str, msgspec.Meta(pattern=exact(r"[A-Za-z0-9_-]{16,100}"))]


class MembershipSpec(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A membership to create with a person (``person.create``)."""

    id: Uuid
    role: Role
    station: StationCode | None = None
    district: DistrictName | None = None


class PersonCreateArgs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    id: PersonId
    name: PersonName
    phone: PersonPhone | None = None
    languages: Languages = "zh"
    membership: MembershipSpec | None = None


class PersonFields(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    name: PersonName | UnsetType = UNSET
    phone: PersonPhone | None | UnsetType = UNSET
    languages: Languages | UnsetType = UNSET


class PersonUpdateArgs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    id: PersonId
    fields: PersonFields
    base: BaseHlcs = {}


class MembershipAddArgs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    id: Uuid
    user_id: PersonId
    role: Role
    station: StationCode | None = None
    district: DistrictName | None = None


class MembershipEndArgs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    id: Uuid


class DistrictCreateArgs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    name: DistrictName


# -- records --------------------------------------------------------------------------------


class MembershipRecord(msgspec.Struct, frozen=True):
    """One role of one person at one place; the person's name, phone and languages are
    copied into each so a console lists people from these records alone. ``phone`` is
    left out for grants below manager (only the person themself, then)."""

    id: str
    user_id: str
    role: Role
    station: str | None
    district: str | None
    name: str
    languages: str
    created_at: str
    created_by: str | None
    ended_at: str | None
    phone: str | None = None


class DistrictRecord(msgspec.Struct, frozen=True):
    name: str
    created_at: str
    created_by: str | None


# -- routes ---------------------------------------------------------------------------------


class EnrolCodeRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    user_id: PersonId


class EnrolRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Exactly one of ``code`` (the secret of a link or QR code) and ``short_code``."""

    device_name: DeviceName
    device_id: Uuid | None = None
    code: Secret | None = None
    short_code: ShortCode | None = None


class SignupRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    code: Secret
    name: PersonName
    phone: PersonPhone
    consent: bool
    device_name: DeviceName
    device_id: Uuid | None = None


class RevokeRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    mode: Literal["lost", "sign_out"]


__all__ = [
    "UNSET",
    "DistrictCreateArgs",
    "DistrictRecord",
    "EnrolCodeRequest",
    "EnrolRequest",
    "MembershipAddArgs",
    "MembershipEndArgs",
    "MembershipRecord",
    "MembershipSpec",
    "PersonCreateArgs",
    "PersonFields",
    "PersonUpdateArgs",
    "RevokeRequest",
    "Role",
    "SignupRequest",
]
