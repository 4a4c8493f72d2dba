"""Attachments benchmark: upload throughput over real HTTP, against the storage's raw speed.

Prints figures; it is not a test. For each backend (SQLite: files in the data directory;
PostgreSQL: chunks in the database) it starts ``python -m server serve`` on a fresh
database (as scripts/bench_sync.py does) and:

1. makes ``--photos`` distinct JPEGs of about ``--photo-kb`` KB (noise: they do not
   compress; what a phone sends after resizing to 1600 px is about this size);
2. uploads them the way a phone does (``POST /api/v1/files``, then ``PATCH`` chunks of
   the server's ``chunk_size`` from ``received``), one phone after another photo, then
   ``--phones`` phones at once, each its own share; every upload is checked complete;
3. the first phone sends them all again (each answered ``complete`` at once) and
   downloads its own once (``GET /api/v1/files/{sha256}``);
4. writes the same bytes straight to the storage, outside the server, in the same run:
   files in a scratch directory beside the data directory (write, fsync, rename: what the
   directory store does), or ``bytea`` chunk rows in a scratch table through asyncpg (what
   the database store does); upload throughput is then shown as a share of that.

    .venv/bin/python scripts/bench_attachments.py [--backends sqlite,postgres] [--photos 100]

5. the phone-side resize time per photo (long side 1600 px, JPEG, EXIF gone) in the
   browser: see ``browser_resize`` below, filled in by the phone side (branch h14-pwa).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import io
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT, ROOT / "scripts"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from bench_sync import Server, _fresh_postgres, issue_token

PG_BENCH_URL = "postgresql://postgres@127.0.0.1:5432/charity_bench_files"
MB = 1024 * 1024


@dataclass
class Result:
    backend: str
    figures: dict[str, float] = field(default_factory=dict)
    skipped: str | None = None


def _noise_jpeg(seed: int, side: int) -> bytes:
    from PIL import Image

    raw = b"".join(hashlib.sha256(f"{seed}:{i}".encode()).digest()
                   for i in range(side * side * 3 // 32 + 1))[: side * side * 3]
    out = io.BytesIO()
    Image.frombytes("RGB", (side, side), raw).save(out, "JPEG", quality=85)
    return out.getvalue()


def make_photos(count: int, kb: int) -> list[bytes]:
    """``count`` different noise JPEGs of about ``kb`` KB each (the side is fitted on a
    trial picture: noise costs a fixed number of bytes a pixel)."""
    trial = 256
    per_pixel = len(_noise_jpeg(-1, trial)) / (trial * trial)
    side = max(64, int((kb * 1024 / per_pixel) ** 0.5))
    return [_noise_jpeg(seed, side) for seed in range(count)]


async def upload(http: httpx.AsyncClient, token: str, data: bytes) -> None:
    sha = hashlib.sha256(data).hexdigest()
    auth = {"Authorization": f"Bearer {token}"}
    answer = await http.post("/api/v1/files", headers=auth, json={
        "sha256": sha, "size": len(data), "media_type": "image/jpeg"})
    answer.raise_for_status()
    state: dict[str, Any] = answer.json()
    while not state["complete"]:
        offset, step = state["received"], state["chunk_size"]
        answer = await http.patch(f"/api/v1/files/{sha}", content=data[offset:offset + step],
                                  headers={**auth, "Upload-Offset": str(offset),
                                           "Content-Type": "application/octet-stream"})
        answer.raise_for_status()
        state = answer.json()


async def upload_all(base: str, tokens: list[str], photos: list[bytes]) -> float:
    """Seconds to upload every photo, the phones (tokens) sharing them out."""
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:
        async def phone(token: str, share: list[bytes]) -> None:
            for data in share:
                await upload(http, token, data)

        started = time.perf_counter()
        await asyncio.gather(*(phone(t, photos[i::len(tokens)]) for i, t in enumerate(tokens)))
        return time.perf_counter() - started


async def download_all(base: str, token: str, photos: list[bytes]) -> float:
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:
        started = time.perf_counter()
        for data in photos:
            got = await http.get(f"/api/v1/files/{hashlib.sha256(data).hexdigest()}",
                                 headers={"Authorization": f"Bearer {token}"})
            got.raise_for_status()
            assert got.content == data
        return time.perf_counter() - started


def raw_files(folder: Path, photos: list[bytes]) -> float:
    """Seconds to write the photos as the directory store does: part file, fsync, rename."""
    folder.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    for data in photos:
        sha = hashlib.sha256(data).hexdigest()
        part = folder / f"{sha}.part"
        with part.open("wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(part, folder / sha)
    return time.perf_counter() - started


async def raw_database(url: str, photos: list[bytes], chunk: int = 256 * 1024) -> float:
    """Seconds to insert the photos as ``bytea`` chunk rows, one transaction per chunk
    (what the database store commits per ``PATCH``), straight through asyncpg."""
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute("CREATE TABLE bench_raw (sha text, off bigint, data bytea, "
                           "PRIMARY KEY (sha, off))")
        started = time.perf_counter()
        for data in photos:
            sha = hashlib.sha256(data).hexdigest()
            for offset in range(0, len(data), chunk):
                await conn.execute("INSERT INTO bench_raw VALUES ($1, $2, $3)", sha, offset,
                                   data[offset:offset + chunk])
        elapsed = time.perf_counter() - started
        await conn.execute("DROP TABLE bench_raw")
        return elapsed
    finally:
        await conn.close()


async def run_backend(backend: str, args: argparse.Namespace, photos: list[bytes]) -> Result:
    result = Result(backend)
    tmp = Path(tempfile.mkdtemp(prefix=f"charity-bench-files-{backend}-"))
    total = sum(len(p) for p in photos)
    try:
        if backend == "sqlite":
            url = f"sqlite:///{tmp / 'charity.db'}"
        else:
            url = args.pg_url
            problem = await _fresh_postgres(url)
            if problem:
                result.skipped = problem
                print(f"[{backend}] skipped: {problem}")
                return result
        tokens = [issue_token(url, tmp, f"phone{i}") for i in range(args.phones + 1)]
        server = Server(url, tmp)
        await server.start()
        try:
            half = len(photos) // 2
            one = await upload_all(server.base, tokens[:1], photos[:half])
            many = await upload_all(server.base, tokens[1:], photos[half:])
            again = await upload_all(server.base, tokens[:1], photos)  # all there: answered at once
            # (a phone sees the files it uploaded while no record refers to them: its own)
            down = await download_all(server.base, tokens[0], photos[:half])
        finally:
            server.stop()
        first, second = sum(len(p) for p in photos[:half]), sum(len(p) for p in photos[half:])
        if backend == "sqlite":
            raw = raw_files(tmp / "raw-files", photos)
        else:
            raw = await raw_database(url, photos)
        result.figures = {
            "upload_1_phone_mb_s": first / MB / one,
            f"upload_{args.phones}_phones_mb_s": second / MB / many,
            "upload_per_photo_ms": one / half * 1000,
            "repeat_all_ms": again * 1000,
            "download_mb_s": first / MB / down,
            "raw_storage_mb_s": total / MB / raw,
        }
        result.figures["upload_share_of_raw_pct"] = (
            100 * result.figures["upload_1_phone_mb_s"] / result.figures["raw_storage_mb_s"])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return result


def browser_resize(args: argparse.Namespace) -> dict[str, float] | None:
    """PHONE SIDE (branch h14-pwa) fills this in: the resize time per photo in the browser
    (headless Chromium through Playwright: a 12 MP camera JPEG resized to long side 1600 px
    and re-encoded through a canvas, EXIF gone), returned as figures such as
    ``{"resize_ms_p50": ..., "resize_ms_p95": ...}``. None: not measured in this run."""
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--photos", type=int, default=100)
    parser.add_argument("--photo-kb", type=int, default=300)
    parser.add_argument("--phones", type=int, default=4,
                        help="phones uploading at once in the second round")
    parser.add_argument("--pg-url", default=PG_BENCH_URL)
    args = parser.parse_args()
    photos = make_photos(args.photos, args.photo_kb)
    mean_kb = sum(len(p) for p in photos) / len(photos) / 1024
    print(f"{len(photos)} photos, {mean_kb:.0f} KB each on average "
          f"({sum(len(p) for p in photos) / MB:.1f} MB)")
    results = [asyncio.run(run_backend(b.strip(), args, photos))
               for b in args.backends.split(",") if b.strip()]
    for result in results:
        if result.skipped:
            print(f"{result.backend:9} skipped: {result.skipped}")
            continue
        for name, value in result.figures.items():
            print(f"{result.backend:9} {name:28} {value:10.1f}")
    resize = browser_resize(args)
    if resize is None:
        print("browser resize: not measured here (phone side: browser_resize)")
    else:
        for name, value in resize.items():
            print(f"browser   {name:28} {value:10.1f}")


if __name__ == "__main__":
    main()
