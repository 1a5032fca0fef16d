"""Many feeds at once: a bounded pool of fetch threads with a per-host limit.

Each host gets `per_host` slots. A slot is a token in one shared queue; a thread takes a
token, fetches one of that host's feeds, and puts the token back while the host still has
feeds waiting. So at most `per_host` requests ever run against one host (forty feeds on
one site do not hammer it), hosts are served round-robin, and no thread sits blocked on a
busy host while another host has work. Every fetch of the cycle goes through one shared
HTTP client, so connections are kept alive and reused (a 304 opens no connection).
"""

from __future__ import annotations

import queue
import threading
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from monitor.errors import SourceError
from monitor.sources import fetch


@dataclass(frozen=True)
class FeedJob:
    key: int  # the caller's id for the source
    url: str
    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True)
class PoolSize:
    # Threads fetching at once: 64 slow hosts served in parallel. The threads wait on the
    # network, not the CPU (parsing runs in other processes). Miniflux uses 16, reader 16.
    workers: int = 64
    # Requests in flight per host: one. Many feeds on one site arrive one after another
    # over one kept-alive connection, so the site sees one polite client, never a burst,
    # and a cycle opens at most one connection per host.
    per_host: int = 1


def host_of(url: str) -> str:
    parts = urlsplit(url)
    return (parts.hostname or url).lower()


def fetch_all(
    jobs: Iterable[FeedJob],
    on_result: Callable[[FeedJob, fetch.Fetched | SourceError], None],
    size: PoolSize = PoolSize(),
    limits: fetch.FetchLimits = fetch.FetchLimits(),
) -> None:
    """Fetch every job; `on_result` is called from the fetch threads with the answer or the error.
    Returns when every job has been answered."""
    waiting: dict[str, deque[FeedJob]] = {}
    for job in jobs:
        waiting.setdefault(host_of(job.url), deque()).append(job)
    if not waiting:
        return
    tokens: queue.SimpleQueue[str | None] = queue.SimpleQueue()
    for host, host_jobs in waiting.items():
        for _ in range(min(size.per_host, len(host_jobs))):
            tokens.put(host)
    remaining = sum(len(q) for q in waiting.values())
    lock = threading.Lock()
    workers = min(size.workers, remaining)

    def work(http) -> None:
        nonlocal remaining
        while (host := tokens.get()) is not None:
            with lock:
                job = waiting[host].popleft()
            try:
                answer: fetch.Fetched | SourceError = fetch.fetch(http, job.url, job.etag, job.last_modified, limits)
            except SourceError as exc:
                answer = exc
            except Exception as exc:  # a bug or an unexpected library error must not stop the others
                answer = SourceError(f"unexpected {exc.__class__.__name__}: {exc}")
            try:
                on_result(job, answer)
            finally:
                with lock:
                    remaining -= 1
                    if waiting[host]:
                        tokens.put(host)
                    if remaining == 0:
                        for _ in range(workers):
                            tokens.put(None)

    with fetch.client(limits) as http:
        threads = [threading.Thread(target=work, args=(http,), name=f"fetch-{i}", daemon=True) for i in range(workers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
