"""JSON Lines archives for backtesting: one article per line.

    {"id": "a1", "title": "...", "text": "...", "url": "...", "source": "...",
     "published": "2022-01-07T10:00:00Z", "lang": "en"}

`id`, `title` and `text` are required; `url`, `source`, `published` (ISO 8601, UTC unless
it says) and `lang` are optional; unknown fields are ignored. A line that is not such an
object is reported with its number and skipped; the others are read.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

from monitor.sources.folder import parse_date
from monitor.types import RawArticle

DEFAULT_SOURCE = "jsonl"


@dataclass(frozen=True)
class JsonlArticle:
    number: int  # line number
    id: str | int  # as written in the file
    raw: RawArticle


@dataclass(frozen=True)
class BadLine:
    number: int
    reason: str


def read_jsonl(lines: Iterator[str]) -> Iterator[JsonlArticle | BadLine]:
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            raw = _article(data)
            yield JsonlArticle(number, data["id"], raw)
        except (ValueError, TypeError) as exc:  # json.JSONDecodeError is a ValueError
            yield BadLine(number, str(exc))


def _article(data) -> RawArticle:
    if not isinstance(data, dict):
        raise ValueError("a line must hold one JSON object")
    for key in ("id", "title", "text"):
        if key not in data or data[key] is None:
            raise ValueError(f"missing {key!r}")
    for key in ("title", "text", "url", "source", "published", "lang"):
        if data.get(key) is not None and not isinstance(data[key], str):
            raise ValueError(f"{key!r} must be a string")
    if not isinstance(data["id"], str | int) or isinstance(data["id"], bool):
        raise ValueError("'id' must be a string or a number")
    published = parse_date(data["published"]) if data.get("published") else None
    return RawArticle(
        source=data.get("source") or DEFAULT_SOURCE,
        guid=str(data["id"]),
        title=data["title"],
        body=data["text"],
        url=data.get("url"),
        outlet=data.get("source"),
        language=data.get("lang"),
        published=published,
    )
