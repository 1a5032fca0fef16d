"""The orchestrator: the only module that knows every stage.

    collect():  sources -> clean -> store            (a failing source never stops the others)
    match():    stored articles -> rule matches      (re-run when the rules change)
    cluster():  matched articles -> stories          (copies follow their original)
    build_digests(): stories -> frozen messages, one per recipient and period
    deliver():  queued messages -> SMTP or outbox    (marked sent only once accepted)
"""

from __future__ import annotations

import importlib.util
import logging
import queue
import sys
import threading
import time
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.policy import SMTP
from pathlib import Path

from monitor.articles.clean import clean
from monitor.config import RecipientSettings, Settings, SourceSettings
from monitor.delivery import outbox, smtp
from monitor.digests.build import DigestContent, SentBefore, arrange, select_stories
from monitor.digests.compose import compose
from monitor.digests import schedule
from monitor.digests.render import render
from monitor.errors import PermanentDeliveryError, SourceError, TransientDeliveryError
from monitor.matching.engine import Matcher, compile_rules, scan
from monitor.matching.folder import load_folder
from monitor.matching.rulefile import RuleSet, folder_fingerprint
from monitor.sources import feeds, fetch, health, opml, parsers, pool
from monitor.sources.folder import read_folder
from monitor.storage.queries import Store
from monitor.storage.schema import Digest

log = logging.getLogger(__name__)


def _lazy(name: str):
    """The module `name`, run on first use of one of its attributes (importlib's LazyLoader)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    spec.loader = importlib.util.LazyLoader(spec.loader)
    module = sys.modules[name] = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    parent, _, child = name.rpartition(".")
    setattr(sys.modules[parent], child, module)
    return module


# The story stage needs datasketch, numpy and scipy (half a second of imports): it is
# loaded when first used, so commands that never cluster (`monitor ingest --fetch-only`,
# `monitor sources list`, `monitor status`) start without it.
clusters = _lazy("monitor.stories.clusters")
duplicates = _lazy("monitor.stories.duplicates")
profiles = _lazy("monitor.stories.profiles")

# Feed polls stored per transaction: one commit per 100 feeds (or per second) rather than
# one per article keeps SQLite's fsyncs out of the way of a 2,000-feed cycle.
STORE_BATCH = 100
STORE_EVERY_SECONDS = 1.0
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
    """The rules folder as it is now, file by file.

    A file that fails to parse or validate is logged with file, line, column and reason,
    and its previous good version stays in force; the other files take effect. At start-up
    (no current rules) any error stops the start, so a typo is seen at once.
    """
    folder = settings.rules_dir
    if current is not None and folder_fingerprint(folder) == current.ruleset.fingerprint:
        return current
    ruleset = load_folder(folder, current.ruleset if current is not None else None)
    if ruleset.errors and current is None:
        raise ruleset.errors[0]
    for error in ruleset.errors:
        log.error("rule file not (re)loaded: %s", error)
    log.info("rules loaded: %s", ", ".join(ruleset.ids))
    return LoadedRules(ruleset, compile_rules(ruleset))


# -- collect ------------------------------------------------------------------------------


def collect(
    settings: Settings,
    store: Store,
    every_source: bool = False,
    now: datetime | None = None,
    limits: fetch.FetchLimits | None = None,
    size: pool.PoolSize | None = None,
    owner: str = LOCAL,
) -> CycleReport:
    """Read every folder source and every feed that is due (or every feed), store the articles.

    Each source is leased first, so instances sharing a database never read one twice.
    Feeds are fetched by a pool of threads (per-host limit, one keep-alive client per host slot),
    parsed and cleaned in parser processes, and stored here, in this thread, in batches."""
    now = now or now_utc()
    started = time.monotonic()

    def finished() -> datetime:  # `now` moved on by the time spent: next polls count from a fetch's end
        return now + timedelta(seconds=time.monotonic() - started)

    report = CycleReport(articles={"new": 0, "revised": 0, "unchanged": 0, "copy": 0})
    sources = all_sources(settings, store)
    store.ensure_sources([(s.name, s.kind, _location(settings, s)) for s in sources])
    lease = timedelta(minutes=settings.ingest.lease_minutes)
    folders = [s.name for s in sources if s.kind == "directory"]
    feeds_ = [s.name for s in sources if s.kind != "directory"]
    # Folders are cheap to read and read every cycle; feeds only when due.
    claimed = {row.name: row for row in store.claim_sources(owner, folders, now, lease, every=True)}
    claimed |= {row.name: row for row in store.claim_sources(owner, feeds_, now, lease, every=every_source)}
    due = []
    for source in sources:
        row = claimed.get(source.name)
        if row is None:
            continue
        if source.kind == "directory":
            _collect_folder(settings, store, source, row, report, finished())
        else:
            due.append((source, row))
    if due:
        _collect_feeds(settings, store, due, report, finished, limits or fetch.FetchLimits(), size or pool.PoolSize())
    return report


def all_sources(settings: Settings, store: Store) -> list[SourceSettings]:
    """The sources of config.toml, then those imported from OPML (a config name wins)."""
    sources = list(settings.sources)
    names = {s.name for s in sources}
    for row in store.imported_sources():
        if row.name not in names:
            sources.append(
                SourceSettings(
                    name=row.name, kind="rss", url=row.location, interval_minutes=row.interval_minutes,
                    language=row.language, tags=tuple(row.tags or ()),
                )
            )
    return sources


def import_opml(store: Store, path: Path) -> tuple[list[str], list[str], list[str]]:
    """Add an OPML file's feeds as sources; returns (added, already known, refused) names."""
    found, refused = opml.read_opml(path)
    added, skipped = store.import_sources(
        [{"name": f.name, "location": f.url, "tags": list(f.tags), "language": f.language} for f in found]
    )
    log.info("OPML %s: %d feed(s) added, %d already known, %d refused", path, len(added), len(skipped), len(refused))
    return added, skipped, refused


