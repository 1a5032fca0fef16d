"""When to poll a source next, and its health in words.

A source is never given up: after failures it is retried with exponential backoff and
jitter, but at least once a day, and it recovers by itself at its first success.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

# The longest a source ever waits between two polls, whatever it did (issue 10: "retried
# forever at a bounded interval, at most once a day").
MAX_DELAY = timedelta(hours=24)
# The first retry after a failure comes after min(interval, this): a feed polled daily
# that had a hiccup is tried again within the quarter hour, then 2x, 4x, ...
FIRST_RETRY = timedelta(minutes=15)
# Each delay is drawn from [1 - JITTER, 1] of its value so that feeds failing together
# (one host down) do not come back together.
JITTER = 0.2


def after_success(now: datetime, interval: timedelta, max_age_seconds: float | None) -> datetime:
    """The next poll: the source's interval, or later if Cache-Control max-age asks (capped at a day)."""
    delay = interval
    if max_age_seconds is not None:
        delay = max(delay, timedelta(seconds=max_age_seconds))
    return now + min(delay, MAX_DELAY)


def after_failure(
    now: datetime, interval: timedelta, failures: int, retry_after_seconds: float | None, rng: random.Random | None = None
) -> datetime:
    """The next poll after the `failures`-th failure in a row (1 for the first)."""
    base = min(interval, FIRST_RETRY)
    delay = min(base * 2 ** min(max(failures - 1, 0), 20), MAX_DELAY)
    delay *= (rng or random).uniform(1 - JITTER, 1)
    if retry_after_seconds is not None:
        delay = max(delay, timedelta(seconds=retry_after_seconds))
    return now + min(delay, MAX_DELAY)


def state(failing_since: datetime | None, failures: int, last_success: datetime | None, last_status: int | None) -> str:
    """One word for the source's health: new, ok, rate-limited or failing."""
    if failing_since is None:
        return "ok" if last_success is not None else "new"
    if last_status in (429, 503):
        return "rate-limited"
    return "failing"


def describe(source, now: datetime) -> str:
    """The health of a stored source in a sentence, for `monitor sources list` and `monitor status`."""
    word = state(source.failing_since, source.consecutive_failures, source.last_success_at, source.last_status)
    if word in ("ok", "new"):
        return word
    since = _ago(now - source.failing_since)
    return f"{word}: {source.consecutive_failures} failure(s) in a row since {since} ago; last error: {source.last_error}"


def _ago(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    if seconds < 172800:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} days"
