"""The only place that opens a Session. Every function is one short transaction.

Records returned are detached ORM objects: read them, don't change them.
"""

from __future__ import annotations

import zlib

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, and_, bindparam, delete, func, or_, select, text, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from monitor.errors import StorageError

from monitor.storage.db import make_engine, upgrade
from monitor.storage.schema import Article, Digest, DigestStory, Instance, RuleMatch, Source, Story, utcnow
from monitor.types import CleanArticle, Match


class Store:
    def __init__(self, engine: Engine):
        self.engine = engine
        # PostgreSQL may be shared by several instances; a SQLite file belongs to the one
        # process holding its instance lock, so a lease found there was left by a dead process.
        self.shared = engine.dialect.name == "postgresql"
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @classmethod
    def open(cls, url: str, migrate: bool = True) -> Store:
        engine = make_engine(url)
        try:
            if migrate:
                upgrade(engine)
            else:
                engine.connect().close()
        except SQLAlchemyError as exc:
            engine.dispose()
            raise StorageError(f"database {engine.url.render_as_string(hide_password=True)}: {exc.__class__.__name__}: {exc}") from exc
        return cls(engine)

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self._sessions.begin() as session:
            yield session

    # -- sources -------------------------------------------------------------------------

    def ensure_source(self, name: str, kind: str, location: str) -> Source:
        self.ensure_sources([(name, kind, location)])
        with self.session() as s:
            return s.scalars(select(Source).where(Source.name == name)).one()

    def ensure_sources(self, wanted: list[tuple[str, str, str]]) -> None:
        """`ensure_source` for many (name, kind, location) at once, in one transaction."""
        try:
            self._ensure_sources(wanted)
        except IntegrityError:  # another instance added one of them at the same moment
            self._ensure_sources(wanted)

    def _ensure_sources(self, wanted: list[tuple[str, str, str]]) -> None:
        # Three columns of each known source, not ORM objects: a cycle over 2,000 feeds
        # starts here, and usually finds nothing to add or change.
        with self.session() as s:
            known = {name: (kind, location) for name, kind, location in s.execute(select(Source.name, Source.kind, Source.location))}
            for name, kind, location in wanted:
                if name not in known:
                    known[name] = (kind, location)
                    s.add(Source(name=name, kind=kind, location=location, consecutive_failures=0, entries_seen=0, origin="config"))
                elif known[name] != (kind, location):
                    known[name] = (kind, location)
                    s.execute(  # the validators belonged to the old URL
                        update(Source).where(Source.name == name).values(kind=kind, location=location, etag=None, last_modified=None)
                    )

    def record_polls(self, polls: list[tuple[int, list[CleanArticle], dict]]) -> list[list[tuple[int, str]]]:
        """Store many polls in one transaction: each is (source id, its articles, the source's
        new column values). `entries_seen` grows by the new articles. Returns, per poll, the
        (article id, status) of each article as `store_article` would, poll after poll."""
        now = utcnow()
        with self.session() as s:
            results = _store_feeds(s, [(source_id, articles) for source_id, articles, _ in polls], now)
            updates: dict[tuple[str, ...], list[dict]] = {}  # one UPDATE ... executemany per set of columns
            for (source_id, _, fields), stored in zip(polls, results):
                new = sum(1 for _, status in stored if status == "new")
                row = {f"new_{key}": value for key, value in fields.items()}
                updates.setdefault(tuple(sorted(fields)), []).append(row | {"source_id": source_id, "new_entries": new})
            table = Source.__table__
            for columns, rows in updates.items():
                values = {key: bindparam(f"new_{key}") for key in columns}
                values["entries_seen"] = table.c.entries_seen + bindparam("new_entries")
                statement = update(table).where(table.c.id == bindparam("source_id")).values(values)
                s.connection().execute(statement, rows)
        return results

    def import_sources(self, feeds: list[dict]) -> tuple[list[str], list[str]]:
        """Add feeds (dicts with name, location and optional interval_minutes, language,
        tags) as sources of origin "opml". A feed whose URL is already a source is skipped,
        so importing twice adds nothing. Returns (names added, names skipped)."""
        added, skipped = [], []
        with self.session() as s:
            known_urls = set(s.scalars(select(Source.location)))
            names = set(s.scalars(select(Source.name)))
            for feed in feeds:
                if feed["location"] in known_urls:
                    skipped.append(feed["name"])
                    continue
                name, n = feed["name"], 2
                while name in names:
                    name, n = f"{feed['name']} ({n})", n + 1
                s.add(Source(kind="rss", consecutive_failures=0, entries_seen=0, origin="opml", **{**feed, "name": name}))
                known_urls.add(feed["location"])
                names.add(name)
                added.append(name)
        return added, skipped

    def imported_sources(self) -> list:
        """The sources imported from OPML: rows of (name, location, interval_minutes, language, tags)."""
        columns = (Source.name, Source.location, Source.interval_minutes, Source.language, Source.tags)
        with self.session() as s:
            return list(s.execute(select(*columns).where(Source.origin == "opml").order_by(Source.id)))

    def sources(self) -> list[Source]:
        with self.session() as s:
            return list(s.scalars(select(Source).order_by(Source.name)))

    def claim_sources(self, owner: str, names: list[str], now: datetime, lease: timedelta, every: bool = False) -> list:
        """Lease the named sources that are due (all of them with `every`) and not leased by a
        live instance. On PostgreSQL, FOR UPDATE SKIP LOCKED lets concurrent instances each
        take different sources; a lease held by an instance that died simply expires.
        Returns the leased sources' rows (one UPDATE ... RETURNING, not ORM objects: a cycle
        over 2,000 feeds starts here), in id order."""
        table = Source.__table__
        due = select(table.c.id).where(table.c.name.in_(names))
        if self.shared:
            due = due.where(or_(table.c.lease_until.is_(None), table.c.lease_until < now))
        if not every:
            due = due.where(or_(table.c.next_poll_at.is_(None), table.c.next_poll_at <= now))
        leased = (
            update(table)
            .where(table.c.id.in_(due.with_for_update(skip_locked=True)))
            .values(lease_owner=owner, lease_until=now + lease)
            .returning(*table.c)
        )
        with self.session() as s:
            return sorted(s.execute(leased), key=lambda row: row.id)

    def record_source_success(self, source_id: int, entries: int, next_poll: datetime, **http: str | None) -> None:
        now = utcnow()
        with self.session() as s:
            source = s.get_one(Source, source_id)
            source.last_attempt_at = source.last_success_at = now
            source.last_error = source.failing_since = None
            source.consecutive_failures = 0
            source.next_poll_at = next_poll
            source.lease_owner = source.lease_until = None
            source.entries_seen += entries
            for key, value in http.items():
                setattr(source, key, value)

    def record_source_failure(self, source_id: int, error: str, next_poll: datetime) -> int:
        """Store the failure; returns the number of consecutive failures."""
        now = utcnow()
        with self.session() as s:
            source = s.get_one(Source, source_id)
            source.last_attempt_at = now
            source.last_error = error[:2000]
            source.failing_since = source.failing_since or now
            source.consecutive_failures += 1
            source.next_poll_at = next_poll
            source.lease_owner = source.lease_until = None
            return source.consecutive_failures

    # -- articles ------------------------------------------------------------------------

    def store_article(self, source_id: int, article: CleanArticle) -> tuple[int, str]:
        """Insert or revise; returns (article id, "new" | "revised" | "unchanged" | "copy")."""
        now = utcnow()
        with self.session() as s:
            existing = s.scalar(select(Article).where(Article.source_id == source_id, Article.guid == article.guid))
            if existing is None and article.canonical_url:
                existing = s.scalar(
                    select(Article).where(Article.canonical_url == article.canonical_url).order_by(Article.id).limit(1)
                )
            if existing is not None:
                if existing.content_hash == article.content_hash:
                    return existing.id, "unchanged"
                _revise(existing, article, now)
                return existing.id, "revised"
            same_text = s.scalar(
                select(Article).where(Article.content_hash == article.content_hash).order_by(Article.id).limit(1)
            )
            if same_text is not None and same_text.source_id == source_id:
                return same_text.id, "unchanged"  # the same text again from the same source
            row = Article(**_new_article(source_id, article, now, same_text))
            s.add(row)
            s.flush()
            return row.id, "copy" if same_text else "new"

    def articles_to_scan(self, fingerprint: str) -> list[Article]:
        with self.session() as s:
            query = select(Article).where(or_(Article.scanned_with.is_(None), Article.scanned_with != fingerprint))
            return list(s.scalars(query.order_by(Article.id)))

    def save_scan(self, article_id: int, matches: list[Match], entities: set[str], fingerprint: str) -> None:
        """Replace the article's matches with this scan's (rules may have changed)."""
        with self.session() as s:
            article = s.get_one(Article, article_id)
            article.entities = sorted(entities)
            article.scanned_with = fingerprint
            s.execute(delete(RuleMatch).where(RuleMatch.article_id == article_id))
            for match in matches:
                s.add(
                    RuleMatch(
                        article_id=article_id,
                        rule_id=match.rule_id,
                        score=match.score,
                        threshold=match.threshold,
                        summary=match.summary(),
                        evidence=[asdict(hit) for hit in match.hits],
                    )
                )

    def article(self, article_id: int) -> Article | None:
        with self.session() as s:
            return s.get(Article, article_id)

    def matches_of(self, article_id: int) -> list[RuleMatch]:
        with self.session() as s:
            return list(s.scalars(select(RuleMatch).where(RuleMatch.article_id == article_id).order_by(RuleMatch.rule_id)))

    # -- stories -------------------------------------------------------------------------

    def articles_without_story(self) -> list[Article]:
        with self.session() as s:
            query = select(Article).where(Article.story_id.is_(None), Article.scanned_with.is_not(None))
            return list(s.scalars(query.order_by(func.coalesce(Article.published_at, Article.first_seen_at), Article.id)))

    def story_mark(self) -> tuple[int, int]:
        """(how many articles are in stories, the highest id among them): changes whenever an
        article is placed in a story or such an article is deleted."""
        with self.session() as s:
            count, highest = s.execute(
                select(func.count(Article.id), func.max(Article.id)).where(Article.story_id.is_not(None))
            ).one()
            return count, highest or 0

    def articles_in_stories(self, low: datetime, high: datetime) -> list[Article]:
        """Articles already in a story, dated between `low` and `high`, oldest first."""
        when = func.coalesce(Article.published_at, Article.first_seen_at)
        with self.session() as s:
            query = select(Article).where(Article.story_id.is_not(None), when >= low, when <= high)
            return list(s.scalars(query.order_by(when, Article.id)))

    def articles_before(self, moment: datetime, limit: int) -> list[Article]:
        """The `limit` latest articles in stories dated before `moment`, oldest first."""
        when = func.coalesce(Article.published_at, Article.first_seen_at)
        with self.session() as s:
            query = select(Article).where(Article.story_id.is_not(None), when < moment)
            latest = list(s.scalars(query.order_by(when.desc(), Article.id.desc()).limit(limit)))
        return latest[::-1]

    def assign_story(
        self, article_id: int, story_id: int | None, score: float, reason: dict, duplicate_of: int | None = None
    ) -> int:
        """Put the article in `story_id`, or in a new story when None; returns the story id.
        A copy (`duplicate_of`, or found by its hash when stored) joins its original's story."""
        now = utcnow()
        with self.session() as s:
            article = s.get_one(Article, article_id)
            when = article.published_at or article.first_seen_at
            if duplicate_of is not None and article.duplicate_of is None:
                article.duplicate_of = duplicate_of
            elif article.duplicate_of is not None:
                original = s.get_one(Article, article.duplicate_of)
                story_id, score = original.story_id, 1.0
                reason = {"rule": f"copy of article {original.id}", "duplicate_of": original.id}
            if story_id is None:
                story = Story(headline=article.title, first_seen_at=now, last_updated_at=now, event_at=when, article_count=0)
                s.add(story)
                s.flush()
            else:
                story = s.get_one(Story, story_id)
                story.event_at = min(story.event_at, when)
            story.last_updated_at = now
            story.article_count += 1
            article.story_id, article.story_score, article.story_reason = story.id, score, reason
            return story.id

    def stories(self, since: datetime | None = None) -> list[tuple[Story, list[Article], list[RuleMatch]]]:
        """Stories (optionally only those updated since `since`) with articles and matches."""
        with self.session() as s:
            query = select(Story).order_by(Story.event_at, Story.id)
            if since is not None:
                query = query.where(Story.last_updated_at > since)
            result = []
            for story in s.scalars(query):
                articles = list(s.scalars(select(Article).where(Article.story_id == story.id).order_by(Article.id)))
                ids = [a.id for a in articles]
                matches = list(s.scalars(select(RuleMatch).where(RuleMatch.article_id.in_(ids)))) if ids else []
                result.append((story, articles, matches))
            return result

    def story(self, story_id: int) -> Story | None:
        with self.session() as s:
            return s.get(Story, story_id)

    def source_names(self) -> dict[int, str]:
        with self.session() as s:
            return {source_id: name for source_id, name in s.execute(select(Source.id, Source.name))}

    # -- digests -------------------------------------------------------------------------

    def digest_exists(self, recipient: str, kind: str, period_key: str) -> bool:
        with self.session() as s:
            query = select(Digest.id).where(
                Digest.recipient == recipient, Digest.kind == kind, Digest.period_key == period_key
            )
            return s.scalar(query) is not None

    def last_digest(self, recipient: str, kind: str = "daily") -> Digest | None:
        with self.session() as s:
            query = select(Digest).where(Digest.recipient == recipient, Digest.kind == kind)
            return s.scalar(query.order_by(Digest.covers_until.desc()).limit(1))

    def sent_story_sizes(self, recipient: str) -> dict[int, int]:
        """story id -> number of articles it had when last put in a digest for `recipient`."""
        with self.session() as s:
            query = (
                select(DigestStory.story_id, func.max(DigestStory.article_count))
                .join(Digest, Digest.id == DigestStory.digest_id)
                .where(Digest.recipient == recipient)
                .group_by(DigestStory.story_id)
            )
            return {story_id: count for story_id, count in s.execute(query)}

    def sent_stories(self, recipient: str, kinds: tuple[str, ...] | None = None) -> dict[int, tuple[int, datetime]]:
        """story id -> (its article count, when) in the last message that carried it to
        `recipient` (of those `kinds`, default any). A message refused for good does not
        count: its stories come back in the next one rather than being silently lost."""
        with self.session() as s:
            query = (
                select(DigestStory.story_id, DigestStory.article_count, Digest.created_at)
                .join(Digest, Digest.id == DigestStory.digest_id)
                .where(Digest.recipient == recipient, Digest.status != "failed")
                .order_by(Digest.id)
            )
            if kinds is not None:
                query = query.where(Digest.kind.in_(kinds))
            return {story_id: (count, when) for story_id, count, when in s.execute(query)}

    def queue_digest(self, digest: Digest, stories: list[tuple[int, int, bool]]) -> int | None:
        """Store a built digest with its (story id, article count, is update) items.
        Returns its id, or None when a digest for that period already exists."""
        try:
            with self.session() as s:
                exists = s.scalar(
                    select(Digest.id).where(
                        Digest.recipient == digest.recipient, Digest.kind == digest.kind, Digest.period_key == digest.period_key
                    )
                )
                if exists is not None:
                    return None
                s.add(digest)
                s.flush()
                for story_id, count, is_update in stories:
                    s.add(DigestStory(digest_id=digest.id, story_id=story_id, article_count=count, is_update=is_update))
                return digest.id
        except IntegrityError:
            return None  # another instance queued this period's digest first

    def digests_to_send(self, now: datetime, owner: str = "local", lease: timedelta = timedelta(minutes=10)) -> list[Digest]:
        """Lease the queued digests that are due and not leased by a live instance: each is sent
        by one instance; the lease of one that died expires and another takes the digest over."""
        with self.session() as s:
            query = select(Digest).where(
                Digest.status == "queued", or_(Digest.next_attempt_at.is_(None), Digest.next_attempt_at <= now)
            )
            if self.shared:
                query = query.where(or_(Digest.lease_until.is_(None), Digest.lease_until < now))
            rows = list(s.scalars(query.order_by(Digest.id).with_for_update(skip_locked=True)))
            for row in rows:
                row.lease_owner, row.lease_until = owner, now + lease
            return rows

    def mark_digest(self, digest_id: int, status: str, **fields) -> None:
        with self.session() as s:
            values = {"lease_owner": None, "lease_until": None, **fields}
            s.execute(update(Digest).where(Digest.id == digest_id).values(status=status, **values))

    @contextmanager
    def exclusive(self, name: str) -> Iterator[bool]:
        """Yields True when this process may do the work called `name` now. On PostgreSQL a
        session advisory lock lets one instance at a time through (the others skip: the next
        cycle catches up); on SQLite the instance lock already makes the daemon alone."""
        if self.engine.dialect.name != "postgresql":
            yield True
            return
        key = zlib.crc32(name.encode())
        with self.engine.connect() as connection:
            got = bool(connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}).scalar())
            connection.commit()
            try:
                yield got
            finally:
                if got:
                    connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                    connection.commit()

    def digests(self, limit: int = 50) -> list[Digest]:
        with self.session() as s:
            return list(s.scalars(select(Digest).order_by(Digest.id.desc()).limit(limit)))

    def counts(self) -> dict[str, int]:
        with self.session() as s:
            return {
                "sources": s.scalar(select(func.count(Source.id))),
                "articles": s.scalar(select(func.count(Article.id))),
                "matches": s.scalar(select(func.count(RuleMatch.id))),
                "stories": s.scalar(select(func.count(Story.id))),
                "digests": s.scalar(select(func.count(Digest.id))),
            }

    # -- service: heartbeats, health, metrics, retention ----------------------------------

    def register_instance(self, instance_id: str, host: str, pid: int) -> None:
        with self.session() as s:
            s.add(Instance(id=instance_id, host=host, pid=pid))

    def record_cycle(self, instance_id: str, seconds: float, error: str | None = None) -> None:
        """A cycle ended: successfully (error None) or not; either way the instance is alive."""
        now = utcnow()
        with self.session() as s:
            instance = s.get_one(Instance, instance_id)
            instance.heartbeat_at = now
            instance.last_error = error
            if error is None:
                instance.last_cycle_at, instance.last_cycle_seconds = now, seconds

    def stop_instance(self, instance_id: str) -> None:
        with self.session() as s:
            s.get_one(Instance, instance_id).stopped_at = utcnow()

    def last_cycle(self) -> Instance | None:
        """The instance with the most recent successful cycle."""
        with self.session() as s:
            query = select(Instance).where(Instance.last_cycle_at.is_not(None))
            return s.scalar(query.order_by(Instance.last_cycle_at.desc()).limit(1))

    def digests_waiting_since(self, before: datetime) -> list[Digest]:
        """Digests still queued that were built before `before`: late."""
        with self.session() as s:
            query = select(Digest).where(Digest.status == "queued", Digest.created_at < before)
            return list(s.scalars(query))

    def metric_facts(self) -> dict:
        with self.session() as s:
            return {
                "counts": self.counts(),
                "matches_by_rule": {rule: n for rule, n in s.execute(select(RuleMatch.rule_id, func.count()).group_by(RuleMatch.rule_id))},
                "digests_by_status": {
                    (kind, status): n
                    for kind, status, n in s.execute(select(Digest.kind, Digest.status, func.count()).group_by(Digest.kind, Digest.status))
                },
                "failing_sources": s.scalar(select(func.count(Source.id)).where(Source.failing_since.is_not(None))),
            }

    def prune(self, articles_before: datetime, digests_before: datetime) -> dict[str, int]:
        """Delete articles first seen before `articles_before` (with their matches), stories left
        empty, and digests sent or failed before `digests_before`. Returns what was deleted."""
        with self.session() as s:
            old = select(Article.id).where(Article.first_seen_at < articles_before)
            # Copies of an old article lose their pointer rather than block its deletion.
            s.execute(update(Article).where(Article.duplicate_of.in_(old)).values(duplicate_of=None))
            matches = s.execute(delete(RuleMatch).where(RuleMatch.article_id.in_(old))).rowcount
            articles = s.execute(delete(Article).where(Article.first_seen_at < articles_before)).rowcount
            empty = select(Story.id).where(~select(Article.id).where(Article.story_id == Story.id).exists())
            s.execute(delete(DigestStory).where(DigestStory.story_id.in_(empty)))
            stories = s.execute(delete(Story).where(Story.id.in_(empty))).rowcount
            finished = select(Digest.id).where(Digest.status != "queued", Digest.created_at < digests_before)
            s.execute(delete(DigestStory).where(DigestStory.digest_id.in_(finished)))
            digests = s.execute(delete(Digest).where(Digest.status != "queued", Digest.created_at < digests_before)).rowcount
            # Stories still referenced keep their current size in sync with what is left.
            s.execute(
                update(Story).values(
                    article_count=select(func.count(Article.id)).where(Article.story_id == Story.id).scalar_subquery()
                )
            )
            return {"articles": articles, "matches": matches, "stories": stories, "digests": digests}


