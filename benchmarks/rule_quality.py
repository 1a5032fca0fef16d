"""How well the shipped rules fire, on a labeled corpus.

    .venv/bin/python benchmarks/rule_quality.py [--corpus FILE] [--rules DIR] [--errors]

The corpus is JSON Lines in the `monitor scan --jsonl` format plus `labels`: for each rule,
whether an analyst wants the article (`{"kazakhstan": true, "csto": false, ...}`). The
articles go through `monitor scan`'s own code path (clean, store, match) with the rules of
`rules/` (or `--rules`). Prints precision, recall and F1 per labeled rule and their mean;
`--errors` lists every miss and every false alarm with the evidence that fired. The last
line is one JSON object: {"<rule>": {"precision", "recall", "f1"}, ..., "macro_f1"}.

The default corpus, tests/data/rules/heldout.jsonl, was written blind to the rules (see the
README beside it): it measures how the rules carry over to news they were not written for.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monitor import pipeline  # noqa: E402
from monitor.backtest import backtest  # noqa: E402
from monitor.config import load_settings  # noqa: E402

DEFAULT_CORPUS = ROOT / "tests" / "data" / "rules" / "heldout.jsonl"


def scores(wanted: set[str], fired: set[str], everything: set[str]) -> dict:
    hits = len(wanted & fired)
    precision = hits / len(fired) if fired else 1.0
    recall = hits / len(wanted) if wanted else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4),
            "positives": len(wanted), "negatives": len(everything - wanted)}


def evaluate(corpus: Path, rules_dir: Path | None, show_errors: bool) -> dict:
    settings = load_settings(ROOT / "config.toml")
    if rules_dir is not None:
        settings = settings.model_copy(update={"rules": settings.rules.model_copy(update={"path": rules_dir.resolve()})})
    rules = pipeline.reload_rules(settings, None)
    lines = corpus.read_text(encoding="utf-8").splitlines()
    labeled = {row["id"]: row for row in map(json.loads, filter(None, lines))}
    results = {r["id"]: r for r in backtest(iter(lines), rules, lambda n, why: print(f"line {n}: {why}", file=sys.stderr))}
    names = sorted({rule for row in labeled.values() for rule in row["labels"]})
    report = {}
    for rule in names:
        wanted = {i for i, row in labeled.items() if row["labels"].get(rule)}
        fired = {i for i, r in results.items() if any(m["rule"] == rule for m in r["matches"])}
        report[rule] = scores(wanted, fired, set(labeled))
        print(f"{rule:12s} precision {report[rule]['precision']:.3f}  recall {report[rule]['recall']:.3f}  "
              f"f1 {report[rule]['f1']:.3f}  ({len(wanted)} wanted of {len(labeled)})")
        if show_errors:
            for item in sorted(wanted - fired):
                print(f"    missed       {item} [{labeled[item].get('lang')}] {labeled[item]['title'][:90]}")
            for item in sorted(fired - wanted):
                match = next(m for m in results[item]["matches"] if m["rule"] == rule)
                found = ", ".join(sorted({str(e.get("found")) for e in match["evidence"]}))[:120]
                print(f"    false alarm  {item} [{labeled[item].get('lang')}] {labeled[item]['title'][:70]} (score {match['score']}: {found})")
    report["macro_f1"] = round(sum(report[r]["f1"] for r in names) / len(names), 4) if names else 0.0
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--rules", type=Path, default=None, help="a rules folder other than config.toml's")
    parser.add_argument("--errors", action="store_true", help="list misses and false alarms")
    args = parser.parse_args()
    print(json.dumps(evaluate(args.corpus, args.rules, args.errors)))


if __name__ == "__main__":
    main()
