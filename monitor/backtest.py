"""Backtesting rules on an archive: `monitor scan --jsonl FILE`.

Stateless: a throwaway SQLite database in a temporary folder, removed afterwards. The
articles go, in published order (undated ones last, in file order), through the very
functions the daemon uses: clean -> store (copies found) -> match -> cluster. Then one
JSON line per article: {"id", "matches": [{"rule", "score", "evidence"}], "story",
"duplicate_of"}, `duplicate_of` naming the id of the article it copies.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from monitor import pipeline
from monitor.articles.clean import clean
from monitor.sources.jsonl import BadLine, JsonlArticle, read_jsonl
from monitor.storage.queries import Store

_UNDATED = datetime.max.replace(tzinfo=UTC)


def backtest(lines: Iterator[str], rules: pipeline.LoadedRules, report_bad) -> Iterator[dict]:
    """One result dict per readable article; `report_bad(number, reason)` for each bad line."""
    articles: list[JsonlArticle] = []
    for item in read_jsonl(lines):
        if isinstance(item, BadLine):
            report_bad(item.number, item.reason)
        else:
            articles.append(item)
    articles.sort(key=lambda a: (a.raw.published or _UNDATED, a.number))
    with tempfile.TemporaryDirectory(prefix="monitor-backtest-") as folder:
        store = Store.open(f"sqlite:///{Path(folder) / 'backtest.sqlite'}")
        try:
            yield from _run(store, articles, rules)
        finally:
            store.close()


def _run(store: Store, articles: list[JsonlArticle], rules: pipeline.LoadedRules) -> Iterator[dict]:
    sources: dict[str, int] = {}
    stored: list[tuple[JsonlArticle, int]] = []
    for item in articles:
        if item.raw.source not in sources:
            sources[item.raw.source] = store.ensure_source(item.raw.source, "jsonl", "backtest").id
        article_id, _ = store.store_article(sources[item.raw.source], clean(item.raw))
        stored.append((item, article_id))
    pipeline.match(store, rules)
    pipeline.cluster(store)
    first_input = {}  # database id -> id of the first input line stored as that article
    for item, article_id in stored:
        first_input.setdefault(article_id, item.id)
    for item, article_id in stored:
        row = store.article(article_id)
        original = row.duplicate_of if row.duplicate_of is not None else article_id
        copy_of = first_input.get(original) if first_input.get(original) != item.id else None
        yield {
            "id": item.id,
            "matches": [
                {"rule": m.rule_id, "score": m.score, "evidence": m.evidence} for m in store.matches_of(article_id)
            ],
            "story": row.story_id,
            "duplicate_of": copy_of,
        }


def backtest_file(path: Path, rules: pipeline.LoadedRules, out, err) -> int:
    """Write the results of `path` to `out` as JSON Lines; bad lines to `err`. Returns the count."""
    count = 0

    def report_bad(number: int, reason: str) -> None:
        print(f"{path}:{number}: skipped: {reason}", file=err)

    with path.open(encoding="utf-8", errors="replace") as lines:
        for result in backtest(lines, rules, report_bad):
            print(json.dumps(result, ensure_ascii=False), file=out)
            count += 1
    return count