@dataclass
class _Known:
    """The columns of a stored article that `_store_feeds` decides with (not its text)."""

    id: int | None
    source_id: int
    content_hash: str
    duplicate_of: int | None = None


_KNOWN = (Article.id, Article.source_id, Article.content_hash, Article.duplicate_of)


# Values per look-up statement, and (source, guids) terms OR-ed in one: far below SQLite's
# 32,766 bound parameters and its expression depth of 1,000.
LOOKUP_CHUNK = 500
LOOKUP_TERMS = 100


def _store_feeds(s: Session, feeds: list[tuple[int, list[CleanArticle]]], now: datetime) -> list[list[tuple[int, str]]]:
    """`store_article`'s rules for many feeds at once: three look-ups of four columns for the
    whole batch and one multi-row INSERT, instead of three ORM look-ups and an insert per
    article. New rows wait in `pending`; they are inserted before another feed's article
    refers to one of them (a copy needs its original's id), so the outcome is the same as
    storing the feeds one after another."""
    everything = [article for _, articles in feeds for article in articles]
    if not everything:
        return [[] for _ in feeds]
    by_guid = _known_guids(s, feeds)
    by_url = _known(s, Article.canonical_url, {a.canonical_url for a in everything if a.canonical_url})
    by_hash = _known(s, Article.content_hash, {a.content_hash for a in everything})
    pending: list[tuple[_Known, dict]] = []
    decided: list[list[tuple[_Known, str]]] = []
    for source_id, articles in feeds:
        results: list[tuple[_Known, str]] = []
        decided.append(results)
        for article in articles:
            existing = by_guid.get((source_id, article.guid)) or (by_url.get(article.canonical_url) if article.canonical_url else None)
            same_text = by_hash.get(article.content_hash) if existing is None else None
            if any(r is not None and r.id is None and r.source_id != source_id for r in (existing, same_text)):
                _insert(s, pending)
                pending = []
            if existing is not None:
                if existing.content_hash == article.content_hash or existing.id is None:
                    results.append((existing, "unchanged"))
                else:
                    _revise(s.get_one(Article, existing.id), article, now)
                    existing.content_hash = article.content_hash
                    by_hash.setdefault(article.content_hash, existing)
                    results.append((existing, "revised"))
                continue
            if same_text is not None and same_text.source_id == source_id:
                results.append((same_text, "unchanged"))
                continue
            values = _new_article(source_id, article, now, same_text)
            record = _Known(None, source_id, article.content_hash, values["duplicate_of"])
            pending.append((record, values))
            by_guid[(source_id, article.guid)] = record
            if article.canonical_url:
                by_url.setdefault(article.canonical_url, record)
            by_hash.setdefault(article.content_hash, record)
            results.append((record, "copy" if same_text else "new"))
    _insert(s, pending)
    return [[(record.id, status) for record, status in results] for results in decided]


