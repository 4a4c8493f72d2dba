"""Settings from command-line options and ``CHARITY_*`` environment variables.

Workers started by ``serve --workers N`` read the same environment, so every
option the CLI takes is written back to the environment before they start.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path

ENV_PREFIX = "CHARITY_"


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("var")
    """Where the SQLite database and other local state live (created on first start)."""
    database_url: str = ""
    """``sqlite:///path.db`` (default: ``<data_dir>/charity.db``) or ``postgresql://user@host/db``."""
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    log_level: str = "info"
    access_log: bool = True
    """One line per HTTP request on the ``server.access`` logger (method, path without the
    query, status, duration in ms, client address, request id); ``false`` turns it off."""
    # -- HTTPS (docs/deployment.md) --
    ssl_certfile: str = ""
    """PEM certificate (chain) for serving HTTPS directly; needs ``ssl_keyfile`` too."""
    ssl_keyfile: str = ""
    """PEM private key of ``ssl_certfile``."""
    forwarded_allow_ips: str = "127.0.0.1"
    """Addresses whose ``X-Forwarded-For``/``-Proto`` headers are believed (the reverse
    proxy's; comma list, ``*`` for any): anyone else could fake their address or scheme."""
    public_url: str = ""
    """Base URL people open (printed in links and QR codes), e.g. ``https://charity.example.org``;
    default from host, port and whether TLS is on."""
    max_batch: int = 5000
    """Mutations per push; more is refused with 413."""
    max_body_bytes: int = 16 * 1024 * 1024
    max_active_requests: int = 64
    """Sync requests running at once; further ones wait in a queue."""
    max_queued_requests: int = 1024
    """Sync requests allowed to wait; beyond this the server answers 503 with Retry-After."""
    retry_after_seconds: int = 2
    max_queue_wait_seconds: float = 10.0
    """A sync request that waited this long for a slot is answered 503 with Retry-After (0: wait
    as long as it takes)."""
    min_protocol: int = 1
    """Oldest protocol accepted for pull (and for an empty push): older clients get 426."""
    retention_days: int = 30
    """Tombstones older than this are pruned; cursors from before the prune get ``reset``."""
    db_pool_size: int = 20
    """PostgreSQL connections each worker keeps open once opened (more are opened up to
    its share, and closed again when returned: a busy worker should not churn them)."""
    db_max_connections: int = 0
    """PostgreSQL connections this server may open, all its workers together; 0: the
    database's ``max_connections`` less its superuser reserve and 10 for tools. With
    servers on several machines sharing one database, give each its share
    (docs/deployment.md)."""
    serve_static: bool = field(default=True)
    correction_approval_threshold_fen: int = 50_000
    """A donation correction or void that changes an amount by more than this (in fen)
    needs a second person's approval."""
    hours_open_cap_hours: float = 12.0
    """An hour log left open this long is closed at check-in + cap and flagged for review."""
    hours_max_session_hours: float = 24.0
    """A service session longer than this is refused."""
    hours_clock_tolerance_minutes: float = 10.0
    """A device time this far ahead of the server's receipt time is flagged (clock ahead)."""
    hours_late_sync_hours: float = 72.0
    """A device time this far before the server's receipt time is flagged (late sync or clock behind)."""
    hours_scan_backdate_hours: float = 72.0
    """A staff check-in whose device time is further before the server's receipt time is
    refused (the volunteer code's expiry is checked against that device time)."""
    volunteer_code_days: float = 7.0
    """How long a volunteer's signed QR code stays valid (docs/timebank.md, "Volunteer codes")."""
    hours_sweep_minutes: float = 5.0
    """How often the server closes forgotten open hour logs."""
    # -- notifications (docs/notifications.md) --
    push_vapid_subject: str = "mailto:charity-admin@example.org"
    """VAPID ``sub`` claim: how a push service reaches the operator (mailto: or https:)."""
    push_timeout_seconds: int = 10
    """Every request to a push service gives up after this long (then retried)."""
    push_max_attempts: int = 8
    """Sends of one push to one subscription before it is given up (the inbox still has it)."""
    push_retry_base_seconds: int = 15
    """First wait after a 429/5xx/timeout; doubles per attempt unless Retry-After says more."""
    push_retry_max_seconds: int = 3600
    push_concurrency: int = 8
    """Pushes in flight at once per server worker."""
    push_allow_http: bool = False
    """Accept ``http://`` push endpoints (tests and a local push service only)."""
    push_any_host: bool = False
    """Accept push endpoints on any host, not only the public push services' (FCM, Mozilla,
    Apple, Microsoft): tests and a local push service only."""
    notify_poll_seconds: int = 2
    """How often the background task looks at the outbox and due pushes."""
    notify_check_seconds: int = 60
    """How often it checks for hours waiting too long and phones silent too long."""
    notify_timezone: str = "Asia/Shanghai"
    """Time zone of managers' quiet hours."""
    notify_large_donation_fen: int = 500_000
    """A donation at or above this (fen; 500000 = 5,000 yuan) notifies, unless the
    station set its own line."""
    receipt_holder_zh: str = "市慈善总会"
    """The organisation that holds donated money (募用分离: stations collect, the charity
    federation holds), named on every printed receipt and on the public receipt check."""
    receipt_holder_en: str = "City Charity Federation"
    """``receipt_holder_zh`` in English."""
    clock_warn_minutes: float = 5.0
    """A phone whose clock is this far from the server's (measured at every pull) warns its
    user on the sync bar."""
    notify_fund_low_fen: int = 100_000
    """A fund whose available balance falls below this (fen) notifies, unless set per fund."""
    notify_fund_low_repeat_hours: int = 24
    """A fund still low is mentioned again at most this often."""
    notify_hours_waiting_hours: int = 48
    """Hours submitted and not decided for this long remind the station's managers."""
    notify_stale_phone_hours: int = 6
    """A station phone holding unsynced work and unheard of for this long alerts its managers."""
    notify_keep_days: int = 14
    """Processed outbox rows and finished deliveries are deleted after this many days."""
    # -- attachments (docs/deployment.md, "Attachments"; docs/protocol.md) --
    attachment_storage: str = "auto"
    """Where files' bytes live: ``files`` (``<data_dir>/files/``), ``database`` (chunks in
    the database) or ``auto``: the database on PostgreSQL (every worker on every machine
    sees the same files), the data directory on SQLite."""
    attachment_max_bytes: int = 10 * 1024 * 1024
    """The largest file accepted (bytes); a bigger upload is refused ``413 file_too_large``."""
    attachment_max_unfinished: int = 20
    """Uploads one device may have started and not finished; more: ``429 too_many_uploads``."""
    attachment_max_bytes_per_device_day: int = 512 * 1024 * 1024
    """Bytes of uploads one device may start per UTC day (0: no limit)."""
    attachment_retention_days: float = 30.0
    """A file nothing refers to (never referenced, or its records deleted or their
    references removed) is deleted this long after the hourly sweep first finds it so."""
    goods_photo_line_fen: int = 200_000
    """A goods gift valued above this (fen; 200000 = 2,000 yuan) needs at least one photo."""
    disbursement_invoice_line_fen: int = 100_000
    """A disbursement above this (fen) is paid only once its invoice or receipt photo has
    fully arrived."""
    # -- disclosure calendar (docs/disclosure.md) --
    disclosure_remind_days: int = 14
    """The responsible managers are reminded this many days before a disclosure is due."""
    disclosure_sweep_minutes: float = 60.0
    """How often the server looks for disclosures to remind of."""
    # -- service projects (docs/projects.md) --
    project_sweep_minutes: float = 60.0
    """How often the server looks for supervision follow-ups that came due."""
    # -- training (docs/training.md) --
    training_sweep_minutes: float = 30.0
    """How often the server looks for trainings starting tomorrow to remind their people of."""
    # -- accounts (docs/accounts.md) --
    device_idle_days: float = 60.0
    """A device token unused this long answers ``401 device_expired`` (the phone keeps its
    outbox and asks for a new enrolment code)."""
    enrol_code_minutes: float = 15.0
    """How long a device enrolment code (link, QR code, short code) stays valid."""
    enrol_failures_per_ip: int = 10
    """Failed enrolment attempts per client address in ``enrol_failure_window_minutes``."""
    enrol_failures_short_global: int = 100
    """Failed short-code attempts from anywhere in the window (the short code is guessable
    in principle; this bounds a distributed guess)."""
    enrol_failure_window_minutes: float = 10.0
    # -- rate limits on the anonymous routes (docs/deployment.md, docs/security.md) --
    ratelimit_receipt_per_minute: int = 20
    """Receipt checks (page or JSON) per client address per minute (0: no limit)."""
    ratelimit_stream_per_minute: int = 30
    """Live-totals streams opened per client address per minute."""
    ratelimit_enrol_per_minute: int = 20
    """Enrolment code exchanges (first-admin link included), sign-ups and sign-up link
    look-ups per client address per minute (on top of the failed-attempt limits)."""
    ratelimit_public_per_minute: int = 120
    """Other public pages and their JSON (events, funds, ledger verification) per client
    address per minute."""

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'charity.db').resolve()}"

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")

    @property
    def tls(self) -> bool:
        """The server itself speaks HTTPS (a certificate and key were given)."""
        return bool(self.ssl_certfile and self.ssl_keyfile)

    @property
    def base_url(self) -> str:
        """``public_url`` without its trailing slash, else what the server listens on: a
        wildcard bind (``0.0.0.0``, ``::``) is shown as this machine's LAN address, since
        a phone cannot open ``0.0.0.0``."""
        if self.public_url:
            return self.public_url.rstrip("/")
        scheme = "https" if self.tls else "http"
        host = self.host
        if host in {"0.0.0.0", "::", ""}:
            host = _lan_address() or "127.0.0.1"
        if ":" in host:
            host = f"[{host}]"
        default_port = 443 if self.tls else 80
        return f"{scheme}://{host}" + ("" if self.port == default_port else f":{self.port}")

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        values: dict[str, object] = {}
        for f in fields(cls):
            raw = os.environ.get(ENV_PREFIX + f.name.upper())
            if raw is None:
                continue
            values[f.name] = _convert(f.type, raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]

    def to_env(self) -> dict[str, str]:
        return {
            ENV_PREFIX + f.name.upper(): str(getattr(self, f.name))
            for f in fields(self)
        }


def _convert(type_name: object, raw: str) -> object:
    text = str(type_name)
    if "Path" in text:
        return Path(raw)
    if "bool" in text:
        return raw.lower() in {"1", "true", "yes", "on"}
    if "int" in text:
        return int(raw)
    if "float" in text:
        return float(raw)
    return raw


def _lan_address() -> str | None:
    """The address this machine would use to reach other hosts (no packet is sent: a UDP
    ``connect`` only picks the route)."""
    import socket

    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.connect(("192.0.2.1", 9))  # TEST-NET-1: any routable address will do
            address = str(sock.getsockname()[0])
    except OSError:
        return None
    return None if address.startswith("127.") or address == "0.0.0.0" else address
