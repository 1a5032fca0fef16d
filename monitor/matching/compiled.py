"""The compiled rule set: one automaton over the terms of every rule, and what each key stands for.

`compile_rules(ruleset)` builds ONE Aho-Corasick automaton over the aliases, keywords and
phrases of every rule, plus the pieces of long aliases that seed fuzzy matching (fuzzy.py),
and the tables that turn what the automaton finds into candidate rules. Every key starts
with a space: it begins a word. So what the automata find in a text is what they find in
each of its words, plus the keys of several words (phrases), which are kept apart by their
first word: the engine runs the automata over each distinct word once (vocabulary.py), not
over every article.

A keyword that is no entity and makes no rule a candidate (most terms of a large rule set:
the other operands of an AND) stays out of the automaton (`term_keys`): it matters only in
an article where a rule using it is a candidate, and there it is looked up among the
field's words (`term_words`) or searched for (`term_texts`). In the automaton, such keys
would make most words of an article mean something. The automaton keeps the keys whose
hits make rules candidates or need a closer look (engine.py reads their values):

- a Key: an entity, a trigger, or patterns to check at each hit (the case of an acronym,
  a Cyrillic ending), possibly with fuzzy pieces;
- Seeds: a fuzzy piece and nothing else.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from functools import cached_property

import ahocorasick

from monitor.matching.entities import is_acronym
from monitor.matching.fuzzy import Seeds, fuzzy_seeds, seed_index
from monitor.matching.normalize import fold_term, is_cyrillic, latinize
from monitor.matching.query import terms_of
from monitor.matching.rulefile import Rule, RuleSet
from monitor.matching.vocabulary import Vocabulary


@dataclass(frozen=True)
class Pattern:
    term: str  # "@entity" or the keyword as written in the rule
    alias: str  # as written in the file
    folded: str
    case_sensitive: bool
    prefix: bool  # keyword ending in '*'

    @cached_property
    def letters(self) -> str:
        """The alias without its punctuation, as an acronym must be written."""
        return "".join(filter(str.isalnum, self.alias))


@dataclass(frozen=True, slots=True, eq=False)  # hashed by identity: sets of them are cheap
class Key:
    """What a key stands for when it needs more than noting its keyword (see the module
    docstring)."""

    size: int  # length of the key, spaces included
    trail: int  # 1 when the key ends with a space (a whole word), else 0
    plain: frozenset[str]  # terms found wherever the key is: no case or ending to check
    checked: tuple[Pattern, ...]  # patterns whose every hit is checked (acronyms, Cyrillic endings)
    gate: str  # when every checked pattern is this one-word acronym: its letters (else ""); see engine.py
    seeds: Seeds | None  # fuzzy pieces that start a word
    rules: tuple[int, ...]  # the rules the `plain` terms make candidates


@dataclass(frozen=True)
class Matcher:
    ruleset: RuleSet
    automaton: ahocorasick.Automaton  # " folded key" of one word -> a Key, or (a fuzzy piece alone) Seeds
    backward: ahocorasick.Automaton  # reversed fuzzy pieces that end a word -> Seeds
    inner: ahocorasick.Automaton  # fuzzy pieces inside a long single word -> Seeds
    long_words: re.Pattern  # in " folded text ", the words long enough to hold an inner piece's variant
    term_keys: dict[str, tuple[tuple[str, int], ...]]  # keyword -> (key, trail) of its keys left out of the automata
    term_words: dict[str, frozenset[str]]  # keyword -> the words its whole-word keys of one word stand for
    term_texts: dict[str, tuple[str, ...]]  # keyword -> its other keys left out
    triggers: dict[str, tuple[int, ...]]  # term -> indexes of the rules it can make fire
    denied: dict[str, frozenset[str]]  # "@entity" -> folded look-alikes, for entities that have some
    vocabulary: Vocabulary  # what the automata find in each word (vocabulary.py), and the keys of several words


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


def _automaton(entries: dict[str, object]) -> ahocorasick.Automaton:
    automaton = ahocorasick.Automaton()
    for key, value in entries.items():
        automaton.add_word(key, value)
    if len(automaton):
        automaton.make_automaton()
    return automaton


def _values(ruleset: RuleSet, seeds: dict[str, Seeds], triggers: dict[str, tuple[int, ...]]) -> tuple[dict, dict]:
    """(what each key of the automaton stands for: a Key or Seeds, the keys left out of it by keyword)."""
    # A prefix ("sanction*") or a Cyrillic alias (case endings) leaves the end of its key
    # open; every other term is a whole word: " key ".
    by_key: dict[str, list[Pattern]] = defaultdict(list)
    for pattern in _patterns(ruleset):
        open_end = pattern.prefix or is_cyrillic(pattern.folded[-1])
        by_key[" " + pattern.folded + ("" if open_end else " ")].append(pattern)
    values: dict[str, Key | Seeds] = {}
    left_out: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for text in sorted(by_key.keys() | seeds.keys()):
        patterns, trail = by_key.get(text, []), int(text.endswith(" "))
        plain = frozenset(p.term for p in patterns if not p.case_sensitive and (trail or p.prefix))
        checked = tuple(p for p in patterns if p.term not in plain)
        # A keyword that is no entity and makes no rule a candidate: see the module docstring.
        for term in sorted(term for term in plain if term[0] != "@" and term not in triggers):
            left_out[term].append((text, trail))
            plain -= {term}
        rules = tuple(sorted({index for term in plain for index in triggers.get(term, ())}))
        if plain or checked:
            values[text] = Key(len(text), trail, plain, checked, _gate(checked), seeds.get(text), rules)
        elif text in seeds:  # a fuzzy piece and nothing else
            values[text] = seeds[text]
    return values, left_out


def _one_word(key: str) -> str:
    """The word a whole-word key of one word stands for (" word " -> "word"), else ""."""
    word = key[1:-1]
    return word if key.endswith(" ") and word and " " not in word else ""


def _gate(checked: tuple[Pattern, ...]) -> str:
    """The letters of the one-word acronym every checked pattern is, if so ("US" of "us ")."""
    letters = {p.letters if p.case_sensitive and " " not in p.folded else "" for p in checked}
    return letters.pop() if len(letters) == 1 else ""


def compile_rules(ruleset: RuleSet) -> Matcher:
    seeds = fuzzy_seeds(ruleset.entities.values())
    sides = {side: seed_index([s for s in seeds if s.side == side]) for side in ("start", "end", "inner")}
    triggers: dict[str, list[int]] = defaultdict(list)
    for index, rule in enumerate(ruleset.rules):
        for term in rule.triggers:
            triggers[term].append(index)
    values, term_keys = _values(ruleset, sides["start"], triggers)
    phrases: dict[str, list[tuple[str, Key]]] = defaultdict(list)  # first word -> keys of several words
    for text in [text for text in values if " " in text[1:].rstrip(" ")]:
        phrases[text[1:].split(" ")[0]].append((text, values.pop(text)))
    shortest = min((len(s.alias.alias) - s.alias.edits for s in seeds if s.side == "inner"), default=1)
    automaton, backward, inner = _automaton(values), _automaton(sides["end"]), _automaton(sides["inner"])
    long_words = re.compile(f" ([^ ]{{{shortest},}})")  # a literal first: the scan skips ahead fast
    denied = {f"@{e.id}": frozenset(fold_term(d) for d in e.deny) for e in ruleset.entities.values() if e.deny}
    return Matcher(
        ruleset=ruleset,
        automaton=automaton,
        backward=backward,
        inner=inner,
        long_words=long_words,
        term_keys={term: tuple(keys) for term, keys in term_keys.items()},
        term_words={term: words for term, keys in term_keys.items() if (words := frozenset(filter(None, (_one_word(key) for key, _ in keys))))},
        term_texts={term: texts for term, keys in term_keys.items() if (texts := tuple(key for key, _ in keys if not _one_word(key)))},
        triggers={term: tuple(indexes) for term, indexes in triggers.items()},
        denied=denied,
        vocabulary=Vocabulary(automaton, backward, inner, long_words, {word: tuple(keys) for word, keys in phrases.items()}, denied),
    )


def _terms_of_rule(rule: Rule) -> frozenset[str]:
    query = {t.key for t in terms_of(rule.query, positive=False)} if rule.query is not None else set()
    return frozenset({term for term, _ in rule.terms} | set(rule.exclude) | query)
