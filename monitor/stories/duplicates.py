"""Copies: syndicated or lightly edited versions of an article already seen. Pure, no I/O.

MinHash signatures over word shingles of the cleaned text, looked up in a locality-sensitive
hash (datasketch), so a new article is compared with a handful of candidates, never with
every stored article. A candidate is a copy only when the estimated Jaccard similarity of
the two shingle sets reaches COPY_THRESHOLD. Headlines are left out on purpose: a copy with
a new headline is still a copy.
"""

from __future__ import annotations

from collections.abc import Hashable

import numpy as np
from datasketch import LeanMinHash, MinHash, MinHashLSH

from monitor.stories import tokens

# Four-word shingles: one changed word touches four shingles, so a few edits in a
# 150-word text leave a similarity above 0.8, while two reports written independently
# about one event share a quote or two at most.
SHINGLE_WORDS = 4
# 64 permutations: the estimate's standard error is about 1/sqrt(64) = 0.125, small beside
# the gap between copies (0.8 and more) and other articles (0.05 at most) measured below.
NUM_PERM = 64
# Estimated Jaccard similarity from which a text is a copy. On tests/data/stories/ the
# seven edited copies score 0.80-0.88 against their originals, and no two other articles
# more than 0.04: the threshold sits in the wide gap, nearer the copies' side.
COPY_THRESHOLD = 0.5
# LSH candidate threshold, set below COPY_THRESHOLD so that the banding misses no copy
# (datasketch picks the bands: a pair at 0.5 collides in some band with p > 0.95).
LSH_THRESHOLD = 0.4
# Too little text says nothing (lemon24/reader's entry_dedupe does the same): a text with
# fewer shingles than this is never called a copy, nor used as an original.
MIN_SHINGLES = 12

_TEMPLATE = MinHash(num_perm=NUM_PERM, seed=1)  # the permutations, drawn once
# Odd 64-bit multipliers that combine the hashes of a shingle's words in order.
_MIX = np.array([0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0x27D4EB2F165667C5], dtype=np.uint64)


def shingles(text: str) -> np.ndarray:
    """The distinct 32-bit hashes of the text's word shingles: Python's own string hash of
    each word, combined in order with numpy (no Python call per shingle). Python salts its
    string hash per process: signatures are compared within one process only, never stored."""
    words = np.array(list(map(hash, tokens.words(text))), dtype=np.int64).view(np.uint64)
    count = len(words) - SHINGLE_WORDS + 1
    if count <= 0:
        return np.empty(0, dtype=np.uint64)
    combined = np.zeros(count, dtype=np.uint64)
    for offset in range(SHINGLE_WORDS):
        combined += words[offset : offset + count] * _MIX[offset]  # wraps around: intended
    return np.unique((combined >> np.uint64(32)) ^ (combined & np.uint64(0xFFFFFFFF)))


def signature(text: str) -> LeanMinHash | None:
    """The text's MinHash, or None when it is too short to tell a copy."""
    grams = shingles(text)
    if len(grams) < MIN_SHINGLES:
        return None
    return LeanMinHash(seed=1, hashvalues=minhash_values(grams), scheme=_TEMPLATE.scheme)


# MurmurHash3's 32-bit finalizer: shifts and multipliers.
_FMIX32 = tuple(np.uint32(n) for n in (16, 0x85EBCA6B, 13, 0xC2B2AE35, 16))


def minhash_values(grams: np.ndarray) -> np.ndarray:
    """The minimum of each permutation over the shingle hashes: what datasketch's
    MinHash.update_batch computes in its affine32 scheme (each hash mixed with murmur's
    finalizer, then a*h + b modulo 2**32), in numpy alone, without its Python call per
    shingle. tests/test_copies.py holds the two equal."""
    s1, m1, s2, m2, s3 = _FMIX32
    hv = grams.astype(np.uint32).reshape(-1, 1)
    hv = (hv ^ (hv >> s1)) * m1
    hv = (hv ^ (hv >> s2)) * m2
    hv = hv ^ (hv >> s3)
    a, b = _TEMPLATE.permutations
    return (hv * a + b).min(axis=0)


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
