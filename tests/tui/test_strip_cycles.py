"""The wall's ``Strip.divide`` gives Textual's result and leaves no reference cycle behind."""

from __future__ import annotations

import gc

from hypothesis import given
from hypothesis import strategies as st
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip

from tocsin.tui import strip_cycles

strip_cycles.apply()

WORDS = st.lists(
    st.tuples(st.text(alphabet="abcé 漢😀", min_size=1, max_size=8), st.booleans()), min_size=1, max_size=6
)


def _strip(words: list[tuple[str, bool]]) -> Strip:
    return Strip([Segment(text, Style(bold=bold)) for text, bold in words])


def _text(strips: object) -> list[list[tuple[str, Style | None]]]:
    return [[(s.text, s.style) for s in strip] for strip in strips]  # type: ignore[attr-defined]


@given(WORDS, st.lists(st.integers(min_value=0, max_value=40), max_size=5))
def test_divide_gives_textuals_result_for_any_cuts(words: list[tuple[str, bool]], cuts: list[int]) -> None:
    strip = _strip(words)
    cuts = [*sorted(set(cuts)), strip.cell_length]
    ours = strip.divide(cuts)
    theirs = strip_cycles.textual_divide(_strip(words), cuts)
    assert _text(ours) == _text(theirs)
    assert [s.cell_length for s in ours] == [s.cell_length for s in theirs]


def test_an_uncut_line_is_freed_without_the_collector() -> None:
    """Textual's own divide keeps ``[self]`` in the strip's cache: a cycle only the collector frees."""

    def painted(divide: object) -> int:
        strip = _strip([("hello ", False), ("world", True)])
        assert divide(strip, [strip.cell_length]) == [strip]  # type: ignore[operator]
        return id(strip)

    def alive(strip_id: int) -> bool:
        return any(id(o) == strip_id for o in gc.get_objects() if type(o) is Strip)

    gc.disable()
    try:
        assert not alive(painted(Strip.divide))
        assert alive(painted(strip_cycles.textual_divide))  # the cycle this module exists for
    finally:
        gc.enable()
        gc.collect()
