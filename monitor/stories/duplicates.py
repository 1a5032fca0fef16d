"""Copies: syndicated or lightly edited versions of an article already seen. Pure, no I/O.

MinHash signatures over word shingles of the cleaned text, looked up in a locality-sensitive
hash (datasketch), so a new article is compared with a handful of candidates, never with
every stored article. A candidate is a copy only when the estimated Jaccard similarity of
the two shingle sets reaches COPY_THRESHOLD. Headlines are left out on purpose: a copy with
a new headline is still a copy.
"""

from __future__ import annotations

import re
from collections.abc import Hashable

from datasketch import LeanMinHash, MinHash, MinHashLSH

# Four-word shingles: one changed word touches four shingles, so a few edits in a
# 150-word text leave a similarity above 0.8, while two reports written independently
# about one event share a quote or two at most (under 0.15 on tests/data/stories/).
SHINGLE_WORDS = 4
NUM_PERM = 128  # estimate error about 1/sqrt(128) = 0.09
# Estimated Jaccard similarity from which a text is a copy. Lightly edited copies in the
# labeled corpus score 0.6-1.0; distinct reports of the same event under 0.2.
COPY_THRESHOLD = 0.5
# LSH candidate threshold, set below COPY_THRESHOLD so that the banding misses no copy
# (datasketch picks 25 bands of 5 rows for 0.4: a pair at 0.5 collides with p > 0.5 per band).
LSH_THRESHOLD = 0.4
# Too little text says nothing (lemon24/reader's entry_dedupe does the same): a text with
# fewer shingles than this is never called a copy, nor used as an original.
MIN_SHINGLES = 12

_WORD = re.compile(r"\w+")
_TEMPLATE = MinHash(num_perm=NUM_PERM, seed=1)  # the permutations, drawn once


def shingles(text: str) -> set[bytes]:
    words = _WORD.findall(text.casefold())
    return {" ".join(words[i : i + SHINGLE_WORDS]).encode() for i in range(len(words) - SHINGLE_WORDS + 1)}


def signature(text: str) -> LeanMinHash | None:
    """The text's MinHash, or None when it is too short to tell a copy."""
    grams = shingles(text)
    if len(grams) < MIN_SHINGLES:
        return None
    minhash = MinHash(num_perm=NUM_PERM, seed=1, permutations=_TEMPLATE.permutations, scheme=_TEMPLATE.scheme)
    minhash.update_batch(list(grams))
    return LeanMinHash(minhash)


class CopyIndex:
    """Signatures of the originals seen so far, by key (an article id)."""

    def __init__(self) -> None:
        self._lsh = MinHashLSH(threshold=LSH_THRESHOLD, num_perm=NUM_PERM)
        self._signatures: dict[Hashable, LeanMinHash] = {}

    def __len__(self) -> int:
        return len(self._signatures)

    def add(self, key: Hashable, sig: LeanMinHash | None) -> None:
        if sig is not None and key not in self._signatures:
            self._lsh.insert(key, sig)
            self._signatures[key] = sig

    def remove(self, key: Hashable) -> None:
        if self._signatures.pop(key, None) is not None:
            self._lsh.remove(key)

    def find(self, sig: LeanMinHash | None) -> tuple[Hashable, float] | None:
        """The most similar original at or above COPY_THRESHOLD, with its similarity."""
        if sig is None:
            return None
        best: tuple[Hashable, float] | None = None
        for key in self._lsh.query(sig):
            score = sig.jaccard(self._signatures[key])
            if score >= COPY_THRESHOLD and (best is None or score > best[1] or (score == best[1] and key < best[0])):
                best = (key, score)
        return best
