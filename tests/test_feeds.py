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


# -- many feeds: per-host limit, kept-alive connections, health ---------------------------

from datetime import UTC, datetime, timedelta  # noqa: E402
import random  # noqa: E402

from monitor import cli  # noqa: E402
from monitor.sources import health  # noqa: E402
from monitor.sources.pool import PoolSize  # noqa: E402
from tests.hostile_server import GOOD, HostileServer  # noqa: E402


def many_feeds(tmp_path, server, count):
    for n in range(count):
        body = GOOD.replace(b"item-", f"f{n}-".encode()).replace(b"Item number", f"Feed {n} item".encode())
        server.cases[f"/feed-{n}"] = lambda h, body=body, n=n: h.etagged(body, f'"v{n}"', pause=0.02)
    sources = "".join(f'[[sources]]\nname = "feed {n}"\nkind = "rss"\nurl = "{server.url}/feed-{n}"\n' for n in range(count))
    settings = load_settings(write_config(tmp_path, sources=sources))
    return settings, Store.open(settings.database_url)


def test_one_host_gets_one_request_at_a_time_over_one_kept_alive_connection(tmp_path):
    server = HostileServer()
    try:
        settings, store = many_feeds(tmp_path, server, 12)
        report = pipeline.collect(settings, store, every_source=True, size=PoolSize(workers=8, per_host=1))
        assert report.articles["new"] == 36 and not report.failed_sources
        assert server.max_in_flight == 1 and server.connections == 1
        # Second cycle: every feed answers 304 over one connection again, nothing is added.
        server.connections = 0
        report = pipeline.collect(settings, store, every_source=True, size=PoolSize(workers=8, per_host=1))
        assert report.articles["new"] == 0 and server.connections == 1 and len(server.requests) == 24
        assert all(s.last_status == 304 and s.entries_seen == 3 for s in store.sources() if s.kind == "rss")
        store.close()
    finally:
        server.close()


def test_per_host_limit_allows_that_many_at_once_and_no_more(tmp_path):
    server = HostileServer()
    try:
        settings, store = many_feeds(tmp_path, server, 12)
        pipeline.collect(settings, store, every_source=True, size=PoolSize(workers=8, per_host=3))
        assert 1 < server.max_in_flight <= 3 and server.connections <= 3
        store.close()
    finally:
        server.close()


def test_backoff_grows_with_jitter_and_never_exceeds_a_day():
    now = datetime(2026, 1, 1, tzinfo=UTC)
    hour = timedelta(hours=1)
    delays = [health.after_failure(now, hour, n, None, random.Random(n)) - now for n in range(1, 12)]
    assert timedelta(minutes=12) <= delays[0] <= timedelta(minutes=15)
    assert all(b > a for a, b in zip(delays[:6], delays[1:6]))  # doubling beats the 20 % jitter
    assert max(delays) <= health.MAX_DELAY and delays[-1] >= health.MAX_DELAY * 0.8
    assert health.after_failure(now, hour, 1000, 10**9) - now == health.MAX_DELAY  # retried at least daily
    assert health.after_failure(now, hour, 1, 7200) - now == timedelta(hours=2)  # Retry-After honoured
    spread = {health.after_failure(now, hour, 3, None) for _ in range(20)}
    assert len(spread) > 1  # jitter: feeds failing together do not come back together
    assert health.after_success(now, hour, 7200) - now == 2 * hour  # max-age is a lower bound
    assert health.after_success(now, hour, 60) - now == hour
    assert health.after_success(now, hour, 10**8) - now == health.MAX_DELAY


OPML = """<?xml version="1.0"?><opml version="2.0"><head><title>desk</title></head><body>
<outline text="Central Asia"><outline text="Steppe Wire" type="rss" xmlUrl="{url}/feed.xml" language="en"/>
<outline text="Gone" type="rss" xmlUrl="{url}/gone.xml"/></outline>
<outline text="Local file" xmlUrl="file:///etc/passwd"/></body></opml>"""


