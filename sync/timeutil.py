"""UTC timestamps as ISO-8601 text with milliseconds and a ``Z``: sortable as text."""

from __future__ import annotations

import datetime as dt
import time


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def iso(moment: dt.datetime) -> str:
    # isoformat is a C call; strftime plus formatting cost a push a few percent
    return moment.astimezone(dt.UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


def now_iso() -> str:
    return iso(utc_now())


def now_ms() -> int:
    return time.time_ns() // 1_000_000
