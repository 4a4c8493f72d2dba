"""The programme's domain as record types and mutators registered with the sync engine."""

from __future__ import annotations

from server.domain import donations, events, funds, goods, stations
from server.settings import Settings
from sync import builtin
from sync.registry import Registry


def build_registry(settings: Settings | None = None) -> Registry:
    settings = settings or Settings.from_env()
    registry = Registry()
    builtin.install(registry)
    stations.install(registry)
    events.install(registry)
    funds.install(registry)
    goods.install(registry)
    donations.install(
        registry, approval_threshold_fen=settings.correction_approval_threshold_fen)
    return registry


__all__ = ["build_registry"]
