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

The whole folder is validated at once; errors name file and line, and the caller keeps
the previous rules when a new set fails to load.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from monitor.errors import RuleFileError
from monitor.matching.entities import Entity, load_entities
from monitor.matching.tomlfile import line_of, read_toml

RULE_KEYS = {"id", "title", "description", "alert", "threshold", "terms", "exclude"}
ALERT_KINDS = ("digest", "immediate")
ENTITY_FOLDER = "entities"


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


@dataclass(frozen=True)
class RuleSet:
    rules: tuple[Rule, ...]
    entities: dict[str, Entity]
    fingerprint: str  # hash of every file's bytes: changes when any file is edited

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
    if not folder.is_dir():
        raise RuleFileError(str(folder), "rules folder does not exist")
    entities = load_entities(folder / ENTITY_FOLDER)
    rules: dict[str, Rule] = {}
    for path in sorted(folder.glob("*.toml")):
        rule = _rule(path, entities)
        if rule.id in rules:
            raise RuleFileError(str(path), f"rule id {rule.id!r} already used by {rules[rule.id].file}", 1)
        rules[rule.id] = rule
    return RuleSet(tuple(rules.values()), entities, folder_fingerprint(folder))


def _rule(path: Path, entities: dict[str, Entity]) -> Rule:
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
    terms = data.get("terms")
    if not isinstance(terms, dict) or not terms:
        raise fail("a rule needs a [terms] table with at least one term = weight", "terms")
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
    )
