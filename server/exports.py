"""Exports for managers: donations and fund statements for a period, as CSV or Excel.

``Authorization: Bearer <device token>`` of a manager or above. A station manager
exports their station, a district manager their district, an admin everything.
Periods are whole days in Asia/Shanghai (``from`` and ``to`` inclusive, YYYY-MM-DD).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from litestar import Request, Response, get
from openpyxl import Workbook
from sqlalchemy import select

from server import audit, reports
from server.auth import resolve_grant
from server.domain.donations import donations
from server.domain.funds import funds, works_for_fund
from server.openapi import TOKEN, answer, errors
from server.state import query_day, state_of
from sync.errors import ProtocolError
from sync.scopes import MANAGER, Grant

CSV = "text/csv"  # Litestar adds "; charset=utf-8" to text/ types
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MONEY_COLUMNS = {"amount_fen", "current_amount_fen", "balance_fen"}
CENT = Decimal("0.01")


async def _manager(request: Request[Any, Any, Any]) -> Grant:
    grant = await resolve_grant(state_of(request).db, request.headers.get("authorization"))
    if grant.rank < MANAGER:
        raise ProtocolError(403, "forbidden", "无权限:只有管理者可以导出",
                            "not allowed: only managers export")
    return grant


def _period(request: Request[Any, Any, Any]) -> tuple[str, str, str]:
    start = query_day(request.query_params.get("from"), "from")
    end = query_day(request.query_params.get("to"), "to")
    if start and end and end < start:
        raise ProtocolError(400, "invalid_args", "结束日期早于开始日期", "'to' is before 'from'",
                            field="to")
    low, high = reports.period_bounds(start, end)
    label = f"{start or 'start'}_{end or 'now'}"
    return low, high, label


FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
"""A text cell starting with one of these is read as a formula by Excel, WPS or LibreOffice
(``=HYPERLINK(...)`` sends whoever clicks it away with the row's data; ``-``/``+``/``@``
start formulas too, and a leading tab or CR hides one)."""


def neutralise(value: Any) -> Any:
    """A cell as it may go into a spreadsheet: text starting with a formula trigger gets a
    leading ``'`` (OWASP's advice for CSV injection), so it is shown as text and never run.
    Numbers (amounts the server computed) are left as numbers."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def table_response(header_rows: Sequence[Sequence[str]], rows: Iterable[Sequence[Any]], fmt: str,
                   name: str, preamble: Sequence[Sequence[Any]] = (),
                   number_columns: Sequence[int] = ()) -> Response[bytes]:
    """Rows as a CSV (UTF-8 with a BOM, so Excel reads the Chinese) or an .xlsx workbook,
    every text cell neutralised, every Excel text cell typed as a string, and never
    cached by a browser or proxy (``Cache-Control: no-store``: exports hold phone numbers).
    ``number_columns`` (0-based) are formatted 0.00 in Excel."""
    headers = {"Content-Disposition": f'attachment; filename="{name}.{fmt}"',
               "Cache-Control": "no-store"}
    lines = [*preamble, *header_rows]
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerows([neutralise(v) for v in line] for line in lines)
        writer.writerows([neutralise(v) for v in row] for row in rows)
        return Response(("\ufeff" + buffer.getvalue()).encode(), media_type=CSV, headers=headers)
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = name[:31]
    money = set(number_columns)
    for number, line in enumerate([*lines, *rows], start=1):
        is_data = number > len(lines)
        for column, value in enumerate(line, start=1):
            cell = sheet.cell(row=number, column=column)
            if isinstance(value, str):
                # assigned as a value, then typed: openpyxl would make "=..." a formula
                cell.value = neutralise(value)
                cell.data_type = "s"
            else:
                cell.value = value
                if is_data and column - 1 in money:
                    cell.number_format = "0.00"
    out = io.BytesIO()
    book.save(out)
    return Response(out.getvalue(), media_type=XLSX, headers=headers)


