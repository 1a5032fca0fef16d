"""`monitor run` as a service: it runs a cycle at start, and SIGTERM stops it cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time


def test_daemon_runs_a_cycle_and_stops_on_sigterm(project):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "monitor", "--config", str(project), "run"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    outbox = project.parent / "var" / "outbox"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not list(outbox.glob("*.eml")):
            assert process.poll() is None, process.stdout.read()
            time.sleep(0.2)
        assert len(list(outbox.glob("*.eml"))) == 1
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=60)
    assert process.returncode == 0, output
    assert "received SIGTERM" in output and "daemon stopped" in output
