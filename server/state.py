"""What the app holds for its lifetime, in one place."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from litestar import Request

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
    keepalive_seconds: float = 15.0

    @property
    def pokes(self) -> PokeSink:
        """Where every write of this process sends its poke tags."""
        return PokeSink(self.broker, postgres=self.db.is_postgres)


def state_of(request: Request[Any, Any, Any]) -> AppState:
    """The app's state, as the lifespan stored it (route handlers' one way in)."""
    state: AppState = request.app.state["charity"]
    return state


def query_day(value: str | None, name: str) -> dt.date | None:
    """An optional ``YYYY-MM-DD`` query parameter; a malformed one is a 400 naming it."""
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ProtocolError(400, "invalid_args", f"日期格式应为 YYYY-MM-DD({name})",
                            f"{name} must be a date YYYY-MM-DD", field=name) from None
