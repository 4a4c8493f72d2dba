"""Attachments benchmark, the phone's half: how long the app takes to make a camera photo
fit to send, per photo, in headless Chromium (the system one, as the browser tests use).

Prints figures; it is not a test. It starts ``python -m server serve`` on a fresh SQLite
database, enrols a staff phone (360x740), opens the goods gift form and hands its photo
input ``--photos`` camera JPEGs of ``--width`` x ``--height`` (sensor noise, EXIF with an
orientation and a GPS position, about 7 MB each), one at a time. Each is timed from the
hand-over until its thumbnail shows: decode with the EXIF orientation applied, resize to
1,600 px on the long side, JPEG encode through a canvas (which drops EXIF), SHA-256 and the
IndexedDB write, all in the page as on a phone (a desktop core is several times faster
than a mid-range phone's).

    .venv/bin/python scripts/bench_attachments.py --phone [--photos 20]

(The server's half, upload throughput on both databases, is added by the server branch.)
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--phone", action="store_true", help="the phone-side resize time (headless Chromium)")
    parser.add_argument("--photos", type=int, default=20)
    parser.add_argument("--width", type=int, default=4000)
    parser.add_argument("--height", type=int, default=3000)
    args = parser.parse_args()
    figures = bench_phone_resize(args.photos, (args.width, args.height))
    print(f"phone: {args.photos} photos of {args.width}x{args.height} (EXIF, ~7 MB) -> 1600 px JPEG, "
          f"per photo: mean {figures['mean'] * 1000:.0f} ms, median {figures['median'] * 1000:.0f} ms, "
          f"max {figures['max'] * 1000:.0f} ms (headless Chromium, resize + SHA-256 + IndexedDB)")


if __name__ == "__main__":
    main()
