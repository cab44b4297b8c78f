"""The display boundary fuzzed (issue 10): whatever Unicode a mention brings — controls, escapes, bidi,
zero-width, lone surrogates, combining floods, markup — ``safe_text`` gives text that is bounded, can be
encoded for the terminal, holds nothing the terminal would act on, and is never parsed as markup."""

from __future__ import annotations

import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from tocsin.tui import safe_text

hostile_pieces = st.one_of(
    st.characters(codec=None, categories=None),  # everything, surrogates and controls included
    st.sampled_from(["\x1b", "\x9b", "\x07", "\u202e", "\u200b", "\ufeff", "[", "]", "[@click=app.quit]",
                     "$", "\u0301", "\n", "\r", "\u2028", "\x00", "\x1b]0;pwned\x07", "\x1b[2J"]),
)  # fmt: skip
hostile_text = st.lists(hostile_pieces, max_size=80).map("".join)


def assert_displayable(out: str, max_len: int, *, multiline: bool = False) -> None:
    assert len(out) <= max_len
    out.encode("utf-8")  # a lone surrogate would raise here, as the terminal writer would
    for ch in out:
        category = unicodedata.category(ch)
        assert category not in ("Cc", "Cf", "Cs", "Zl", "Zp") or (multiline and ch == "\n"), repr(ch)


@given(hostile_text, st.integers(min_value=1, max_value=120))
def test_fuzz_clean_gives_bounded_displayable_text(s: str, max_len: int) -> None:
    assert_displayable(safe_text.clean(s, max_len), max_len)
    assert_displayable(safe_text.clean(s, max_len, multiline=True), max_len, multiline=True)


@given(hostile_text)
def test_fuzz_builders_keep_the_text_literal(s: str) -> None:
    shown = safe_text.clean(s)
    assert safe_text.content(s).plain == shown  # markup characters stay characters
    assert safe_text.text(s).plain == shown
    assert safe_text.fill("[b]$who[/] said", who=s).plain == f"{shown} said"
    assert safe_text.handle_str(s).startswith("@") or safe_text.handle_str(s) == "(anonymous)"
    safe_text.fold(s).encode("utf-8")
