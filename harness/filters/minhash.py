"""A streaming near-duplicate index: MinHash signatures in an LSH table (datasketch).

Only what was added is held (one signature and its LSH band keys per entry), so memory
grows with the entries kept, never with the queries. Everything is deterministic: fixed
seed and permutations, SHA-1 of each shingle, ties broken by the earlier entry.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import numpy as np
from datasketch import MinHash, MinHashLSH

SEED = 1


def _band_key(raw: bytes) -> bytes:
    """LSH band keys shrunk to 8 bytes (datasketch keeps the raw band otherwise)."""
    return hashlib.blake2b(raw, digest_size=8).digest()


class NearIndex:
    """Sets of shingles; `nearest` finds an added set whose Jaccard similarity (MinHash
    estimate) is at least `threshold`."""

    def __init__(self, threshold: float, num_perm: int = 128) -> None:
        if not 0.0 < threshold <= 1.0:
            raise ValueError(f"a Jaccard threshold is in (0, 1], not {threshold}")
        self.threshold = threshold
        self.num_perm = num_perm
        # Made once: datasketch otherwise draws the permutations again for every MinHash.
        template = MinHash(num_perm=num_perm, seed=SEED)
        self._permutations, self._scheme = template.permutations, template.scheme
        self._lsh = MinHashLSH(threshold=threshold, num_perm=num_perm, hashfunc=_band_key)
        self._signatures: list[np.ndarray] = []

    def __len__(self) -> int:
        return len(self._signatures)

    def signature(self, shingles: Iterable[str]) -> MinHash:
        """The MinHash of a set of shingles."""
        minhash = MinHash(num_perm=self.num_perm, seed=SEED, permutations=self._permutations,
                          scheme=self._scheme)
        minhash.update_batch([s.encode() for s in set(shingles)])
        return minhash

    def nearest(self, minhash: MinHash) -> tuple[int, float] | None:
        """(index, similarity) of the most similar entry at or over the threshold, the
        earliest one on a tie; None when there is none."""
        candidates = self._lsh.query(minhash)
        if not candidates:
            return None
        values = minhash.hashvalues
        best: tuple[int, float] | None = None
        for index in sorted(candidates):
            similarity = float(np.count_nonzero(self._signatures[index] == values)) / self.num_perm
            if similarity >= self.threshold and (best is None or similarity > best[1]):
                best = (index, similarity)
        return best

    def add(self, minhash: MinHash) -> int:
        """Add an entry; returns its index (0, 1, ...)."""
        index = len(self._signatures)
        # 32-bit values (datasketch's affine32 scheme): 4 bytes a permutation.
        self._signatures.append(np.array(minhash.hashvalues, dtype=np.uint32))
        self._lsh.insert(index, minhash, check_duplication=False)
        return index
