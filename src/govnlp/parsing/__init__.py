"""Parsing government replies and proposals into structured documents.

``parse_reply(source)`` reads a reply (text or a .txt/.html/.docx/.pdf file) into a
:class:`govnlp.documents.ReplyDocument`; ``parse_proposal(text)`` reads a proposal, suggestion or citizen
message into a :class:`govnlp.documents.ProposalDocument` whose items are ready to use as search queries.
"""

from __future__ import annotations

from govnlp.parsing.proposal import parse_proposal
from govnlp.parsing.reader import SUPPORTED_SUFFIXES
from govnlp.parsing.reply import parse_reply

__all__ = ["SUPPORTED_SUFFIXES", "parse_proposal", "parse_reply"]
