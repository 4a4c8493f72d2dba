"""Who may see what: grants (a device token's user and their memberships) and the scope of every record.

A record's scope is where it lives (station, district), whose it is (owner), whether
it is public, and the lowest role rank of its audience. The same rule filters the
change feed in SQL (``feed_filter``) and the SSE pokes in Python (``Grant.sees``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, false, or_, true

from sync.tables import changes

ROLES: tuple[str, ...] = ("volunteer", "staff", "manager", "district_manager", "admin")
RANK = {role: rank for rank, role in enumerate(ROLES)}
VOLUNTEER, STAFF, MANAGER, DISTRICT_MANAGER, ADMIN = range(5)
OWNER_ONLY = ADMIN + 1
"""An audience no role reaches: only the record's owner pulls it (a personal inbox), not
even an admin, who otherwise sees everything."""


@dataclass(frozen=True, order=True)
class Membership:
    """One role of a person at one place: a station (volunteer, staff, manager), a
    district (district_manager) or everywhere (admin). ``district`` of a station role is
    the station's."""

    role: str
    station: str | None = None
    district: str | None = None

    @property
    def rank(self) -> int:
        return RANK[self.role]

    def covers(self, station: str | None, district: str | None) -> bool:
        if self.rank == ADMIN:
            return True
        if self.rank == DISTRICT_MANAGER:
            return district is not None and district == self.district
        return station is not None and station == self.station

    def sees(self, scope: Scope) -> bool:
        """Without the public and owner rules (``Grant.sees`` applies those)."""
        if self.rank < scope.audience:
            return False
        if self.rank == ADMIN:
            return True
        if self.rank == DISTRICT_MANAGER:
            return scope.district is not None and scope.district == self.district
        return scope.station is not None and scope.station == self.station


@dataclass(frozen=True)
class Grant:
    """What one device token allows: a user and their active memberships.

    ``role``, ``station`` and ``district`` are the highest-ranked membership, so code
    that reads them keeps working; ``memberships`` (every active one) is what ``sees``,
    ``rank_at``, ``poke_tags`` and ``feed_filter`` use. Built with
    no memberships (tests, system grants), it has the one its role names."""

    token_id: str
    user_id: str
    role: str
    station: str | None
    district: str | None
    memberships: tuple[Membership, ...] = ()
    device_id: str | None = None
    sign_out: bool = False
    """The console asked this device to sign out (pull responses and /me say so)."""

    def __post_init__(self) -> None:
        if not self.memberships:
            object.__setattr__(
                self, "memberships", (Membership(self.role, self.station, self.district),)
            )

    @classmethod
    def of(cls, token_id: str, user_id: str, memberships: tuple[Membership, ...], *,
           device_id: str | None = None, sign_out: bool = False) -> Grant:
        """A grant from active memberships (at least one), its headline the highest."""
        ordered = tuple(sorted(set(memberships), key=lambda m: (-m.rank, m.station or "",
                                                                 m.district or "")))
        top = ordered[0]
        return cls(token_id, user_id, top.role, top.station, top.district, ordered,
                   device_id=device_id, sign_out=sign_out)

    @property
    def rank(self) -> int:
        return RANK[self.role]

    def rank_at(self, station: str | None, district: str | None) -> int:
        """The rank this grant holds at a place (write side): a station with its
        district, or a district alone (``station=None``). The highest rank among the
        memberships that cover the place, -1 where none does; every check is written
        ``rank_at(...) >= X`` (``server.domain.access``)."""
        return max((m.rank for m in self.memberships if m.covers(station, district)), default=-1)

    def fingerprint(self) -> str:
        """Changes when the grant changes; a cursor made under another grant is reset
        (the phone replaces its replica and drops what it no longer sees)."""
        parts = sorted(f"{m.role}|{m.station}|{m.district}" for m in self.memberships)
        raw = f"{self.user_id}|" + ";".join(parts)  # one membership: the format before 0009
        return hashlib.sha256(raw.encode()).hexdigest()[:12]

    def sees(self, scope: Scope) -> bool:
        if scope.public:
            return True
        if scope.owner is not None and scope.owner == self.user_id:
            return True
        return any(m.sees(scope) for m in self.memberships)

    def poke_tags(self) -> set[str]:
        tags = {"p", f"u:{self.user_id}"}
        for m in self.memberships:
            if m.rank == ADMIN:
                tags.add("*")
            elif m.rank == DISTRICT_MANAGER and m.district:
                tags.add(f"d:{m.district}")
            elif m.rank < DISTRICT_MANAGER and m.station:
                tags.add(f"s:{m.station}")
        return tags


GrantSource = Grant | Callable[[Any], Awaitable[Grant]]
"""A grant, or a function that resolves one on the engine's own connection (the
server looks the device token up inside the push or pull transaction)."""


async def grant_on(source: GrantSource, conn: Any) -> Grant:
    return source if isinstance(source, Grant) else await source(conn)


@dataclass(frozen=True)
class Scope:
    station: str | None = None
    district: str | None = None
    owner: str | None = None
    public: bool = False
    audience: int = VOLUNTEER

    def as_row(self) -> dict[str, Any]:
        return {
            "station": self.station,
            "district": self.district,
            "owner": self.owner,
            "public": self.public,
            "audience": self.audience,
        }

    def poke_tags(self) -> set[str]:
        """Tags a poke for this change carries; a listener wakes if it holds any.
        Slightly wider than ``Grant.sees`` (a spurious pull is harmless, a missed one is not)."""
        if self.public:
            return {"*all*"}
        tags = {"*"}
        if self.owner:
            tags.add(f"u:{self.owner}")
        if self.station:
            tags.add(f"s:{self.station}")
        if self.district:
            tags.add(f"d:{self.district}")
        return tags


def feed_filter(grant: Grant) -> ColumnElement[bool]:
    """SQL form of ``Grant.sees`` over the ``changes`` table: the OR of each membership's."""
    c = changes.c
    if grant.rank == ADMIN:
        return or_(c.audience <= ADMIN, c.owner == grant.user_id)
    parts: list[ColumnElement[bool]] = [c.public == true(), c.owner == grant.user_id]
    for m in grant.memberships:
        if m.rank == DISTRICT_MANAGER:
            if m.district:
                parts.append(and_(c.district == m.district, c.audience <= m.rank))
        elif m.station:
            parts.append(and_(c.station == m.station, c.audience <= m.rank))
    return or_(*parts) if parts else false()