def test_opml_import_is_idempotent_and_its_feeds_are_ingested_and_listed(tmp_path, feed_server, capsys):
    feed_server.routes["/feed.xml"] = (200, {"Content-Type": "application/rss+xml"}, RSS)
    feed_server.routes["/gone.xml"] = (410, {}, b"gone")
    config = str(write_config(tmp_path))
    opml = tmp_path / "desk.opml"
    opml.write_text(OPML.format(url=feed_server.url), encoding="utf-8")
    assert cli.main(["--config", config, "sources", "import", str(opml)]) == 0
    assert "2 feed(s) added" in capsys.readouterr().out
    assert cli.main(["--config", config, "sources", "import", str(opml)]) == 0
    out = capsys.readouterr().out
    assert "0 feed(s) added, 2 already known" in out and "file:///etc/passwd" in out
    assert cli.main(["--config", config, "ingest", "--all"]) == 0
    assert cli.main(["--config", config, "sources", "list"]) == 0
    listing = capsys.readouterr().out
    assert "Steppe Wire (rss, from opml) [Central Asia]: ok" in listing
    assert "Gone (rss, from opml) [Central Asia]: failing: 1 failure(s) in a row" in listing and "HTTP 410 Gone" in listing
    assert cli.main(["--config", config, "status"]) == 0
    assert "HTTP 410 Gone" in capsys.readouterr().out
    store = Store.open(load_settings(config).database_url)
    assert {s.name: s.entries_seen for s in store.sources()}["Steppe Wire"] == 2
    store.close()


def test_a_broken_opml_file_is_a_clear_error(tmp_path, capsys):
    config = str(write_config(tmp_path))
    bad = tmp_path / "bad.opml"
    bad.write_text("<opml><body><outline", encoding="utf-8")
    assert cli.main(["--config", config, "sources", "import", str(bad)]) == 1
    assert "not valid OPML" in capsys.readouterr().err


# -- storing a batch of polls -------------------------------------------------------------

from monitor.articles.clean import clean  # noqa: E402
from monitor.types import CleanArticle, RawArticle  # noqa: E402

WORDS = "border trade talks resumed after the summit in Almaty with ministers from five countries".split()


def article(source: str, guid: str, url: str, words: int) -> CleanArticle:
    text = " ".join(WORDS[i % len(WORDS)] + str(i // len(WORDS)) for i in range(words)) + "."
    return clean(RawArticle(source=source, guid=guid, title=f"Talks {words}", body=text, url=url))


def test_a_batch_of_polls_is_stored_as_one_poll_after_another(tmp_path):
    """Copies and revisions across the feeds of one batch come out as if each article had
    been stored on its own, in order (Store.store_article)."""
    earlier = article("D", "d1", "https://d.example.org/1", 40)
    polls = [
        ("A", [article("A", "a1", "https://a.example.org/1", 30), article("A", "a2", "https://a.example.org/2", 31)]),
        # b1: a1's text on another site, b2: the earlier poll's text: two copies
        ("B", [article("B", "b1", "https://b.example.org/1", 30), article("B", "b2", "https://b.example.org/2", 40)]),
        # c1: a2's address with another text: a revision of a2; c2: new
        ("C", [article("C", "c1", "https://a.example.org/2", 33), article("C", "c2", "https://c.example.org/2", 34)]),
    ]
    outcomes = []
    for batched in (False, True):
        settings = load_settings(write_config(tmp_path / f"batched-{batched}"))
        store = Store.open(settings.database_url)
        ids = {name: store.ensure_source(name, "rss", f"https://{name}.example.org/feed").id for name in "ABCD"}
        [[(earlier_id, _)]] = store.record_polls([(ids["D"], [earlier], {"last_status": 200})])
        if batched:
            stored = store.record_polls([(ids[name], articles, {"last_status": 200}) for name, articles in polls])
        else:
            stored = [[store.store_article(ids[name], a) for a in articles] for name, articles in polls]
        key = {earlier_id: "d1"} | {i: a.guid for (_, arts), res in zip(polls, stored) for a, (i, s) in zip(arts, res) if s != "revised"}
        outcome = []
        for (_, articles), results in zip(polls, stored):
            for a, (article_id, status) in zip(articles, results):
                row = store.article(article_id)
                outcome.append((a.guid, key[article_id], status, key.get(row.duplicate_of), row.revision, row.title))
        outcomes.append(outcome)
        store.close()
    assert outcomes[0] == outcomes[1]
    assert [(guid, stored_as, status, copy_of) for guid, stored_as, status, copy_of, _, _ in outcomes[1]] == [
        ("a1", "a1", "new", None), ("a2", "a2", "new", None), ("b1", "b1", "copy", "a1"),
        ("b2", "b2", "copy", "d1"), ("c1", "a2", "revised", None), ("c2", "c2", "new", None),
    ]
