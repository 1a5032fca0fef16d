"""Story clustering speed and memory, against a brute-force pairwise baseline.

    .venv/bin/python benchmarks/stories.py [--articles 100000]

A deterministic synthetic stream (seeded): stories of 1 to 12 articles told over one to
three days, 1,000 articles a day, each article 150 to 300 words drawn from its story's own
words and names and from a Zipf-distributed background vocabulary; one article in twenty
is a lightly edited copy of an earlier one. Each article is profiled, signed (MinHash) and
placed online by monitor.stories exactly as the daemon does, and its time counted.

Measured in one run, on one core (rates are articles per second of this process's CPU time,
so that other work on the machine does not count; wall-clock rates are printed beside): articles per second over the first 10,000 and over all
100,000 (separate runs, each from an empty index), peak resident memory, and on the same
first 5,000 articles our rate and the rate of a brute-force baseline that compares each
article's TF-IDF vector and MinHash with every article before it.
The last line is one JSON object:
{"rate_10000", "rate_100000", "peak_rss_mb", "rate_5000", "brute_force_rate_5000"}.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import resource
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from monitor.stories import clusters, duplicates, profiles  # noqa: E402

SEED = 20220106
PER_DAY = 1000
VOCABULARY = 30_000
START = datetime(2022, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Synthetic:
    key: int
    story: int
    title: str
    text: str
    when: datetime


def _word(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(n))


def stream(count: int) -> list[Synthetic]:
    rng = random.Random(SEED)
    vocabulary = [_word(rng, rng.randint(4, 10)) for _ in range(VOCABULARY)]
    weights = [1 / (rank + 1) for rank in range(VOCABULARY)]  # Zipf
    cumulative = list(_accumulate(weights))
    articles: list[Synthetic] = []
    story = 0
    while len(articles) < count:
        story += 1
        topic = rng.sample(vocabulary[2000:], 40)
        names = [_word(rng, rng.randint(5, 9)).capitalize() for _ in range(4)]
        day = START + timedelta(seconds=len(articles) * 86400 / PER_DAY)
        for _ in range(min(rng.randint(1, 12), count - len(articles))):
            when = day + timedelta(hours=rng.uniform(0, 60))
            if articles and rng.random() < 0.05:
                original = rng.choice(articles[-200:])
                words = original.text.split()
                for _ in range(3):
                    words[rng.randrange(len(words))] = rng.choice(vocabulary)
                text = " ".join(words) + " Read more on our site."
                articles.append(Synthetic(len(articles), original.story, "Copy: " + original.title, text, when))
                continue
            body = []
            for _ in range(rng.randint(150, 300)):
                roll = rng.random()
                if roll < 0.25:
                    body.append(rng.choice(topic))
                elif roll < 0.30:
                    body.append(rng.choice(names))
                else:
                    body.append(rng.choices(vocabulary, cum_weights=cumulative)[0])
            title = " ".join([rng.choice(names)] + rng.sample(topic, 6))
            articles.append(Synthetic(len(articles), story, title, " ".join(body), when))
    articles.sort(key=lambda a: a.when)
    return articles


def _accumulate(values):
    total = 0.0
    for v in values:
        total += v
        yield total


def ours(articles: list[Synthetic]) -> float:
    """Articles per CPU second placed by monitor.stories, profiling and signing included."""
    index = clusters.StoryIndex()
    next_story = 0
    started, wall = time.process_time(), time.perf_counter()
    for a in articles:
        profile = profiles.profile(a.title, a.text, (), a.when, "en")
        signature = duplicates.signature(a.text)
        place = index.place(profile, signature)
        story = place.story_id
        if story is None:
            next_story += 1
            story = next_story
        index.add(a.key, story, profile, signature, is_copy=place.duplicate_of is not None)
    return _rate(len(articles), started, wall)


def _rate(count: int, started: float, wall: float) -> float:
    cpu, elapsed = time.process_time() - started, time.perf_counter() - wall
    print(f"  {count:,} articles: {count / cpu:.0f}/s of CPU time ({count / elapsed:.0f}/s wall clock)")
    return count / cpu


def brute_force(articles: list[Synthetic]) -> float:
    """Articles per CPU second when each article is compared with every article before it."""
    seen: list[tuple[dict, object, int]] = []
    df: dict[str, int] = {}
    next_story = 0
    started, wall = time.process_time(), time.perf_counter()
    for a in articles:
        profile = profiles.profile(a.title, a.text, (), a.when, "en")
        signature = duplicates.signature(a.text)
        n = len(seen) + 1
        vector = {t: w * (math.log(n / (1 + df.get(t, 0))) + 1) for t, w in profile.terms.items()}
        norm = math.sqrt(sum(v * v for v in vector.values())) or 1.0
        vector = {t: v / norm for t, v in vector.items()}
        best, story = clusters.JOIN_THRESHOLD, None
        for other, other_signature, other_story in seen:
            if signature is not None and other_signature is not None and signature.jaccard(other_signature) >= duplicates.COPY_THRESHOLD:
                best, story = 1.0, other_story
                continue
            score = sum(v * other.get(t, 0.0) for t, v in vector.items())
            if score > best:
                best, story = score, other_story
        if story is None:
            next_story += 1
            story = next_story
        for t in profile.terms:
            df[t] = df.get(t, 0) + 1
        seen.append((vector, signature, story))
    return _rate(len(articles), started, wall)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=100_000)
    args = parser.parse_args()
    articles = stream(args.articles)
    print(f"{len(articles)} synthetic articles, {len({a.story for a in articles})} stories, rss {peak_rss_mb():.0f} MB")
    rate_5000 = ours(articles[:5000])
    print(f"ours, 5,000 articles: {rate_5000:.0f} articles/s")
    brute_5000 = brute_force(articles[:5000])
    print(f"brute force, 5,000 articles: {brute_5000:.0f} articles/s (ours is {rate_5000 / brute_5000:.1f}x)")
    rate_10000 = ours(articles[:10_000])
    print(f"ours, 10,000 articles: {rate_10000:.0f} articles/s")
    rate_all = ours(articles)
    print(f"ours, {len(articles):,} articles: {rate_all:.0f} articles/s ({rate_all / rate_10000:.2f} of the 10,000 rate)")
    print(f"peak resident memory: {peak_rss_mb():.0f} MB")
    print(json.dumps({
        "rate_10000": round(rate_10000, 1),
        "rate_100000": round(rate_all, 1),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "rate_5000": round(rate_5000, 1),
        "brute_force_rate_5000": round(brute_5000, 1),
    }))


if __name__ == "__main__":
    main()
