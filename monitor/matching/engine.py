"""The matching engine: pure functions, no I/O.

`compile_rules(ruleset)` builds ONE Aho-Corasick automaton over every alias, keyword and
phrase of every rule, plus the pieces of long aliases that seed fuzzy matching.
`scan(matcher, title, text)` finds all mentions in one pass over each field, then
evaluates only the rules one of whose terms was found (the percolator idea of Lucene
Monitor): the cost per article follows what the article mentions, not how many rules exist.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import ahocorasick

from monitor.articles.clean import lead_of
from monitor.matching.entities import is_acronym
from monitor.matching.evaluate import Mention, evaluate, score
from monitor.matching.fuzzy import FuzzySeed, fuzzy_mentions, fuzzy_seeds
from monitor.matching.normalize import Folded, fold, fold_term, is_cyrillic, latinize
from monitor.matching.query import terms_of
from monitor.matching.rulefile import Rule, RuleSet
from monitor.types import Hit, Match

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
class Key:
    """What one automaton key stands for."""

    size: int  # length of the key, spaces included
    trail: int  # 1 when the key ends with a space (a whole word), else 0
    patterns: tuple[Pattern, ...]
    seeds: tuple[FuzzySeed, ...]
    plain: frozenset[str] | None  # the terms, when every hit is valid as found (no case check)


@dataclass(frozen=True)
class Matcher:
    ruleset: RuleSet
    automaton: ahocorasick.Automaton  # " folded key " -> index in `keys`
    keys: tuple[Key, ...]
    triggers: dict[str, tuple[int, ...]]  # term -> indexes of the rules it can make fire
    rule_terms: tuple[frozenset[str], ...]  # per rule, every term it looks at
    denied: dict[str, frozenset[str]]  # "@entity" -> folded look-alikes


def _all_terms(ruleset: RuleSet) -> set[str]:
    terms = {f"@{entity}" for entity in ruleset.entities}  # every entity, for clustering
    for rule in ruleset.rules:
        terms |= _terms_of_rule(rule)
    return terms


def _patterns(ruleset: RuleSet) -> list[Pattern]:
    patterns = []
    for term in sorted(_all_terms(ruleset)):
        if term.startswith("@"):
            for alias in ruleset.entities[term[1:]].aliases:
                patterns.append(Pattern(term, alias, fold_term(alias), is_acronym(alias), False))
                latin = latinize(alias) if not alias.isascii() else ""
                if latin and latin != fold_term(alias):  # Қазақстан -> kazakstan, ОДКБ -> ODKB
                    written = latin.upper() if is_acronym(alias) else latin
                    patterns.append(Pattern(term, written, latin, is_acronym(alias), False))
        else:
            bare = term.rstrip("*")
            patterns.append(Pattern(term, term, fold_term(bare), is_acronym(bare), term.endswith("*")))
    return [p for p in patterns if p.folded]


def compile_rules(ruleset: RuleSet) -> Matcher:
    exact: dict[str, list[Pattern]] = defaultdict(list)
    for pattern in _patterns(ruleset):
        exact[pattern.folded].append(pattern)
    seeds: dict[str, list[FuzzySeed]] = defaultdict(list)
    for seed in fuzzy_seeds(ruleset.entities.values()):
        seeds[seed.piece].append(seed)
    # Terms match whole words: each key carries the spaces around it (the text is searched
    # as " text "), so hits inside words never reach Python. A prefix ("sanction*") or a
    # Cyrillic alias (case endings) leaves the end open; fuzzy seeds may lie anywhere.
    entries: dict[str, tuple[list[Pattern], list[FuzzySeed]]] = defaultdict(lambda: ([], []))
    for key, patterns in exact.items():
        for pattern in patterns:
            open_end = pattern.prefix or is_cyrillic(key[-1])
            entries[" " + key + ("" if open_end else " ")][0].append(pattern)
    for key, found in seeds.items():
        entries[key][1].extend(found)
    automaton = ahocorasick.Automaton()
    keys = []
    for number, (key, (patterns, found)) in enumerate(entries.items()):
        trail = 1 if patterns and key.endswith(" ") else 0
        plain = frozenset(p.term for p in patterns) if trail and not any(p.case_sensitive for p in patterns) else None
        keys.append(Key(len(key), trail, tuple(patterns), tuple(found), plain))
        automaton.add_word(key, number)
    if len(automaton):
        automaton.make_automaton()
    triggers: dict[str, list[int]] = defaultdict(list)
    for index, rule in enumerate(ruleset.rules):
        for term in rule.triggers:
            triggers[term].append(index)
    denied = {f"@{e.id}": frozenset(fold_term(d) for d in e.deny) for e in ruleset.entities.values()}
    rule_terms = tuple(_terms_of_rule(rule) for rule in ruleset.rules)
    return Matcher(ruleset, automaton, tuple(keys), {k: tuple(v) for k, v in triggers.items()}, rule_terms, denied)


def _terms_of_rule(rule: Rule) -> frozenset[str]:
    query = {t.key for t in terms_of(rule.query, positive=False)} if rule.query is not None else set()
    return frozenset({term for term, _ in rule.terms} | set(rule.exclude) | query)


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


@dataclass(frozen=True)
class Scanned:
    """One field after the automaton pass: which terms it mentions, and where to look for them."""

    source: str
    folded: Folded
    positions: dict[int, list[int]]  # key index -> ends of its hits in " folded text "
    checked: dict[int, list[tuple[int, int, str, str]]]  # key index -> verified (start, end, term, how)
    fuzzy: list[tuple[int, int, str, str]]
    terms: set[str]


def find_mentions(matcher: Matcher, source: str) -> Scanned:
    """One automaton pass over the field: the terms it mentions.

    Cheap on purpose: per hit only its position is kept; mentions are verified (case of
    acronyms, open ends) per distinct key, and become evidence only for the terms some
    candidate rule uses (`evidence`).
    """
    folded = fold(source)
    text = folded.text
    positions: dict[int, list[int]] = defaultdict(list)
    if text and len(matcher.automaton):
        for last, number in matcher.automaton.iter(f" {text} "):
            positions[number].append(last)
    terms: set[str] = set()
    checked: dict[int, list[tuple[int, int, str, str]]] = {}
    seeded: list[tuple[int, FuzzySeed]] = []
    for number, lasts in positions.items():
        key = matcher.keys[number]
        if key.seeds:
            seeded += [(last - key.size, seed) for last in lasts for seed in key.seeds]
        if key.plain is not None:
            terms |= key.plain
        elif key.patterns:
            checked[number] = _check(source, folded, key, lasts)
            terms |= {found[2] for found in checked[number]}
    fuzzy = fuzzy_mentions(text, seeded, matcher.denied) if seeded else []
    terms |= {found[2] for found in fuzzy}
    return Scanned(source, folded, positions, checked, fuzzy, terms)


def _check(source: str, folded: Folded, key: Key, lasts: list[int]) -> list[tuple[int, int, str, str]]:
    text, found = folded.text, []
    for last in lasts:
        start, end = last - key.size + 1, last - key.trail
        whole = key.trail or end == len(text) or text[end] == " "
        for pattern in key.patterns:
            stop = end if whole else _right_end(text, end, pattern)
            if stop is None or (pattern.case_sensitive and not _exact_case(source, folded, start, end, pattern)):
                continue
            found.append((start, stop, pattern.term, "alias" if pattern.term[0] == "@" else "keyword"))
    return found


def evidence(matcher: Matcher, scanned: Scanned, needed: set[str], field: str, lead_end: int = 0) -> list[Mention]:
    """The mentions of the `needed` terms as evidence; per term, the longest where several
    overlap, exact before fuzzy at equal length."""
    chosen = [f for f in scanned.fuzzy if f[2] in needed]
    for number, lasts in scanned.positions.items():
        key = matcher.keys[number]
        if number in scanned.checked:
            chosen += [f for f in scanned.checked[number] if f[2] in needed]
        elif key.plain is not None and not key.plain.isdisjoint(needed):
            for pattern in key.patterns:
                if pattern.term in needed:
                    how = "alias" if pattern.term[0] == "@" else "keyword"
                    chosen += [(last - key.size + 1, last - 1, pattern.term, how) for last in lasts]
    chosen.sort(key=lambda f: (f[2], f[0], -(f[1] - f[0]), f[3].startswith("fuzzy")))
    folded, source = scanned.folded, scanned.source
    mentions: list[Mention] = []
    taken_until: dict[str, int] = {}
    for start, end, term, how in chosen:
        if start < taken_until.get(term, -1):
            continue
        first, last = folded.span(start, end)
        hit = Hit(term, source[first:last], field, first, how, 0.0)
        mentions.append(Mention(hit, field == "body" and first < lead_end, folded.text, start))
        taken_until[term] = end
    return mentions


def _lead_end(text: str) -> int:
    lead = lead_of(text)
    where = text.find(lead) if lead else -1
    return where + len(lead) if where >= 0 else 0


def scan(matcher: Matcher, title: str, text: str) -> tuple[list[Match], set[str]]:
    """(matches of every rule that fired, ids of every entity mentioned)."""
    in_title, in_body = find_mentions(matcher, title), find_mentions(matcher, text)
    found = in_title.terms | in_body.terms
    candidates = sorted({index for term in found for index in matcher.triggers.get(term, ())})
    rules = matcher.ruleset.rules
    by_term: dict[str, list[Mention]] = defaultdict(list)
    if candidates:
        needed = set().union(*(matcher.rule_terms[index] for index in candidates)) & found
        mentions = evidence(matcher, in_title, needed, "title")
        mentions += evidence(matcher, in_body, needed, "body", _lead_end(text))
        for mention in mentions:
            by_term[mention.hit.term].append(mention)
    matches = [m for m in (judge(rules[index], by_term) for index in candidates) if m is not None]
    return matches, {term[1:] for term in found if term.startswith("@")}


def judge(rule: Rule, by_term: dict[str, list[Mention]]) -> Match | None:
    """The rule's match on an article with these mentions, or None when it does not fire."""
    if any(term in by_term for term in rule.exclude):
        return None
    if rule.query is not None and not evaluate(rule.query, by_term):
        return None
    total, hits = score(rule, by_term)
    if total < rule.threshold:
        return None
    return Match(rule.id, total, rule.threshold, hits)
