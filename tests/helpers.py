"""Builders for mutations and records used across the tests."""

from __future__ import annotations

import itertools
import time
from typing import Any

from sync.ids import uuid7

_counter = itertools.count()


def hlc(node: str = "test", offset_ms: int = 0) -> str:
    return f"{int(time.time() * 1000) + offset_ms:016d}:{next(_counter) % 10000:04d}:{node}"


def mutation(
    mutation_id: int, name: str, args: dict[str, Any], *, key: str | None = None,
    version: int = 1, stamp: str | None = None,
) -> dict[str, Any]:
    return {
        "id": mutation_id,
        "name": name,
        "version": version,
        "key": key or uuid7(),
        "hlc": stamp or hlc(),
        "args": args,
    }


def new_id() -> str:
    """A time-ordered id, as the project's clients make them (any UUID is accepted)."""
    return uuid7()


def station_args(code: str = "TH-001", district: str = "天河区", name: str = "天河社工站") -> dict[str, Any]:
    return {"code": code, "name": name, "district": district}


def event_args(event_id: str, station: str = "TH-001", **fields: Any) -> dict[str, Any]:
    return {"id": event_id, "station": station, "date": "2026-09-05", "title": "中华慈善日义卖", **fields}
