"""The orchestrator: the only module that knows every stage.

    collect():  sources -> clean -> store            (a failing source never stops the others)
    match():    stored articles -> rule matches      (re-run when the rules change)
    cluster():  matched articles -> stories          (copies follow their original)
    build_digests(): stories -> frozen messages, one per recipient and period
    deliver():  queued messages -> SMTP or outbox    (marked sent only once accepted)
"""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.policy import SMTP

from monitor.articles.clean import clean
from monitor.config import RecipientSettings, Settings, SourceSettings
from monitor.delivery import outbox, smtp
from monitor.digests.build import DigestContent, SentBefore, arrange, select_stories
from monitor.digests.compose import compose
from monitor.digests import schedule
from monitor.digests.render import render
from monitor.errors import PermanentDeliveryError, RuleFileError, SourceError, TransientDeliveryError
from monitor.matching.engine import Matcher, compile_rules, scan
from monitor.matching.rulefile import RuleSet, folder_fingerprint, load_rules
from monitor.sources import feeds, fetch
from monitor.sources.folder import read_folder
from monitor.stories import clusters
from monitor.storage.queries import Store
from monitor.storage.schema import Digest

log = logging.getLogger(__name__)

# A failing source is retried after interval * 2^failures, but at least once a day: never given up.
SOURCE_BACKOFF_MAX = timedelta(hours=24)
# A digest the SMTP server deferred is retried after 1, 2, 4 ... minutes, at most every 6 hours.
DELIVERY_BACKOFF_BASE = timedelta(minutes=1)
DELIVERY_BACKOFF_MAX = timedelta(hours=6)
# Who holds leases when no daemon identity is given (one-off commands).
LOCAL = "local"


@dataclass
class CycleReport:
    articles: dict[str, int] = field(default_factory=dict)  # new, revised, unchanged, copy
    failed_sources: list[str] = field(default_factory=list)
    scanned: int = 0
    clustered: int = 0
    digests_built: list[int] = field(default_factory=list)
    sent: int = 0
    deferred: int = 0
    failed: int = 0


@dataclass(frozen=True)
class LoadedRules:
    ruleset: RuleSet
    matcher: Matcher


def now_utc() -> datetime:
    return datetime.now(UTC)


# -- rules --------------------------------------------------------------------------------


def reload_rules(settings: Settings, current: LoadedRules | None) -> LoadedRules:
    """The rules folder as it is now; on an error, log it and keep the last good rules."""
    folder = settings.rules_dir
    if current is not None and folder_fingerprint(folder) == current.ruleset.fingerprint:
        return current
    try:
        ruleset = load_rules(folder)
    except RuleFileError as exc:
        if current is None:
            raise
        log.error("rules not reloaded, keeping the last good rules: %s", exc)
        return current
    log.info("rules loaded: %s", ", ".join(ruleset.ids))
    return LoadedRules(ruleset, compile_rules(ruleset))


# -- collect ------------------------------------------------------------------------------


def collect(
    settings: Settings, store: Store, every_source: bool = False, now: datetime | None = None, owner: str = LOCAL
) -> CycleReport:
    """Fetch the sources that are due (all with `every_source`) and store their articles.
    Each source is leased first, so instances sharing a database never fetch one twice."""
    now = now or now_utc()
    started = time.monotonic()

    def finished() -> datetime:  # `now` moved on by the time spent: next polls count from a fetch's end
        return now + timedelta(seconds=time.monotonic() - started)

    report = CycleReport(articles={"new": 0, "revised": 0, "unchanged": 0, "copy": 0})
    for source in settings.sources:
        location = str(settings.resolve(source.path)) if source.kind == "directory" else source.url
        store.ensure_source(source.name, source.kind, location)
    lease = timedelta(minutes=settings.ingest.lease_minutes)
    claimed = {row.name: row for row in store.claim_sources(owner, [s.name for s in settings.sources], now, lease, every_source)}
    with fetch.client() as http:
        for source in settings.sources:
            row = claimed.get(source.name)
            if row is None:
                continue
            interval = timedelta(minutes=source.interval_minutes or settings.ingest.interval_minutes)
            try:
                raws, http_state = _read_source(settings, source, http, row)
            except SourceError as exc:
                failures = row.consecutive_failures + 1
                delay = min(interval * 2 ** min(failures, 16), SOURCE_BACKOFF_MAX) * random.uniform(0.8, 1.0)
                store.record_source_failure(row.id, str(exc), finished() + delay)
                log.warning("source failed (%d in a row), next try in %s: %s", failures, delay, exc, extra={"source": source.name})
                report.failed_sources.append(source.name)
                continue
            for raw in raws:
                article_id, status = store.store_article(row.id, clean(raw))
                report.articles[status] += 1
                if status != "unchanged":
                    log.info("article %s: %s", status, raw.title[:80], extra={"source": source.name, "article_id": article_id})
            # Never two fetches of one source within one interval.
            store.record_source_success(row.id, len(raws), finished() + interval, **http_state)
    return report


