"""Load settings from YAML into the typed dataclasses of ``tocsin.config.settings``, with clear errors.

Every problem is reported, not only the first, as ``FILE:LINE: key.path: message``. The loader is
generic: it walks the dataclasses' type hints, so a new settings dataclass, or a new source type
registered in ``SOURCE_TYPES``, needs no change here. A settings dataclass whose ``__post_init__``
raises ``ValueError`` gets that message reported as a problem at the line of its mapping.

``${VAR}`` and ``${VAR:-default}`` are replaced from the environment inside string values (``$${``
writes a literal ``${``). A value that came from the environment is never echoed in a message: it may
be a secret.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import os
import re
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from importlib import resources
from pathlib import Path
from typing import Any, Literal, cast

import platformdirs
import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from tocsin.config import settings as S
from tocsin.config.checks import CHECKS, did_you_mean, quote

__all__ = [
    "ConfigError",
    "ConfigProblem",
    "check_config",
    "load_default",
    "load_settings",
    "parse_duration",
    "user_config_path",
    "with_demo_speed",
]

TOP_LEVEL = "(top level)"

_YAML = "tag:yaml.org,2002:"
_NULL, _STR, _MERGE = _YAML + "null", _YAML + "str", _YAML + "merge"
# Scalars YAML would turn into bools, numbers or dates but that a text field takes as written
# (``languages: [no]`` is Norwegian, not False).
_TEXT_LIKE = {_YAML + t for t in ("bool", "int", "float", "timestamp")}
_DURATION_HINT = "a duration like 90s, 10m, 8h"
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)\s*([smhd])")
_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_ID = re.compile(r"\w[\w.-]*")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_INVALID: Any = object()  # a value that could not be built; its problem is already reported

# Base classes whose concrete dataclass is chosen by a key of the mapping: base → (key, registry, noun).
_POLYMORPHIC: dict[type, tuple[str, Callable[[], Mapping[str, type]], str]] = {
    S.SourceSettings: ("type", lambda: S.SOURCE_TYPES, "source type"),
}
# Fields filled by the loader itself, never from the file.
_NOT_FROM_FILE = {(S.Settings, "path")}


@dataclass(frozen=True)
class ConfigProblem:
    """One thing wrong with a settings file, printed as ``FILE:LINE: key.path: message``."""

    file: str
    line: int
    key: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.key}: {self.message}"


class ConfigError(Exception):
    """A settings file that cannot be used; ``problems`` lists everything wrong with it."""

    def __init__(self, problems: list[ConfigProblem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


# --- public API ---------------------------------------------------------------------------------


def load_settings(path: Path, *, env: Mapping[str, str] | None = None, preflight: bool = False) -> S.Settings:
    """Load and validate a settings file; raise ``ConfigError`` listing every problem. With
    ``preflight``, also what the run needs from this machine (files, ports, the journal path)."""
    settings, problems = _load_file(Path(path), os.environ if env is None else env, preflight)
    if problems or settings is None:
        raise ConfigError(problems)
    return settings


def check_config(
    path: Path, *, env: Mapping[str, str] | None = None, machine: bool = True
) -> list[ConfigProblem]:
    """Every problem in a settings file (empty when it is good), sorted by line: the rules of the
    file and (with ``machine``) what a run of it needs from this machine, so a config that passes
    also starts. Without ``machine``: the file alone, as for a template meant for another machine."""
    return _load_file(Path(path), os.environ if env is None else env, machine)[1]


def load_default() -> S.Settings:
    """The embedded default: the bundled demo storm of the fictional brand Maison Brioche."""
    resource = resources.files("tocsin.config").joinpath("default.yaml")
    settings, problems = _load_text(resource.read_text(encoding="utf-8"), str(resource), os.environ)
    if problems or settings is None:
        raise ConfigError(problems)
    return dataclasses.replace(settings, path=None)


def user_config_path() -> Path:
    """Where the user's settings live: ``$TOCSIN_CONFIG`` if set, else the platform config dir."""
    override = os.environ.get("TOCSIN_CONFIG")
    if override:
        return Path(override).expanduser()
    return platformdirs.user_config_path("tocsin") / "config.yaml"


