"""What clustering knows of an article: weighted word stems, names, entities, date, language.

Pure functions, no I/O. Words are stemmed in the article's language (Snowball, PyStemmer)
so that protest, protests and protesters count as one. Names are capitalized words
(Masimov, Zhanaozen, Blinken) reduced to a consonant skeleton of their Latin spelling, so
that Масимов and Masimov, Назарбаева and Nazarbayev, Tokaev and Tokayev are one name:
names tell one event from another about the same country, and carry across languages.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache

import Stemmer
from normality import ascii_text

from monitor.stories import tokens

# Title words say more about the event than body words (the same weight rules give titles).
TITLE_TERM_WEIGHT = 3
MIN_TERM_LENGTH = 3
MIN_NAME_LENGTH = 4
# Share of Cyrillic letters from which a text is taken as Russian when no language is given.
CYRILLIC_SHARE = 0.3

STOPWORDS = {
    "en": frozenset(
        """the and for that with was were are has had have from this which who whom whose will would
        said says say its their they them his her she him our out not but also been being into over
        than then there these those what when where while about after before more most some such only
        other any all can could may might must should did does doing just very own same both each few
        per via amid among upon against between through during without within along across under
        again further once here why how off too yet nor one two new it's mr mrs ms""".split()
    ),
    "de": frozenset("der die das und nicht mit ist von den des ein eine auf für sich dem im zu sie wird wurde auch".split()),
    "fr": frozenset("les des est une dans pour pas sur que qui avec par son ses aux sont été ont cette".split()),
    "es": frozenset("los las del una por con para que est son sus como más pero fue han este".split()),
    "ru": frozenset(
        """и в во не что он на я с со как а то все она так его но да ты к у же вы за бы по только ее мне
        было вот от меня еще нет о из ему теперь когда даже ну вдруг ли если уже или ни быть был него до
        вас нибудь опять уж вам ведь там потом себя ничего ей может они тут где есть надо ней для мы тебя
        их чем была сам чтоб без будто чего раз тоже себе под будет ж тогда кто этот того потому этого
        какой совсем ним здесь этом один почти мой тем чтобы нее сейчас были куда зачем всех никогда можно
        при наконец два об другой хоть после над больше тот через эти нас про всего них какая много разве
        три эту моя впрочем хорошо свою этой перед иногда лучше чуть том нельзя такой им более всегда
        конечно всю между также заявил сообщил года году""".split()
    ),
}
_ALL_STOPWORDS = frozenset().union(*STOPWORDS.values())
# Capitalized words that name no one: days, months, titles. They would tie every report of
# a week together.
NOT_NAMES = frozenset(
    """monday tuesday wednesday thursday friday saturday sunday january february march april may
    june july august september october november december president minister ministry prime
    secretary department state government spokesman spokeswoman spokesperson deputy chairman
    понедельник вторник среда четверг пятница суббота воскресенье январь января февраля марта
    апреля мая июня июля августа сентября октября ноября декабря президент министр""".split()
)
_WORD = re.compile(r"\w+")
# Acronyms that each language spells its own way, by their English form: the EU is UE in
# French and ЕС in Russian. (Rule entities carry the ones the rules know, such as ОДКБ.)
_SAME_ACRONYM = {
    "eu": ("ue", "ес"), "un": ("onu", "оон", "uno"), "nato": ("otan", "нато"), "us": ("usa", "сша"),
    "lng": ("gnl", "спг"), "imf": ("fmi", "мвф", "iwf"), "csto": ("otsc", "ovks", "одкб", "odkb"),
    "eaeu": ("еаэс", "eawu", "uee"),
    "fsb": ("фсб",), "kgb": ("кгб",), "knb": ("кнб",), "cis": ("снг", "gus", "cei"), "sco": ("шос", "ocs", "soz"),
    "ebrd": ("еброр", "berd", "ebwe"), "wto": ("вто", "omc"),
}
_ACRONYM_KEY = {other: english for english, others in _SAME_ACRONYM.items() for other in (english, *others)}
# A capital not after a letter or a dot (the look-behind after the capital: the scan then
# skips to capitals at C speed).
_NAME = re.compile(r"[A-ZА-ЯЁҚӘҒҢӨҰҮҺІ](?<![\w.].)[\w'’-]+")
_POSSESSIVE = re.compile(r"['’]s$")
_SENTENCE_START = re.compile(r"(?:^|[.!?:»\"“]\s+)([\w'’-]+)")


