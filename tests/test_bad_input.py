"""Bad input found by a chaos/fuzz run: each gets a 4xx or a recorded ``rejected
invalid_args`` with a zh/en message, the same on SQLite and PostgreSQL, and nothing
half-written; an unhandled exception is a logged 500 in the one error shape."""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import uuid
from pathlib import Path
from typing import Any

import msgspec.inspect as mi
import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import func, select

from schemas.notifications import PushSubscriptionBody
from schemas.text import DATE, MULTI_LINE, SINGLE_LINE, exact
from server import reports
from server.pwa import pwa_routes
from sync import pull as pull_module
from sync.tables import metadata
from tests.conftest import Api
from tests.helpers import event_args, mutation, new_id, station_args

pytestmark = pytest.mark.anyio
PUSH = "/api/v1/sync/push"


async def row_counts(api: Api) -> dict[str, int]:
    async with api.state.db.engine.connect() as conn:
        return {t.name: (await conn.execute(select(func.count()).select_from(t))).scalar_one()
                for t in metadata.sorted_tables}


def assert_message(body: dict[str, Any]) -> None:
    assert body["message"]["zh"] and body["message"]["en"]
    assert re.search(r"[\u4e00-\u9fff]", body["message"]["zh"])


def raw_push(client_id: str, mutations: list[dict[str, Any]], **extra: Any) -> bytes:
    body = {"protocol": 1, "client_id": client_id, "mutations": mutations, **extra}
    return json.dumps(body, ensure_ascii=False).encode()


async def admin(api: Api) -> dict[str, str]:
    return {**api.auth(await api.token("city-admin", "admin")), "Content-Type": "application/json"}


# ----------------------------------------------------------------------------- envelopes


async def test_push_bodies_that_are_not_json_enough_get_400_and_write_nothing(api: Api) -> None:
    headers = await admin(api)
    client_id = str(uuid.uuid4())
    before = await row_counts(api)
    ok = mutation(1, "station.create", station_args())
    bad_utf8 = raw_push(client_id, [ok]).replace("天河社工站".encode(), b"\xff\xfe\xfd")
    deep = raw_push(client_id, [{**ok, "args": "DEEP"}]).replace(
        b'"DEEP"', b"[" * 100_000 + b"]" * 100_000)
    cases = {
        "utf8": (bad_utf8, "not_json", None),
        "deep": (deep, "not_json", None),
        "pending 2^63": (raw_push(client_id, [ok], pending=2**63), "malformed_envelope", "$.pending"),
        "pending 2^31": (raw_push(client_id, [ok], pending=2**31), "malformed_envelope", "$.pending"),
        "pending < 0": (raw_push(client_id, [ok], pending=-1), "malformed_envelope", "$.pending"),
        "key of dashes": (raw_push(client_id, [{**ok, "key": "-" * 36}]), "malformed_envelope",
                          "$.mutations[0].key"),
        "client of dashes": (raw_push("-" * 36, [ok]), "malformed_envelope", "$.client_id"),
        "NUL in name": (raw_push(client_id, [{**ok, "name": "station\u0000create"}]),
                        "malformed_envelope", "$.mutations[0].name"),
    }
    for label, (body, code, field) in cases.items():
        response = await api.http.post(PUSH, content=body, headers=headers)
        assert response.status_code == 400, (label, response.text)
        answer = response.json()
        assert answer["code"] == code and answer.get("field") == field, (label, answer)
        assert_message(answer)
        assert answer["request_id"] == response.headers["X-Request-ID"]
    assert await row_counts(api) == before
    # nothing was claimed either: the same client's first mutation still applies as id 1
    good = await api.http.post(PUSH, content=raw_push(client_id, [ok], pending=3), headers=headers)
    assert good.status_code == 200 and good.json()["results"][0]["status"] == "applied"


async def test_pull_cursor_with_a_control_character_is_400(api: Api) -> None:
    headers = await admin(api)
    body = {"protocol": 1, "client_id": str(uuid.uuid4()), "cursor": "abc\u0000", "limit": 10}
    response = await api.http.post("/api/v1/sync/pull", json=body, headers=headers)
    assert response.status_code == 400 and response.json()["field"] == "$.cursor"


# ----------------------------------------------------------------------------- mutation args


