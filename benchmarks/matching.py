"""Matching speed as the rules grow: 10 to 100,000 rules, against one regex per rule.

    .venv/bin/python benchmarks/matching.py            (make bench-matching)
    .venv/bin/python benchmarks/matching.py --articles 2000 --sizes 10,1000   (a quick look)

A deterministic synthetic corpus (seeded; 20,000 articles of 400-800 words) is written from
a made-up language: 5,000 common words drawn by Zipf's law (the shape of real text) and
200,000 names of people, places and organizations, about ten name mentions per article,
some of them misspelt by one letter (so fuzzy matching has work to do). Rule sets of each
size are boolean queries shaped like real monitoring queries:

    (@entity OR "first last") AND (keyword OR keyword OR stem*) AND NOT keyword
    "name keyword"~5 OR @entity
    title:@entity OR (@entity AND keyword AND keyword)
    (name OR name OR name) AND (keyword OR "keyword keyword")

with one entity (three aliases, fuzzy) per five rules. For each size the script builds the
rules (parse + compile: what an analyst waits for after an edit) and scans every article on
one core, reporting articles per second. The sizes take turns: the corpus is scanned in
chunks of CHUNK articles, each chunk by every rule set in a rotating order, so that a drift
in the machine's speed (a shared machine's speed can drift by 20% in a minute) weighs on
every size alike and the rates compare. Each rule set still sees the articles in order, as
a daemon would (its vocabulary learns their words as they come). The baseline is what a naive monitor does: one
compiled regular expression per rule (an alternation of the rule's terms and aliases),
searched in every article; at 1,000 rules it runs on a sample of the articles (it is slow)
and reports the same measure. Peak memory is the process's peak resident set at the end,
with every rule set built (the 100,000 rules and all the smaller sets at once: an upper
bound on what the 100,000 rules alone need). The last line of output is one JSON object.

Times are this process's CPU time (one core, whatever else the machine runs: on a shared
machine wall-clock time also counted the time other work held the core); wall-clock rates
are printed beside and reported as "wall_rate_by_rules".
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import re
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from monitor.matching.engine import compile_rules, scan  # noqa: E402
from monitor.matching.entities import Entity  # noqa: E402
from monitor.matching.query import parse_query, terms_of  # noqa: E402
from monitor.matching.rulefile import Rule, RuleSet  # noqa: E402

SEED = 20261125
ARTICLES = 20_000
SIZES = (10, 100, 1_000, 10_000, 100_000)
COMMON_WORDS = 5_000
NAMES = 200_000
NAME_MENTIONS = (6, 14)  # per article
MISSPELT = 0.05  # share of name mentions with one letter changed
BASELINE_RULES = 1_000
BASELINE_ARTICLES = 300
CHUNK = 500  # articles scanned by one rule set before the next takes its turn
RULES_PER_ENTITY = 5

# Onsets, vowels and codas in about the numbers English uses: 2,000 syllables, so that
# stretches of five letters are about as rare as in real text (a small syllable set makes
# every fragment common and flatters nothing but the baseline).
SYLLABLES = [
    o + v + c
    for o in ["", "b", "br", "c", "ch", "d", "dr", "f", "fl", "g", "gr", "h", "j", "k", "kr", "l", "m", "n", "p",
              "pl", "r", "s", "sh", "sk", "st", "t", "tr", "v", "w", "z"]
    for v in ["a", "e", "i", "o", "u", "ai", "ea", "ou", "y"]
    for c in ["", "n", "r", "s", "l", "t", "m", "ck"]
]


def _words(rng: random.Random, count: int, syllables: tuple[int, int], taken: set[str]) -> list[str]:
    words = []
    while len(words) < count:
        word = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(*syllables)))
        if word not in taken:
            taken.add(word)
            words.append(word)
    return words


def language(rng: random.Random) -> tuple[list[str], list[str]]:
    taken: set[str] = set()
    common = _words(rng, COMMON_WORDS, (1, 3), taken)
    names = [w.capitalize() for w in _words(rng, NAMES, (3, 4), taken)]
    return common, names


def _zipf(count: int) -> list[float]:
    return list(itertools.accumulate(1.0 / (rank + 1) for rank in range(count)))


def _misspell(rng: random.Random, name: str) -> str:
    index = rng.randrange(1, len(name))
    return name[:index] + rng.choice("aeiourst") + name[index + 1 :]


def corpus(rng: random.Random, common: list[str], names: list[str], count: int) -> list[tuple[str, str]]:
    common_weights, name_weights = _zipf(len(common)), _zipf(len(names))
    articles = []
    for _ in range(count):
        words = rng.choices(common, cum_weights=common_weights, k=rng.randint(400, 800))
        mentioned = rng.choices(names, cum_weights=name_weights, k=rng.randint(*NAME_MENTIONS))
        for name in mentioned:
            shown = _misspell(rng, name) if rng.random() < MISSPELT else name
            if rng.random() < 0.3:
                shown += " " + rng.choice(names)
            words.insert(rng.randrange(len(words)), shown)
        sentences = [" ".join(words[i : i + 15]).capitalize() + "." for i in range(0, len(words), 15)]
        paragraphs = ["\n".join(sentences[i : i + 5]) for i in range(0, len(sentences), 5)]
        title = " ".join(rng.choices(common, cum_weights=common_weights, k=6) + [mentioned[0]]).capitalize()
        articles.append((title, "\n\n".join(paragraphs)))
    return articles


def rules(rng: random.Random, common: list[str], names: list[str], count: int) -> tuple[list[tuple[str, str]], dict[str, Entity]]:
    """(rule id, query) pairs and the entities they use."""
    entities = {}
    for index in range(max(1, count // RULES_PER_ENTITY)):
        first, last = rng.choice(names), rng.choice(names)
        aliases = (first, f"{first} {last}", first.upper()[:4] if index % 7 == 0 else _misspell(rng, first))
        entities[f"e{index}"] = Entity(f"e{index}", f"{first} {last}", "person", aliases, fuzzy=True)
    ids = list(entities)
    keywords = common[100:]  # mid-frequency words, as analysts pick them
    stems = [word[:5] for word in keywords if len(word) >= 6]  # "sanct*", never "sa*"

    def kw() -> str:
        return rng.choice(keywords)

    def name() -> str:
        return rng.choice(names)

    shapes = [
        lambda: f'(@{rng.choice(ids)} OR "{name()} {name()}") AND ({kw()} OR {kw()} OR {rng.choice(stems)}*) AND NOT {kw()}',
        lambda: f'"{name()} {kw()}"~5 OR @{rng.choice(ids)}',
        lambda: f"title:@{rng.choice(ids)} OR (@{rng.choice(ids)} AND {kw()} AND {kw()})",
        lambda: f'({name()} OR {name()} OR {name()}) AND ({kw()} OR "{kw()} {kw()}")',
    ]
    return [(f"r{i}", shapes[i % len(shapes)]()) for i in range(count)], entities


def build(queries: list[tuple[str, str]], entities: dict[str, Entity]):
    started, wall = time.process_time(), time.perf_counter()
    parsed = tuple(
        Rule(rid, rid, "", "digest", 1.0, (), (), "bench", parse_query(query), query) for rid, query in queries
    )
    parse_s = time.process_time() - started
    matcher = compile_rules(RuleSet(parsed, entities, "bench"))
    return matcher, parse_s, time.process_time() - started, time.perf_counter() - wall


def rates(matchers: dict[int, object], articles: list[tuple[str, str]]) -> dict[int, tuple[float, float, int]]:
    """Per size: (articles per CPU second, per wall-clock second, matches), the sizes taking
    turns chunk by chunk (see the module docstring)."""
    cpu, wall, fired = dict.fromkeys(matchers, 0.0), dict.fromkeys(matchers, 0.0), dict.fromkeys(matchers, 0)
    sizes = list(matchers)
    for turn, start in enumerate(range(0, len(articles), CHUNK)):
        chunk = articles[start : start + CHUNK]
        for size in sizes[turn % len(sizes) :] + sizes[: turn % len(sizes)]:
            matcher, began, began_wall = matchers[size], time.process_time(), time.perf_counter()
            for title, text in chunk:
                fired[size] += len(scan(matcher, title, text)[0])
            cpu[size] += time.process_time() - began
            wall[size] += time.perf_counter() - began_wall
    return {size: (len(articles) / cpu[size], len(articles) / wall[size], fired[size]) for size in sizes}


def baseline(matcher, articles: list[tuple[str, str]]) -> float:
    """One compiled regex per rule, each searched in every article."""
    patterns = []
    for rule in matcher.ruleset.rules:
        words = set()
        for term in terms_of(rule.query):
            key = term.key
            if key.startswith("@"):
                words |= set(matcher.ruleset.entities[key[1:]].aliases)
            else:
                words.add(re.escape(key.rstrip("*")) + (r"\w*" if key.endswith("*") else ""))
        patterns.append(re.compile(r"\b(?:" + "|".join(sorted(words)) + r")\b", re.IGNORECASE))
    started = time.process_time()
    for title, text in articles:
        document = f"{title}\n{text}"
        for pattern in patterns:
            pattern.search(document)
    return len(articles) / (time.process_time() - started)


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    options.add_argument("--articles", type=int, default=ARTICLES)
    options.add_argument("--sizes", default=",".join(map(str, SIZES)))
    args = options.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core
    rng = random.Random(SEED)
    common, names = language(rng)
    started = time.perf_counter()
    articles = corpus(rng, common, names, args.articles)
    words = sum(len(t.split()) for _, t in articles) / len(articles)
    print(f"corpus: {len(articles)} articles, {words:.0f} words on average, built in {time.perf_counter() - started:.1f} s")
    result: dict = {"rate_by_rules": {}, "wall_rate_by_rules": {}}
    matchers, built = {}, {}
    for size in map(int, args.sizes.split(",")):
        queries, entities = rules(random.Random(SEED + size), common, names, size)
        matchers[size], parse_s, compile_s, compile_wall = build(queries, entities)
        result[f"compile_s_{size}"] = round(compile_s, 2)
        built[size] = f"build {compile_s:.2f} s ({compile_wall:.2f} wall clock; parse {parse_s:.2f} s), {len(entities)} entities"
        print(f"{size:>7} rules: {built[size]}", flush=True)
    measured = rates(matchers, articles)
    for size, (per_second, per_wall_second, fired) in measured.items():
        result["rate_by_rules"][str(size)] = round(per_second, 1)
        result["wall_rate_by_rules"][str(size)] = round(per_wall_second, 1)
        print(
            f"{size:>7} rules: {per_second:8.0f} articles/s ({per_wall_second:.0f} wall clock), "
            f"{fired / len(articles):.2f} matches/article"
        )
    if BASELINE_RULES in matchers:
        sample = articles[:BASELINE_ARTICLES]
        result["baseline_rate_1000"] = round(baseline(matchers[BASELINE_RULES], sample), 1)
        print(f"   baseline at {BASELINE_RULES} rules (one regex per rule, {len(sample)} articles): {result['baseline_rate_1000']:.1f} articles/s")
    if 100_000 in matchers:
        result["peak_rss_mb_100000"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    rate_by_rules = result["rate_by_rules"]
    if "10" in rate_by_rules and "10000" in rate_by_rules:
        print(f"   10,000 rules against 10: {rate_by_rules['10000'] / rate_by_rules['10']:.2f} of the rate")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
