"""A bounded memory of recent keys: what the desk remembers about the last mentions it saw.

Two generations of a dict: when the current one is full it becomes the previous one and the oldest is
dropped, so the last ``generation`` keys are always remembered and never more than twice that. Lookups
and inserts are O(1); nothing grows with the number of mentions seen.

A previous generation whose keys and values are all machine-sized ints (the judge's wave of each recent
mention, the pipeline's revision numbers) is kept as two sorted arrays rather than a dict: 16 bytes a
key instead of ~110 (the dict's slot, an int object for the key and one for the value), looked up by
binary search (O(log n), only for revisions). Any other value (a tuple of topic ids) keeps its dict.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Generic, TypeVar

import numpy as np

V = TypeVar("V")

DEDUPE_GENERATION = 65_536
_INT64 = (-(2**63), 2**63 - 1)


class FrozenInts:
    """A read-only int → int table in two sorted int64 arrays (``get`` as a dict's)."""

    __slots__ = ("_keys", "_values")

    def __init__(self, keys: np.ndarray, values: np.ndarray) -> None:
        order = np.argsort(keys, kind="stable")
        self._keys = keys[order]
        self._values = values[order]

    @classmethod
    def of(cls, table: Mapping[int, object]) -> FrozenInts | None:
        """The table frozen, or None when a key or value is not an int of 64 bits (``bool`` included:
        it would come back as an ``int``)."""
        lo, hi = _INT64
        for k, v in table.items():
            if type(k) is not int or type(v) is not int or not (lo <= k <= hi and lo <= v <= hi):
                return None
        n = len(table)
        keys = np.fromiter(table.keys(), dtype=np.int64, count=n)
        values = np.fromiter(table.values(), dtype=np.int64, count=n)
        return cls(keys, values)

    def get(self, key: int) -> int | None:
        if type(key) is not int or not (_INT64[0] <= key <= _INT64[1]):
            return None  # every key held is an int of 64 bits
        keys = self._keys
        i = int(np.searchsorted(keys, key))
        if i < len(keys) and keys[i] == key:
            return int(self._values[i])
        return None

    def __len__(self) -> int:
        return len(self._keys)


class RecentKeys(Generic[V]):
    """Recent keys (hashes) and a value for each, in bounded memory: two generations of dicts (the
    previous one in arrays when it maps ints to ints: ``FrozenInts``)."""

    def __init__(self, generation: int = DEDUPE_GENERATION) -> None:
        self.generation = generation
        self._current: dict[int, V] = {}
        self._previous: Mapping[int, V] | FrozenInts = {}

    def get(self, key: int) -> V | None:
        found = self._current.get(key)
        return self._previous.get(key) if found is None else found  # type: ignore[return-value]

    def put(self, key: int, value: V) -> None:
        if len(self._current) >= self.generation:
            current = self._current
            self._current = {}
            self._previous = {}  # the old previous goes before the new one is built
            self._previous = FrozenInts.of(current) or current
        self._current[key] = value

    def __len__(self) -> int:
        return len(self._current) + len(self._previous)
