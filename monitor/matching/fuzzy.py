"""Bounded fuzzy matching of long entity aliases, at a cost that follows the article, not the rules.

An alias of FUZZY_MIN_LENGTH letters or more may be misspelt by one edit (Kazakhastan),
one of FUZZY_TWO_EDITS_LENGTH or more by two (Kassym-Shomart Tokayev). A variant is a run
of whole words, as many as the alias has, within those edits of it (Levenshtein).

Candidates come from the pigeonhole principle: a variant within k edits keeps at least one
of k+1 disjoint pieces of the alias intact. The pieces are chosen to lie against a word
boundary, so that their automaton keys start with a space and say where the variant lies:

- "start" pieces begin a word; their key " piece" goes into the engine's main automaton;
- "end" pieces end a word; their key " eceip" (reversed) goes into an automaton run over
  the reversed text;
- "inner" pieces, needed only for single words of FUZZY_TWO_EDITS_LENGTH letters (two
  edits can break both of its ends), are looked for inside words that long only, and
  only where they stand a third into the word, give or take one: an inner piece is the
  middle third of the alias, and it is needed only when the first and the last third
  hold one edit each, which moves the middle third by one letter at most.

Why that is enough (k <= 2): when the variant's spaces stand where the alias's do
("aligned"), every edit falls in one word. A one-word alias is cut in k+1 pieces. Of a
longer alias, the first word is a start piece and the last word an end piece, whole; when
k = 2 a third piece is needed for the case where both hold an edit: the longest middle word,
or with two words, both halves of the longer word (one of them keeps clear of its one
edit). When a space moved, both edits went to spaces (one removed, one added), and the
first or the last word, which hold no alias space, is intact. So a piece that matters only
in the aligned case can also ask its word for a length: a middle word holds no edit (its
length exactly), a half's word holds one (its length give or take one). Most of their hits
are turned down by that one comparison. A half's word must moreover be within one edit of
the alias word it is half of (`SeedGroup.within`), a test made once per word.

All of it depends on the word alone but for the windows of several words: `word_variants`
gives a word's verdicts once (the vocabulary keeps them), and only the windows around a word
are compared per article (`Variants`).

Acronyms and short aliases are never matched fuzzily; a word of one or two letters in an
alias ("of", the "s" of "Kazakhstan's") must stand as written; each entity's deny list names
look-alikes that are never taken for it (Kazan, Tokaj).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from rapidfuzz.distance import Levenshtein

from monitor.matching.entities import Entity, is_acronym
from monitor.matching.normalize import fold_term

# 8+ letters allow 1 edit (Kazakhastan for Kazakhstan): below that one edit turns one
# real word into another too easily (Kazan/Kazah). 16+ allow 2 (Kassym-Shomart Tokayev).
FUZZY_MIN_LENGTH = 8
FUZZY_TWO_EDITS_LENGTH = 16
# Words of an alias this short are never edited: one edit makes any other short word of
# them ("Kazakhstan's" would take "Kazakhstan so" and "Kazakhstan, a" for variants).
FIXED_WORD_MAX = 2


@dataclass(frozen=True, slots=True, eq=False)
class FuzzyAlias:
    alias: str  # folded
    written: str  # as in the entity file
    term: str  # "@entity"
    edits: int
    rank: int  # position among the entity's aliases: the first one names a variant on a tie
    fixed: tuple[tuple[int, str], ...]  # (index, word) of the words that must stand as written


@dataclass(frozen=True)
class FuzzySeed:
    key: str  # the automaton key: " " + piece ("start"), " " + reversed piece ("end"), piece ("inner")
    side: str  # "start", "end" or "inner"
    word: int  # the alias word the piece lies in
    words: int  # how many words the alias has
    alias: FuzzyAlias
    near: int = -1  # the word found must be as long as the alias word, give or take this (-1: any)


@dataclass(frozen=True, slots=True, eq=False)
class SeedGroup:
    """Seeds of one key that are word `word` of aliases of `words` words, by window length."""

    word: int
    words: int
    shortest: int  # the word the piece lies in has at least this many letters,
    longest: int  # and at most this many
    by_length: dict[int, tuple[FuzzyAlias, ...]]  # window length -> aliases it may be a variant of
    # A piece that matters only where its word holds at most this many edits (-1: any; see
    # the module docstring): the word must be that close to the alias's word, one of `forms`.
    within: int
    forms: frozenset[str]


@dataclass(frozen=True, slots=True, eq=False)
class Seeds:
    """What one fuzzy key stands for, laid out so that most hits are turned down by comparing
    the length of the word found with two small numbers."""

    size: int  # length of the key
    shortest: int  # a hit in a word of fewer letters is no variant of any of these aliases,
    longest: int  # nor one in a word of more
    single: dict[int, tuple[FuzzyAlias, ...]]  # one-word aliases, by the length of the word found
    multi: tuple[SeedGroup, ...]  # aliases of several words


def allowed_edits(folded: str) -> int:
    letters = len(folded.replace(" ", ""))
    return 2 if letters >= FUZZY_TWO_EDITS_LENGTH else 1 if letters >= FUZZY_MIN_LENGTH else 0


def fuzzy_seeds(entities: Iterable[Entity]) -> list[FuzzySeed]:
    seeds = []
    for entity in entities:
        if not entity.fuzzy:
            continue
        seen = set()
        for rank, alias in enumerate(entity.aliases):
            folded = fold_term(alias)
            edits = 0 if is_acronym(alias) else allowed_edits(folded)
            if not edits or folded in seen:  # Kazakhstán folds to Kazakhstan: name the first
                continue
            seen.add(folded)
            words = folded.split(" ")
            fixed = tuple((i, w) for i, w in enumerate(words) if len(w) <= FIXED_WORD_MAX)
            target = FuzzyAlias(folded, alias, f"@{entity.id}", edits, rank, fixed)
            seeds += [FuzzySeed(key, side, word, len(words), target, near) for side, word, key, near in _pieces(words, edits)]
    return seeds


def _pieces(words: list[str], edits: int) -> list[tuple[str, int, str, int]]:
    """(side, word index, key, near) of the pieces the module docstring describes."""

    def start(word: int, piece: str, near: int = -1) -> tuple[str, int, str, int]:
        return "start", word, " " + piece, near

    def end(word: int, piece: str, near: int = -1) -> tuple[str, int, str, int]:
        return "end", word, " " + piece[::-1], near

    first, last = words[0], words[-1]
    if len(words) == 1:
        if edits == 1:
            half = len(first) // 2
            return [start(0, first[:half]), end(0, first[half:])]
        third = len(first) // 3
        return [start(0, first[:third]), ("inner", 0, first[third : 2 * third], -1), end(0, first[2 * third :])]
    pieces = [start(0, first), end(len(words) - 1, last)]
    if edits == 2 and len(words) > 2:  # needed when the first and the last word hold an edit each
        middle = max(range(1, len(words) - 1), key=lambda i: len(words[i]))
        pieces.append(start(middle, words[middle], near=0))  # so the middle word holds none
    elif edits == 2:  # needed when each word holds one edit
        longer = 0 if len(first) >= len(last) else 1
        word = words[longer]
        half = max(1, len(word) // 2)
        pieces += [start(longer, word[:half], near=1), end(longer, word[half:] or word, near=1)]
    return pieces


def seed_index(seeds: list[FuzzySeed]) -> dict[str, Seeds]:
    """Per automaton key, the aliases its hits may belong to, by window length."""
    grouped: dict[str, dict[tuple, dict[int, list[FuzzyAlias]]]] = defaultdict(dict)
    forms: dict[tuple, set[str]] = defaultdict(set)  # (key, group) -> the alias words a `within` piece lies in
    for seed in seeds:
        target, size = seed.alias, len(seed.alias.alias)
        near = None  # a one-word alias: the word is the window
        if seed.words > 1:  # no word of the window is longer than the window
            near = (1, size + target.edits, -1)
            if seed.near >= 0:
                letters = len(target.alias.split(" ")[seed.word])
                near = (letters - seed.near, letters + seed.near, seed.near)
                forms[(seed.key, (seed.word, seed.words, near))].add(target.alias.split(" ")[seed.word])
        lengths = grouped[seed.key].setdefault((seed.word, seed.words, near), defaultdict(list))
        for length in range(size - target.edits, size + target.edits + 1):
            if target not in lengths[length]:
                lengths[length].append(target)
    index = {}
    for key, groups in grouped.items():
        single = {n: tuple(found) for n, found in groups.pop((0, 1, None), {}).items()}
        multi = tuple(
            SeedGroup(word, words, near[0], near[1], {n: tuple(found) for n, found in lengths.items()}, near[2], frozenset(forms[(key, (word, words, near))]))
            for (word, words, near), lengths in groups.items()
        )
        bounds = [(min(single), max(single))] if single else []
        bounds += [(group.shortest, group.longest) for group in multi]
        index[key] = Seeds(len(key), min(b[0] for b in bounds), max(b[1] for b in bounds), single, multi)
    return index


def window(text: str, start: int, end: int, word: int, words: int) -> tuple[int, int] | None:
    """The run of `words` whole words in which text[start:end] is word number `word`."""
    for _ in range(word):
        if start == 0:
            return None
        start = text.rfind(" ", 0, start - 1) + 1
    for _ in range(words - word - 1):
        if end == len(text):
            return None
        end = text.find(" ", end + 1)
        end = len(text) if end < 0 else end
    return start, end


Close = tuple[tuple[str, int, int, str], ...]  # (term, distance, rank, how) of the aliases a word is a variant of


def word_variants(word: str, found: list[Seeds], denied: dict[str, frozenset[str]]) -> tuple[Close, tuple[SeedGroup, ...]]:
    """What the pieces found in `word` make of it: (the one-word aliases it is a variant of,
    the groups of longer aliases whose windows around it are to be compared). Depends on
    the word alone, so it is worked out once per word (vocabulary.py)."""
    best: dict[str, tuple[int, int, str]] = {}
    groups: list[SeedGroup] = []
    length = len(word)
    for seeds in found:
        aliases = seeds.single.get(length) if seeds.single else None
        for term, distance, rank, how in _close(word, aliases, denied) if aliases else ():
            if term not in best or (distance, rank) < best[term][:2]:
                best[term] = (distance, rank, how)
        groups += [group for group in seeds.multi if group.shortest <= length <= group.longest and group not in groups and _near_enough(word, group)]
    return tuple((term, *verdict) for term, verdict in best.items()), tuple(groups)


def _near_enough(word: str, group: SeedGroup) -> bool:
    """Whether the word is as close to its alias word as the group's piece requires."""
    if group.within < 0:
        return True
    return any(Levenshtein.distance(word, form, score_cutoff=group.within) <= group.within for form in group.forms)


