"""Online gifts from the joint fundraising platform (广益联募): each fund's and project's
page on the platform, the platform's donation statements imported (preview, then
booking into the fund ledger), and the reconciliation of the platform against the ledger.
docs/online-gifts.md.

Not a synced area: the federation works it from the console over HTTP
(``server/online.py``), and its tables never reach a phone. What it books reaches
phones the usual way: ``funds.post_many`` appends ledger entries (kind ``online``,
counter account ``online:<platform>``) through the unit of work of
``sync.write.run_unit``.

- ``gift_platforms``: a platform and how to read its statements (``mapping``: field ->
  header names, ``time_format``), and the host its pages live on.
- ``platform_links``: a fund's or project's page on a platform (URL, and the name the
  platform's statements give it, ``label``).
- ``gift_statements`` and ``statement_lines``: every uploaded statement, with its parsed
  lines (a refused statement keeps its problems and no lines).
- ``online_gifts``: one row per booked order, unique per platform and order number (what
  makes a second import book nothing twice); the ledger movement is ``online:<id>``.
- ``reconcile_notes``: an unmatched order marked explained (category, short reason).

The donor's nickname is personal data: kept (at most 32 characters) on the line and the
gift only, never in the ledger, never on a public page, never in an answer except the
admins' erasure search; ``erase_nickname`` blanks it (``server/erasure.py``).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import re
import zipfile
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    and_,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from server import audit
from server.domain.funds import (
    GENERAL,
    Movement,
    funds,
    holds_fund,
    ledger_entries,
    post_many,
    project_account,
    projects,
)
from sync.errors import ProtocolError
from sync.scopes import ADMIN, DISTRICT_MANAGER, Grant
from sync.tables import metadata
from sync.unit import MutationContext, Tx

gift_platforms = Table(
    "gift_platforms",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("host", String(200), nullable=False),
    Column("mapping", Text, nullable=False),
    Column("time_format", String(64), nullable=False),
    Column("updated_by", String(64), nullable=False),
    Column("updated_at", String(32), nullable=False),
)

platform_links = Table(
    "platform_links",
    metadata,
    Column("target_kind", String(8), primary_key=True),
    Column("target_id", String(36), primary_key=True),
    Column("fund_id", String(36), nullable=False),
    Column("platform_id", String(36), nullable=False),
    Column("url", String(500), nullable=False),
    Column("label", String(200), nullable=False),
    Column("set_by", String(64), nullable=False),
    Column("set_at", String(32), nullable=False),
    UniqueConstraint("platform_id", "label", name="uq_platform_links_label"),
)

gift_statements = Table(
    "gift_statements",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("platform_id", String(36), nullable=False, index=True),
    Column("filename", String(200), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("file_kind", String(8), nullable=False),
    Column("status", String(16), nullable=False),
    Column("line_count", Integer, nullable=False),
    Column("total_fen", BigInteger, nullable=False),
    Column("problem_count", Integer, nullable=False),
    Column("problems", Text, nullable=False),
    Column("uploaded_by", String(64), nullable=False),
    Column("uploaded_at", String(32), nullable=False),
    Column("booked_by", String(64), nullable=True),
    Column("booked_at", String(32), nullable=True),
)
"""``status``: ``preview`` (parsed, nothing booked), ``refused`` (bad lines: nothing can be
booked), ``booking`` (booking began), ``booked`` (every line one may book is booked)."""

statement_lines = Table(
    "statement_lines",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("statement_id", String(36), nullable=False),
    Column("line_no", Integer, nullable=False),
    Column("order_no", String(64), nullable=False),
    Column("paid_at", String(32), nullable=False),
    Column("day", String(10), nullable=False),
    Column("amount_fen", BigInteger, nullable=False),
    Column("nickname", String(32), nullable=False),
    Column("project_label", String(200), nullable=False),
    Column("channel", String(32), nullable=False),
    Column("fund_id", String(36), nullable=True),
    Column("project_id", String(36), nullable=True),
    Index("ix_statement_lines_statement_line", "statement_id", "line_no"),
    Index("ix_statement_lines_order", "order_no"),
    Index("ix_statement_lines_day", "day"),
)

online_gifts = Table(
    "online_gifts",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("platform_id", String(36), nullable=False),
    Column("order_no", String(64), nullable=False),
    Column("paid_at", String(32), nullable=False),
    Column("day", String(10), nullable=False),
    Column("amount_fen", BigInteger, nullable=False),
    Column("channel", String(32), nullable=False),
    Column("nickname", String(32), nullable=False),
    Column("project_label", String(200), nullable=False),
    Column("fund_id", String(36), nullable=False, index=True),
    Column("project_id", String(36), nullable=True),
    Column("district", String(100), nullable=True),
    Column("station", String(32), nullable=True),
    Column("movement_id", String(60), nullable=False),
    Column("statement_id", String(36), nullable=True),
    Column("booked_by", String(64), nullable=False),
    Column("booked_at", String(32), nullable=False),
    UniqueConstraint("platform_id", "order_no", name="uq_online_gifts_order"),
    Index("ix_online_gifts_platform_day", "platform_id", "day"),
)
"""One booked order. The money is in the ledger (``ledger_entries`` of movement
``movement_id``, kind ``online``); this row says which order it was."""

reconcile_notes = Table(
    "reconcile_notes",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("platform_id", String(36), nullable=False),
    Column("order_no", String(64), nullable=False),
    Column("category", String(24), nullable=False),
    Column("reason", String(200), nullable=False),
    Column("explained_by", String(64), nullable=False),
    Column("explained_at", String(32), nullable=False),
    UniqueConstraint("platform_id", "order_no", name="uq_reconcile_notes_order"),
)

KIND = "online"
"""``ledger_entries.kind`` of an online gift; its counter account is ``online:<platform>``."""

FIELDS = ("order_no", "paid_at", "amount", "nickname", "project", "channel")
REQUIRED = ("order_no", "paid_at", "amount", "project")
DEFAULT_MAPPING: dict[str, list[str]] = {
    "order_no": ["订单号", "订单编号", "捐赠订单号"],
    "paid_at": ["支付时间", "捐赠时间", "时间"],
    "amount": ["金额", "捐赠金额", "金额(元)"],
    "nickname": ["捐赠人", "昵称", "捐赠人昵称"],
    "project": ["项目名称", "项目"],
    "channel": ["渠道", "支付渠道", "支付方式"],
}
DEFAULT_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
CHINA = dt.timezone(dt.timedelta(hours=8))
"""Platform statements give Beijing time; lines keep it with its offset."""

MAX_BYTES = 8 * 1024 * 1024
"""A statement file larger than this is refused (413): about 80,000 lines of CSV."""
MAX_UNPACKED = 200 * 1024 * 1024
"""An Excel workbook's parts, unpacked, at most (a 50,000-line sheet is about 15 MB)."""
MAX_LINES = 60_000
"""Lines one statement may hold (a month of a busy charity day is under 50,000)."""
BOOK_CHUNK = 2_000
"""Orders booked per request (one transaction); the console asks again until none remain."""
MAX_PROBLEMS = 50
"""Bad lines a refused statement keeps and shows (their count is kept in full)."""
PREVIEW_ROWS = 200
MAX_RECONCILE_DAYS = 92
NICKNAME_CHARS = 32
ERASED_NICKNAME = ""
EXPLAIN_CATEGORIES = {
    "refund": "平台退款 / refunded on the platform",
    "test_order": "测试订单 / a test order",
    "other_fund": "属于其他机构 / belongs to another organisation",
    "timing": "跨日入账 / booked on another day",
    "other": "其他 / other",
}
TOTAL_WORDS = ("合计", "总计", "小计", "total")
"""A statement's footer line starts with one of these; it is skipped, not booked."""
_AMOUNT = re.compile(r"^(\d{1,10})(?:\.(\d{1,2}))?$")
_PLATFORM_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{1,35}$")


