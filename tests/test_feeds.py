from __future__ import annotations

from monitor import pipeline
from monitor.config import load_settings
from monitor.storage.queries import Store
from tests.conftest import write_config

RSS = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Steppe Wire</title><link>https://steppe.example.org/</link>
<language>en</language>
<item><title>Tokayev asks CSTO for help as Kazakhstan unrest spreads</title>
<link>https://steppe.example.org/news/csto-help?utm_source=rss</link>
<guid>steppe-1</guid><pubDate>Thu, 06 Jan 2022 09:00:00 GMT</pubDate>
<description>&lt;p&gt;President Kassym-Jomart Tokayev asked the Collective Security Treaty Organization (CSTO) to send
peacekeepers to Kazakhstan after protesters stormed government buildings in Almaty, and the CSTO agreed
to deploy troops to Kazakhstan for a limited period.&lt;/p&gt;</description></item>
<item><title>Bad link entry</title><link>javascript:alert(1)</link><guid>steppe-2</guid>
<description>Nothing about the region at all, just a test of a hostile link.</description></item>
</channel></rss>"""


def make(tmp_path, feed_server, path="/feed.xml"):
    sources = f'[[sources]]\nname = "Steppe Wire"\nkind = "rss"\nurl = "{feed_server.url}{path}"\ninterval_minutes = 60\n'
    settings = load_settings(write_config(tmp_path, sources=sources))
    return settings, Store.open(settings.database_url), pipeline.reload_rules(settings, None)


def test_feed_is_ingested_matched_and_polled_conditionally(tmp_path, feed_server):
    feed_server.routes["/feed.xml"] = (200, {"Content-Type": "application/rss+xml", "ETag": '"v1"'}, RSS)
    settings, store, rules = make(tmp_path, feed_server)
    report = pipeline.run_cycle(settings, store, rules, every_source=True)
    assert report.articles["new"] == 2 and report.failed_sources == []
    (story, articles, matches), *_ = [s for s in store.stories() if s[2]]
    assert {m.rule_id for m in matches} == {"kazakhstan", "csto"}
    first = articles[0]
    assert first.canonical_url == "https://steppe.example.org/news/csto-help" and first.outlet == "Steppe Wire"
    hostile = next(a for _, arts, _ in store.stories() for a in arts if a.title == "Bad link entry")
    assert hostile.url is None  # a javascript: link is never stored
    # Second pass: the server answers 304 to If-None-Match, nothing is added.
    report = pipeline.run_cycle(settings, store, rules, every_source=True)
    assert report.articles["new"] == 0
    assert feed_server.requests[-1][1].get("If-None-Match") == '"v1"'
    # Not due yet: no request at all.
    count = len(feed_server.requests)
    pipeline.collect(settings, store)
    assert len(feed_server.requests) == count
    store.close()


def test_broken_feed_is_recorded_and_backed_off(tmp_path, feed_server):
    feed_server.routes["/feed.xml"] = (500, {}, b"oops")
    settings, store, rules = make(tmp_path, feed_server)
    report = pipeline.run_cycle(settings, store, rules, every_source=True)
    assert report.failed_sources == ["Steppe Wire"]
    source = store.sources()[0]
    assert source.consecutive_failures == 1 and "HTTP 500" in source.last_error and source.failing_since
    assert source.next_poll_at > source.last_attempt_at
    # It recovers by itself once the feed is back.
    feed_server.routes["/feed.xml"] = (200, {}, RSS)
    report = pipeline.run_cycle(settings, store, rules, every_source=True)
    source = store.sources()[0]
    assert report.articles["new"] == 2 and source.failing_since is None and source.consecutive_failures == 0
    store.close()


def test_not_a_feed_is_an_error_not_a_crash(tmp_path, feed_server):
    feed_server.routes["/feed.xml"] = (200, {"Content-Type": "text/html"}, b"<html><body>hello</body></html>")
    settings, store, rules = make(tmp_path, feed_server)
    report = pipeline.run_cycle(settings, store, rules, every_source=True)
    assert report.failed_sources == ["Steppe Wire"] and store.counts()["articles"] == 0
    store.close()
