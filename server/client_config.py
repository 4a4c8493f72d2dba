"""``GET /api/v1/client-config``: the server settings the phone needs to behave like the
server before it answers (docs/protocol.md, "Client configuration").

The phone caches the answer in IndexedDB and falls back to the server's defaults before
its first fetch; the server still decides every mutation, so a stale copy only changes
what the phone shows while a mutation is pending.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, get

from server.auth import resolve_grant
from server.openapi import TOKEN, errors
from server.state import state_of


@get("/api/v1/client-config", security=TOKEN, tags=["devices"],
     summary="Server settings the phone needs (approval and alert lines)", responses=errors(401, 403))
async def client_config_route(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """Settings that shape the phone's forms and its instant local results (Bearer token)."""
    state = state_of(request)
    await resolve_grant(state.db, request.headers.get("authorization"))
    settings = state.settings
    return {
        "correction_approval_threshold_fen": settings.correction_approval_threshold_fen,
        "large_donation_fen": settings.notify_large_donation_fen,
        "fund_low_fen": settings.notify_fund_low_fen,
        "hours_max_session_hours": settings.hours_max_session_hours,
        "receipt_holder": {"zh": settings.receipt_holder_zh, "en": settings.receipt_holder_en},
        "clock_warn_minutes": settings.clock_warn_minutes,
        "goods_photo_line_fen": settings.goods_photo_line_fen,
        "disbursement_invoice_line_fen": settings.disbursement_invoice_line_fen,
        "file_max_bytes": settings.attachment_max_bytes,
    }


ROUTES = [client_config_route]
