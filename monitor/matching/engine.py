"""The matching engine: pure functions, no I/O.

`compile_rules(ruleset)` builds one Aho-Corasick automaton over every alias and keyword
of every rule; `scan(matcher, title, text)` finds all mentions in one pass and scores
each rule from the mentions of its own terms, so adding rules costs little per article.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import ahocorasick
from rapidfuzz.distance import Levenshtein

from monitor.matching.entities import is_acronym
from monitor.matching.normalize import Folded, fold, fold_term, is_cyrillic
from monitor.matching.rulefile import RuleSet
from monitor.types import Hit, Match

# A mention in the title says more about what an article is about than one in the body.
TITLE_WEIGHT = 3.0
# Fuzzy matching only on aliases long enough that an edit or two cannot turn one real
# word into another: 8+ letters allow 1 edit (Kazakhastan), 16+ allow 2 (Kassym-Shomart Tokayev).
FUZZY_MIN_LENGTH = 8
FUZZY_TWO_EDITS_LENGTH = 16
# Russian and Kazakh inflect names: Казахстана, Токаева. A Cyrillic alias may carry
# up to this many more Cyrillic letters at its end.
CYRILLIC_ENDING_MAX = 3


@dataclass(frozen=True)
class Pattern:
    term: str  # "@entity" or the keyword as written in the rule
    alias: str  # as written in the file
    folded: str
    case_sensitive: bool
    prefix: bool  # keyword ending in '*'


@dataclass(frozen=True)
class Matcher:
    ruleset: RuleSet
    automaton: ahocorasick.Automaton
    fuzzy: dict[tuple[int, str], tuple[Pattern, ...]]  # (word count, first letter) -> patterns
    denied: dict[str, frozenset[str]]  # "@entity" -> folded look-alikes


def _patterns(ruleset: RuleSet) -> list[Pattern]:
    terms = {term for rule in ruleset.rules for term, _ in rule.terms}
    terms |= {term for rule in ruleset.rules for term in rule.exclude}
    terms |= {f"@{entity}" for entity in ruleset.entities}  # every entity, for clustering
    patterns = []
    for term in sorted(terms):
        if term.startswith("@"):
            aliases = ruleset.entities[term[1:]].aliases
            patterns += [Pattern(term, a, fold_term(a), is_acronym(a), False) for a in aliases]
        else:
            bare = term.rstrip("*")
            patterns.append(Pattern(term, term, fold_term(bare), is_acronym(bare), term.endswith("*")))
    return [p for p in patterns if p.folded]


def compile_rules(ruleset: RuleSet) -> Matcher:
    automaton = ahocorasick.Automaton()
    by_key: dict[str, list[Pattern]] = defaultdict(list)
    for pattern in _patterns(ruleset):
        by_key[pattern.folded].append(pattern)
    for key, patterns in by_key.items():
        automaton.add_word(key, (key, tuple(patterns)))
    automaton.make_automaton()
    fuzzy: dict[tuple[int, str], list[Pattern]] = defaultdict(list)
    for entity in ruleset.entities.values():
        if not entity.fuzzy:
            continue
        for alias in entity.aliases:
            folded = fold_term(alias)
            if len(folded.replace(" ", "")) >= FUZZY_MIN_LENGTH and not is_acronym(alias):
                fuzzy[(folded.count(" ") + 1, folded[0])].append(Pattern(f"@{entity.id}", alias, folded, False, False))
    denied = {f"@{e.id}": frozenset(fold_term(d) for d in e.deny) for e in ruleset.entities.values()}
    return Matcher(ruleset, automaton, {k: tuple(v) for k, v in fuzzy.items()}, denied)


def _exact_case(source: str, folded: Folded, start: int, end: int, pattern: Pattern) -> bool:
    """Acronyms match only as written: CSTO, not csto in a URL slug."""
    first, last = folded.span(start, end)
    original = "".join(c for c in source[first:last] if c.isalnum())
    return original == "".join(c for c in pattern.alias if c.isalnum())


def _right_end(text: str, end: int, pattern: Pattern) -> int | None:
    """Where the mention ends, or None when the hit is inside a longer word."""
    if end == len(text) or text[end] == " ":
        return end
    if pattern.prefix or (is_cyrillic(pattern.folded[-1]) and is_cyrillic(text[end])):
        stop = text.find(" ", end)
        stop = len(text) if stop < 0 else stop
        if pattern.prefix or stop - end <= CYRILLIC_ENDING_MAX:
            return stop
    return None


def find_mentions(matcher: Matcher, source: str, field: str) -> list[Hit]:
    """Every term and alias mention in `source`, longest first where mentions overlap."""
    folded = fold(source)
    text = folded.text
    found: list[tuple[int, int, Pattern, str]] = []
    for last, (key, patterns) in matcher.automaton.iter(text):
        start = last - len(key) + 1
        if start > 0 and text[start - 1] != " ":
            continue
        for pattern in patterns:
            end = _right_end(text, last + 1, pattern)
            if end is None or (pattern.case_sensitive and not _exact_case(source, folded, start, last + 1, pattern)):
                continue
            found.append((start, end, pattern, "keyword" if not pattern.term.startswith("@") else "alias"))
    found += _fuzzy_mentions(matcher, text)
    return _resolve_overlaps(found, folded, source, field)


def _fuzzy_mentions(matcher: Matcher, text: str) -> list[tuple[int, int, Pattern, str]]:
    if not matcher.fuzzy or not text:
        return []
    starts = [0] + [i + 1 for i, c in enumerate(text) if c == " "]
    ends = [i for i, c in enumerate(text) if c == " "] + [len(text)]
    found = []
    for words in {count for count, _ in matcher.fuzzy}:
        for index in range(len(starts) - words + 1):
            start, end = starts[index], ends[index + words - 1]
            candidates = matcher.fuzzy.get((words, text[start]), ())
            window = text[start:end]
            for pattern in candidates:
                edits = 2 if len(pattern.folded) >= FUZZY_TWO_EDITS_LENGTH else 1
                if abs(len(window) - len(pattern.folded)) > edits or window in matcher.denied[pattern.term]:
                    continue
                distance = Levenshtein.distance(window, pattern.folded, score_cutoff=edits)
                if 0 < distance <= edits:
                    found.append((start, end, pattern, f"fuzzy({distance} edit{'s' * (distance > 1)} of {pattern.alias})"))
    return found


def _resolve_overlaps(found, folded: Folded, source: str, field: str) -> list[Hit]:
    """Keep the longest mention where several overlap; exact beats fuzzy at equal length."""
    found.sort(key=lambda f: (f[0], -(f[1] - f[0]), f[3].startswith("fuzzy")))
    hits: list[Hit] = []
    taken_until = -1
    for start, end, pattern, how in found:
        if start < taken_until:
            continue
        first, last = folded.span(start, end)
        hits.append(Hit(pattern.term, source[first:last], field, first, how, 0.0))
        taken_until = end
    return hits


def scan(matcher: Matcher, title: str, text: str) -> tuple[list[Match], set[str]]:
    """(matches of every rule that fired, ids of every entity mentioned)."""
    mentions = find_mentions(matcher, title, "title") + find_mentions(matcher, text, "body")
    by_term: dict[str, list[Hit]] = defaultdict(list)
    for hit in mentions:
        by_term[hit.term].append(hit)
    matches = []
    for rule in matcher.ruleset.rules:
        if any(term in by_term for term in rule.exclude):
            continue
        hits = []
        for term, weight in rule.terms:
            for hit in by_term.get(term, ()):
                factor = TITLE_WEIGHT if hit.field == "title" else 1.0
                hits.append(Hit(hit.term, hit.found, hit.field, hit.offset, hit.how, weight * factor))
        score = round(sum(hit.weight for hit in hits), 3)
        if score >= rule.threshold:
            matches.append(Match(rule.id, score, rule.threshold, tuple(hits)))
    entities = {term[1:] for term in by_term if term.startswith("@")}
    return matches, entities
