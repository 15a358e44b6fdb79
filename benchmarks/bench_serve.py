"""``govnlp serve`` latency on the demo index, measured over HTTP against a live server.

Starts ``govnlp serve`` (the demo pipeline over the sample replies, default model unless ``--embedder``)
as a subprocess on a free port, waits for ``/api/health``, then times, one request at a time from this
process: ``GET /api/search`` (``--requests`` requests after ``--warmup``, cycling through 25 written
queries, every third with filters), ``GET /`` with a query (the server-rendered page) and
``POST /api/match``. Reported: p50/p95/mean/max in milliseconds, wall time on the client (HTTP
included). Where Chromium is installed it also opens ``/?q=…`` headless and checks that the page's top
hit is the API's; ``--screenshot PATH`` saves that page as a PNG (the README image).

    python benchmarks/bench_serve.py [--requests 50] [--embedder hash] [--screenshot docs/serve.png]

The machine is shared: the load average before and after is recorded with the numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
GOAL_P50_MS = 300.0
QUERIES = [
    "老旧小区物业收费不透明",
    "小区停车难，乱停乱放",
    "加装电梯财政补贴",
    "公交线路覆盖新建小区",
    "校园周边食品安全监管",
    "学校课后服务收费",
    "基层医疗机构医生不足",
    "家庭医生签约服务",
    "夜间施工噪声扰民",
    "广场舞噪音",
    "灵活就业人员参加社保",
    "外卖骑手权益保障",
    "农村生活垃圾分类处理",
    "农村厕所改造",
    "物业维修资金使用难",
    "停车场向社会开放",
    "轻微违法首违不罚",
    "跨部门联合检查减少对企业干扰",
    "公交站点增设在医院周边",
    "市场监管抽检合格率",
    "建议延长课后托管时间",
    "城区道路交通拥堵治理",
    "社区卫生服务中心药品短缺",
    "建议加强对老旧小区物业服务企业的监管",
    "12345热线诉求办理",
]
FILTERS = [["year>=2023"], ["kind=提案答复|建议答复"], ["year>=2022", "year<=2024"]]
PROPOSAL = (
    "关于加强老旧小区物业管理的提案\n一、存在问题\n1.物业服务收费不透明，业主不清楚钱花在哪里。\n"
    "2.小区停车位严重不足，乱停乱放现象普遍。\n二、建议\n1.建议加强对物业服务企业的监管，推行收费公示。\n"
    "2.建议挖掘停车资源，推动机关单位停车场向社会开放。\n"
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str, timeout: float = 60) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return bytes(resp.read())


def _post_json(url: str, body: dict[str, Any]) -> bytes:
    req = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"content-type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(req, timeout=120) as resp:
        return bytes(resp.read())


def _stats(ms: list[float]) -> dict[str, Any]:
    ms = sorted(ms)
    return {
        "n": len(ms),
        "p50_ms": round(statistics.median(ms), 1),
        "p95_ms": round(ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))], 1),
        "mean_ms": round(statistics.fmean(ms), 1),
        "max_ms": round(ms[-1], 1),
    }


def _timed(fn: Any, n: int) -> list[float]:
    out = []
    for i in range(n):
        t0 = time.perf_counter()
        fn(i)
        out.append((time.perf_counter() - t0) * 1000)
    return out


def _search_url(base: str, i: int) -> str:
    params: list[tuple[str, Any]] = [("q", QUERIES[i % len(QUERIES)]), ("k", 5)]
    if i % 3 == 2:
        params += [("filter", f) for f in FILTERS[(i // 3) % len(FILTERS)]]
    return f"{base}/api/search?{urllib.parse.urlencode(params)}"


def _chromium_check(base: str, screenshot: Path | None) -> dict[str, Any]:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        return {"checked": False, "reason": "no chromium on PATH"}
    q = urllib.parse.urlencode({"q": QUERIES[0], "k": 5})
    api = json.loads(_get(f"{base}/api/search?{q}"))["hits"]
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--hide-scrollbars",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        dom = subprocess.run(
            [chromium, *flags, f"--user-data-dir={tmp}/a", "--dump-dom", f"{base}/?{q}"],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        ).stdout
        shown = re.findall(r'<li class="hit" data-id="([^"]+)"', dom)
        out: dict[str, Any] = {
            "checked": True,
            "query": QUERIES[0],
            "api_top_hit": api[0]["id"] if api else None,
            "page_top_hit": shown[0] if shown else None,
            "same_top_hit": bool(api and shown and api[0]["id"] == shown[0]),
            "same_ranking": [h["id"] for h in api] == shown,
        }
        if screenshot is not None:
            raw = Path(tmp) / "shot.png"
            subprocess.run(
                [
                    chromium,
                    *flags,
                    f"--user-data-dir={tmp}/b",
                    f"--screenshot={raw}",
                    "--window-size=760,980",
                    f"{base}/?{q}",
                ],
                capture_output=True,
                timeout=120,
                check=True,
            )
            out["screenshot_bytes"] = _save_small_png(raw, screenshot)
    return out


def _save_small_png(raw: Path, dest: Path) -> int:
    """Quantise the screenshot to a 64-colour palette (text and flat colours survive) to keep it small."""
    from PIL import Image

    dest.parent.mkdir(parents=True, exist_ok=True)
    with Image.open(raw) as img:
        img.convert("RGB").quantize(colors=64, method=Image.Quantize.MEDIANCUT).save(dest, optimize=True)
    return dest.stat().st_size


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--requests", type=int, default=50, help="timed /api/search requests (default 50)")
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument(
        "--embedder", default=None, help="embedder of the demo index (default: the default model)"
    )
    ap.add_argument("--screenshot", type=Path, default=None, help="save the page as a small PNG here")
    ap.add_argument("--out", type=Path, default=HERE / "results" / "bench_serve.json")
    args = ap.parse_args()

    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "-m", "govnlp", "-q", "serve", "--port", str(port)]
    if args.embedder:
        cmd += ["--embedder", args.embedder]
    load_before = os.getloadavg()
    t0 = time.perf_counter()
    server = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        health = None
        while time.perf_counter() - t0 < 900:
            if server.poll() is not None:
                raise SystemExit(f"govnlp serve exited: {server.stderr.read() if server.stderr else ''}")
            try:
                health = json.loads(_get(f"{base}/api/health", timeout=5))
                break
            except OSError:
                time.sleep(0.5)
        if health is None:
            raise SystemExit("govnlp serve did not answer /api/health within 900 s")
        startup_s = time.perf_counter() - t0
        _timed(lambda i: _get(_search_url(base, i)), args.warmup)
        search = _timed(lambda i: _get(_search_url(base, i)), args.requests)
        page = _timed(
            lambda i: _get(f"{base}/?{urllib.parse.urlencode({'q': QUERIES[i % len(QUERIES)]})}"), 20
        )
        match = _timed(lambda i: _post_json(f"{base}/api/match", {"text": PROPOSAL, "k": 5}), 20)
        match_items = len(json.loads(_post_json(f"{base}/api/match", {"text": PROPOSAL, "k": 5}))["items"])
        browser = _chromium_check(base, args.screenshot)
    finally:
        server.terminate()
        server.wait(timeout=30)
    import torch

    result = {
        "benchmark": "bench_serve",
        "date": time.strftime("%Y-%m-%d"),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "torch": torch.__version__,
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
        },
        "server": {
            "command": "govnlp serve (demo pipeline)"
            + (f" --embedder {args.embedder}" if args.embedder else ""),
            "startup_s": round(startup_s, 1),
            "embedder": health["embedder"]["name"],
            "records": health["index"]["records"],
            "documents": health["index"]["documents"],
        },
        "api_search": {**_stats(search), "warmup": args.warmup, "queries": len(QUERIES), "k": 5},
        "page_search": _stats(page),
        "api_match": {**_stats(match), "items_per_proposal": match_items, "k": 5},
        "goal_p50_ms": GOAL_P50_MS,
        "goal_met": statistics.median(search) < GOAL_P50_MS,
        "chromium": browser,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(result, ensure_ascii=False, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    print(json.dumps(result, ensure_ascii=False, indent=2, sort_keys=True))


if __name__ == "__main__":
    main()