def _location(settings: Settings, source: SourceSettings) -> str:
    return str(settings.resolve(source.path)) if source.kind == "directory" else source.url


def _interval(settings: Settings, source: SourceSettings) -> timedelta:
    return timedelta(minutes=source.interval_minutes or settings.ingest.interval_minutes)


def _collect_folder(settings: Settings, store: Store, source: SourceSettings, row, report: CycleReport, now: datetime) -> None:
    interval = _interval(settings, source)
    try:
        raws = list(read_folder(source.name, settings.resolve(source.path)))
    except SourceError as exc:
        failures = row.consecutive_failures + 1
        store.record_source_failure(row.id, str(exc), health.after_failure(now, interval, failures, None))
        log.warning("source failed (%d in a row): %s", failures, exc, extra={"source": source.name})
        report.failed_sources.append(source.name)
        return
    for raw in raws:
        article_id, status = store.store_article(row.id, clean(raw))
        report.articles[status] += 1
        if status != "unchanged":
            log.info("article %s: %s", status, raw.title[:80], extra={"source": source.name, "article_id": article_id})
    store.record_source_success(row.id, len(raws), now + interval)


def _collect_feeds(settings: Settings, store: Store, due: list, report: CycleReport, clock, limits, size) -> None:
    by_id = {row.id: (source, row) for source, row in due}
    jobs = [pool.FeedJob(row.id, source.url, row.etag, row.last_modified) for source, row in due]
    answers: queue.SimpleQueue = queue.SimpleQueue()
    with parsers.parser_pool() as parsing:  # forked before the fetch threads start

        def on_result(job: pool.FeedJob, answer) -> None:  # runs in a fetch thread
            try:
                hand_over(job, answer)
            except Exception as exc:  # each job must put one answer, or the loop below waits forever
                answers.put((job, SourceError(f"unexpected {exc.__class__.__name__}: {exc}"), None))

        def hand_over(job: pool.FeedJob, answer) -> None:
            if isinstance(answer, SourceError) or answer.not_modified:
                answers.put((job, answer, None))
                return
            source = by_id[job.key][0]
            args = (source.name, answer.body, answer.url, source.language, answer.content_type)
            try:
                future = parsing.submit(feeds.parse_and_clean, *args)
            except BrokenProcessPool:  # a parser process died (killed from outside): parse here
                answers.put((job, answer, feeds.parse_and_clean(*args)))
                return
            future.add_done_callback(lambda done: answers.put((job, answer, _parsed(done))))

        fetcher = threading.Thread(target=pool.fetch_all, args=(jobs, on_result, size, limits), name="fetch-pool")
        fetcher.start()
        batch, flushed = [], time.monotonic()
        for _ in jobs:
            job, answer, parsed = answers.get()
            # Next polls count from when the answer came: never two fetches within one interval.
            batch.append(_poll(settings, by_id[job.key], answer, parsed, clock(), report))
            if len(batch) >= STORE_BATCH or time.monotonic() - flushed > STORE_EVERY_SECONDS:
                _store_polls(store, batch, by_id, report)
                batch, flushed = [], time.monotonic()
        _store_polls(store, batch, by_id, report)
        fetcher.join()


def _parsed(future) -> tuple[list, str | None]:
    try:
        return future.result()
    except Exception as exc:  # the parser process died on this feed
        return [], f"parser process failed: {exc.__class__.__name__}: {exc}"


