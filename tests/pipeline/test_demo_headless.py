"""The bundled #BriocheGate storm, headless at high speed: the desk must see the storm coming."""

from __future__ import annotations

from tocsin.sources.model import parse_time
from tocsin.tui.cli import main

from .headless_schema import check_mention, check_snapshot, parse_lines


def test_demo_headless_shows_the_storm(capsys):
    # speed 100: the 7-hour storm in about 6 seconds
    emit = "snapshots,mentions,alerts"
    code = main(["demo", "--headless", "--speed", "100", "--emit", emit, "--duration", "40"])
    assert code == 0
    objs = parse_lines(capsys.readouterr().out)
    snapshots = [o for o in objs if o["type"] == "snapshot"]
    mentions = [o for o in objs if o["type"] == "mention"]
    alerts = [o for o in objs if o["type"] == "alert"]
    for o in snapshots:
        check_snapshot(o, {"brioche"}, {"demo"})
    for o in mentions[::50]:
        check_mention(o)
    assert snapshots[-1]["sources"]["demo"]["state"] == "finished"  # played out before the duration
    assert snapshots[-1]["topics"]["brioche"]["mentions"] == len(mentions)

    # the storm raises the level, with reasons in words
    first_rise = next(a for a in alerts if a["from"] == "calm")
    assert first_rise["to"] in ("alert", "crisis")
    assert any("x baseline" in r for r in first_rise["reasons"])
    assert any(r.endswith("% negative") for r in first_rise["reasons"])
    assert "crisis" in {s["topics"]["brioche"]["level"] for s in snapshots}

    # volume surges: the busiest snapshot against the usual rate
    peak = max(snapshots, key=lambda s: s["topics"]["brioche"]["rate_per_min"])["topics"]["brioche"]
    assert peak["baseline_per_min"] is not None
    assert peak["rate_per_min"] >= 20 * peak["baseline_per_min"]

    # the negative share rises: the week before the storm against its first hours
    storm = parse_time(first_rise["at"])
    before = [m for m in mentions if (storm - parse_time(m["created_at"])).total_seconds() > 1800]
    during = [m for m in mentions if 0 <= (parse_time(m["created_at"]) - storm).total_seconds() <= 5400]
    assert len(before) >= 100 and len(during) >= 500

    def negative(ms):
        scored = [m for m in ms if m["scores"]["sentiment"]["label"] != "unscored"]
        return sum(m["scores"]["sentiment"]["label"] == "negative" for m in scored) / len(scored)

    assert negative(before) < 0.35
    assert negative(during) > 0.6
