"""What each word means to the compiled rules, worked out once per word and rule set.

Every automaton key (compiled.py) begins at the start of a word, and a fuzzy piece lies in
one word. So a key found in a text lies within one word (with the space after it, for a
whole-word key), or runs over several words of which the first is whole (a phrase). What the
automata find in a text is therefore what they find in each of its words, plus the phrases
that begin with one of its words.

mentions.py splits a field into words and asks `Vocabulary.present()` which of its distinct
words mean something. A word this rule set has not met is looked at once: the words new to
an article are joined into one short string and run through the automata together. A word
met before costs a hash lookup. News repeats its words (Zipf's law: after a few thousand
articles nearly every word of the next one is known), so the cost per article follows its
length and what it mentions, not the size of the automata: with 10,000 rules, three passes
of automata too large for the CPU's caches cost three times what they cost with ten.

The word-length tests of the fuzzy pieces (fuzzy.py) are made here too, once per word: a
piece whose word is too short or too long for any alias it stands for never reaches the
engine.

This is the one mutable part of a compiled rule set: a memo, keyed by the word, of a pure
function of the word. It forgets everything once it holds MAX_WORDS words.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from itertools import accumulate
from typing import TYPE_CHECKING

import ahocorasick

from monitor.matching.fuzzy import Close, SeedGroup, Seeds, word_variants

if TYPE_CHECKING:
    from monitor.matching.compiled import Key

# Distinct words remembered before starting afresh: a few hundred bytes each, so about 100 MB
# at most; a year of a few hundred feeds has fewer distinct words than that.
MAX_WORDS = 300_000


@dataclass(frozen=True, slots=True, eq=False)
class WordHits:
    """What the automata find in one word, for the engine to place at its occurrences when needed."""

    plain: tuple[Key, ...]  # the Keys found at the word's start that stand for terms wherever they are
    checked: tuple[Key, ...]  # those with patterns to check at each occurrence (a Key may be both)
    close: Close  # the one-word aliases the word is a variant of
    groups: tuple[SeedGroup, ...]  # the longer aliases whose windows around the word may be variants
    phrases: tuple[tuple[str, Key], ...]  # (key, Key) of the keys of several words that begin with this word
    placed: bool  # whether each occurrence must be visited as soon as the field is scanned
    group_terms: frozenset[str]  # the terms of the aliases of `groups`


class Vocabulary:
    def __init__(
        self,
        automaton: ahocorasick.Automaton,
        backward: ahocorasick.Automaton,
        inner: ahocorasick.Automaton,
        long_words: re.Pattern,
        phrases: dict[str, tuple[tuple[str, Key], ...]],
        denied: dict[str, frozenset[str]],
    ):
        self.automaton, self.backward, self.inner, self.long_words = automaton, backward, inner, long_words
        self.phrases, self.denied = phrases, denied
        # (the words looked at that mean nothing, the others with their hits): replaced as a
        # whole when full, so that a reader always holds two that agree.
        self.memo: tuple[set[str], dict[str, WordHits]] = (set(), {})

    def present(self, words: set[str]) -> dict[str, WordHits]:
        """The words of `words` that hold a hit or begin a phrase, with their hits.

        One pass over the words: those that are not known to mean nothing are the few that
        mean something, or are new."""
        boring, hits = self.memo
        found, novel = {}, []
        for word in words - boring:
            meaning = hits.get(word)
            if meaning is None:
                novel.append(word)
            else:
                found[word] = meaning
        if novel:
            if len(boring) + len(hits) + len(novel) > MAX_WORDS:
                self.memo = boring, hits = set(), {}
                found, novel = {}, list(words)  # the words known before are forgotten too
            learned = self._learn(novel)
            hits.update(learned)
            boring.update(word for word in novel if word not in learned)  # last: once its hits are in place
            found.update(learned)
        return found

    def _learn(self, words: list[str]) -> dict[str, WordHits]:
        """The hits of those of the words that have some."""
        padded = f" {' '.join(words)} "
        spaces = list(accumulate(map((1).__add__, map(len, words)), initial=0))  # the space before each word, and the last
        keys: list[list] = [[] for _ in words]
        seeds: list[list] = [[] for _ in words]
        if len(self.automaton):
            for last, value in self.automaton.iter(padded):
                index = bisect.bisect_right(spaces, last - value.size + 1) - 1
                if value.__class__ is not Seeds:
                    keys[index].append(value)
                    value = value.seeds
                if value is not None and value.shortest <= len(words[index]) <= value.longest:
                    seeds[index].append(value)
        if len(self.backward):
            for last, value in self.backward.iter(padded[::-1]):
                index = bisect.bisect_left(spaces, len(padded) - last + value.size - 2) - 1  # the key's space ends the word
                if value.shortest <= len(words[index]) <= value.longest:
                    seeds[index].append(value)
        if len(self.inner):
            for word in self.long_words.finditer(padded):
                index = bisect.bisect_right(spaces, word.start()) - 1
                for last, value in self.inner.iter(word.group(1)):
                    if 2 * value.size - 2 <= last <= 2 * value.size:  # a third into the word, give or take one (fuzzy.py)
                        seeds[index].append(value)
        learned = {}
        for index, word in enumerate(words):
            phrases = self.phrases.get(word, ())
            close, groups = word_variants(word, seeds[index], self.denied) if seeds[index] else ((), ())
            if keys[index] or close or groups or phrases:
                plain = tuple(key for key in keys[index] if key.plain)
                checked = tuple(key for key in keys[index] if key.checked)
                terms = frozenset(alias.term for group in groups for found in group.by_length.values() for alias in found)
                learned[word] = WordHits(plain, checked, close, groups, phrases, bool(checked or phrases or close), terms)
        return learned
