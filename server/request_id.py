"""One id per HTTP request: in the ``X-Request-ID`` header of every answer, in every error
body (``request_id``) and on every log record made while the request runs
(``record.request_id``), so a 500 a user reports can be found in the log with its traceback.

An incoming ``X-Request-ID`` (a proxy's) is kept when it is a short safe token; anything
else is replaced by a fresh id, so a header can never inject text into the log.
"""

from __future__ import annotations

import logging
import re
import secrets
from contextvars import ContextVar
from typing import Any

HEADER = "X-Request-ID"
SAFE_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
CURRENT: ContextVar[str | None] = ContextVar("charity_request_id", default=None)
CLIENT: ContextVar[str | None] = ContextVar("charity_client_ip", default=None)
"""The client address of the current request (after the trusted proxy's X-Forwarded-For),
for the audit log (``server/audit.py``)."""


def new_id() -> str:
    return secrets.token_hex(8)


def from_header(value: bytes | None) -> str:
    """The incoming id if it is a safe token, else a new one."""
    if value is not None:
        try:
            text = value.decode("ascii")
        except UnicodeDecodeError:
            return new_id()
        if SAFE_ID.fullmatch(text):
            return text
    return new_id()


def current() -> str | None:
    """The id of the request this code runs for (None outside a request)."""
    return CURRENT.get()


def client_ip() -> str | None:
    """The address of the client this code runs for (None outside a request)."""
    return CLIENT.get()


_installed = False


def install_log_records() -> None:
    """Every log record gets ``request_id`` (``-`` outside a request), whatever logger
    made it, so a format with ``%(request_id)s`` works everywhere. Idempotent."""
    global _installed
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        record.request_id = CURRENT.get() or "-"
        return record

    logging.setLogRecordFactory(factory)
    _installed = True
