"""A real browser on a live server: headless Chromium opens ``/?q=…`` and shows the API's top hit.

Needs the ``chromium`` Debian package (``apt-get install -y chromium``; .ci/run installs it where it is
missing); skipped, with that reason, where no Chromium is on PATH.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import socket
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi", reason="the web extra is not installed: pip install 'govnlp[web]'")
import uvicorn

from govnlp.pipeline import Pipeline, sample_paths
from govnlp.serve import create_app

CHROMIUM = next((p for p in map(shutil.which, ("chromium", "chromium-browser")) if p), None)
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="no chromium on PATH: apt-get install -y chromium to run the browser test"
)
QUERY = "老旧小区物业收费不透明"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def _live(app: Any) -> Iterator[str]:
    """``app`` served by uvicorn in a thread on a free port; yields the base URL."""
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with _live(create_app(Pipeline.build(sample_paths(), embedder="hash", show_progress_bar=False))) as url:
        yield url


def _chromium(args: list[str], profile: Path) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    cmd = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",  # root in CI containers
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        *args,
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)


def _check_top_hit(base_url: str, tmp_path: Path) -> None:
    query = urllib.parse.urlencode({"q": QUERY, "k": 5})
    with urllib.request.urlopen(f"{base_url}/api/search?{query}", timeout=30) as resp:
        api_hits = json.load(resp)["hits"]
    assert api_hits

    page = _chromium(["--dump-dom", f"{base_url}/?{query}"], tmp_path / "profile")
    assert page.returncode == 0, page.stderr[-2000:]
    dom = page.stdout
    shown = re.findall(r'<li class="hit" data-id="([^"]+)" data-rank="(\d+)"', dom)
    assert shown, dom[:2000]
    assert shown[0] == (api_hits[0]["id"], "1")
    assert [rid for rid, _ in shown] == [h["id"] for h in api_hits]
    top = re.search(r'<li class="hit" data-id="[^"]+" data-rank="1">(.*?)</li>', dom, re.S)
    assert top is not None and "<mark>" in top.group(1)
    assert api_hits[0]["title"] in top.group(1)

    shot = tmp_path / "serve.png"
    made = _chromium(
        [f"--screenshot={shot}", "--window-size=820,1100", f"{base_url}/?{query}"], tmp_path / "profile2"
    )
    assert made.returncode == 0, made.stderr[-2000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000


def test_chromium_shows_the_apis_top_hit(base_url: str, tmp_path: Path) -> None:
    _check_top_hit(base_url, tmp_path)


@pytest.mark.model
def test_chromium_shows_the_apis_top_hit_on_the_demo_index(tmp_path: Path) -> None:
    """The goal's setting: `govnlp serve` without an index (the demo pipeline, the real default model)."""
    from govnlp.pipeline import demo_pipeline

    with _live(create_app(demo_pipeline(show_progress_bar=False), source="demo")) as url:
        _check_top_hit(url, tmp_path)