def resolve_settings(path: Path | None = None, *, preflight: bool = False) -> S.Settings:
    """The settings a command runs on: ``path`` if given, else the user's config (``$TOCSIN_CONFIG`` or the
    platform config dir) if it exists, else the embedded default. Raises ``ConfigError`` for a bad file,
    a missing ``path`` or a ``$TOCSIN_CONFIG`` naming a file that is not there."""
    if path is None:
        path = user_config_path()
        if not path.exists() and not os.environ.get("TOCSIN_CONFIG"):
            return load_default()
    return load_settings(path, preflight=preflight)


def with_demo_speed(settings: S.Settings, speed: float) -> S.Settings:
    """The same settings with every demo source playing at ``speed`` (1 = the storm in ~10 minutes)."""
    if not (math.isfinite(speed) and speed > 0):
        raise ValueError(f"demo speed must be a positive number, got {speed!r}")
    sources = tuple(
        dataclasses.replace(s, speed=speed) if isinstance(s, S.DemoSourceSettings) else s
        for s in settings.sources
    )
    return dataclasses.replace(settings, sources=sources)


def parse_duration(value: str | float | timedelta) -> timedelta:
    """``90s``, ``10m``, ``8h``, ``7d``, ``1h30m`` or a number of seconds → ``timedelta`` (never negative)."""
    parsed = _duration(value)
    if parsed is None:
        raise ValueError(f"expected {_DURATION_HINT}, got {value!r}")
    return parsed


# --- reading ------------------------------------------------------------------------------------


