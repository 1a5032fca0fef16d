"""Real parts for tests: a temporary project folder, an aiosmtpd server, an HTTP server
for feeds and a PostgreSQL database created for the run, all on 127.0.0.1."""

from __future__ import annotations

import http.server
import os
import shutil
import socket
import threading
import time
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seed_corpus"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def write_config(folder: Path, extra: str = "", sources: str | None = None, recipients: str | None = None) -> Path:
    """A config.toml in `folder` using the repository's rules and templates and a copy of the seeds."""
    corpus = folder / "seed_corpus"
    if not corpus.exists():
        shutil.copytree(SEEDS, corpus)
    if sources is None:
        sources = '[[sources]]\nname = "seed corpus"\nkind = "directory"\npath = "seed_corpus"\n'
    if recipients is None:
        recipients = (
            '[[recipients]]\nname = "analyst"\naddress = "analyst@example.org"\ntimezone = "Asia/Almaty"\n'
            'digest_time = "08:00"\nrules = ["kazakhstan", "csto", "sanctions"]\n'
        )
    config = folder / "config.toml"
    config.write_text(
        f'[paths]\ndata = "var"\ntemplates = "{ROOT / "templates"}"\n\n[rules]\npath = "{ROOT / "rules"}"\n\n'
        f"{extra}\n{sources}\n{recipients}",
        encoding="utf-8",
    )
    return config


@pytest.fixture
def project(tmp_path, monkeypatch) -> Path:
    """A project folder with config.toml; MONITOR_* variables of the caller are cleared."""
    for key in list(os.environ):
        if key.startswith("MONITOR_"):
            monkeypatch.delenv(key)
    return write_config(tmp_path)


class Inbox:
    """What the SMTP server received."""

    def __init__(self):
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server():
    from aiosmtpd.controller import Controller

    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    inbox.port = port
    try:
        yield inbox
    finally:
        controller.stop()


class FeedServer:
    """Serves `routes` (path -> (status, headers, body)) on 127.0.0.1 and counts requests."""

    def __init__(self):
        self.routes: dict[str, tuple[int, dict, bytes]] = {}
        self.requests: list[tuple[str, dict]] = []
        self.timed_requests: list[tuple[str, dict, float]] = []
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                owner.requests.append((self.path, dict(self.headers)))
                owner.timed_requests.append((self.path, dict(self.headers), time.time()))
                status, headers, body = owner.routes.get(self.path, (404, {}, b"not found"))
                if headers.get("ETag") and self.headers.get("If-None-Match") == headers["ETag"]:
                    status, body = 304, b""
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def feed_server():
    server = FeedServer()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def postgres_url():
    """A PostgreSQL database made for this test and dropped after it."""
    psycopg = pytest.importorskip("psycopg")
    admin = os.environ.get("MONITOR_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
    try:
        connection = psycopg.connect(admin, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        if os.environ.get("CI") == "true":
            raise
        pytest.skip(f"no PostgreSQL server answers at {admin}: {exc}")
    name = f"monitor_test_{uuid.uuid4().hex[:12]}"
    with connection:
        connection.execute(f'CREATE DATABASE "{name}"')
        try:
            yield admin.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + f"/{name}"
        finally:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
