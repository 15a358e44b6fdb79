"""Read a reply from text or a file (.txt, .html/.htm, .docx, .pdf) into plain text."""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Callable
from pathlib import Path

from govnlp.errors import ParseError
from govnlp.parsing.vocabulary import SUPPORTED_SUFFIXES

__all__ = [
    "SUPPORTED_SUFFIXES",
    "decode_bytes",
    "html_to_text",
    "looks_like_path",
    "read_file",
    "read_source",
]

logger = logging.getLogger(__name__)

_BLOCK_TAGS = (
    "p",
    "div",
    "br",
    "tr",
    "li",
    "ul",
    "ol",
    "table",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "section",
    "article",
    "header",
    "footer",
    "blockquote",
    "pre",
    "dd",
    "dt",
    "dl",
    "hr",
    "form",
    "center",
)
_DROP_TAGS = (
    "script",
    "style",
    "noscript",
    "template",
    "iframe",
    "svg",
    "head",
    "object",
    "select",
    "button",
)


def _hanzi(text: str, limit: int = 20_000) -> list[str]:
    out = []
    for ch in text:
        if "\u4e00" <= ch <= "\u9fff":
            out.append(ch)
            if len(out) >= limit:
                break
    return out


def _share(chars: list[str], ok: Callable[[str], bool]) -> float:
    return sum(1 for ch in chars if ok(ch)) / len(chars) if chars else 1.0


def _in_gb2312(ch: str) -> bool:
    try:
        ch.encode("gb2312")
    except UnicodeEncodeError:
        return False
    return True


def _frequent_big5(ch: str) -> bool:
    """A character of Big5's frequent level (lead bytes A4-C6), where real Big5 text lives."""
    try:
        lead = ch.encode("cp950")[0]
    except UnicodeEncodeError:
        return False
    return 0xA4 <= lead <= 0xC6


#: a decoding is trusted when this share of its Chinese characters is common in it
_PLAUSIBLE = 0.9
_MIN_HANZI = 20


def decode_bytes(data: bytes, name: str) -> str:
    """Decode the bytes of a text file: UTF-8 (BOM or not), UTF-16 with a BOM, GB18030/GBK or Big5.

    GB18030 decodes nearly any byte string, Big5 included, into plausible-looking characters, so a
    GB18030 decoding is kept only if nearly all its Chinese characters are in GB2312 (true of Simplified
    Chinese text); otherwise a Big5 decoding whose characters are nearly all of Big5's frequent level
    wins, with a warning. A decoding that fits neither is kept with a warning that it may be garbled.

    Raises:
        ParseError: binary data (NUL bytes), or bytes that are none of those encodings.
    """
    if b"\x00" in data[:4096] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ParseError(
            f"{name} looks binary (NUL bytes), expected text. Pass a .txt/.html/.docx/.pdf file or a str."
        )
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        with contextlib.suppress(UnicodeDecodeError):
            return data.decode("utf-16")
    with contextlib.suppress(UnicodeDecodeError):
        return data.decode("utf-8-sig")
    decoded: dict[str, str] = {}
    for enc in ("gb18030", "cp950", "big5hkscs"):
        with contextlib.suppress(UnicodeDecodeError):
            decoded[enc] = data.decode(enc)
    gb = decoded.get("gb18030")
    if gb is not None:
        chars = _hanzi(gb)
        if len(chars) < _MIN_HANZI or _share(chars, _in_gb2312) >= _PLAUSIBLE:
            logger.debug("%s is not UTF-8; decoded as GB18030", name)
            return gb
    for enc in ("cp950", "big5hkscs"):
        big5 = decoded.get(enc)
        if big5 is not None and _share(_hanzi(big5), _frequent_big5) >= _PLAUSIBLE:
            logger.warning("%s is not UTF-8 or GB18030 text; decoded it as Big5 (%s)", name, enc)
            return big5
    if gb is not None:
        logger.warning(
            "%s is not UTF-8; decoded it as GB18030, but its characters are unusual: it may be garbled "
            "(another encoding?). Convert it to UTF-8 to be sure.",
            name,
        )
        return gb
    raise ParseError(f"{name} is not UTF-8, GB18030 or Big5 text. Convert it to UTF-8 and try again.")


_decode = decode_bytes


