"""The programme's domain as record types and mutators registered with the sync engine."""

from __future__ import annotations

from server import notify
from server.domain import (
    attachments,
    ballots,
    campaigns,
    disclosure,
    donations,
    events,
    funds,
    goods,
    people,
    rounds,
    service_projects,
    stations,
    timebank,
    volunteers,
)
from server.notify import programme as programme_notify
from server.settings import Settings
from sync import builtin
from sync.registry import Registry


def build_registry(settings: Settings | None = None) -> Registry:
    """Every area installed, each configured from ``settings`` (the environment's when
    none is given): the app and the command line build the same registry."""
    settings = settings or Settings.from_env()
    registry = Registry()
    builtin.install(registry)
    attachments.install(registry, attachments.AttachmentRules.from_settings(settings))
    stations.install(registry)
    people.install(registry)
    events.install(registry)
    funds.install(registry)
    campaigns.install(registry)
    goods.install(registry)
    donations.install(registry, donations.DonationRules.from_settings(settings))
    volunteers.install(registry, volunteers.HoursRules.from_settings(settings))
    timebank.install(registry)
    notify.install(registry, notify.AlertDefaults.from_settings(settings))
    disclosure.install(registry, disclosure.DisclosureRules.from_settings(settings))
    service_projects.install(registry)
    rounds.install(registry)
    programme_notify.install(registry)
    ballots.install(registry)
    return registry


__all__ = ["build_registry"]
