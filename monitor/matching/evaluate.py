"""Evaluating a rule against the mentions found in one article: the query, then the score.

A query decides *whether* the article is about the subject (boolean logic, proximity,
field scope); the score decides whether it is about it *enough* (salience): every
mention of a positive term adds its weight, three times over in the title, and the
rule fires only at or above its threshold. A passing mention in a list of member
states scores 1; an article about the country scores far more.
"""

from __future__ import annotations

from typing import NamedTuple

from monitor.matching.normalize import Folded
from monitor.matching.query import All, Any, Near, Node, Not, Term
from monitor.types import Hit

# A mention in the title says more about what an article is about than one in the body.
TITLE_WEIGHT = 3.0


class Mention(NamedTuple):
    """A term found in a field: what its Hit will say if a match keeps it as evidence
    (a tuple, and no Hit yet: an article has many mentions and few are kept). It is placed
    in the folded field; where it stands in the article is worked out only for a Hit."""

    term: str
    field: str  # "title" or "body"
    how: str
    in_lead: bool  # in the first paragraph of the body
    folded: str  # the folded field it was found in
    start: int  # where in `folded`
    end: int
    place: Folded  # the folding of the field, which maps `folded` back to it
    source: str  # the field as written

    @property
    def word(self) -> int:
        """Index of its first word in the field, for NEAR/n (counted only when asked)."""
        return self.folded.count(" ", 0, self.start)

    def hit(self, weight: float) -> Hit:
        first, last = self.place.span(self.start, self.end)
        return Hit(self.term, self.source[first:last], self.field, first, self.how, weight)


def in_field(mention: Mention, field: str | None) -> bool:
    if field is None:
        return True
    if field == "lead":
        return mention.in_lead
    return mention.field == field


def _mentions(term: Term, by_term: dict[str, list[Mention]]) -> list[Mention]:
    return [m for m in by_term.get(term.key, ()) if in_field(m, term.field)]


def evaluate(node: Node, by_term) -> bool:
    """Whether the query holds for an article's mentions. `by_term` (engine.ByTerm) answers
    `key in by_term` and `by_term.mentioned_in(key, field)` without gathering evidence, and
    `by_term.get(key)` with it: evidence is gathered only where positions decide (NEAR, lead)."""
    kind = node.__class__
    if kind is Term:
        if node.field is None:
            return node.key in by_term  # mentioned at all: no evidence needed yet
        return by_term.mentioned_in(node.key, node.field)
    if kind is Not:
        return not evaluate(node.part, by_term)
    if kind is All:
        for part in node.parts:
            if not evaluate(part, by_term):
                return False
        return True
    if kind is Any:
        nears = []  # NEAR needs the places of its terms: the other operands are tried first
        for part in node.parts:
            if part.__class__ is Near:
                nears.append(part)
            elif evaluate(part, by_term):
                return True
        return any(_near(part, by_term) for part in nears)
    return _near(node, by_term)


def _near(node: Near, by_term) -> bool:
    """Some mention of the first part has a mention of every other part within n words."""
    for part in node.parts:  # every part mentioned at all, before any place is looked for
        terms = part.parts if isinstance(part, Any) else (part,)
        if not any(by_term.mentioned_in(t.key, t.field) if t.field else t.key in by_term for t in terms):
            return False
    groups = []
    for part in node.parts:
        terms = part.parts if isinstance(part, Any) else (part,)
        groups.append([m for t in terms for m in _mentions(t, by_term)])
    if not all(groups):
        return False
    # (field, word index) of each mention, counted once (Mention.word counts the spaces before it)
    groups = [[(m.field, m.word) for m in group] for group in groups]
    for field, word in groups[0]:
        if all(any(f == field and abs(w - word) <= node.distance + 1 for f, w in group) for group in groups[1:]):
            return True
    return False


def score(rule, by_term: dict[str, list[Mention]]) -> tuple[float, tuple[Hit, ...]]:
    """(the rule's score, the hits behind it with their weights) for this article.

    With a [terms] table the table alone gives the weights (the query only decides), else
    every positive term of the query scores its weight (`term^2`, default 1).
    A stretch of text counts once per rule: "Kazakhstan" found by both `@kazakhstan` and
    `Kazakh*`, or "sanctions" inside "secondary sanctions", scores the heavier of the two;
    but a stretch a negative term names counts as that term ("sanctioning body" = -2 is not
    outweighed by the "sanctioning" inside it).
    """
    weighed = []
    for key, field, weight in rule.scored:
        for mention in by_term.get(key, ()):
            if in_field(mention, field):
                weighed.append((weight * (TITLE_WEIGHT if mention.field == "title" else 1.0), mention))
    weighed.sort(key=lambda w: (w[0] >= 0, -abs(w[0]), w[1].start - w[1].end))  # negatives first
    taken: list[tuple[float, Mention]] = []
    for value, m in weighed:
        if not any(t.field == m.field and t.start < m.end and m.start < t.end for _, t in taken):
            taken.append((value, m))
    hits = [m.hit(value) for value, m in sorted(taken, key=lambda w: (w[1].field != "title", w[1].start))]
    return round(sum(h.weight for h in hits), 3), tuple(hits)
