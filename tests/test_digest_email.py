"""The email a person reads: inlined CSS, every part of a story, updates, caps, and nothing
an article says ever turning into markup, a script link or a header."""

from __future__ import annotations

import email
import email.policy
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from monitor import pipeline
from monitor.config import load_settings
from monitor.digests.build import DigestContent, SourceLine, StoryItem, arrange
from monitor.digests.compose import compose
from monitor.digests.render import render
from monitor.storage.queries import Store
from tests.conftest import ROOT, write_config
from tests.corpus import EVENTS, write_event

NOW = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)
TEMPLATES = ROOT / "templates"


def item(story_id: int = 1, **changes) -> StoryItem:
    base = StoryItem(
        story_id=story_id,
        headline=f"Story {story_id} about Kazakhstan",
        url=f"https://example.org/{story_id}",
        snippet="Officials in Kazakhstan said the CSTO would help.",
        matched="kazakhstan: Kazakhstan x2 [score 4 >= 3]",
        terms=("Kazakhstan", "CSTO"),
        sources=(SourceLine("Outlet A", "A's title", "https://a.example.org/1", NOW),),
        first_seen=NOW,
        last_updated=NOW + timedelta(hours=2),
        event_at=NOW,
        article_count=1,
        new_sources=0,
        rules=("kazakhstan",),
    )
    return replace(base, **changes)


def content(sections, **changes) -> DigestContent:
    ids = tuple(sorted({s.story_id for sec in sections for s in sec.stories + sec.more}))
    base = DigestContent(
        recipient="Ann",
        address="ann@example.org",
        timezone="Asia/Almaty",
        period_key="2026-11-25",
        generated_at=NOW,
        sections=tuple(sections),
        rules_in_force=(("kazakhstan", "Kazakhstan"), ("csto", "CSTO")),
        story_ids=ids,
        schedule="daily at 08:00",
    )
    return replace(base, **changes)


def test_css_is_inlined_and_only_media_rules_stay_in_the_head():
    html = render(content(arrange([item()], [("kazakhstan", "Kazakhstan")], 5)), TEMPLATES).html
    styles = re.findall(r"<style>(.*?)</style>", html, re.S)
    assert styles and all(s.strip().startswith("@media") for s in styles)
    assert 'class="story"' in html and re.search(r'<div class="story"[^>]* style="[^"]*margin', html)
    assert re.search(r'<mark style="[^"]*background', html)  # the highlight survives without <style>
    assert "<link" not in html


def test_a_story_has_every_part_in_the_recipients_time():
    story = item(
        sources=(
            SourceLine("Outlet A", "A's title", "https://a.example.org/1", NOW),
            SourceLine("Outlet B", "B's title", "https://b.example.org/2", NOW),
        ),
        article_count=2,
    )
    rendered = render(content(arrange([story], [("kazakhstan", "Kazakhstan")], 5)), TEMPLATES)
    html, text = rendered.html, rendered.text
    assert '<a href="https://example.org/1"' in html and "Story 1 about Kazakhstan</a>" in html
    assert '<a href="https://a.example.org/1"' in html and '<a href="https://b.example.org/2"' in html
    for part in (html, " ".join(text.split())):
        assert "First seen 25 Nov 2026 14:30 +05" in part and "updated 25 Nov 2026 16:30 +05" in part
        assert "matched: kazakhstan: Kazakhstan x2 [score 4 &gt;= 3]" in part or "matched: kazakhstan: Kazakhstan x2 [score 4 >= 3]" in part
        assert "Rules in force: Kazakhstan, CSTO" in re.sub(r"<[^>]+>", "", part)
        assert "config.toml" in part and "monitor rules check" in part
    assert html.count("<mark") == 2  # Kazakhstan and CSTO in the snippet
    assert rendered.subject == "Media monitor digest, 25 Nov 2026: Kazakhstan 1"


def test_update_marker_says_how_many_sources_joined_since_when():
    story = item(new_sources=3, article_count=5, sent_before=NOW - timedelta(days=1))
    rendered = render(content(arrange([story], [("kazakhstan", "Kazakhstan")], 5)), TEMPLATES)
    assert "UPDATE &middot; 3 new sources since 24 Nov 2026" in rendered.html.replace("·", "&middot;")
    assert "[UPDATE: 3 new sources since 24 Nov 2026]" in " ".join(rendered.text.split())


