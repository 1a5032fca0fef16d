"""SQLAlchemy tables. Changing them means a new Alembic revision in migrations/versions/."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import JSON, DateTime, Float, ForeignKey, Index, Integer, String, Text, TypeDecorator, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} would be stored without a zone")
        return value.astimezone(UTC)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class Source(Base):
    __tablename__ = "sources"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    location: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    next_poll_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(Text)
    entries_seen: Mapped[int] = mapped_column(Integer, default=0)
    lease_owner: Mapped[str | None] = mapped_column(String(64))  # the instance fetching it now
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)  # after this, anyone may take it
    # Added by revision 0003_feeds: the last HTTP status, and sources imported from OPML
    # (origin "opml"; those from config.toml are "config") with their settings.
    last_status: Mapped[int | None] = mapped_column(Integer)
    origin: Mapped[str] = mapped_column(String(20), default="config", server_default="config")
    interval_minutes: Mapped[int | None] = mapped_column(Integer)
    language: Mapped[str | None] = mapped_column(String(20))
    tags: Mapped[list | None] = mapped_column(JSON)


class Story(Base):
    __tablename__ = "stories"
    id: Mapped[int] = mapped_column(primary_key=True)
    headline: Mapped[str] = mapped_column(Text)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    event_at: Mapped[datetime] = mapped_column(UTCDateTime)  # earliest publication of its articles
    article_count: Mapped[int] = mapped_column(Integer, default=0)


class Article(Base):
    __tablename__ = "articles"
    __table_args__ = (UniqueConstraint("source_id", "guid", name="uq_articles_source_guid"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"))
    guid: Mapped[str] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(Text)
    canonical_url: Mapped[str | None] = mapped_column(Text, index=True)
    title: Mapped[str] = mapped_column(Text)
    outlet: Mapped[str | None] = mapped_column(String(200))
    author: Mapped[str | None] = mapped_column(String(200))
    language: Mapped[str | None] = mapped_column(String(20))
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    text: Mapped[str] = mapped_column(Text)
    lead: Mapped[str] = mapped_column(Text, default="")
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    entities: Mapped[list] = mapped_column(JSON, default=list)
    scanned_with: Mapped[str | None] = mapped_column(String(64))  # rules fingerprint of the last scan
    duplicate_of: Mapped[int | None] = mapped_column(ForeignKey("articles.id"))
    story_id: Mapped[int | None] = mapped_column(ForeignKey("stories.id"), index=True)
    story_score: Mapped[float | None] = mapped_column(Float)
    story_reason: Mapped[dict | None] = mapped_column(JSON)


class RuleMatch(Base):
    __tablename__ = "matches"
    __table_args__ = (UniqueConstraint("article_id", "rule_id", name="uq_matches_article_rule"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), index=True)
    rule_id: Mapped[str] = mapped_column(String(100), index=True)
    score: Mapped[float] = mapped_column(Float)
    threshold: Mapped[float] = mapped_column(Float)
    summary: Mapped[str] = mapped_column(Text)
    evidence: Mapped[list] = mapped_column(JSON)
    matched_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Digest(Base):
    __tablename__ = "digests"
    __table_args__ = (UniqueConstraint("recipient", "kind", "period_key", name="uq_digests_period"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    recipient: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(320))
    kind: Mapped[str] = mapped_column(String(20))  # "daily" or "alert"
    period_key: Mapped[str] = mapped_column(String(100))  # local date, or "story-N-rev-M" for alerts
    covers_until: Mapped[datetime] = mapped_column(UTCDateTime)
    message_id: Mapped[str] = mapped_column(String(300), unique=True)
    subject: Mapped[str] = mapped_column(Text)
    message: Mapped[str] = mapped_column(Text)  # the frozen RFC 5322 message
    status: Mapped[str] = mapped_column(String(20), default="queued")  # queued, sent, failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered_to: Mapped[str | None] = mapped_column(Text)  # outbox file path or "smtp://host"
    lease_owner: Mapped[str | None] = mapped_column(String(64))  # the instance sending it now
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class DigestStory(Base):
    __tablename__ = "digest_stories"
    digest_id: Mapped[int] = mapped_column(ForeignKey("digests.id", ondelete="CASCADE"), primary_key=True)
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id", ondelete="CASCADE"), primary_key=True)
    article_count: Mapped[int] = mapped_column(Integer)  # story size when sent: later growth is news
    is_update: Mapped[bool] = mapped_column(default=False)


Index("ix_digests_status", Digest.status, Digest.next_attempt_at)


class Instance(Base):
    """One running daemon: its heartbeat tells `monitor status --check` whether work goes on."""

    __tablename__ = "instances"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_cycle_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # last cycle that finished
    last_cycle_seconds: Mapped[float | None] = mapped_column(Float)
    last_error: Mapped[str | None] = mapped_column(Text)
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
