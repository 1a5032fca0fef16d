"""Bounded fuzzy matching of long entity aliases, at a cost that does not grow with the rules.

An alias of FUZZY_MIN_LENGTH letters or more may be misspelt by one edit (Kazakhastan),
one of FUZZY_TWO_EDITS_LENGTH or more by two (Kassym-Shomart Tokayev). By the pigeonhole
principle, a string within k edits of an alias contains at least one of k+1 pieces of it
unchanged. Those pieces go into the same Aho-Corasick automaton as the exact terms; only
where a piece is found do we compare the surrounding words with the alias (Levenshtein).
Acronyms and short words are never matched fuzzily; each entity's deny list names
look-alikes that are never taken for it (Kazan, Tokaj).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from rapidfuzz.distance import Levenshtein

from monitor.matching.entities import Entity, is_acronym
from monitor.matching.normalize import fold_term

# 8+ letters allow 1 edit (Kazakhastan for Kazakhstan): below that one edit turns one
# real word into another too easily (Kazan/Kazah). 16+ allow 2 (Kassym-Shomart Tokayev).
FUZZY_MIN_LENGTH = 8
FUZZY_TWO_EDITS_LENGTH = 16


@dataclass(frozen=True)
class FuzzySeed:
    piece: str  # a stretch of the folded alias that survives up to `edits` edits somewhere
    offset: int  # where the piece starts in the alias
    alias: str  # folded
    written: str  # as in the entity file
    term: str  # "@entity"
    edits: int
    anchor: str | None  # "start": the alias starts where the piece does; "end": ends where it does


def allowed_edits(folded: str) -> int:
    letters = len(folded.replace(" ", ""))
    return 2 if letters >= FUZZY_TWO_EDITS_LENGTH else 1 if letters >= FUZZY_MIN_LENGTH else 0


def fuzzy_seeds(entities: Iterable[Entity]) -> list[FuzzySeed]:
    seeds = []
    for entity in entities:
        if not entity.fuzzy:
            continue
        seen = set()
        for alias in entity.aliases:
            folded = fold_term(alias)
            edits = 0 if is_acronym(alias) else allowed_edits(folded)
            if not edits or folded in seen:  # Kazakhstán folds to Kazakhstan: name the first
                continue
            seen.add(folded)
            size = len(folded) // (edits + 1)
            for index in range(edits + 1):
                start = index * size
                end = len(folded) if index == edits else start + size
                piece, anchor = folded[start:end], None
                # An intact first piece means no edit before it: the alias starts exactly
                # there, at a word start; likewise an intact last piece ends at a word end.
                # The spaces in the key keep hits inside other words out of the automaton.
                if index == 0:
                    piece, start, anchor = " " + piece, -1, "start"
                elif index == edits:
                    piece, anchor = piece + " ", "end"
                seeds.append(FuzzySeed(piece, start, folded, alias, f"@{entity.id}", edits, anchor))
    return seeds


def _word_starts(text: str, low: int, high: int) -> list[int]:
    return [i for i in range(max(low, 0), min(high, len(text)) + 1) if i == 0 or (i < len(text) and text[i - 1] == " ")]


def _word_ends(text: str, low: int, high: int) -> list[int]:
    return [i for i in range(max(low, 1), min(high, len(text)) + 1) if i == len(text) or text[i] == " "]


def fuzzy_mentions(text: str, seeded: list[tuple[int, FuzzySeed]], denied: dict[str, frozenset[str]]):
    """(start, end, term, how) of every stretch of whole words, as many as the alias has,
    within the allowed edits of it."""
    found = {}
    for piece_start, seed in seeded:
        origin = piece_start - seed.offset
        if seed.anchor == "start":
            starts = [origin]
        elif seed.anchor == "end":
            piece_end = piece_start + len(seed.piece) - 1
            starts = _word_starts(text, piece_end - len(seed.alias) - seed.edits, piece_end - len(seed.alias) + seed.edits)
        else:
            starts = _word_starts(text, origin - seed.edits, origin + seed.edits)
        for start in starts:
            expected = start + len(seed.alias)
            ends = [piece_start + len(seed.piece) - 1] if seed.anchor == "end" else _word_ends(text, expected - seed.edits, expected + seed.edits)
            for end in ends:
                window = text[start:end]
                if window.count(" ") != seed.alias.count(" ") or window in denied.get(seed.term, ()):
                    continue
                distance = Levenshtein.distance(window, seed.alias, score_cutoff=seed.edits)
                if 0 < distance <= seed.edits:
                    how = f"fuzzy({distance} edit{'s' * (distance > 1)} of {seed.written})"
                    found[(start, end, seed.term)] = (start, end, seed.term, how)
    return list(found.values())