def _refuse(status: int, code: str, zh: str, en: str, **extra: Any) -> ProtocolError:
    return ProtocolError(status, code, zh, en, **extra)


def forbidden(zh: str, en: str) -> ProtocolError:
    return _refuse(403, "forbidden", zh, en)


def federation(grant: Grant) -> None:
    """Admins and district managers (of any district) work statements; others are refused."""
    if max(m.rank for m in grant.memberships) < DISTRICT_MANAGER:
        raise forbidden("只有慈善会的管理者(区或市)可以导入网络捐赠",
                        "only the federation's managers (district or city) import online gifts")


def admin_only(grant: Grant) -> None:
    if max(m.rank for m in grant.memberships) < ADMIN:
        raise forbidden("只有管理员可以设置募捐平台", "only an admin sets up a fundraising platform")


# ----------------------------------------------------------------------------- parsing


@dataclass
class Line:
    line_no: int
    order_no: str
    paid_at: str
    day: str
    amount_fen: int
    nickname: str
    project_label: str
    channel: str


@dataclass
class Problem:
    line: int
    zh: str
    en: str

    def as_dict(self) -> dict[str, Any]:
        return {"line": self.line, "message": {"zh": self.zh, "en": self.en}}


@dataclass
class Parsed:
    kind: str
    encoding: str
    lines: list[Line] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    problem_count: int = 0

    def problem(self, line: int, zh: str, en: str) -> None:
        self.problem_count += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(Problem(line, zh, en))


def amount_fen(text: str) -> int:
    """Yuan as written (``12.30``, ``¥1,200``, ``5``) to fen, exactly: decimal digits, no
    float anywhere. ``ValueError`` for anything else (a sign, three decimals, letters)."""
    cleaned = text.strip().replace(",", "").replace("，", "").lstrip("¥￥").strip()
    match = _AMOUNT.match(cleaned)
    if match is None:
        raise ValueError(text)
    yuan, cents = match.group(1), (match.group(2) or "").ljust(2, "0")
    return int(yuan) * 100 + int(cents)


def _cell_text(value: Any) -> str:
    """An Excel cell as the text the platform meant: a number cell 12.3 reads "12.3"
    (Python's shortest repr of the float, then parsed as decimal digits, never as a float
    sum), a whole number 12.0 reads "12"."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return format(Decimal(repr(value)), "f")
    if isinstance(value, int | Decimal):
        return str(value)
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return str(value).strip()


def _decode(data: bytes) -> tuple[str, str]:
    """CSV text and its encoding: UTF-8 with or without a BOM, else GB18030 (what Chinese
    spreadsheet exports often write)."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8"), "utf-8-sig"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030"), "gb18030"
    except UnicodeDecodeError:
        raise _refuse(400, "invalid_file", "文件既不是 UTF-8 也不是 GB18030 编码的 CSV,也不是 Excel",
                      "the file is neither a UTF-8 or GB18030 CSV nor an Excel workbook") from None


def _rows(data: bytes) -> tuple[str, str, Iterator[tuple[int, list[Any]]]]:
    """(kind, encoding, rows numbered from 1 as a spreadsheet shows them)."""
    if data.startswith(b"PK\x03\x04"):
        return "xlsx", "", _xlsx_rows(data)
    text, encoding = _decode(data)
    first = text.split("\n", 1)[0]
    delimiter = "\t" if first.count("\t") > first.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)

    def numbered() -> Iterator[tuple[int, list[Any]]]:
        try:
            for row in reader:
                yield reader.line_num, list(row)
        except csv.Error as exc:
            raise _refuse(400, "invalid_file", f"第 {reader.line_num} 行无法读取:{exc}",
                          f"line {reader.line_num} cannot be read: {exc}",
                          line=reader.line_num) from None

    return "csv", encoding, numbered()


def _xlsx_rows(data: bytes) -> Iterator[tuple[int, list[Any]]]:
    from openpyxl import load_workbook

    try:
        # a small .xlsx may unpack to gigabytes: the sizes its directory declares are
        # bounded first (zipfile never yields more than a member's declared size)
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(member.file_size for member in archive.infolist())
        if unpacked > MAX_UNPACKED:
            raise _refuse(413, "file_too_large",
                          f"Excel 文件解压后过大(上限 {MAX_UNPACKED // (1024 * 1024)} MB)",
                          f"the Excel file unpacks too large (at most "
                          f"{MAX_UNPACKED // (1024 * 1024)} MB)")
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError):
        raise _refuse(400, "invalid_file", "无法读取该 Excel 文件(仅支持 .xlsx)",
                      "the Excel file cannot be read (only .xlsx is supported)") from None
    try:
        sheet = book.worksheets[0]
        for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield number, list(row)
    finally:
        book.close()


def mapping_of(platform: Mapping[str, Any]) -> dict[str, list[str]]:
    return {k: list(v) for k, v in json.loads(platform["mapping"]).items()}


def _columns(header: list[Any], mapping: Mapping[str, Sequence[str]], line: int) -> dict[str, int]:
    names = [_cell_text(h).lstrip("\ufeff").strip() for h in header]
    found: dict[str, int] = {}
    for name in FIELDS:
        for wanted in mapping.get(name, ()):
            if wanted.strip() in names:
                found[name] = names.index(wanted.strip())
                break
    missing = [f for f in REQUIRED if f not in found]
    if missing:
        wanted_text = "; ".join(f"{f}: {'/'.join(mapping.get(f, ())) or '-'}" for f in missing)
        raise _refuse(400, "invalid_file",
                      f"第 {line} 行(表头)缺少列:{wanted_text}",
                      f"line {line} (the header) lacks the columns {wanted_text}", line=line)
    return found


