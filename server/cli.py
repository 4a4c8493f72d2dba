"""``python -m server``: serve, migrate, prune, device tokens and VAPID keys.

``token issue`` stands in for phone enrolment until that exists: it prints the
device token on its last line.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from server.settings import Settings
from sync.scopes import ROLES


def _settings(args: argparse.Namespace) -> Settings:
    return Settings.from_env(
        data_dir=Path(args.data_dir) if getattr(args, "data_dir", None) else None,
        database_url=getattr(args, "database_url", None),
        host=getattr(args, "host", None),
        port=getattr(args, "port", None),
        workers=getattr(args, "workers", None),
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m server", description="Social Work + Charity server")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--data-dir", help="data directory (env CHARITY_DATA_DIR, default ./var)")
    common.add_argument(
        "--database-url",
        help="sqlite:///file.db or postgresql://user@host/db (env CHARITY_DATABASE_URL)",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", parents=[common], help="migrate, then run the HTTP server")
    serve.add_argument("--host", help="default 127.0.0.1 (env CHARITY_HOST)")
    serve.add_argument("--port", type=int, help="default 8000 (env CHARITY_PORT)")
    serve.add_argument("--workers", type=int, help="worker processes; >1 needs PostgreSQL")

    sub.add_parser("migrate", parents=[common], help="apply database migrations")
    prune = sub.add_parser("prune", parents=[common], help="prune tombstones past retention")
    prune.add_argument("--days", type=float, help="override CHARITY_RETENTION_DAYS")

    hours = sub.add_parser("hours", help="volunteer service hours")
    hours_sub = hours.add_subparsers(dest="hours_command", required=True)
    hours_sub.add_parser(
        "sweep", parents=[common], help="close hour logs left open past CHARITY_HOURS_OPEN_CAP_HOURS"
    )

    token = sub.add_parser("token", help="device tokens (stand-in for phone enrolment)")
    token_sub = token.add_subparsers(dest="token_command", required=True)
    issue = token_sub.add_parser("issue", parents=[common], help="issue a device token")
    issue.add_argument("--user", required=True)
    issue.add_argument("--role", required=True, choices=ROLES)
    issue.add_argument("--station", help="station code (volunteer, staff, manager)")
    issue.add_argument("--district", help="district (district_manager)")
    revoke = token_sub.add_parser("revoke", parents=[common], help="revoke a device token")
    revoke.add_argument("--token-id", required=True)

    vapid = sub.add_parser("vapid", help="Web Push (VAPID) keys, kept in the database")
    vapid_sub = vapid.add_subparsers(dest="vapid_command", required=True)
    vapid_sub.add_parser("show", parents=[common], help="print the current public key")
    vapid_sub.add_parser(
        "rotate", parents=[common],
        help="make a new key current; phones re-subscribe on their next start",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = _settings(args)
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if args.command == "serve":
        return _serve(settings)
    return asyncio.run(_run_async(args, settings))


async def _with_db(settings: Settings):  # type: ignore[no-untyped-def]
    from server.migrate import migrate
    from sync.db import Database

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.resolved_database_url)
    await migrate(db)
    return db


async def _run_async(args: argparse.Namespace, settings: Settings) -> int:
    db = await _with_db(settings)
    try:
        if args.command == "migrate":
            print(f"migrated {_safe_url(settings)}")
            return 0
        if args.command == "prune":
            from server.domain import build_registry
            from sync.retention import prune_tombstones

            days = args.days if args.days is not None else settings.retention_days
            removed = await prune_tombstones(db, build_registry(), dt.timedelta(days=days))
            print(f"pruned {removed} tombstones older than {days} days")
            return 0
        if args.command == "hours":
            from server.domain import build_registry
            from server.domain.volunteers import HoursRules, sweep_open_logs
            from sync.pokes import PokeSink

            # PostgreSQL: the running servers hear the NOTIFY; SQLite: no server shares this process
            pokes = PokeSink(None, postgres=db.is_postgres)
            closed = await sweep_open_logs(db, build_registry(settings), pokes, HoursRules.from_settings(settings))
            print(f"closed {len(closed)} hour logs left open past {settings.hours_open_cap_hours:g} h")
            return 0
        if args.command == "token":
            from server.auth import issue_token, revoke_token

            if args.token_command == "issue":
                try:
                    token_id, token = await issue_token(
                        db, user=args.user, role=args.role, station=args.station, district=args.district
                    )
                except ValueError as exc:
                    print(f"error: {exc}", file=sys.stderr)
                    return 2
                print(f"token id: {token_id} (user {args.user}, role {args.role})")
                print(token)
                return 0
            if await revoke_token(db, args.token_id):
                print(f"revoked {args.token_id}")
                return 0
            print(f"error: no active token {args.token_id}", file=sys.stderr)
            return 1
        if args.command == "vapid":
            from server.notify.vapid import ensure_key, rotate_key

            key = await (rotate_key(db) if args.vapid_command == "rotate" else ensure_key(db))
            print(f"vapid key {key.id}{' (new)' if args.vapid_command == 'rotate' else ''}")
            print(key.public_key)
            return 0
        return 2
    finally:
        await db.dispose()


def _serve(settings: Settings) -> int:
    import uvicorn

    if settings.workers > 1 and settings.is_sqlite:
        print(
            "error: SQLite runs one worker (one writer); use --database-url postgresql://... "
            "for several workers",
            file=sys.stderr,
        )
        return 2
    asyncio.run(_migrate_only(settings))
    os.environ.update(settings.to_env())
    os.environ["CHARITY_SKIP_MIGRATIONS"] = "1"
    print(f"serving on http://{settings.host}:{settings.port} ({_safe_url(settings)}, "
          f"{settings.workers} worker(s))", flush=True)
    uvicorn.run(
        "server.app:create_app_from_env",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        log_level=settings.log_level,
        access_log=False,
        timeout_graceful_shutdown=5,
    )
    return 0


async def _migrate_only(settings: Settings) -> None:
    db = await _with_db(settings)
    await db.dispose()


def _safe_url(settings: Settings) -> str:
    from sqlalchemy.engine import make_url

    return make_url(settings.resolved_database_url).render_as_string(hide_password=True)
