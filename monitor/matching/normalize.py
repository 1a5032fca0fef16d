"""Text normalization that keeps offsets honest.

`fold("Kassym-Jomart Tokayev’s")` gives `"kassym jomart tokayev s"`, and `span()` maps
any stretch of that result back to the original characters, so a hit found in the
folded text points at the right place in the article.

Folding lower-cases, drops accents from Latin letters (Kazakhstán = Kazakhstan), writes
Kazakh Cyrillic letters as their Russian neighbours (Тоқаев = Токаев) and turns every
run of punctuation and spaces into one space. All of it is done with C-speed string
methods: the matcher folds every article, and a per-character Python loop would cost
more than the whole Aho-Corasick scan.

`latinize()` (normality + ICU) transliterates whole aliases (Қазақстан -> kazakstan) so
that a Latin text spelling a Cyrillic name the ICU way is caught too.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from dataclasses import dataclass
from functools import cached_property, lru_cache
from itertools import accumulate, repeat
from operator import sub

# A run of characters that are neither letters, digits nor combining marks.
# Combining marks are word characters (part of the letter before them); Python's \W says
# otherwise, and the exact pattern is three times slower, so it serves only texts that have them.
_COMBINING = re.compile(r"[\u0300-\u036f\u0483-\u0489]")
_EXACT_SEPARATOR = r"(?:[^\w\u0300-\u036f\u0483-\u0489]|_)"
_FAST_SEPARATOR = r"[\W_]"
_PATTERNS = {
    exact: (re.compile(sep + "+"), re.compile(sep + "{2,}"))
    for exact, sep in ((True, _EXACT_SEPARATOR), (False, _FAST_SEPARATOR))
}
# Characters _TABLE changes: most English text has none and skips the (slow) translate.
_ACCENTED = re.compile("[\u00c0-\u024fәғқңөұүһіё]")
# ASCII text (most English news) takes a faster path: punctuation becomes spaces by one
# translate, and split() squeezes the runs; the regular expression costs four times as much.
_ASCII_SEPARATORS = str.maketrans({chr(code): " " for code in range(128) if not chr(code).isalnum()})
_SPAN = re.Match.span
_SPACE_RUNS = re.compile("  +")  # as " {2,}", but a literal first lets re skip ahead (3x faster)


def _same_length_table() -> dict[int, str]:
    """One character for one: Latin letters without accents, Kazakh letters as Russian ones."""
    table = {}
    for code in range(0xC0, 0x250):
        base = unicodedata.normalize("NFD", chr(code))[0]
        if base.isascii() and base.isalpha() and base != chr(code):
            table[code] = base
    kazakh = {"ә": "а", "ғ": "г", "қ": "к", "ң": "н", "ө": "о", "ұ": "у", "ү": "у", "һ": "х", "і": "и"}
    for letter, russian in kazakh.items():
        table[ord(letter)] = russian
    table[ord("ё")] = "е"
    return table


_TABLE = _same_length_table()


@dataclass(frozen=True)
class Folded:
    text: str  # folded: lower-cased, one space between words, none at either end
    lowered: str  # the source lower-cased and translated (ASCII: separators as spaces), same length
    long_separators: re.Pattern | None  # how to find the runs that shift offsets
    origin: tuple[int, ...] | None = None  # per-character map, only for the rare slow path
    words: list[str] | None = None  # text.split(" "), where folding made it anyway (ASCII text)

    @cached_property
    def _shifts(self) -> tuple[list[int], list[int]]:
        """Where the folded text skips source characters: (folded offsets, total shift from
        there on), sorted. A one-character separator became one space and shifts nothing;
        longer runs (", ", ". ") and a leading run do. Computed only when a hit needs it."""
        lowered = self.lowered
        runs = list(map(_SPAN, self.long_separators.finditer(lowered)))  # of two or more
        starts, ends = (list(column) for column in zip(*runs)) if runs else ([], [])
        grown = list(map(sub, map(sub, ends, starts), repeat(1)))  # each run but a leading one keeps one space
        if runs and starts[0] == 0:
            grown[0] += 1  # a leading run is dropped whole
        elif lowered and not is_word_char(lowered[0]):
            ends.insert(0, 1)  # as is a leading one-character separator
            grown.insert(0, 1)
        if ends and ends[-1] == len(lowered):
            del ends[-1], grown[-1]  # a trailing run shifts nothing that follows
        shifts = list(accumulate(grown))
        return list(map(sub, ends, shifts)), shifts

    def source_offset(self, index: int) -> int:
        if self.origin is not None:
            return self.origin[index]
        jumps, shifts = self._shifts
        at = bisect.bisect_right(jumps, index) - 1
        return index + (shifts[at] if at >= 0 else 0)

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The source span of folded text[start:end]."""
        return self.source_offset(start), self.source_offset(end - 1) + 1


def is_word_char(char: str) -> bool:
    return char.isalnum() or unicodedata.category(char) in ("Mn", "Mc")


def fold(source: str) -> Folded:
    lowered = source.lower()
    if len(lowered) != len(source):  # "İ".lower() is two characters: keep offsets exact
        return _fold_slowly(source)
    if lowered.isascii():
        spaced = lowered.translate(_ASCII_SEPARATORS)
        words = spaced.split()
        return Folded(" ".join(words), spaced, _SPACE_RUNS, None, words)
    if _ACCENTED.search(lowered):
        lowered = lowered.translate(_TABLE)
    separators, long_separators = _PATTERNS[bool(_COMBINING.search(lowered))]
    text = separators.sub(" ", lowered)
    first = 1 if text.startswith(" ") else 0
    return Folded(text[first:].rstrip(" "), lowered, long_separators)


def _fold_slowly(source: str) -> Folded:
    chars: list[str] = []
    origin: list[int] = []
    pending_space = False
    for index, char in enumerate(source):
        if not is_word_char(char):
            pending_space = bool(chars)
            continue
        if pending_space:
            chars.append(" ")
            origin.append(index)
            pending_space = False
        for lowered in unicodedata.normalize("NFC", char.lower()):
            if unicodedata.category(lowered) in ("Mn", "Mc") and char.isalpha():
                continue  # combining dot of "İ".lower(): drop it, keep one char per letter
            chars.append(lowered.translate(_TABLE))
            origin.append(index)
    return Folded("".join(chars), "", None, tuple(origin))


def fold_term(term: str) -> str:
    return fold(term).text


@lru_cache(maxsize=65536)
def latinize(term: str) -> str:
    """The ICU Latin transliteration of a term, folded ("Қазақстан" -> "kazakstan")."""
    from normality import normalize  # imported late: ICU loads in ~0.1 s

    return fold_term(normalize(term, latinize=True) or "")


def is_cyrillic(char: str) -> bool:
    return "\u0400" <= char <= "\u04ff"
