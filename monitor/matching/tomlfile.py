"""Reading TOML rule files with errors that name the file, line and column."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from monitor.errors import RuleFileError

_POSITION = re.compile(r"\(at line (\d+), column (\d+)\)")


def read_toml(path: Path) -> tuple[str, dict]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RuleFileError(str(path), f"cannot read: {exc}") from exc
    try:
        return text, tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = _POSITION.search(str(exc))
        message = _POSITION.sub("", str(exc)).strip()
        line, column = (int(found.group(1)), int(found.group(2))) if found else (None, None)
        raise RuleFileError(str(path), f"invalid TOML: {message}", line, column) from exc


def line_of(text: str, needle: str) -> int | None:
    """The first line that mentions `needle` as a key or quoted value, for error messages."""
    for number, line in enumerate(text.splitlines(), start=1):
        if re.search(rf"(^|[\s\"'\[.]){re.escape(needle)}($|[\s\"'\].=])", line):
            return number
    return None


def locate(text: str, value: str, position: int, key: str) -> tuple[int | None, int | None]:
    """(line, column) in the file of character `position` of the string `value` (a key's value)."""
    start = text.find(value) if value else -1
    if start < 0:
        return line_of(text, key), None
    absolute = start + position
    line = text.count("\n", 0, absolute) + 1
    return line, absolute - (text.rfind("\n", 0, absolute) + 1) + 1
