"""HTTP fetching for feeds: a URL in, bytes (or an error in words) out.

Everything a hostile or broken server can do is bounded here:

    connect timeout      a host that never answers the SYN            FetchLimits.connect_seconds
    read timeout         a server that stops sending                  FetchLimits.read_seconds
    wall-clock deadline  a body that trickles a byte at a time        FetchLimits.deadline_seconds
    body cap             counted after decompression (gzip bombs)     FetchLimits.max_body_bytes
    redirect cap         loops and long chains; http(s) only at every hop

A client is kept for all the feeds of a host (sources/pool.py), so its connection is
kept alive and reused: a second poll answered with 304 opens no new connection.
Redirects are followed here rather than by httpx so that every hop's scheme is checked
and the hops are counted against the same deadline.
"""

from __future__ import annotations

import re
import ssl
import time
import urllib.request
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from datetime import UTC, datetime

import httpx

from monitor import __version__
from monitor.errors import SourceError

USER_AGENT = f"monitor/{__version__} (media-monitoring feed reader; polls each feed at most every few minutes)"
ACCEPT = "application/rss+xml, application/atom+xml, application/rdf+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
# HTTP statuses whose Retry-After tells us when to come back (RFC 9110 10.2.3).
RETRY_AFTER_STATUSES = frozenset({429, 503})
# A body we do not need is read to its end (to keep the connection) up to this size.
DRAIN_MAX_BYTES = 64 * 1024
# What every request carries (httpx.Client adds "Connection: keep-alive" by itself).
HEADERS = {"User-Agent": USER_AGENT, "Accept": ACCEPT, "Accept-Encoding": "gzip, deflate", "Connection": "keep-alive"}
# An idle kept-alive connection is closed after this long.
KEEPALIVE_SECONDS = 60.0
_MAX_AGE = re.compile(r"(?:^|[,\s])max-age\s*=\s*\"?(\d+)", re.I)


@dataclass(frozen=True)
class FetchLimits:
    """Miniflux's defaults (20 s, 15 MiB), which have served many thousands of feeds."""

    connect_seconds: float = 5.0
    read_seconds: float = 10.0
    deadline_seconds: float = 20.0
    max_body_bytes: int = 15 * 1024 * 1024
    max_redirects: int = 5
    # Connections one client keeps open for reuse (the fetch pool gives each host slot a
    # client of one connection instead).
    pool_size: int = 64


@dataclass(frozen=True)
class Fetched:
    url: str  # after redirects
    status: int
    body: bytes  # empty on 304 Not Modified
    etag: str | None
    last_modified: str | None
    content_type: str | None = None
    max_age: float | None = None  # Cache-Control max-age, seconds

    @property
    def not_modified(self) -> bool:
        return self.status == 304


def tls_context() -> ssl.SSLContext:
    """The certificate checks of every client of a cycle (loading the CA bundle takes ~20 ms)."""
    return httpx.create_ssl_context()


def client(limits: FetchLimits = FetchLimits(), tls: ssl.SSLContext | None = None, connections: int | None = None) -> httpx.Client:
    """A client with `connections` kept-alive connections (default: the limits' pool size);
    thread-safe, but a pool shared by many threads makes them queue on its lock."""
    connections = connections or limits.pool_size
    return httpx.Client(
        headers=HEADERS,
        timeout=_timeout(limits),
        follow_redirects=False,
        verify=tls or tls_context(),
        limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections, keepalive_expiry=KEEPALIVE_SECONDS),
    )


def host_client(limits: FetchLimits, tls: ssl.SSLContext) -> HostClient | httpx.Client:
    """What one fetch thread uses for the feeds of one host: a HostClient, or an httpx.Client
    when the environment names a proxy (HTTP_PROXY and the like, which httpx.Client follows)."""
    if any(urllib.request.getproxies().get(scheme) for scheme in ("http", "https", "all")):
        return client(limits, tls, connections=1)
    return HostClient(limits, tls)


class HostClient:
    """httpx.Client's part that fetching feeds needs: one kept-alive connection (httpx's own
    transport, so the same exceptions and responses), the client's headers and timeouts, and
    the cookies the host sets, sent back on its later requests. It skips the rest of
    httpx.Client's work for each request (cookie extraction when no cookie was set, URL
    merging, event hooks): a 304 costs 0.25 ms of CPU instead of 0.35 (benchmarks/feeds.py
    makes 2,000 of them in its second cycle). Not thread-safe: one thread uses it."""

    def __init__(self, limits: FetchLimits, tls: ssl.SSLContext):
        self._transport = httpx.HTTPTransport(
            verify=tls, limits=httpx.Limits(max_connections=1, max_keepalive_connections=1, keepalive_expiry=KEEPALIVE_SECONDS)
        )
        self._timeout = _timeout(limits).as_dict()
        self._cookies = httpx.Cookies()

    @contextmanager
    def stream(self, method: str, url: str, headers: dict[str, str] | None = None) -> Iterator[httpx.Response]:
        request = httpx.Request(method, url, headers={**HEADERS, **(headers or {})}, extensions={"timeout": self._timeout})
        if self._cookies:
            self._cookies.set_cookie_header(request)
        response = self._transport.handle_request(request)
        response.request = request
        try:
            if "set-cookie" in response.headers:
                self._cookies.extract_cookies(response)
            yield response
        finally:
            response.close()

    def close(self) -> None:
        self._transport.close()

    def __enter__(self) -> HostClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _timeout(limits: FetchLimits) -> httpx.Timeout:
    return httpx.Timeout(limits.read_seconds, connect=limits.connect_seconds, pool=limits.deadline_seconds)


