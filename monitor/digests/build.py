"""What goes in a recipient's digest. Pure: takes stored records, returns a Digest value.

A story goes in when one of its articles matched a rule the recipient follows (with at
least the recipient's minimum score) and it was never sent to them, or it has grown
since it was last sent (then it is an update: "2 new sources since 24 Nov").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlsplit

from monitor.articles.urls import is_http_url
from monitor.stories.headline import lead_article

SNIPPET_CHARS = 320


@dataclass(frozen=True)
class SourceLine:
    outlet: str
    title: str
    url: str | None
    published: datetime | None


@dataclass(frozen=True)
class StoryItem:
    story_id: int
    headline: str
    url: str | None
    snippet: str
    matched: str  # one line: why the rules fired
    terms: tuple[str, ...]  # words to highlight in the snippet
    sources: tuple[SourceLine, ...]
    first_seen: datetime
    last_updated: datetime
    event_at: datetime
    article_count: int
    new_sources: int  # > 0: sent before, this many sources joined since
    rules: tuple[str, ...]
    sent_before: datetime | None = None  # when the recipient last got this story


@dataclass(frozen=True)
class SentBefore:
    """What a recipient was last sent of a story: its size then, and when."""

    article_count: int
    at: datetime


@dataclass(frozen=True)
class Section:
    rule_id: str
    title: str
    stories: tuple[StoryItem, ...]
    more: tuple[StoryItem, ...] = ()  # beyond the recipient's max_stories
    also: tuple[tuple[StoryItem, str], ...] = ()  # (story, title of the earlier section that shows it)

    @property
    def count(self) -> int:
        return len(self.stories) + len(self.more) + len(self.also)


@dataclass(frozen=True)
class DigestContent:
    recipient: str
    address: str
    timezone: str
    period_key: str
    generated_at: datetime
    sections: tuple[Section, ...]
    rules_in_force: tuple[tuple[str, str], ...]  # (id, title)
    failing_sources: tuple[tuple[str, datetime, str], ...] = ()  # (name, since, error)
    rules_path: str = "rules/"
    story_ids: tuple[int, ...] = field(default=())
    kind: str = "digest"  # "digest" (scheduled) or "alert" (one story, sent at once)
    schedule: str = ""  # how often, in words: "daily at 08:00", shown in the footer

    @property
    def story_count(self) -> int:
        return len(self.story_ids)

    @property
    def is_empty(self) -> bool:
        return not self.story_ids


def outlet_of(article, source_names: dict[int, str]) -> str:
    if article.outlet:
        return article.outlet
    if is_http_url(article.url):
        return urlsplit(article.url).hostname.removeprefix("www.")
    return source_names.get(article.source_id, "unknown")


def best_source(articles, matches):
    """The article that heads the story (stories/headline.py) and the address the headline
    links to: its own when it has one, else that of the linkable article the rules scored
    highest."""
    score = {}
    for match in matches:
        score[match.article_id] = score.get(match.article_id, 0.0) + match.score
    lead = lead_article(articles)
    linkable = [a for a in articles if is_http_url(a.url)]
    if is_http_url(lead.url) or not linkable:
        return lead, lead.url if is_http_url(lead.url) else None
    return lead, max(linkable, key=lambda a: (score.get(a.id, 0), -a.id)).url


def story_item(story, articles, matches, source_names, sent: SentBefore | None) -> StoryItem:
    lead, url = best_source(articles, matches)
    best = {}
    for match in matches:
        if match.rule_id not in best or match.score > best[match.rule_id].score:
            best[match.rule_id] = match
    terms = sorted({hit["found"] for m in matches for hit in m.evidence}, key=len, reverse=True)
    return StoryItem(
        story_id=story.id,
        headline=lead.title,
        url=url,
        snippet=_snippet(lead.lead or lead.text),
        matched="; ".join(f"{rule}: {m.summary}" for rule, m in sorted(best.items())),
        terms=tuple(terms[:20]),
        sources=tuple(
            SourceLine(outlet_of(a, source_names), a.title, a.url if is_http_url(a.url) else None, a.published_at)
            for a in articles
        ),
        first_seen=story.first_seen_at,
        last_updated=story.last_updated_at,
        event_at=story.event_at,
        article_count=len(articles),
        new_sources=len(articles) - sent.article_count if sent is not None else 0,
        rules=tuple(sorted(best)),
        sent_before=sent.at if sent is not None else None,
    )


def _snippet(text: str) -> str:
    text = " ".join(text.split())
    if len(text) <= SNIPPET_CHARS:
        return text
    return text[:SNIPPET_CHARS].rsplit(" ", 1)[0] + " …"


def select_stories(
    stories, recipient_rules: set[str], sent: dict[int, SentBefore], source_names, min_score: float = 0.0
) -> list[StoryItem]:
    """Stories new to the recipient, or grown since they were last sent, newest event first.
    Only matches of the recipient's rules scoring at least `min_score` count."""
    items = []
    for story, articles, matches in stories:
        matches = [m for m in matches if m.rule_id in recipient_rules and m.score >= min_score]
        if not matches or not articles:
            continue
        before = sent.get(story.id)
        if before is not None and len(articles) <= before.article_count:
            continue
        items.append(story_item(story, articles, matches, source_names, before))
    return sorted(items, key=lambda i: (i.event_at, i.story_id), reverse=True)


def arrange(items: list[StoryItem], rules: list[tuple[str, str]], max_stories: int) -> tuple[Section, ...]:
    """One section per rule, in the recipient's order. A story is told in full once, in the
    first section whose rule it matched; later sections only point back to it."""
    sections = []
    shown_in: dict[int, str] = {}
    for rule_id, title in rules:
        chosen = [item for item in items if rule_id in item.rules and item.story_id not in shown_in]
        also = tuple((item, shown_in[item.story_id]) for item in items if rule_id in item.rules and item.story_id in shown_in)
        sections.append(Section(rule_id, title, tuple(chosen[:max_stories]), tuple(chosen[max_stories:]), also))
        shown_in.update((item.story_id, title) for item in chosen)
    return tuple(sections)
