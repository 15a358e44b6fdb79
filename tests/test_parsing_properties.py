"""Property tests: any text yields a document (never a crash), and mangled real-looking replies too."""

from __future__ import annotations

import random
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from govnlp import ParseError, parse_proposal, parse_reply
from govnlp.documents import ProposalDocument, ReplyDocument

FIXTURES = Path(__file__).parent / "fixtures"
_TEXTS = [p.read_text(encoding="utf-8") for p in sorted((FIXTURES / "replies").glob("*.txt"))]
_TEXTS.append((FIXTURES / "seed_reply.txt").read_text(encoding="utf-8"))
_SWAPS = [
    ("，", ","),
    ("：", ":"),
    ("（", "("),
    ("）", ")"),
    ("。", "."),
    ("〔", "["),
    ("、", " "),
    ("是", ""),
]

_settings = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _check(doc: ReplyDocument) -> None:
    assert ReplyDocument.from_dict(doc.to_dict()) == doc
    ids = {m.id for m in doc.measures}
    assert {mid for p in doc.paragraphs for mid in p.measures} <= ids
    for p in doc.paragraphs:
        assert p.text and p.text in doc.text


def _parse_or_empty(text: str) -> None:
    # as_text: arbitrary strings are texts here; a short str ending in a file suffix ('.PDF') would
    # otherwise be taken for a missing path (a ParseError by design, tested in test_safety_parsing.py)
    try:
        doc = parse_reply(text, as_text=True)
    except ParseError:
        assert not text.strip() or "\x00" in text
        return
    _check(doc)
    prop = None
    try:
        prop = parse_proposal(text)
    except ParseError:
        assert not text.strip()
    if prop is not None:
        assert ProposalDocument.from_dict(prop.to_dict()) == prop
        for item in prop.queries():
            assert item.text


@_settings
@given(st.text())
def test_arbitrary_unicode(text: str) -> None:
    _parse_or_empty(text)


@_settings
@given(
    st.text(
        alphabet="一二三四五六七八九十是、（）()：:，。1234567890.①②关于建议提案答复代表委员网友您好收悉感谢联系人电话年月日号〔〕[]局 \n|",
        max_size=300,
    )
)
def test_reply_alphabet_soup(text: str) -> None:
    _parse_or_empty(text)


@_settings
@given(
    st.sampled_from(range(len(_TEXTS))),
    st.integers(min_value=0, max_value=2**32 - 1),
    st.sampled_from(["cut", "shuffle", "duplicate", "swap", "all"]),
)
def test_mangled_replies(which: int, seed: int, how: str) -> None:
    rng = random.Random(seed)
    text = _TEXTS[which]
    if how in ("cut", "all"):
        a = rng.randrange(len(text))
        b = rng.randrange(a, len(text) + 1)
        text = text[a:b] or text[:1]
    if how in ("shuffle", "duplicate", "all"):
        lines = text.split("\n")
        if how == "duplicate":
            lines = lines + rng.sample(lines, k=min(len(lines), 3))
        rng.shuffle(lines)
        text = "\n".join(lines)
    if how in ("swap", "all"):
        for a, b in rng.sample(_SWAPS, k=4):
            text = text.replace(a, b)
    _parse_or_empty(text)
