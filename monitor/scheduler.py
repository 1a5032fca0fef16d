"""APScheduler wiring, nothing else: the ingestion cycle every N minutes and each
recipient's digest at its local time. Jobs run one at a time on one worker thread, so
a digest job never races a cycle; the database, not the scheduler, knows what was sent.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from datetime import UTC, datetime

from apscheduler.events import EVENT_JOB_ERROR, JobExecutionEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from monitor.config import Settings
from monitor.digests.schedule import cron_days

log = logging.getLogger(__name__)

# Jobs wait for the worker rather than being dropped when one ran late (None: no limit).
MISFIRE_GRACE = None
# On SIGTERM, the job in flight gets this long to finish before the process exits anyway.
SHUTDOWN_SECONDS = 60


# Retention runs once a day.
MAINTENANCE_HOURS = 24


def run_forever(
    settings: Settings, cycle: Callable[[], object], digest: Callable[[str], None], maintenance: Callable[[], None] | None = None
) -> int:
    """Run until SIGTERM or SIGINT; returns the exit code."""
    scheduler = BackgroundScheduler(
        executors={"default": ThreadPoolExecutor(max_workers=1)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": MISFIRE_GRACE},
        timezone=UTC,
    )
    scheduler.add_listener(_log_job_error, EVENT_JOB_ERROR)
    scheduler.add_job(
        cycle, IntervalTrigger(minutes=settings.ingest.interval_minutes), id="cycle", next_run_time=datetime.now(UTC)
    )
    for recipient in settings.recipients:
        trigger = CronTrigger(
            day_of_week=cron_days(recipient),
            hour=recipient.digest_time.hour,
            minute=recipient.digest_time.minute,
            timezone=recipient.timezone,
        )
        scheduler.add_job(digest, trigger, args=[recipient.name], id=f"digest:{recipient.name}")
    if maintenance is not None:
        scheduler.add_job(maintenance, IntervalTrigger(hours=MAINTENANCE_HOURS), id="maintenance", next_run_time=datetime.now(UTC))
    stop = threading.Event()

    def on_signal(signum, _frame):
        log.info("received %s, stopping after the job in flight", signal.Signals(signum).name)
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    scheduler.start()
    log.info("daemon running: cycle every %g min, %d recipient(s)", settings.ingest.interval_minutes, len(settings.recipients))
    try:
        stop.wait()
    finally:
        scheduler.pause()
        finisher = threading.Thread(target=scheduler.shutdown, kwargs={"wait": True}, daemon=True)
        finisher.start()
        finisher.join(SHUTDOWN_SECONDS)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    log.info("daemon stopped")
    return 0


def _log_job_error(event: JobExecutionEvent) -> None:
    log.error("job %s failed; the next run goes ahead", event.job_id, exc_info=event.exception)