def parse_statement(data: bytes, mapping: Mapping[str, Sequence[str]],
                    time_format: str = DEFAULT_TIME_FORMAT) -> Parsed:
    """Every line of a statement, or its problems. A whole-file problem (unreadable, no
    header, too many lines) raises a 400/413; a bad line is a ``Problem`` naming the line
    and the reason, and a statement with any problem books nothing."""
    if len(data) > MAX_BYTES:
        raise _refuse(413, "file_too_large", f"文件过大(上限 {MAX_BYTES // (1024 * 1024)} MB)",
                      f"the file is too large (at most {MAX_BYTES // (1024 * 1024)} MB)")
    kind, encoding, rows = _rows(data)
    parsed = Parsed(kind, encoding)
    columns: dict[str, int] | None = None
    seen: dict[str, int] = {}
    for number, row in rows:
        cells = [_cell_text(c) for c in row]
        if not any(cells):
            continue
        if columns is None:
            columns = _columns(row, mapping, number)
            continue
        if cells[0].strip().lower().startswith(TOTAL_WORDS):
            continue
        if len(parsed.lines) + parsed.problem_count >= MAX_LINES:
            raise _refuse(413, "too_many_lines", f"行数过多(每份对账单至多 {MAX_LINES} 行),请分开导入",
                          f"too many lines (at most {MAX_LINES} per statement): split the file")

        line = _line(parsed, number, _Cells(cells, columns), time_format, seen)
        if line is not None:
            parsed.lines.append(line)
    if columns is None:
        raise _refuse(400, "invalid_file", "文件是空的(没有表头)", "the file is empty (no header)")
    return parsed


_DEFAULT_TIME = re.compile(r"^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$")


def _quick_time(text: str) -> dt.datetime:
    """``DEFAULT_TIME_FORMAT`` without ``strptime`` (a third of a 50,000-line parse)."""
    match = _DEFAULT_TIME.match(text)
    if match is None:
        raise ValueError(text)
    year, month, day, hour, minute, second = (int(g) for g in match.groups())
    return dt.datetime(year, month, day, hour, minute, second)


@dataclass
class _Cells:
    cells: list[str]
    columns: dict[str, int]

    def __call__(self, name: str) -> str:
        index = self.columns.get(name)
        return self.cells[index].strip() if index is not None and index < len(self.cells) else ""


def _line(parsed: Parsed, number: int, cell: _Cells, time_format: str,
          seen: dict[str, int]) -> Line | None:
    order_no = cell("order_no")
    if not order_no:
        parsed.problem(number, "缺少订单号", "no order number")
        return None
    if len(order_no) > 64:
        parsed.problem(number, "订单号超过 64 个字符", "the order number is over 64 characters")
        return None
    if order_no in seen:
        parsed.problem(number, f"订单号 {order_no} 与第 {seen[order_no]} 行重复",
                       f"order number {order_no} repeats line {seen[order_no]}")
        return None
    seen[order_no] = number
    raw_amount = cell("amount")
    try:
        fen = amount_fen(raw_amount)
    except ValueError:
        parsed.problem(number, f"金额“{raw_amount[:20]}”不是以元为单位、至多两位小数的正数",
                       f"the amount \"{raw_amount[:20]}\" is not a positive number of yuan "
                       "with at most two decimals")
        return None
    if fen <= 0:
        parsed.problem(number, "金额须大于零", "the amount must be above zero")
        return None
    raw_time = cell("paid_at")
    try:
        at = _quick_time(raw_time) if time_format == DEFAULT_TIME_FORMAT else \
            dt.datetime.strptime(raw_time, time_format)
    except ValueError:
        try:
            at = dt.datetime.strptime(raw_time, DEFAULT_TIME_FORMAT)
        except ValueError:
            parsed.problem(number, f"时间“{raw_time[:30]}”不符合格式 {time_format}",
                           f"the time \"{raw_time[:30]}\" does not match {time_format}")
            return None
    project = cell("project")
    if not project or len(project) > 200:
        parsed.problem(number, "缺少项目名称(或超过 200 个字符)",
                       "no project name (or one over 200 characters)")
        return None
    channel = cell("channel")[:32]
    at = at.replace(tzinfo=CHINA) if at.tzinfo is None else at.astimezone(CHINA)
    return Line(number, order_no, at.isoformat(timespec="seconds"), at.date().isoformat(), fen,
                cell("nickname")[:NICKNAME_CHARS], project, channel)


# ----------------------------------------------------------------------------- reads


def gift_id(platform_id: str, order_no: str) -> str:
    """Deterministic: the same order always makes the same gift and ledger movement ids,
    so even a bypassed uniqueness check could not book it twice (the ledger's key)."""
    return "og" + hashlib.sha256(f"{platform_id}\n{order_no}".encode()).hexdigest()[:30]


def movement_of(gift: str) -> str:
    return f"online:{gift}"


async def platform_row(conn: AsyncConnection, platform_id: str, *, lock: bool = False
                       ) -> dict[str, Any]:
    stmt = select(gift_platforms).where(gift_platforms.c.id == platform_id)
    if lock and conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    row = (await conn.execute(stmt)).mappings().first()
    if row is None:
        raise _refuse(404, "not_found", f"找不到募捐平台:{platform_id}",
                      f"no such platform: {platform_id}", field="platform")
    return dict(row)


def _platform_wire(row: Mapping[str, Any]) -> dict[str, Any]:
    return {"id": row["id"], "name": row["name"], "host": row["host"],
            "mapping": json.loads(row["mapping"]), "time_format": row["time_format"],
            "updated_at": row["updated_at"]}


async def list_platforms(conn: AsyncConnection) -> list[dict[str, Any]]:
    rows = (await conn.execute(select(gift_platforms).order_by(gift_platforms.c.id))).mappings()
    return [_platform_wire(dict(r)) for r in rows]


async def _fund_districts(conn: AsyncConnection, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    wanted = sorted(set(ids))
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(wanted), 500):
        for row in (await conn.execute(select(funds.c.id, funds.c.name, funds.c.district,
                                              funds.c.station)
                                       .where(funds.c.id.in_(wanted[start:start + 500])))).mappings():
            found[row["id"]] = dict(row)
    return found


async def links_of(conn: AsyncConnection, platform_id: str) -> dict[str, tuple[str, str | None]]:
    """The platform's project names (labels) -> (fund id, project id or None)."""
    rows = await conn.execute(select(platform_links.c.label, platform_links.c.fund_id,
                                     platform_links.c.target_kind, platform_links.c.target_id)
                              .where(platform_links.c.platform_id == platform_id))
    return {str(r.label): (str(r.fund_id), str(r.target_id) if r.target_kind == "project" else None)
            for r in rows}


