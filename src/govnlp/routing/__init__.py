"""Routing: recommend the lead agency (主办) and co-agencies (会办/协办) of a new proposal.

:class:`AgencyRouter` learns from past assignments (or from parsed replies with
:meth:`AgencyRouter.from_replies`); :func:`canonical_agency` gives one spelling per agency.
"""

from __future__ import annotations

from govnlp.routing.names import add_renames, canonical_agency, function_words, renames
from govnlp.routing.router import AgencyRouter, AgencyScore, Routing

__all__ = [
    "AgencyRouter",
    "AgencyScore",
    "Routing",
    "add_renames",
    "canonical_agency",
    "function_words",
    "renames",
]
