"""The programme's domain as record types and mutators registered with the sync engine."""

from __future__ import annotations

from server import notify
from server.domain import donations, events, funds, goods, people, stations, timebank, volunteers
from server.settings import Settings
from sync import builtin
from sync.registry import Registry


def hours_rules(settings: Settings | None) -> volunteers.HoursRules:
    """The service-hour limits a deployment configured (defaults without settings)."""
    if settings is None:
        return volunteers.HoursRules()
    return volunteers.HoursRules(
        open_cap_hours=settings.hours_open_cap_hours,
        max_session_hours=settings.hours_max_session_hours,
        clock_tolerance_minutes=settings.hours_clock_tolerance_minutes,
        late_sync_hours=settings.hours_late_sync_hours,
    )


def build_registry(settings: Settings | None = None) -> Registry:
    settings = settings or Settings.from_env()
    registry = Registry()
    builtin.install(registry)
    stations.install(registry)
    people.install(registry)
    events.install(registry)
    funds.install(registry)
    goods.install(registry)
    donations.install(
        registry, approval_threshold_fen=settings.correction_approval_threshold_fen)
    volunteers.install(registry, hours_rules(settings))
    timebank.install(registry)
    notify.install(registry)
    return registry


__all__ = ["build_registry", "hours_rules"]
