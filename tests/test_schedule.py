"""Recipient schedules: which period a moment belongs to, one digest per period, catch-up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from monitor import pipeline
from monitor.config import RecipientSettings, load_settings
from monitor.digests.schedule import cron_days, current_period, describe
from monitor.storage.queries import Store
from tests.conftest import write_config
from tests.corpus import write_event


def recipient(**fields) -> RecipientSettings:
    return RecipientSettings(name="r", address="r@example.org", timezone="Europe/Paris", digest_time="08:00", **fields)


# 2026-11-20 is a Friday; Paris is UTC+1 in November.
@pytest.mark.parametrize(
    ("fields", "local", "expected"),
    [
        ({}, "2026-11-21T07:59", "2026-11-20"),
        ({}, "2026-11-21T08:00", "2026-11-21"),
        ({"schedule": "weekdays"}, "2026-11-21T12:00", "2026-11-20"),  # Saturday: still Friday's
        ({"schedule": "weekdays"}, "2026-11-23T07:59", "2026-11-20"),  # Monday before 08:00
        ({"schedule": "weekdays"}, "2026-11-23T08:00", "2026-11-23"),
        ({"schedule": "weekly", "weekday": "wednesday"}, "2026-11-24T23:00", "2026-11-18"),
        ({"schedule": "weekly", "weekday": "wednesday"}, "2026-11-25T08:00", "2026-11-25"),
        ({"schedule": "weekly", "weekday": "friday"}, "2026-11-20T08:30", "2026-11-20"),
    ],
)
def test_current_period(fields, local, expected):
    moment = datetime.fromisoformat(local).replace(tzinfo=recipient().zone)
    assert current_period(recipient(**fields), moment).isoformat() == expected


def test_summer_time_change_keeps_the_local_digest_time():
    paris = recipient()
    # 29 March 2026: clocks go forward at 02:00; 08:00 local is 06:00 UTC that day.
    assert current_period(paris, datetime(2026, 3, 29, 5, 59, tzinfo=UTC)).isoformat() == "2026-03-28"
    assert current_period(paris, datetime(2026, 3, 29, 6, 0, tzinfo=UTC)).isoformat() == "2026-03-29"


def test_words_and_cron_days():
    assert describe(recipient(schedule="weekly", weekday="friday")) == "every Friday at 08:00 Europe/Paris"
    assert describe(recipient(schedule="weekdays")) == "on weekdays at 08:00 Europe/Paris"
    assert (cron_days(recipient()), cron_days(recipient(schedule="weekdays"))) == ("*", "mon-fri")
    assert cron_days(recipient(schedule="weekly", weekday="sunday")) == "sun"


def test_weekday_and_weekly_recipients_get_one_digest_per_period_with_catch_up(tmp_path):
    recipients = (
        '[[recipients]]\nname = "office"\naddress = "o@example.org"\ntimezone = "Europe/Paris"\n'
        'digest_time = "08:00"\nschedule = "weekdays"\nsend_empty = true\n\n'
        '[[recipients]]\nname = "weekly"\naddress = "w@example.org"\ntimezone = "Europe/Paris"\n'
        'digest_time = "09:00"\nschedule = "weekly"\nweekday = "monday"\n'
    )
    config = write_config(tmp_path, recipients=recipients)
    settings = load_settings(config)
    store = Store.open(settings.database_url)
    rules = pipeline.reload_rules(settings, None)
    start = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)  # Friday 13:00 in Paris
    hours = [start + timedelta(hours=h) for h in range(0, 24 * 4, 3)]  # every 3 hours until Tuesday
    stop_from, stop_until = datetime(2026, 11, 23, 6, 0, tzinfo=UTC), datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    for moment in hours:
        if stop_from <= moment < stop_until:
            continue  # the daemon is down over Monday's 08:00 and 09:00
        if moment == datetime(2026, 11, 22, 12, 0, tzinfo=UTC):
            write_event(tmp_path / "seed_corpus", "wheat")  # news on Sunday
        pipeline.run_cycle(settings, store, rules, now=moment)
    by_recipient = {}
    for digest in store.digests(100):
        by_recipient.setdefault(digest.recipient, []).append((digest.period_key, digest.covers_until))
    store.close()
    office = sorted(by_recipient["office"])
    weekly = sorted(by_recipient["weekly"])
    assert [key for key, _ in office] == ["2026-11-20", "2026-11-23", "2026-11-24"]  # no weekend digests
    assert [key for key, _ in weekly] == ["2026-11-16", "2026-11-23"]
    # Monday's digests were caught up at 09:00 UTC (10:00 Paris), when the daemon came back.
    assert office[1][1] == weekly[1][1] == stop_until
