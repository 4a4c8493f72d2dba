"""Tombstone retention: prune deleted records after a horizon, and remember where.

Scope exits (feed rows that tell a scope's phones a record left it) go with the same
horizon. A cursor from before the pruned position may have missed a tombstone or an
exit that no longer exists, so such a cursor gets ``reset: true`` (a full snapshot) on
pull.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import and_, delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from sync.db import Database
from sync.registry import Registry
from sync.tables import changes, sync_state
from sync.timeutil import iso, utc_now


async def prune_tombstones(db: Database, registry: Registry, older_than: dt.timedelta) -> int:
    """Delete tombstones and scope exits older than ``older_than``; returns how many
    records went (exits are not records and are not counted)."""
    cutoff = iso(utc_now() - older_than)

    async def work(conn: AsyncConnection) -> int:
        removed = 0
        high = await _current_pruned(conn)
        for rtype in registry.record_types.values():
            if rtype.tombstone is None:
                continue
            table = rtype.table
            key = table.c[rtype.key]
            ids = [
                str(r[0])
                for r in await conn.execute(
                    select(key).where(
                        table.c[rtype.tombstone].is_not(None), table.c[rtype.tombstone] <= cutoff
                    )
                )
            ]
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                feed = and_(changes.c.type == rtype.name, changes.c.record_id.in_(chunk))
                top = (
                    await conn.execute(
                        select(changes.c.txid, changes.c.seq)
                        .where(feed)
                        .order_by(changes.c.txid.desc(), changes.c.seq.desc())
                        .limit(1)
                    )
                ).first()
                if top is not None and (top.txid, top.seq) > high:
                    high = (int(top.txid), int(top.seq))
                await conn.execute(delete(changes).where(feed))
                await conn.execute(delete(table).where(key.in_(chunk)))
                removed += len(chunk)
        exits = and_(changes.c.exited_at.is_not(None), changes.c.exited_at <= cutoff)
        top = (
            await conn.execute(
                select(changes.c.txid, changes.c.seq)
                .where(exits)
                .order_by(changes.c.txid.desc(), changes.c.seq.desc())
                .limit(1)
            )
        ).first()
        if top is not None:
            high = max(high, (int(top.txid), int(top.seq)))
            await conn.execute(delete(changes).where(exits))
        await _store_pruned(conn, high)
        return removed

    return await db.run_write(work)


async def _current_pruned(conn: AsyncConnection) -> tuple[int, int]:
    rows = {
        r.key: int(r.int_value)
        for r in await conn.execute(
            select(sync_state.c.key, sync_state.c.int_value).where(
                sync_state.c.key.in_(["pruned_txid", "pruned_seq"])
            )
        )
    }
    return rows.get("pruned_txid", 0), rows.get("pruned_seq", 0)


async def _store_pruned(conn: AsyncConnection, position: tuple[int, int]) -> None:
    from sqlalchemy import update

    for key, value in (("pruned_txid", position[0]), ("pruned_seq", position[1])):
        await conn.execute(update(sync_state).where(sync_state.c.key == key).values(int_value=value))


__all__ = ["prune_tombstones"]
