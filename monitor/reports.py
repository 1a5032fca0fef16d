"""What the CLI prints: status, stories and explanations, built from stored records."""

from __future__ import annotations

from monitor.config import Settings
from monitor.digests.schedule import describe
from monitor.pipeline import now_utc, period_key
from monitor.sources import health
from monitor.storage.queries import Store
from monitor.stories.headline import lead_article


def _iso(moment) -> str | None:
    return moment.isoformat() if moment else None


def stories(store: Store) -> list[dict]:
    """Every story as JSON-ready dicts: id, headline, rules, articles (id, url, source, title, published)."""
    names = store.source_names()
    result = []
    for story, articles, matches in store.stories():
        lead = lead_article(articles)
        result.append(
            {
                "id": story.id,
                "headline": lead.title if lead is not None else story.headline,
                "rules": sorted({m.rule_id for m in matches}),
                "first_seen": _iso(story.first_seen_at),
                "last_updated": _iso(story.last_updated_at),
                "event_at": _iso(story.event_at),
                "articles": [
                    {
                        "id": a.id,
                        "url": a.url,
                        "source": names.get(a.source_id),
                        "outlet": a.outlet,
                        "title": a.title,
                        "published": _iso(a.published_at),
                        "duplicate_of": a.duplicate_of,
                        "score": a.story_score,
                        "reason": a.story_reason,
                    }
                    for a in articles
                ],
            }
        )
    return result


def stories_text(items: list[dict]) -> str:
    lines = []
    for story in items:
        lines.append(f"#{story['id']} {story['headline']}  [{', '.join(story['rules']) or 'no rule'}]")
        for article in story["articles"]:
            lines.append(f"    {article['id']:>5}  {article['outlet'] or article['source']}: {article['title']}")
    return "\n".join(lines) or "no stories yet"


def _why(score: float | None, reason: dict) -> list[str]:
    """A story assignment in words: the decision, the parts of the score, what was shared."""
    lines = [f"{reason.get('rule', '')}; score {score} (threshold {reason.get('threshold')})"]
    if "text" in reason:
        lines.append(
            f"text {reason['text']}, headline {reason.get('headline')}, names {reason['names']}, "
            f"{reason['days_apart']} days apart (x{reason['time_factor']}), language {reason.get('language')}"
        )
    for key, label in (("shared_entities", "shared entities"), ("shared_names", "shared names"),
                       ("top_terms", "top terms"), ("new_names_in_headline", "new in the headline")):
        if reason.get(key):
            lines.append(f"{label}: {', '.join(reason[key])}")
    if reason.get("candidates") is not None:
        lines.append(f"stories compared: {reason['candidates']}; next best score: {reason.get('next_best')}")
    return lines


def explain_story(store: Store, story_id: int) -> str | None:
    found = next((s for s in stories(store) if s["id"] == story_id), None)
    if found is None:
        return None
    lines = [f"story #{found['id']}: {found['headline']}", f"rules: {', '.join(found['rules']) or 'none'}"]
    for article in found["articles"]:
        reason = article["reason"] or {}
        lines.append(f"- article {article['id']} ({article['outlet'] or article['source']}): {article['title']}")
        lines.extend(f"    {line}" for line in _why(article["score"], reason))
    return "\n".join(lines)


def explain_article(store: Store, article_id: int) -> str | None:
    article = store.article(article_id)
    if article is None:
        return None
    lines = [f"article {article.id}: {article.title}", f"entities: {', '.join(article.entities or []) or 'none'}"]
    matches = store.matches_of(article_id)
    if not matches:
        lines.append("no rule matched")
    for match in matches:
        lines.append(f"rule {match.rule_id}: score {match.score:g} against threshold {match.threshold:g}")
        for hit in match.evidence:
            lines.append(
                f"    {hit['term']:<22} {hit['found']!r} in {hit['field']} at {hit['offset']} ({hit['how']}, +{hit['weight']:g})"
            )
    return "\n".join(lines)


def sources_text(store: Store) -> str:
    """`monitor sources list`: one block per source, its health and last error in words."""
    now = now_utc()
    rows = store.sources()
    lines = []
    for source in rows:
        tags = f" [{', '.join(source.tags)}]" if source.tags else ""
        lines.append(f"{source.name} ({source.kind}, from {source.origin}){tags}: {health.describe(source, now)}")
        lines.append(f"    {source.location}")
        lines.append(
            f"    last success {_iso(source.last_success_at) or 'never'}; next poll {_iso(source.next_poll_at) or 'now'}; "
            f"entries seen {source.entries_seen}; last HTTP status {source.last_status or '-'}"
        )
    states = [health.state(s.failing_since, s.consecutive_failures, s.last_success_at, s.last_status) for s in rows]
    summary = ", ".join(f"{states.count(word)} {word}" for word in ("ok", "new", "failing", "rate-limited") if word in states)
    return "\n".join(lines + [f"{len(rows)} source(s): {summary or 'none'}"])


def status(settings: Settings, store: Store) -> str:
    now = now_utc()
    counts = store.counts()
    lines = ["counts: " + ", ".join(f"{k} {v}" for k, v in counts.items()), "", "sources:"]
    for source in store.sources():
        lines.append(
            f"  {source.name} ({source.kind}) {health.describe(source, now)}; last success {_iso(source.last_success_at) or 'never'}, "
            f"next poll {_iso(source.next_poll_at) or 'now'}, entries seen {source.entries_seen}"
        )
    lines += ["", "recipients:"]
    for recipient in settings.recipients:
        last = store.last_digest(recipient.name)
        lines.append(
            f"  {recipient.name} <{recipient.address}> {describe(recipient)}; "
            f"current period {period_key(recipient, now)}; last digest "
            + (f"{last.period_key} {last.status}" if last else "none")
        )
    lines += ["", "recent digests:"]
    for digest in store.digests(10):
        error = f" ({digest.last_error})" if digest.last_error else ""
        lines.append(f"  #{digest.id} {digest.recipient} {digest.kind} {digest.period_key}: {digest.status}, {digest.attempts} attempt(s){error}")
    return "\n".join(lines)