def test_more_than_max_stories_are_summarized_with_links():
    items = [item(i) for i in range(1, 5)]
    sections = arrange(items, [("kazakhstan", "Kazakhstan")], 2)
    rendered = render(content(sections), TEMPLATES)
    assert "+2 more in Kazakhstan" in rendered.text and "+2 more in Kazakhstan" in rendered.html
    assert '<a href="https://example.org/4"' in rendered.html and "https://example.org/4" in rendered.text
    assert rendered.subject.endswith("Kazakhstan 4")


def test_a_story_under_two_rules_is_told_once():
    story = item(rules=("csto", "kazakhstan"))
    sections = arrange([story], [("kazakhstan", "Kazakhstan"), ("csto", "CSTO")], 5)
    rendered = render(content(sections), TEMPLATES)
    assert rendered.text.count("Officials in Kazakhstan said") == 1
    assert "(under Kazakhstan)" in rendered.text
    assert rendered.subject.endswith("Kazakhstan 1, CSTO 1")


def test_failing_sources_are_in_the_footer_with_since_when():
    failing = (("Eurasianet", NOW - timedelta(days=2), "HTTP 503 <b>down</b>"),)
    rendered = render(content(arrange([item()], [("kazakhstan", "Kazakhstan")], 5), failing_sources=failing), TEMPLATES)
    assert "Eurasianet, failing since 23 Nov 2026 14:30 +05: HTTP 503 &lt;b&gt;down&lt;/b&gt;" in rendered.html
    assert "Eurasianet, failing since 23 Nov 2026 14:30 +05" in " ".join(rendered.text.split())


def test_script_urls_never_become_links_and_text_is_escaped():
    hostile = item(
        headline='<script>alert("h")</script> Kazakhstan',
        url="javascript:alert(1)",
        snippet='Kazakhstan <img src=x onerror="alert(2)"> & <a href="javascript:alert(3)">x</a>',
        matched="<b>kazakhstan</b>",
        terms=("Kazakhstan", "<script>"),
        sources=(
            SourceLine("<i>Outlet</i>", "t", " JavaScript:alert(4)", NOW),
            SourceLine("Data", "d", "data:text/html,<script>alert(5)</script>", NOW),
        ),
    )
    rendered = render(content(arrange([hostile, item(2, url="vbscript:x"), item(3)], [("kazakhstan", "Kazakhstan")], 1)), TEMPLATES)
    html = rendered.html
    hrefs = re.findall(r"<a\s[^>]*href=\"([^\"]*)\"", html)
    assert hrefs and all(h.startswith(("https://", "#")) for h in hrefs)
    links = re.findall(r"^\s+([A-Za-z][\w+.-]*:\S+)$", rendered.text, re.M)  # addresses stand alone on their lines
    assert links and all(link.startswith("https://") for link in links)
    assert "<script" not in html and "<img" not in html and "<b>" not in html and "<i>" not in html
    assert "&lt;script&gt;" in html and "&lt;img" in html


def test_cr_lf_in_an_article_title_never_reaches_a_header():
    story = item(headline="Kazakhstan\r\nBcc: victim@example.org\r\n\r\n<html>")
    alert = content(arrange([story], [("kazakhstan", "Kazakhstan\nX-Injected: 1")], 5), kind="alert")
    rendered = render(alert, TEMPLATES)
    message = compose(rendered, "Monitor <m@example.org>", "Ann\r\nCc: x@example.org", "ann@example.org", NOW)
    raw = message.as_bytes()
    headers = raw.split(b"\n\n", 1)[0]
    assert b"\nBcc:" not in headers and b"\nCc:" not in headers and b"\nX-Injected" not in headers
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert parsed["Subject"].strip().startswith("Alert (Kazakhstan X-Injected: 1): Kazakhstan Bcc: victim@example.org")


def test_min_score_keeps_weak_matches_out(tmp_path):
    recipients = (
        '[[recipients]]\nname = "strict"\naddress = "s@example.org"\nmin_score = 10\n\n'
        '[[recipients]]\nname = "loose"\naddress = "l@example.org"\n'
    )
    config = write_config(tmp_path, recipients=recipients)
    write_event(tmp_path / "seed_corpus", "wheat")  # a title mention: score 3 or so
    settings = load_settings(config)
    store = Store.open(settings.database_url)
    rules = pipeline.reload_rules(settings, None)
    pipeline.run_cycle(settings, store, rules, now=NOW)
    texts = {}
    for digest in store.digests():
        message = email.message_from_string(digest.message, policy=email.policy.default)
        texts[digest.recipient] = " ".join(message.get_body(("plain",)).get_content().split())
    store.close()
    assert EVENTS["wheat"][0] in texts["loose"] and EVENTS["wheat"][0] not in texts["strict"]
    assert "Bloody protests in Kazakhastan" in texts["strict"]  # the big story scores far above 10
