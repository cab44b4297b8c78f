"""The fixed JSON Lines forms of headless mode (ARCHITECTURE.md), as checks shared by the tests."""

from __future__ import annotations

import json
import re
from typing import Any

ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z$")
LABELS = {"negative", "neutral", "positive", "unscored"}
LEVELS = {"calm", "watch", "alert", "crisis"}
TIERS = {None, "nano", "micro", "mid", "macro", "mega"}
STATES = {"connecting", "live", "reconnecting", "failed", "finished", "stopped"}


def _count(value: Any) -> bool:
    return value is None or (isinstance(value, int) and not isinstance(value, bool) and value >= 0)


def check_mention(obj: dict[str, Any]) -> None:
    assert obj["type"] == "mention"
    assert isinstance(obj["uid"], str) and obj["uid"]
    assert isinstance(obj["source"], str)
    assert obj["url"] is None or isinstance(obj["url"], str)
    assert ISO_Z.match(obj["created_at"]), obj["created_at"]
    assert isinstance(obj["text"], str)
    assert obj["lang"] is None or isinstance(obj["lang"], str)
    assert isinstance(obj["hashtags"], list) and all(isinstance(t, str) for t in obj["hashtags"])
    a = obj["author"]
    assert isinstance(a["handle"], str)
    assert a["name"] is None or isinstance(a["name"], str)
    for key in ("followers", "following", "posts"):
        assert _count(a[key]), (key, a[key])
    assert a["created_at"] is None or ISO_Z.match(a["created_at"])
    for key in ("verified", "bot"):
        assert a[key] is None or isinstance(a[key], bool)
    e = obj["engagement"]
    assert set(e) >= {"replies", "reposts", "likes"} and all(_count(e[k]) for k in e)
    assert isinstance(obj["topics"], list) and obj["topics"]
    assert all(isinstance(t, str) for t in obj["topics"])
    s = obj["scores"]["sentiment"]
    assert s["label"] in LABELS
    assert isinstance(s["score"], (int, float)) and 0 <= s["score"] <= 1
    assert isinstance(s["engine"], str)
    influence, bot = obj["scores"].get("influence"), obj["scores"].get("bot")
    if influence is not None:  # a deletion notice carries no judgement
        assert isinstance(influence["score"], int) and 0 <= influence["score"] <= 100
        assert influence["tier"] in TIERS
        assert 0 <= bot["score"] <= 1 and all(isinstance(r, str) for r in bot["reasons"])
    if "cluster" in obj["scores"]:
        assert set(obj["scores"]["cluster"]) == {"id", "size", "authors"}


def check_snapshot(obj: dict[str, Any], topics: set[str], sources: set[str]) -> None:
    assert obj["type"] == "snapshot"
    assert ISO_Z.match(obj["at"])
    assert set(obj["topics"]) == topics
    for t in obj["topics"].values():
        assert isinstance(t["rate_per_min"], (int, float)) and t["rate_per_min"] >= 0
        assert t["baseline_per_min"] is None or isinstance(t["baseline_per_min"], (int, float))
        assert isinstance(t["mentions"], int) and t["mentions"] >= 0
        assert isinstance(t["unique_authors"], int) and t["unique_authors"] >= 0
        shares = t["sentiment"]
        assert set(shares) == {"negative", "neutral", "positive"}
        assert all(0 <= v <= 1 for v in shares.values())
        assert t["level"] in LEVELS
        assert isinstance(t["reasons"], list) and all(isinstance(r, str) for r in t["reasons"])
        assert t["level_since"] is None or ISO_Z.match(t["level_since"])
        assert 0 <= t["anomaly"] <= 1 and 0 <= t["copy_paste_share"] <= 1
        assert t["surprise"] is None or isinstance(t["surprise"], str)
        for row in t["influencers"]:
            assert isinstance(row["handle"], str) and row["tier"] in TIERS and 0 <= row["influence"] <= 100
            assert 0 <= row["negative"] <= row["mentions"] and ISO_Z.match(row["last_at"])
        for term in t["terms"]:
            assert term["kind"] in ("hashtag", "word") and term["count"] >= 0
        for wave in t["clusters"]:
            assert wave["size"] >= 1 and 0 <= wave["bot_mean"] <= 1 and ISO_Z.match(wave["first_seen"])
    assert set(obj["sources"]) == sources
    for s in obj["sources"].values():
        assert s["state"] in STATES
        assert isinstance(s["rate_per_min"], (int, float))


def parse_lines(text: str) -> list[dict[str, Any]]:
    lines = text.splitlines()
    assert lines, "no output"
    out = []
    for line in lines:
        assert line.isascii(), "headless output is ASCII-only JSON"
        obj = json.loads(line)
        assert isinstance(obj, dict) and "type" in obj
        out.append(obj)
    return out
