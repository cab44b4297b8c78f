"""The scenario template language: how demo texts, handles and display names vary.

``{a|b|c}`` picks one alternative (one may be empty, and an alternative may hold fields), ``{word}``
picks from ``vocab.word``, ``{@account}`` is that fixed account's handle with its ``@``, ``{url:path}``
a fresh link under ``url_base/path/``, ``{d4}`` four random digits, ``{first}``/``{last}`` the author's
names and ``{f}``/``{l}`` their initials. Templates are compiled once; rendering draws only from the
rng it is given, so a seed always gives the same text.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import cast


class TemplateError(ValueError):
    """A template that cannot be compiled (says where and why)."""


# A compiled template is a tuple of parts: a literal str, or a callable(rng, ctx) -> str.
Part = str | Callable[[random.Random, Mapping[str, str]], str]

_DIGITS = re.compile(r"d([1-9][0-9]?)")
_CONTEXT_FIELDS = frozenset({"first", "last", "f", "l"})


@dataclass(frozen=True, slots=True)
class Template:
    source: str
    parts: tuple[Part, ...]

    def render(self, rng: random.Random, ctx: Mapping[str, str] | None = None) -> str:
        """Expand the template with ``rng`` (deterministic for a seeded rng)."""
        ctx = ctx or {}
        return "".join(p if isinstance(p, str) else p(rng, ctx) for p in self.parts)


def _choice(options: Sequence[tuple[Part, ...]]) -> Callable[[random.Random, Mapping[str, str]], str]:
    opts = tuple(options)
    if all(len(o) <= 1 and (not o or isinstance(o[0], str)) for o in opts):
        words = tuple(cast(str, o[0]) if o else "" for o in opts)  # plain alternatives: the common, fast case
        return lambda rng, _ctx: words[int(rng.random() * len(words))]

    def pick(rng: random.Random, ctx: Mapping[str, str]) -> str:
        parts = opts[int(rng.random() * len(opts))]
        return "".join(p if isinstance(p, str) else p(rng, ctx) for p in parts)

    return pick


def _words(words: Sequence[str]) -> Callable[[random.Random, Mapping[str, str]], str]:
    return _choice([(w,) for w in words])


def _digits(n: int) -> Callable[[random.Random, Mapping[str, str]], str]:
    top = 10**n
    return lambda rng, _ctx: f"{int(rng.random() * top):0{n}d}"


def _link(base: str) -> Callable[[random.Random, Mapping[str, str]], str]:
    alphabet = "abcdefghijkmnpqrstuvwxyz23456789"
    return lambda rng, _ctx: base + "".join(alphabet[int(rng.random() * 32)] for _ in range(8))


def _context(key: str) -> Callable[[random.Random, Mapping[str, str]], str]:
    return lambda _rng, ctx: ctx.get(key, "")


def compile_template(
    text: str,
    *,
    where: str,
    vocab: Mapping[str, tuple[str, ...]],
    handles: Mapping[str, str],
    url_base: str,
) -> Template:
    """Compile one template string; unknown fields and unbalanced braces are errors naming ``where``."""

    def fail(msg: str) -> TemplateError:
        return TemplateError(f"{where}: {msg} in template {text[:60]!r}")

    def field(name: str) -> Part:
        if name.startswith("@"):
            if name[1:] not in handles:
                raise fail(f"unknown account {name!r}")
            return "@" + handles[name[1:]]
        if name.startswith("url:"):
            return _link(f"{url_base}/{name[4:].strip('/')}/")
        if _DIGITS.fullmatch(name):
            return _digits(int(name[1:]))
        if name in _CONTEXT_FIELDS:
            return _context(name)
        if name in vocab:
            return _words(vocab[name])
        raise fail(f"unknown field {{{name}}}")

    def parse(i: int, depth: int) -> tuple[list[list[Part]], int]:
        """Parse from ``i`` to the closing brace (depth > 0) or the end; returns the alternatives."""
        alts: list[list[Part]] = [[]]
        buf: list[str] = []

        def flush() -> None:
            if buf:
                alts[-1].append("".join(buf))
                buf.clear()

        while i < len(text):
            c = text[i]
            if c == "{":
                flush()
                inner, i = parse(i + 1, depth + 1)
                if len(inner) > 1:
                    alts[-1].append(_choice([_merge(a) for a in inner]))
                else:
                    only = inner[0]
                    if not all(isinstance(p, str) for p in only):
                        raise fail("a field inside a field must be one of several choices")
                    alts[-1].append(field("".join(only)))  # type: ignore[arg-type]
                continue
            if c == "}":
                if depth == 0:
                    raise fail("unbalanced '}'")
                flush()
                return alts, i + 1
            if c == "|" and depth > 0:
                flush()
                alts.append([])
            else:
                buf.append(c)
            i += 1
        if depth > 0:
            raise fail("unclosed '{'")
        flush()
        return alts, i

    alts, _ = parse(0, 0)
    return Template(text, _merge(alts[0]))


def _merge(parts: Sequence[Part]) -> tuple[Part, ...]:
    """Join adjacent literals so rendering concatenates fewer pieces."""
    merged: list[Part] = []
    for p in parts:
        if isinstance(p, str) and merged and isinstance(merged[-1], str):
            merged[-1] += p
        else:
            merged.append(p)
    return tuple(merged)
