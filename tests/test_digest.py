from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime

import pytest

from monitor import pipeline
from monitor.config import load_settings
from monitor.digests.build import DigestContent, Section, SourceLine, StoryItem
from monitor.digests.compose import compose
from monitor.digests.render import render
from monitor.storage.queries import Store
from tests.conftest import ROOT

NOW = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)


def parse(raw: bytes):
    return email.message_from_bytes(raw, policy=email.policy.default)


def open_world(config):
    settings = load_settings(config)
    return settings, Store.open(settings.database_url), pipeline.reload_rules(settings, None)


def test_digest_goes_through_a_real_smtp_server(project, smtp_server, monkeypatch):
    monkeypatch.setenv("MONITOR_SMTP__HOST", "127.0.0.1")
    monkeypatch.setenv("MONITOR_SMTP__PORT", str(smtp_server.port))
    monkeypatch.setenv("MONITOR_SMTP__SECURITY", "none")
    settings, store, rules = open_world(project)
    report = pipeline.run_cycle(settings, store, rules)
    assert (report.sent, report.deferred, report.failed) == (1, 0, 0)
    assert len(smtp_server.envelopes) == 1
    envelope = smtp_server.envelopes[0]
    assert envelope.rcpt_tos == ["analyst@example.org"]
    message = parse(envelope.original_content)
    assert message.get_content_type() == "multipart/alternative"
    assert message["Auto-Submitted"] == "auto-generated" and message["Message-ID"] and message["List-Id"]
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    for part in (text, html):
        assert part.count("Bloody protests in Kazakhastan attract global attention") >= 2  # under both rules
    sections = text.split("-" * 72)
    kazakhstan = next(s for s in sections if "KAZAKHSTAN (1)" in s)
    assert "5 sources" in " ".join(sections[sections.index(kazakhstan) + 1].split())
    assert "SANCTIONS (0)" in text and "Nothing new." in text
    assert all(len(line) <= 72 for line in text.splitlines() if " " in line.strip())
    assert store.digests()[0].status == "sent"
    # Nothing new: no second digest in the same period.
    report = pipeline.run_cycle(settings, store, rules)
    assert report.digests_built == [] and len(smtp_server.envelopes) == 1
    store.close()


def test_refused_connection_leaves_digest_queued_then_delivers(project, smtp_server, monkeypatch):
    from tests.conftest import free_port

    monkeypatch.setenv("MONITOR_SMTP__HOST", "127.0.0.1")
    monkeypatch.setenv("MONITOR_SMTP__PORT", str(free_port()))  # nobody listens there
    monkeypatch.setenv("MONITOR_SMTP__SECURITY", "none")
    settings, store, rules = open_world(project)
    report = pipeline.run_cycle(settings, store, rules)
    assert (report.sent, report.deferred) == (0, 1)
    queued = store.digests()[0]
    assert queued.status == "queued" and queued.attempts == 1 and "127.0.0.1" in queued.last_error
    assert queued.next_attempt_at > datetime.now(UTC)
    store.close()
    monkeypatch.setenv("MONITOR_SMTP__PORT", str(smtp_server.port))
    settings, store, rules = open_world(project)
    assert pipeline.deliver(settings, store, now=queued.next_attempt_at) == (1, 0, 0)
    received = parse(smtp_server.envelopes[0].original_content)
    assert received["Message-ID"] == queued.message_id  # the frozen message, not a new one
    store.close()


def test_permanent_refusal_is_recorded(project, monkeypatch):
    from aiosmtpd.controller import Controller

    from tests.conftest import free_port

    class Refuse:
        async def handle_RCPT(self, server, session, envelope, address, options):
            return "550 5.1.1 mailbox unavailable"

    port = free_port()
    controller = Controller(Refuse(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        monkeypatch.setenv("MONITOR_SMTP__HOST", "127.0.0.1")
        monkeypatch.setenv("MONITOR_SMTP__PORT", str(port))
        monkeypatch.setenv("MONITOR_SMTP__SECURITY", "none")
        settings, store, rules = open_world(project)
        report = pipeline.run_cycle(settings, store, rules)
        digest = store.digests()[0]
        assert report.failed == 1 and digest.status == "failed" and "550" in digest.last_error
        store.close()
    finally:
        controller.stop()


def hostile_digest() -> DigestContent:
    item = StoryItem(
        story_id=1,
        headline='Evil <script>alert("x")</script> headline',
        url="https://example.org/a?b=1&c=2",
        snippet="Kazakhstan <b>bold</b> & more",
        matched="kazakhstan: Kazakhstan x2",
        terms=("Kazakhstan",),
        sources=(SourceLine("Outlet <i>", "Title <img src=x onerror=alert(1)>", None, NOW),),
        first_seen=NOW,
        last_updated=NOW,
        event_at=NOW,
        article_count=1,
        new_sources=0,
        rules=("kazakhstan",),
    )
    return DigestContent(
        recipient="Ann\r\nBcc: victim@example.org",
        address="ann@example.org",
        timezone="Asia/Almaty",
        period_key="2026-11-25",
        generated_at=NOW,
        sections=(Section("kazakhstan", "Kazakhstan\r\nX-Injected: yes", (item,)),),
        rules_in_force=(("kazakhstan", "Kazakhstan"),),
        story_ids=(1,),
    )


def test_article_markup_is_escaped_and_headers_stay_single_line():
    rendered = render(hostile_digest(), ROOT / "templates")
    assert "<script>" not in rendered.html and "&lt;script&gt;" in rendered.html
    assert "<img" not in rendered.html and "<b>bold</b>" not in rendered.html
    assert "<mark" in rendered.html  # the matched term is highlighted
    message = compose(rendered, "Monitor <monitor@example.org>", "Ann\r\nBcc: victim@example.org", "ann@example.org", NOW)
    raw = message.as_bytes()
    headers = raw.split(b"\n\n", 1)[0]
    assert b"\nBcc:" not in headers and b"\nX-Injected:" not in headers
    assert parse(raw)["Subject"].startswith("Media monitor digest, 25 Nov 2026")


def test_preview_writes_html_without_sending(project, tmp_path):
    settings, store, rules = open_world(project)
    pipeline.collect(settings, store)
    pipeline.match(store, rules)
    pipeline.cluster(store)
    store.close()
    from monitor.cli import main

    output = tmp_path / "preview.html"
    assert main(["--config", str(project), "digest", "preview", "--output", str(output)]) == 0
    assert "Bloody protests in Kazakhastan" in output.read_text()
    settings, store, _ = open_world(project)
    assert store.digests() == [] and not settings.outbox_dir.exists()
    store.close()


@pytest.mark.parametrize(
    ("local_time", "expected"),
    [("2026-11-25T07:59:00+05:00", "2026-11-24"), ("2026-11-25T08:00:00+05:00", "2026-11-25")],
)
def test_period_is_the_last_digest_time(project, local_time, expected):
    settings = load_settings(project)
    assert pipeline.period_key(settings.recipients[0], datetime.fromisoformat(local_time)) == expected
