"""Delivery you can trust, against a real aiosmtpd server on 127.0.0.1 with STARTTLS and AUTH
(certificates from trustme): outages, deferrals, refusals, a SIGKILL mid-send, catch-up."""

from __future__ import annotations

import asyncio
import email
import email.policy
import os
import signal
import ssl
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor import pipeline
from monitor.cli import main
from monitor.config import load_settings
from monitor.storage.queries import Store
from tests.conftest import ROOT, free_port, write_config
from tests.corpus import EVENTS, write_event

USER, PASSWORD = "monitor", "s3cret-pass"
TWO_RECIPIENTS = (
    '[[recipients]]\nname = "analyst"\naddress = "analyst@example.org"\ntimezone = "Asia/Almaty"\n'
    'digest_time = "08:00"\n\n'
    '[[recipients]]\nname = "editor"\naddress = "editor@example.org"\ntimezone = "Europe/Paris"\n'
    'digest_time = "07:30"\n'
)
# How long a held SMTP command may wait for the test to kill the client (a bound, never reached).
HOLD_LIMIT_SECONDS = 60


def parse(raw: bytes):
    return email.message_from_bytes(raw, policy=email.policy.default)


class Inbox:
    """Records what arrived, with whether the session was encrypted and authenticated.
    `defer` answers that many DATA commands with 451; `hold_at` ("rcpt" or "data") makes
    that command wait (after storing the message, for "data") until `hold_at` is cleared."""

    def __init__(self, defer: int = 0, hold_at: str | None = None):
        self.envelopes: list = []
        self.sessions: list[tuple[bool, bool]] = []
        self.defer = defer
        self.hold_at = hold_at
        self.holding = False

    async def _hold(self, stage: str) -> None:
        started = time.monotonic()
        while self.hold_at == stage and time.monotonic() - started < HOLD_LIMIT_SECONDS:
            self.holding = True
            await asyncio.sleep(0.02)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        await self._hold("rcpt")
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.defer:
            self.defer -= 1
            return "451 4.3.0 try again later"
        self.envelopes.append(envelope)
        self.sessions.append((session.ssl is not None, bool(session.authenticated)))
        await self._hold("data")
        return "250 2.0.0 accepted"

    def message_ids(self) -> list[str]:
        return [parse(e.original_content)["Message-ID"] for e in self.envelopes]


class TlsServer:
    """aiosmtpd requiring STARTTLS, then AUTH; its certificate signed by a trustme CA."""

    def __init__(self, folder: Path, inbox: Inbox, port: int | None = None):
        import trustme

        ca = trustme.CA()
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
        self.ca_file = folder / "test-ca.pem"
        ca.cert_pem.write_to_path(str(self.ca_file))
        self.inbox = inbox
        self.port = port or free_port()
        self.context = context
        self.controller = None

    def start(self) -> None:
        from aiosmtpd.controller import Controller

        self.controller = Controller(
            self.inbox,
            hostname="127.0.0.1",
            port=self.port,
            tls_context=self.context,
            require_starttls=True,
            authenticator=_authenticate,
            auth_require_tls=True,
        )
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def environment(self) -> dict[str, str]:
        return {
            "MONITOR_SMTP__HOST": "127.0.0.1",
            "MONITOR_SMTP__PORT": str(self.port),
            "MONITOR_SMTP__SECURITY": "starttls",
            "MONITOR_SMTP__USERNAME": USER,
            "MONITOR_SMTP__PASSWORD": PASSWORD,
            "MONITOR_SMTP__CA_FILE": str(self.ca_file),
            "MONITOR_SMTP__TIMEOUT_SECONDS": "5",
        }


def _authenticate(server, session, envelope, mechanism, auth_data):
    from aiosmtpd.smtp import AuthResult, LoginPassword

    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (USER.encode(), PASSWORD.encode())
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def tls_server(tmp_path, monkeypatch):
    servers = []

    def make(inbox: Inbox | None = None, start: bool = True) -> TlsServer:
        server = TlsServer(tmp_path, inbox or Inbox())
        for key, value in server.environment().items():
            monkeypatch.setenv(key, value)
        if start:
            server.start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()


