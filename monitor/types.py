"""Small frozen values passed between the pipeline's stages."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class RawArticle:
    """What a source yields, before cleaning: text may still be HTML or carry boilerplate."""

    source: str
    guid: str
    title: str
    body: str
    url: str | None = None
    outlet: str | None = None
    author: str | None = None
    language: str | None = None
    published: datetime | None = None  # timezone-aware UTC, or None when unknown
    is_html: bool = False


@dataclass(frozen=True)
class CleanArticle:
    """An article reduced to its text, ready to store and match."""

    source: str
    guid: str
    title: str
    text: str
    lead: str
    url: str | None
    canonical_url: str | None
    outlet: str | None
    author: str | None
    language: str | None
    published: datetime | None
    content_hash: str


@dataclass(frozen=True)
class Hit:
    """One piece of evidence: a term or entity alias found in a field of an article."""

    term: str  # the rule's term, or "@entity-id"
    found: str  # the text as it stands in the article
    field: str  # "title" or "body"
    offset: int  # character offset in that field
    how: str  # "alias", "keyword" or "fuzzy(N edits of ALIAS)"
    weight: float


@dataclass(frozen=True)
class Match:
    """A rule fired on an article, with the evidence that made it fire."""

    rule_id: str
    score: float
    threshold: float
    hits: tuple[Hit, ...] = field(default_factory=tuple)

    def summary(self) -> str:
        """One line for humans: 'Kazakhstan x9 (in title), Tokayev x4 (variant: Tokaev) [score 22.5 >= 3]'."""
        by_term: dict[str, list[Hit]] = {}
        for hit in self.hits:
            by_term.setdefault(hit.term, []).append(hit)
        parts = []
        for hits in by_term.values():
            forms = [h.found for h in hits if not h.how.startswith("fuzzy")] or [hits[0].found]
            label = max(set(forms), key=forms.count)
            if len(hits) > 1:
                label += f" x{len(hits)}"
            notes = ["in title"] if any(h.field == "title" for h in hits) else []
            variants = sorted({h.found for h in hits if h.how.startswith("fuzzy")})
            if variants:
                notes.append("variant: " + ", ".join(variants))
            parts.append(label + (f" ({'; '.join(notes)})" if notes else ""))
        return f"{', '.join(parts)} [score {self.score:g} >= {self.threshold:g}]"
