"""A folder of article files (the seed corpus, or any drop folder).

A file may start with a metadata header between two `---` lines, `key: value` each:

    ---
    title: Kazakhstan orders to shoot protesters without warning
    outlet: POLITICO
    published: 2022-01-07
    url: https://example.org/story
    language: en
    ---
    <the article text, unchanged>

Known keys: title, outlet, published (ISO date or date-time, UTC unless it says),
url, language, author; anything else is kept out of the article (notes for people).
Files without a header are read whole: `.html`/`.htm` as HTML, anything else as
text whose first non-boilerplate line is the title.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from monitor.articles.clean import is_boilerplate
from monitor.errors import SourceError
from monitor.types import RawArticle

log = logging.getLogger(__name__)

ARTICLE_SUFFIXES = (".txt", ".text", ".md", ".html", ".htm")
_HEADER_LINE = re.compile(r"^([A-Za-z][\w-]*):[ \t]*(.*)$")


def read_folder(source: str, folder: Path) -> Iterator[RawArticle]:
    """Every article file in `folder`, sorted by name; unreadable files are logged and skipped."""
    if not folder.is_dir():
        raise SourceError(f"{source}: folder {folder} does not exist")
    for path in sorted(p for p in folder.iterdir() if p.suffix.lower() in ARTICLE_SUFFIXES):
        try:
            yield read_article_file(source, path)
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            log.warning("skipping unreadable article file %s: %s", path, exc, extra={"source": source})


def read_article_file(source: str, path: Path) -> RawArticle:
    text = path.read_text(encoding="utf-8-sig")
    meta, body = split_header(text)
    is_html = path.suffix.lower() in (".html", ".htm")
    title = meta.get("title") or ("" if is_html else _first_line(body))
    return RawArticle(
        source=source,
        guid=f"file:{path.name}",
        title=title,
        body=body,
        url=meta.get("url") or None,
        outlet=meta.get("outlet") or None,
        author=meta.get("author") or None,
        language=meta.get("language") or None,
        published=parse_date(meta["published"]) if meta.get("published") else None,
        is_html=is_html,
    )


def split_header(text: str) -> tuple[dict[str, str], str]:
    """(metadata, body). Without a header: ({}, text)."""
    lines = text.split("\n")
    if not lines or lines[0].strip() != "---":
        return {}, text
    meta: dict[str, str] = {}
    for number, line in enumerate(lines[1:], start=2):
        if line.strip() == "---":
            return meta, "\n".join(lines[number:])
        match = _HEADER_LINE.match(line)
        if not match:
            raise ValueError(f"line {number}: expected 'key: value' in the header, got {line!r}")
        meta[match.group(1).lower()] = match.group(2).strip()
    raise ValueError("the header opened with '---' is never closed")


def parse_date(value: str) -> datetime:
    moment = datetime.fromisoformat(value.strip())
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _first_line(body: str) -> str:
    for line in body.split("\n"):
        if line.strip() and not is_boilerplate(line):
            return line.strip()
    return ""
