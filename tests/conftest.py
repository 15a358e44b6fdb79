"""Shared fixtures. The default run is offline and self-contained: no hub, no ../shared needed."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

# Never reach a model hub from the tests.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

FIXTURES = Path(__file__).parent / "fixtures"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--corpora",
        default=os.environ.get(
            "GOVNLP_CORPORA", str(Path(__file__).parents[1] / ".." / "shared" / "corpora")
        ),
        help="folder of the real corpora (tests marked 'corpus')",
    )


@pytest.fixture(scope="session")
def corpora_dir(request: pytest.FixtureRequest) -> Path:
    path = Path(request.config.getoption("--corpora"))
    if not path.is_dir():
        pytest.skip(f"corpora folder {path} not found (pass --corpora DIR)")
    return path


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    return FIXTURES


@pytest.fixture(scope="module")
def data(fixtures_dir: Path) -> tuple[list[str], list[str]]:
    """The labelled classifier fixture messages: (texts, labels)."""
    rows = [
        json.loads(line)
        for line in (fixtures_dir / "classify_messages.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    return [r["text"] for r in rows], [r["label"] for r in rows]
