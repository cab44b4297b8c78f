"""Words about alert outputs that the config checks and the desk share: each output's id, which outputs
are local to the desk's machine, and quiet hours (``HH:MM-HH:MM`` in the desk's time zone)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, tzinfo

from tocsin.config.settings import AlertSettings

LOCAL_TYPES = ("bell", "desktop")
"""Outputs of this desk's own screen and machine: delivered at once, not through the outbox."""


def output_ids(targets: Sequence[AlertSettings]) -> list[str]:
    """Each output's id: its own, else its type (numbered from the second of a type: ``email-2``)."""
    seen: dict[str, int] = {}
    out = []
    for t in targets:
        if t.id:
            out.append(t.id)
            continue
        seen[t.type] = seen.get(t.type, 0) + 1
        out.append(t.type if seen[t.type] == 1 else f"{t.type}-{seen[t.type]}")
    return out


def in_quiet_hours(spec: str | None, at: datetime, tz: tzinfo) -> bool:
    """Whether desk time ``at`` falls in ``HH:MM-HH:MM`` (local; may wrap past midnight)."""
    if not spec:
        return False
    start, end = (_minutes(p) for p in spec.split("-", 1))
    local = at.astimezone(tz)
    now = local.hour * 60 + local.minute
    return start <= now < end if start <= end else (now >= start or now < end)


def _minutes(text: str) -> int:
    hours, minutes = text.strip().split(":")
    return int(hours) * 60 + int(minutes)


def parse_quiet_hours(spec: str) -> str | None:
    """None when ``spec`` is a valid ``HH:MM-HH:MM``, else what is wrong (for check-config)."""
    parts = spec.split("-")
    if len(parts) != 2:
        return "expected HH:MM-HH:MM, like 22:00-07:00"
    for p in parts:
        bits = p.strip().split(":")
        ok = len(bits) == 2 and all(b.isdigit() for b in bits)
        if not ok or not (0 <= int(bits[0]) < 24 and 0 <= int(bits[1]) < 60):
            return f"expected HH:MM-HH:MM, like 22:00-07:00 ({p.strip()!r} is not a time of day)"
    if _minutes(parts[0]) == _minutes(parts[1]):
        return "starts and ends at the same time"
    return None