class Variants:
    """The fuzzy mentions of one field, gathered word by word (a new one per field scanned).

    A window compared once with the aliases a group offers is not compared again: common
    words come back many times in an article."""

    def __init__(self, text: str, denied: dict[str, frozenset[str]]):
        self.text = text
        self.denied = denied
        self.found: dict[tuple[int, int, str], tuple[int, int, str]] = {}  # (start, end, term) -> (distance, rank, how)
        self.seen: dict[tuple[str, int], Close] = {}

    def word(self, start: int, end: int, close: Close) -> None:
        """The word text[start:end] is a variant of these one-word aliases (`word_variants`)."""
        for term, distance, rank, how in close:
            best = self.found.get((start, end, term))
            if best is None or (distance, rank) < best[:2]:
                self.found[(start, end, term)] = (distance, rank, how)

    def windows(self, start: int, end: int, groups: tuple[SeedGroup, ...]) -> None:
        """Compare the windows around the word text[start:end] with the longer aliases of `groups`."""
        for group in groups:
            placed = window(self.text, start, end, group.word, group.words)
            if placed is not None:
                aliases = group.by_length.get(placed[1] - placed[0])
                if aliases:
                    self._compare(placed[0], placed[1], aliases)

    def mentions(self) -> list[tuple[int, int, str, str]]:
        """(start, end, term, how) of every variant found."""
        return [(start, end, term, how) for (start, end, term), (_, _, how) in self.found.items()]

    def _compare(self, start: int, end: int, aliases: tuple[FuzzyAlias, ...]) -> None:
        variant = self.text[start:end]
        close = self.seen.get((variant, id(aliases)))
        if close is None:
            close = self.seen[(variant, id(aliases))] = tuple(_close(variant, aliases, self.denied))
        self.word(start, end, close)


def _close(variant: str, aliases: tuple[FuzzyAlias, ...], denied: dict[str, frozenset[str]]) -> list:
    """(term, distance, rank, how) of the aliases `variant` is a variant of."""
    close = []
    for target in aliases:
        distance = Levenshtein.distance(variant, target.alias, score_cutoff=target.edits)
        if not 0 < distance <= target.edits:
            continue
        if (denied and variant in denied.get(target.term, ())) or (target.fixed and not _fixed_words_kept(variant, target)):
            continue
        close.append((target.term, distance, target.rank, f"fuzzy({distance} edit{'s' * (distance > 1)} of {target.written})"))
    return close


def _fixed_words_kept(variant: str, target: FuzzyAlias) -> bool:
    words = variant.split(" ")
    return all(words[index] == word for index, word in target.fixed)
