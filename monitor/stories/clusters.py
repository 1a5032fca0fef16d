"""Same-event grouping: online, incremental, explainable. Pure, no I/O.

Each new article is placed on arrival (Miranda et al., EMNLP 2018, do the same):
1. a copy of an article seen in the window (MinHash, see duplicates.py) joins that article's
   story and records `duplicate_of`;
2. otherwise the stories that share a distinctive word or a name with it are looked up in
   an inverted index over the active window (never every stored article), each is scored,
   and the article joins the best one at or above JOIN_THRESHOLD, or starts a story.

Score, same language: TEXT_WEIGHT * TF-IDF cosine with the story's centroid + NAME_WEIGHT *
overlap of names and entities, times a decay over the days between the article and the
story. Another language: words cannot be compared, so names and entities alone decide,
more strictly (CROSS_LANGUAGE_*). Every placement carries the why: score, shared names,
top terms, days apart.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Hashable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from monitor.stories import duplicates
from monitor.stories.profiles import Profile

TEXT_WEIGHT = 0.7
NAME_WEIGHT = 0.3
# Days after which the time factor has fallen to 1/e: news events are told over a few days.
TIME_DECAY_DAYS = 3.0
# Stories whose last article lies further back than this are closed (EMM links over 7 days).
WINDOW_DAYS = 7
# Tuned on tests/data/stories/labeled.jsonl with benchmarks/story_quality.py.
JOIN_THRESHOLD = 0.17
# Another language joins a story only on strong agreement of names, close in time.
CROSS_LANGUAGE_MIN_SHARED = 2
CROSS_LANGUAGE_MAX_DAYS = 2.0
CROSS_LANGUAGE_THRESHOLD = 0.11
# A name belongs to a story's core when at least this share of its articles mention it.
CORE_NAME_SHARE = 0.4
# Candidate look-up: the article's most distinctive words, and how many stories to score.
LOOKUP_TERMS = 12
MAX_CANDIDATES = 40


@dataclass(frozen=True)
class Placement:
    story_id: Hashable | None  # None: start a new story
    score: float
    reason: dict
    duplicate_of: Hashable | None = None


@dataclass
class _Story:
    centroid: Counter = field(default_factory=Counter)  # sum of unit TF-IDF vectors
    norm2: float = 0.0
    names: Counter = field(default_factory=Counter)
    languages: Counter = field(default_factory=Counter)
    keys: set = field(default_factory=set)  # its entries in the inverted index
    size: int = 0
    first: datetime | None = None
    last: datetime | None = None

    def core_names(self) -> set[str]:
        needed = max(1, math.ceil(CORE_NAME_SHARE * self.size))
        return {name for name, n in self.names.items() if n >= needed}

    def days_from(self, when: datetime) -> float:
        if self.first <= when <= self.last:
            return 0.0
        gap = self.first - when if when < self.first else when - self.last
        return gap.total_seconds() / 86400


class StoryIndex:
    """The active stories, the copies' signatures and the document frequencies of the window."""

    def __init__(self) -> None:
        self.stories: dict[Hashable, _Story] = {}
        self._postings: dict[str, set] = {}
        self._df: Counter = Counter()
        self._docs = 0
        self._copies = duplicates.CopyIndex()
        self._story_of: dict[Hashable, Hashable] = {}  # article key -> story id
        self._seen_at: dict[Hashable, datetime] = {}  # article key -> date, for expiry
        self._newest: datetime | None = None
        self._expired_until: datetime | None = None

    # -- scoring ------------------------------------------------------------------------

    def _vector(self, terms: dict[str, float]) -> dict[str, float]:
        """Unit-length TF-IDF vector, with document frequencies as the window knows them."""
        n = self._docs + 1
        vector = {t: w * (math.log(n / (1 + self._df[t])) + 1) for t, w in terms.items()}
        norm = math.sqrt(sum(v * v for v in vector.values())) or 1.0
        return {t: v / norm for t, v in vector.items()}

    def _score(self, profile: Profile, vector: dict[str, float], story: _Story) -> tuple[float, dict]:
        days = story.days_from(profile.when)
        decay = math.exp(-days / TIME_DECAY_DAYS)
        core = story.core_names()
        shared = profile.names & core
        # Cosine of the two sets: a long list of names on one side (German capitalizes
        # every noun) dilutes the overlap less than Jaccard would.
        overlap = len(shared) / math.sqrt(len(profile.names) * len(core)) if shared else 0.0
        same_language = story.languages[profile.language] > 0
        if same_language:
            dot = sum(v * story.centroid.get(t, 0.0) for t, v in vector.items())
            text = dot / math.sqrt(story.norm2) if story.norm2 else 0.0
            score = (TEXT_WEIGHT * text + NAME_WEIGHT * overlap) * decay
            threshold = JOIN_THRESHOLD
        else:
            text = 0.0
            strong = len(shared) >= CROSS_LANGUAGE_MIN_SHARED and days <= CROSS_LANGUAGE_MAX_DAYS
            score = overlap * decay if strong else 0.0
            threshold = CROSS_LANGUAGE_THRESHOLD
        top = sorted((t for t in vector if t in story.centroid), key=lambda t: -vector[t] * story.centroid[t])[:8]
        return round(score, 4), {
            "threshold": threshold,
            "text": round(text, 4),
            "names": round(overlap, 4),
            "days_apart": round(days, 2),
            "time_factor": round(decay, 4),
            "shared_entities": sorted(n[1:] for n in shared if n.startswith("@")),
            "shared_names": sorted(n for n in shared if not n.startswith("@")),  # consonant skeletons
            "top_terms": top,
            "language": profile.language if same_language else f"{profile.language} (story: {story.languages.most_common(1)[0][0]})",
        }

    def _candidates(self, profile: Profile, vector: dict[str, float]) -> list:
        keys = sorted(vector, key=vector.get, reverse=True)[:LOOKUP_TERMS] + sorted(profile.names)
        hits: Counter = Counter()
        for key in keys:
            hits.update(self._postings.get(key, ()))
        horizon = timedelta(days=WINDOW_DAYS)
        active = [s for s, _ in hits.most_common() if self.stories[s].last >= profile.when - horizon]
        return active[:MAX_CANDIDATES]

    # -- placing and adding -------------------------------------------------------------

    def place(self, profile: Profile, signature) -> Placement:
        """Where the article belongs: the story of the article it copies, the best story, or none."""
        copy = self._copies.find(signature)
        if copy is not None:
            original, similarity = copy
            return Placement(
                self._story_of[original],
                round(similarity, 4),
                {"rule": f"copy of article {original}", "similarity": round(similarity, 4), "threshold": duplicates.COPY_THRESHOLD},
                duplicate_of=original,
            )
        vector = self._vector(profile.terms)
        best = Placement(None, 0.0, {"rule": "new story: no active story reached the threshold", "threshold": JOIN_THRESHOLD})
        scores = []
        for story_id in self._candidates(profile, vector):
            score, reason = self._score(profile, vector, self.stories[story_id])
            scores.append(score)
            if score >= reason["threshold"] and score > best.score:
                best = Placement(story_id, score, {"rule": "joined the most similar story", **reason})
        scores.sort(reverse=True)
        best.reason["candidates"] = len(scores)
        best.reason["next_best"] = scores[1] if best.story_id is not None and len(scores) > 1 else (scores[0] if scores and best.story_id is None else None)
        return best

    def add(self, key: Hashable, story_id: Hashable, profile: Profile, signature=None, is_copy: bool = False) -> None:
        """Record that article `key` is in `story_id` (a copy's signature is not kept)."""
        self._expire(profile.when)
        vector = self._vector(profile.terms)
        self._df.update(profile.terms.keys())
        self._docs += 1
        story = self.stories.setdefault(story_id, _Story())
        for t, v in vector.items():
            old = story.centroid[t]
            story.centroid[t] = old + v
            story.norm2 += 2 * old * v + v * v
        story.names.update(profile.names)
        story.languages[profile.language] += 1
        story.size += 1
        story.first = profile.when if story.first is None else min(story.first, profile.when)
        story.last = profile.when if story.last is None else max(story.last, profile.when)
        new_keys = set(sorted(vector, key=vector.get, reverse=True)[:LOOKUP_TERMS]) | set(profile.names)
        for k in new_keys - story.keys:
            self._postings.setdefault(k, set()).add(story_id)
        story.keys |= new_keys
        self._story_of[key] = story_id
        self._seen_at[key] = profile.when
        if not is_copy:
            self._copies.add(key, signature)

    def _expire(self, when: datetime) -> None:
        """Close the stories and forget the articles that fell out of the window (once a day)."""
        self._newest = when if self._newest is None else max(self._newest, when)
        cutoff = self._newest - timedelta(days=2 * WINDOW_DAYS)
        if self._expired_until is not None and cutoff - self._expired_until < timedelta(days=1):
            return
        self._expired_until = cutoff
        for story_id in [s for s, story in self.stories.items() if story.last < cutoff]:
            for k in self.stories.pop(story_id).keys:
                members = self._postings.get(k)
                if members is not None:
                    members.discard(story_id)
                    if not members:
                        del self._postings[k]
        for key in [k for k, seen in self._seen_at.items() if seen < cutoff]:
            del self._seen_at[key]
            del self._story_of[key]
            self._copies.remove(key)
