"""The headline a story is shown under. Pure, no I/O.

A story is stored under the title of its first article, but the first report of an event
is often not the one to head it: a French wire story first, then five English reports, is
a story an English-reading analyst wants headed in English; a story first seen through a
syndicated copy should carry the original's title."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from monitor.stories.profiles import language_of


def lead_article(articles: Sequence):
    """None for no article; else the earliest original (not a copy) written in the language
    most of the story's originals are in; on a tie, the language of the earliest. Articles
    are stored records: title, text, language, duplicate_of, published_at, first_seen_at, id."""
    originals = sorted([a for a in articles if a.duplicate_of is None] or articles, key=_published)
    if not originals:
        return None
    languages = [language_of(a.title, a.text, a.language) for a in originals]
    common = Counter(languages).most_common(1)[0][0]  # ties: the first counted
    return next(a for a, language in zip(originals, languages) if language == common)


def _published(article) -> tuple:
    return article.published_at or article.first_seen_at, article.id