def _poll(settings: Settings, entry, answer, parsed, now: datetime, report: CycleReport) -> tuple[int, list, dict]:
    """One feed's answer as (source id, articles, the source's new health and HTTP state)."""
    source, row = entry
    interval = _interval(settings, source)
    articles, parse_error = parsed or ([], None)
    error = answer if isinstance(answer, SourceError) else (SourceError(parse_error) if parse_error else None)
    status = answer.status  # None when no HTTP answer came
    if error is None:
        return row.id, articles, {
            "last_attempt_at": now, "last_success_at": now, "last_error": None, "failing_since": None,
            "consecutive_failures": 0, "next_poll_at": health.after_success(now, interval, answer.max_age),
            "etag": answer.etag, "last_modified": answer.last_modified, "last_status": status,
            "lease_owner": None, "lease_until": None,
        }
    failures = row.consecutive_failures + 1
    next_poll = health.after_failure(now, interval, failures, error.retry_after)
    log.warning("source failed (%d in a row), next try at %s: %s", failures, next_poll, error, extra={"source": source.name})
    report.failed_sources.append(source.name)
    return row.id, [], {
        "last_attempt_at": now, "last_error": str(error)[:2000], "failing_since": row.failing_since or now,
        "consecutive_failures": failures, "next_poll_at": next_poll, "last_status": status,
        "lease_owner": None, "lease_until": None,
    }


def _store_polls(store: Store, batch: list, by_id: dict, report: CycleReport) -> None:
    if not batch:
        return
    for (source_id, _, _), stored in zip(batch, store.record_polls(batch)):
        counts = {status: 0 for status in report.articles}
        for _, status in stored:
            counts[status] += 1
        for status, count in counts.items():
            report.articles[status] += count
        if counts["new"] or counts["revised"]:
            log.info("feed polled: %d new, %d revised, %d copies", counts["new"], counts["revised"], counts["copy"],
                     extra={"source": by_id[source_id][0].name})


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


class StoryCache:
    """The story index a long-running daemon keeps between cycles. It is used again while the
    database shows that nobody else placed or deleted articles since (the count and highest
    id of the articles in stories are unchanged) and while its window reaches back far
    enough for the new articles; otherwise it is rebuilt from the stored window."""

    def __init__(self) -> None:
        self.index: clusters.StoryIndex | None = None
        self.since: datetime | None = None  # the oldest date it was built from
        self.mark: tuple[int, int] | None = None  # the database's mark when it was last in step
        self.builds = 0


def cluster(store: Store, cache: StoryCache | None = None) -> int:
    """Give every scanned article without a story its story, oldest first.

    The index of active stories comes from the stored articles around the new ones (or from
    `cache`, when still in step), so every instance and every restart sees the same stories;
    then each article is placed on arrival: a copy joins its original's story, anything else
    the most similar story or a new one (stories/clusters.py)."""
    articles = store.articles_without_story()
    if not articles:
        return 0
    index = _story_index(store, articles, cache if cache is not None else StoryCache())
    for article in articles:
        profile, signature = _profile(article), duplicates.signature(article.text)
        place = index.place(profile, signature)
        duplicate_of = place.duplicate_of if article.duplicate_of is None else article.duplicate_of
        story_id = store.assign_story(article.id, place.story_id, place.score, place.reason, duplicate_of)
        index.add(article.id, story_id, profile, signature, is_copy=duplicate_of is not None)
        log.info("story %s (score %.2f)", story_id, place.score, extra={"article_id": article.id, "story_id": story_id})
    if cache is not None:
        cache.mark = store.story_mark()
    return len(articles)


def _story_index(store: Store, articles: list, cache: StoryCache) -> clusters.StoryIndex:
    dates = [article.published_at or article.first_seen_at for article in articles]
    window = timedelta(days=clusters.WINDOW_DAYS)
    low = min(dates) - window
    index = cache.index
    if index is not None and cache.mark == store.story_mark() and cache.since <= low and index.keeps_from(low):
        return index
    index = clusters.StoryIndex()
    # the document frequencies count the last articles before the window, as in a daemon
    # that never stopped, and roll on as the window's articles are added
    for earlier in store.articles_before(low, index.memory):
        index.count(_profile(earlier))
    for article in store.articles_in_stories(low, max(dates) + window):
        index.add(article.id, article.story_id, _profile(article), duplicates.signature(article.text), article.duplicate_of is not None)
    cache.index, cache.since, cache.builds = index, low, cache.builds + 1
    return index


def _profile(article) -> profiles.Profile:
    when = article.published_at or article.first_seen_at
    return profiles.profile(article.title, article.text, article.entities or (), when, article.language)


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
    stories: StoryCache | None = None,
) -> CycleReport:
    """One pass of the whole pipeline, in order: digests whose time has come are built too.
    Fetching and sending are shared between instances by leases; matching, clustering and
    building digests run in one instance at a time (the others skip and catch up later)."""
    report = collect(settings, store, every_source, now, owner=owner)
    with store.exclusive("process") as alone:
        if alone:
            report.scanned = match(store, rules)
            report.clustered = cluster(store, stories)
            report.digests_built = build_digests(settings, store, rules.ruleset, now)
    report.sent, report.deferred, report.failed = deliver(settings, store, now, owner=owner)
    return report
