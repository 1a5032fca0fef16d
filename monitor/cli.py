"""The command line: each command parses its arguments and calls one function.

    monitor run [--once]                     the daemon (or one full cycle, then exit)
    monitor ingest [--all] [--fetch-only]    fetch due sources (or all), match, cluster
    monitor scan                             match and cluster whatever is not yet done
    monitor scan --jsonl FILE                backtest the rules on an archive (throwaway database)
    monitor digest preview [--recipient N] [--output F]   render without sending
    monitor digest send [--recipient N]      build a digest now and send it
    monitor status [--check]                 sources, counts, digests (--check: exit 1 when unhealthy)
    monitor sources list                     every source: health, last success, next poll, last error
    monitor sources import FILE.opml         add the feeds of an OPML file (importing twice adds nothing)
    monitor stories [--json]                 every story with its articles
    monitor stories explain STORY_ID         why each article is in the story
    monitor rules check                      validate the rules folder (exit 1 on an error)
    monitor rules test                       run the [[example]] self-tests of every rule
    monitor rules explain ARTICLE_ID         the evidence behind each match
    monitor db upgrade                       apply database migrations
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import sys
from contextlib import nullcontext
from pathlib import Path

from monitor import pipeline, reports
from monitor.config import Settings, load_settings
from monitor.errors import ConfigError, RuleFileError, SourceError, StorageError
from monitor.service import logs
from monitor.service.lock import AlreadyRunning, sqlite_guard
from monitor.storage.queries import Store

EXIT_CONFIG = 2

# What is imported by now lives until the process ends: the collector need not walk it at
# every full collection, nor once more at exit (0.2 s at the end of a `monitor ingest`).
gc.freeze()


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(prog="monitor", description="Media-monitoring alert daemon.")
    main.add_argument("--config", help="config file (default: $MONITOR_CONFIG or ./config.toml)")
    main.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    commands = main.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run the daemon in the foreground", description="Example: monitor run --once")
    run.add_argument("--once", action="store_true", help="one full cycle now (every source, every digest), then exit")
    run.add_argument("--log-format", choices=("text", "json"), help="log lines for people (text) or collectors (json)")

    ingest = commands.add_parser("ingest", help="one ingestion pass, then exit", description="Example: monitor ingest --all")
    ingest.add_argument("--all", action="store_true", help="every source, not only those due")
    ingest.add_argument(
        "--fetch-only", action="store_true", help="store the new articles and stop; `monitor scan` matches and groups them later"
    )

    scan = commands.add_parser(
        "scan", help="match and cluster articles not yet done, or backtest an archive",
        description="Examples: monitor scan; monitor scan --jsonl archive.jsonl > results.jsonl",
    )
    scan.add_argument("--jsonl", metavar="FILE", help="backtest: articles as JSON Lines, results printed as JSON Lines")

    digest = commands.add_parser("digest", help="preview or send digests").add_subparsers(dest="action", required=True)
    preview = digest.add_parser("preview", help="render without sending", description="Example: monitor digest preview --output /tmp/d.html")
    preview.add_argument("--recipient", help="recipient name (default: the first)")
    preview.add_argument("--output", help="HTML file to write (default: <data>/preview-<recipient>.html)")
    send = digest.add_parser("send", help="build a digest now and send it", description="Example: monitor digest send --recipient analyst")
    send.add_argument("--recipient", help="recipient name (default: all)")

    status = commands.add_parser("status", help="sources, counts and digests", description="Example: monitor status --check")
    status.add_argument("--check", action="store_true", help="exit 1 when the daemon is unhealthy (for health checks)")

    sources = commands.add_parser("sources", help="list or import sources").add_subparsers(dest="action", required=True)
    sources.add_parser("list", help="every source with its health", description="Example: monitor sources list")
    opml = sources.add_parser(
        "import", help="add the feeds of an OPML file", description="Example: monitor sources import subscriptions.opml"
    )
    opml.add_argument("file", help="an OPML file, as feed readers export it")

    stories = commands.add_parser("stories", help="list stories", description="Example: monitor stories --json")
    stories.add_argument("--json", action="store_true", help="print JSON")
    story_actions = stories.add_subparsers(dest="action")
    explain_story = story_actions.add_parser("explain", help="why each article is in a story")
    explain_story.add_argument("story_id", type=int)

    rules = commands.add_parser("rules", help="check or explain rules").add_subparsers(dest="action", required=True)
    rules.add_parser("check", help="validate the rules folder", description="Example: monitor rules check")
    rules.add_parser("test", help="run the rules' [[example]] self-tests", description="Example: monitor rules test")
    explain = rules.add_parser("explain", help="the evidence behind an article's matches", description="Example: monitor rules explain 3")
    explain.add_argument("article_id", type=int)

    db = commands.add_parser("db", help="database maintenance").add_subparsers(dest="action", required=True)
    db.add_parser("upgrade", help="apply migrations", description="Example: monitor db upgrade")
    return main


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    stream = sys.stderr if getattr(args, "jsonl", None) else sys.stdout  # --jsonl prints results on stdout
    logs.setup(getattr(args, "log_format", None) or "text", args.verbose, stream)
    try:
        settings = load_settings(args.config)
        if getattr(args, "log_format", None) is None and settings.log.format != "text":
            logs.setup(settings.log.format, args.verbose, stream)
        if args.command == "rules" and args.action in ("check", "test"):
            return rules_check(settings) if args.action == "check" else rules_test(settings)
        if args.command == "scan" and args.jsonl:
            return scan_jsonl(settings, Path(args.jsonl))
        store = Store.open(settings.database_url)
        try:
            with sqlite_guard(settings.database_url) if _writes(args) else nullcontext():
                return dispatch(args, settings, store)
        finally:
            store.close()
    except ConfigError as exc:
        print(f"configuration error:\n{exc}", file=sys.stderr)
        return EXIT_CONFIG
    except RuleFileError as exc:
        print(f"rule error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except AlreadyRunning as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_CONFIG
    except StorageError as exc:
        print(f"unhealthy: {exc}" if getattr(args, "check", False) else str(exc), file=sys.stderr)
        return 1


def _writes(args) -> bool:
    """One-off commands that change the database wait for no daemon: on SQLite they take the
    daemon's lock (and fail at once when it runs); `monitor run` takes it itself."""
    if args.command in ("ingest", "scan"):
        return not getattr(args, "jsonl", None)
    return args.command == "digest" and args.action == "send"