async def public_links(conn: AsyncConnection, fund_id: str) -> dict[str, Any]:
    """A fund's page on the platform and its projects' (for the public fund page): URLs
    and the platform's name, nothing else."""
    rows = (await conn.execute(
        select(platform_links.c.target_kind, platform_links.c.target_id, platform_links.c.url,
               gift_platforms.c.name, projects.c.name.label("project_name"))
        .join(gift_platforms, gift_platforms.c.id == platform_links.c.platform_id)
        .outerjoin(projects, and_(platform_links.c.target_kind == "project",
                                  projects.c.id == platform_links.c.target_id))
        .where(platform_links.c.fund_id == fund_id)
        .order_by(platform_links.c.target_kind, projects.c.name,
                  platform_links.c.target_id))).mappings().all()
    fund = next(({"url": r["url"], "platform": r["name"]} for r in rows
                 if r["target_kind"] == "fund"), None)
    return {"fund": fund, "projects": {
        r["target_id"]: {"url": r["url"], "platform": r["name"], "name": r["project_name"]}
        for r in rows if r["target_kind"] == "project"}}


async def list_links(conn: AsyncConnection) -> list[dict[str, Any]]:
    rows = (await conn.execute(select(platform_links).order_by(
        platform_links.c.fund_id, platform_links.c.target_kind, platform_links.c.target_id))).mappings()
    return [{k: r[k] for k in ("target_kind", "target_id", "fund_id", "platform_id", "url",
                               "label", "set_at")} for r in rows]


def _may_book(grant: Grant, fund: Mapping[str, Any] | None) -> bool:
    return fund is not None and holds_fund(grant, fund)


def _line_state(line: Mapping[str, Any], booked: int | None, grant: Grant,
                fund: Mapping[str, Any] | None) -> str:
    if booked is not None:
        return "booked" if booked == line["amount_fen"] else "differs"
    if line["fund_id"] is None:
        return "unassigned"
    return "new" if _may_book(grant, fund) else "elsewhere"


STATES = ("new", "booked", "differs", "unassigned", "elsewhere")


async def _statement(conn: AsyncConnection, statement_id: str) -> dict[str, Any]:
    row = (await conn.execute(select(gift_statements).where(
        gift_statements.c.id == statement_id))).mappings().first()
    if row is None:
        raise _refuse(404, "not_found", f"找不到对账单:{statement_id}",
                      f"no such statement: {statement_id}", field="statement")
    return dict(row)


def _statement_wire(row: Mapping[str, Any]) -> dict[str, Any]:
    return {k: row[k] for k in ("id", "platform_id", "filename", "file_kind", "status",
                                "line_count", "total_fen", "problem_count", "uploaded_by",
                                "uploaded_at", "booked_by", "booked_at")}


async def list_statements(conn: AsyncConnection, limit: int = 50) -> list[dict[str, Any]]:
    rows = (await conn.execute(select(gift_statements).order_by(
        gift_statements.c.uploaded_at.desc(), gift_statements.c.id.desc()).limit(limit))).mappings()
    return [_statement_wire(dict(r)) for r in rows]


async def preview(conn: AsyncConnection, grant: Grant, statement_id: str) -> dict[str, Any]:
    """What booking the statement would do: every line's state (``new``: this person may
    book it; ``booked``: already in the ledger; ``differs``: booked with another amount;
    ``unassigned``: its project is linked to no fund or project here; ``elsewhere``: a
    fund this person does not hold), totals per project and day, the first lines, and
    the bad lines of a refused statement."""
    statement = await _statement(conn, statement_id)
    platform_id = statement["platform_id"]
    rows = (await conn.execute(
        select(statement_lines.c.line_no, statement_lines.c.order_no, statement_lines.c.paid_at,
               statement_lines.c.day, statement_lines.c.amount_fen,
               statement_lines.c.project_label, statement_lines.c.channel,
               statement_lines.c.fund_id, statement_lines.c.project_id,
               online_gifts.c.amount_fen.label("booked_fen"))
        .select_from(statement_lines.outerjoin(online_gifts, and_(
            online_gifts.c.platform_id == platform_id,
            online_gifts.c.order_no == statement_lines.c.order_no)))
        .where(statement_lines.c.statement_id == statement_id)
        .order_by(statement_lines.c.line_no))).mappings().all()
    fund_rows = await _fund_districts(conn, (r["fund_id"] for r in rows if r["fund_id"]))
    counts = dict.fromkeys(STATES, 0)
    amounts = dict.fromkeys(STATES, 0)
    totals: dict[tuple[str, str], dict[str, Any]] = {}
    shown: list[dict[str, Any]] = []
    for row in rows:
        state = _line_state(dict(row), row["booked_fen"], grant, fund_rows.get(row["fund_id"] or ""))
        counts[state] += 1
        amounts[state] += int(row["amount_fen"])
        slot = totals.setdefault((row["project_label"], row["day"]), {
            "project": row["project_label"], "day": row["day"], "lines": 0, "amount_fen": 0,
            "new_fen": 0, "fund_id": row["fund_id"], "project_id": row["project_id"]})
        slot["lines"] += 1
        slot["amount_fen"] += int(row["amount_fen"])
        if state == "new":
            slot["new_fen"] += int(row["amount_fen"])
        if len(shown) < PREVIEW_ROWS:
            shown.append({k: row[k] for k in ("line_no", "order_no", "paid_at", "amount_fen",
                                              "project_label", "channel")} | {
                "state": state, "booked_fen": row["booked_fen"]})
    return {
        "statement": _statement_wire(statement),
        "problems": json.loads(statement["problems"]),
        "counts": counts, "amounts_fen": amounts,
        "totals": sorted(totals.values(), key=lambda s: (s["day"], s["project"])),
        "rows": shown, "rows_total": len(rows),
        # a district manager's booking leaves other districts' lines for the city: "booked"
        # is this statement's state for whoever booked last, not a lock
        "bookable": statement["status"] != "refused" and counts["new"] > 0,
    }


# ----------------------------------------------------------------------------- writes


def check_link_url(url: str, host: str) -> str:
    from urllib.parse import urlsplit

    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname or len(url) > 500 or any(
            c.isspace() for c in url):
        raise _refuse(400, "invalid_args", "链接须为 https:// 开头的完整网址(至多 500 个字符)",
                      "the link must be a full https:// address (at most 500 characters)",
                      field="url")
    if host and parts.hostname != host and not parts.hostname.endswith("." + host):
        raise _refuse(400, "invalid_args", f"链接须在平台的网站 {host} 上",
                      f"the link must be on the platform's site {host}", field="url")
    return url


