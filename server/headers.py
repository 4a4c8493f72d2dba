"""Security headers on every answer of the server (the API, the phone app's files, the
public pages, Swagger UI, error pages), added in one place: ``CharityApp.__call__``.

Why each one (docs/security.md, "Headers"):

- ``Content-Security-Policy``: scripts only from this origin and no inline script anywhere
  (the public event page loads ``/public/static/event.js``, Swagger UI's start-up is
  ``/schema/static/init.js``), so text that slipped past escaping still cannot run. Inline
  *styles* stay allowed: the public pages carry their small style sheet inline and a
  style cannot run code. ``img-src data: blob:`` for the QR codes the app draws;
  ``worker-src 'self'`` for the service worker; ``frame-ancestors 'none'`` against
  click-jacking. A response that brings its own policy keeps it.
- ``X-Frame-Options: DENY``: the same for browsers that predate ``frame-ancestors``.
- ``X-Content-Type-Options: nosniff``: a file is what its content type says.
- ``Referrer-Policy: no-referrer``: receipt-check addresses carry the check code and
  enrolment links a secret; the app never needs a referrer, so none is ever sent.
- ``Permissions-Policy``: the camera (QR scanning) for this origin only; no microphone,
  location, payment or USB for anyone.
- ``Strict-Transport-Security``: only when the request came over HTTPS (the server's own
  certificate, or a trusted proxy's ``X-Forwarded-Proto: https``, which uvicorn turns into
  the scope's scheme for addresses in ``forwarded_allow_ips``). Sent over plain HTTP it
  would be ignored at best, and on a LAN trial it would lock phones out of ``http://``.
"""

from __future__ import annotations

from collections.abc import Iterable

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; connect-src 'self'; worker-src 'self'; "
    "manifest-src 'self'; font-src 'self'; media-src 'self' blob:; object-src 'none'; "
    "base-uri 'self'; frame-ancestors 'none'; form-action 'self'"
)
PERMISSIONS = "camera=(self), microphone=(), geolocation=(), payment=(), usb=()"
HSTS = "max-age=31536000"
"""A year; no ``includeSubDomains``: a city's other hosts under the same domain are not
ours to force onto HTTPS."""

ALWAYS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"permissions-policy", PERMISSIONS.encode()),
)
OWNED = {name for name, _ in ALWAYS} | {b"strict-transport-security"}


def secure(headers: Iterable[tuple[bytes, bytes]], https: bool) -> list[tuple[bytes, bytes]]:
    """``headers`` with the security headers added; one the handler already set (its own
    policy) is kept as it is."""
    kept = list(headers)
    present = {name.lower() for name, _ in kept} & OWNED
    kept += [(name, value) for name, value in ALWAYS if name not in present]
    if https and b"strict-transport-security" not in present:
        kept.append((b"strict-transport-security", HSTS.encode()))
    return kept
