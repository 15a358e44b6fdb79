"""Benchmark the safety fixes of issue 9: pathological inputs and loads during saves, old code against new.

Usage:
    python benchmarks/bench_safety.py [--out benchmarks/results/bench_safety.json] [--timeout 60]
        [--baseline-src DIR]   # e.g. DIR/src from ``git archive <commit> src | tar -x -C DIR``

Each case runs in a fresh Python process (``src`` of this checkout, or of ``--baseline-src``) and reports its
CPU seconds, the error it raised, or that it ran past ``--timeout`` seconds of wall time. The cases are the
inputs the issue measured: long digit runs (``parse_reply("1" * 8000)``, ``"第" + "1" * 50000 + "号"``,
``"12345" * 200000``), many measure markers in one block (found by fuzzing), deeply nested HTML, a small
.docx holding 64 MiB of XML, and 150 loads of a SearchIndex while another process saves it in a loop.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_PRELUDE = textwrap.dedent(
    """
    import json, sys, time
    def report(fn):
        start = time.process_time()
        try:
            fn()
            print(json.dumps({"cpu_s": round(time.process_time() - start, 3), "error": None}))
        except Exception as exc:
            print(json.dumps({"cpu_s": round(time.process_time() - start, 3),
                              "error": f"{type(exc).__name__}: {str(exc)[:160]}"}))
    """
)

CASES: dict[str, str] = {
    "parse '1'*8000": "from govnlp.parsing import parse_reply\nreport(lambda: parse_reply('1' * 8000))",
    "parse '第'+'1'*50000+'号'": (
        "from govnlp.parsing import parse_reply\nreport(lambda: parse_reply('第' + '1' * 50000 + '号'))"
    ),
    "parse '12345'*200000": "from govnlp.parsing import parse_reply\nreport(lambda: parse_reply('12345' * 200000))",
    "parse '|（一）'*25000": "from govnlp.parsing import parse_reply\nreport(lambda: parse_reply('|（一）' * 25000))",
    "html_to_text 8k nested div": (
        "from govnlp.parsing.reader import html_to_text\n"
        "report(lambda: html_to_text('<div>' * 8000 + '文本' + '</div>' * 8000))"
    ),
    "html_to_text 100k nested div": (
        "from govnlp.parsing.reader import html_to_text\n"
        "report(lambda: html_to_text('<div>' * 100000 + '文本' + '</div>' * 100000))"
    ),
    "docx with 64 MiB of XML (500k paragraphs)": textwrap.dedent(
        """
        import tempfile, zipfile
        from pathlib import Path
        import docx
        from govnlp.parsing import parse_reply
        path = Path(tempfile.mkdtemp()) / "bomb.docx"
        d = docx.Document(); d.add_paragraph("答复"); d.save(str(path))
        with zipfile.ZipFile(path) as z:
            parts = {i.filename: z.read(i.filename) for i in z.infolist()}
        parts["word/document.xml"] = (b'<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/'
            b'wordprocessingml/2006/main"><w:body>' + (b"<w:p><w:r><w:t>" + b"a" * 100 + b"</w:t></w:r></w:p>") * ((64 << 20) // 130)
            + b"</w:body></w:document>")
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
            for n, b in parts.items():
                z.writestr(n, b)
        del parts
        report(lambda: parse_reply(path))
        """
    ),
    "150 loads during saves (failures)": textwrap.dedent(
        """
        import subprocess, tempfile, time
        from pathlib import Path
        from govnlp.search import SearchIndex
        folder = Path(tempfile.mkdtemp()) / "idx"
        saver = '''
        import sys
        from govnlp.search import SearchIndex
        topics = ["加装电梯", "停车难", "噪音扰民", "学位不足", "道路维修", "垃圾分类", "公交线路", "路灯", "物业"]
        vs = [SearchIndex.build([{"id": f"r{i}", "text": f"关于{t}问题的答复"} for i, t in enumerate(topics[:n])],
                                embedder="hash") for n in (4, 9)]
        i = 0
        while True:
            vs[i % 2].save(sys.argv[1]); i += 1; print(i, flush=True)
        '''
        import textwrap as tw
        proc = subprocess.Popen([sys.executable, "-c", tw.dedent(saver), str(folder)], stdout=subprocess.PIPE, text=True)
        proc.stdout.readline()
        failures = []
        start = time.process_time()
        for _ in range(150):
            try:
                assert len(SearchIndex.load(folder)) in (4, 9)
            except Exception as exc:
                failures.append(type(exc).__name__)
        proc.kill()
        print(json.dumps({"cpu_s": round(time.process_time() - start, 3), "error": None,
                          "failures": len(failures), "failure_types": sorted(set(failures))}))
        """
    ),
}


def run_case(code: str, src: Path, timeout: float) -> dict[str, object]:
    env = {"PYTHONPATH": str(src), "PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1"}
    start = time.perf_counter()
    try:
        out = subprocess.run(
            [sys.executable, "-c", _PRELUDE + code],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return {"cpu_s": None, "error": f"still running after {timeout:.0f} s (killed)"}
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith("{")]
    result: dict[str, object] = (
        json.loads(lines[-1]) if lines else {"cpu_s": None, "error": out.stderr.strip()[-300:]}
    )
    result["wall_s"] = round(time.perf_counter() - start, 2)
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "bench_safety.json"))
    ap.add_argument("--timeout", type=float, default=60.0)
    ap.add_argument("--baseline-src", help="src folder of the code to compare with")
    args = ap.parse_args()
    runs = {"current": ROOT / "src"}
    if args.baseline_src:
        runs["baseline"] = Path(args.baseline_src)
    results: dict[str, dict[str, object]] = {name: {} for name in CASES}
    for label, src in runs.items():
        for name, code in CASES.items():
            results[name][label] = run_case(code, src, args.timeout)
            print(f"{label:8s} {name:36s} {results[name][label]}", flush=True)
    payload = {
        "benchmark": "bench_safety",
        "python": platform.python_version(),
        "machine": platform.machine(),
        "timeout_s": args.timeout,
        "baseline_src": args.baseline_src,
        "note": "CPU seconds of each case in a fresh process; the machine was shared with other jobs",
        "cases": results,
    }
    Path(args.out).write_text(json.dumps(payload, ensure_ascii=False, indent=2, sort_keys=True) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