def _load_file(
    path: Path, env: Mapping[str, str], preflight: bool = False
) -> tuple[S.Settings | None, list[ConfigProblem]]:
    file = str(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None, [ConfigProblem(file, 1, "(file)", "no such file")]
    except IsADirectoryError:
        return None, [ConfigProblem(file, 1, "(file)", "is a directory, not a settings file")]
    except OSError as exc:
        return None, [ConfigProblem(file, 1, "(file)", f"cannot read: {exc.strerror or exc}")]
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        return None, [ConfigProblem(file, line, "(file)", "not UTF-8 text")]
    settings, problems = _load_text(text, file, env, preflight)
    if settings is not None:
        settings = dataclasses.replace(settings, path=file)
    return settings, problems


def _load_text(
    text: str, file: str, env: Mapping[str, str], preflight: bool = False
) -> tuple[S.Settings | None, list[ConfigProblem]]:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except RecursionError:
        return None, [ConfigProblem(file, 1, "(yaml)", _TOO_DEEP)]
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = exc.problem or exc.context or "invalid YAML"
        if exc.context and exc.problem:
            where = f" at line {exc.context_mark.line + 1}" if exc.context_mark else ""
            message = f"{exc.problem} ({exc.context}{where})"
        return None, [ConfigProblem(file, mark.line + 1 if mark else 1, "(yaml)", message)]
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        char = exc.character if isinstance(exc.character, int) else ord(exc.character)
        return None, [ConfigProblem(file, line, "(yaml)", f"control character #x{char:02x} is not allowed")]
    except yaml.YAMLError as exc:  # any other parser complaint, still one line
        return None, [ConfigProblem(file, 1, "(yaml)", str(exc).splitlines()[0])]
    builder = _Builder(file, env)
    try:
        settings = S.Settings() if root is None else builder.build(root, S.Settings, "")
    except RecursionError:
        return None, [ConfigProblem(file, 1, "(yaml)", _TOO_DEEP)]
    if preflight and not builder.problems and settings is not _INVALID:
        from tocsin.config.preflight import preflight as check_machine

        check_machine(settings, lambda key, message: builder.problem(builder.line_of(key), key, message))
    problems = sorted(builder.problems, key=lambda p: p.line)  # stable: same line keeps discovery order
    return (None if settings is _INVALID or problems else settings), problems


_SECRET_KEYS = frozenset({"secret", "routing_key", "api_key", "token", "password"})
"""Alert keys whose value must come from ``${VAR}`` (``checks._check_alert`` tells by the mark)."""

_TOO_DEEP = "nested too deeply to be a tocsin settings file (its deepest key is a few levels down)"


# --- building dataclasses from YAML nodes -------------------------------------------------------


class _FromEnv(str):
    """Text that holds environment values: messages name the variables, never the value."""

    names: tuple[str, ...] = ()


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _line(node: Node) -> int:
    return node.start_mark.line + 1


def _got(node: Node, value: Any = None) -> str:
    """The value as the user wrote it, for ``…, got X`` (never an environment value)."""
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    if isinstance(value, _FromEnv):
        return "the value of " + " and ".join(f"${{{n}}}" for n in value.names)
    if node.tag == _NULL:
        return "nothing"
    if node.tag == _STR:
        return quote(value if isinstance(value, str) else node.value)
    return str(node.value)


def _expected(tp: Any) -> str:
    """How a type reads in a message: ``expected <this>``."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_expected(a) for a in typing.get_args(tp) if a is not type(None))
    if origin is Literal:
        return "one of: " + ", ".join(str(a) for a in typing.get_args(tp))
    if origin is tuple:
        return "a list"
    if origin is dict or dataclasses.is_dataclass(tp):
        return "a mapping"
    names = {str: "a string", int: "an integer", float: "a number", bool: "true or false"}
    return names.get(tp, _DURATION_HINT if tp is timedelta else getattr(tp, "__name__", str(tp)))


def _duration(value: Any) -> timedelta | None:
    if isinstance(value, timedelta):
        return value if value >= timedelta(0) else None
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip().lower()
        if re.fullmatch(r"\d+(\.\d*)?|\.\d+", text):
            seconds = float(text)
        elif text and re.fullmatch(rf"(?:{_DURATION_PART.pattern}\s*)+", text):
            seconds = sum(float(n) * _DURATION_UNITS[u] for n, u in _DURATION_PART.findall(text))
        else:
            return None
    else:
        return None
    try:
        return timedelta(seconds=seconds) if math.isfinite(seconds) and seconds >= 0 else None
    except OverflowError:
        return None


def _to_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"\s*[+-]?\d+\s*", value):
        return int(value)
    return None


def _to_float(value: Any) -> float | None:
    number: float | None = None
    try:
        if isinstance(value, int | float) and not isinstance(value, bool):
            number = float(value)
        elif isinstance(value, str):
            number = float(value)
    except (ValueError, OverflowError):
        return None
    return number if number is not None and math.isfinite(number) else None


def _to_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return {"true": True, "yes": True, "on": True, "false": False, "no": False, "off": False}.get(
            value.strip().lower()
        )
    return None


_CONVERTERS: dict[Any, Callable[[Any], Any]] = {
    int: _to_int,
    float: _to_float,
    bool: _to_bool,
    timedelta: _duration,
}


class _Builder:
    """Walks a YAML node tree against a type, collecting problems instead of stopping at the first."""

    def __init__(self, file: str, env: Mapping[str, str]) -> None:
        self.file = file
        self.env = env
        self.problems: list[ConfigProblem] = []
        self.lines: dict[str, int] = {}  # key path → line, for checks that run after building
        self._active: set[int] = set()  # collection nodes being built (aliases can loop)
        self._constructor = yaml.constructor.SafeConstructor()

    def problem(self, line: int, path: str, message: str) -> None:
        self.problems.append(ConfigProblem(self.file, line, path or TOP_LEVEL, message))

    def line_of(self, path: str) -> int:
        """The line of a key path, or of its nearest ancestor present in the file."""
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[: max(path.rfind("."), path.rfind("["), 0)]
        return self.lines.get("", 1)

    def build(self, node: Node, tp: Any, path: str) -> Any:
        """The value of ``node`` as type ``tp``, or ``_INVALID`` once its problems are reported."""
        self.lines.setdefault(path, _line(node))
        if not isinstance(node, ScalarNode):
            if id(node) in self._active:
                self.problem(_line(node), path, "refers to itself through an alias")
                return _INVALID
            self._active.add(id(node))
        try:
            return self._build(node, tp, path)
        finally:
            self._active.discard(id(node))

    def _build(self, node: Node, tp: Any, path: str) -> Any:
        origin = typing.get_origin(tp)
        if origin in (typing.Union, types.UnionType):
            return self._union(node, tp, path)
        if origin is tuple:
            return self._tuple(node, tp, path)
        if origin is dict:
            return self._dict(node, tp, path)
        if isinstance(tp, type) and dataclasses.is_dataclass(tp):
            return self._dataclass(node, tp, path)
        if origin is Literal or tp in _CONVERTERS or tp is str:
            return self._scalar(node, tp, path)
        raise TypeError(f"the settings loader cannot build {tp!r} (at {path or TOP_LEVEL})")

    def _fail(self, node: Node, tp: Any, path: str, value: Any = None, extra: str = "") -> Any:
        self.problem(_line(node), path, f"expected {_expected(tp)}, got {_got(node, value)}{extra}")
        return _INVALID

    # scalars

    def _scalar(self, node: Node, tp: Any, path: str) -> Any:
        if not isinstance(node, ScalarNode):
            return self._fail(node, tp, path)
        if tp is str and node.tag in _TEXT_LIKE:
            return node.value
        if node.tag == _STR:
            value = self._interpolate(node, path)
            if value is _INVALID:
                return _INVALID
        elif node.tag == _NULL:
            value = None
        else:
            try:
                value = self._constructor.construct_object(node)
            except yaml.YAMLError:
                self.problem(_line(node), path, f"unsupported YAML tag {node.tag!r}")
                return _INVALID
        if typing.get_origin(tp) is Literal:
            choices = [str(a) for a in typing.get_args(tp)]
            text = node.value if node.tag in _TEXT_LIKE else value
            if isinstance(text, str) and text in choices:
                return typing.get_args(tp)[choices.index(text)]
            hint = (
                did_you_mean(text, choices)
                if isinstance(text, str) and not isinstance(text, _FromEnv)
                else ""
            )
            return self._fail(node, tp, path, value, hint)
        if tp is str:
            if isinstance(value, _FromEnv) and path.rsplit(".", 1)[-1] in _SECRET_KEYS:
                return value  # stays marked: checks tell a secret from the environment from one in the file
            return str(value) if isinstance(value, str) else self._fail(node, tp, path, value)
        converted = _CONVERTERS[tp](value)
        if converted is None:
            if tp is timedelta and _to_float(value) is not None:  # a number, but negative
                self.problem(_line(node), path, "a duration cannot be negative")
                return _INVALID
            return self._fail(node, tp, path, value)
        return converted

    def _interpolate(self, node: ScalarNode, path: str) -> Any:
        text, out, used, i = node.value, [], [], 0
        while (j := text.find("$", i)) >= 0:
            out.append(text[i:j])
            if text.startswith("$${", j):
                out.append("${")
                i = j + 3
                continue
            if not text.startswith("${", j):
                out.append("$")
                i = j + 1
                continue
            end = text.find("}", j)
            if end < 0:
                self.problem(_line(node), path, "'${' without a closing '}' (write $${ for a literal ${)")
                return _INVALID
            name, has_default, default = text[j + 2 : end].partition(":-")
            if not _ENV_NAME.fullmatch(name):
                self.problem(
                    _line(node), path, f"{quote(text[j : end + 1])} is not a ${{VARIABLE}} reference"
                )
                return _INVALID
            value = self.env.get(name)
            if has_default and not value:  # like the shell: the default also covers an empty variable
                value = default
            elif value is None:
                self.problem(_line(node), path, f"environment variable {name} is not set")
                return _INVALID
            else:
                used.append(name)
            out.append(value)
            i = end + 1
        out.append(text[i:])
        if not used:
            return "".join(out)
        result = _FromEnv("".join(out))
        result.names = tuple(dict.fromkeys(used))
        return result

    # combinations

    def _union(self, node: Node, tp: Any, path: str) -> Any:
        args = typing.get_args(tp)
        if isinstance(node, ScalarNode) and node.tag == _NULL and type(None) in args:
            return None
        choices = [a for a in args if a is not type(None)]
        if len(choices) == 1:
            return self.build(node, choices[0], path)
        for choice in choices:  # the first that fits, without keeping the misfits' complaints
            mark = len(self.problems)
            value = self.build(node, choice, path)
            if value is not _INVALID:
                return value
            del self.problems[mark:]
        return self._fail(node, tp, path)

    def _tuple(self, node: Node, tp: Any, path: str) -> Any:
        args = typing.get_args(tp)
        if isinstance(node, ScalarNode) and node.tag == _NULL:
            return ()
        if not isinstance(node, SequenceNode):
            return self._fail(node, tp, path)
        fixed = not (len(args) == 2 and args[1] is Ellipsis)
        if fixed and len(node.value) != len(args):
            self.problem(_line(node), path, f"expected a list of {len(args)} items, got {len(node.value)}")
            return _INVALID
        items = [
            (i, self.build(item, args[i] if fixed else args[0], f"{path}[{i}]"))
            for i, item in enumerate(node.value)
        ]
        if (
            not fixed
            and isinstance(args[0], type)
            and dataclasses.is_dataclass(args[0])
            and "id" in _hints(args[0])
        ):
            self._check_unique_ids(node, path)
        return _INVALID if any(v is _INVALID for _, v in items) else tuple(v for _, v in items)

    def _check_unique_ids(self, node: SequenceNode, path: str) -> None:
        """Ids in a list of mappings are unique (read from the nodes: an item with other errors counts)."""
        first: dict[str, int] = {}
        for i, item in enumerate(node.value):
            ids = [v for k, v in item.value if k.value == "id"] if isinstance(item, MappingNode) else []
            if not ids or not isinstance(ids[0], ScalarNode) or ids[0].tag == _NULL:
                continue
            item_id = ids[0].value
            if item_id in first:
                self.problem(
                    _line(ids[0]),
                    f"{path}[{i}].id",
                    f"duplicate id {quote(item_id)} (already used at line {first[item_id]})",
                )
            else:
                first[item_id] = _line(ids[0])

    def _items(self, node: MappingNode, path: str) -> list[tuple[str, Node, Node]]:
        """Key, key node, value node; ``<<`` merges expanded; duplicate keys reported."""
        own: dict[str, tuple[Node, Node]] = {}
        merged: dict[str, tuple[Node, Node]] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                for part in value_node.value if isinstance(value_node, SequenceNode) else [value_node]:
                    if not isinstance(part, MappingNode):
                        self.problem(_line(part), path, f"'<<' merges a mapping, got {_got(part)}")
                        continue
                    for key, k, v in self._items(part, path):
                        merged.setdefault(key, (k, v))
                continue
            if not isinstance(key_node, ScalarNode):
                self.problem(_line(key_node), path, f"a key must be a plain name, got {_got(key_node)}")
                continue
            key = key_node.value
            if key in own:
                first = _line(own[key][0])
                self.problem(
                    _line(key_node), _join(path, key), f"duplicate key (first given at line {first})"
                )
                continue
            own[key] = (key_node, value_node)
        return [(key, k, v) for key, (k, v) in (merged | own).items()]

    def _dict(self, node: Node, tp: Any, path: str) -> Any:
        key_tp, value_tp = typing.get_args(tp)
        if isinstance(node, ScalarNode) and node.tag == _NULL:
            return {}
        if not isinstance(node, MappingNode):
            return self._fail(node, tp, path)
        if key_tp is not str:
            raise TypeError(f"the settings loader only builds dicts keyed by str (at {path})")
        out = {
            key: self.build(value, value_tp, _join(path, key)) for key, _, value in self._items(node, path)
        }
        return _INVALID if _INVALID in out.values() else out

    def _dataclass(self, node: Node, cls: type, path: str) -> Any:
        empty = isinstance(node, ScalarNode) and node.tag == _NULL  # `section:` with nothing = defaults
        if not (empty or isinstance(node, MappingNode)) or (
            empty and any(map(_required, dataclasses.fields(cls)))
        ):
            return self._fail(node, cls, path)
        items = [] if empty else self._items(cast(MappingNode, node), path)
        if cls in _POLYMORPHIC:
            cls = self._dispatch(cls, items, node, path)
            if cls is _INVALID:
                return _INVALID
        fields = {
            f.name: f for f in dataclasses.fields(cls) if f.init and (cls, f.name) not in _NOT_FROM_FILE
        }
        hints = _hints(cls)
        kwargs: dict[str, Any] = {}
        ok = True
        for key, key_node, value_node in items:
            if key not in fields:
                expected = ", ".join(fields)
                self.problem(
                    _line(key_node),
                    _join(path, key),
                    f"unknown key {key!r} (expected one of: {expected}){did_you_mean(key, list(fields))}",
                )
                continue
            value = self.build(value_node, hints[key], _join(path, key))
            if value is _INVALID:
                ok = False
            else:
                kwargs[key] = value
        given = {key for key, _, _ in items}
        for name, f in fields.items():
            if _required(f) and name not in given:
                self.problem(_line(node), path, f"missing required key {name!r}")
                ok = False
        if not ok:
            return _INVALID
        try:
            value = cls(**kwargs)
        except ValueError as exc:  # a dataclass's own __post_init__ check
            self.problem(_line(node), path, str(exc))
            return _INVALID
        return self._finish(value, node, path)

    def _dispatch(self, base: type, items: list[tuple[str, Node, Node]], node: Node, path: str) -> Any:
        key, registry, noun = _POLYMORPHIC[base]
        found = [v for k, _, v in items if k == key]
        if not found:
            self.problem(_line(node), path, f"missing required key {key!r}")
            return _INVALID
        choices = registry()
        kind = found[0].value if isinstance(found[0], ScalarNode) else None
        if isinstance(kind, str) and kind in choices:
            return choices[kind]
        names = sorted(choices)
        hint = did_you_mean(kind, names) if isinstance(kind, str) else ""
        shown = quote(kind) if isinstance(kind, str) else _got(found[0])
        self.problem(
            _line(found[0]),
            _join(path, key),
            f"unknown {noun} {shown} (expected one of: {', '.join(names)}){hint}",
        )
        return _INVALID

    def _finish(self, value: Any, node: Node, path: str) -> Any:
        """Run the checks that need a whole object; invalid when they find anything."""
        mark = len(self.problems)
        item_id = getattr(value, "id", None)
        if isinstance(item_id, str) and not _ID.fullmatch(item_id):
            self.problem(
                self.line_of(_join(path, "id")),
                _join(path, "id"),
                f"an id is letters, digits, '-', '_' or '.', got {quote(item_id)}",
            )
        for cls in type(value).__mro__:
            check = CHECKS.get(cls)
            if check is not None:
                check(
                    value,
                    lambda key, message: self.problem(
                        self.line_of(_join(path, key) if key else path),
                        _join(path, key) if key else path,
                        message,
                    ),
                )
        return value if len(self.problems) == mark else _INVALID


def _required(f: dataclasses.Field[Any]) -> bool:
    return f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
