"""An HTTP server on 127.0.0.1 that serves the web's worst feeds, one path per case.

Each case is a function of the request handler; `HostileServer.connections` counts the
TCP connections accepted, so tests can check that kept-alive connections are reused.
"""

from __future__ import annotations

import gzip
import http.server
import threading
import time
from email.utils import format_datetime
from datetime import UTC, datetime, timedelta


def rss(*items: str, channel: str = "Hostile Wire", prolog: str = '<?xml version="1.0" encoding="utf-8"?>') -> bytes:
    return (prolog + f"<rss version=\"2.0\"><channel><title>{channel}</title><link>http://127.0.0.1/</link>"
            + "".join(items) + "</channel></rss>").encode("utf-8")


def item(n: int, title: str | None = None, description: str = "A plain paragraph about the news of the day.", link: str | None = None) -> str:
    title = title if title is not None else f"Item number {n}"
    link = link if link is not None else f"http://127.0.0.1/item/{n}"
    return f"<item><title>{title}</title><link>{link}</link><guid>item-{n}</guid><description>{description}</description></item>"


GOOD = rss(item(1), item(2), item(3))

BILLION_LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY lol "lol">'
    + b"".join(b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10) for i in range(1, 10))
    + b']><rss version="2.0"><channel><title>Laughs</title><item><title>&lol9;</title><guid>l1</guid>'
    b"<description>laughing</description></item></channel></rss>"
)
QUADRATIC = (
    b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "' + b"x" * 20_000 + b'">]>'
    b'<rss version="2.0"><channel><title>Quadratic</title><item><title>' + b"&a;" * 20_000
    + b"</title><guid>q1</guid><description>blow-up</description></item></channel></rss>"
)
CP1251_TITLE = "Токаев попросил ОДКБ о помощи"


class Cases:
    """path -> what the handler does. `port` is filled in once the server listens."""

    def __init__(self, server: HostileServer):
        self.server = server

    def table(self) -> dict:
        s = self.server
        x = {
            "/good-a": lambda h: h.reply(200, GOOD.replace(b"item-", b"a-")),
            "/good-b": lambda h: h.reply(200, GOOD.replace(b"item-", b"b-"), {"Cache-Control": "public, max-age=7200"}),
            "/xxe": lambda h: h.reply(200, rss(item(1, title="Leak &xxe; here"),
                                               prolog='<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>')),
            "/external-dtd": lambda h: h.reply(200, rss(item(1), prolog=f'<?xml version="1.0"?><!DOCTYPE rss SYSTEM "{s.url}/evil.dtd">')),
            "/evil.dtd": lambda h: h.reply(200, b'<!ENTITY evil "EVIL">'),
            "/billion-laughs": lambda h: h.reply(200, BILLION_LAUGHS),
            "/quadratic": lambda h: h.reply(200, QUADRATIC),
            "/malformed": lambda h: h.reply(200, rss(item(1, title="Fish & chips <b>bold"), item(2), '<item><title>unclosed')),
            "/wrong-encoding": lambda h: h.reply(200, rss(item(1, title="PLACEHOLDER")).replace(b"PLACEHOLDER", CP1251_TITLE.encode("cp1251"))),
            "/no-encoding": lambda h: h.reply(200, rss(item(1, title="PLACEHOLDER"), prolog="").replace(b"PLACEHOLDER", CP1251_TITLE.encode("cp1251")),
                                              {"Content-Type": "application/octet-stream"}),
            "/html": lambda h: h.reply(200, b"<!doctype html><html><head><title>Home</title></head><body><p>Welcome!</p></body></html>",
                                       {"Content-Type": "text/html"}),
            "/empty": lambda h: h.reply(200, b""),
            "/binary": lambda h: h.reply(200, bytes(range(256)) * 64, {"Content-Type": "application/rss+xml"}),
            "/truncated": lambda h: h.reply(200, rss(item(1), item(2), item(3))[:-120]),
            "/huge": lambda h: h.reply(200, rss(item(1), item(2, description="y" * (3 * 1024 * 1024)))),
            "/gzip-bomb": lambda h: h.reply(200, BOMB, {"Content-Encoding": "gzip"}),
            "/slow-body": lambda h: h.trickle(GOOD, every=0.15),
            "/silent": lambda h: h.silence(),
            "/loop-a": lambda h: h.redirect("/loop-b"),
            "/loop-b": lambda h: h.redirect("/loop-a"),
            "/chain-ok-1": lambda h: h.redirect("/chain-ok-2"),
            "/chain-ok-2": lambda h: h.redirect(f"{s.url}/chain-ok-3"),
            "/chain-ok-3": lambda h: h.reply(200, GOOD.replace(b"item-", b"c-")),
            # A site that sets a cookie on its way in and wants it back (many consent walls).
            "/cookie-gate": lambda h: h.reply(302, b"", {"Location": "/cookie-gate/feed", "Set-Cookie": "gate=open; Path=/"}),
            "/cookie-gate/feed": lambda h: (h.reply(200, GOOD.replace(b"item-", b"k-")) if "gate=open" in (h.headers.get("Cookie") or "")
                                            else h.reply(403, b"no cookie, no feed")),
            "/to-file": lambda h: h.redirect("file:///etc/passwd"),
            "/to-ftp": lambda h: h.redirect("ftp://127.0.0.1/feed.xml"),
            "/nul": lambda h: h.reply(200, rss(item(1, title="Nul\x00title", description="body\x00with nul"))),
            "/error-500": lambda h: h.reply(500, GOOD),
            "/js-links": lambda h: h.reply(200, rss(item(1, link="javascript:alert(1)"), item(2, link="&#106;avascript:alert(2)"),
                                                    item(3, link="java&#x09;script:alert(3)"))),
            "/scripts": lambda h: h.reply(200, rss(item(1, title="&lt;script&gt;alert('t')&lt;/script&gt;Breaking news",
                                                        description="&lt;p onclick=\"evil()\"&gt;Text&lt;script&gt;alert('d')&lt;/script&gt;&lt;/p&gt;"))),
            "/rate-limited": lambda h: h.reply(429, b"slow down", {"Retry-After": "7200"}),
            "/unavailable": lambda h: h.reply(503, b"maintenance", {"Retry-After": format_datetime(datetime.now(UTC) + timedelta(hours=3), usegmt=True)}),
        }
        for n in range(1, 9):
            x[f"/chain-long-{n}"] = (lambda n: lambda h: h.redirect(f"/chain-long-{n + 1}"))(n)
        return x


