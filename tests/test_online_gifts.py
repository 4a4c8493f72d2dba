"""Online gifts from the joint fundraising platform (docs/online-gifts.md): statements
parsed exactly (fen, GB18030, Excel), imported twice and booked once, a bad line booking
nothing, booking in chunks, reconciliation finding and resolving a missing order, the
nickname erased, and the public fund page linking the platform."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from server.audit import audit_log
from server.domain import online
from server.domain.funds import ledger_entries, verify_fund
from tests.conftest import Api
from tests.donation_setup import DISTRICT, World, build_world
from tests.helpers import STATEMENT_HEADER, online_platform, statement_csv

pytestmark = pytest.mark.anyio

BASE = "/api/v1/admin/online"
FUND_LABEL = "天河社区慈善基金"
PROJECT_LABEL = "耆乐安居·网络"


# ----------------------------------------------------------------------------- parsing


@pytest.mark.parametrize(("text", "fen"), [
    ("12.30", 1230), ("12.3", 1230), ("12", 1200), ("0.01", 1), ("1,200.50", 120050),
    ("¥5", 500), ("￥ 88.8", 8880), (" 7.05 ", 705), ("99999999.99", 9999999999),
])
def test_yuan_with_decimals_become_fen_exactly(text: str, fen: int) -> None:
    assert online.amount_fen(text) == fen


@pytest.mark.parametrize("text", ["12.345", "-5", "1e3", "12.3.4", "", "abc", "12,30元", "0x10"])
def test_amounts_that_are_not_yuan_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        online.amount_fen(text)


ROWS = [
    ("GY20261120001", "2026-11-20 09:15:00", "12.30", "小明", PROJECT_LABEL, "微信"),
    ("GY20261120002", "2026-11-20 21:40:10", "100", "爱心人士", FUND_LABEL, "支付宝"),
    ("GY20261121001", "2026-11-21 08:00:00", "0.10", "匿名", PROJECT_LABEL, "微信"),
]


def _xlsx(rows: list[tuple[Any, ...]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(list(STATEMENT_HEADER))
    for row in rows:
        sheet.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _facts(parsed: online.Parsed) -> list[tuple[Any, ...]]:
    return [(x.line_no, x.order_no, x.paid_at, x.amount_fen, x.nickname, x.project_label, x.channel)
            for x in parsed.lines]


def test_gb18030_utf8_bom_and_xlsx_statements_read_alike() -> None:
    expected = [
        (2, "GY20261120001", "2026-11-20T09:15:00+08:00", 1230, "小明", PROJECT_LABEL, "微信"),
        (3, "GY20261120002", "2026-11-20T21:40:10+08:00", 10000, "爱心人士", FUND_LABEL, "支付宝"),
        (4, "GY20261121001", "2026-11-21T08:00:00+08:00", 10, "匿名", PROJECT_LABEL, "微信"),
    ]
    gb = online.parse_statement(statement_csv(ROWS, encoding="gb18030"), online.DEFAULT_MAPPING)
    assert gb.encoding == "gb18030" and _facts(gb) == expected and gb.problem_count == 0
    bom = online.parse_statement(statement_csv(ROWS, bom=True), online.DEFAULT_MAPPING)
    assert bom.encoding == "utf-8-sig" and _facts(bom) == expected
    # Excel: a number cell (12.3 as a float, 100 as an int) and a real datetime cell
    cells = [("GY20261120001", dt.datetime(2026, 11, 20, 9, 15), 12.3, "小明", PROJECT_LABEL, "微信"),
             ("GY20261120002", "2026-11-20 21:40:10", 100, "爱心人士", FUND_LABEL, "支付宝"),
             ("GY20261121001", "2026-11-21 08:00:00", 0.1, "匿名", PROJECT_LABEL, "微信")]
    xlsx = online.parse_statement(_xlsx(cells), online.DEFAULT_MAPPING)
    assert xlsx.kind == "xlsx" and _facts(xlsx) == expected


def test_a_platform_mapping_names_its_own_columns_and_time_format() -> None:
    mapping = {"order_no": ["Order ID"], "paid_at": ["Paid"], "amount": ["Amount (CNY)"],
               "project": ["Project"], "nickname": [], "channel": ["Via"]}
    data = (b"Via,Project,Amount (CNY),Order ID,Paid\n"
            b"wechat,X,3.5,A-1,20/11/2026 10:00\n")
    parsed = online.parse_statement(data, mapping, "%d/%m/%Y %H:%M")
    assert _facts(parsed) == [(2, "A-1", "2026-11-20T10:00:00+08:00", 350, "", "X", "wechat")]


def test_bad_lines_are_named_with_their_reason() -> None:
    rows = ROWS + [("GY-BAD-1", "2026-11-21 08:00:00", "12.345", "", PROJECT_LABEL, ""),
                   ("GY-BAD-2", "yesterday", "1", "", PROJECT_LABEL, ""),
                   ("GY20261120001", "2026-11-21 08:00:00", "1", "", PROJECT_LABEL, ""),
                   ("", "2026-11-21 08:00:00", "1", "", PROJECT_LABEL, "")]
    parsed = online.parse_statement(statement_csv(rows), online.DEFAULT_MAPPING)
    named = [(p.line, p.en) for p in parsed.problems]
    assert [line for line, _ in named] == [5, 6, 7, 8]
    assert "12.345" in named[0][1] and "two decimals" in named[0][1]
    assert "does not match" in named[1][1]
    assert "repeats line 2" in named[2][1]
    assert named[3][1] == "no order number"
    assert all(p.zh for p in parsed.problems)


def test_a_file_without_the_columns_or_too_long_is_refused_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(online.ProtocolError) as missing:
        online.parse_statement(b"a,b,c\n1,2,3\n", online.DEFAULT_MAPPING)
    assert missing.value.status == 400 and "line 1" in missing.value.message.en
    monkeypatch.setattr(online, "MAX_LINES", 2)
    with pytest.raises(online.ProtocolError) as long:
        online.parse_statement(statement_csv(ROWS), online.DEFAULT_MAPPING)
    assert long.value.status == 413 and long.value.code == "too_many_lines"
    monkeypatch.setattr(online, "MAX_BYTES", 100)
    with pytest.raises(online.ProtocolError) as big:
        online.parse_statement(statement_csv(ROWS), online.DEFAULT_MAPPING)
    assert big.value.status == 413
    monkeypatch.setattr(online, "MAX_BYTES", 8 * 1024 * 1024)
    monkeypatch.setattr(online, "MAX_UNPACKED", 4000)
    with pytest.raises(online.ProtocolError) as bomb:
        online.parse_statement(_xlsx([r for r in ROWS] * 20), online.DEFAULT_MAPPING)
    assert bomb.value.status == 413 and "unpacks" in bomb.value.message.en
    with pytest.raises(online.ProtocolError) as garbage:
        online.parse_statement(b"PK\x03\x04not a zip", online.DEFAULT_MAPPING)
    assert garbage.value.status == 400


# ----------------------------------------------------------------------------- the flow


async def _linked_world(api: Api) -> tuple[World, dict[str, str]]:
    world = await build_world(api)
    await online_platform(api.state.db)
    headers = api.auth(world.district.token)
    for kind, target, label in (("fund", world.fund_id, FUND_LABEL),
                                ("project", world.project_id, PROJECT_LABEL)):
        answer = await api.http.post(f"{BASE}/links", headers=headers, json={
            "target_kind": kind, "target_id": target, "platform": "gylm",
            "url": f"https://www.gylm.example.cn/project/{target}", "label": label})
        assert answer.status_code == 200, answer.text
    return world, headers


async def _upload(api: Api, headers: dict[str, str], data: bytes, name: str = "s.csv"
                  ) -> dict[str, Any]:
    answer = await api.http.post(f"{BASE}/statements", headers=headers, content=data,
                                 params={"platform": "gylm", "filename": name})
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


async def _book_all(api: Api, headers: dict[str, str], statement: str, limit: int = 2000
                    ) -> list[dict[str, Any]]:
    steps = []
    while True:
        answer = await api.http.post(f"{BASE}/statements/{statement}/book", headers=headers,
                                     json={"limit": limit})
        assert answer.status_code == 200, answer.text
        steps.append(answer.json())
        if answer.json()["remaining"] == 0:
            return steps


async def _online_entries(api: Api) -> list[Any]:
    async with api.state.db.read() as conn:
        return list((await conn.execute(select(ledger_entries).where(
            ledger_entries.c.kind == "online").order_by(ledger_entries.c.seq))).mappings())


async def test_the_same_statement_imported_twice_is_booked_once(api: Api) -> None:
    world, headers = await _linked_world(api)
    first = await _upload(api, headers, statement_csv(ROWS, encoding="gb18030"))
    assert first["statement"]["status"] == "preview"
    assert first["counts"] == {"new": 3, "booked": 0, "differs": 0, "unassigned": 0, "elsewhere": 0}
    assert [(t["day"], t["project"], t["amount_fen"]) for t in first["totals"]] == [
        ("2026-11-20", FUND_LABEL, 10000), ("2026-11-20", PROJECT_LABEL, 1230),
        ("2026-11-21", PROJECT_LABEL, 10)]
    assert all("nickname" not in row for row in first["rows"])  # personal data stays in
    assert not await _online_entries(api)  # a preview books nothing

    (booked,) = await _book_all(api, headers, first["statement"]["id"])
    assert (booked["booked"], booked["booked_fen"], booked["status"]) == (3, 11240, "booked")

    again = await _upload(api, headers, statement_csv(ROWS, bom=True), "again.csv")
    assert again["counts"]["booked"] == 3 and again["counts"]["new"] == 0
    assert not again["bookable"]
    (nothing,) = await _book_all(api, headers, again["statement"]["id"])
    assert nothing["booked"] == 0

    entries = await _online_entries(api)
    fund_side = [e for e in entries if e["account"].startswith("fund:")]
    assert sorted(e["amount_fen"] for e in fund_side) == [10, 1230, 10000]
    assert {e["account"] for e in fund_side} == {"fund:general", f"fund:project:{world.project_id}"}
    assert {e["account"] for e in entries if not e["account"].startswith("fund:")} == {"online:gylm"}
    assert all(e["note"] == "" for e in entries)  # no nickname in the ledger
    async with api.state.db.read() as conn:
        report = await verify_fund(conn, world.fund_id)
        gifts = (await conn.execute(select(func.count()).select_from(online.online_gifts))).scalar()
        actions = [r.action for r in await conn.execute(select(audit_log.c.action).where(
            audit_log.c.action.like("online.%")).order_by(audit_log.c.id))]
    assert report is not None and report.ok and report.balance_fen == 11240
    assert gifts == 3
    assert actions == ["online.platform_save", "online.link_set", "online.link_set",
                       "online.statement_import",
                       "online.statement_book", "online.statement_import", "online.statement_book"]
    # the managers' phones get the entries through the change feed like any other
    await world.manager.pull()
    assert len([e for e in world.manager.of_type("ledger_entry").values()
                if e["kind"] == "online"]) == 6


async def test_a_statement_with_a_malformed_line_books_nothing_and_names_the_line(api: Api) -> None:
    world, headers = await _linked_world(api)
    rows = ROWS + [("GY20261121002", "2026-11-21 10:00:00", "12.345", "某人", PROJECT_LABEL, "微信")]
    preview = await _upload(api, headers, statement_csv(rows))
    assert preview["statement"]["status"] == "refused"
    assert preview["problems"] == [{"line": 5, "message": {
        "zh": "金额“12.345”不是以元为单位、至多两位小数的正数",
        "en": 'the amount "12.345" is not a positive number of yuan with at most two decimals'}}]
    answer = await api.http.post(f"{BASE}/statements/{preview['statement']['id']}/book",
                                 headers=headers, json={})
    assert answer.status_code == 409
    body = answer.json()
    assert body["code"] == "statement_refused" and "line 5" in body["message"]["en"]
    assert "第 5 行" in body["message"]["zh"]
    assert not await _online_entries(api)
    async with api.state.db.read() as conn:
        assert (await conn.execute(select(func.count()).select_from(online.online_gifts))).scalar() == 0
        detail = (await conn.execute(select(audit_log.c.detail).where(
            audit_log.c.action == "online.statement_import"))).scalar_one()
    assert '"first_bad_line":5' in detail.replace(" ", "")
    assert world.fund_id


async def test_booking_goes_in_chunks_until_none_remain(api: Api) -> None:
    world, headers = await _linked_world(api)
    rows = [(f"GY-{n:05d}", "2026-11-22 12:00:00", f"{n}.01", "", PROJECT_LABEL, "微信")
            for n in range(1, 8)]
    preview = await _upload(api, headers, statement_csv(rows))
    steps = await _book_all(api, headers, preview["statement"]["id"], limit=3)
    assert [(s["booked"], s["remaining"], s["status"]) for s in steps] == [
        (3, 4, "booking"), (3, 1, "booking"), (1, 0, "booked")]
    assert sum(s["booked_fen"] for s in steps) == sum(n * 100 + 1 for n in range(1, 8))
    async with api.state.db.read() as conn:
        report = await verify_fund(conn, world.fund_id)
    assert report is not None and report.ok


async def test_reconciliation_finds_a_missing_order_and_resolves_it(api: Api) -> None:
    world, headers = await _linked_world(api)
    rows = ROWS + [("GY20261121009", "2026-11-21 19:30:00", "50.00", "某人", "未登记的项目", "微信")]
    preview = await _upload(api, headers, statement_csv(rows))
    assert preview["counts"]["unassigned"] == 1
    await _book_all(api, headers, preview["statement"]["id"])

    params = {"platform": "gylm", "start": "2026-11-20", "end": "2026-11-21"}
    found = (await api.http.get(f"{BASE}/reconcile", headers=headers, params=params)).json()
    assert (found["platform_fen"], found["ledger_fen"]) == (16240, 11240)
    odd = [r for r in found["rows"] if r["difference_fen"]]
    assert odd == [{"day": "2026-11-21", "project": "未登记的项目", "platform_fen": 5000,
                    "platform_orders": 1, "ledger_fen": 0, "ledger_orders": 0,
                    "difference_fen": 5000}]
    assert [(u["order_no"], u["problem"]) for u in found["unmatched"]] == [
        ("GY20261121009", "not_in_ledger")]

    # resolve: book it onto the project it belongs to
    answer = await api.http.post(f"{BASE}/reconcile/book", headers=headers, json={
        "platform": "gylm", "order_no": "GY20261121009", "fund_id": world.fund_id,
        "project_id": world.other_project_id})
    assert answer.status_code == 200, answer.text
    again = await api.http.post(f"{BASE}/reconcile/book", headers=headers, json={
        "platform": "gylm", "order_no": "GY20261121009", "fund_id": world.fund_id})
    assert again.status_code == 409
    found = (await api.http.get(f"{BASE}/reconcile", headers=headers, params=params)).json()
    assert found["unmatched"] == [] and found["platform_fen"] == found["ledger_fen"] == 16240

    # a later statement disagrees on an amount: both figures shown, then explained
    changed = [("GY20261120002", "2026-11-20 21:40:10", "80.00", "爱心人士", FUND_LABEL, "支付宝")]
    later = await _upload(api, headers, statement_csv(changed), "refund.csv")
    assert later["counts"]["differs"] == 1
    await _book_all(api, headers, later["statement"]["id"])
    found = (await api.http.get(f"{BASE}/reconcile", headers=headers, params=params)).json()
    assert [(u["order_no"], u["problem"], u["platform_fen"], u["ledger_fen"])
            for u in found["unmatched"]] == [("GY20261120002", "amount_differs", 8000, 10000)]
    answer = await api.http.post(f"{BASE}/reconcile/explain", headers=headers, json={
        "platform": "gylm", "order_no": "GY20261120002", "category": "refund",
        "reason": "平台部分退款 20 元"})
    assert answer.status_code == 200, answer.text
    found = (await api.http.get(f"{BASE}/reconcile", headers=headers, params=params)).json()
    assert found["unmatched"] == []
    assert [(e["order_no"], e["category"]) for e in found["explained"]] == [
        ("GY20261120002", "refund")]
    async with api.state.db.read() as conn:
        actions = {r.action for r in await conn.execute(select(audit_log.c.action))}
        by_month = await online.online_by_month(conn, district=DISTRICT)
    assert {"online.reconcile_book", "online.reconcile_explain"} <= actions
    assert by_month == [{"month": "2026-11", "orders": 4, "amount_fen": 16240}]


async def test_a_district_manager_books_only_the_funds_of_their_district(api: Api) -> None:
    world, headers = await _linked_world(api)
    other = api.auth(await api.token("dm-yx", "district_manager", district="越秀区"))
    preview = await _upload(api, other, statement_csv(ROWS))
    assert preview["counts"]["elsewhere"] == 3 and not preview["bookable"]
    (step,) = await _book_all(api, other, preview["statement"]["id"])
    assert step["booked"] == 0
    # the city's admin still books them from the same statement
    admin = api.auth(world.admin.token)
    again = (await api.http.get(f"{BASE}/statements/{preview['statement']['id']}",
                                headers=admin)).json()
    assert again["counts"]["new"] == 3 and again["bookable"]
    (step,) = await _book_all(api, admin, preview["statement"]["id"])
    assert step["booked"] == 3
    staff = api.auth(world.staff.token)
    refused = await api.http.post(f"{BASE}/statements", headers=staff, content=statement_csv(ROWS),
                                  params={"platform": "gylm"})
    assert refused.status_code == 403
    link = await api.http.post(f"{BASE}/links", headers=other, json={
        "target_kind": "fund", "target_id": world.fund_id, "platform": "gylm",
        "url": "https://www.gylm.example.cn/x", "label": "别的名称"})
    assert link.status_code == 403
    phishing = await api.http.post(f"{BASE}/links", headers=headers, json={
        "target_kind": "fund", "target_id": world.fund_id, "platform": "gylm",
        "url": "https://gylm.example.cn.evil.test/x", "label": FUND_LABEL})
    assert phishing.status_code == 400 and phishing.json()["field"] == "url"


async def test_public_fund_page_links_the_platform_and_hides_nicknames(api: Api) -> None:
    world, headers = await _linked_world(api)
    preview = await _upload(api, headers, statement_csv(ROWS))
    await _book_all(api, headers, preview["statement"]["id"])
    page = await api.http.get(f"/public/funds/{world.fund_id}")
    assert page.status_code == 200
    assert f'href="https://www.gylm.example.cn/project/{world.fund_id}"' in page.text
    assert f'href="https://www.gylm.example.cn/project/{world.project_id}"' in page.text
    assert "小明" not in page.text and "爱心人士" not in page.text
    data = (await api.http.get(f"/api/v1/public/funds/{world.fund_id}")).json()
    assert data["platform"]["projects"][world.project_id]["name"] == "耆乐安居"
    assert data["income_fen"] == 11240


async def test_erasure_blanks_an_online_donors_nickname(api: Api) -> None:
    world, headers = await _linked_world(api)
    preview = await _upload(api, headers, statement_csv(ROWS))
    await _book_all(api, headers, preview["statement"]["id"])
    admin = api.auth(world.admin.token)
    found = (await api.http.get("/api/v1/admin/erasure/search", params={"q": "小明"},
                                headers=admin)).json()
    assert [(d["name"], d["orders"]) for d in found["online_donors"]] == [("小明", 1)]
    answer = await api.http.post("/api/v1/admin/erasure", headers=admin, json={
        "subject": "online_donor", "reason": "subject_request", "nickname": "小明"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["changed"] == {"online_gifts": 1, "statement_lines": 1}
    async with api.state.db.read() as conn:
        left = (await conn.execute(select(func.count()).select_from(online.online_gifts).where(
            online.online_gifts.c.nickname == "小明"))).scalar()
        logged = (await conn.execute(select(audit_log.c.detail).where(
            audit_log.c.action == "online.nickname_erase"))).scalar_one()
        report = await verify_fund(conn, world.fund_id)
    assert left == 0 and "小明" not in logged
    assert report is not None and report.ok


async def test_an_excel_statement_is_imported_with_exact_fen(api: Api) -> None:
    world, headers = await _linked_world(api)
    cells = [("GY-X-1", dt.datetime(2026, 11, 23, 9, 0), 12.3, "甲", PROJECT_LABEL, "微信"),
             ("GY-X-2", "2026-11-23 10:00:00", "0.07", "乙", FUND_LABEL, "支付宝")]
    preview = await _upload(api, headers, _xlsx(cells), "statement.xlsx")
    assert preview["statement"]["file_kind"] == "xlsx"
    assert [(r["order_no"], r["amount_fen"]) for r in preview["rows"]] == [("GY-X-1", 1230),
                                                                          ("GY-X-2", 7)]
    (step,) = await _book_all(api, headers, preview["statement"]["id"])
    assert step["booked_fen"] == 1237
    assert world.fund_id


async def test_a_file_too_big_is_refused_and_audited(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    _, headers = await _linked_world(api)
    monkeypatch.setattr(online, "MAX_BYTES", 200)
    answer = await api.http.post(f"{BASE}/statements", headers=headers,
                                 content=statement_csv(ROWS * 3), params={"platform": "gylm"})
    assert answer.status_code == 413 and answer.json()["code"] == "file_too_large"
    monkeypatch.setattr(online, "MAX_BYTES", 8 * 1024 * 1024)
    monkeypatch.setattr(online, "MAX_LINES", 2)
    answer = await api.http.post(f"{BASE}/statements", headers=headers,
                                 content=statement_csv(ROWS), params={"platform": "gylm"})
    assert answer.status_code == 413 and answer.json()["code"] == "too_many_lines"
    async with api.state.db.read() as conn:
        details = [r.detail for r in await conn.execute(select(audit_log.c.detail).where(
            audit_log.c.action == "online.statement_import"))]
        kept = (await conn.execute(select(func.count()).select_from(online.gift_statements))).scalar()
    assert len(details) == 2 and all('"unreadable"' in d for d in details)
    assert '"file_too_large"' in details[0] and '"too_many_lines"' in details[1]
    assert kept == 0


async def test_two_bookings_of_the_same_orders_at_once_book_each_order_once(api: Api) -> None:
    import anyio

    world, headers = await _linked_world(api)
    first = await _upload(api, headers, statement_csv(ROWS), "a.csv")
    second = await _upload(api, headers, statement_csv(ROWS, encoding="gb18030"), "b.csv")
    admin = api.auth(world.admin.token)
    answers: list[Any] = []

    async def book(statement: str, who: dict[str, str]) -> None:
        answers.append(await api.http.post(f"{BASE}/statements/{statement}/book", headers=who,
                                           json={}))

    async with anyio.create_task_group() as group:
        group.start_soon(book, first["statement"]["id"], headers)
        group.start_soon(book, second["statement"]["id"], admin)
    assert [a.status_code for a in answers] == [200, 200], [a.text for a in answers]
    assert sorted(a.json()["booked"] for a in answers) == [0, 3]
    fund_side = [e for e in await _online_entries(api) if e["account"].startswith("fund:")]
    assert sorted(e["amount_fen"] for e in fund_side) == [10, 1230, 10000]
    async with api.state.db.read() as conn:
        report = await verify_fund(conn, world.fund_id)
    assert report is not None and report.ok and report.balance_fen == 11240
