"""Apply Alembic migrations: on server start (once, before workers fork) and by
``python -m server migrate``. On PostgreSQL an advisory lock keeps two starting
servers from migrating at once."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.engine import Connection

from sync.db import Database

MIGRATIONS = Path(__file__).with_name("migrations")
MIGRATION_LOCK = 72_410_001


def alembic_config(url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if url:
        config.set_main_option("sqlalchemy.url", url)
    return config


async def migrate(db: Database, revision: str = "head") -> None:
    def upgrade(connection: Connection) -> None:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATION_LOCK})
        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    async with db.engine.begin() as conn:
        await conn.run_sync(upgrade)
