"""Feed ingestion against reader (PyPI `reader`), on the same feeds, in the same run.

    make bench-feeds        (or: .venv/bin/python benchmarks/feeds.py)

A local HTTP server (asyncio, its own process) serves 2,000 RSS feeds of 20 items each,
spread over 50 loopback addresses (127.0.0.1 to 127.0.0.50, 40 feeds each, so per-host
limits apply as they would on the web), with ETag and Last-Modified. For each tool, in a
fresh database: a first cycle (every entry new) and a second cycle (every feed answers
304), then the same two cycles with 50 ms added to every response.

    ours:   `monitor ingest --all --fetch-only` (feeds imported first from an OPML file);
            --fetch-only because reader's update_feeds does not match rules either
    reader: `update_feeds(workers=16, scheduled=False)` in a virtualenv this script creates
            (var/bench/reader-venv, reused by later runs)

Each cycle is a separate process, start-up included, timed from launch to exit. Peak memory
is the largest sum, over the process and its children, of their proportional set size
(PSS: pages shared between a parent and its forked children counted once), sampled every
0.1 s. Connections are the TCP connections the server accepted during the second cycle.
The last line printed is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FEEDS = int(os.environ.get("BENCH_FEEDS", "2000"))  # fewer for a quick trial run
ITEMS = 20
HOSTS = 50  # 127.0.0.1 .. 127.0.0.50, 40 feeds each
LATENCY_MS = 50
READER_PINS = ["reader==3.26", "sgmllib3k==1.0.0"]
READER_VENV = ROOT / "var" / "bench" / "reader-venv"
LAST_MODIFIED = "Mon, 06 Jan 2025 09:00:00 GMT"
WORDS = (
    "government ministry border trade pipeline election parliament sanctions bank currency grain "
    "railway summit delegation protest court energy water treaty investment customs region"
).split()


# -- the feeds and the server -------------------------------------------------------------


def host_of(n: int) -> str:
    return f"127.0.0.{1 + n * HOSTS // FEEDS}"


def feed_url(n: int, port: int) -> str:
    return f"http://{host_of(n)}:{port}/feeds/{n}.xml"


def feed_body(n: int) -> bytes:
    items = []
    for i in range(ITEMS):
        words = " ".join(WORDS[(n * 7 + i * 3 + k) % len(WORDS)] for k in range(60))
        items.append(
            f"<item><title>Feed {n} story {i}: {WORDS[(n + i) % len(WORDS)]} news</title>"
            f"<link>https://news{n}.example.org/{i}</link><guid isPermaLink=\"false\">feed-{n}-item-{i}</guid>"
            f"<pubDate>Mon, 06 Jan 2025 {i % 24:02d}:00:00 GMT</pubDate>"
            f"<description>&lt;p&gt;Story {i} of feed {n}. {words}.&lt;/p&gt;&lt;p&gt;More on {words[:80]}.&lt;/p&gt;</description></item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Outlet {n}</title><link>https://news{n}.example.org/</link><description>Feed {n}</description>"
        + "".join(items) + "</channel></rss>"
    ).encode()


def serve(port: int) -> None:
    """The feed server: HTTP/1.1 with keep-alive, conditional GET, a control path."""
    bodies = {f"/feeds/{n}.xml": feed_body(n) for n in range(FEEDS)}
    state = {"latency": 0.0, "connections": 0, "requests": 0}

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        state["connections"] += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                path = lines[0].split(" ")[1]
                headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
                status, body, extra = answer(path, headers)
                if state["latency"] and path.startswith("/feeds/"):
                    await asyncio.sleep(state["latency"])
                writer.write(
                    f"HTTP/1.1 {status}\r\nContent-Length: {len(body)}\r\n{extra}\r\n".encode("latin-1") + body
                )
                await writer.drain()
                if headers.get("connection", "").lower() == "close":
                    break
        except (asyncio.IncompleteReadError, ConnectionError, IndexError):
            pass
        finally:
            writer.close()

    def answer(path: str, headers: dict) -> tuple[str, bytes, str]:
        if path.startswith("/__control"):
            report = json.dumps({"connections": state["connections"] - 1, "requests": state["requests"]}).encode()
            if "latency=" in path:
                state["latency"] = float(path.split("latency=")[1].split("&")[0]) / 1000
            state["connections"], state["requests"] = 0, 0
            return "200 OK", report, "Content-Type: application/json\r\nConnection: close\r\n"
        body = bodies.get(path)
        if body is None:
            return "404 Not Found", b"", ""
        state["requests"] += 1
        etag = f'"{path.rsplit("/", 1)[1]}-v1"'
        validators = f"ETag: {etag}\r\nLast-Modified: {LAST_MODIFIED}\r\n"
        if headers.get("if-none-match") == etag or (
            "if-none-match" not in headers and headers.get("if-modified-since") == LAST_MODIFIED
        ):
            return "304 Not Modified", b"", validators
        return "200 OK", body, validators + "Content-Type: application/rss+xml; charset=utf-8\r\n"

    async def main() -> None:
        servers = [await asyncio.start_server(handle, f"127.0.0.{h}", port, backlog=1024) for h in range(1, HOSTS + 1)]
        print("ready", flush=True)
        await asyncio.gather(*(s.serve_forever() for s in servers))

    asyncio.run(main())


def control(port: int, latency_ms: float | None = None) -> dict:
    query = f"?latency={latency_ms}" if latency_ms is not None else ""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/__control{query}", timeout=10) as response:
        return json.loads(response.read())


# -- measuring a process tree -------------------------------------------------------------


def _tree(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        try:
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as children:
                    todo.extend(int(c) for c in children.read().split())
        except OSError:
            pass
    return found


def _pss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as rollup:
            for line in rollup:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def timed(command: list[str], log: Path) -> tuple[float, float]:
    """Run `command`; returns (seconds, peak PSS of its process tree in MB)."""
    peak = 0
    started = time.perf_counter()
    with open(log, "ab") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
        while process.poll() is None:
            peak = max(peak, sum(_pss_kib(pid) for pid in _tree(process.pid)))
            time.sleep(0.1)
    took = time.perf_counter() - started
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed with {process.returncode}; see {log}")
    return took, peak / 1024


# -- the two tools ------------------------------------------------------------------------


def ours_setup(folder: Path, port: int) -> list[str]:
    config = folder / "config.toml"
    config.write_text(
        f'[paths]\ndata = "{folder / "var"}"\ntemplates = "{ROOT / "templates"}"\n[rules]\npath = "{ROOT / "rules"}"\n',
        encoding="utf-8",
    )
    outlines = "".join(f'<outline text="Outlet {n}" type="rss" xmlUrl="{feed_url(n, port)}"/>' for n in range(FEEDS))
    opml = folder / "feeds.opml"
    opml.write_text(f'<?xml version="1.0"?><opml version="2.0"><body>{outlines}</body></opml>', encoding="utf-8")
    monitor = str(ROOT / ".venv" / "bin" / "monitor")
    subprocess.run([monitor, "--config", str(config), "sources", "import", str(opml)], check=True, capture_output=True)
    return [monitor, "--config", str(config), "ingest", "--all", "--fetch-only"]


def ours_entries(folder: Path) -> int:
    with sqlite3.connect(folder / "var" / "monitor.sqlite3") as db:
        return db.execute("select count(*) from articles").fetchone()[0]


def reader_python() -> str:
    python = READER_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(READER_VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", *READER_PINS], check=True)
    return str(python)


def reader_setup(folder: Path, port: int) -> list[str]:
    python = reader_python()
    db = str(folder / "reader.sqlite")
    urls = folder / "urls.txt"
    urls.write_text("\n".join(feed_url(n, port) for n in range(FEEDS)), encoding="utf-8")
    subprocess.run([python, __file__, "--reader-add", db, str(urls)], check=True)
    return [python, __file__, "--reader-update", db]


def reader_entries(folder: Path) -> int:
    with sqlite3.connect(folder / "reader.sqlite") as db:
        return db.execute("select count(*) from entries").fetchone()[0]


def reader_add(db: str, urls: str) -> None:
    from reader import make_reader

    reader = make_reader(db)
    for url in Path(urls).read_text(encoding="utf-8").split():
        reader.add_feed(url, exist_ok=True)
    reader.close()


def reader_update(db: str) -> None:
    from reader import make_reader

    reader = make_reader(db)
    reader.update_feeds(workers=16, scheduled=False)
    reader.close()


# -- the run ------------------------------------------------------------------------------


def cycles(name: str, setup, entries, port: int, latency: int, work: Path) -> dict:
    folder = work / f"{name}-{latency}ms"
    folder.mkdir()
    command = setup(folder, port)
    control(port, latency)
    first, peak1 = timed(command, folder / "log.txt")
    count = entries(folder)
    control(port)
    second, peak2 = timed(command, folder / "log.txt")
    seen = control(port)
    suffix = f"_{latency}ms" if latency else ""
    print(f"{name:>6} latency {latency:>2} ms: cycle 1 {first:6.2f} s, cycle 2 {second:6.2f} s, "
          f"peak {max(peak1, peak2):6.1f} MB, cycle 2 connections {seen['connections']} "
          f"({seen['requests']} requests), entries {count}", flush=True)
    figures = {f"cycle1_s{suffix}": round(first, 2), f"cycle2_s{suffix}": round(second, 2)}
    if not latency:
        figures |= {"peak_rss_mb": round(max(peak1, peak2), 1), "cycle2_connections": seen["connections"], "entries": count}
    else:
        figures |= {"peak_rss_mb_50ms": round(max(peak1, peak2), 1), "cycle2_connections_50ms": seen["connections"]}
    return figures


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main() -> None:
    port = free_port()
    server = subprocess.Popen([sys.executable, __file__, "--serve", str(port)], stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout.readline().strip() == "ready"
        reader_python()  # create the virtualenv before anything is timed
        work = Path(tempfile.mkdtemp(prefix="bench-feeds-"))
        results = {"ours": {}, "reader": {}}
        for latency in (0, LATENCY_MS):
            results["ours"] |= cycles("ours", ours_setup, ours_entries, port, latency, work)
            results["reader"] |= cycles("reader", reader_setup, reader_entries, port, latency, work)
        shutil.rmtree(work, ignore_errors=True)
    finally:
        server.terminate()
        server.wait()
    ours, theirs = results["ours"], results["reader"]
    for key in ("cycle1_s", "cycle2_s", "cycle1_s_50ms", "cycle2_s_50ms"):
        print(f"ratio {key}: {ours[key] / theirs[key]:.2f}")
    summary = {
        "ours": {k: v for k, v in ours.items() if k != "entries"},
        "reader": {k: v for k, v in theirs.items() if k != "entries"},
        "entries_ours": ours["entries"],
        "entries_reader": theirs["entries"],
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    options = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    options.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    options.add_argument("--reader-add", nargs=2, help=argparse.SUPPRESS)
    options.add_argument("--reader-update", help=argparse.SUPPRESS)
    args = options.parse_args()
    if args.serve:
        serve(args.serve)
    elif args.reader_add:
        reader_add(*args.reader_add)
    elif args.reader_update:
        reader_update(args.reader_update)
    else:
        main()
