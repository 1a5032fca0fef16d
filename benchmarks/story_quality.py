"""How well the daemon groups stories and finds copies, on a labeled corpus.

    .venv/bin/python benchmarks/story_quality.py [--corpus FILE] [--errors]

The corpus is JSON Lines in the `monitor scan --jsonl` format plus two labels per article:
`story` (any label shared by the articles of one event) and `copy_of` (the id of the
article it copies, or null). The articles go through `monitor scan`'s own code path
(clean, store, match with the shipped rules, cluster) in a throwaway database.

Prints B-cubed precision, recall and F1 of the story assignment (Bagga and Baldwin 1998:
per article, the share of its predicted story that belongs to its true story, and the share
of its true story found in its predicted story) and precision and recall of copy detection.
The last line is one JSON object with those five figures.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monitor import pipeline  # noqa: E402
from monitor.backtest import backtest  # noqa: E402
from monitor.config import load_settings  # noqa: E402

DEFAULT_CORPUS = ROOT / "tests" / "data" / "stories" / "labeled.jsonl"


def bcubed(gold: dict[str, str], predicted: dict[str, object]) -> tuple[float, float]:
    by_gold, by_pred = defaultdict(set), defaultdict(set)
    for item, label in gold.items():
        by_gold[label].add(item)
        by_pred[predicted[item]].add(item)
    precision = recall = 0.0
    for item in gold:
        both = len(by_gold[gold[item]] & by_pred[predicted[item]])
        precision += both / len(by_pred[predicted[item]])
        recall += both / len(by_gold[gold[item]])
    return precision / len(gold), recall / len(gold)


def copy_scores(labels: dict[str, str | None], found: dict[str, str | None]) -> tuple[float, float]:
    """A found copy is right when the labels put it and its original in one copy group."""

    def root(item: str) -> str:
        while labels.get(item):
            item = labels[item]
        return item

    claimed = {item: original for item, original in found.items() if original}
    right = sum(1 for item, original in claimed.items() if root(item) == root(original))
    true_copies = [item for item, original in labels.items() if original]
    caught = sum(1 for item in true_copies if claimed.get(item) and root(claimed[item]) == root(item))
    precision = right / len(claimed) if claimed else 1.0
    recall = caught / len(true_copies) if true_copies else 1.0
    return precision, recall


def evaluate(corpus: Path, show_errors: bool) -> dict:
    settings = load_settings(ROOT / "config.toml")
    rules = pipeline.reload_rules(settings, None)
    lines = corpus.read_text(encoding="utf-8").splitlines()
    labeled = {row["id"]: row for row in map(json.loads, filter(None, lines))}
    results = {r["id"]: r for r in backtest(iter(lines), rules, lambda n, why: print(f"line {n}: {why}", file=sys.stderr))}
    gold = {item: row["story"] for item, row in labeled.items()}
    predicted = {item: results[item]["story"] for item in labeled}
    precision, recall = bcubed(gold, predicted)
    copy_p, copy_r = copy_scores({i: r.get("copy_of") for i, r in labeled.items()}, {i: results[i]["duplicate_of"] for i in labeled})
    if show_errors:
        _print_errors(labeled, results)
    stories = len(set(gold.values()))
    print(f"corpus: {corpus.name}, {len(labeled)} articles, {stories} stories, {len(set(predicted.values()))} predicted")
    print(f"B-cubed precision {precision:.4f}  recall {recall:.4f}")
    print(f"copies: precision {copy_p:.4f}  recall {copy_r:.4f}")
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "bcubed_precision": round(precision, 4),
        "bcubed_recall": round(recall, 4),
        "bcubed_f1": round(f1, 4),
        "copy_precision": round(copy_p, 4),
        "copy_recall": round(copy_r, 4),
    }


def _print_errors(labeled: dict, results: dict) -> None:
    """Each predicted story that mixes true stories, and each true story split in several."""
    by_pred, by_gold = defaultdict(list), defaultdict(list)
    for item, row in labeled.items():
        by_pred[results[item]["story"]].append(item)
        by_gold[row["story"]].append(item)
    for story, items in by_pred.items():
        labels = {labeled[i]["story"] for i in items}
        if len(labels) > 1:
            print(f"merged in story {story}: " + ", ".join(f"{i}={labeled[i]['story']}" for i in items))
    for label, items in by_gold.items():
        stories = {results[i]["story"] for i in items}
        if len(stories) > 1:
            print(f"split {label}: " + ", ".join(f"{i}->{results[i]['story']}" for i in items))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--errors", action="store_true", help="print merged and split stories")
    args = parser.parse_args()
    print(json.dumps(evaluate(args.corpus, args.errors)))


if __name__ == "__main__":
    main()
