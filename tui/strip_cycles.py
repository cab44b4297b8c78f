"""Textual's ``Strip.divide`` without the reference cycle it makes on every line it paints.

Each frame, Textual's compositor cuts every painted line with ``strip.divide(cuts)``. When the line is
not cut (the usual case: one widget across the cells), Textual 8.2 returns ``[self]`` and keeps that
list in the strip's own cache: the strip then refers to itself, so reference counting never frees it,
nor its segments and its seven caches. Only Python's cyclic collector does, once the strip has aged into
the oldest generation. At 5,000 mentions a second the wall made 35,000–55,000 such objects every eight
seconds, and each full collection freed them with the loop stopped for 80–120 ms: the worst key presses
(``tests/bench/test_e2e_bench.py``, the wall at 5,000/s) waited behind it.

``apply()`` wraps ``Strip.divide`` so that an uncut line is returned without being cached (the cache
would only have held the strip itself); every other cut goes to Textual's own method, cache included.
A wall applies it when it is built (``WallApp``; applying it again changes nothing).
``tests/tui/test_strip_cycles.py`` checks that the result is Textual's for any cuts, and that a painted
line is freed without the collector.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from textual.strip import Strip

_textual_divide = Strip.divide


def _divide(self: Strip, cuts: Iterable[int]) -> Sequence[Strip]:
    cell_length = self.cell_length
    kept = [cut for cut in cuts if cut <= cell_length]  # as Textual does, before its cache
    if kept == [cell_length]:
        return [self]
    return _textual_divide(self, kept)


def apply() -> None:
    """Use the cycle-free ``divide`` (idempotent)."""
    Strip.divide = _divide  # type: ignore[method-assign]


def textual_divide(strip: Strip, cuts: Iterable[int]) -> Sequence[Strip]:
    """Textual's own ``divide`` (for tests comparing the two)."""
    return _textual_divide(strip, cuts)