def _read_source(settings: Settings, source: SourceSettings, http, row) -> tuple[list, dict]:
    if source.kind == "directory":
        return list(read_folder(source.name, settings.resolve(source.path))), {}
    fetched = fetch.fetch(http, source.url, row.etag, row.last_modified)
    state = {"etag": fetched.etag, "last_modified": fetched.last_modified}
    if fetched.not_modified:
        return [], state
    return feeds.parse_feed(source.name, fetched.body, fetched.url, source.language, fetched.content_type), state


# -- match and cluster --------------------------------------------------------------------


def match(store: Store, rules: LoadedRules) -> int:
    """Scan every article not yet scanned with the current rules."""
    articles = store.articles_to_scan(rules.ruleset.fingerprint)
    for article in articles:
        matches, entities = scan(rules.matcher, article.title, article.text)
        store.save_scan(article.id, matches, entities, rules.ruleset.fingerprint)
        for m in matches:
            log.info("matched: %s", m.summary(), extra={"article_id": article.id, "rule_id": m.rule_id})
    return len(articles)


def cluster(store: Store) -> int:
    """Give every scanned article without a story its story, oldest first."""
    articles = store.articles_without_story()
    for article in articles:
        when = article.published_at or article.first_seen_at
        candidates = {
            story_id: clusters.story_profile([_profile(a) for a in members])
            for story_id, members in store.stories_near(when, clusters.WINDOW_DAYS).items()
        }
        choice = clusters.assign(_profile(article), candidates)
        story_id = store.assign_story(article.id, choice.story_id, choice.score, choice.reason)
        log.info("story %s (score %.2f)", story_id, choice.score, extra={"article_id": article.id, "story_id": story_id})
    return len(articles)


def _profile(article) -> clusters.Profile:
    return clusters.article_profile(
        article.title, article.text, set(article.entities or ()), article.published_at or article.first_seen_at
    )


# -- digests ------------------------------------------------------------------------------


def period_key(recipient: RecipientSettings, now: datetime) -> str:
    """The local date of the recipient's most recent digest time at or before `now`
    (daily, weekdays or weekly: see digests/schedule.py). One digest per period."""
    return schedule.current_period(recipient, now).isoformat()


def build_digest(settings: Settings, store: Store, rules: RuleSet, recipient: RecipientSettings, now: datetime) -> DigestContent:
    order = {rule_id: index for index, rule_id in enumerate(recipient.rules)}
    followed = sorted(
        (r for r in rules.rules if not recipient.rules or r.id in order), key=lambda r: order.get(r.id, len(order))
    )
    sent = {story_id: SentBefore(count, when) for story_id, (count, when) in store.sent_stories(recipient.name).items()}
    items = select_stories(store.stories(), {r.id for r in followed}, sent, store.source_names(), recipient.min_score)
    sections = arrange(items, [(r.id, r.title) for r in followed], recipient.max_stories)
    failing = tuple(
        (s.name, s.failing_since, s.last_error or "") for s in store.sources() if s.failing_since is not None
    )
    return DigestContent(
        recipient=recipient.name,
        address=recipient.address,
        timezone=recipient.timezone,
        period_key=period_key(recipient, now),
        generated_at=now,
        sections=sections,
        rules_in_force=tuple((r.id, r.title) for r in followed),
        failing_sources=failing,
        rules_path=str(settings.rules.path).rstrip("/") + "/",
        story_ids=tuple(sorted({i.story_id for i in items})),
        schedule=schedule.describe(recipient),
    )


def build_digests(
    settings: Settings, store: Store, rules: RuleSet, now: datetime | None = None, only: str | None = None, manual: bool = False
) -> list[int]:
    """Build and queue the digest of every recipient (or only the one named) whose current
    period has none yet; `manual` builds one now whatever was sent. Frozen before any send."""
    now = now or now_utc()
    built = []
    for recipient in settings.recipients:
        if only is not None and recipient.name != only:
            continue
        kind, key = ("manual", now.isoformat()) if manual else ("daily", period_key(recipient, now))
        if store.digest_exists(recipient.name, kind, key):
            continue
        digest_id = queue_digest(settings, store, rules, recipient, now, kind, key)
        if digest_id is not None:
            built.append(digest_id)
    return built