def open_world(config):
    settings = load_settings(config)
    return settings, Store.open(settings.database_url), pipeline.reload_rules(settings, None)


def test_digest_over_starttls_and_auth_is_received_whole(project, tls_server):
    server = tls_server()
    settings, store, rules = open_world(project)
    report = pipeline.run_cycle(settings, store, rules)
    assert (report.sent, report.deferred, report.failed) == (1, 0, 0), store.digests()[0].last_error
    assert server.inbox.sessions == [(True, True)]  # encrypted and authenticated
    message = parse(server.inbox.envelopes[0].original_content)
    stored = store.digests()[0]
    assert message["Message-ID"] == stored.message_id and message["Subject"] == stored.subject
    for header in ("Date", "List-Id", "List-Unsubscribe", "Auto-Submitted", "From", "To"):
        assert message[header], header
    assert message.get_body(("plain",)).get_content().strip()
    assert "<html" in message.get_body(("html",)).get_content()
    store.close()


def test_wrong_password_is_refused_and_recorded(project, tls_server, monkeypatch):
    server = tls_server()
    monkeypatch.setenv("MONITOR_SMTP__PASSWORD", "wrong")
    settings, store, rules = open_world(project)
    report = pipeline.run_cycle(settings, store, rules)
    assert report.failed == 1 and server.inbox.envelopes == []
    assert "535" in store.digests()[0].last_error
    store.close()


def test_untrusted_certificate_is_not_accepted(project, tls_server, monkeypatch):
    tls_server()
    monkeypatch.delenv("MONITOR_SMTP__CA_FILE")  # the system CAs do not know the test CA
    settings, store, rules = open_world(project)
    report = pipeline.run_cycle(settings, store, rules)
    assert report.deferred == 1 and "CERTIFICATE_VERIFY_FAILED" in store.digests()[0].last_error
    store.close()


def test_server_down_two_cycles_then_up_delivers_once(project, tls_server):
    server = tls_server(start=False)
    settings, store, rules = open_world(project)
    first = pipeline.run_cycle(settings, store, rules)
    assert (first.sent, first.deferred) == (0, 1)
    queued = store.digests()[0]
    second = pipeline.run_cycle(settings, store, rules, now=queued.next_attempt_at)
    assert (second.sent, second.deferred) == (0, 1)
    retried = store.digests()[0]
    assert retried.attempts == 2 and retried.next_attempt_at - queued.next_attempt_at >= timedelta(minutes=2)  # backoff grows
    server.start()
    third = pipeline.run_cycle(settings, store, rules, now=retried.next_attempt_at)
    fourth = pipeline.run_cycle(settings, store, rules, now=retried.next_attempt_at + timedelta(hours=1))
    assert (third.sent, fourth.sent) == (1, 0)
    assert server.inbox.message_ids() == [queued.message_id]
    assert store.digests()[0].status == "sent"
    store.close()


def test_deferral_then_success_delivers_once(project, tls_server):
    server = tls_server(Inbox(defer=1))
    settings, store, rules = open_world(project)
    assert pipeline.run_cycle(settings, store, rules).deferred == 1
    digest = store.digests()[0]
    assert digest.status == "queued" and "451" in digest.last_error
    assert pipeline.deliver(settings, store, now=digest.next_attempt_at - timedelta(seconds=1)) == (0, 0, 0)  # not yet due
    assert pipeline.deliver(settings, store, now=digest.next_attempt_at) == (1, 0, 0)
    assert pipeline.deliver(settings, store, now=digest.next_attempt_at + timedelta(days=1)) == (0, 0, 0)
    assert server.inbox.message_ids() == [digest.message_id]
    store.close()