def check_platform(platform_id: str, name: str, host: str, mapping: Mapping[str, Sequence[str]],
                   time_format: str) -> dict[str, list[str]]:
    if not _PLATFORM_ID.match(platform_id):
        raise _refuse(400, "invalid_args", "平台编号须为 2 至 36 个小写字母、数字、- 或 _",
                      "a platform id is 2 to 36 lowercase letters, digits, - or _", field="id")
    if not name.strip() or len(name) > 100:
        raise _refuse(400, "invalid_args", "请填写平台名称(至多 100 个字符)",
                      "give the platform's name (at most 100 characters)", field="name")
    if host and not re.match(r"^[a-z0-9.-]{3,200}$", host):
        raise _refuse(400, "invalid_args", "网站域名无效", "the site's host name is not valid",
                      field="host")
    unknown = sorted(set(mapping) - set(FIELDS))
    if unknown:
        raise _refuse(400, "invalid_args", f"未知字段:{', '.join(unknown)}",
                      f"unknown fields: {', '.join(unknown)}", field="mapping")
    clean = {f: [h.strip() for h in mapping.get(f, ()) if h.strip()][:5] for f in FIELDS}
    missing = [f for f in REQUIRED if not clean[f]]
    if missing or any(len(h) > 64 for hs in clean.values() for h in hs):
        raise _refuse(400, "invalid_args", f"请为这些字段填写表头名称:{', '.join(missing) or '-'}"
                      "(每个至多 64 个字符)",
                      f"give header names for: {', '.join(missing) or '-'} (at most 64 "
                      "characters each)", field="mapping")
    try:
        sample = dt.datetime(2026, 1, 2, 3, 4, 5).strftime(time_format)
        dt.datetime.strptime(sample, time_format)
    except ValueError:
        raise _refuse(400, "invalid_args", "时间格式无效", "the time format is not valid",
                      field="time_format") from None
    if len(time_format) > 64 or "%" not in time_format:
        raise _refuse(400, "invalid_args", "时间格式无效", "the time format is not valid",
                      field="time_format")
    return clean


async def save_platform(conn: AsyncConnection, grant: Grant, platform_id: str, name: str,
                        host: str, mapping: Mapping[str, Sequence[str]], time_format: str,
                        now: str) -> dict[str, Any]:
    admin_only(grant)
    clean = check_platform(platform_id, name, host, mapping, time_format)
    values = {"name": name.strip(), "host": host, "mapping": json.dumps(clean, ensure_ascii=False),
              "time_format": time_format, "updated_by": grant.user_id, "updated_at": now}
    exists = (await conn.execute(select(gift_platforms.c.id).where(
        gift_platforms.c.id == platform_id))).first()
    if exists:
        await conn.execute(update(gift_platforms).where(gift_platforms.c.id == platform_id)
                           .values(**values))
    else:
        await conn.execute(insert(gift_platforms).values(id=platform_id, **values))
    await audit.record(conn, grant, "online.platform_save", "gift_platform", platform_id,
                       detail={"created": not exists, "fields": sorted(f for f in clean if clean[f])})
    return _platform_wire({"id": platform_id, **values})


async def set_link(conn: AsyncConnection, grant: Grant, target_kind: str, target_id: str,
                   platform_id: str, url: str, label: str, now: str) -> dict[str, Any]:
    """Set (or with an empty ``url``, remove) a fund's or project's page on the platform.
    The fund's federation people (its district's managers, admins) do this."""
    if target_kind == "fund":
        fund_id = target_id
    elif target_kind == "project":
        project = (await conn.execute(select(projects.c.fund_id, projects.c.name).where(
            projects.c.id == target_id))).first()
        if project is None:
            raise _refuse(404, "not_found", f"找不到项目:{target_id}", f"no such project: {target_id}",
                          field="target_id")
        fund_id = str(project.fund_id)
    else:
        raise _refuse(400, "invalid_args", "只能为基金或项目设置链接",
                      "links are set for a fund or a project", field="target_kind")
    fund = (await conn.execute(select(funds).where(funds.c.id == fund_id))).mappings().first()
    if fund is None:
        raise _refuse(404, "not_found", f"找不到基金:{fund_id}", f"no such fund: {fund_id}",
                      field="target_id")
    if not holds_fund(grant, fund):
        raise forbidden("只有该基金所属慈善会的管理者可以设置平台链接",
                        "only the fund's federation managers set its platform page")
    platform = await platform_row(conn, platform_id)
    key = and_(platform_links.c.target_kind == target_kind, platform_links.c.target_id == target_id)
    await conn.execute(platform_links.delete().where(key))
    if url.strip():
        url = check_link_url(url, platform["host"])
        label = label.strip()
        if not label or len(label) > 200:
            raise _refuse(400, "invalid_args", "请填写平台上的项目名称(至多 200 个字符)",
                          "give the project's name on the platform (at most 200 characters)",
                          field="label")
        taken = (await conn.execute(select(platform_links.c.target_id).where(
            platform_links.c.platform_id == platform_id, platform_links.c.label == label))).first()
        if taken is not None:
            raise _refuse(409, "already_exists", f"平台名称“{label}”已用于 {taken.target_id}",
                          f"the platform name \"{label}\" is already linked to {taken.target_id}",
                          field="label")
        await conn.execute(insert(platform_links).values(
            target_kind=target_kind, target_id=target_id, fund_id=fund_id,
            platform_id=platform_id, url=url, label=label, set_by=grant.user_id, set_at=now))
    await audit.record(conn, grant, "online.link_set", target_kind, target_id,
                       station=fund["station"], district=fund["district"],
                       detail={"platform": platform_id, "removed": not url.strip()})
    return {"target_kind": target_kind, "target_id": target_id, "fund_id": fund_id,
            "platform_id": platform_id, "url": url.strip(), "label": label}


async def parse_for(db: Any, platform_id: str, data: bytes) -> Parsed:
    """Read the statement with its platform's mapping, outside any write transaction (a
    50,000-line file takes seconds: SQLite's one writer is not held for it) and off the
    event loop (other requests go on meanwhile)."""
    import anyio

    async with db.read() as conn:
        platform = await platform_row(conn, platform_id)
    return await anyio.to_thread.run_sync(
        parse_statement, data, mapping_of(platform), platform["time_format"])


async def import_statement(conn: AsyncConnection, grant: Grant, platform_id: str,
                           filename: str, data: bytes, parsed: Parsed, statement_id: str,
                           now: str) -> dict[str, Any]:
    """Keep a parsed statement (nothing is booked): ``preview`` if every line is good,
    ``refused`` (with its bad lines named) otherwise. Audited either way."""
    federation(grant)
    await platform_row(conn, platform_id)
    targets = await links_of(conn, platform_id)
    status = "refused" if parsed.problem_count else "preview"
    total = sum(line.amount_fen for line in parsed.lines)
    await conn.execute(insert(gift_statements).values(
        id=statement_id, platform_id=platform_id, filename=filename[:200] or "statement",
        sha256=hashlib.sha256(data).hexdigest(), file_kind=parsed.kind, status=status,
        line_count=len(parsed.lines) + parsed.problem_count, total_fen=total,
        problem_count=parsed.problem_count,
        problems=json.dumps([p.as_dict() for p in parsed.problems], ensure_ascii=False),
        uploaded_by=grant.user_id, uploaded_at=now, booked_by=None, booked_at=None))
    if status == "preview":
        batch: list[dict[str, Any]] = []
        for line in parsed.lines:
            fund_id, project_id = targets.get(line.project_label, (None, None))
            batch.append({"statement_id": statement_id, "line_no": line.line_no,
                          "order_no": line.order_no, "paid_at": line.paid_at, "day": line.day,
                          "amount_fen": line.amount_fen, "nickname": line.nickname,
                          "project_label": line.project_label, "channel": line.channel,
                          "fund_id": fund_id, "project_id": project_id})
            if len(batch) >= 5000:
                await conn.execute(insert(statement_lines), batch)
                batch = []
        if batch:
            await conn.execute(insert(statement_lines), batch)
    await audit.record(conn, grant, "online.statement_import", "gift_statement", statement_id,
                       detail={"platform": platform_id, "status": status, "kind": parsed.kind,
                               "encoding": parsed.encoding, "lines": len(parsed.lines),
                               "bad_lines": parsed.problem_count, "total_fen": total,
                               "first_bad_line": parsed.problems[0].line if parsed.problems else None})
    return {"status": status, "lines": len(parsed.lines), "problems": parsed.problem_count}