def queue_digest(
    settings: Settings, store: Store, rules: RuleSet, recipient: RecipientSettings, now: datetime, kind: str, key: str
) -> int | None:
    content = build_digest(settings, store, rules, recipient, now)
    if content.is_empty and not recipient.send_empty:
        log.info("nothing new, no digest", extra={"recipient": recipient.name})
        return None
    message = compose(render(content, settings.templates_dir), settings.smtp.sender, recipient.name, recipient.address, now)
    row = Digest(
        recipient=recipient.name,
        address=recipient.address,
        kind=kind,
        period_key=key,
        covers_until=now,
        message_id=message["Message-ID"],
        subject=message["Subject"],
        message=message.as_bytes(policy=SMTP).decode("ascii"),
        status="queued",
        attempts=0,
    )
    items = {i.story_id: (i.story_id, i.article_count, i.new_sources > 0) for s in content.sections for i in s.stories + s.more}
    digest_id = store.queue_digest(row, list(items.values()))
    if digest_id is not None:
        log.info("digest %s queued: %s", digest_id, row.subject, extra={"recipient": recipient.name})
    return digest_id


def deliver(settings: Settings, store: Store, now: datetime | None = None, owner: str = LOCAL) -> tuple[int, int, int]:
    """Send every queued digest that is due; returns (sent, deferred, failed)."""
    now = now or now_utc()
    sent = deferred = failed = 0
    for digest in store.digests_to_send(now, owner, timedelta(minutes=settings.ingest.lease_minutes)):
        attempts = digest.attempts + 1
        try:
            where = _send(settings, digest)
        except TransientDeliveryError as exc:
            delay = min(DELIVERY_BACKOFF_BASE * 2 ** min(attempts - 1, 20), DELIVERY_BACKOFF_MAX)
            store.mark_digest(digest.id, "queued", attempts=attempts, last_error=str(exc), next_attempt_at=now + delay)
            log.warning("digest %s deferred, retry in %s: %s", digest.id, delay, exc, extra={"recipient": digest.recipient})
            deferred += 1
            continue
        except PermanentDeliveryError as exc:
            store.mark_digest(digest.id, "failed", attempts=attempts, last_error=str(exc))
            log.error("digest %s failed for good: %s", digest.id, exc, extra={"recipient": digest.recipient})
            failed += 1
            continue
        store.mark_digest(digest.id, "sent", attempts=attempts, sent_at=now_utc(), delivered_to=where, last_error=None)
        log.info("digest %s delivered: %s", digest.id, where, extra={"recipient": digest.recipient})
        sent += 1
    return sent, deferred, failed


def _send(settings: Settings, digest: Digest) -> str:
    data = digest.message.encode("ascii")
    if not settings.smtp.host:
        path = outbox.write(settings.outbox_dir, f"{digest.period_key}-{digest.recipient}-{digest.kind}-{digest.id}", data)
        return str(path)
    cfg = settings.smtp
    ca_file = settings.resolve(cfg.ca_file) if cfg.ca_file else None
    return smtp.send(
        data,
        host=cfg.host,
        port=cfg.port,
        security=cfg.security,
        username=cfg.username,
        password=cfg.password.get_secret_value(),
        sender=cfg.sender,
        recipients=[digest.address],
        timeout=cfg.timeout_seconds,
        tls_context=smtp.make_tls_context(ca_file),
    )


# -- one cycle ----------------------------------------------------------------------------


def run_cycle(
    settings: Settings,
    store: Store,
    rules: LoadedRules,
    every_source: bool = False,
    now: datetime | None = None,
    owner: str = LOCAL,
) -> CycleReport:
    """One pass of the whole pipeline, in order: digests whose time has come are built too.
    Fetching and sending are shared between instances by leases; matching, clustering and
    building digests run in one instance at a time (the others skip and catch up later)."""
    report = collect(settings, store, every_source, now, owner=owner)
    with store.exclusive("process") as alone:
        if alone:
            report.scanned = match(store, rules)
            report.clustered = cluster(store)
            report.digests_built = build_digests(settings, store, rules.ruleset, now)
    report.sent, report.deferred, report.failed = deliver(settings, store, now, owner=owner)
    return report
