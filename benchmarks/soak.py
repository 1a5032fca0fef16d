"""Soak: the daemon against a local feed server that publishes new items every few seconds.

    python benchmarks/soak.py [--minutes 10] [--feeds 20] [--publish-seconds 3]

Starts, all on 127.0.0.1, an HTTP server with `--feeds` RSS feeds that gain an item every
`--publish-seconds`, and an aiosmtpd SMTP server; writes a config in a temporary folder
(ingestion every minute, one recipient whose digest is due at start); runs `monitor run` for
`--minutes`; then prints articles ingested, digests sent, errors logged and the daemon's
resident memory after the first minute and at the end. Target: final memory within 10% of
the first-minute level, and no error. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from email.utils import format_datetime
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORDS = (
    "Kazakhstan Tokayev CSTO Almaty protests government troops parliament energy oil gas sanctions "
    "Russia China Astana minister election court economy tenge bank export border water railway"
).split()


def rss_memory_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Feeds:
    """Feed i has one new item every `every` seconds since `start`; at most the last 20 are listed."""

    def __init__(self, count: int, every: float):
        self.count, self.every, self.start = count, every, time.time()

    def render(self, index: int) -> bytes:
        published = int((time.time() - self.start) / self.every) + 1
        items = []
        for n in range(max(0, published - 20), published):
            words = " ".join(WORDS[(n * 7 + k * 3 + index) % len(WORDS)] for k in range(60))
            stamp = format_datetime(datetime.fromtimestamp(self.start + n * self.every, UTC))
            items.append(
                f"<item><title>Feed {index} item {n}: {WORDS[n % len(WORDS)]} update</title>"
                f"<link>http://127.0.0.1/feed{index}/item{n}</link><guid>feed{index}-{n}</guid>"
                f"<pubDate>{stamp}</pubDate><description>Report {n} from desk {index}. {words}.</description></item>"
            )
        return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>Soak {index}</title>{"".join(items)}'
                "</channel></rss>").encode()


def serve_feeds(feeds: Feeds) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            body = feeds.render(int(self.path.strip("/").removeprefix("feed").removesuffix(".xml") or 0))
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--feeds", type=int, default=20)
    parser.add_argument("--publish-seconds", type=float, default=3)
    args = parser.parse_args()

    from aiosmtpd.controller import Controller

    class Inbox:
        received = 0

        async def handle_DATA(self, server, session, envelope):
            Inbox.received += 1
            return "250 OK"

    smtp_port = free_port()
    smtp = Controller(Inbox(), hostname="127.0.0.1", port=smtp_port)
    smtp.start()
    server = serve_feeds(Feeds(args.feeds, args.publish_seconds))
    url = f"http://127.0.0.1:{server.server_address[1]}"
    folder = Path(tempfile.mkdtemp(prefix="monitor-soak-"))
    (folder / "seed_corpus").mkdir()
    sources = "".join(
        f'[[sources]]\nname = "soak {i}"\nkind = "rss"\nurl = "{url}/feed{i}.xml"\ninterval_minutes = 1\n\n' for i in range(args.feeds)
    )
    (folder / "config.toml").write_text(
        f'[paths]\ndata = "var"\ntemplates = "{ROOT / "templates"}"\n[rules]\npath = "{ROOT / "rules"}"\n'
        f'[ingest]\ninterval_minutes = 1\n[smtp]\nhost = "127.0.0.1"\nport = {smtp_port}\nsecurity = "none"\n'
        f'{sources}[[recipients]]\nname = "soak"\naddress = "soak@example.org"\ntimezone = "UTC"\ndigest_time = "00:00"\n'
        "send_empty = true\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    log_path = folder / "daemon.log"
    with open(log_path, "w") as log:
        daemon = subprocess.Popen(
            [sys.executable, "-m", "monitor", "--config", str(folder / "config.toml"), "run", "--log-format", "json"],
            stdout=log, stderr=subprocess.STDOUT, env=env,
        )
        started = time.monotonic()
        time.sleep(min(60, args.minutes * 60))
        rss_1min = rss_memory_mb(daemon.pid)
        print(f"after {time.monotonic() - started:.0f} s: rss {rss_1min:.1f} MB", flush=True)
        while time.monotonic() - started < args.minutes * 60:
            time.sleep(min(30, max(0.1, args.minutes * 60 - (time.monotonic() - started))))
            print(f"after {time.monotonic() - started:.0f} s: rss {rss_memory_mb(daemon.pid):.1f} MB", flush=True)
        rss_final = rss_memory_mb(daemon.pid)
        daemon.send_signal(signal.SIGTERM)
        code = daemon.wait(timeout=120)
    smtp.stop()
    server.shutdown()
    lines = [json.loads(line) for line in log_path.read_text().splitlines() if line.startswith("{")]
    errors = [line for line in lines if line["level"] in ("error", "critical")]
    for error in errors[:5]:
        print("error:", error["message"], file=sys.stderr)
    with sqlite3.connect(folder / "var" / "monitor.sqlite3") as db:
        articles = db.execute("select count(*) from articles").fetchone()[0]
        digests = db.execute("select count(*) from digests where status = 'sent'").fetchone()[0]
    print(f"daemon exit code {code}; log in {log_path}")
    print(f"articles {articles}, digests sent {digests} (SMTP server received {Inbox.received}), errors {len(errors)}")
    print(f"rss after 1 min {rss_1min:.1f} MB, final {rss_final:.1f} MB ({(rss_final / rss_1min - 1) * 100:+.1f}%)")
    print(json.dumps({
        "articles": articles, "digests": digests, "errors": len(errors) + (code != 0),
        "rss_mb_after_1min": round(rss_1min, 1), "rss_mb_final": round(rss_final, 1),
    }))


if __name__ == "__main__":
    main()
