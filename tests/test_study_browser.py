"""End to end in a real browser: Debian's Chromium, headless, driven by Playwright.

Setup: when /usr/bin/chromium or the ``playwright`` package is missing, the test
runs ``scripts/install-browser.sh`` (apt-get chromium, pip install playwright;
Playwright never downloads a browser of its own). It skips, saying why, only
when that still leaves Chromium or Playwright unavailable.

The test serves a study with uvicorn on a free loopback port in a thread, opens
the page, waits until both videos are really playing (``currentTime > 0``) and
checks that they started together (their clocks within a frame of each other),
answers every trial through the page's buttons, and reads the votes back from SQLite.
The layout test opens the page at a desktop and a phone viewport and checks
the clip boxes (element bounding boxes, with a screenshot of each kept in the test's
temporary folder): side by side on the desktop, each at least 45% of the window's
width; stacked on the phone, each the full width; never overlapping.
"""

from __future__ import annotations

import importlib
import os
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

pytest.importorskip("fastapi")
uvicorn = pytest.importorskip("uvicorn")

from sepgan.study.clips import create_study
from sepgan.study.server import create_app

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
COMPLETION_CODE = "C0DE-42-XYZ"
INSTALL_SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "install-browser.sh"
# Chromium on a closed network: no background connections, no first-run work, no GPU.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
]


def _playwright_available() -> bool:
    importlib.invalidate_caches()
    try:
        importlib.import_module("playwright.sync_api")
    except ImportError:
        return False
    return True


@pytest.fixture(scope="module")
def sync_playwright():  # type: ignore[no-untyped-def]
    if not (CHROMIUM.exists() and _playwright_available()) and INSTALL_SCRIPT.is_file():
        env = {**os.environ, "PYTHON": sys.executable}
        completed = subprocess.run(
            ["bash", str(INSTALL_SCRIPT)], env=env, capture_output=True, text=True, timeout=900, check=False
        )
        print(completed.stdout, completed.stderr)
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed and scripts/install-browser.sh could not install it")
    if not _playwright_available():
        pytest.skip("the playwright package is not installed and could not be installed")
    from playwright.sync_api import sync_playwright

    return sync_playwright


