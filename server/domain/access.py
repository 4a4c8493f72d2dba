"""Who may act where: the checks every area shares, in one place.

Every check is "the caller's rank at this place is at least X" (``Grant.rank_at``), so
when a grant holds several memberships (a role at a station, another at a district)
the checks keep their meaning without a change here or in the areas.
"""

from __future__ import annotations

from typing import Any

from sync.errors import forbidden, not_found
from sync.scopes import MANAGER, STAFF
from sync.unit import MutationContext, Tx


async def live_station(tx: Tx, code: str, field: str = "station") -> dict[str, Any]:
    """The station ``code`` (read, and locked on PostgreSQL, through ``tx``); refused
    when there is none or it was deleted."""
    station = await tx.get("station", code)
    if station is None or station["deleted_at"]:
        raise not_found("站点", "station", code, field=field)
    return station


def has_rank(ctx: MutationContext, rank: int, station: str | None, district: str | None) -> bool:
    """The caller's rank at this station (or, with ``station=None``, district) is at least ``rank``."""
    return ctx.grant.rank_at(station, district) >= rank


def require_rank(
    ctx: MutationContext, rank: int, station: str | None, district: str | None,
    refusal: tuple[str, str] | None = None,
) -> None:
    """Refuse (``forbidden``) unless the caller's rank at the place is at least ``rank``.
    ``refusal`` is the (zh, en) of what was not allowed; by default "only the staff (or
    managers) of station X may do this"."""
    if not has_rank(ctx, rank, station, district):
        raise forbidden(*(refusal or _only_staff_of(station or district or "", rank)))


async def station_for(
    tx: Tx, ctx: MutationContext, code: str, *, rank: int = STAFF, field: str = "station",
    refusal: tuple[str, str] | None = None,
) -> dict[str, Any]:
    """The live station ``code``, if the caller's rank there is at least ``rank``."""
    station = await live_station(tx, code, field)
    require_rank(ctx, rank, code, station["district"], refusal)
    return station


def _only_staff_of(place: str, rank: int) -> tuple[str, str]:
    role_zh, role_en = ("管理者", "managers") if rank >= MANAGER else ("工作人员", "staff")
    return f"只有站点 {place} 的{role_zh}可以这样做", f"only the {role_en} of station {place} may do this"


__all__ = ["has_rank", "live_station", "require_rank", "station_for"]