def test_permanent_refusal_is_failed_and_shown_by_status(project, tls_server, capsys):
    class Refuse(Inbox):
        async def handle_DATA(self, server, session, envelope):
            return "554 5.7.1 message refused by policy"

    tls_server(Refuse())
    settings, store, rules = open_world(project)
    report = pipeline.run_cycle(settings, store, rules)
    digest = store.digests()[0]
    assert report.failed == 1 and digest.status == "failed" and "554 5.7.1" in digest.last_error
    later = pipeline.deliver(settings, store, now=datetime.now(UTC) + timedelta(days=2))
    assert later == (0, 0, 0)  # a failed digest is not retried
    store.close()
    capsys.readouterr()
    assert main(["--config", str(project), "status"]) == 0
    shown = capsys.readouterr().out
    assert "failed" in shown and "554 5.7.1 message refused by policy" in shown


def _daemon_env(server: TlsServer) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    env.update(server.environment())
    env["PYTHONPATH"] = str(ROOT)
    return env


def _run_once(config: Path, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "monitor", "--config", str(config), "run", "--once"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


@pytest.mark.parametrize("stage", ["rcpt", "data"])
def test_sigkill_while_sending_then_restart(tmp_path, tls_server, stage):
    """Killed before the server accepted ("rcpt"): each digest arrives once. Killed after the
    server accepted but before the commit ("data"): that digest arrives twice with one Message-ID."""
    config = write_config(tmp_path, recipients=TWO_RECIPIENTS)
    server = tls_server(Inbox(hold_at=stage))
    env = _daemon_env(server)
    process = _run_once(config, env)
    deadline = time.monotonic() + HOLD_LIMIT_SECONDS
    while not server.inbox.holding and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.inbox.holding, process.communicate()[0].decode()
    process.send_signal(signal.SIGKILL)
    process.wait()
    server.inbox.hold_at = None
    restarted = _run_once(config, env)
    output = restarted.communicate(timeout=120)[0].decode()
    assert restarted.returncode == 0, output
    assert _run_once(config, env).wait(timeout=120) == 0  # a third run sends nothing more

    settings, store, _ = open_world(config)
    digests = store.digests()
    store.close()
    assert len(digests) == 2 and {d.status for d in digests} == {"sent"}
    received = server.inbox.message_ids()
    expected = sorted(d.message_id for d in digests)
    if stage == "rcpt":
        assert sorted(received) == expected
    else:
        assert sorted(set(received)) == expected and len(received) == 3
        assert received[0] == received[1]  # the one sent during the kill, re-sent as it was


def test_catch_up_after_downtime_covers_the_gap_once(project, tls_server):
    server = tls_server()
    settings, store, rules = open_world(project)
    # Monday 23 Nov 2026 08:05 in Almaty: the day's digest goes out.
    monday = datetime(2026, 11, 23, 3, 5, tzinfo=UTC)
    assert len(pipeline.run_cycle(settings, store, rules, now=monday).digests_built) == 1
    first_sizes = store.sent_story_sizes("analyst")
    # The daemon is stopped until Wednesday 10:00; meanwhile two more stories were published.
    for event in ("wheat", "minister"):
        write_event(project.parent / "seed_corpus", event)
    wednesday = datetime(2026, 11, 25, 5, 0, tzinfo=UTC)
    report = pipeline.run_cycle(settings, store, rules, now=wednesday)
    again = pipeline.run_cycle(settings, store, rules, now=wednesday + timedelta(hours=2))
    assert len(report.digests_built) == 1 and again.digests_built == []
    keys = sorted(d.period_key for d in store.digests())
    assert keys == ["2026-11-23", "2026-11-25"]  # one catch-up digest, no Tuesday digest
    assert len(store.sent_story_sizes("analyst")) == len(first_sizes) + 2  # the gap's stories went out
    received = [parse(e.original_content) for e in server.inbox.envelopes]
    assert len(received) == 2
    caught_up = " ".join(received[1].get_body(("plain",)).get_content().split())
    assert all(EVENTS[event][0] in caught_up for event in ("wheat", "minister"))
    assert all(store.story(i).headline not in caught_up for i in first_sizes)  # nothing twice
    store.close()
