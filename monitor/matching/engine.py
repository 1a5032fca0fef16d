"""The matching engine: pure functions, no I/O (but for the vocabulary's memo of words).

`scan(matcher, title, text)` folds each field, looks its distinct words up in the rule
set's vocabulary (vocabulary.py: what the compiled automata find in each word, worked out
once per word), and then evaluates only the rules one of whose trigger terms was found (the
percolator idea of Lucene Monitor): the cost per article follows what the article mentions,
not how many rules exist.

Per article, Python work is spent only on what needs it: the words whose occurrences must
be looked at one by one (an acronym's case, a Cyrillic ending, a phrase, a fuzzy variant),
the candidate rules, and, for the rules whose query holds, the evidence of their terms
(`ByTerm`): a query asks only whether a term is mentioned, and where, only for NEAR and the
lead. The keywords left out of the automata (compiled.py) are looked up among the field's
words, or searched for with `str.find`, only when a candidate rule asks for them.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import chain, repeat
from operator import attrgetter

from monitor.articles.clean import lead_of
from monitor.matching.compiled import Key, Matcher, Pattern, compile_rules
from monitor.matching.evaluate import Mention, evaluate, score
from monitor.matching.fuzzy import Variants
from monitor.matching.normalize import Folded, fold, is_cyrillic
from monitor.matching.rulefile import Rule
from monitor.matching.vocabulary import WordHits
from monitor.types import Match

__all__ = ["ByTerm", "Matcher", "compile_rules", "scan", "find_mentions", "evidence", "judge"]

# Russian and Kazakh inflect names: Казахстана, Токаева. A Cyrillic alias may carry
# up to this many more Cyrillic letters at its end.
CYRILLIC_ENDING_MAX = 3

_PLAIN = attrgetter("plain")
_RULES = attrgetter("rules")
Found = tuple[int, int, str, str]  # (start, end, term, how) in the folded field
# Every ASCII character but capitals and digits becomes a space (Capitals); a bytes table:
# bytes.translate costs a tenth of what str.translate does.
_NOT_CAPITALS = bytes(code if chr(code).isupper() or chr(code).isdigit() else 32 for code in range(128)) + b" " * 128


class Capitals:
    """Whether one field writes some letters anywhere as they are ("CSTO"): the first test of
    an acronym's hits. A non-ASCII field says yes to all. An ASCII field is searched for the
    first few acronyms asked about; after that its runs of capitals and digits are gathered,
    so that each further acronym costs a search in those few letters, not in the whole field
    (at 100,000 rules, 25 per article). Both searches give the same answer: letters that are
    all capitals or digits stand in the field only inside such a run."""

    SEARCHES_BEFORE_RUNS = 3  # gathering the runs costs about as much as three searches of the field

    def __init__(self, source: str):
        self.source = source
        self.ascii = source.isascii()
        self.runs: str | None = None  # the field's runs of capitals and digits, once worth it
        self.searches = 0

    def writes(self, letters: str) -> bool:
        if not self.ascii:
            return True
        if not (letters.isascii() and letters.isalnum() and letters.upper() == letters):
            return letters in self.source  # not made of what `runs` keeps
        if self.runs is None:
            if self.searches < self.SEARCHES_BEFORE_RUNS:
                self.searches += 1
                return letters in self.source
            self.runs = b" ".join(self.source.encode("ascii").translate(_NOT_CAPITALS).split()).decode("ascii")
        return letters in self.runs


def _exact_case(source: str, folded: Folded, start: int, end: int, pattern: Pattern, capitals: Capitals) -> bool:
    """Acronyms match only as written: CSTO, not csto in a URL slug.

    Where the field nowhere writes a one-word acronym's letters, none of its hits ("us"
    for US) needs a closer look."""
    if " " not in pattern.folded and not capitals.writes(pattern.letters):  # one letter for one
        return False
    first, last = folded.span(start, end)
    written = source[first:last]
    if not written.isalnum():  # "U.S." is written US
        written = "".join(filter(str.isalnum, written))
    return written == pattern.letters


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


@dataclass
class Scanned:
    """One field after its words were looked up: which terms it mentions, and where to look for them.

    Where a word stands is looked for only when something needs it now: a checked pattern
    (an acronym's case, a Cyrillic ending), a phrase, a fuzzy variant that names a term not
    otherwise mentioned. The mentions of a term found wherever its word is, and the fuzzy
    windows of a term the field already names, are placed only when a rule asks for the
    term's evidence: most candidate rules are turned down before that.
    """

    source: str
    folded: Folded
    padded: str  # " folded text ", as searched
    words: set[str]  # its distinct words
    keys: set[Key]  # the Keys whose plain terms are mentioned
    plain_words: list[tuple[str, tuple[Key, ...]]]  # the words with such Keys, and those Keys
    special: list[tuple[int, Key]]  # the hits of phrase Keys with plain terms, placed
    checked: list[Found]  # verified mentions of the checked patterns
    variants: Variants
    deferred: list[tuple[str, WordHits]]  # words whose fuzzy windows name only terms named already
    named: set[str]  # the other terms mentioned: of the Keys, the checked patterns, the variants
    rules: set[int]  # the rules some term mentioned makes candidates

    def mentions(self, term: str, words: frozenset[str] | None, texts: tuple[str, ...] | None) -> bool:
        """Whether the field mentions `term`, whose keys left out of the automaton are the
        whole `words` (looked up among the field's words) and the `texts` (searched for)."""
        if term in self.named or (words is not None and not words.isdisjoint(self.words)):
            return True
        return texts is not None and any(text in self.padded for text in texts)

    @property
    def entities(self) -> set[str]:
        """Ids of the entities mentioned (entity keys are all Keys)."""
        return {term[1:] for term in self.named if term[0] == "@"}

    @property
    def fuzzy(self) -> list[Found]:
        """Every fuzzy mention of the field."""
        return self.fuzzy_for(None)

    def fuzzy_for(self, needed: set[str] | None) -> list[Found]:
        """The fuzzy mentions of the `needed` terms (None: of all)."""
        if self.deferred:
            later = []
            for word, found in self.deferred:
                if needed is None or not found.group_terms.isdisjoint(needed):
                    for start in occurrences(self.padded, word):
                        self.variants.windows(start, start + len(word), found.groups)
                else:
                    later.append((word, found))
            self.deferred = later
        return [f for f in self.variants.mentions() if needed is None or f[2] in needed]

    def plain_found(self, needed: set[str]) -> list[Found]:
        """The mentions of the `needed` terms that their Keys find wherever they are."""
        text, found = self.folded.text, []
        for word, keys in self.plain_words:
            wanted = [key for key in keys if not key.plain.isdisjoint(needed)]
            for start in occurrences(self.padded, word) if wanted else ():
                for key in wanted:
                    found += [_mention(text, start, start + key.size - 1, key.trail, term) for term in key.plain & needed]
        for last, key in self.special:
            found += [_mention(text, last - key.size + 1, last, key.trail, term) for term in key.plain & needed]
        return found


def occurrences(padded: str, word: str):
    """Where the word stands in the text whose padded form is `padded`: the index of its first
    letter in the text (that of the space before it in `padded`)."""
    needle = f" {word} "
    start = padded.find(needle)
    while start >= 0:
        yield start
        start = padded.find(needle, start + len(word) + 1)


def find_mentions(matcher: Matcher, source: str) -> Scanned:
    """The terms the field mentions, from what its words mean to the rules (vocabulary.py).

    Cheap on purpose: the automata hold only the keys whose hits need Python (Keys and
    Seeds); the keywords left out of them are looked for later, if a candidate rule asks.
    Mentions become evidence only for the terms some candidate rule uses.
    """
    folded = fold(source)
    text = folded.text
    distinct = set(folded.words if folded.words is not None else text.split(" ")) if text else set()
    present = matcher.vocabulary.present(distinct) if distinct else {}
    scanned = Scanned(source, folded, f" {text} ", distinct, set(), [], [], [], Variants(text, matcher.denied), [], set(), set())
    placed, windowed = [], []
    for word, found in present.items():
        if found.plain:
            scanned.keys.update(found.plain)
            scanned.plain_words.append((word, found.plain))
        if found.placed:
            placed.append(word)
        if found.groups:
            windowed.append(word)
    if placed:
        _place(scanned, placed, present)
    named = scanned.named
    named.update(*map(_PLAIN, scanned.keys))
    named.update(found[2] for found in chain(scanned.checked, scanned.variants.mentions()))
    for word in windowed:
        found = present[word]
        if found.group_terms <= named:
            scanned.deferred.append((word, found))
        else:
            for start in occurrences(scanned.padded, word):
                scanned.variants.windows(start, start + len(word), found.groups)
    named.update(found[2] for found in scanned.variants.mentions())
    scanned.rules = set(chain.from_iterable(map(matcher.triggers.get, named, repeat(()))))
    scanned.rules.update(chain.from_iterable(map(_RULES, scanned.keys)))
    return scanned


def _place(scanned: Scanned, words: list[str], hits: dict[str, WordHits]) -> None:
    """Visit each occurrence of the words whose hits need their place: checked patterns, phrases,
    one-word fuzzy variants."""
    source, folded, padded = scanned.source, scanned.folded, scanned.padded
    capitals = Capitals(source)

    def worth_checking(key: Key) -> bool:
        # A Key's gate (compiled.py) is the test all its checked patterns begin with: made once.
        return bool(key.checked) and (not key.gate or capitals.writes(key.gate))

    for word in words:
        found = hits[word]
        checked = [key for key in found.checked if worth_checking(key)]
        if not (checked or found.phrases or found.close):
            continue  # an acronym's letters the field never writes as such ("us" for US)
        for start in occurrences(padded, word):
            for key in checked:
                scanned.checked += _check(source, folded, key, start, capitals)
            for text, key in found.phrases:
                if padded.startswith(text, start):
                    if key.plain:
                        scanned.special.append((start + key.size - 1, key))
                        scanned.keys.add(key)
                    if worth_checking(key):
                        scanned.checked += _check(source, folded, key, start, capitals)
            if found.close:
                scanned.variants.word(start, start + len(word), found.close)


def _check(source: str, folded: Folded, key: Key, start: int, capitals: Capitals) -> list[Found]:
    text, found = folded.text, []
    end = start + key.size - 1 - key.trail
    whole = key.trail or end == len(text) or text[end] == " "
    for pattern in key.checked:
        stop = end if whole else _right_end(text, end, pattern)
        if stop is None or (pattern.case_sensitive and not _exact_case(source, folded, start, end, pattern, capitals)):
            continue
        found.append((start, stop, pattern.term, "alias" if pattern.term[0] == "@" else "keyword"))
    return found


def _mention(text: str, start: int, last: int, trail: int, term: str) -> Found:
    """A plain key's mention: to the key's end, or to the end of the word for a prefix."""
    if trail:
        stop = last - 1
    else:
        stop = text.find(" ", last)
        stop = len(text) if stop < 0 else stop
    return start, stop, term, "alias" if term[0] == "@" else "keyword"


def _plain_mentions(matcher: Matcher, scanned: Scanned, needed: set[str]) -> list[Found]:
    """The mentions of the `needed` terms that their keys find wherever they are."""
    text, padded, found = scanned.folded.text, scanned.padded, scanned.plain_found(needed)
    # A keyword's key left out of the automaton: find() finds it where the automaton would have.
    for term in needed:
        for key, trail in matcher.term_keys.get(term, ()):
            start = padded.find(key)
            while start >= 0:
                found.append(_mention(text, start, start + len(key) - 1, trail, term))
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
        present = self.present.get(term)
        if present is None:
            present = self._presence(term)
        return present[0] or present[1]

    def mentioned_in(self, term: str, field: str) -> bool:
        """Whether `term` is mentioned in the title, the body or the lead: evidence is gathered
        only for the lead (a place in the body)."""
        present = self.present.get(term) or self._presence(term)
        if field == "title":
            return present[0]
        if not present[1]:
            return False
        return field == "body" or any(m.in_lead for m in self.get(term, ()))

    def _presence(self, term: str) -> tuple[bool, bool]:
        words, texts = self.matcher.term_words.get(term), self.matcher.term_texts.get(term)
        present = self.present[term] = (self.in_title.mentions(term, words, texts), self.in_body.mentions(term, words, texts))
        return present

    def _look_for(self, term: str) -> list[Mention]:
        present = self.present.get(term)
        if present is None:
            present = self._presence(term)
        in_title, in_body = present
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


def judge(rule: Rule, by_term: ByTerm | dict[str, list[Mention]]) -> Match | None:
    """The rule's match on an article with these mentions, or None when it does not fire."""
    if any(term in by_term for term in rule.exclude):
        return None
    if rule.query is not None and not evaluate(rule.query, by_term):
        return None
    total, hits = score(rule, by_term)
    if total < rule.threshold:
        return None
    return Match(rule.id, total, rule.threshold, hits)
