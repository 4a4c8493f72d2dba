"""Where the bytes of attachments live, and what is checked before a file counts as
arrived (docs/protocol.md, "Attachments").

Two stores with one face (``FileStore``):

- ``DirectoryStore`` (SQLite's default): ``<data_dir>/files/partial/<sha>.part`` while an
  upload runs (its length is what the server holds, so an upload resumes after a
  restart), renamed atomically to ``<data_dir>/files/<sha[:2]>/<sha>`` once checked.
  SQLite runs one server process, so a lock per file in the process orders appends.
- ``DatabaseStore`` (PostgreSQL's default): one ``file_chunks`` row per chunk, written in
  the same transaction that moves ``files.received`` on, conditional on the offset: two
  workers (or two phones) appending the same chunk cannot both win.

Checks when the last byte arrives: the SHA-256 of the whole file, and its type sniffed
from the first bytes (JPEG, PNG, WebP, PDF); images must also open in Pillow (an HTML
page or a program named ``.jpg`` does not). Thumbnails: JPEG, long side 320 px.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from server.domain.attachments import PARTIAL, file_chunks, files
from sync.db import Database

ALLOWED = ("image/jpeg", "image/png", "image/webp", "application/pdf")
THUMB_SIDE = 320
CHUNK_SIZE = 256 * 1024
"""What the server asks phones to send per ``PATCH`` (and the most it takes at once)."""
READ_BLOCK = 256 * 1024


def sniff(head: bytes) -> str | None:
    """The media type the first bytes show, or None for anything not allowed."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    return None


def check_image(data: bytes) -> bytes | None:
    """Open the image (a file that only starts like one fails) and make its thumbnail:
    JPEG, long side at most 320 px. None when Pillow cannot read it."""
    from PIL import Image, ImageOps

    Image.MAX_IMAGE_PIXELS = 64_000_000  # a decompression bomb is refused, not decoded
    try:
        with Image.open(io.BytesIO(data)) as probe:
            probe.verify()
        with Image.open(io.BytesIO(data)) as opened:
            # a JPEG is decoded straight at 1/2, 1/4 or 1/8 scale (DCT scaling): the whole
            # file is still read and decoded, at a fraction of the work
            opened.draft("RGB", (THUMB_SIDE, THUMB_SIDE))
            opened.load()
            image: Image.Image = ImageOps.exif_transpose(opened)
            image.thumbnail((THUMB_SIDE, THUMB_SIDE))
            if image.mode not in ("RGB", "L"):
                image = image.convert("RGB")
            out = io.BytesIO()
            image.save(out, "JPEG", quality=80, optimize=True)
            return out.getvalue()
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError,
            Image.DecompressionBombWarning):
        return None


class FileStore(Protocol):
    kind: str

    def held(self, row: Any) -> int:
        """Bytes held of a partial upload (``row``: its ``files`` row, as just read)."""

    def present(self, sha256: str) -> bool:
        """Whether a complete file's bytes are there (a data directory restored without
        its ``files/`` folder: not; the upload is then taken again)."""

    async def append(self, db: Database, sha256: str, offset: int, data: bytes) -> int | None:
        """Write ``data`` at ``offset`` if that is what the store holds; the new length,
        or None when the offset no longer matches (another request got there first)."""

    async def assemble(self, db: Database, sha256: str) -> bytes:
        """Every byte of a partial upload (for the final checks)."""

    async def seal(self, sha256: str) -> None:
        """Before the transaction that marks the upload complete: make its bytes durable."""

    async def finish(self, conn: AsyncConnection, sha256: str) -> None:
        """Make a checked upload the file (inside the transaction that marks it complete:
        quick, no waiting on the disk)."""

    async def settle(self, sha256: str) -> None:
        """After that transaction committed: make the file's name durable."""

    async def discard(self, db: Database, sha256: str) -> None:
        """Forget a partial upload that failed its checks."""

    def read(self, db: Database, sha256: str) -> AsyncIterator[bytes]:
        """The bytes of a complete file, a block at a time."""

    async def remove(self, sha256: str) -> None:
        """After retention deleted its rows: the bytes go too (the database store's went
        with the rows)."""