BOMB = gzip.compress(b"\0" * (64 * 1024 * 1024), 9)  # 64 MiB of zeros in about 64 KiB


class _Server(http.server.ThreadingHTTPServer):
    # socketserver's default backlog of 5: eight fetches connecting at once on a loaded
    # machine could find it full, and a dropped SYN is resent after 1 s, the tests' connect
    # timeout (a ConnectTimeout on a good feed, now and then).
    request_queue_size = 128


class HostileServer:
    def __init__(self):
        self.requests: list[str] = []
        self.connections = 0
        self.in_flight = self.max_in_flight = 0
        self.lock = threading.Lock()
        self.stop = threading.Event()
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self):
                with owner.lock:
                    owner.connections += 1
                super().setup()

            def do_GET(self):
                with owner.lock:
                    owner.requests.append(self.path)
                    owner.in_flight += 1
                    owner.max_in_flight = max(owner.max_in_flight, owner.in_flight)
                try:
                    case = owner.cases.get(self.path)
                    if case is None:
                        self.reply(404, b"not found")
                    else:
                        case(self)
                finally:
                    with owner.lock:
                        owner.in_flight -= 1

            def etagged(self, body: bytes, etag: str, pause: float = 0.0):
                time.sleep(pause)  # long enough for overlapping requests to show
                if self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.end_headers()
                    return
                self.reply(200, body, {"ETag": etag})

            def reply(self, status: int, body: bytes, headers: dict | None = None):
                # Links unique per case, so that no case's entries look like another's.
                body = body.replace(b"http://127.0.0.1/item/", f"http://127.0.0.1{self.path}/item/".encode())
                self.send_response(status)
                headers = {"Content-Type": "application/rss+xml", **(headers or {})}
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def redirect(self, location: str):
                self.reply(302, b"", {"Location": location})

            def trickle(self, body: bytes, every: float):
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                for i in range(len(body)):
                    if owner.stop.wait(every):
                        return
                    self.wfile.write(body[i : i + 1])
                    self.wfile.flush()

            def silence(self):
                owner.stop.wait(60)
                self.close_connection = True

            def log_message(self, *args):
                pass

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.cases = Cases(self).table()
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.stop.set()
        self.server.shutdown()
        self.server.server_close()
