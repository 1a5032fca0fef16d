"""Parser processes: feedparser is CPU-bound (3 ms for a 20-item feed here), so feeds
are parsed in one process per core while the fetch threads keep fetching.

The processes are forked before any fetch thread starts (forking a process that runs
threads can copy a held lock), and each may grow by at most MEMORY_HEADROOM: a feed
that would need more fails with MemoryError in its own process, not the machine.
"""

from __future__ import annotations

import multiprocessing
import os
import resource
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, wait
from contextlib import contextmanager

# What one parse may add to a parser's address space. Bodies are capped at 15 MiB, and
# feedparser needs about ten times a body's size at most; 1 GiB leaves room for both.
MEMORY_HEADROOM = 1024 * 1024 * 1024


def _limit_memory() -> None:
    try:
        with open("/proc/self/statm") as statm:
            size = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return  # not Linux: no limit
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = size + MEMORY_HEADROOM
    if hard == resource.RLIM_INFINITY or limit < hard:
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def _ready() -> int:
    return os.getpid()


@contextmanager
def parser_pool(processes: int | None = None) -> Iterator[ProcessPoolExecutor]:
    processes = processes or os.cpu_count() or 2
    context = multiprocessing.get_context("fork") if os.name == "posix" else None
    with ProcessPoolExecutor(processes, mp_context=context, initializer=_limit_memory) as pool:
        wait([pool.submit(_ready) for _ in range(processes)])  # start them all now, before any thread
        yield pool
