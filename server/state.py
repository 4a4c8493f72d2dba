"""What the app holds for its lifetime, in one place."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from litestar import Request

from server.ratelimit import RateLimiter
from server.reports import DisclosureCache
from server.settings import Settings
from server.shedding import RequestGate
from sync.db import Database
from sync.errors import ProtocolError
from sync.hlc import HybridLogicalClock
from sync.pokes import PokeBroker, PokeSink
from sync.push import PushLimits
from sync.registry import Registry


@dataclass
class AppState:
    settings: Settings
    db: Database
    registry: Registry
    clock: HybridLogicalClock
    broker: PokeBroker
    gate: RequestGate
    push_limits: PushLimits
    limiter: RateLimiter
    keepalive_seconds: float = 15.0
    token_recheck_seconds: float = 3.0
    """How often an open event stream re-checks its token (revoked, wiped, roles changed)."""
    files: Any = None
    """Where attachments' bytes live (``server.filestore``: a directory or the database)."""
    disclosures: DisclosureCache = field(default_factory=DisclosureCache)
    """Public fund pages' figures and chain verification, by chain head (per process)."""

    @property
    def pokes(self) -> PokeSink:
        """Where every write of this process sends its poke tags."""
        return PokeSink(self.broker, postgres=self.db.is_postgres)


def state_of(request: Request[Any, Any, Any]) -> AppState:
    """The app's state, as the lifespan stored it (route handlers' one way in)."""
    state: AppState = request.app.state["charity"]
    return state


FIRST_DAY = dt.date(1900, 1, 1)
LAST_DAY = dt.date(2999, 12, 31)


def query_day(value: str | None, name: str) -> dt.date | None:
    """An optional ``YYYY-MM-DD`` query parameter; a malformed one is a 400 naming it."""
    if not value:
        return None
    try:
        if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):  # not 20260205, 2026-W06-4
            raise ValueError(value)
        day = dt.date.fromisoformat(value)
    except ValueError:
        raise ProtocolError(400, "invalid_args", f"日期格式应为 YYYY-MM-DD({name})",
                            f"{name} must be a date YYYY-MM-DD", field=name) from None
    if not FIRST_DAY <= day <= LAST_DAY:  # 0001-01-01 would overflow the period's bounds
        raise ProtocolError(400, "invalid_args", f"日期超出范围 {FIRST_DAY}…{LAST_DAY}({name})",
                            f"{name} must be between {FIRST_DAY} and {LAST_DAY}", field=name)
    return day
