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
