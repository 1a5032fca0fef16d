"""The matching engine: pure functions, no I/O (but for the vocabulary's memo of words).

`scan(matcher, title, text)` finds what each field mentions (mentions.py: its words looked
up in the rule set's vocabulary), then evaluates only the rules one of whose trigger terms
was found (the percolator idea of Lucene Monitor): the cost per article follows what the
article mentions, not how many rules exist.

Per article, Python work is spent only on what needs it: the candidate rules, and, for the
rules whose query holds, the evidence of their terms (`ByTerm`): a query asks only whether
a term is mentioned, and where, only for NEAR and the lead. The keywords left out of the
automata (compiled.py) are looked up among the field's words, or searched for with
`str.find`, only when a candidate rule asks for them.
"""

from __future__ import annotations

from monitor.articles.clean import lead_of
from monitor.matching.compiled import Matcher, compile_rules
from monitor.matching.evaluate import Mention, evaluate, score
from monitor.matching.mentions import Found, Scanned, find_mentions, mention
from monitor.matching.normalize import fold
from monitor.matching.rulefile import Rule
from monitor.types import Match

__all__ = ["ByTerm", "Matcher", "compile_rules", "scan", "find_mentions", "evidence", "judge"]


def _plain_mentions(matcher: Matcher, scanned: Scanned, needed: set[str]) -> list[Found]:
    """The mentions of the `needed` terms that their keys find wherever they are."""
    text, padded, found = scanned.folded.text, scanned.padded, scanned.plain_found(needed)
    # A keyword's key left out of the automaton: find() finds it where the automaton would have.
    for term in needed:
        for key, trail in matcher.term_keys.get(term, ()):
            start = padded.find(key)
            while start >= 0:
                found.append(mention(text, start, start + len(key) - 1, trail, term))
                start = padded.find(key, start + 1)
    return found


def evidence(matcher: Matcher, scanned: Scanned, needed: set[str], field: str, lead_end: int = 0) -> list[Mention]:
    """The mentions of the `needed` terms as evidence; per term, the longest where several
    overlap, exact before fuzzy at equal length. `lead_end`: where the lead ends in the
    folded field."""
    chosen = scanned.fuzzy_for(needed) + [f for f in scanned.checked if f[2] in needed]
    chosen += _plain_mentions(matcher, scanned, needed)
    chosen.sort(key=lambda f: (f[2], f[0], -(f[1] - f[0]), f[3].startswith("fuzzy")))
    folded, source = scanned.folded, scanned.source
    mentions: list[Mention] = []
    taken_until: dict[str, int] = {}
    for start, end, term, how in chosen:
        if start < taken_until.get(term, -1):
            continue
        mentions.append(Mention(term, field, how, field == "body" and start < lead_end, folded.text, start, end, folded, source))
        taken_until[term] = end
    return mentions


def _lead_end(source: str) -> int:
    """Where the lead (clean.lead_of) ends in the folded text: the length of the folded text
    up to the lead's end, since folding a beginning gives the beginning of the folded text."""
    lead = lead_of(source)
    where = source.find(lead) if lead else -1
    return len(fold(source[: where + len(lead)]).text) if where >= 0 else 0


class ByTerm:
    """The mentions of each term in one article as evidence, looked for when a rule first asks
    for the term: a candidate rule turned down by one operand costs its other terms nothing.
    Read as a dict of the terms mentioned (`get`, `in`); a term's mentions do not depend on
    which other terms are asked for."""

    def __init__(self, matcher: Matcher, in_title: Scanned, in_body: Scanned):
        self.matcher, self.in_title, self.in_body = matcher, in_title, in_body
        self.lead_end: int | None = None
        self.found: dict[str, list[Mention]] = {}
        self.present: dict[str, tuple[bool, bool]] = {}  # term -> (in the title, in the body)

    def get(self, term: str, default=None):
        found = self.found.get(term)
        if found is None:
            found = self.found[term] = self._look_for(term)
        return found or default

    def __contains__(self, term: str) -> bool:
        """Whether the article mentions `term` anywhere: no evidence is gathered for that."""
        if term in self.in_title.named or term in self.in_body.named:
            return True
        present = self._presence(term)
        return present[0] or present[1]

    def mentioned_in(self, term: str, field: str) -> bool:
        """Whether `term` is mentioned in the title, the body or the lead: evidence is gathered
        only for the lead (a place in the body)."""
        present = self._presence(term)
        if field == "title":
            return present[0]
        if not present[1]:
            return False
        return field == "body" or any(m.in_lead for m in self.get(term, ()))

    def _presence(self, term: str) -> tuple[bool, bool]:
        """(whether the title mentions `term`, whether the body does), worked out once."""
        present = self.present.get(term)
        if present is None:
            words, texts = self.matcher.term_words.get(term), self.matcher.term_texts.get(term)
            present = self.present[term] = (self.in_title.mentions(term, words, texts), self.in_body.mentions(term, words, texts))
        return present

    def _look_for(self, term: str) -> list[Mention]:
        in_title, in_body = self._presence(term)
        if not (in_title or in_body):
            return []
        found = evidence(self.matcher, self.in_title, {term}, "title") if in_title else []
        if in_body:
            if self.lead_end is None:
                self.lead_end = _lead_end(self.in_body.source)
            found += evidence(self.matcher, self.in_body, {term}, "body", self.lead_end)
        return found


def scan(matcher: Matcher, title: str, text: str) -> tuple[list[Match], set[str]]:
    """(matches of every rule that fired, ids of every entity mentioned)."""
    in_body = find_mentions(matcher, text)
    in_title = find_mentions(matcher, title)  # second: its words are mostly the body's, known by now
    candidates = sorted(in_title.rules | in_body.rules)
    rules, by_term = matcher.ruleset.rules, ByTerm(matcher, in_title, in_body)
    matches = [m for m in (judge(rules[index], by_term) for index in candidates) if m is not None]
    return matches, in_title.entities | in_body.entities


def judge(rule: Rule, by_term: ByTerm) -> Match | None:
    """The rule's match on an article with these mentions, or None when it does not fire."""
    if any(term in by_term for term in rule.exclude):
        return None
    if rule.query is not None and not evaluate(rule.query, by_term):
        return None
    total, hits = score(rule, by_term)
    if total < rule.threshold:
        return None
    return Match(rule.id, total, rule.threshold, hits)