@dataclass(frozen=True)
class Profile:
    """An article as clustering sees it."""

    terms: dict[str, float]  # word -> log-scaled count, title words weighted
    names: frozenset[str]  # transliterated proper names and "@entity" ids the rules know
    when: datetime
    language: str
    title_names: frozenset[str] = frozenset()  # the names of the headline
    title_terms: dict[str, float] = field(default_factory=dict)  # the stems of the headline
    spelled: dict[str, str] = field(default_factory=dict)  # name key -> the word as written, for explanations


def language_of(title: str, text: str, declared: str | None) -> str:
    """The declared language ("en-US" -> "en"), else a guess from the script and stopwords."""
    if declared:
        return declared.split("-")[0].split("_")[0].lower()
    sample = f"{title} {text[:2000]}"
    letters = [c for c in sample if c.isalpha()]
    if letters and sum("\u0400" <= c <= "\u04ff" for c in letters) / len(letters) >= CYRILLIC_SHARE:
        return "ru"
    words = Counter(w for w in _WORD.findall(sample.casefold()))
    votes = {lang: sum(words[w] for w in stop) for lang, stop in STOPWORDS.items() if lang != "ru"}
    return max(votes, key=lambda lang: (votes[lang], lang == "en"))


_STEMMERS = {"en": "english", "ru": "russian", "de": "german", "fr": "french", "es": "spanish", "it": "italian"}
# Transliteration variants folded before the vowels go: Kh/Ch/H (Kazakhstan, Kasachstan),
# Zh/J/Z/S (Zhomart, Jomart; Kazakh, Kasach), Sh/S, Ts/C.
# German spellings first: Tadschikistan and Tadzhikistan are Tajikistan; Khorugh is Khorog.
_DIGRAPHS = (
    ("dsch", "s"), ("dzh", "s"), ("dz", "s"), ("sch", "s"), ("gh", "g"),
    ("kh", "h"), ("ch", "h"), ("zh", "s"), ("sh", "s"), ("ts", "c"), ("j", "s"), ("z", "s"), ("x", "ks"),
)
# Russian case endings that carry a consonant (vowel endings vanish with the vowels): the
# instrumental Мамадбокировым, the adjectival genitive -ого, the locative plural -ах are the
# name Мамадбокиров; what remains must keep MIN_CASE_STEM letters (Ислом stays Ислом). -им
# is left alone: it ends names (Ибрагим, Рахим).
_CASE_ENDING = re.compile(r"(?:ым|ом|ем|ого|его|ому|ему|ых|ами|ями|ах|ях)$")
MIN_CASE_STEM = 4
_VOWELS = re.compile(r"[aeiouy]+|[^a-z]+")
# A skeleton of fewer consonants than this says too little (Ali, Uzbek -> "zbk" is kept).
MIN_SKELETON = 3


# Words whose stems are remembered, per language (a dict look-up costs a fifth of a
# Snowball run); the memo starts afresh when it grows past this.
STEM_CACHE = 200_000
_STEMS: dict[str, dict[str, str]] = {}


@lru_cache(maxsize=16)
def _stemmer(language: str):
    return Stemmer.Stemmer(_STEMMERS.get(language, "english"), 0)