def _refused(statement: Mapping[str, Any]) -> ProtocolError:
    problems: list[dict[str, Any]] = json.loads(statement["problems"])
    first: dict[str, Any] = problems[0] if problems else {"line": 0, "message": {"zh": "", "en": ""}}
    return _refuse(409, "statement_refused",
                   f"该对账单有 {statement['problem_count']} 行错误,一笔也不入账;第 {first['line']} 行:"
                   f"{first['message']['zh']}",
                   f"the statement has {statement['problem_count']} bad lines and books nothing; "
                   f"line {first['line']}: {first['message']['en']}", line=first["line"])


async def book_statement(tx: Tx, ctx: MutationContext, statement_id: str,
                         limit: int = BOOK_CHUNK) -> dict[str, Any]:
    """Book up to ``limit`` of the statement's new lines (those this person may book) into
    the ledger, in one transaction; returns what was booked and what remains. Bookings of
    one platform take its row's lock first, so two imports of the same orders (two
    statements, two people) book each order once."""
    statement = await _statement(tx.conn, statement_id)
    platform_id = statement["platform_id"]
    await platform_row(tx.conn, platform_id, lock=True)
    statement = await _statement(tx.conn, statement_id)  # as it is now, behind the lock
    if statement["status"] == "refused":
        raise _refused(statement)
    # the funds this person holds among the statement's (a handful), then only this
    # chunk's lines: the query does not grow with what was booked before
    named = (await tx.conn.execute(select(statement_lines.c.fund_id).distinct().where(
        statement_lines.c.statement_id == statement_id,
        statement_lines.c.fund_id.is_not(None)))).scalars().all()
    held = sorted(f for f, row in (await _fund_districts(tx.conn, named)).items()
                  if _may_book(ctx.grant, row))
    unbooked = (statement_lines.c.statement_id == statement_id) & \
        statement_lines.c.fund_id.in_(held) & online_gifts.c.id.is_(None)
    joined = statement_lines.outerjoin(online_gifts, and_(
        online_gifts.c.platform_id == platform_id,
        online_gifts.c.order_no == statement_lines.c.order_no))
    chunk = [dict(r) for r in (await tx.conn.execute(
        select(statement_lines).select_from(joined).where(unbooked)
        .order_by(statement_lines.c.line_no).limit(max(1, limit)))).mappings()]
    booked = await _book_lines(tx, ctx, platform_id, chunk, statement_id)
    remaining = int((await tx.conn.execute(  # the chunk's gifts are written: not counted
        select(func.count()).select_from(joined).where(unbooked))).scalar() or 0)
    status = "booked" if remaining == 0 else "booking"
    await tx.conn.execute(update(gift_statements).where(gift_statements.c.id == statement_id)
                          .values(status=status, booked_by=ctx.user_id, booked_at=ctx.now))
    audit.stage(tx, ctx, "online.statement_book", "gift_statement", statement_id, detail={
        "platform": platform_id, "booked": len(chunk), "amount_fen": booked,
        "remaining": remaining, "funds": sorted({str(r["fund_id"]) for r in chunk})[:20]})
    return {"statement": statement_id, "booked": len(chunk), "booked_fen": booked,
            "remaining": remaining, "status": status}


async def _book_lines(tx: Tx, ctx: MutationContext, platform_id: str,
                      lines: Sequence[Mapping[str, Any]], statement_id: str | None) -> int:
    """The lines as online gifts: per fund (in id order, the lock order) one
    ``post_many``, and the gifts' rows in one statement."""
    by_fund: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for line in lines:
        by_fund[str(line["fund_id"])].append(line)
    fund_ids = sorted(by_fund)
    await tx.preload("fund", fund_ids)
    gifts: list[dict[str, Any]] = []
    total = 0
    for fund_id in fund_ids:
        movements = []
        fund = await tx.get("fund", fund_id)
        if fund is None:
            raise _refuse(404, "not_found", f"找不到基金:{fund_id}", f"no such fund: {fund_id}")
        for line in by_fund[fund_id]:
            gift = gift_id(platform_id, str(line["order_no"]))
            project_id = line["project_id"]
            movements.append(Movement(
                movement_of(gift), project_account(str(project_id)) if project_id else GENERAL,
                f"online:{platform_id}", int(line["amount_fen"]), KIND,
                refs={"project_id": project_id}))
            gifts.append({
                "id": gift, "platform_id": platform_id, "order_no": line["order_no"],
                "paid_at": line["paid_at"], "day": line["day"], "amount_fen": line["amount_fen"],
                "channel": line["channel"], "nickname": line["nickname"],
                "project_label": line["project_label"], "fund_id": fund_id,
                "project_id": project_id, "district": fund["district"], "station": fund["station"],
                "movement_id": movement_of(gift), "statement_id": statement_id,
                "booked_by": ctx.user_id, "booked_at": ctx.now})
            total += int(line["amount_fen"])
        await post_many(tx, ctx, fund_id, movements)
    for start in range(0, len(gifts), 5000):
        await tx.conn.execute(insert(online_gifts), gifts[start:start + 5000])
    return total


# ----------------------------------------------------------------------------- reconciliation


async def _imported_lines(conn: AsyncConnection, platform_id: str, start: str, end: str
                          ) -> dict[str, dict[str, Any]]:
    """The platform's view: per order, its line in the latest statement whose booking
    began (a statement only previewed, or refused, is not the platform's word yet)."""
    rows = (await conn.execute(
        select(statement_lines.c.order_no, statement_lines.c.day, statement_lines.c.paid_at,
               statement_lines.c.amount_fen, statement_lines.c.project_label,
               statement_lines.c.fund_id, statement_lines.c.project_id,
               statement_lines.c.statement_id, gift_statements.c.uploaded_at)
        .join(gift_statements, gift_statements.c.id == statement_lines.c.statement_id)
        .where(gift_statements.c.platform_id == platform_id,
               gift_statements.c.status.in_(("booking", "booked")),
               statement_lines.c.day >= start, statement_lines.c.day <= end)
        .order_by(gift_statements.c.uploaded_at, statement_lines.c.id))).mappings().all()
    return {str(r["order_no"]): dict(r) for r in rows}


