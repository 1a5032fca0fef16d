"""Several `monitor run` processes on one PostgreSQL database share the work: each feed is
fetched by one of them per interval, each digest is sent once, and when one dies the others
carry on."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta

from monitor.storage.queries import Store
from tests.conftest import write_config

FEEDS = 12
INTERVAL_SECONDS = 3
RECIPIENTS = ("ann", "bob", "cem")


def rss(index: int) -> bytes:
    items = "".join(
        f"<item><title>Desk {index} report {n} on Kazakhstan</title><link>https://desk{index}.example.org/{n}</link>"
        f"<guid>desk{index}-{n}</guid><description>Tokayev and the CSTO: report {n} from desk {index} about "
        f"Kazakhstan, Almaty and the government in Astana.</description></item>"
        for n in range(3)
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>Desk {index}</title>{items}</channel></rss>'.encode()


def wait_for(condition, seconds, what):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def fetch_times(feed_server) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {}
    for path, _headers, when in feed_server.timed_requests:
        times.setdefault(path, []).append(when)
    return times


def test_three_instances_share_feeds_and_digests(tmp_path, feed_server, smtp_server, postgres_url):
    for i in range(FEEDS):
        feed_server.routes[f"/feed{i}.xml"] = (200, {"Content-Type": "application/rss+xml"}, rss(i))
    sources = "".join(
        f'[[sources]]\nname = "desk {i}"\nkind = "rss"\nurl = "{feed_server.url}/feed{i}.xml"\n\n' for i in range(FEEDS)
    )
    recipients = "".join(
        f'[[recipients]]\nname = "{name}"\naddress = "{name}@example.org"\ntimezone = "UTC"\ndigest_time = "00:00"\n\n'
        for name in RECIPIENTS
    )
    extra = (
        f"[ingest]\ninterval_minutes = {INTERVAL_SECONDS / 60}\nlease_minutes = 0.2\n"
        f'[smtp]\nhost = "127.0.0.1"\nport = {smtp_server.port}\nsecurity = "none"\n'
    )
    config = write_config(tmp_path, extra=extra, sources=sources, recipients=recipients)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    env["MONITOR_DATABASE__URL"] = postgres_url
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "monitor", "--config", str(config), "run"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
        )
        for _ in range(3)
    ]
    try:
        wait_for(lambda: all(len(t) >= 2 for t in fetch_times(feed_server).values()) and len(fetch_times(feed_server)) == FEEDS, 90, "two rounds of fetches")
        wait_for(lambda: len(smtp_server.envelopes) >= len(RECIPIENTS), 60, "the digests")
        processes[0].kill()  # dies without cleaning up
        processes[0].wait()
        killed_at = time.time()
        wait_for(lambda: all(max(t) > killed_at + 0.1 for t in fetch_times(feed_server).values()), 60, "fetches after the kill")
        time.sleep(1)
    finally:
        for process in processes[1:]:
            process.send_signal(signal.SIGTERM)
        outputs = [p.communicate(timeout=60)[0] for p in processes[1:]]
    assert all(p.returncode == 0 for p in processes[1:]), outputs

    # No feed fetched twice within one interval.
    for path, times in fetch_times(feed_server).items():
        gaps = [b - a for a, b in zip(sorted(times), sorted(times)[1:])]
        assert min(gaps) >= INTERVAL_SECONDS * 0.9, (path, gaps)
    # Every digest sent once: one message per recipient, no second one.
    received = sorted(e.rcpt_tos[0] for e in smtp_server.envelopes)
    assert received == sorted(f"{name}@example.org" for name in RECIPIENTS)
    store = Store.open(postgres_url)
    try:
        assert {d.status for d in store.digests()} == {"sent"} and len(store.digests()) == len(RECIPIENTS)
        assert store.counts()["articles"] == FEEDS * 3
        instances_done = store.last_cycle()
        assert instances_done is not None
    finally:
        store.close()


def test_an_expired_lease_is_taken_over(project, postgres_url):
    store = Store.open(postgres_url)
    try:
        store.ensure_source("desk", "rss", "http://127.0.0.1/feed.xml")
        from monitor.pipeline import now_utc

        now = now_utc()
        lease = timedelta(minutes=1)
        assert [s.name for s in store.claim_sources("a", ["desk"], now, lease)] == ["desk"]
        assert store.claim_sources("b", ["desk"], now + timedelta(seconds=30), lease) == []
        taken = store.claim_sources("b", ["desk"], now + timedelta(seconds=61), lease)
        assert [s.lease_owner for s in taken] == ["b"]
    finally:
        store.close()