def _found(s: Session, query, key) -> dict:
    found: dict = {}
    for row in s.execute(query.order_by(Article.id.desc())):
        found[key(row)] = _Known(*row[-len(_KNOWN):])  # descending ids: the oldest wins
    return found


def _known(s: Session, column, values: set) -> dict:
    """Stored articles by `column` (the oldest for each value)."""
    found: dict = {}
    ordered = sorted(values)
    for start in range(0, len(ordered), LOOKUP_CHUNK):
        query = select(column, *_KNOWN).where(column.in_(ordered[start : start + LOOKUP_CHUNK]))
        found |= _found(s, query, lambda row: row[0])
    return found


def _known_guids(s: Session, feeds: list[tuple[int, list[CleanArticle]]]) -> dict:
    """Stored articles by (source id, guid): OR-ed `source_id = ? AND guid IN (...)` terms,
    each an index search on the (source_id, guid) key."""
    terms = []
    for source_id, articles in feeds:
        guids = sorted({a.guid for a in articles})
        terms += [(source_id, guids[start : start + LOOKUP_CHUNK]) for start in range(0, len(guids), LOOKUP_CHUNK)]
    found: dict = {}
    chunk: list = []
    values = 0
    for n, (source_id, guids) in enumerate(terms):
        chunk.append(and_(Article.source_id == source_id, Article.guid.in_(guids)))
        values += len(guids)
        if n + 1 == len(terms) or len(chunk) == LOOKUP_TERMS or values + len(terms[n + 1][1]) > LOOKUP_CHUNK:
            found |= _found(s, select(Article.guid, *_KNOWN).where(or_(*chunk)), lambda row: (row.source_id, row.guid))
            chunk, values = [], 0
    return found