async def reconcile(conn: AsyncConnection, grant: Grant, platform_id: str, start: str,
                    end: str) -> dict[str, Any]:
    """Per project and day: the platform's total (from imported statements, every line,
    bookable or not) against the ledger's online total (the fund side of the ``online``
    movements of the platform's gifts); and the orders that do not match, each to book or
    explain. A district manager sees the funds of their district and the lines that
    belong to no fund yet."""
    federation(grant)
    try:
        first, last = dt.date.fromisoformat(start), dt.date.fromisoformat(end)
    except ValueError:
        raise _refuse(400, "invalid_args", "日期格式须为 YYYY-MM-DD", "dates are YYYY-MM-DD",
                      field="start") from None
    if last < first or (last - first).days >= MAX_RECONCILE_DAYS:
        raise _refuse(400, "invalid_args", f"期间须为 1 至 {MAX_RECONCILE_DAYS} 天",
                      f"the period must be 1 to {MAX_RECONCILE_DAYS} days", field="end")
    await platform_row(conn, platform_id)
    lines = await _imported_lines(conn, platform_id, start, end)
    gifts = {str(r["order_no"]): dict(r) for r in (await conn.execute(
        select(online_gifts.c.order_no, online_gifts.c.day, online_gifts.c.project_label,
               online_gifts.c.fund_id, online_gifts.c.project_id,
               ledger_entries.c.amount_fen)
        .join(ledger_entries, ledger_entries.c.id == online_gifts.c.movement_id + ":f")
        .where(online_gifts.c.platform_id == platform_id, online_gifts.c.day >= start,
               online_gifts.c.day <= end))).mappings()}
    fund_rows = await _fund_districts(conn, [g["fund_id"] for g in gifts.values()] +
                                      [str(r["fund_id"]) for r in lines.values() if r["fund_id"]])

    def visible(fund_id: str | None) -> bool:
        return fund_id is None or _may_book(grant, fund_rows.get(fund_id))

    notes = {str(r["order_no"]): dict(r) for r in (await conn.execute(
        select(reconcile_notes).where(reconcile_notes.c.platform_id == platform_id))).mappings()}
    rows: dict[tuple[str, str], dict[str, Any]] = {}

    def slot(day: str, label: str) -> dict[str, Any]:
        return rows.setdefault((day, label), {"day": day, "project": label, "platform_fen": 0,
                                              "platform_orders": 0, "ledger_fen": 0,
                                              "ledger_orders": 0})

    unmatched: list[dict[str, Any]] = []
    explained: list[dict[str, Any]] = []
    for order, line in lines.items():
        gift = gifts.get(order)
        owner = gift["fund_id"] if gift else line["fund_id"]
        if not visible(owner):
            continue
        s = slot(line["day"], line["project_label"])
        s["platform_fen"] += int(line["amount_fen"])
        s["platform_orders"] += 1
        if gift is None or int(gift["amount_fen"]) != int(line["amount_fen"]):
            item = {"order_no": order, "day": line["day"], "project": line["project_label"],
                    "platform_fen": int(line["amount_fen"]),
                    "ledger_fen": int(gift["amount_fen"]) if gift else None,
                    "fund_id": line["fund_id"], "project_id": line["project_id"],
                    "problem": "not_in_ledger" if gift is None else "amount_differs"}
            _file(item, notes, unmatched, explained)
    for order, gift in gifts.items():
        if not visible(gift["fund_id"]):
            continue
        s = slot(gift["day"], gift["project_label"])
        s["ledger_fen"] += int(gift["amount_fen"])
        s["ledger_orders"] += 1
        if order not in lines:
            item = {"order_no": order, "day": gift["day"], "project": gift["project_label"],
                    "platform_fen": None, "ledger_fen": int(gift["amount_fen"]),
                    "fund_id": gift["fund_id"], "project_id": gift["project_id"],
                    "problem": "not_in_statement"}
            _file(item, notes, unmatched, explained)
    table = sorted(rows.values(), key=lambda r: (r["day"], r["project"]))
    for row in table:
        row["difference_fen"] = row["platform_fen"] - row["ledger_fen"]
    return {"platform": platform_id, "start": start, "end": end, "rows": table,
            "platform_fen": sum(r["platform_fen"] for r in table),
            "ledger_fen": sum(r["ledger_fen"] for r in table),
            "unmatched": unmatched, "explained": explained,
            "categories": EXPLAIN_CATEGORIES}


def _file(item: dict[str, Any], notes: Mapping[str, Mapping[str, Any]],
          unmatched: list[dict[str, Any]], explained: list[dict[str, Any]]) -> None:
    note = notes.get(item["order_no"])
    if note is None:
        unmatched.append(item)
    else:
        explained.append(item | {"category": note["category"],
                                 "category_label": EXPLAIN_CATEGORIES.get(note["category"], ""),
                                 "reason": note["reason"], "explained_at": note["explained_at"]})


async def book_order(tx: Tx, ctx: MutationContext, platform_id: str, order_no: str,
                     fund_id: str, project_id: str | None) -> dict[str, Any]:
    """Resolve an order the platform reports and the ledger lacks by booking it (its
    latest imported line) onto the fund or project chosen."""
    federation(ctx.grant)
    await platform_row(tx.conn, platform_id, lock=True)
    found = (await tx.conn.execute(select(online_gifts.c.id).where(
        online_gifts.c.platform_id == platform_id, online_gifts.c.order_no == order_no))).first()
    if found is not None:
        raise _refuse(409, "already_exists", f"订单 {order_no} 已入账", f"order {order_no} is already booked",
                      field="order_no")
    line = (await tx.conn.execute(
        select(statement_lines)
        .join(gift_statements, gift_statements.c.id == statement_lines.c.statement_id)
        .where(gift_statements.c.platform_id == platform_id,
               gift_statements.c.status.in_(("booking", "booked")),
               statement_lines.c.order_no == order_no)
        .order_by(gift_statements.c.uploaded_at.desc(), statement_lines.c.id.desc()))
    ).mappings().first()
    if line is None:
        raise _refuse(404, "not_found", f"已导入的对账单中没有订单 {order_no}",
                      f"no imported statement has order {order_no}", field="order_no")
    fund = (await tx.conn.execute(select(funds).where(funds.c.id == fund_id))).mappings().first()
    if fund is None:
        raise _refuse(404, "not_found", f"找不到基金:{fund_id}", f"no such fund: {fund_id}",
                      field="fund_id")
    if not holds_fund(ctx.grant, fund):
        raise forbidden("只有该基金所属慈善会的管理者可以为其入账",
                        "only the fund's federation managers book into it")
    if project_id is not None:
        project = (await tx.conn.execute(select(projects.c.fund_id).where(
            projects.c.id == project_id))).first()
        if project is None or project.fund_id != fund_id:
            raise _refuse(400, "invalid_args", "该项目不属于所选基金",
                          "the project is not one of the fund's", field="project_id")
    amount = await _book_lines(tx, ctx, platform_id, [
        {**line, "fund_id": fund_id, "project_id": project_id}], str(line["statement_id"]))
    audit.stage(tx, ctx, "online.reconcile_book", "online_order", f"{platform_id}:{order_no}",
                station=fund["station"], district=fund["district"],
                detail={"platform": platform_id, "fund": fund_id, "project": project_id,
                        "amount_fen": amount})
    return {"order_no": order_no, "booked_fen": amount, "fund_id": fund_id,
            "project_id": project_id}


