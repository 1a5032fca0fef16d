"""Entities: one canonical name with every spelling real news uses, defined once in
`rules/entities/*.toml` and referenced by rules as `@id`.

    [[entity]]
    id = "kazakhstan"
    name = "Kazakhstan"
    type = "place"                      # person, place, organization, other
    aliases = ["Kazakhstan", "Qazaqstan", "Казахстан"]
    fuzzy = true                        # also catch an edit or two in long aliases
    deny = ["Kazan"]                    # look-alikes never taken for this entity

Aliases written in capitals of up to six letters (CSTO, ОДКБ) are acronyms: they
match only in capitals and never fuzzily.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from monitor.errors import RuleFileError
from monitor.matching.tomlfile import line_of, read_toml

ENTITY_TYPES = ("person", "place", "organization", "other")
ENTITY_KEYS = {"id", "name", "type", "aliases", "fuzzy", "deny"}
ACRONYM_MAX_LETTERS = 6


@dataclass(frozen=True)
class Entity:
    id: str
    name: str
    type: str
    aliases: tuple[str, ...]
    fuzzy: bool = False
    deny: tuple[str, ...] = ()
    file: str = ""


def is_acronym(alias: str) -> bool:
    letters = [c for c in alias if c.isalpha()]
    return 1 < len(letters) <= ACRONYM_MAX_LETTERS and all(c.isupper() for c in letters)


def load_entities(folder: Path) -> dict[str, Entity]:
    """Every entity in `folder/*.toml`; duplicate ids and malformed entries are errors."""
    entities: dict[str, Entity] = {}
    for path in sorted(folder.glob("*.toml")) if folder.is_dir() else ():
        merge_entities(entities, parse_entity_file(path))
    return entities


def parse_entity_file(path: Path) -> tuple[Entity, ...]:
    """The entities of one file; RuleFileError on anything malformed."""
    text, data = read_toml(path)
    unknown = set(data) - {"entity"}
    if unknown:
        key = sorted(unknown)[0]
        raise RuleFileError(str(path), f"unknown key {key!r} (entity files hold [[entity]] tables)", line_of(text, key))
    return tuple(_entity(path, text, raw) for raw in data.get("entity", []))


def merge_entities(entities: dict[str, Entity], new: tuple[Entity, ...]) -> None:
    """Add `new` to `entities`, refusing an id already defined (by another file or twice)."""
    for entity in new:
        if entity.id in entities:
            text = Path(entity.file).read_text(encoding="utf-8", errors="replace")
            raise RuleFileError(entity.file, f"entity id {entity.id!r} already defined in {entities[entity.id].file}", line_of(text, entity.id))
    for entity in new:
        entities[entity.id] = entity


def _entity(path: Path, text: str, raw: dict) -> Entity:
    ident = raw.get("id")
    line = line_of(text, str(ident)) if ident else None
    if not isinstance(ident, str) or not ident.strip():
        raise RuleFileError(str(path), "every [[entity]] needs an id", line)
    unknown = set(raw) - ENTITY_KEYS
    if unknown:
        raise RuleFileError(str(path), f"entity {ident!r}: unknown key {sorted(unknown)[0]!r}", line)
    aliases = raw.get("aliases", [])
    if not aliases or not all(isinstance(a, str) and a.strip() for a in aliases):
        raise RuleFileError(str(path), f"entity {ident!r}: aliases must be a non-empty list of strings", line)
    kind = raw.get("type", "other")
    if kind not in ENTITY_TYPES:
        raise RuleFileError(str(path), f"entity {ident!r}: type must be one of {', '.join(ENTITY_TYPES)}", line)
    deny = raw.get("deny", [])
    if not isinstance(deny, list) or not all(isinstance(d, str) for d in deny):
        raise RuleFileError(str(path), f"entity {ident!r}: deny must be a list of strings", line)
    return Entity(
        id=ident,
        name=str(raw.get("name", ident)),
        type=kind,
        aliases=tuple(aliases),
        fuzzy=bool(raw.get("fuzzy", False)),
        deny=tuple(deny),
        file=str(path),
    )

