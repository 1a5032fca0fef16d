"""Loading the rules folder file by file, so one broken file never costs the others.

`load_folder(folder, previous)` reads every entity file (`entities/*.toml`) and rule file
(`*.toml`). A file that fails to read, parse or validate is reported in `RuleSet.errors`
(file, line, column, reason) and, when `previous` had a good version of it, that version
stays in force; every other file takes effect as it is now. A removed file is gone.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from monitor.errors import RuleFileError
from monitor.matching.entities import Entity, merge_entities, parse_entity_file
from monitor.matching.query import terms_of
from monitor.matching.rulefile import ENTITY_FOLDER, Rule, RuleSet, folder_fingerprint, parse_rule


def _digest(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return ""


def load_folder(folder: Path, previous: RuleSet | None = None) -> RuleSet:
    if not folder.is_dir():
        return RuleSet((), {}, "", {}, (RuleFileError(str(folder), "rules folder does not exist"),))
    old = previous.versions if previous is not None else {}
    versions: dict[str, tuple[str, object]] = {}
    errors: list[RuleFileError] = []
    entities: dict[str, Entity] = {}
    entity_dir = folder / ENTITY_FOLDER
    for path in sorted(entity_dir.glob("*.toml")) if entity_dir.is_dir() else ():
        version = _load(path, old, errors, parse_entity_file)
        if version is None:
            continue
        try:
            merge_entities(entities, version[1])
            versions[str(path)] = version
        except RuleFileError as exc:
            errors.append(exc)
    rules: dict[str, Rule] = {}
    for path in sorted(folder.glob("*.toml")):
        version = _load(path, old, errors, lambda p: parse_rule(p, entities))
        if version is None:
            continue
        rule = version[1]
        if rule.id in rules:
            errors.append(RuleFileError(str(path), f"rule id {rule.id!r} already used by {rules[rule.id].file}", 1))
            continue
        if not _entities_exist(rule, entities, errors):
            continue
        rules[rule.id] = rule
        versions[str(path)] = version
    return RuleSet(tuple(rules.values()), entities, folder_fingerprint(folder), versions, tuple(errors))


def _load(path: Path, old: dict, errors: list[RuleFileError], parse) -> tuple[str, object] | None:
    """(digest, parsed) of the file as it is now, else its previous good version, else None."""
    digest = _digest(path)
    try:
        return digest, parse(path)
    except RuleFileError as exc:
        errors.append(exc)
        kept = old.get(str(path))
        if kept is not None:
            errors[-1] = RuleFileError(exc.path, f"{exc.message} (the previous version stays in force)", exc.line, exc.column)
        return kept


def _entities_exist(rule: Rule, entities: dict[str, Entity], errors: list[RuleFileError]) -> bool:
    """A kept older rule may name an entity that is gone since: then it cannot stay."""
    names = {t for t, _ in rule.terms} | ({t.key for t in terms_of(rule.query, positive=False)} if rule.query else set())
    missing = sorted(n[1:] for n in names if n.startswith("@") and n[1:] not in entities)
    if missing:
        errors.append(RuleFileError(rule.file, f"rule {rule.id!r} dropped: no entity {missing[0]!r} any more"))
    return not missing