def html_to_text(html: str) -> str:
    """Visible text of an HTML page, one line per block element (BeautifulSoup with lxml).

    The tree is walked once with an explicit stack, so the time is linear in the page and any nesting
    depth is fine (inserting newline strings into the tree, as before, took time proportional to the
    depth for every tag: 8,000 nested ``<div>`` took seconds).

    Example:
        >>> html_to_text("<p>王某代表：</p><p>您提出的建议收悉。</p>")
        '王某代表：\\n您提出的建议收悉。'
    """
    from bs4 import BeautifulSoup, CData, NavigableString, Tag

    try:
        soup = BeautifulSoup(html, "lxml")
    except Exception:
        soup = BeautifulSoup(html, "html.parser")
    drop, block = set(_DROP_TAGS), set(_BLOCK_TAGS)
    parts: list[str] = []
    # (node, text to emit when it closes): a node is expanded once, its children pushed in reverse
    stack: list[tuple[object, str | None]] = [(soup, None)]
    while stack:
        node, closing = stack.pop()
        if closing is not None:
            parts.append(closing)
        elif isinstance(node, Tag):
            if node.name in drop:
                continue
            if node.name in block:
                parts.append("\n")
                stack.append((None, "\n"))
            elif node.name in ("td", "th"):
                stack.append((None, " "))
            stack.extend((child, None) for child in reversed(node.contents))
        elif type(node) in (NavigableString, CData):  # not comments, doctypes, script or style text
            parts.append(str(node))
    text = "".join(parts)
    lines = [_BLANKS_RE.sub(" ", ln).strip() for ln in text.split("\n")]
    return "\n".join(ln for ln in lines if ln)


_BLANKS_RE = re.compile(r"[ \t\u00a0\u3000]+")


#: The most a .docx may expand to: its XML parts (the text of a reply is a few hundred KB of XML) and all
#: its parts together (images included). A larger file is refused before anything is decompressed: a
#: 1.5 MB .docx holding 1 GB of XML took 99 s and 5.6 GB of memory.
MAX_DOCX_XML_BYTES = 32 * 1024 * 1024
MAX_DOCX_BYTES = 256 * 1024 * 1024
#: The most pages and extracted characters govnlp reads from a PDF (a reply has a few pages).
MAX_PDF_PAGES = 2000
MAX_PDF_CHARS = 20_000_000


