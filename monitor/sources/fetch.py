"""HTTP fetching for feeds: bytes in, with conditional GET, limits and honest errors.

Limits (from Miniflux's defaults, which have served many thousands of feeds): a 20 s
wall-clock deadline, a 15 MiB cap on the decompressed body, 5 redirects, http(s) only.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import httpx

from monitor import __version__
from monitor.errors import SourceError

USER_AGENT = f"monitor/{__version__} (media-monitoring daemon; +https://github.com/)"
DEADLINE_SECONDS = 20.0
MAX_BODY_BYTES = 15 * 1024 * 1024
MAX_REDIRECTS = 5
CHUNK = 16 * 1024


@dataclass(frozen=True)
class Fetched:
    url: str  # after redirects
    status: int
    body: bytes  # empty on 304 Not Modified
    etag: str | None
    last_modified: str | None
    content_type: str | None = None

    @property
    def not_modified(self) -> bool:
        return self.status == 304


def client() -> httpx.Client:
    """One client per cycle: connections are kept alive and reused across feeds."""
    return httpx.Client(
        headers={"User-Agent": USER_AGENT, "Accept": "application/rss+xml, application/atom+xml, application/xml;q=0.9, */*;q=0.5"},
        timeout=httpx.Timeout(10.0, connect=5.0),
        follow_redirects=True,
        max_redirects=MAX_REDIRECTS,
        limits=httpx.Limits(max_connections=16, max_keepalive_connections=16),
    )


def fetch(http: httpx.Client, url: str, etag: str | None = None, last_modified: str | None = None) -> Fetched:
    headers = {}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    started = time.monotonic()
    try:
        with http.stream("GET", url, headers=headers) as response:
            if response.url.scheme not in ("http", "https"):
                raise SourceError(f"{url}: redirected to a non-http URL {response.url}")
            if response.status_code == 304:
                return Fetched(str(response.url), 304, b"", etag, last_modified)
            if response.status_code >= 400:
                retry = response.headers.get("retry-after")
                detail = f" (Retry-After: {retry})" if retry else ""
                raise SourceError(f"{url}: HTTP {response.status_code} {response.reason_phrase}{detail}")
            body = bytearray()
            for chunk in response.iter_bytes(CHUNK):
                body += chunk
                if len(body) > MAX_BODY_BYTES:
                    raise SourceError(f"{url}: body larger than {MAX_BODY_BYTES} bytes")
                if time.monotonic() - started > DEADLINE_SECONDS:
                    raise SourceError(f"{url}: took longer than {DEADLINE_SECONDS:g} s")
            return Fetched(
                str(response.url),
                response.status_code,
                bytes(body),
                response.headers.get("etag"),
                response.headers.get("last-modified"),
                response.headers.get("content-type"),
            )
    except httpx.HTTPError as exc:
        raise SourceError(f"{url}: {exc.__class__.__name__}: {exc}") from exc
