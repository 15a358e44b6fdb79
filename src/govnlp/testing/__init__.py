"""Contract checks a backend must pass, importable so that a user's own backend can run them too.

Each module holds plain functions that raise ``AssertionError`` naming the broken rule (no pytest needed
to call them; the project's tests call them from pytest):

- :mod:`govnlp.testing.index`: :func:`~govnlp.testing.index.check_vector_index` for a
  :class:`~govnlp.index.VectorIndex` backend, against numpy brute force;
- :mod:`govnlp.testing.lexical`: :func:`~govnlp.testing.lexical.check_lexical_index` for a lexical
  index kind (BM25, TF-IDF, their mix, or your own);
- :mod:`govnlp.testing.classify`: the classifier-method contract.

Example:
    >>> from govnlp.testing.index import check_vector_index
    >>> check_vector_index(lambda dim: MyIndex(dim))
"""