class DirectoryStore:
    """Files in the data directory; partial uploads as ``.part`` files."""

    kind = "files"

    def __init__(self, root: Path) -> None:
        self.root = root
        self.partial = root / "partial"
        self.partial.mkdir(parents=True, exist_ok=True)
        self._locks: dict[str, asyncio.Lock] = {}

    def path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256

    def part(self, sha256: str) -> Path:
        return self.partial / f"{sha256}.part"

    def lock(self, sha256: str) -> asyncio.Lock:
        found = self._locks.get(sha256)
        if found is None:
            found = self._locks[sha256] = asyncio.Lock()
        return found

    def held(self, row: Any) -> int:
        try:
            return self.part(row.sha256).stat().st_size
        except FileNotFoundError:
            return 0

    async def append(self, db: Database, sha256: str, offset: int, data: bytes) -> int | None:
        async with self.lock(sha256):
            part = self.part(sha256)
            held = part.stat().st_size if part.exists() else 0
            if held != offset:
                return None
            await asyncio.to_thread(_append, part, data)
            return offset + len(data)

    async def assemble(self, db: Database, sha256: str) -> bytes:
        return await asyncio.to_thread(self.part(sha256).read_bytes)

    async def seal(self, sha256: str) -> None:
        await asyncio.to_thread(_fsync_file, self.part(sha256))

    async def finish(self, conn: AsyncConnection, sha256: str) -> None:
        # no await on the disk here: on SQLite this runs inside the single writer's round
        target = self.path(sha256)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self.part(sha256), target)  # atomic: a reader sees all of it or nothing

    async def settle(self, sha256: str) -> None:
        await asyncio.to_thread(_fsync_dir, self.path(sha256).parent)

    async def discard(self, db: Database, sha256: str) -> None:
        async with self.lock(sha256):
            with contextlib.suppress(FileNotFoundError):
                self.part(sha256).unlink()

    async def read(self, db: Database, sha256: str) -> AsyncIterator[bytes]:
        with self.path(sha256).open("rb") as handle:
            while True:
                block = await asyncio.to_thread(handle.read, READ_BLOCK)
                if not block:
                    return
                yield block

    def present(self, sha256: str) -> bool:
        return self.path(sha256).exists()

    async def remove(self, sha256: str) -> None:
        for path in (self.path(sha256), self.part(sha256)):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        self._locks.pop(sha256, None)


def _append(part: Path, data: bytes) -> None:
    with part.open("ab") as handle:
        handle.write(data)


def _fsync_file(path: Path) -> None:
    with path.open("rb+") as handle:
        os.fsync(handle.fileno())


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


class DatabaseStore:
    """Chunks in ``file_chunks``; ``files.received`` moves on in the same transaction."""

    kind = "database"

    def held(self, row: Any) -> int:
        return int(row.received)

    def present(self, sha256: str) -> bool:
        return True

    async def append(self, db: Database, sha256: str, offset: int, data: bytes) -> int | None:
        async def work(conn: AsyncConnection) -> int | None:
            moved = await conn.execute(
                update(files)
                .where(files.c.sha256 == sha256, files.c.state == PARTIAL,
                       files.c.received == offset)
                .values(received=offset + len(data)))
            if moved.rowcount != 1:
                return None
            await conn.execute(file_chunks.insert().values(sha256=sha256, offset=offset, data=data))
            return offset + len(data)

        return await db.run_write(work)

    async def assemble(self, db: Database, sha256: str) -> bytes:
        async with db.read() as conn:
            rows = await conn.execute(select(file_chunks.c.data).where(
                file_chunks.c.sha256 == sha256).order_by(file_chunks.c.offset))
            return b"".join(bytes(r[0]) for r in rows)

    async def seal(self, sha256: str) -> None:
        return None  # the chunks committed with their transactions

    async def finish(self, conn: AsyncConnection, sha256: str) -> None:
        return None  # the chunks are the file

    async def settle(self, sha256: str) -> None:
        return None

    async def discard(self, db: Database, sha256: str) -> None:
        async def work(conn: AsyncConnection) -> None:
            await conn.execute(file_chunks.delete().where(file_chunks.c.sha256 == sha256))
            await conn.execute(update(files).where(files.c.sha256 == sha256,
                                                   files.c.state == PARTIAL).values(received=0))

        await db.run_write(work)

    async def read(self, db: Database, sha256: str) -> AsyncIterator[bytes]:
        offset = 0
        while True:
            async with db.engine.connect() as conn:
                row = (await conn.execute(
                    select(file_chunks.c.offset, file_chunks.c.data)
                    .where(file_chunks.c.sha256 == sha256, file_chunks.c.offset >= offset)
                    .order_by(file_chunks.c.offset).limit(1))).first()
            if row is None:
                return
            data = bytes(row.data)
            offset = int(row.offset) + len(data)
            yield data

    async def remove(self, sha256: str) -> None:
        return None

    async def stored_bytes(self, conn: AsyncConnection, sha256: str) -> int:
        value = (await conn.execute(select(func.sum(func.length(file_chunks.c.data)))
                                    .where(file_chunks.c.sha256 == sha256))).scalar()
        return int(value or 0)


def open_store(kind: str, data_dir: Path, is_postgres: bool) -> DirectoryStore | DatabaseStore:
    """The store the settings name (``auto``: the database on PostgreSQL, else files)."""
    if kind not in ("auto", "files", "database"):
        raise ValueError(f"attachment_storage must be auto, files or database, not {kind!r}")
    if kind == "database" or (kind == "auto" and is_postgres):
        return DatabaseStore()
    return DirectoryStore(data_dir / "files")


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


__all__ = ["ALLOWED", "CHUNK_SIZE", "DatabaseStore", "DirectoryStore", "FileStore", "check_image",
           "open_store", "sha256_of", "sniff"]
