"""A round's published vote, public (docs/programme.md, "Voting and results"): each proposal's
rank, votes by channel (own phone, booth, paper), whether it is funded and the amount, and
participation by channel. Nothing about a ballot, a voter or the booth staff.

HTML under ``/public/rounds/{id}/results``; the same as JSON under
``/api/v1/public/rounds/{id}/results``. The round's own page includes the section
(``round_results_section.html``) from :func:`round_vote`.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from schemas.rounds import PHASE_NAMES
from server.domain.ballots import public_results
from server.domain.rounds import rounds
from server.domain.stations import stations
from server.openapi import answer, errors
from server.public import _html, _json, _missing, _reading

NO_ROUND = ("找不到该微创投", "no such micro-venture round")


async def round_vote(conn: AsyncConnection, round_id: str) -> dict[str, Any] | None:
    """The round as the results page shows it, with ``results`` (None until published)."""
    row = (await conn.execute(
        select(rounds.c.id, rounds.c.title, rounds.c.year, rounds.c.station, rounds.c.phase,
               rounds.c.budget_fen, stations.c.name.label("station_name"))
        .outerjoin(stations, stations.c.code == rounds.c.station)
        .where(rounds.c.id == round_id))).mappings().first()
    if row is None:
        return None
    zh, en = PHASE_NAMES.get(str(row["phase"]), (str(row["phase"]), str(row["phase"])))
    return {
        "id": row["id"], "title": row["title"], "year": row["year"],
        "station": row["station"], "station_name": row["station_name"] or row["station"],
        "phase": row["phase"], "phase_label": {"zh": zh, "en": en},
        "budget_fen": int(row["budget_fen"]),
        "results": await public_results(conn, round_id),
    }


@get("/api/v1/public/rounds/{round_id:str}/results", tags=["public"],
     summary="A micro-venture round's published results (JSON)",
     responses={**answer("each proposal's rank, votes by channel, funded and amount; "
                         "participation by channel (results null until published)"),
                **errors(400, 404)})
async def round_results_json(request: Request[Any, Any, Any], round_id: str) -> Response[bytes]:
    async with _reading(request) as conn:
        found = await round_vote(conn, round_id)
    if found is None:
        raise _missing(NO_ROUND)
    return _json(found)


@get("/public/rounds/{round_id:str}/results", tags=["public pages"],
     summary="A micro-venture round's published results (page)",
     responses=answer("not found page", media_type="text/html", status=404))
async def round_results_page(request: Request[Any, Any, Any], round_id: str) -> Response[str]:
    async with _reading(request) as conn:
        found = await round_vote(conn, round_id)
    if found is None:
        return _html("notfound.html", 404, zh=NO_ROUND[0], en=NO_ROUND[1])
    return _html("round_results.html", r=found, results=found["results"])


ROUTES = [round_results_json, round_results_page]
