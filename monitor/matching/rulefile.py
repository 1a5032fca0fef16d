"""Rule files: the format and its validation, nothing else.

    id = "csto"                     # unique across the folder; file name is free
    title = "CSTO"                  # shown in digests
    description = "..."
    alert = "digest"                # "digest" (daily) or "immediate" (an email per new story)
    threshold = 2.0                 # score an article needs; each mention adds its term's weight,
                                    # a mention in the title counts TITLE_WEIGHT times
    exclude = ["football"]          # any of these in the article vetoes the rule

    [terms]                         # term = weight
    "@csto" = 1.0                   # @id: an entity from rules/entities/, with all its aliases
    "peacekeeping force" = 0.5      # a word or phrase, case-insensitive
    "sanction*" = 1.0               # trailing * : any word starting so

    query = '(@csto OR "collective security") AND NOT sport*'   # optional, Lucene syntax:
                                    # see query.py; with a query, [terms] is optional: without
                                    # it each positive query term scores its weight (default 1)

    [[example]]                     # self-tests, run by `monitor rules test`
    title = "CSTO troops land in Almaty"
    text = "..."
    match = true                    # or false: a look-alike the rule must ignore

Errors name file, line and column. `folder.py` loads the whole folder file by file and
keeps a broken file's previous good version.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from monitor.errors import RuleFileError
from monitor.matching.entities import Entity
from monitor.matching.query import Node, QueryError, parse_query, terms_of, triggers
from monitor.matching.tomlfile import line_of, locate, read_toml

RULE_KEYS = {"id", "title", "description", "alert", "threshold", "terms", "exclude", "query", "example"}
EXAMPLE_KEYS = {"title", "text", "match", "note"}
ALERT_KINDS = ("digest", "immediate")
ENTITY_FOLDER = "entities"


@dataclass(frozen=True)
class Example:
    title: str
    text: str
    match: bool  # must the rule fire on it?
    line: int | None


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    description: str
    alert: str
    threshold: float
    terms: tuple[tuple[str, float], ...]  # (term, weight); "@id" for an entity
    exclude: tuple[str, ...]
    file: str
    query: Node | None = None
    query_text: str = ""
    examples: tuple[Example, ...] = ()

    @cached_property
    def scored(self) -> tuple[tuple[str, str | None, float], ...]:
        """(term, field, weight) of what scores: with a [terms] table the table alone, else
        every positive term of the query (`term^2`; default weight 1). Worked out once."""
        if self.terms or self.query is None:
            return tuple((term, None, weight) for term, weight in self.terms)
        return tuple((t.key, t.field, t.weight) for t in terms_of(self.query))

    @property
    def triggers(self) -> frozenset[str]:
        """The terms whose mention makes the rule worth evaluating (percolator candidates)."""
        if self.query is not None:
            return triggers(self.query) or frozenset(t.key for t in terms_of(self.query))
        return frozenset(term for term, weight in self.terms if weight > 0)


@dataclass(frozen=True)
class RuleSet:
    rules: tuple[Rule, ...]
    entities: dict[str, Entity]
    fingerprint: str  # hash of every file's bytes: changes when any file is edited
    # path -> (sha256 of the bytes, the Rule or the tuple of Entities) of the version in force
    versions: dict[str, tuple[str, object]] = field(default_factory=dict)
    errors: tuple[RuleFileError, ...] = ()  # files not loaded as they are now (older version kept)

    def get(self, rule_id: str) -> Rule | None:
        return next((rule for rule in self.rules if rule.id == rule_id), None)

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(rule.id for rule in self.rules)


def folder_fingerprint(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*.toml")) if folder.is_dir() else ():
        digest.update(str(path.relative_to(folder)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def load_rules(folder: Path) -> RuleSet:
    """Load and validate every rule and entity file under `folder`; raise on the first error."""
    from monitor.matching.folder import load_folder

    ruleset = load_folder(folder)
    if ruleset.errors:
        raise ruleset.errors[0]
    return ruleset


def parse_rule(path: Path, entities: dict[str, Entity]) -> Rule:
    """One rule file, validated against the entities; RuleFileError on anything wrong."""
    text, data = read_toml(path)

    def fail(message: str, needle: str | None = None) -> RuleFileError:
        return RuleFileError(str(path), message, line_of(text, needle) if needle else None)

    for key in data:
        if key not in RULE_KEYS:
            raise fail(f"unknown key {key!r} (known: {', '.join(sorted(RULE_KEYS))})", key)
    ident = data.get("id")
    if not isinstance(ident, str) or not ident.strip():
        raise fail("a rule needs an id = \"...\"")
    alert = data.get("alert", "digest")
    if alert not in ALERT_KINDS:
        raise fail(f"alert must be one of {', '.join(ALERT_KINDS)}, not {alert!r}", "alert")
    threshold = data.get("threshold", 1.0)
    if not isinstance(threshold, int | float) or isinstance(threshold, bool) or threshold <= 0:
        raise fail("threshold must be a positive number", "threshold")
    query, query_text = _query(path, text, data, entities)
    terms = data.get("terms", {} if query is not None else None)
    if not isinstance(terms, dict) or (not terms and query is None):
        raise fail("a rule needs a query or a [terms] table with at least one term = weight", "terms")
    for term, weight in terms.items():
        if not isinstance(weight, int | float) or isinstance(weight, bool):
            raise fail(f"term {term!r}: the weight must be a number", term)
        if term.startswith("@") and term[1:] not in entities:
            raise fail(f"term {term!r}: no entity {term[1:]!r} in {ENTITY_FOLDER}/", term)
        if not term.strip("@* "):
            raise fail(f"term {term!r} is empty", term)
    exclude = data.get("exclude", [])
    if not isinstance(exclude, list) or not all(isinstance(e, str) and e.strip() for e in exclude):
        raise fail("exclude must be a list of non-empty strings", "exclude")
    return Rule(
        id=ident,
        title=str(data.get("title", ident)),
        description=str(data.get("description", "")),
        alert=alert,
        threshold=float(threshold),
        terms=tuple((term, float(weight)) for term, weight in terms.items()),
        exclude=tuple(exclude),
        file=str(path),
        query=query,
        query_text=query_text,
        examples=_examples(path, text, data.get("example", [])),
    )


def _query(path: Path, text: str, data: dict, entities: dict[str, Entity]) -> tuple[Node | None, str]:
    raw = data.get("query")
    if raw is None:
        return None, ""
    if not isinstance(raw, str):
        raise RuleFileError(str(path), "query must be a string", line_of(text, "query"))
    try:
        node = parse_query(raw)
    except QueryError as exc:
        raise RuleFileError(str(path), str(exc), *locate(text, raw, exc.position, "query")) from exc
    for term in terms_of(node, positive=False):
        if term.key.startswith("@") and term.key[1:] not in entities:
            line, column = locate(text, raw, raw.find(term.key), "query")
            raise RuleFileError(str(path), f"query: no entity {term.key[1:]!r} in {ENTITY_FOLDER}/", line, column)
    return node, raw


def _examples(path: Path, text: str, raw: list) -> tuple[Example, ...]:
    examples = []
    if not isinstance(raw, list):
        raise RuleFileError(str(path), "examples are written as [[example]] tables", line_of(text, "example"))
    lines = [n for n, line in enumerate(text.splitlines(), start=1) if line.strip() == "[[example]]"]
    for index, item in enumerate(raw):
        line = lines[index] if index < len(lines) else None
        unknown = set(item) - EXAMPLE_KEYS
        if unknown:
            raise RuleFileError(str(path), f"example: unknown key {sorted(unknown)[0]!r} (known: {', '.join(sorted(EXAMPLE_KEYS))})", line)
        if not isinstance(item.get("match"), bool) or not isinstance(item.get("text", ""), str):
            raise RuleFileError(str(path), "an example needs text = \"...\" and match = true or false", line)
        examples.append(Example(str(item.get("title", "")), item.get("text", ""), item["match"], line))
    return tuple(examples)
