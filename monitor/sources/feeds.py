"""RSS and Atom: fetched bytes in, RawArticle values out (feedparser never touches the network)."""

from __future__ import annotations

import calendar
import hashlib
import logging
import re
from datetime import UTC, datetime

import feedparser

from monitor.articles.urls import is_http_url
from monitor.errors import SourceError
from monitor.types import RawArticle

log = logging.getLogger(__name__)

# An internal DTD subset can expand one entity thousands of times (quadratic blow-up);
# feeds never need one, so it is cut before parsing.
_DOCTYPE_SUBSET = re.compile(rb"<!DOCTYPE[^>\[]*\[.*?\]\s*>", re.S | re.I)


def parse_feed(
    source: str, body: bytes, url: str, language: str | None = None, content_type: str | None = None
) -> list[RawArticle]:
    if not body.strip():
        raise SourceError(f"{source}: empty response body")
    headers = {"content-location": url, "content-type": content_type or "application/xml"}
    parsed = feedparser.parse(_DOCTYPE_SUBSET.sub(b"", body), response_headers=headers)
    if parsed.bozo and not parsed.entries:
        raise SourceError(f"{source}: not a feed: {parsed.get('bozo_exception')}")
    if parsed.bozo:
        log.warning("feed has errors, using the entries it has: %s", parsed.get("bozo_exception"), extra={"source": source})
    feed_language = language or parsed.feed.get("language")
    articles = []
    for entry in parsed.entries:
        try:
            articles.append(_entry(source, entry, feed_language, parsed.feed.get("title")))
        except (KeyError, ValueError, TypeError) as exc:
            log.warning("skipping a malformed entry: %s", exc, extra={"source": source})
    return articles


def _entry(source: str, entry, language: str | None, feed_title: str | None) -> RawArticle:
    link = entry.get("link")
    link = link if is_http_url(link) else None
    content = entry.get("content") or []
    body = max((c.get("value", "") for c in content), key=len, default="") or entry.get("summary", "")
    title = (entry.get("title") or "").replace("\x00", "")
    guid = entry.get("id") or link or hashlib.sha256(f"{title}\n{body}".encode()).hexdigest()
    stamp = entry.get("published_parsed") or entry.get("updated_parsed")
    published = datetime.fromtimestamp(calendar.timegm(stamp), UTC) if stamp else None
    return RawArticle(
        source=source,
        guid=str(guid),
        title=title,
        body=body.replace("\x00", ""),
        url=link,
        outlet=feed_title,
        author=entry.get("author"),
        language=entry.get("language") or language,
        published=published,
        is_html=True,
    )