async def _push_one(api: Api, headers: dict[str, str], client_id: str, mutation_id: int,
                    name: str, args: dict[str, Any]) -> dict[str, Any]:
    response = await api.http.post(
        PUSH, content=raw_push(client_id, [mutation(mutation_id, name, args)]), headers=headers)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()["results"][0]
    return result


async def _events(api: Api) -> list[dict[str, Any]]:
    events = metadata.tables["events"]
    async with api.state.db.engine.connect() as conn:
        return [dict(r) for r in (await conn.execute(select(events))).mappings()]


BAD_ARGS: list[tuple[str, str, dict[str, Any], str]] = [
    ("NUL in a name", "station.create", station_args(name="天河\u0000社工站"), "name"),
    ("newline in a name", "station.create", station_args(name="天河\n社工站"), "name"),
    ("trailing newline in a code", "station.create", station_args(code="TH-009\n"), "code"),
    ("ESC in a title", "event.create", event_args(new_id(), title="义卖\u001b[31m"), "title"),
    ("NUL in notes", "event.create", event_args(new_id(), notes="a\u0000b"), "notes"),
    ("CR in notes", "event.create", event_args(new_id(), notes="a\rb"), "notes"),
    ("DEL in notes", "event.create", event_args(new_id(), notes="a\u007fb"), "notes"),
    ("nested field", "event.update", {"id": new_id(), "fields": {"title": "x\u0000"}},
     "fields.title"),
    ("dict value", "event.update", {"id": new_id(), "fields": {}, "base": {"title": "\u0000"}},
     "base[...]"),
    ("list item", "volunteer.register",
     {"user_id": "v1", "name": "志愿者", "stations": ["TH-001"], "skills": ["ok", "b\u0000"]},
     "skills[1]"),
    ("donor name", "donation.record",
     {"id": new_id(), "station": "TH-001", "kind": "money", "amount_fen": 100, "method": "cash",
      "donor": {"name": "张\u0000三"}}, "donor.name"),
    ("reason", "hours.reject", {"id": new_id(), "reason": "\u0000"}, "reason"),
    ("31 February", "event.create", event_args(new_id(), date="2026-02-31"), "date"),
    ("29 February, not a leap year", "event.create", event_args(new_id(), date="2100-02-29"),
     "date"),
    ("month 13", "event.create", event_args(new_id(), date="2026-13-01"), "date"),
    ("year 0001", "event.create", event_args(new_id(), date="0001-01-01"), "date"),
    ("time on 30 February", "hours.check_out", {"id": new_id(), "at": "2026-02-30T10:00:00Z"},
     "at"),
    ("hour 25", "hours.check_out", {"id": new_id(), "at": "2026-02-03T25:00:00Z"}, "at"),
    ("id of 36 dashes", "event.create", event_args("-" * 36), "id"),
    ("fund id of dashes", "fund.seed", {"id": new_id(), "fund_id": "-" * 36, "amount_fen": 1},
     "fund_id"),
]


@pytest.mark.parametrize(("label", "name", "args", "field"), BAD_ARGS,
                         ids=[case[0] for case in BAD_ARGS])
async def test_bad_text_dates_and_ids_in_args_are_rejected_naming_the_field(
    api: Api, label: str, name: str, args: dict[str, Any], field: str
) -> None:
    headers = await admin(api)
    client_id = str(uuid.uuid4())
    assert (await _push_one(api, headers, client_id, 1, "station.create", station_args())
            )["status"] == "applied"
    before = await row_counts(api)
    result = await _push_one(api, headers, client_id, 2, name, args)
    assert result["status"] == "rejected" and result["code"] == "invalid_args", result
    assert_message(result)
    assert f"(字段 {field})" in result["message"]["zh"] and f"`$.{field}`" in result["message"]["en"]
    assert "regex" not in result["message"]["en"], "a pattern is not a reason a person can read"
    after = await row_counts(api)
    # the rejection is recorded (an issue, its change-feed row, the stored outcome) and
    # nothing else is written
    assert {t: n - before[t] for t, n in after.items() if n != before[t]} == {
        "sync_issues": 1, "changes": 1, "mutations": 1}