def dispatch(args, settings: Settings, store: Store) -> int:
    if args.command == "db":
        return 0  # Store.open has applied the migrations
    if args.command == "status":
        if args.check:
            from monitor.service import health

            found = health.problems(settings, store, pipeline.now_utc())
            print("unhealthy: " + "; ".join(found) if found else "healthy")
            return 1 if found else 0
        print(reports.status(settings, store))
        return 0
    if args.command == "sources":
        return sources(args, store)
    if args.command == "stories":
        if args.action == "explain":
            return _print(reports.explain_story(store, args.story_id))
        stories = reports.stories(store)
        print(json.dumps(stories, indent=2, ensure_ascii=False) if args.json else reports.stories_text(stories))
        return 0
    if args.command == "rules":
        return _print(reports.explain_article(store, args.article_id))
    if args.command == "ingest" and args.fetch_only:
        return ingest(settings, store, args.all, None)  # no rules needed: none loaded
    rules = pipeline.reload_rules(settings, None)
    if args.command == "run":
        from monitor.service import daemon  # the scheduler and the metrics server: only here

        return daemon.run(settings, store, rules, once=args.once)
    if args.command == "ingest":
        return ingest(settings, store, args.all, rules)
    if args.command == "scan":
        print(f"scanned {pipeline.match(store, rules)} article(s), clustered {pipeline.cluster(store)}")
        return 0
    if args.command == "digest":
        return digest(args, settings, store, rules)
    raise AssertionError(args.command)


