"""``govnlp serve``: a web page and a JSON API over a pipeline, for people who do not write Python.

The page searches past replies with filters, matches a new proposal's problems to past measures and
shows the suggested categories; the API (``/api/search``, ``/api/match``, ``/api/tag``,
``/api/health``) returns the same as JSON, documented at ``/docs``. Needs the ``web`` extra:
``pip install 'govnlp[web]'``.

Example:
    >>> from govnlp.serve import create_app
    >>> app = create_app(Pipeline.load("replies.pipeline"))       # doctest: +SKIP
    >>> # uvicorn.run(app, host="127.0.0.1", port=8000)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from govnlp.errors import missing_extra

__all__ = ["Service", "create_app"]

if TYPE_CHECKING:  # pragma: no cover
    from fastapi import FastAPI

    from govnlp.serve.service import Service as Service


def create_app(pipeline_or_index: Any, **options: Any) -> FastAPI:
    """The web app (see :func:`govnlp.serve.app.create_app`); raises MissingExtraError without ``web``."""
    for package in ("fastapi", "fastapi_offline", "jinja2", "python_multipart"):
        try:
            __import__(package)
        except ImportError:
            raise missing_extra(package, "web", "govnlp serve") from None
    from govnlp.serve.app import create_app as _create_app

    return _create_app(pipeline_or_index, **options)


def __getattr__(name: str) -> Any:
    if name == "Service":
        from govnlp.serve.service import Service

        return Service
    raise AttributeError(f"module 'govnlp.serve' has no attribute {name!r}")
