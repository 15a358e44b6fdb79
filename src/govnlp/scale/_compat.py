"""Where the record and filter helpers live: ``govnlp.search`` (the search package), formerly ``govnlp.index``."""

from __future__ import annotations

try:
    from govnlp.search.filters import RANGE_OPS, compile_filters
    from govnlp.search.records import DOCUMENT_FIELDS, build_records, document_records
except ImportError:  # pragma: no cover - the layout before the search package
    from govnlp.index.filters import RANGE_OPS, compile_filters  # type: ignore[no-redef]
    from govnlp.index.records import (  # type: ignore[no-redef]
        DOCUMENT_FIELDS,
        build_records,
        document_records,
    )

__all__ = ["DOCUMENT_FIELDS", "RANGE_OPS", "build_records", "compile_filters", "document_records"]
