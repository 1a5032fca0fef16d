"""When a recipient's digests are due: daily, on weekdays only, or weekly on one day, at a
local time. Pure date arithmetic, no clock and no I/O.

A digest *period* is named by the local date of its digest time. At any moment the current
period is the one whose digest time passed most recently; the database holds at most one
digest per period, so a daemon that was down at digest time finds the period's digest
missing when it comes back and sends it then (catch-up), covering everything not yet sent.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from monitor.config import WEEKDAYS, RecipientSettings

# Monday to Friday, as datetime.weekday() numbers them.
WORKING_DAYS = frozenset(range(5))


def is_digest_day(recipient: RecipientSettings, day: date) -> bool:
    if recipient.schedule == "weekdays":
        return day.weekday() in WORKING_DAYS
    if recipient.schedule == "weekly":
        return day.weekday() == WEEKDAYS.index(recipient.weekday)
    return True


def current_period(recipient: RecipientSettings, now: datetime) -> date:
    """The local date of the most recent digest time at or before `now`."""
    local = now.astimezone(recipient.zone)
    day = local.date()
    if local.time().replace(tzinfo=None) < recipient.digest_time:
        day -= timedelta(days=1)
    while not is_digest_day(recipient, day):  # at most six steps back
        day -= timedelta(days=1)
    return day


def cron_days(recipient: RecipientSettings) -> str:
    """The days for APScheduler's CronTrigger(day_of_week=...)."""
    if recipient.schedule == "weekdays":
        return "mon-fri"
    if recipient.schedule == "weekly":
        return recipient.weekday[:3]
    return "*"


def describe(recipient: RecipientSettings) -> str:
    """'daily at 08:00', 'on weekdays at 08:00', 'every Monday at 08:00' (recipient's time)."""
    at = f"at {recipient.digest_time:%H:%M} {recipient.timezone}"
    if recipient.schedule == "weekdays":
        return f"on weekdays {at}"
    if recipient.schedule == "weekly":
        return f"every {recipient.weekday.capitalize()} {at}"
    return f"daily {at}"
