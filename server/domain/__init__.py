"""The programme's domain as record types and mutators registered with the sync engine."""

from __future__ import annotations

from server import notify
from server.domain import events, stations
from sync import builtin
from sync.registry import Registry


def build_registry() -> Registry:
    registry = Registry()
    builtin.install(registry)
    stations.install(registry)
    events.install(registry)
    notify.install(registry)
    return registry


__all__ = ["build_registry"]