def stems(field: str, language: str = "en") -> dict[str, int]:
    """Stem -> count of the field's words of three letters or more, stopwords and numbers
    left out (each distinct word stemmed once; a word left out is remembered as stemming to "")."""
    memo = _STEMS.get(language)
    if memo is None or len(memo) > STEM_CACHE:
        memo = _STEMS[language] = dict.fromkeys(_ALL_STOPWORDS, "")
    counts: dict[str, int] = {}
    get, known = counts.get, memo.get
    for word, n in Counter(tokens.words(field)).items():
        stem = known(word)
        if stem is None:
            stem = memo[word] = _stemmer(language).stemWord(word) if _is_term(word) else ""
        if stem:
            counts[stem] = get(stem, 0) + n
    return counts


def _is_term(word: str) -> bool:
    """Three characters or more, a letter among them (no bare numbers)."""
    return len(word) >= MIN_TERM_LENGTH and any(not (c.isdecimal() or c == "_") for c in word)


# 1 + log(count), by table for the counts most words have.
_LOG_WEIGHT = [0.0] + [1 + math.log(n) for n in range(1, 64)]


def terms_of(title_stems: dict[str, int], text: str, language: str = "en") -> dict[str, float]:
    counts = stems(text, language)
    get = counts.get
    for word, n in title_stems.items():
        counts[word] = get(word, 0) + TITLE_TERM_WEIGHT * n
    table, size = _LOG_WEIGHT, len(_LOG_WEIGHT)
    return {word: table[n] if n < size else 1 + math.log(n) for word, n in counts.items()}


@lru_cache(maxsize=100_000)
def skeleton(word: str) -> str:
    """Masimov, Масимов, Масимовым -> "msmv"; Nazarbayev, Назарбаева -> "nsrbv"; "" when too short.
    A possessive or plural s goes first: Kazakhs and Kazakh, CSTO's and CSTO are one name."""
    word = re.sub(r"(?<=[^sS])['’]?s$", "", word).casefold()
    if not word.isascii():
        ending = _CASE_ENDING.search(word)
        if ending and ending.start() >= MIN_CASE_STEM:
            word = word[: ending.start()]
        word = word.replace("й", "и")  # a semivowel, as English writes it (Sooronbai), not the j of Jomart
    latin = ascii_text(word)
    for digraph, single in _DIGRAPHS:
        latin = latin.replace(digraph, single)
    consonants = re.sub(r"(.)\1+", r"\1", _VOWELS.sub("", latin))
    return consonants if len(consonants) >= MIN_SKELETON else ""


def names_of(field: str, sentences: bool = True) -> dict[str, str]:
    """Capitalized words (that do not merely start a sentence) as consonant skeletons, and
    acronyms (EU, OFAC, КНБ) as "#" + the acronym; each key with the word as written."""
    found: dict[str, str] = {}
    starts = {m.start(1) for m in _SENTENCE_START.finditer(field)} if sentences else set()
    for m in _NAME.finditer(field):
        word = _POSSESSIVE.sub("", m.group()).strip("'’-")
        if m.start() in starts or word.casefold() in _ALL_STOPWORDS or word.casefold() in NOT_NAMES:
            continue
        if word.isupper() and 2 <= len(word) <= 6:
            folded = word.casefold()
            found.setdefault("#" + _ACRONYM_KEY.get(folded, folded), word)
        elif len(word) >= MIN_NAME_LENGTH and not word.isupper():
            found.setdefault(skeleton(word), word)
    found.pop("", None)
    return found


def profile(title: str, text: str, entities, when: datetime, language: str | None = None) -> Profile:
    body = names_of(text)
    # A headline capitalizes words that are no names ("Protests Spread In West"): its names
    # are the ones the body writes with a capital too.
    headline = frozenset(names_of(title, sentences=False).keys() & body.keys())
    names = frozenset(body.keys() | {f"@{e}" for e in entities})
    language = language_of(title, text, language)
    title_stems = stems(title, language)
    title_terms = dict.fromkeys(title_stems, 1.0)
    return Profile(terms_of(title_stems, text, language), names, when, language, headline, title_terms, body)