async def test_multi_line_text_keeps_newline_tab_and_line_separators(api: Api) -> None:
    headers = await admin(api)
    client_id = str(uuid.uuid4())
    await _push_one(api, headers, client_id, 1, "station.create", station_args())
    notes = "第一行\n\t第二行 line\u2028three\u2029"
    event_id = new_id()
    result = await _push_one(api, headers, client_id, 2, "event.create",
                             event_args(event_id, notes=notes, title="义卖\u2028日",
                                        date="2024-02-29"))
    assert result["status"] == "applied", result
    [stored] = await _events(api)
    assert stored["id"] == event_id and stored["notes"] == notes and stored["date"] == "2024-02-29"


def _strings(t: Any, path: str, seen: frozenset[Any]) -> list[tuple[str, str | None]]:
    """Every string type reachable from ``t``: struct fields, list items, dict keys and values."""
    if isinstance(t, mi.StrType):
        return [(path, t.pattern)]
    if isinstance(t, mi.StructType):
        if t.cls in seen:
            return []
        return [s for f in t.fields for s in _strings(f.type, f"{path}.{f.name}", seen | {t.cls})]
    if isinstance(t, mi.ListType | mi.SetType | mi.FrozenSetType | mi.VarTupleType):
        return _strings(t.item_type, f"{path}[]", seen)
    if isinstance(t, mi.DictType):
        return _strings(t.key_type, f"{path}{{key}}", seen) + _strings(t.value_type, f"{path}{{}}", seen)
    if isinstance(t, mi.UnionType):
        return [s for member in t.types for s in _strings(member, path, seen)]
    if isinstance(t, mi.AnyType | mi.RawType):
        return [(path, None)]
    return []


async def test_every_text_in_every_mutation_refuses_control_characters_and_the_schema_says_so(
    api: Api
) -> None:
    """A new args field with a plain ``str`` fails here: it must use a rule of schemas/text.py."""
    found: list[tuple[str, str | None]] = []
    for (name, version), args_type in api.state.registry.args_types().items():
        found += _strings(mi.type_info(args_type), f"{name}@{version}", frozenset())
    found += _strings(mi.type_info(PushSubscriptionBody), "push_subscription", frozenset())
    assert len(found) > 50
    for path, pattern in found:
        assert pattern is not None, path
        for bad in ("ok\u0000", "ok\u007f", "ok\u001b", "ok\r"):
            assert not re.search(pattern, bad), (path, bad)
        if pattern != MULTI_LINE:
            assert not re.search(pattern, "ok\n"), path
    patterns = {pattern for _, pattern in found}
    assert SINGLE_LINE in patterns and MULTI_LINE in patterns
    schema = (await api.http.get("/api/v1/sync/schema")).json()
    station = schema["$defs"]["StationCreateArgs"]["properties"]
    assert station["name"]["pattern"] == SINGLE_LINE
    assert schema["$defs"]["EventCreateArgs"]["properties"]["notes"]["pattern"] == MULTI_LINE


def test_date_rule_is_the_calendar() -> None:
    """The date pattern agrees with the calendar for every day string of some hard years."""
    rule = re.compile(exact(DATE))
    for year in (1899, 1900, 1996, 2000, 2023, 2024, 2026, 2100, 2400, 2999, 3000):
        for month in range(14):
            for day in range(33):
                text = f"{year:04d}-{month:02d}-{day:02d}"
                try:
                    real = 1900 <= dt.date.fromisoformat(text).year <= 2999
                except ValueError:
                    real = False
                assert bool(rule.search(text)) is real, text


# ----------------------------------------------------------------------------- routes


@pytest.mark.parametrize("query", [
    "from=0001-01-01", "to=9999-12-31", "from=2026-02-31", "to=20260205", "from=2026-W06-4",
    "from=1899-12-31",
])
async def test_export_with_an_impossible_date_is_400(api: Api, query: str) -> None:
    headers = await admin(api)
    for path in ("/api/v1/exports/donations.csv", "/api/v1/exports/donations.xlsx",
                 f"/api/v1/exports/funds/{new_id()}/statement.csv"):
        response = await api.http.get(f"{path}?{query}", headers=headers)
        assert response.status_code == 400, (path, response.text)
        body = response.json()
        assert body["code"] == "invalid_args" and body["field"] == query.split("=")[0]
        assert_message(body)


