"""What one field mentions: its words looked up in the vocabulary, and the few placed.

`find_mentions(matcher, source)` folds the field, looks its distinct words up in the rule
set's vocabulary (vocabulary.py: what the compiled automata find in each word, worked out
once per word) and returns a `Scanned`: the terms named, the rules they make candidates,
and what is needed to place a term's mentions when a rule asks for its evidence (engine.py).

Only the words whose occurrences must be looked at one by one are placed at once: an
acronym's case, a Cyrillic ending, a phrase, a fuzzy variant.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import chain, repeat
from operator import attrgetter

from monitor.matching.compiled import Key, Matcher, Pattern
from monitor.matching.fuzzy import Variants
from monitor.matching.normalize import Folded, fold, is_cyrillic
from monitor.matching.vocabulary import WordHits

__all__ = ["Capitals", "Found", "Scanned", "find_mentions", "mention", "occurrences"]

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
                    found += [mention(text, start, start + key.size - 1, key.trail, term) for term in key.plain & needed]
        for last, key in self.special:
            found += [mention(text, last - key.size + 1, last, key.trail, term) for term in key.plain & needed]
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


def mention(text: str, start: int, last: int, trail: int, term: str) -> Found:
    """A plain key's mention: to the key's end, or to the end of the word for a prefix."""
    if trail:
        stop = last - 1
    else:
        stop = text.find(" ", last)
        stop = len(text) if stop < 0 else stop
    return start, stop, term, "alias" if term[0] == "@" else "keyword"
