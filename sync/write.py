"""The one way the server writes records outside a push: a unit of work in one
transaction, its change-feed rows, and its pokes (the Datasette ``execute_write_fn``
habit). A push (``sync.push``) is the other writer; both hand their poke tags to the
same ``PokeSink``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection

from sync.db import Database
from sync.pokes import PokeSink
from sync.registry import Registry
from sync.unit import AfterCommit, Tx, run_after_commit

T = TypeVar("T")


async def run_unit(
    db: Database, registry: Registry, pokes: PokeSink, fn: Callable[[Tx], Awaitable[T]]
) -> T:
    """Run ``fn`` with a fresh unit of work in one write transaction, then write what it
    kept (records and their change rows) and wake the phones that see them.

    ``fn`` stages records through ``tx`` (keeping each frame it wants with
    ``tx.keep_frame()``) and may run other statements on ``tx.conn``; all of it commits
    together or not at all."""

    async def work(conn: AsyncConnection) -> tuple[T, set[str], list[AfterCommit]]:
        tx = Tx(conn, db, registry, await db.next_txid(conn))
        result = await fn(tx)
        tags = await tx.flush()
        tags |= await tx.finish()
        await pokes.stage(conn, tags)
        return result, tags, list(tx.committed_hooks.values())

    result, tags, after = await db.run_write(work)
    pokes.committed(tags)
    await run_after_commit(after, pokes)
    return result