def ingest(settings: Settings, store: Store, every_source: bool, rules: pipeline.LoadedRules | None) -> int:
    """Collect (every source or those due), then match and cluster unless `rules` is None."""
    report = pipeline.collect(settings, store, every_source=every_source)
    if rules is not None:
        pipeline.match(store, rules)
        pipeline.cluster(store)
    failed = report.failed_sources
    shown = ", ".join(failed[:10]) + (f" and {len(failed) - 10} more" if len(failed) > 10 else "")
    print(f"articles: {report.articles}; failed sources: {len(failed)}{' (' + shown + ')' if failed else ''}")
    return 0


def sources(args, store: Store) -> int:
    if args.action == "list":
        print(reports.sources_text(store))
        return 0
    try:
        added, skipped, refused = pipeline.import_opml(store, Path(args.file))
    except SourceError as exc:
        print(f"import failed: {exc}", file=sys.stderr)
        return 1
    print(f"{len(added)} feed(s) added, {len(skipped)} already known")
    for line in refused:
        print(f"  not imported: {line}")
    return 0


def digest(args, settings: Settings, store: Store, rules: pipeline.LoadedRules) -> int:
    if args.action == "preview":
        from monitor.digests.render import render

        recipient = _recipient(settings, args.recipient)
        content = pipeline.build_digest(settings, store, rules.ruleset, recipient, pipeline.now_utc())
        rendered = render(content, settings.templates_dir)
        output = Path(args.output) if args.output else settings.data_dir / f"preview-{recipient.name}.html"
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(rendered.html, encoding="utf-8")
        output.with_suffix(".txt").write_text(rendered.text, encoding="utf-8")
        print(f"{rendered.subject}\nwritten to {output} (and {output.with_suffix('.txt')})")
        return 0
    if args.recipient:
        _recipient(settings, args.recipient)
    built = pipeline.build_digests(settings, store, rules.ruleset, only=args.recipient, manual=True)
    sent, deferred, failed = pipeline.deliver(settings, store)
    print(f"{len(built)} digest(s) built; {sent} sent, {deferred} deferred, {failed} failed")
    return 0 if not failed else 1


def _recipient(settings: Settings, name: str | None):
    if not settings.recipients:
        raise ConfigError(f"{settings.config_file}: recipients: no recipient configured")
    if name is None:
        return settings.recipients[0]
    for recipient in settings.recipients:
        if recipient.name == name:
            return recipient
    known = ", ".join(r.name for r in settings.recipients)
    raise ConfigError(f"{settings.config_file}: recipients: no recipient named {name!r} (known: {known})")


def rules_check(settings: Settings) -> int:
    from monitor.matching.folder import load_folder

    ruleset = load_folder(settings.rules_dir)
    for error in ruleset.errors:
        print(error, file=sys.stderr)
    if ruleset.errors:
        return 1
    print(f"{len(ruleset.rules)} rule(s), {len(ruleset.entities)} entit(ies): OK")
    for rule in ruleset.rules:
        kind = "query" if rule.query is not None else f"{len(rule.terms)} terms"
        print(f"  {rule.id}: {rule.title} ({kind}, threshold {rule.threshold:g}, {len(rule.examples)} examples, {rule.alert})")
    return 0


def rules_test(settings: Settings) -> int:
    from monitor.matching.selftest import run_examples

    if rules_check(settings):
        return 1
    outcomes = run_examples(pipeline.reload_rules(settings, None).matcher)
    for outcome in outcomes:
        print(outcome.describe())
    failed = sum(not o.passed for o in outcomes)
    print(f"{len(outcomes)} example(s), {failed} failed")
    return 1 if failed else 0


def scan_jsonl(settings: Settings, path: Path) -> int:
    from monitor.backtest import backtest_file

    if not path.is_file():
        print(f"{path}: no such file", file=sys.stderr)
        return 1
    logging.getLogger("monitor").setLevel(logging.WARNING)  # one log line per article is noise here
    count = backtest_file(path, pipeline.reload_rules(settings, None), sys.stdout, sys.stderr)
    print(f"{count} article(s) scanned", file=sys.stderr)
    return 0


def _print(text: str | None) -> int:
    if text is None:
        print("not found", file=sys.stderr)
        return 1
    print(text)
    return 0