def _insert(s: Session, pending: list[tuple[_Known, dict]]) -> None:
    """Insert the new rows, many per statement, and give each record its id. The ids come
    back in no promised order, so each is matched by its row's (source_id, guid) key; asking
    for the order made SQLAlchemy insert one row per statement on SQLite."""
    if not pending:
        return
    table = Article.__table__
    statement = table.insert().returning(table.c.id, table.c.source_id, table.c.guid)
    ids = {(source_id, guid): new_id for new_id, source_id, guid in s.connection().execute(statement, [v for _, v in pending])}
    for record, values in pending:
        record.id = ids[(values["source_id"], values["guid"])]


def _new_article(source_id: int, article: CleanArticle, now: datetime, same_text) -> dict:
    """The column values of a new article row."""
    return dict(
        source_id=source_id,
        guid=article.guid,
        url=article.url,
        canonical_url=article.canonical_url,
        title=article.title,
        outlet=article.outlet,
        author=article.author,
        language=article.language,
        published_at=article.published,
        first_seen_at=now,
        updated_at=now,
        text=article.text,
        lead=article.lead,
        content_hash=article.content_hash,
        revision=1,
        entities=[],
        duplicate_of=(same_text.duplicate_of or same_text.id) if same_text else None,
    )


def _revise(row: Article, article: CleanArticle, now: datetime) -> None:
    """A known article whose text changed: a new revision, to be matched again."""
    row.title, row.text, row.lead = article.title, article.text, article.lead
    row.content_hash = article.content_hash
    row.url = article.url or row.url
    row.canonical_url = article.canonical_url or row.canonical_url
    row.published_at = article.published or row.published_at
    row.updated_at = now
    row.revision += 1
    row.scanned_with = None
