"""Attachments (issue 14, docs/protocol.md "Attachments"): a resumable upload idempotent by
content hash, limits, type sniffed from the bytes, who may fetch a file, ETag, retention,
and the rules areas hang on files (goods photo line, invoice before payment). Every test
runs on SQLite (files in the data directory) and PostgreSQL (chunks in the database)."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import func, select

from server.domain.attachments import file_chunks
from server.filestore import DirectoryStore
from tests.conftest import Api
from tests.devices import upload_file
from tests.helpers import photo_bytes

pytestmark = pytest.mark.anyio


async def _stored_copies(api: Api, sha: str) -> int:
    """How many copies of the file the store holds (rows, chunks' bytes or files on disk)."""
    store = api.state.files
    if isinstance(store, DirectoryStore):
        return len(list(store.root.glob(f"*/{sha}")))
    async with api.state.db.read() as conn:
        total = (await conn.execute(select(func.sum(func.length(file_chunks.c.data))).where(
            file_chunks.c.sha256 == sha))).scalar()
    size = len(photo_bytes(1))
    return int(total or 0) // size


async def test_an_upload_cut_at_half_resumes_where_it_stopped(api: Api) -> None:
    token = await api.token("u1", "staff", "TH-001")
    data = photo_bytes(1, side=900)
    assert len(data) > 2 * 262144  # three chunks
    sha = hashlib.sha256(data).hexdigest()
    half = await upload_file(api, token, data, stop_after=2)
    assert half["complete"] is False and half["received"] == 2 * 262144
    # the phone reloads: asking again says where to go on from
    again = await api.http.post("/api/v1/files", headers=api.auth(token), json={
        "sha256": sha, "size": len(data), "media_type": "image/jpeg"})
    assert again.json()["received"] == 2 * 262144 and again.json()["complete"] is False
    # a chunk sent from the wrong offset is refused with what the server holds
    wrong = await api.http.patch(f"/api/v1/files/{sha}", content=data[:1000],
                                 headers={**api.auth(token), "Upload-Offset": "0"})
    assert wrong.status_code == 409
    assert wrong.json()["code"] == "offset_mismatch" and wrong.json()["received"] == 2 * 262144
    done = await upload_file(api, token, data)
    assert done["complete"] is True and done["received"] == len(data)
    got = await api.http.get(f"/api/v1/files/{sha}", headers=api.auth(token))
    assert got.status_code == 200 and got.content == data
    assert got.headers["content-type"].startswith("image/jpeg")
