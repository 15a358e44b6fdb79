"""Classification methods, looked up by name through a plain dict.

* ``tfidf``: jieba word + character 1-2-gram TF-IDF + class-balanced logistic regression (:mod:`.tfidf`);
* ``embedding``: embedder vectors + StandardScaler + logistic regression (:mod:`.embedding`);
* ``finetune``: a fine-tuned transformer encoder (:mod:`.finetune`).

An ensemble is a ``+``-joined list of these (``"tfidf+embedding"``), assembled by
:class:`govnlp.classify.TextClassifier`, which averages the members' calibrated probabilities.
"""

from __future__ import annotations

import importlib
from typing import Any

from govnlp.classify.methods.base import Method, take
from govnlp.errors import ConfigError

__all__ = ["ENSEMBLE_ALIASES", "METHODS", "Method", "method_class", "parse_method", "take"]

# name -> "module:Class" (imported on use, so torch is only imported by "finetune")
METHODS: dict[str, str] = {
    "tfidf": "govnlp.classify.methods.tfidf:TfidfMethod",
    "embedding": "govnlp.classify.methods.embedding:EmbeddingMethod",
    "finetune": "govnlp.classify.methods.finetune:FinetuneMethod",
}

ENSEMBLE_ALIASES: dict[str, tuple[str, ...]] = {"ensemble": ("tfidf", "embedding")}


def method_class(name: str) -> Any:
    """The class implementing method ``name``."""
    if name not in METHODS:
        raise ConfigError(
            f"unknown classification method {name!r}; choose one of {sorted(METHODS)}, "
            f"'ensemble' or a '+'-joined list such as 'tfidf+embedding'"
        )
    module, cls = METHODS[name].split(":")
    return getattr(importlib.import_module(module), cls)


def parse_method(method: str) -> tuple[str, ...]:
    """The member method names of ``method`` (one name, an alias, or ``a+b``)."""
    if not isinstance(method, str) or not method:
        raise ConfigError(f"method must be a non-empty str, got {method!r}")
    if method in ENSEMBLE_ALIASES:
        return ENSEMBLE_ALIASES[method]
    names = tuple(m.strip() for m in method.split("+"))
    for n in names:
        method_class(n)
    if len(set(names)) != len(names):
        raise ConfigError(f"method {method!r} names a member twice")
    return names
