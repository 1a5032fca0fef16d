"""Screenshots of the seed digest in headless Chromium, at desktop and phone widths, for a person to look at.

    .venv/bin/python benchmarks/screenshots.py            (make screenshots)

Ingests seed_corpus/ with the shipped config.toml into a throwaway data folder (so var/'s
database and outbox are never touched), renders the first recipient's digest with
`monitor digest preview --output`, and opens that HTML file in Debian's /usr/bin/chromium,
headless, with a fresh profile and no network chatter. Writes var/digest-desktop.png and
var/digest-phone.png and prints their paths.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUTPUT_DIR = ROOT / "var"
CHROMIUM = Path("/usr/bin/chromium")
# Window sizes in CSS pixels: a laptop, and a common phone width (iPhone 12-15: 390 px),
# which is under the template's 480 px @media breakpoint. Tall enough for the seed digest.
SIZES = {"desktop": (1280, 2000), "phone": (390, 2000)}
CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
)
STEP_TIMEOUT_SECONDS = 120  # each monitor or chromium run; the seed corpus takes a few seconds


class Failed(Exception):
    pass


def run(command: list[str], env: dict[str, str] | None = None) -> None:
    """Run a command quietly; on failure, show what it said."""
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=STEP_TIMEOUT_SECONDS)
    if done.returncode != 0:
        raise Failed(f"{' '.join(command)} exited with {done.returncode}:\n{done.stdout}{done.stderr}")


def render_digest(work: Path) -> Path:
    """Ingest the seeds into `work` and write the digest HTML there; only MONITOR_* variables set here apply."""
    data = work / "data"
    env = {key: value for key, value in os.environ.items() if not key.startswith("MONITOR_")}
    env |= {
        "MONITOR_CONFIG": str(ROOT / "config.toml"),
        "MONITOR_PATHS__DATA": str(data),
        "MONITOR_DATABASE__URL": f"sqlite:///{data / 'monitor.sqlite3'}",
    }
    html = work / "digest.html"
    run([sys.executable, "-m", "monitor", "ingest", "--all"], env)
    run([sys.executable, "-m", "monitor", "digest", "preview", "--output", str(html)], env)
    return html


def screenshot(html: Path, name: str, width: int, height: int, work: Path) -> Path:
    target = OUTPUT_DIR / f"digest-{name}.png"
    target.unlink(missing_ok=True)  # never report a stale picture as new
    run([
        str(CHROMIUM), *CHROMIUM_FLAGS, f"--user-data-dir={work / f'profile-{name}'}",
        f"--window-size={width},{height}", f"--screenshot={target}", html.as_uri(),
    ])
    if not target.is_file():
        raise Failed(f"chromium ran but wrote no {target}")
    return target


def main() -> int:
    if not CHROMIUM.is_file():
        print(f"{CHROMIUM} not found; install it with: apt-get install -y chromium", file=sys.stderr)
        return 1
    OUTPUT_DIR.mkdir(exist_ok=True)
    try:
        with tempfile.TemporaryDirectory(prefix="monitor-screenshots-") as tmp:
            work = Path(tmp)
            html = render_digest(work)
            for name, (width, height) in SIZES.items():
                print(screenshot(html, name, width, height, work))
    except (Failed, subprocess.TimeoutExpired) as exc:
        print(f"screenshots failed: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
