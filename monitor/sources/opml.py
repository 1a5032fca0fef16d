"""OPML subscription lists (what every feed reader exports) in, feeds out.

Each `<outline xmlUrl="...">` is a feed; the `text` (or `title`) of the outlines around it
become its tags, the way readers export folders. Only http(s) feed URLs are taken; the
others are reported, not dropped silently. The file's DOCTYPE and entity declarations are
cut before parsing, as for feeds, so nothing is fetched or expanded.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from pathlib import Path

from monitor.articles.urls import is_http_url
from monitor.errors import SourceError

_DOCTYPE = re.compile(rb"<!DOCTYPE[^>\[]*(\[.*?\]\s*)?>", re.S | re.I)
_ENTITY = re.compile(rb"""<!ENTITY\s[^"'>]*(?:"[^"]*"|'[^']*')?[^>]*>""", re.I)
# An OPML file bigger than this is not a subscription list (50,000 feeds are ~10 MB).
MAX_OPML_BYTES = 20 * 1024 * 1024


@dataclass(frozen=True)
class OpmlFeed:
    name: str
    url: str
    tags: tuple[str, ...] = ()
    language: str | None = None


def read_opml(path: Path) -> tuple[list[OpmlFeed], list[str]]:
    """The feeds of an OPML file, and one line per outline that was not taken (and why)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SourceError(f"{path}: cannot read: {exc.strerror}") from exc
    if len(data) > MAX_OPML_BYTES:
        raise SourceError(f"{path}: larger than {MAX_OPML_BYTES} bytes, not a subscription list")
    try:
        root = ElementTree.fromstring(_ENTITY.sub(b"", _DOCTYPE.sub(b"", data)))
    except ElementTree.ParseError as exc:
        raise SourceError(f"{path}: not valid OPML: {exc}") from exc
    body = root.find("body")
    if root.tag != "opml" or body is None:
        raise SourceError(f"{path}: not an OPML file (no <opml><body>)")
    feeds: list[OpmlFeed] = []
    refused: list[str] = []
    _walk(body, (), feeds, refused)
    return feeds, refused


def _walk(node, tags: tuple[str, ...], feeds: list[OpmlFeed], refused: list[str]) -> None:
    for outline in node.findall("outline"):
        label = (outline.get("title") or outline.get("text") or "").strip()
        url = (outline.get("xmlUrl") or outline.get("xmlurl") or "").strip()
        if not url:
            _walk(outline, tags + ((label,) if label else ()), feeds, refused)
            continue
        if not is_http_url(url):
            refused.append(f"{label or url}: only http(s) feed URLs are taken, not {url[:100]}")
            continue
        feeds.append(OpmlFeed(name=(label or url)[:200], url=url, tags=tags, language=outline.get("language") or None))
