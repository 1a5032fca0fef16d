"""Text normalization that keeps offsets honest.

`fold("Kassym-Jomart Tokayev’s")` gives `"kassym jomart tokayev s"` and, for every
character of that result, the offset of the original character it came from, so a
hit found in the folded text points at the right place in the article.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass


@dataclass(frozen=True)
class Folded:
    text: str  # lower-cased, punctuation as single spaces, no leading/trailing space
    origin: tuple[int, ...]  # origin[i] = offset in the source string of text[i]

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The source span of folded text[start:end]."""
        return self.origin[start], self.origin[end - 1] + 1


def is_word_char(char: str) -> bool:
    return char.isalnum() or unicodedata.category(char) in ("Mn", "Mc")


def fold(source: str) -> Folded:
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
            chars.append(lowered)
            origin.append(index)
    return Folded("".join(chars), tuple(origin))


def fold_term(term: str) -> str:
    return fold(term).text


def is_cyrillic(char: str) -> bool:
    return "\u0400" <= char <= "\u04ff"
