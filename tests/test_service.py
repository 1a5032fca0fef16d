"""Running as a service: one daemon per SQLite file, health checks, metrics, JSON logs, retention."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import timedelta

import pytest

from monitor import pipeline
from monitor.config import load_settings
from monitor.service import health
from monitor.storage.queries import Store
from tests.conftest import free_port


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    env.update(extra)
    return env


def monitor(config, *args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "monitor", "--config", str(config), *args],
        capture_output=True, text=True, env=env or clean_env(), timeout=300,
    )


def start_daemon(config, env=None):
    process = subprocess.Popen(
        [sys.executable, "-m", "monitor", "--config", str(config), "run"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env or clean_env(),
    )
    outbox = config.parent / "var" / "outbox"
    deadline = time.monotonic() + 60
    while not list(outbox.glob("*.eml")):
        assert process.poll() is None and time.monotonic() < deadline, process.stdout.read()
        time.sleep(0.2)
    return process


def test_second_daemon_on_the_same_sqlite_file_exits_at_once(project):
    first = start_daemon(project)
    try:
        second = monitor(project, "run")
        assert second.returncode == 2
        assert "already running" in second.stderr and str(first.pid) in second.stderr
    finally:
        first.kill()  # a crash: the kernel releases the lock
        first.wait()
    again = monitor(project, "run", "--once")
    assert again.returncode == 0, again.stderr


def test_status_check_follows_the_heartbeat(project):
    fresh = monitor(project, "status", "--check")
    assert fresh.returncode == 1 and "no cycle has finished yet" in fresh.stdout
    assert monitor(project, "run", "--once").returncode == 0
    healthy = monitor(project, "status", "--check")
    assert healthy.returncode == 0 and "healthy" in healthy.stdout
    settings = load_settings(project)
    store = Store.open(settings.database_url)
    later = pipeline.now_utc() + timedelta(minutes=settings.ingest.interval_minutes * 2 + 1)
    assert any("no cycle finished since" in p for p in health.problems(settings, store, later))
    store.close()


def test_status_check_reports_an_unreachable_database(project):
    result = monitor(project, "status", "--check", env=clean_env(MONITOR_DATABASE__URL="postgresql+psycopg://nobody@127.0.0.1:1/none"))
    assert result.returncode == 1 and "unhealthy: database" in result.stderr and "Traceback" not in result.stderr


def test_metrics_and_healthz_are_served(project):
    port = free_port()
    env = clean_env(MONITOR_HTTP__ENABLED="true", MONITOR_HTTP__PORT=str(port))
    process = start_daemon(project, env)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                metrics = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
                if "monitor_cycle_seconds_count 1.0" in metrics:
                    break
            except urllib.error.URLError:
                pass
            assert time.monotonic() < deadline
            time.sleep(0.2)
        assert "monitor_articles_total 5.0" in metrics
        assert 'monitor_matches_total{rule="kazakhstan"} 5.0' in metrics
        assert 'monitor_digests{kind="daily",status="sent"} 1.0' in metrics
        assert 'monitor_story_index{part="articles"} 5.0' in metrics and 'monitor_story_index{part="stories"} 1.0' in metrics
        reply = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5).read())
        assert reply == {"healthy": True, "problems": []}
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=60)
    assert process.returncode == 0, output


def test_json_logs_carry_stable_keys(project):
    result = monitor(project, "run", "--once", "--log-format", "json")
    assert result.returncode == 0, result.stderr
    entries = [json.loads(line) for line in result.stdout.splitlines()]
    assert all({"time", "level", "message"} <= set(e) for e in entries)
    assert any("article_id" in e and "rule_id" in e for e in entries)
    assert any(e.get("recipient") == "analyst" for e in entries)


def test_retention_prunes_old_articles_and_keeps_recent_delivery_records(project):
    settings = load_settings(project)
    store = Store.open(settings.database_url)
    rules = pipeline.reload_rules(settings, None)
    pipeline.run_cycle(settings, store, rules)
    now = pipeline.now_utc()
    kept = store.prune(now - timedelta(days=1), now - timedelta(days=1))
    assert kept == {"articles": 0, "matches": 0, "stories": 0, "digests": 0}
    gone = store.prune(now + timedelta(seconds=1), now - timedelta(days=1))
    assert gone == {"articles": 5, "matches": 10, "stories": 1, "digests": 0}
    assert store.counts()["digests"] == 1  # the delivery record outlives its articles
    assert store.prune(now, now + timedelta(seconds=1))["digests"] == 1
    store.close()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signals_stop_the_daemon_cleanly(project, sig):
    process = start_daemon(project)
    process.send_signal(sig)
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 0 and "daemon stopped" in output


def test_sigterm_mid_cycle_leaves_a_consistent_database_and_a_restart_resumes(project):
    corpus = project.parent / "seed_corpus"
    base = (corpus / "001_0849827d0f247804.txt").read_text()
    for n in range(150):  # enough work that the signal lands inside the first cycle
        (corpus / f"extra_{n:03}.txt").write_text(base.replace("Bloody protests", f"Report {n}: protests") + f"\nDesk note {n}.\n")
    process = subprocess.Popen(
        [sys.executable, "-m", "monitor", "--config", str(project), "run"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=clean_env(),
    )
    deadline = time.monotonic() + 60
    while "article new" not in (line := process.stdout.readline()):
        assert line and time.monotonic() < deadline
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=90)
    assert process.returncode == 0, output
    settings = load_settings(project)
    store = Store.open(settings.database_url)
    try:
        stored = store.counts()["articles"]
        assert 0 < stored <= 155
        assert monitor(project, "run", "--once").returncode == 0
        assert store.counts()["articles"] == 155
        assert store.articles_to_scan(pipeline.reload_rules(settings, None).ruleset.fingerprint) == []
        assert store.articles_without_story() == []
    finally:
        store.close()
