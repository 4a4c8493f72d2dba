"""Which push endpoints the server sends to: the public push services only.

A subscription's endpoint is a URL the browser got from its vendor's push service; the
server later POSTs to it. Taken on trust, a device token could make the server send
requests anywhere (``https://127.0.0.1:9``, an address on the office LAN, a cloud
metadata service): a request forgery with the server's network position. So only the
hosts of the public push services are accepted, at subscription time (a 400 naming the
field) and again before every send (rows stored before this check). ``push_any_host``
(tests, a local push service) lifts the host check; ``push_allow_http`` the https one.
"""

from __future__ import annotations

from urllib.parse import urlsplit

PUSH_HOSTS = ("fcm.googleapis.com", "updates.push.services.mozilla.com")
"""Exact hosts: Chrome, Edge on Android, Samsung Internet (FCM); Firefox (autopush)."""
PUSH_HOST_SUFFIXES = (".push.services.mozilla.com", ".push.apple.com", ".notify.windows.com")
"""Subdomains: Firefox's other autopush hosts, Safari (``web.push.apple.com``), Edge and
Windows (WNS, ``*.notify.windows.com``)."""


def endpoint_problem(endpoint: str, *, allow_http: bool, any_host: bool) -> tuple[str, str] | None:
    """None when the server may send to ``endpoint``, else why not (zh, en)."""
    try:
        parts = urlsplit(endpoint)
        port = parts.port
    except ValueError:
        return "推送地址不是有效网址", "the endpoint is not a valid URL"
    schemes = ("https", "http") if allow_http else ("https",)
    if parts.scheme not in schemes or not parts.hostname:
        return "推送地址必须是 https 网址", "endpoint must be an https URL"
    if any_host:
        return None
    host = parts.hostname.lower().rstrip(".")
    public = host in PUSH_HOSTS or host.endswith(PUSH_HOST_SUFFIXES)
    if not public or parts.username is not None or port not in (None, 443):
        return ("推送地址不属于公共推送服务(FCM、Mozilla、Apple、Microsoft)",
                "the endpoint is not on a public push service (FCM, Mozilla, Apple, Microsoft)")
    return None
