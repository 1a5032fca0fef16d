"""Health and metrics: `monitor status --check`, and an optional HTTP listener serving
/healthz and Prometheus /metrics. Figures come from the database, so they survive restarts
and agree across instances; the cycle duration comes from this process.
"""

from __future__ import annotations

import json
import logging
import threading
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Summary, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from monitor.config import Settings
from monitor.storage.queries import Store

log = logging.getLogger(__name__)

# Unhealthy when no cycle finished within this many ingestion intervals (a cycle may run late
# once; twice means the daemon is stuck or stopped).
MISSED_INTERVALS = 2


def problems(settings: Settings, store: Store, now: datetime) -> list[str]:
    """Why the daemon is unhealthy, in words; empty when healthy."""
    limit = timedelta(minutes=settings.ingest.interval_minutes * MISSED_INTERVALS)
    try:
        last = store.last_cycle()
        late = store.digests_waiting_since(now - limit)
    except Exception as exc:  # any database failure is the answer here, not a crash
        return [f"database unreachable: {exc.__class__.__name__}: {exc}"]
    found = []
    if last is None:
        found.append("no cycle has finished yet")
    elif last.last_cycle_at < now - limit:
        found.append(f"no cycle finished since {last.last_cycle_at.isoformat()} (more than {MISSED_INTERVALS} intervals)")
    if late:
        found.append(f"{len(late)} digest(s) overdue: queued since {min(d.created_at for d in late).isoformat()}")
    return found


class DatabaseCollector:
    """Prometheus figures read from the database at scrape time."""

    def __init__(self, store: Store):
        self.store = store

    def collect(self):
        facts = self.store.metric_facts()
        counts = facts["counts"]
        yield CounterMetricFamily("monitor_articles", "Articles stored", value=counts["articles"])
        yield GaugeMetricFamily("monitor_stories", "Stories stored", value=counts["stories"])
        matches = CounterMetricFamily("monitor_matches", "Rule matches stored", labels=["rule"])
        for rule, n in sorted(facts["matches_by_rule"].items()):
            matches.add_metric([rule], n)
        yield matches
        digests = GaugeMetricFamily("monitor_digests", "Digests by kind and delivery state", labels=["kind", "status"])
        for (kind, status), n in sorted(facts["digests_by_status"].items()):
            digests.add_metric([kind, status], n)
        yield digests
        yield GaugeMetricFamily("monitor_sources_failing", "Sources whose last fetch failed", value=facts["failing_sources"])


class StoryIndexCollector:
    """What the story index this process keeps between cycles holds: the figures to watch
    for memory over a long run."""

    def __init__(self, cache):
        self.cache = cache  # pipeline.StoryCache

    def collect(self):
        sizes = GaugeMetricFamily("monitor_story_index", "Story index kept between cycles, by part", labels=["part"])
        index = self.cache.index
        for part, n in sorted((index.sizes() if index is not None else {}).items()):
            sizes.add_metric([part], n)
        yield sizes
        yield CounterMetricFamily("monitor_story_index_builds", "Story index rebuilds from the database", value=self.cache.builds)


class Metrics:
    """This process's registry: database figures, the story index and the cycle duration."""

    def __init__(self, store: Store, stories=None):
        self.registry = CollectorRegistry()
        self.registry.register(DatabaseCollector(store))
        if stories is not None:
            self.registry.register(StoryIndexCollector(stories))
        self.cycle_seconds = Summary("monitor_cycle_seconds", "Duration of ingestion cycles", registry=self.registry)

    def render(self) -> bytes:
        return generate_latest(self.registry)


def serve(settings: Settings, store: Store, metrics: Metrics, now) -> ThreadingHTTPServer:
    """Start the /healthz and /metrics listener in a thread; returns the server (call shutdown())."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path.startswith("/metrics"):
                self._reply(200, CONTENT_TYPE_LATEST, metrics.render())
            elif self.path.startswith("/healthz"):
                found = problems(settings, store, now())
                body = json.dumps({"healthy": not found, "problems": found}).encode()
                self._reply(503 if found else 200, "application/json", body)
            else:
                self._reply(404, "text/plain", b"try /healthz or /metrics\n")

        def _reply(self, status: int, content_type: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer((settings.http.address, settings.http.port), Handler)
    threading.Thread(target=server.serve_forever, name="http", daemon=True).start()
    log.info("serving /healthz and /metrics on http://%s:%d", *server.server_address[:2])
    return server