def _check_docx_size(path: Path) -> None:
    """Refuse a .docx whose parts expand beyond the limits (sizes from the zip directory; zipfile stops
    reading a member at its declared size, so a member cannot expand further than declared)."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ParseError(f"{path} is not a readable .docx file ({exc}). Save it again as .docx.") from exc
    xml = sum(i.file_size for i in infos if i.filename.lower().endswith((".xml", ".rels")))
    total = sum(i.file_size for i in infos)
    if xml > MAX_DOCX_XML_BYTES or total > MAX_DOCX_BYTES:
        raise ParseError(
            f"{path} expands to {xml / 2**20:.0f} MiB of XML and {total / 2**20:.0f} MiB in all; govnlp reads "
            f".docx files up to {MAX_DOCX_XML_BYTES // 2**20} MiB of XML and {MAX_DOCX_BYTES // 2**20} MiB in "
            "all (govnlp.parsing.reader.MAX_DOCX_XML_BYTES / MAX_DOCX_BYTES). A reply is far smaller: this "
            "is a damaged file or a zip bomb; pass the reply's text instead."
        )


def _docx_text(path: Path) -> str:
    import docx

    _check_docx_size(path)
    try:
        document = docx.Document(str(path))
    except Exception as exc:
        raise ParseError(
            f"{path} is not a readable .docx file ({exc}). Save it again as .docx or pass the text."
        ) from exc
    parts: list[str] = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            parts.append(" ".join(cell.text.strip() for cell in row.cells))
    return "\n".join(parts)


_PDF_LINE_END = re.compile(r"[。！？：；!?:;）)]$")
_PDF_LINE_START = re.compile(
    r"^(?:[一二三四五六七八九十]{1,3}[、是]|（[一二三四五六七八九十\d]{1,3}）|\d{1,2}[.、]|[①-⑳]|联系|感谢|附件|抄送)"
)


def _reflow(text: str) -> str:
    """Join lines a PDF wrapped at the right margin (a line about as long as the longest) in mid-sentence."""
    lines = [ln.strip() for ln in text.split("\n") if ln.strip()]
    if not lines:
        return ""
    widths = sorted(len(ln) for ln in lines)
    width = widths[max(0, int(len(widths) * 0.9) - 1)]
    out: list[str] = []
    last_len = 0
    for line in lines:
        wrapped = last_len >= max(15, 0.8 * width)
        last_len = len(line)
        if out and wrapped and not _PDF_LINE_END.search(out[-1]) and not _PDF_LINE_START.match(line):
            out[-1] += line
        else:
            out.append(line)
    return "\n".join(out)


def _pdf_text(path: Path) -> str:
    from pypdf import PdfReader

    pages: list[str] = []
    size = 0
    try:
        reader = PdfReader(str(path))  # pypdf caps each decompressed stream at 75 MB
        if len(reader.pages) > MAX_PDF_PAGES:
            raise ParseError(
                f"{path} has {len(reader.pages)} pages; govnlp reads PDFs of up to {MAX_PDF_PAGES} pages "
                "(govnlp.parsing.reader.MAX_PDF_PAGES). Pass the reply's text instead."
            )
        for page in reader.pages:
            pages.append(page.extract_text() or "")
            size += len(pages[-1])
            if size > MAX_PDF_CHARS:
                raise ParseError(
                    f"{path} holds more than {MAX_PDF_CHARS:,} characters of text, the most govnlp reads "
                    "from a PDF (govnlp.parsing.reader.MAX_PDF_CHARS); a reply is far shorter. Pass its "
                    "text instead."
                )
    except ParseError:
        raise
    except Exception as exc:
        raise ParseError(f"{path} is not a readable PDF ({exc}). Pass the reply's text instead.") from exc
    return _reflow("\n".join(pages))


def read_file(path: Path) -> str:
    """The text of a .txt, .html/.htm, .docx or .pdf file.

    Raises:
        ParseError: missing file, unsupported suffix, or a file that is not what its suffix says.
    """
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise ParseError(
            f"cannot read {path.name!r}: unsupported file type {suffix or '(none)'!r}; "
            f"supported: {', '.join(SUPPORTED_SUFFIXES)}. Convert the file or pass its text as a str."
        )
    if not path.is_file():
        raise ParseError(f"file not found: {path}. Check the path, or pass the reply's text as a str.")
    if suffix == ".docx":
        return _docx_text(path)
    if suffix == ".pdf":
        return _pdf_text(path)
    text = decode_bytes(path.read_bytes(), str(path))
    if suffix in (".html", ".htm"):
        return html_to_text(text)
    return text


_SURROGATE_RE = re.compile("[\ud800-\udfff]")


def _has_surrogates(text: str) -> bool:
    """Whether ``text`` holds lone surrogates: strict UTF-8 encoding fails on them and on nothing else
    (about twice as fast as searching for them with ``_SURROGATE_RE``)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def looks_like_path(text: str) -> bool:
    """Whether a str is more likely a file path than a reply: one short line ending in a supported suffix."""
    return "\n" not in text and len(text) < 1024 and text.strip().lower().endswith(SUPPORTED_SUFFIXES)


def read_source(source: object, *, as_text: bool = False) -> tuple[str, str | None]:
    """Text and source name of ``source``: a ``str`` (text, or the path of a supported file) or a Path.

    A ``str`` that looks like a path (one short line ending in ``.txt``, ``.html``, ``.htm``, ``.docx``
    or ``.pdf``) is read as that file, and is an error if no such file exists, unless ``as_text`` says
    it is the text itself. Lone surrogates (from text decoded with ``surrogateescape`` or cut UTF-16) are
    replaced with U+FFFD, with a warning: they cannot be written as UTF-8.

    Raises:
        ParseError: empty/whitespace-only text, binary text, an unsupported type, a missing or
            unsupported file.
    """
    if isinstance(source, Path):
        return read_file(source), str(source)
    if isinstance(source, (bytes, bytearray)):
        raise ParseError(
            "expected text (str) or a file path, found bytes. Decode it first: parse_reply(data.decode('utf-8'))."
        )
    if not isinstance(source, str):
        raise ParseError(
            f"expected text (str) or a file path (pathlib.Path), found {type(source).__name__}. "
            "Pass the reply's text or the path of a .txt/.html/.docx/.pdf file."
        )
    if not as_text and looks_like_path(source):
        path = Path(source.strip())
        try:
            exists = path.is_file()
        except (OSError, ValueError):
            exists = False
        if exists:
            return read_file(path), source
        raise ParseError(
            f"file not found: {source!r}. This str looks like a file path; check the path, or pass "
            "as_text=True to parse it as the text of a reply."
        )
    if "\x00" in source:
        raise ParseError("the text contains NUL characters: binary data, not a reply. Pass the decoded text.")
    if _has_surrogates(source):
        logger.warning("the text contains lone surrogates (not valid Unicode); replaced them with U+FFFD")
        source = _SURROGATE_RE.sub("\ufffd", source)
    if source.lstrip()[:200].lower().startswith(("<!doctype html", "<html")):
        return html_to_text(source), None
    return source, None
