"""The words of a text, split once for everything that reads them (stems, shingles).

Profiling an article and signing it for copies both need the casefolded words of its body;
splitting is the dearest step of both, so the last few texts split are remembered."""

from __future__ import annotations

import re
from functools import lru_cache

_WORD = re.compile(r"\w+")


@lru_cache(maxsize=8)
def words(text: str) -> tuple[str, ...]:
    """The text's runs of word characters, casefolded, in order."""
    return tuple(_WORD.findall(text.casefold()))
