"""A bounded memory of recent keys: what the desk remembers about the last mentions it saw.

Two generations of a dict: when the current one is full it becomes the previous one and the oldest is
dropped, so the last ``generation`` keys are always remembered and never more than twice that. Lookups
and inserts are O(1); nothing grows with the number of mentions seen.
"""

from __future__ import annotations

from typing import Generic, TypeVar

V = TypeVar("V")

DEDUPE_GENERATION = 65_536


class RecentKeys(Generic[V]):
    """Recent keys (hashes) and a value for each, in bounded memory: two generations of dicts."""

    def __init__(self, generation: int = DEDUPE_GENERATION) -> None:
        self.generation = generation
        self._current: dict[int, V] = {}
        self._previous: dict[int, V] = {}

    def get(self, key: int) -> V | None:
        found = self._current.get(key)
        return self._previous.get(key) if found is None else found

    def put(self, key: int, value: V) -> None:
        if len(self._current) >= self.generation:
            self._previous = self._current
            self._current = {}
        self._current[key] = value

    def __len__(self) -> int:
        return len(self._current) + len(self._previous)
