"""HTTP routes of attachments: a resumable upload, idempotent by content hash, and
downloads with ``ETag`` and caching (docs/protocol.md, "Attachments").

    POST  /api/v1/files                 start or resume: what the server holds
    PATCH /api/v1/files/{sha256}        bytes at ``Upload-Offset``; the last chunk checks
    GET   /api/v1/files/{sha256}        the file (``?size=thumb``: 320 px JPEG)
    GET   /public/files/{sha256}        a file a public record shows publicly

Who may fetch what is ``server.domain.attachments.may_see``; a file the caller may not
see is ``404 not_found``, exactly like one that does not exist.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
from typing import Any

import msgspec
from litestar import Request, Response, get, patch, post
from litestar.response import Stream
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from schemas.attachments import UploadStart, UploadState
from server.api import JSON, decode_body
from server.auth import resolve_grant
from server.domain.attachments import (
    COMPLETE,
    PARTIAL,
    AttachmentRules,
    device_of,
    file_thumbs,
    file_uploads,
    files,
    may_see,
    prune_files,
    public_ref,
)
from server.filestore import ALLOWED, CHUNK_SIZE, check_image, sha256_of, sniff
from server.openapi import TOKEN, answer, errors
from server.state import AppState, state_of
from sync.errors import ProtocolError
from sync.scopes import Grant
from sync.timeutil import iso, now_iso, utc_now

log = logging.getLogger("server.attachments")
SHA = re.compile(r"[0-9a-f]{64}")
PRIVATE_CACHE = "private, max-age=31536000, immutable"
"""A file never changes under its hash; only the phone's own cache keeps it."""
PUBLIC_CACHE = "public, max-age=3600"
"""A public file may stop being public (its record or reference changes): an hour."""
FILE_CSP = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"
"""A file opened on its own (a PDF in a tab) runs nothing and reaches nothing."""
SUFFIX = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp", "application/pdf": "pdf"}


def _refuse(status: int, code: str, zh: str, en: str, **extra: Any) -> ProtocolError:
    return ProtocolError(status, code, zh, en, **extra)


def _not_found() -> ProtocolError:
    return _refuse(404, "not_found", "找不到该文件", "no such file")


def _sha(value: str) -> str:
    if not SHA.fullmatch(value):
        raise _not_found()
    return value


def _state(row: Any, received: int) -> UploadState:
    complete = row.state == COMPLETE
    return UploadState(sha256=row.sha256, size=int(row.size), media_type=row.media_type,
                       received=int(row.size) if complete else received, complete=complete,
                       chunk_size=CHUNK_SIZE)


def _json(value: Any, status: int = 200) -> Response[bytes]:
    return Response(msgspec.json.encode(value), status_code=status, media_type=JSON,
                    headers={"Cache-Control": "no-store"})


async def _grant(request: Request[Any, Any, Any], state: AppState) -> Grant:
    return await resolve_grant(state.db, request.headers.get("authorization"),
                               app_version=request.headers.get("x-app-version"))


async def _file_row(conn: AsyncConnection, sha256: str) -> Any:
    return (await conn.execute(select(files).where(files.c.sha256 == sha256))).first()


# -- upload --------------------------------------------------------------------------------


@post("/api/v1/files", status_code=200, security=TOKEN, tags=["files"],
      summary="Start or resume an upload",
      description="Body `{sha256, size, media_type}`. Answers what the server holds "
                  "(`received`, `complete`, `chunk_size`); a file already there answers "
                  "`complete: true` and the phone sends nothing. Refused: 413 `file_too_large`, "
                  "415 `file_type_not_allowed`, 429 `too_many_uploads`.",
      responses={**answer("what the server holds of the file", UploadState),
                 **errors(400, 401, 403, 413, 429, 503)})
async def start_upload(request: Request[Any, Any, Any]) -> Response[bytes]:
    state = state_of(request)
    async with state.gate.enter():
        grant = await _grant(request, state)
        body: UploadStart = decode_body(await request.body(), UploadStart)
        rules = state.registry.config(AttachmentRules)
        if body.media_type not in ALLOWED:
            raise _refuse(415, "file_type_not_allowed",
                          "只能上传照片(JPEG、PNG、WebP)或 PDF 文件",
                          "only photos (JPEG, PNG, WebP) and PDF files may be uploaded",
                          field="media_type")
        if body.size > rules.max_bytes:
            raise _refuse(413, "file_too_large",
                          f"文件过大:{_mb(body.size)},最大 {_mb(rules.max_bytes)}",
                          f"file too large: {_mb(body.size)}, at most {_mb(rules.max_bytes)}",
                          field="size")
        row = await _start(state, rules, device_of(grant), body)
        return _json(_state(row, 0 if row.state == COMPLETE else state.files.held(row)))


