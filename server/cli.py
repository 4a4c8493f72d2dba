"""``python -m server``: serve, migrate, prune, device tokens, VAPID keys and a development
TLS certificate.

Phones enrol with codes (docs/accounts.md); ``token issue`` remains for recovery and
scripts: it prints the device token on its last line. ``admin enrol-link`` prints a new
first-administrator link; ``token list`` and ``device revoke`` are the recovery tools.
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
from typing import Any

from server.settings import Settings
from sync.scopes import ROLES


def _settings(args: argparse.Namespace) -> Settings:
    return Settings.from_env(
        data_dir=Path(args.data_dir) if getattr(args, "data_dir", None) else None,
        database_url=getattr(args, "database_url", None),
        host=getattr(args, "host", None),
        port=getattr(args, "port", None),
        workers=getattr(args, "workers", None),
        ssl_certfile=getattr(args, "ssl_certfile", None),
        ssl_keyfile=getattr(args, "ssl_keyfile", None),
        forwarded_allow_ips=getattr(args, "forwarded_allow_ips", None),
        public_url=getattr(args, "public_url", None),
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
    serve.add_argument("--ssl-certfile", help="PEM certificate: serve HTTPS (env CHARITY_SSL_CERTFILE)")
    serve.add_argument("--ssl-keyfile", help="PEM key of --ssl-certfile (env CHARITY_SSL_KEYFILE)")
    serve.add_argument(
        "--forwarded-allow-ips",
        help="reverse proxy addresses whose X-Forwarded-* headers are trusted "
        "(env CHARITY_FORWARDED_ALLOW_IPS, default 127.0.0.1)",
    )
    serve.add_argument(
        "--public-url", help="base URL printed in links, e.g. https://charity.example.org "
        "(env CHARITY_PUBLIC_URL)",
    )

    sub.add_parser("migrate", parents=[common], help="apply database migrations")
    sub.add_parser("demo", parents=[common],
                   help="add demo data: the pilot service project 耆乐安居 (docs/projects.md)")
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
    listing = token_sub.add_parser("list", parents=[common], help="list device tokens (recovery)")
    listing.add_argument("--user", help="only this person's tokens")
    listing.add_argument("--all", action="store_true", help="revoked ones too")

    device = sub.add_parser("device", help="phones (recovery; the console does this day to day)")
    device_sub = device.add_subparsers(dest="device_command", required=True)
    device_revoke = device_sub.add_parser(
        "revoke", parents=[common],
        help="revoke a phone's token; --lost also wipes it and drops its push subscriptions")
    device_revoke.add_argument("--token-id", required=True)
    device_revoke.add_argument("--lost", action="store_true", help="lost or stolen: wipe it")

    admin = sub.add_parser("admin", help="administrators")
    admin_sub = admin.add_subparsers(dest="admin_command", required=True)
    enrol_link = admin_sub.add_parser(
        "enrol-link", parents=[common],
        help="print a new first-administrator enrolment link and QR code (recovery)")
    enrol_link.add_argument("--public-url", help="base URL of the link (env CHARITY_PUBLIC_URL)")

    vapid = sub.add_parser("vapid", help="Web Push (VAPID) keys, kept in the database")
    vapid_sub = vapid.add_subparsers(dest="vapid_command", required=True)
    vapid_sub.add_parser("show", parents=[common], help="print the current public key")
    vapid_sub.add_parser(
        "rotate", parents=[common],
        help="make a new key current; phones re-subscribe on their next start",
    )
    codes = sub.add_parser("volunteer-codes", help="the key that signs volunteers' QR codes")
    codes_sub = codes.add_subparsers(dest="codes_command", required=True)
    codes_sub.add_parser(
        "rotate", parents=[common],
        help="sign new codes with a new key; codes already issued stay valid until they expire",
    )
    tls = sub.add_parser("tls", help="HTTPS certificates for development")
    tls_sub = tls.add_subparsers(dest="tls_command", required=True)
    self_signed = tls_sub.add_parser(
        "self-signed", parents=[common],
        help="make a development certificate and key (phones must trust it)",
    )
    self_signed.add_argument(
        "--host", dest="names", action="append", required=True, metavar="NAME",
        help="host name or IP address phones use to reach the server (repeatable)",
    )
    self_signed.add_argument("--out", help="directory for the files (default: the data directory)")
    self_signed.add_argument("--days", type=int, default=365, help="validity (default 365)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = _settings(args)
    from server.request_id import install_log_records

    install_log_records()  # the format below names request_id: every record must carry one
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"
    )
    if args.command == "serve":
        return _serve(settings)
    if args.command == "tls":
        return _tls_self_signed(args, settings)
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
        if args.command == "demo":
            from server.demo import PILOT, seed_demo
            from server.domain import build_registry
            from sync.pokes import PokeSink

            project_id = await seed_demo(db, build_registry(settings),
                                         PokeSink(None, postgres=db.is_postgres))
            print(f"demo data: {PILOT} is /public/projects/{project_id}")
            return 0
        if args.command == "prune":
            from server.domain import build_registry
            from server.domain.attachments import prune_files
            from server.filestore import open_store
            from sync.retention import prune_tombstones

            days = args.days if args.days is not None else settings.retention_days
            registry = build_registry(settings)
            removed = await prune_tombstones(db, registry, dt.timedelta(days=days))
            print(f"pruned {removed} tombstones older than {days} days")
            keep = settings.attachment_retention_days
            gone = await prune_files(db, registry, dt.timedelta(days=keep))
            store = open_store(settings.attachment_storage, settings.data_dir, db.is_postgres)
            for sha in gone:
                await store.remove(sha)
            print(f"deleted {len(gone)} attachments unreferenced for {keep:g} days")
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

            if args.token_command == "list":
                return await _token_list(db, args)
            if args.token_command == "issue":
                try:
                    await _station_must_exist(db, args.station)
                    token_id, token = await issue_token(
                        db, user=args.user, role=args.role, station=args.station, district=args.district
                    )
                except ValueError as exc:
                    print(f"error: {exc}", file=sys.stderr)
                    return 2
                print(f"token id: {token_id} (user {args.user}, role {args.role})")
                print(token)
                return 0
            from server import audit

            if await revoke_token(db, args.token_id, also=audit.recorder(
                    None, "device.revoke", "device", args.token_id, detail={"via": "cli"})):
                print(f"revoked {args.token_id}")
                return 0
            print(f"error: no active token {args.token_id}", file=sys.stderr)
            return 1
        if args.command == "device":
            from server import audit
            from server.auth import revoke_token

            action = "device.revoke_lost" if args.lost else "device.revoke"
            if await revoke_token(db, args.token_id, reason="lost" if args.lost else "admin",
                                  wipe=args.lost, also=audit.recorder(
                                      None, action, "device", args.token_id, detail={"via": "cli"})):
                print(f"revoked {args.token_id}{' (wiped)' if args.lost else ''}")
                return 0
            print(f"error: no active token {args.token_id}", file=sys.stderr)
            return 1
        if args.command == "admin":
            from server.enrol import admin_banner, make_first_admin_code

            made = await make_first_admin_code(db, settings, fresh=True)
            print(admin_banner(made), flush=True)
            return 0
        if args.command == "vapid":
            from server.notify.vapid import ensure_key, rotate_key

            key = await (rotate_key(db) if args.vapid_command == "rotate" else ensure_key(db))
            print(f"vapid key {key.id}{' (new)' if args.vapid_command == 'rotate' else ''}")
            print(key.public_key)
            return 0
        if args.command == "volunteer-codes":
            from server.domain.volunteer_codes import rotate

            generation = await rotate(db, settings.volunteer_code_days)
            print(f"volunteer code key {generation} (new); older codes stay valid until they expire")
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
    problem = _tls_problem(settings)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    asyncio.run(_migrate_only(settings))
    from server.enrol import first_admin_banner

    banner = asyncio.run(first_admin_banner(settings))
    if banner:
        print(banner, flush=True)
    os.environ.update(settings.to_env())
    os.environ["CHARITY_SKIP_MIGRATIONS"] = "1"
    scheme = "https" if settings.tls else "http"
    print(f"serving on {scheme}://{settings.host}:{settings.port} ({_safe_url(settings)}, "
          f"{settings.workers} worker(s)); open {settings.base_url}/", flush=True)
    options: dict[str, Any] = {
        "app": "server.app:create_app_from_env",
        "factory": True,
        "host": settings.host,
        "port": settings.port,
        "log_level": settings.log_level,
        "access_log": False,
        "timeout_graceful_shutdown": 5,
        "ssl_certfile": settings.ssl_certfile or None,
        "ssl_keyfile": settings.ssl_keyfile or None,
        "proxy_headers": True,
        "forwarded_allow_ips": settings.forwarded_allow_ips,
    }
    from server.workers import per_worker_sockets_available, serve_workers

    if settings.workers > 1 and per_worker_sockets_available():
        uvicorn.Config(**options)  # the parent's logging, as uvicorn.run would set it up
        return serve_workers(options, settings.workers)  # a socket each (server/workers.py)
    uvicorn.run(**options, workers=settings.workers)
    return 0


async def _station_must_exist(db, station: str | None) -> None:  # type: ignore[no-untyped-def]
    """The command line refuses a token for a station nobody created (a typo would
    otherwise make a membership nobody can use)."""
    if not station:
        return
    from sqlalchemy import select

    from server.domain.stations import stations

    async with db.read() as conn:
        found = (await conn.execute(select(stations.c.code).where(stations.c.code == station))).first()
    if found is None:
        raise ValueError(f"no station {station!r}; create it first (station.create)")


async def _token_list(db, args: argparse.Namespace) -> int:  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from server.accounts import person_memberships
    from sync.tables import device_tokens

    stmt = select(device_tokens).order_by(device_tokens.c.created_at)
    if args.user:
        stmt = stmt.where(device_tokens.c.user_id == args.user)
    if not args.all:
        stmt = stmt.where(device_tokens.c.revoked_at.is_(None))
    async with db.read() as conn:
        rows = (await conn.execute(stmt)).mappings().all()
        held = await person_memberships(conn, sorted({r["user_id"] for r in rows}))
    for row in rows:
        roles = ",".join(f"{m['role']}@{m['station'] or m['district'] or '*'}"
                         for m in held.get(row["user_id"], [])) or "-"
        state = f"revoked {row['revoke_reason'] or ''}".strip() if row["revoked_at"] else "active"
        print(f"{row['id']}  {row['user_id']}  {row['name'] or '-'}  roles={roles}  "
              f"last_seen={row['last_seen_at'] or '-'}  {state}")
    print(f"{len(rows)} token(s)")
    return 0


def _tls_problem(settings: Settings) -> str | None:
    """Why the TLS options cannot work, checked before anything starts (uvicorn would
    otherwise fail inside each worker with a bare traceback)."""
    import ssl

    cert, key = settings.ssl_certfile, settings.ssl_keyfile
    if not cert and not key:
        return None
    if not cert or not key:
        given, missing = ("--ssl-certfile", "--ssl-keyfile") if cert else ("--ssl-keyfile", "--ssl-certfile")
        return f"{given} needs {missing} too (CHARITY_SSL_CERTFILE and CHARITY_SSL_KEYFILE)"
    for flag, name in (("--ssl-certfile", cert), ("--ssl-keyfile", key)):
        path = Path(name)
        if not path.is_file():
            return f"{flag} {name}: no such file"
        try:
            path.read_bytes()
        except OSError as exc:
            return f"{flag} {name}: cannot be read ({exc.strerror or exc})"
    try:
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(cert, key)
    except (ssl.SSLError, ValueError) as exc:
        return (f"--ssl-certfile {cert} with --ssl-keyfile {key}: not a PEM certificate and "
                f"its matching key ({exc})")
    return None


def _tls_self_signed(args: argparse.Namespace, settings: Settings) -> int:
    from server.tls import make_dev_certificate

    out = Path(args.out) if args.out else settings.data_dir
    try:
        files = make_dev_certificate(args.names, out, days=args.days)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    first = args.names[0]
    shown = f"[{first}]" if ":" in first else first
    print(f"certificate: {files.cert} (for {', '.join(files.names)}; valid {args.days} days)")
    print(f"key:         {files.key} (keep it private)")
    print(f"phones:      {files.ca} (install this on each phone)")
    print()
    print("Start the server with them:")
    print(f"  python -m server serve --host 0.0.0.0 --ssl-certfile {files.cert} "
          f"--ssl-keyfile {files.key}")
    print(f"and open https://{shown}:8000/ on the phone.")
    print()
    print("Each phone must trust the certificate first, or the browser refuses the offline app")
    print("(clicking through the warning is not enough: no service worker, no camera):")
    print(f"  Android: copy {files.ca.name} to the phone, Settings > Security > Encryption &")
    print("           credentials > Install a certificate > CA certificate.")
    print(f"  iPhone:  open {files.ca.name} (AirDrop or mail), install the profile, then Settings >")
    print("           General > About > Certificate Trust Settings > turn it on.")
    print("This is for development and trials; in production put the server behind a proxy")
    print("that gets real certificates (docs/deployment.md).")
    return 0


async def _migrate_only(settings: Settings) -> None:
    db = await _with_db(settings)
    await db.dispose()


def _safe_url(settings: Settings) -> str:
    from sqlalchemy.engine import make_url

    return make_url(settings.resolved_database_url).render_as_string(hide_password=True)