def _make_clip(path: Path, fps: int, seconds: float = 1.0, width: int = 64, height: int = 48) -> Path:
    rate = Fraction(fps)
    count = round(seconds * fps)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=rate)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"preset": "ultrafast"}
        for index in range(count):
            image = np.zeros((height, width, 3), np.uint8)
            x = (width - 12) * index // max(1, count - 1)
            image[height // 2 - 6 : height // 2 + 6, x : x + 12] = 255
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts, frame.time_base = index, 1 / rate
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def served_study(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    folder = tmp_path_factory.mktemp("browser")
    original = _make_clip(folder / "original.mp4", 30)
    candidate = _make_clip(folder / "candidate.mp4", 60)
    study = folder / "study"
    create_study(
        original,
        [candidate],
        study,
        names=["gan"],
        encoder_preset="ultrafast",
        completion_code=COMPLETION_CODE,
    )
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(study), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("uvicorn did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}/", study
    server.should_exit = True
    thread.join(timeout=10)


def test_vote_in_a_real_browser_lands_in_sqlite(sync_playwright, served_study, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    url, study = served_study
    console_errors: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS, timeout=60_000
        )
        try:
            context = browser.new_context()
            page = context.new_page()
            page.on(
                "console", lambda message: message.type == "error" and console_errors.append(message.text)
            )
            page.on("pageerror", lambda error: console_errors.append(str(error)))
            page.on("response", lambda r: r.status >= 400 and console_errors.append(f"{r.status} {r.url}"))
            page.goto(url)
            page.wait_for_selector("body[data-state=intro]", timeout=15_000)
            refresh_hz = page.evaluate("window.sepganRefreshHz")
            assert refresh_hz and 10 < refresh_hz < 1000
            assert page.is_disabled("#start")  # until the participant agrees
            page.check("#agree")
            page.click("#start")

            votes_cast, skews = 0, []
            while True:
                page.wait_for_selector("body[data-state=playing], body[data-state=done]", timeout=15_000)
                if page.get_attribute("body", "data-state") == "done":
                    break
                # Both clips really decode and play: time advances, frames have the clip's size.
                page.wait_for_function(
                    "[...document.querySelectorAll('video')].every("
                    "v => v.currentTime > 0 && !v.paused && v.videoWidth === 64 && v.videoHeight === 48)",
                    timeout=15_000,
                )
                # Started together: both clocks within one frame of the faster arm (60 fps) just after.
                skews.append(
                    page.evaluate(
                        "(() => { const [a, b] = document.querySelectorAll('video');"
                        " return Math.abs(a.currentTime - b.currentTime); })()"
                    )
                )
                page.wait_for_selector("body[data-state=answering]", timeout=15_000)
                page.click("#q-smoother button[data-value=left]")
                page.click("#submit")
                votes_cast += 1
                page.wait_for_function(
                    f"!document.querySelector('#progress').textContent.startsWith('Pair {votes_cast} ')"
                    " || document.body.dataset.state === 'done'",
                    timeout=15_000,
                )
            assert page.is_visible("#done")
            assert page.text_content("#completion-code") == COMPLETION_CODE
            participant = next(c["value"] for c in context.cookies() if c["name"] == "sepgan_participant")
            page.screenshot(path=str(tmp_path / "done.png"))
        finally:
            browser.close()

    assert votes_cast == 2  # one comparison + one attention check
    assert max(skews) < 1 / 60, skews
    with sqlite3.connect(study / "votes.sqlite3") as conn:
        conn.row_factory = sqlite3.Row
        rows = conn.execute("SELECT * FROM votes ORDER BY id").fetchall()
    assert len(rows) == 2
    for row in rows:
        assert row["participant_id"] == participant
        assert row["smoother"] == "left" and row["smoother_method"] == row["left_method"]
        assert row["refresh_hz"] == pytest.approx(refresh_hz)
        assert row["low_refresh"] == int(refresh_hz < 100 and row["playback_fps"] > refresh_hz * 1.05)
        assert row["watch_ms"] >= 900  # a 1 s clip was watched in full before the answer opened
    assert sorted(row["kind"] for row in rows) == ["attention", "comparison"]
    assert not console_errors, console_errors


def _boxes_overlap(a: dict[str, float], b: dict[str, float]) -> bool:
    return (
        a["x"] < b["x"] + b["width"]
        and b["x"] < a["x"] + a["width"]
        and a["y"] < b["y"] + b["height"]
        and b["y"] < a["y"] + a["height"]
    )


@pytest.mark.parametrize(
    ("device", "viewport"),
    [("desktop", {"width": 1280, "height": 800}), ("phone", {"width": 390, "height": 844})],
)
def test_layout_at_desktop_and_phone_sizes(  # type: ignore[no-untyped-def]
    sync_playwright, served_study, tmp_path: Path, device: str, viewport: dict[str, int]
) -> None:
    url, _ = served_study
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS, timeout=60_000
        )
        try:
            page = browser.new_context(viewport=viewport, device_scale_factor=1).new_page()
            page.goto(url)
            page.wait_for_selector("body[data-state=intro]", timeout=15_000)
            # The first page: the time it takes, the consent and privacy text, the desktop note.
            assert "minute" in page.text_content("#estimate")
            assert "user-agent" in page.text_content("#consent")
            assert "desktop or laptop" in page.text_content("#device-note")
            assert page.is_visible("#viewport-warning") == (device == "phone")
            if device == "phone":
                assert "390 pixels wide" in page.text_content("#viewport-warning")
            page.screenshot(path=str(tmp_path / f"{device}-intro.png"), full_page=True)
            page.check("#agree")
            page.click("#start")
            page.wait_for_function(
                "[...document.querySelectorAll('video')].every(v => v.currentTime > 0 && !v.paused)",
                timeout=15_000,
            )
            shot = tmp_path / f"{device}-trial.png"
            page.screenshot(path=str(shot), full_page=True)
            left = page.locator("#video-left").bounding_box()
            right = page.locator("#video-right").bounding_box()
            page_width = page.evaluate("document.documentElement.scrollWidth")
        finally:
            browser.close()

    assert left and right
    assert not _boxes_overlap(left, right), (left, right)
    assert page_width <= viewport["width"]  # nothing sticks out sideways
    for box in (left, right):
        assert box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"]
        assert box["height"] == pytest.approx(box["width"] * 48 / 64, abs=2)  # the clip's aspect kept
    if device == "desktop":  # side by side, each at least 45% of the window's width
        assert left["x"] + left["width"] <= right["x"] and abs(left["y"] - right["y"]) < 1
        assert min(left["width"], right["width"]) >= 0.45 * viewport["width"]
    else:  # stacked, each the width of the screen less the page margins
        assert left["y"] + left["height"] <= right["y"]
        assert min(left["width"], right["width"]) >= 0.9 * viewport["width"]
    with av.open(str(shot)) as screenshot:  # the screenshot is the page as laid out
        assert screenshot.streams.video[0].codec_context.width == viewport["width"]
