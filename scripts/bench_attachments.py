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

5. with ``--phone``: the phone-side resize time per photo (long side 1600 px, JPEG, EXIF
   gone) in headless Chromium, in the app (``browser_resize``; the phone side's half,
   from branch h14-pwa).

    .venv/bin/python scripts/bench_attachments.py [--backends sqlite,postgres] [--photos 100]
    .venv/bin/python scripts/bench_attachments.py --phone-only [--phone-photos 20]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import io
import os
import shutil
import statistics
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


# -- the phone's half (branch h14-pwa: scripts/bench_attachments.py there, folded in here) ----

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def _camera_jpeg(path: Path, size: tuple[int, int], seed: int) -> Path:
    from PIL import Image, ImageDraw

    image = Image.effect_noise(size, 30 + seed % 20).convert("RGB")
    ImageDraw.Draw(image).rectangle((0, 0, size[0] // 8 + seed, size[1] // 8), fill=(200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "BenchMaker"
    exif[0x0112] = 6
    exif.get_ifd(0x8825).update({1: "N", 2: (22.0, 32.0, float(seed)), 3: "E", 4: (113.0, 19.0, 5.0)})
    image.save(path, "JPEG", quality=90, exif=exif)
    return path


def bench_phone_resize(photos: int = 20, size: tuple[int, int] = (4000, 3000)) -> dict[str, float]:
    """Seconds per photo (mean, median, max) from hand-over to thumbnail, in the app."""
    import httpx
    from playwright.sync_api import expect, sync_playwright

    from tests.helpers import mutation
    from tests.serverproc import ServerProcess, cli_token

    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        files = [_camera_jpeg(data_dir / f"IMG_{i:04d}.jpg", size, i) for i in range(photos)]
        url = f"sqlite:///{data_dir / 'charity.db'}"
        with ServerProcess(database_url=url, data_dir=data_dir) as proc:
            admin = cli_token(database_url=url, data_dir=data_dir, user="admin", role="admin")
            body = {"protocol": 1, "client_id": "00000000-0000-4000-8000-00000000be01",
                    "mutations": [mutation(1, "station.create", {"code": "BN-001", "name": "BN 社工站", "district": "天河区"})]}
            pushed = httpx.post(f"{proc.base_url}/api/v1/sync/push", json=body, headers={"Authorization": f"Bearer {admin}"})
            assert pushed.status_code == 200, pushed.text
            staff = cli_token(database_url=url, data_dir=data_dir, user="staff-bn", role="staff", station="BN-001")
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                context = browser.new_context(viewport={"width": 360, "height": 740}, device_scale_factor=2,
                                              is_mobile=True, has_touch=True, locale="zh-CN", base_url=proc.base_url)
                context.set_default_timeout(60000)
                page = context.new_page()
                page.goto(f"/#/enrol?token={staff}")
                page.wait_for_url("**/#/events")
                page.evaluate("() => { location.hash = '/donations/new/goods' }")
                picker = page.get_by_test_id("goods-photos")
                tiles = picker.get_by_test_id("attachment")
                times: list[float] = []
                for path in files:
                    started = time.perf_counter()
                    page.get_by_test_id("goods-photos-pick").set_input_files(str(path))
                    expect(tiles).to_have_count(1)
                    expect(tiles.locator("img")).to_be_visible()
                    times.append(time.perf_counter() - started)
                    tiles.get_by_role("button", name="移除第 1 个文件").click()
                    expect(tiles).to_have_count(0)
                browser.close()
    return {"mean": statistics.mean(times), "median": statistics.median(times), "max": max(times)}


def browser_resize(args: argparse.Namespace) -> dict[str, float] | None:
    """The phone-side resize time per photo in the browser (``--phone``): headless
    Chromium, the app's goods form, camera JPEGs of ``--width`` x ``--height`` with EXIF,
    timed from hand-over to thumbnail (decode, orientation, 1,600 px, canvas re-encode
    dropping EXIF, SHA-256, IndexedDB). None: not asked for in this run."""
    if not args.phone:
        return None
    figures = bench_phone_resize(args.phone_photos, (args.width, args.height))
    return {f"resize_ms_{name}": value * 1000 for name, value in figures.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--photos", type=int, default=100)
    parser.add_argument("--photo-kb", type=int, default=300)
    parser.add_argument("--phones", type=int, default=4,
                        help="phones uploading at once in the second round")
    parser.add_argument("--pg-url", default=PG_BENCH_URL)
    parser.add_argument("--phone", action="store_true",
                        help="also the phone-side resize time (headless Chromium)")
    parser.add_argument("--phone-only", action="store_true", help="only the phone-side half")
    parser.add_argument("--phone-photos", type=int, default=20)
    parser.add_argument("--width", type=int, default=4000)
    parser.add_argument("--height", type=int, default=3000)
    args = parser.parse_args()
    if args.phone_only:
        args.phone, args.backends = True, ""
    photos = make_photos(args.photos, args.photo_kb) if args.backends else []
    if photos:
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
        print("browser resize: not measured in this run (--phone)")
    else:
        for name, value in resize.items():
            print(f"browser   {name:28} {value:10.1f}")


if __name__ == "__main__":
    main()
