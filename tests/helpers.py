"""Builders for mutations, records and HLC stamps used across the tests, and the one
test-only mutator two modules register (``test.event_move``).

Simulated phones are in tests/devices.py; fixtures in tests/conftest.py.
"""

from __future__ import annotations

import itertools
import time
from typing import Any

import msgspec

from sync.ids import uuid7
from sync.unit import MutationContext, Tx

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


def campaign_args(campaign_id: str, fund_ids: list[str], *, district: str | None = "天河区",
                  starts_on: str = "2020-01-01", ends_on: str = "2099-12-31",
                  **fields: Any) -> dict[str, Any]:
    """A public fundraising plan of a qualified organisation, open by default for years:
    gifts from the public are collected only under one (docs/campaigns.md)."""
    return {
        "id": campaign_id, "name": "社区慈善基金募捐", "organisation": "广州市天河区慈善会",
        "organisation_code": "53440106MJK582938A", "qualification": "公开募捐资格",
        "certificate_number": "穗民公募字〔2024〕012号", "filing_number": "53440106MJK582938A25001",
        "purpose": "为社区困难群众和社区服务项目募集资金", "starts_on": starts_on,
        "ends_on": ends_on, "district": district, "fund_ids": fund_ids, **fields,
    }


def stamp(ms: int, node: str, counter: int = 0) -> str:
    """An HLC stamp at a chosen time and node (``hlc`` stamps now)."""
    return f"{ms:016d}:{counter:04d}:{node}"


# -- a test-only mutator -------------------------------------------------------------------


class MoveArgs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    id: str
    stations: list[str]


async def move_event(tx: Tx, ctx: MutationContext, args: MoveArgs) -> None:
    """Test-only: move an event through each station in turn, in one mutation (event.update
    has no station field in v1; the engine does not care which mutation moves a record)."""
    assert await tx.get("event", args.id) is not None
    for code in args.stations:
        station = await tx.get("station", code)
        assert station is not None
        tx.update("event", args.id, {"station": code, "district": station["district"], "updated_at": ctx.now})


# -- online gifts (server/domain/online.py) ------------------------------------------------

STATEMENT_HEADER = ("订单号", "支付时间", "金额", "捐赠人", "项目名称", "渠道")
"""A statement's columns as the default mapping names them."""


def statement_csv(rows: list[tuple[str, ...]], *, header: tuple[str, ...] = STATEMENT_HEADER,
                  encoding: str = "utf-8", bom: bool = False) -> bytes:
    """A platform statement as CSV bytes (with a footer total line, as platforms write)."""
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    writer.writerow(["合计", "", "", "", "", ""])
    data = out.getvalue().encode(encoding)
    return b"\xef\xbb\xbf" + data if bom else data


async def online_platform(db: Any, platform_id: str = "gylm",
                          host: str = "gylm.example.cn") -> None:
    """The platform with the default mapping, set up by a system admin (once)."""
    from sqlalchemy import select

    from server.domain import online
    from sync.scopes import Grant
    from sync.timeutil import now_iso

    async def work(conn: Any) -> None:
        found = (await conn.execute(select(online.gift_platforms.c.id).where(
            online.gift_platforms.c.id == platform_id))).first()
        if found is None:
            await online.save_platform(conn, Grant("t", "setup-admin", "admin", None, None),
                                       platform_id, "广益联募", host, online.DEFAULT_MAPPING,
                                       online.DEFAULT_TIME_FORMAT, now_iso())

    await db.run_write(work)
