"""The dedupe memory (``RecentKeys``): bounded, and its int → int generations kept in arrays."""

from __future__ import annotations

import random

from tocsin.scoring.recent import FrozenInts, RecentKeys


def test_an_int_table_reads_the_same_frozen_as_in_a_dict():
    rng = random.Random(7)
    generation = 1000
    compact: RecentKeys[int] = RecentKeys(generation=generation)
    plain: list[dict[int, int]] = [{}, {}]  # the two generations, as dicts
    keys = [hash(("replay", f"r{i}")) for i in range(5000)] + [0, -1, 2**63 - 1, -(2**63)]
    for i, key in enumerate(keys):
        if len(plain[1]) >= generation:
            plain = [plain[1], {}]
        plain[1][key] = i if i % 3 else -rng.randrange(2**63)
        compact.put(key, plain[1][key])
        if i % 97 == 0:
            for probe in [*rng.sample(keys[: i + 1], min(50, i + 1)), 12345, 2**70, -(2**70)]:
                expected = plain[1].get(probe)
                expected = plain[0].get(probe) if expected is None else expected
                assert compact.get(probe) == expected
    assert isinstance(compact._previous, FrozenInts)
    assert len(compact) == len(plain[0]) + len(plain[1])


def test_other_values_keep_their_dict():
    keys: RecentKeys[object] = RecentKeys(generation=10)
    for i in range(25):
        keys.put(i, True if i % 2 else ("brioche",))  # a bool is not frozen: it would come back as 1
    assert isinstance(keys._previous, dict)
    assert keys.get(15) is True and keys.get(14) == ("brioche",)
    big: RecentKeys[int] = RecentKeys(generation=10)
    for i in range(25):
        big.put(i, 2**64 + i)  # wider than an int64: stays in a dict
    assert isinstance(big._previous, dict) and big.get(12) == 2**64 + 12


def test_frozen_ints_lookups():
    table = FrozenInts.of({5: 50, -3: 30, 2**62: 7})
    assert table is not None
    assert [table.get(k) for k in (5, -3, 2**62, 4, 2**64, -(2**64))] == [50, 30, 7, None, None, None]
    assert FrozenInts.of({1: "x"}) is None and FrozenInts.of({"x": 1}) is None
    empty = FrozenInts.of({})
    assert empty is not None and empty.get(1) is None and len(empty) == 0