def _table(columns: Sequence[str], rows: Sequence[dict[str, Any]], fmt: str, name: str,
           preamble: Sequence[Sequence[Any]] = ()) -> Response[bytes]:
    """Amounts in fen as integers, and beside each the same in yuan (a number, formatted
    0.00 in Excel); two header rows: Chinese, then English."""
    keys: list[str] = []
    for column in columns:
        keys.append(column)
        if column in MONEY_COLUMNS:
            keys.append(column.replace("_fen", "_yuan"))
    titles = [reports.COLUMN_TITLES.get(k, (k, k)) for k in keys]
    yuan_at = [i for i, k in enumerate(keys) if k.endswith("_yuan")]

    def cells(row: dict[str, Any]) -> list[Any]:
        out: list[Any] = []
        for column in columns:
            out.append(row[column])
            if column in MONEY_COLUMNS:
                out.append((Decimal(int(row[column])) / 100).quantize(CENT) if fmt == "csv"
                           else row[column] / 100)
        return out

    return table_response([[t[0] for t in titles], [t[1] for t in titles]],
                          (cells(r) for r in rows), fmt, name, preamble, yuan_at)


def _export_detail(request: Request[Any, Any, Any], fmt: str, rows: int) -> dict[str, Any]:
    """What the audit row of an export says: format, period asked for, rows sent."""
    asked = {k: request.query_params[k] for k in ("from", "to") if request.query_params.get(k)}
    return {"format": fmt, **asked, "rows": rows}


def _format(request: Request[Any, Any, Any]) -> str:
    return "xlsx" if request.url.path.endswith(".xlsx") else "csv"


@get(["/api/v1/exports/donations.csv", "/api/v1/exports/donations.xlsx"], security=TOKEN,
     tags=["exports"], summary="Export donations (CSV or Excel)",
     description="`?from=`/`?to=` (YYYY-MM-DD) bound the period; managers and up.",
     responses={**answer("the donations, as text/csv or an .xlsx workbook", media_type="text/csv"),
                **errors(400, 401, 403)})
async def export_donations(request: Request[Any, Any, Any]) -> Response[bytes]:
    """Every donation recorded in the period within the caller's scope, with its current
    amount and status after corrections. Donor phone numbers included: managers only."""
    fmt = _format(request)
    grant = await _manager(request)
    low, high, label = _period(request)
    async with state_of(request).db.read() as conn:
        rows = await reports.donation_rows(conn, reports.export_scope(donations, grant), low, high)
    station, district = audit.grant_place(grant)
    await audit.record_now(state_of(request).db, grant, "export.donations", "donations",
                           station or district or "all", station=station, district=district,
                           detail=_export_detail(request, fmt, len(rows)))
    return _table(reports.DONATION_COLUMNS, rows, fmt, f"donations_{label}")


@get(["/api/v1/exports/funds/{fund_id:str}/statement.csv",
      "/api/v1/exports/funds/{fund_id:str}/statement.xlsx"], security=TOKEN, tags=["exports"],
     summary="Export a fund's statement (CSV or Excel)",
     description="`?from=`/`?to=` (YYYY-MM-DD) bound the period; the fund's managers.",
     responses={**answer("the statement, as text/csv or an .xlsx workbook",
                         media_type="text/csv"),
                **errors(400, 401, 403, 404)})
async def export_fund_statement(request: Request[Any, Any, Any], fund_id: str) -> Response[bytes]:
    """The fund's side of every movement in the period, its counter account, the
    running balance, and each entry's chain hash."""
    fmt = _format(request)
    grant = await _manager(request)
    low, high, label = _period(request)
    async with state_of(request).db.read() as conn:
        fund = (await conn.execute(select(funds).where(funds.c.id == fund_id))).mappings().first()
        if fund is None:
            raise ProtocolError(404, "not_found", "找不到该基金", "no such fund")
        if not works_for_fund(grant, fund, rank=MANAGER):
            raise ProtocolError(403, "forbidden", "无权限:不是该基金的管理者",
                                "not allowed: not a manager of this fund")
        statement = await reports.fund_statement(conn, fund_id, low, high)
    assert statement is not None
    summary, lines = statement
    await audit.record_now(state_of(request).db, grant, "export.fund_statement", "fund", fund_id,
                           station=fund["station"], district=fund["district"],
                           detail=_export_detail(request, fmt, len(lines)))
    preamble = [["基金 / fund", summary["fund"]], ["期间 / period", label],
                ["期初余额(分) / opening (fen)", summary["opening_fen"]],
                ["期末余额(分) / closing (fen)", summary["closing_fen"]]]
    return _table(reports.STATEMENT_COLUMNS, lines, fmt, f"fund_statement_{label}", preamble)


ROUTES = [export_donations, export_fund_statement]
