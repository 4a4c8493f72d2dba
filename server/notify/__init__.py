"""Notifications for managers: an in-app inbox that syncs, and Web Push as the wake-up.

records (synced records, mutations, event handlers) -> notify_outbox -> outbox
(inbox records and deliveries) -> sender (Web Push); worker runs it; api serves
the VAPID key and subscriptions. See docs/notifications.md.
"""

from server.notify.records import AlertDefaults, install

__all__ = ["AlertDefaults", "install"]
