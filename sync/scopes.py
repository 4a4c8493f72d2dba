"""Who may see what: grants (from device tokens) and the scope of every record.

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


@dataclass(frozen=True)
class Grant:
    """What one device token allows: a user, a role and where it applies."""

    token_id: str
    user_id: str
    role: str
    station: str | None
    district: str | None

    @property
    def rank(self) -> int:
        return RANK[self.role]

    def fingerprint(self) -> str:
        """Changes when the grant changes; a cursor made under another grant is reset."""
        raw = f"{self.user_id}|{self.role}|{self.station}|{self.district}"
        return hashlib.sha256(raw.encode()).hexdigest()[:12]

    def sees(self, scope: Scope) -> bool:
        if scope.public:
            return True
        if scope.owner is not None and scope.owner == self.user_id:
            return True
        if self.rank < scope.audience:
            return False
        if self.rank == ADMIN:
            return True
        if self.rank == DISTRICT_MANAGER:
            return scope.district is not None and scope.district == self.district
        return scope.station is not None and scope.station == self.station

    def rank_at(self, station: str | None, district: str | None) -> int:
        """The rank this grant holds at a place (write side): a station with its
        district, or a district alone (``station=None``); -1 where it holds none.

        A grant holds one role today: its rank where that role covers the place. When
        a grant carries several memberships this becomes the highest rank among them,
        and every check written as ``rank_at(...) >= X`` keeps its meaning."""
        if self.rank == ADMIN:
            return ADMIN
        if self.rank == DISTRICT_MANAGER:
            return self.rank if district is not None and district == self.district else -1
        return self.rank if station is not None and station == self.station else -1
    def poke_tags(self) -> set[str]:
        tags = {"p", f"u:{self.user_id}"}
        if self.rank == ADMIN:
            tags.add("*")
        elif self.rank == DISTRICT_MANAGER and self.district:
            tags.add(f"d:{self.district}")
        elif self.station:
            tags.add(f"s:{self.station}")
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
    """SQL form of ``Grant.sees`` over the ``changes`` table."""
    c = changes.c
    if grant.rank == ADMIN:
        return or_(c.audience <= ADMIN, c.owner == grant.user_id)
    parts: list[ColumnElement[bool]] = [c.public == true(), c.owner == grant.user_id]
    if grant.rank == DISTRICT_MANAGER:
        if grant.district:
            parts.append(and_(c.district == grant.district, c.audience <= grant.rank))
    elif grant.station:
        parts.append(and_(c.station == grant.station, c.audience <= grant.rank))
    return or_(*parts) if parts else false()
