"""The wall's key bindings in the desk's language.

Textual builds each widget class's bindings once, when the class is defined (``_merged_bindings``),
and every instance, the key bar and the help screen read their descriptions from there. So when the
desk's language changes (``tocsin.config.i18n.use``), the classes of the wall get their bindings rebuilt
from their own ``BINDINGS`` (English, marked with ``N_``) with each description translated: one place,
instead of a ``_()`` at every spot that shows a key.
"""

from __future__ import annotations

from dataclasses import replace

from textual.binding import BindingsMap
from textual.dom import DOMNode

from tocsin.config.i18n import _, on_change


def _classes(root: type[DOMNode]) -> list[type[DOMNode]]:
    out: list[type[DOMNode]] = []
    for cls in root.__subclasses__():
        out.append(cls)
        out += _classes(cls)
    return out


def _translated(bindings: BindingsMap) -> BindingsMap:
    spoken = BindingsMap()
    spoken.key_to_bindings = {
        key: [
            replace(
                b,
                description=_(b.description) if b.description else b.description,
                tooltip=_(b.tooltip) if b.tooltip else b.tooltip,
            )
            for b in key_bindings
        ]
        for key, key_bindings in bindings.key_to_bindings.items()
    }
    return spoken


def localize_bindings() -> None:
    """Rebuild the bindings of the desk's own widget and screen classes in the desk's language (only
    instances made afterwards see them: the commands choose the language before the wall is built)."""
    for cls in _classes(DOMNode):
        if cls.__module__.startswith("tocsin."):
            cls._merged_bindings = _translated(cls._merge_bindings())


on_change(localize_bindings)