def _mb(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MB"


async def _start(state: AppState, rules: AttachmentRules, device: str, body: UploadStart) -> Any:
    """The file's row, made (with this device's upload row) if new; limits checked for a
    device that starts an upload it did not start before."""
    now = now_iso()
    day = iso(utc_now().replace(hour=0, minute=0, second=0, microsecond=0))

    async def work(conn: AsyncConnection) -> Any:
        row = await _file_row(conn, body.sha256)
        if row is not None and row.state == COMPLETE and not state.files.present(body.sha256):
            log.error("attachment %s is complete but its bytes are missing; taking it again",
                      body.sha256)
            await conn.execute(update(files).where(files.c.sha256 == body.sha256).values(
                state=PARTIAL, received=0, completed_at=None, updated_at=now))
            await conn.execute(delete(file_thumbs).where(file_thumbs.c.sha256 == body.sha256))
            row = await _file_row(conn, body.sha256)
        if row is not None and row.state == COMPLETE:
            return row
        if row is not None and int(row.size) != body.size:
            raise _refuse(422, "file_hash_mismatch", "同一校验值的文件大小不同,请重新选择文件",
                          "a file with this SHA-256 has another size; pick the file again",
                          field="size")
        mine = (await conn.execute(select(file_uploads.c.sha256).where(
            file_uploads.c.sha256 == body.sha256, file_uploads.c.device == device))).first()
        if mine is None:
            await _check_limits(conn, rules, device, body.size, day)
            await conn.execute(insert(file_uploads).values(
                sha256=body.sha256, device=device, size=body.size, started_at=now))
        if row is None:
            await conn.execute(insert(files).values(
                sha256=body.sha256, size=body.size, media_type=body.media_type, state=PARTIAL,
                received=0, uploaded_by=device, created_at=now, updated_at=now))
            row = await _file_row(conn, body.sha256)
        return row

    return await state.db.run_write(work)


async def _check_limits(conn: AsyncConnection, rules: AttachmentRules, device: str, size: int,
                        day: str) -> None:
    unfinished = (await conn.execute(
        select(func.count()).select_from(file_uploads.join(
            files, files.c.sha256 == file_uploads.c.sha256))
        .where(file_uploads.c.device == device, files.c.state == PARTIAL))).scalar_one()
    if unfinished >= rules.max_unfinished:
        raise _refuse(429, "too_many_uploads",
                      f"此设备已有 {unfinished} 个未完成的上传,请先完成它们",
                      f"this device has {unfinished} unfinished uploads; finish those first")
    if rules.max_bytes_per_device_day:
        today = (await conn.execute(
            select(func.coalesce(func.sum(file_uploads.c.size), 0))
            .where(file_uploads.c.device == device, file_uploads.c.started_at >= day))).scalar_one()
        if int(today) + size > rules.max_bytes_per_device_day:
            raise _refuse(429, "too_many_uploads",
                          f"此设备今天的上传已达上限 {_mb(rules.max_bytes_per_device_day)},请明天再传",
                          f"this device reached today's upload limit of "
                          f"{_mb(rules.max_bytes_per_device_day)}; continue tomorrow")


@patch("/api/v1/files/{sha256:str}", status_code=200, security=TOKEN, tags=["files"],
       summary="Send the next chunk of an upload",
       description="Header `Upload-Offset` (must equal what the server holds, else 409 "
                   "`offset_mismatch` with `received`), body the bytes (at most `chunk_size`). "
                   "The last chunk is checked: SHA-256 (422 `file_hash_mismatch`) and type "
                   "sniffed from the bytes (415 `file_type_not_allowed`); a refused upload is "
                   "discarded.",
       responses={**answer("what the server now holds", UploadState),
                  **errors(400, 401, 403, 404, 409, 413, 503)})
async def upload_chunk(request: Request[Any, Any, Any], sha256: str) -> Response[bytes]:
    state = state_of(request)
    async with state.gate.enter():
        grant = await _grant(request, state)
        sha = _sha(sha256)
        raw_offset = request.headers.get("upload-offset", "")
        if not raw_offset.isdigit():
            raise _refuse(400, "invalid_args", "缺少或无效的 Upload-Offset 请求头",
                          "missing or invalid Upload-Offset header", field="Upload-Offset")
        offset = int(raw_offset)
        data = await request.body()
        if len(data) > CHUNK_SIZE:
            raise _refuse(413, "chunk_too_large", f"每次最多发送 {CHUNK_SIZE} 字节",
                          f"send at most {CHUNK_SIZE} bytes per request")
        async with state.db.read() as conn:
            row = await _file_row(conn, sha)
            mine = (await conn.execute(select(file_uploads.c.sha256).where(
                file_uploads.c.sha256 == sha, file_uploads.c.device == device_of(grant)))).first()
        held = 0 if row is None or row.state == COMPLETE else state.files.held(row)
        if row is None or mine is None:
            raise _refuse(404, "not_found", "请先开始上传(POST /api/v1/files)",
                          "start the upload first (POST /api/v1/files)")
        if row.state == COMPLETE:
            return _json(_state(row, int(row.size)))  # a repeated last chunk: already there
        if not data:
            raise _refuse(400, "invalid_args", "请求体为空", "the chunk is empty")
        if offset + len(data) > int(row.size):
            raise _refuse(400, "invalid_args", "数据超出文件大小", "the chunk runs past the file's size")
        if offset != held:
            raise _mismatch(held)
        received = await state.files.append(state.db, sha, offset, data)
        if received is None:
            async with state.db.read() as conn:
                now_row = await _file_row(conn, sha)
            raise _mismatch(state.files.held(now_row) if now_row is not None else 0)
        if received < int(row.size):
            return _json(_state(row, received))
        return _json(await _complete(state, row))


def _mismatch(held: int) -> ProtocolError:
    return _refuse(409, "offset_mismatch", f"偏移量不符,服务器已有 {held} 字节",
                   f"offset mismatch: the server holds {held} bytes", expected=held,
                   received=held)


def _examine(data: bytes, sha: str, size: int) -> tuple[bool, str | None, bytes | None]:
    """In a thread (hashing and decoding hold no lock the loop needs): whether the bytes
    are the file, their sniffed type (None: not allowed, or an image Pillow cannot read)
    and an image's thumbnail."""
    if len(data) != size or sha256_of(data) != sha:
        return False, None, None
    media_type = sniff(data[:16])
    if media_type is None or not media_type.startswith("image/"):
        return True, media_type, None
    thumb = check_image(data)
    return True, (media_type if thumb is not None else None), thumb


async def _discard(state: AppState, sha: str) -> None:
    """A finished upload failed its checks: its bytes and its rows go (it counts against no
    device's unfinished uploads any more); a record's reference to it stays, pending."""
    await state.files.discard(state.db, sha)

    async def work(conn: AsyncConnection) -> None:
        gone = await conn.execute(delete(files).where(files.c.sha256 == sha,
                                                      files.c.state == PARTIAL))
        if gone.rowcount:
            await conn.execute(delete(file_uploads).where(file_uploads.c.sha256 == sha))

    await state.db.run_write(work)


async def _complete(state: AppState, row: Any) -> UploadState:
    """Check the whole file; keep it (thumbnail made) or discard it with the reason."""
    sha = row.sha256
    data = await state.files.assemble(state.db, sha)
    matches, media_type, thumb = await asyncio.to_thread(_examine, data, sha, int(row.size))
    if not matches:
        await _discard(state, sha)
        raise _refuse(422, "file_hash_mismatch", "文件校验值不符,上传已作废,请重新上传",
                      "the file's SHA-256 does not match; the upload was discarded, send it again")
    if media_type is None:
        await _discard(state, sha)
        raise _refuse(415, "file_type_not_allowed",
                      "文件内容不是照片(JPEG、PNG、WebP)或 PDF,已拒收",
                      "the file's content is not a photo (JPEG, PNG, WebP) or a PDF; refused")
    now = now_iso()
    await state.files.seal(sha)

    async def work(conn: AsyncConnection) -> Any:
        done = await conn.execute(
            update(files).where(files.c.sha256 == sha, files.c.state == PARTIAL)
            .values(state=COMPLETE, media_type=media_type, received=int(row.size),
                    completed_at=now, updated_at=now))
        if done.rowcount == 1:
            await state.files.finish(conn, sha)
            if thumb is not None:
                await conn.execute(insert(file_thumbs).values(sha256=sha, data=thumb))
        return await _file_row(conn, sha)

    final = await state.db.run_write(work)
    await state.files.settle(sha)
    return _state(final, int(final.size))


# -- download ------------------------------------------------------------------------------


def _thumb_wanted(size: str | None) -> bool:
    if size in (None, "", "full"):
        return False
    if size == "thumb":
        return True
    raise _refuse(400, "invalid_args", "size 只能是 thumb 或 full", "size must be thumb or full",
                  field="size")


async def _send(request: Request[Any, Any, Any], state: AppState, row: Any, thumb: bool,
                cache: str) -> Response[Any]:
    sha = row.sha256
    etag = f'"{sha}-thumb"' if thumb else f'"{sha}"'
    headers = {"ETag": etag, "Cache-Control": cache, "Content-Security-Policy": FILE_CSP}
    wanted = request.headers.get("if-none-match", "")
    if wanted.strip() == "*" or etag in [t.strip().removeprefix("W/") for t in wanted.split(",")]:
        return Response(b"", status_code=304, headers=headers)
    if thumb:
        if not row.media_type.startswith("image/"):
            raise _refuse(404, "no_thumbnail", "PDF 文件没有缩略图", "a PDF file has no thumbnail")
        async with state.db.read() as conn:
            data = (await conn.execute(select(file_thumbs.c.data).where(
                file_thumbs.c.sha256 == sha))).scalar()
        if data is None:
            raise _refuse(404, "no_thumbnail", "没有缩略图", "no thumbnail")
        return Response(bytes(data), media_type="image/jpeg", headers=headers)
    headers["Content-Length"] = str(int(row.size))
    headers["Content-Disposition"] = f'inline; filename="{sha[:16]}.{SUFFIX.get(row.media_type, "bin")}"'
    return Stream(state.files.read(state.db, sha), media_type=row.media_type, headers=headers)


@get("/api/v1/files/{sha256:str}", security=TOKEN, tags=["files"],
     summary="Download a file or its thumbnail",
     description="The file (`?size=thumb`: a JPEG, long side 320 px; a PDF has none: 404 "
                 "`no_thumbnail`), with `ETag` and `Cache-Control: private, immutable`; "
                 "`If-None-Match` answers 304. 404 `file_pending` while referenced but not "
                 "yet uploaded; 404 `not_found` when the caller may not see it.",
     responses={**answer("the file's bytes", media_type="application/octet-stream"),
                **errors(400, 401, 403, 404)})
async def download(request: Request[Any, Any, Any], sha256: str,
                   size: str | None = None) -> Response[Any]:
    state = state_of(request)
    thumb = _thumb_wanted(size)
    grant = await _grant(request, state)
    sha = _sha(sha256)
    async with state.db.read() as conn:
        visible = await may_see(conn, grant, sha)
        row = await _file_row(conn, sha) if visible else None
    if not visible:
        raise _not_found()
    if row is None or row.state != COMPLETE or not state.files.present(sha):
        raise _refuse(404, "file_pending", "照片等待上传", "waiting for upload")
    return await _send(request, state, row, thumb, PRIVATE_CACHE)


@get("/public/files/{sha256:str}", tags=["public"],
     summary="A file shown on a public page",
     description="Only a file that a public record refers to with `public: true`; "
                 "anything else is 404. `?size=thumb` as for `/api/v1/files/{sha256}`.",
     responses={**answer("the file's bytes", media_type="application/octet-stream"),
                **errors(400, 404)})
async def public_download(request: Request[Any, Any, Any], sha256: str,
                          size: str | None = None) -> Response[Any]:
    state = state_of(request)
    thumb = _thumb_wanted(size)
    sha = _sha(sha256)
    async with state.db.read() as conn:
        shown = await public_ref(conn, sha)
        row = await _file_row(conn, sha) if shown else None
    if row is None or row.state != COMPLETE or not state.files.present(sha):
        raise _not_found()
    return await _send(request, state, row, thumb, PUBLIC_CACHE)


async def sweep_files(state: AppState, *, now: dt.datetime | None = None) -> list[str]:
    """The retention sweep of attachments (``prune_files``), then the deleted files' bytes
    (the database store's went with their rows). Run hourly by the app's pruner."""
    rules = state.registry.config(AttachmentRules)
    gone = await prune_files(state.db, state.registry,
                             dt.timedelta(days=rules.retention_days), now=now)
    for sha in gone:
        await state.files.remove(sha)
    return gone


ROUTES = [start_upload, upload_chunk, download, public_download]

__all__ = ["ROUTES", "sweep_files"]
