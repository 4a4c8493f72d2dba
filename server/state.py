"""What the app holds for its lifetime, in one place."""

from __future__ import annotations

from dataclasses import dataclass

from server.settings import Settings
from server.shedding import RequestGate
from sync.db import Database
from sync.hlc import HybridLogicalClock
from sync.pokes import PokeBroker
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
