"""The same pipeline on PostgreSQL (a database created for this test, dropped after)."""

from __future__ import annotations

from monitor import pipeline
from monitor.config import load_settings
from monitor.storage.queries import Store


def test_full_cycle_on_postgresql(project, postgres_url, monkeypatch):
    monkeypatch.setenv("MONITOR_DATABASE__URL", postgres_url)
    settings = load_settings(project)
    assert settings.database_url.startswith("postgresql")
    store = Store.open(settings.database_url)
    try:
        rules = pipeline.reload_rules(settings, None)
        report = pipeline.run_cycle(settings, store, rules)
        assert report.articles["new"] == 5 and report.sent == 1
        stories = store.stories()
        assert len(stories) == 1 and len(stories[0][1]) == 5
        again = pipeline.run_cycle(settings, store, rules)
        assert again.articles["new"] == 0 and again.digests_built == []
        assert store.counts() == {"sources": 1, "articles": 5, "matches": 10, "stories": 1, "digests": 1}
    finally:
        store.close()
