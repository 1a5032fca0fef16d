"""The daemon's guard against malloc keeping freed memory (monitor/service/memory.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from monitor.service import memory
from tests.conftest import ROOT

glibc = pytest.mark.skipif(memory._glibc() is None, reason="glibc's malloc only")

# Eight threads malloc at the same moment, then glibc's malloc_stats() (on stderr) lists
# the arenas they were given.
THREADS = textwrap.dedent(
    """
    import ctypes, sys, threading
    from monitor.service import memory
    if sys.argv[1] == "limit":
        assert memory.limit_arenas()
    barrier = threading.Barrier(8)
    def work():
        held = [bytearray(4096) for _ in range(64)]  # larger than pymalloc's objects: malloc's
        barrier.wait()
    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads: t.start()
    for t in threads: t.join()
    ctypes.CDLL("libc.so.6").malloc_stats()
    """
)


def arenas_used(mode: str) -> int:
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
    done = subprocess.run([sys.executable, "-c", THREADS, mode], capture_output=True, text=True, env=env, cwd=ROOT, check=True)
    return sum(1 for line in done.stderr.splitlines() if line.startswith("Arena "))


@glibc
def test_threads_share_the_capped_arenas():
    assert arenas_used("default") > memory.ARENAS  # what the cap is for: one arena per thread
    assert arenas_used("limit") <= memory.ARENAS


def test_an_explicit_malloc_arena_max_wins(monkeypatch):
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert memory.limit_arenas() is False


def test_a_job_releases_memory_however_it_ends(monkeypatch):
    released = []
    monkeypatch.setattr(memory, "release", lambda: released.append(True))

    def failing():
        raise RuntimeError("boom")

    assert memory.releasing(lambda x: x * 2)(21) == 42
    with pytest.raises(RuntimeError):
        memory.releasing(failing)()
    assert released == [True, True]
