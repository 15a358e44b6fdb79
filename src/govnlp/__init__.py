"""govnlp: parse, search and classify the written replies of Chinese government agencies.

The public names are imported lazily, so ``import govnlp`` stays fast and torch is loaded only when an
embedder is used.
"""

from __future__ import annotations

import importlib
import logging
from typing import TYPE_CHECKING, Any

from govnlp._version import __version__

logging.getLogger(__name__).addHandler(logging.NullHandler())

# public name -> module that defines it
_EXPORTS: dict[str, str] = {
    "GovnlpError": "govnlp.errors",
    "ParseError": "govnlp.errors",
    "ReplyDocument": "govnlp.documents",
    "ProposalDocument": "govnlp.documents",
    "parse_reply": "govnlp.parsing",
    "parse_proposal": "govnlp.parsing",
    "load_embedder": "govnlp.embedders",
    "Pipeline": "govnlp.pipeline",
    "MatchResult": "govnlp.pipeline",
    "Embedder": "govnlp.embedders",
    "SearchIndex": "govnlp.search",
    "Hit": "govnlp.search",
    "Taxonomy": "govnlp.classify",
    "TextClassifier": "govnlp.classify",
    "evaluate_classifier": "govnlp.classify",
    "AgencyRouter": "govnlp.routing",
    "AgencyScore": "govnlp.routing",
    "Routing": "govnlp.routing",
    "canonical_agency": "govnlp.routing",
}

__all__ = ["__version__", *sorted(_EXPORTS)]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'govnlp' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


if TYPE_CHECKING:  # pragma: no cover
    from govnlp.classify import Taxonomy as Taxonomy
    from govnlp.classify import TextClassifier as TextClassifier
    from govnlp.classify import evaluate_classifier as evaluate_classifier
    from govnlp.documents import ProposalDocument as ProposalDocument
    from govnlp.documents import ReplyDocument as ReplyDocument
    from govnlp.embedders import Embedder as Embedder
    from govnlp.embedders import load_embedder as load_embedder
    from govnlp.errors import GovnlpError as GovnlpError
    from govnlp.errors import ParseError as ParseError
    from govnlp.parsing import parse_proposal as parse_proposal
    from govnlp.parsing import parse_reply as parse_reply
    from govnlp.pipeline import MatchResult as MatchResult
    from govnlp.pipeline import Pipeline as Pipeline
    from govnlp.routing import AgencyRouter as AgencyRouter
    from govnlp.routing import AgencyScore as AgencyScore
    from govnlp.routing import Routing as Routing
    from govnlp.routing import canonical_agency as canonical_agency
    from govnlp.search import Hit as Hit
    from govnlp.search import SearchIndex as SearchIndex