@pytest.mark.parametrize("target", [
    "/%00", "/public/receipts/%00", "/api/v1/public/receipts/%00?code=ABCDEFGH",
    "/api/v1/public/receipts/X-00001?code=%00", "/public/funds/%00", "/api/v1/public/funds/%00",
    "/api/v1/public/funds/%00/verify", "/public/events/%00", "/api/v1/public/events/%00",
    "/api/v1/public/events/%00/stream", "/api/v1/exports/funds/%00/statement.csv",
    "/public/events/a%0Ab", "/api/v1/exports/donations.csv?from=%ff",
])
async def test_control_characters_in_the_request_target_are_400(api: Api, target: str) -> None:
    headers = await admin(api)
    before = await row_counts(api)
    response = await api.http.get(target, headers=headers)
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["code"] == "bad_request" and body["request_id"] == response.headers["X-Request-ID"]
    assert_message(body)
    assert await row_counts(api) == before


async def test_unknown_ids_on_public_routes_are_404_on_both_databases(api: Api) -> None:
    """Invalid UTF-8 in a path reaches the route as U+FFFD: an id like any unknown one."""
    for target in ("/api/v1/public/funds/no-such-fund", "/api/v1/public/funds/%ff",
                   "/api/v1/public/events/%E2%80%A8", "/api/v1/public/receipts/X-00001?code=ABCDEFGH"):
        response = await api.http.get(target)
        assert response.status_code == 404 and response.json()["code"] == "not_found", target


# ----------------------------------------------------------------------------- 500s


async def test_unhandled_exception_is_a_logged_500_with_a_request_id(
    api: Api, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("boom from a forced bug")

    monkeypatch.setattr(reports, "fund_list", broken)
    monkeypatch.setattr(pull_module, "pull", broken)
    headers = await admin(api)
    pull_body = {"protocol": 1, "client_id": str(uuid.uuid4())}
    seen: list[str] = []
    with caplog.at_level(logging.ERROR, logger="server"):
        for method, path, body_json in (
            ("GET", "/api/v1/public/funds", None),
            ("POST", "/api/v1/sync/pull", pull_body),
        ):
            response = await api.http.request(method, path, json=body_json, headers=headers)
            assert response.status_code == 500, response.text
            body = response.json()
            assert set(body) == {"code", "message", "request_id"} and body["code"] == "internal_error"
            assert_message(body)
            assert body["request_id"] == response.headers["X-Request-ID"]
            seen.append(body["request_id"])
        page = await api.http.get("/public/funds", headers={"X-Request-ID": "proxy-42.a_b"})
        assert page.status_code == 500 and page.headers["content-type"].startswith("text/html")
        assert page.headers["X-Request-ID"] == "proxy-42.a_b" and "proxy-42.a_b" in page.text
        seen.append("proxy-42.a_b")
    assert len(set(seen)) == 3
    for request_id in seen:
        [record] = [r for r in caplog.records if getattr(r, "request_id", None) == request_id]
        assert request_id in record.getMessage() and record.exc_info is not None
        assert "boom from a forced bug" in caplog.text


async def test_request_id_header_on_every_answer_and_unsafe_incoming_ids_replaced(api: Api) -> None:
    ok = await api.http.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert ok.status_code == 200 and ok.headers["X-Request-ID"] == "abc-123"
    for unsafe in ("a" * 65, "two words", "semi;colon", "é"):
        answer = await api.http.get("/healthz", headers={b"X-Request-ID": unsafe.encode()})
        assert answer.headers["X-Request-ID"] != unsafe
        assert re.fullmatch(r"[0-9a-f]{16}", answer.headers["X-Request-ID"])
    missing = await api.http.get("/no/such/route")
    assert missing.status_code == 404 and missing.json()["request_id"] == missing.headers["X-Request-ID"]
    a, b = (await api.http.get("/healthz")).headers["X-Request-ID"], (await api.http.get("/healthz")).headers["X-Request-ID"]
    assert a != b


def test_phone_app_paths_that_can_be_no_file_are_404(tmp_path: Path) -> None:
    """A NUL or a name longer than the file system takes used to raise inside the lookup."""
    dist = tmp_path / "dist"
    dist.mkdir()
    (dist / "index.html").write_text("<!doctype html><title>app shell</title>", encoding="utf-8")
    with TestClient(Litestar(route_handlers=pwa_routes(dist))) as client:
        for path in ("/%00", "/a%01b", "/" + "a" * 300, "/assets/" + "b" * 300 + ".js",
                     "/" + "c/" * 3000 + "d.js"):
            assert client.get(path).status_code == 404, path[:20]
        assert "app shell" in client.get("/some/deep/link").text
