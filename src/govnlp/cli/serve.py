"""``govnlp serve``: the web page and JSON API (needs the ``web`` extra).

Examples::

    govnlp serve                                  # the demo index over the sample replies
    govnlp serve --pipeline replies.pipeline --port 8080
    govnlp serve --index replies.index --host 0.0.0.0   # reachable from the network: no login!
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from govnlp.errors import ConfigError

#: Hosts that only this machine can reach.
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def register(sub: Any) -> None:
    p = sub.add_parser(
        "serve",
        help="serve the search page and the JSON API (needs govnlp[web])",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    src = p.add_mutually_exclusive_group()
    src.add_argument("--index", metavar="DIR", help="a saved search index folder (tagged zero-shot)")
    src.add_argument("--pipeline", metavar="DIR", help="a saved pipeline folder (index + tagger)")
    p.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)"
    )
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument("--embedder", help="embedder spec for the demo index (default: the default model)")
    p.set_defaults(func=run)


def host_warning(host: str) -> str | None:
    """The warning printed when ``host`` is reachable from other machines (the server has no login)."""
    if host in LOCAL_HOSTS or host.startswith("127."):
        return None
    return (
        f"warning: serving on {host}: anyone who can reach this address can search the index and use "
        "the API — there is no login. Bind to 127.0.0.1 unless the network is trusted."
    )


def run(args: argparse.Namespace) -> int:
    if not 0 < args.port < 65536:
        raise ConfigError(f"--port must be from 1 to 65535, got {args.port}")
    from govnlp.serve import create_app

    warning = host_warning(args.host)
    if warning:
        print(warning, file=sys.stderr)
    path = args.index or args.pipeline
    if path:
        app = create_app(path)
    else:
        from govnlp.pipeline import demo_pipeline

        app = create_app(demo_pipeline(args.embedder, show_progress_bar=not args.quiet), source="demo")
    import uvicorn

    print(f"govnlp serve: http://{_url_host(args.host)}:{args.port}/  (API docs at /docs)", file=sys.stderr)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning" if args.quiet else "info")
    return 0


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
