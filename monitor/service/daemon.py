"""`monitor run`: the lock, the heartbeat, the optional HTTP listener, then the scheduler,
whose jobs each hand the memory they freed back to the system (service/memory.py)."""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from contextlib import ExitStack
from datetime import timedelta

from monitor import pipeline, scheduler
from monitor.config import Settings
from monitor.service import memory
from monitor.service.health import Metrics, serve
from monitor.service.lock import sqlite_guard
from monitor.storage.queries import Store

log = logging.getLogger(__name__)


class Daemon:
    """What the scheduled jobs share: the settings, the store, the current rules, this instance."""

    def __init__(self, settings: Settings, store: Store, rules: pipeline.LoadedRules):
        self.settings = settings
        self.store = store
        self.rules = rules
        self.instance = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.stories = pipeline.StoryCache()  # kept between cycles; rebuilt when out of step
        self.metrics = Metrics(store, self.stories)

    def cycle(self, every_source: bool = False) -> pipeline.CycleReport:
        started = time.monotonic()
        try:
            self.rules = pipeline.reload_rules(self.settings, self.rules)
            report = pipeline.run_cycle(
                self.settings, self.store, self.rules, every_source=every_source, owner=self.instance, stories=self.stories
            )
        except Exception as exc:
            self.store.record_cycle(self.instance, time.monotonic() - started, f"{exc.__class__.__name__}: {exc}")
            raise
        seconds = time.monotonic() - started
        self.store.record_cycle(self.instance, seconds)
        self.metrics.cycle_seconds.observe(seconds)
        log.info(
            "cycle done in %.1f s: articles %s, %d scanned, %d clustered, %d digest(s) built, %d sent, %d deferred, %d failed",
            seconds, report.articles, report.scanned, report.clustered, len(report.digests_built),
            report.sent, report.deferred, report.failed,
        )
        return report

    def digest(self, recipient: str) -> None:
        with self.store.exclusive("process") as alone:
            if alone:
                pipeline.build_digests(self.settings, self.store, self.rules.ruleset, only=recipient)
        pipeline.deliver(self.settings, self.store, owner=self.instance)

    def maintenance(self) -> None:
        retention = self.settings.retention
        now = pipeline.now_utc()
        deleted = self.store.prune(
            now - timedelta(days=retention.articles_days),
            now - timedelta(days=max(retention.digests_days, retention.articles_days)),
        )
        log.info("retention: deleted %s", deleted)


def run(settings: Settings, store: Store, rules: pipeline.LoadedRules, once: bool = False) -> int:
    """Hold the lock for the daemon's whole life; `once` runs one full cycle and returns."""
    memory.limit_arenas()  # before the scheduler and the fetch pools start threads
    daemon = Daemon(settings, store, rules)
    with ExitStack() as stack:
        stack.enter_context(sqlite_guard(settings.database_url))
        store.register_instance(daemon.instance, socket.gethostname(), os.getpid())
        stack.callback(store.stop_instance, daemon.instance)
        if once:
            daemon.cycle(every_source=True)
            return 0
        if settings.http.enabled:
            server = serve(settings, store, daemon.metrics, pipeline.now_utc)
            stack.callback(server.shutdown)
        jobs = (memory.releasing(job) for job in (daemon.cycle, daemon.digest, daemon.maintenance))
        return scheduler.run_forever(settings, *jobs)