async def explain_order(conn: AsyncConnection, grant: Grant, platform_id: str, order_no: str,
                        category: str, reason: str, now: str) -> dict[str, Any]:
    """Mark an unmatched order explained: a category (public to the audit log) and a short
    reason (kept here only; the audit log gets the category)."""
    federation(grant)
    await platform_row(conn, platform_id)
    if category not in EXPLAIN_CATEGORIES:
        raise _refuse(400, "invalid_args", "请选择原因类别", "choose a reason category",
                      field="category")
    reason = reason.strip()
    if len(reason) > 200 or (category == "other" and not reason):
        raise _refuse(400, "invalid_args", "请写明原因(至多 200 个字符)",
                      "give the reason (at most 200 characters)", field="reason")
    if not order_no or len(order_no) > 64:
        raise _refuse(400, "invalid_args", "订单号无效", "the order number is not valid",
                      field="order_no")
    gift = (await conn.execute(select(online_gifts.c.fund_id, online_gifts.c.district).where(
        online_gifts.c.platform_id == platform_id, online_gifts.c.order_no == order_no))).first()
    line = (await conn.execute(select(statement_lines.c.fund_id).join(
        gift_statements, gift_statements.c.id == statement_lines.c.statement_id).where(
        gift_statements.c.platform_id == platform_id,
        statement_lines.c.order_no == order_no).limit(1))).first()
    if gift is None and line is None:
        raise _refuse(404, "not_found", f"找不到订单 {order_no}", f"no such order: {order_no}",
                      field="order_no")
    owner = gift.fund_id if gift is not None else (line.fund_id if line is not None else None)
    fund = (await conn.execute(select(funds).where(funds.c.id == owner))).mappings().first() \
        if owner else None
    if fund is not None and not holds_fund(grant, fund):
        raise forbidden("只有该基金所属慈善会的管理者可以处理该订单",
                        "only the fund's federation managers resolve this order")
    if (await conn.execute(select(reconcile_notes.c.id).where(
            reconcile_notes.c.platform_id == platform_id,
            reconcile_notes.c.order_no == order_no))).first() is not None:
        raise _refuse(409, "already_exists", f"订单 {order_no} 已有说明",
                      f"order {order_no} is already explained", field="order_no")
    await conn.execute(insert(reconcile_notes).values(
        platform_id=platform_id, order_no=order_no, category=category, reason=reason,
        explained_by=grant.user_id, explained_at=now))
    await audit.record(conn, grant, "online.reconcile_explain", "online_order",
                       f"{platform_id}:{order_no}",
                       station=fund["station"] if fund else None,
                       district=fund["district"] if fund else None,
                       detail={"platform": platform_id, "category": category})
    return {"order_no": order_no, "category": category}


# ----------------------------------------------------------------------------- erasure and dashboards


async def nickname_search(conn: AsyncConnection, q: str, limit: int = 50) -> list[dict[str, Any]]:
    """Online donors whose nickname contains ``q`` (the admins' erasure search)."""
    like = f"%{q}%"
    found: dict[str, dict[str, Any]] = {}
    for table in (online_gifts, statement_lines):
        rows = await conn.execute(
            select(table.c.nickname, func.count(), func.min(table.c.day), func.max(table.c.day))
            .where(table.c.nickname.like(like), table.c.nickname != ERASED_NICKNAME)
            .group_by(table.c.nickname).limit(limit))
        for nickname, count, first, last in rows:
            slot = found.setdefault(nickname, {"subject": "online_donor", "name": nickname,
                                               "orders": 0, "first": first, "last": last})
            slot["orders"] = max(slot["orders"], int(count))
            slot["first"], slot["last"] = min(slot["first"], first), max(slot["last"], last)
    return sorted(found.values(), key=lambda d: d["name"])[:limit]


async def erase_nickname(conn: AsyncConnection, nickname: str) -> dict[str, int]:
    """Blank a nickname wherever it is kept (gifts and statement lines). Amounts, orders
    and the ledger stay as they are (the ledger never held it)."""
    if not nickname:
        return {"online_gifts": 0, "statement_lines": 0}
    gifts = await conn.execute(update(online_gifts).where(online_gifts.c.nickname == nickname)
                               .values(nickname=ERASED_NICKNAME))
    lines = await conn.execute(update(statement_lines).where(
        statement_lines.c.nickname == nickname).values(nickname=ERASED_NICKNAME))
    return {"online_gifts": int(gifts.rowcount or 0), "statement_lines": int(lines.rowcount or 0)}


async def online_by_month(conn: AsyncConnection, *, district: str | None = None,
                          station: str | None = None) -> list[dict[str, Any]]:
    """Online money by month of the gift (Beijing time), from the ledger: the fund side of
    every ``online`` movement, joined to its gift for the month and place. For dashboards."""
    month = func.substr(online_gifts.c.day, 1, 7)
    stmt = (select(month.label("month"), func.count(), func.sum(ledger_entries.c.amount_fen))
            .select_from(online_gifts.join(
                ledger_entries, ledger_entries.c.id == online_gifts.c.movement_id + ":f"))
            .where(ledger_entries.c.kind == KIND)
            .group_by(month).order_by(month))
    if district is not None:
        stmt = stmt.where(online_gifts.c.district == district)
    if station is not None:
        stmt = stmt.where(online_gifts.c.station == station)
    return [{"month": m, "orders": int(n), "amount_fen": int(total or 0)}
            for m, n, total in await conn.execute(stmt)]


__all__ = [
    "BOOK_CHUNK",
    "DEFAULT_MAPPING",
    "DEFAULT_TIME_FORMAT",
    "EXPLAIN_CATEGORIES",
    "KIND",
    "MAX_BYTES",
    "MAX_LINES",
    "amount_fen",
    "book_order",
    "book_statement",
    "erase_nickname",
    "explain_order",
    "gift_id",
    "gift_platforms",
    "gift_statements",
    "import_statement",
    "list_links",
    "list_platforms",
    "list_statements",
    "nickname_search",
    "online_by_month",
    "online_gifts",
    "parse_for",
    "parse_statement",
    "platform_links",
    "preview",
    "public_links",
    "reconcile",
    "reconcile_notes",
    "save_platform",
    "set_link",
    "statement_lines",
]