def fetch(
    http: httpx.Client | HostClient,
    url: str,
    etag: str | None = None,
    last_modified: str | None = None,
    limits: FetchLimits = FetchLimits(),
) -> Fetched:
    """GET `url` conditionally. Raises SourceError (with `retry_after` when the server gave one)."""
    headers = {}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    deadline = time.monotonic() + limits.deadline_seconds
    seen = [url]
    try:
        while True:
            _check_scheme(url, seen)
            with http.stream("GET", url, headers=headers) as response:
                location = response.headers.get("location")
                if response.is_redirect and location:
                    _drain(response, deadline)
                    url = str(response.url.join(location))
                    if url in seen:
                        raise SourceError(f"redirect loop: {' -> '.join(seen + [url])}")
                    seen.append(url)
                    if len(seen) > limits.max_redirects + 1:
                        raise SourceError(f"more than {limits.max_redirects} redirects: {' -> '.join(seen)}")
                    continue
                return _answer(response, url, etag, last_modified, deadline, limits)
    except httpx.TimeoutException as exc:
        raise SourceError(f"timed out ({exc.__class__.__name__}) fetching {url}") from exc
    except httpx.HTTPError as exc:
        raise SourceError(f"{exc.__class__.__name__} fetching {url}: {exc}") from exc


def _check_scheme(url: str, hops: list[str]) -> None:
    if not re.match(r"(?i)^https?://", url):
        via = f" (redirected: {' -> '.join(hops)})" if len(hops) > 1 else ""
        raise SourceError(f"only http and https URLs are fetched, not {url[:200]}{via}")


def _answer(response: httpx.Response, url: str, etag, last_modified, deadline: float, limits: FetchLimits) -> Fetched:
    status = response.status_code
    max_age = cache_max_age(response.headers.get("cache-control"))
    if status == 304:
        _drain(response, deadline)
        return Fetched(url, 304, b"", response.headers.get("etag") or etag,
                       response.headers.get("last-modified") or last_modified, max_age=max_age)
    if status != 200:
        _drain(response, deadline)
        retry = retry_after(response.headers.get("retry-after")) if status in RETRY_AFTER_STATUSES else None
        wait = f", asked to retry after {retry:.0f} s" if retry is not None else ""
        raise SourceError(f"HTTP {status} {response.reason_phrase}{wait}", retry_after=retry, status=status)
    body = read_body(response, deadline, limits)
    return Fetched(
        url, 200, body, response.headers.get("etag"), response.headers.get("last-modified"),
        response.headers.get("content-type"), max_age,
    )


def read_body(response: httpx.Response, deadline: float, limits: FetchLimits) -> bytes:
    """The body, decompressed here so that the cap counts the bytes a bomb would inflate to.

    `iter_raw()` without a chunk size yields each network read as it arrives, so the
    deadline is checked even when the server trickles one byte at a time."""
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    inflate = _decompressor(encoding)
    cap = limits.max_body_bytes
    body = bytearray()
    for raw in response.iter_raw():
        if time.monotonic() > deadline:
            raise SourceError(f"body still arriving after the {limits.deadline_seconds:g} s deadline ({len(body)} bytes so far)")
        chunk = inflate.decompress(raw, cap + 1 - len(body)) if inflate else raw
        body += chunk
        if len(body) > cap or (inflate and inflate.unconsumed_tail):
            raise SourceError(f"body larger than the {cap} byte cap (after decompression)")
    if inflate:
        body += inflate.flush()[: cap + 1 - len(body)]
        if len(body) > cap:
            raise SourceError(f"body larger than the {cap} byte cap (after decompression)")
    return bytes(body)


def _drain(response: httpx.Response, deadline: float) -> None:
    """Read a short body we do not need (304, redirect, error page) to its end: only a
    response read to its end gives its connection back for reuse; closing it early closes
    the connection (the reason reader opens a new connection for every 304)."""
    read = 0
    for raw in response.iter_raw():
        read += len(raw)
        if read > DRAIN_MAX_BYTES or time.monotonic() > deadline:
            return  # not worth it: let this connection close


def _decompressor(encoding: str):
    if encoding in ("", "identity"):
        return None
    if encoding in ("gzip", "x-gzip"):
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    if encoding == "deflate":
        return zlib.decompressobj(32 + zlib.MAX_WBITS)  # zlib or gzip header, auto-detected
    raise SourceError(f"unsupported Content-Encoding {encoding!r}")


def retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Retry-After in seconds: delta-seconds or an HTTP date (RFC 9110 10.2.3)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def cache_max_age(value: str | None) -> float | None:
    found = _MAX_AGE.search(value or "")
    return float(found.group(1)) if found else None
