"""The Judge: per-mention judgement, what waits for sentiment, per-snapshot assessment and its schedules."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from tests.fakes import BRIOCHE
from tocsin.config.settings import (
    DeskSettings,
    InfluenceSettings,
    LevelSettings,
    ScoringSettings,
    Settings,
    TopicSettings,
)
from tocsin.scoring.judge import TERMS_EVERY, VOICES_EVERY, Judge, Schedule, TopicFigures, own_names
from tocsin.sources.model import Author, Engagement, Mention, extract_hashtags

T0 = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
WAVE = "Scandaleux ce qui se passe chez @maisonbrioche ! De la moisissure dans les brioches #BriocheGate"


def settings(**scoring) -> Settings:
    influence = InfluenceSettings(watchlist=("claire",), roles={"claire": "journalist"})
    return Settings(
        desk=DeskSettings(timezone="Europe/Paris"),
        topics=(BRIOCHE,),
        scoring=ScoringSettings(influence=influence, **scoring),
    )


def post(
    text: str,
    handle: str,
    at: datetime,
    *,
    followers: int | None = 300,
    uid: str | None = None,
    age_days: float = 900,
    following: int = 200,
    posts: int = 800,
) -> Mention:
    return Mention(
        uid=uid or f"{handle}-{at.timestamp()}",
        source="demo",
        text=text,
        created_at=at,
        received_at=at,
        author=Author(
            handle=handle,
            followers=followers,
            following=following,
            posts=posts,
            created_at=at - timedelta(days=age_days),
        ),
        hashtags=extract_hashtags(text),
        engagement=Engagement(replies=1, reposts=2, likes=10),
    )


def quiet(rate: float = 0.0, *, negative: float | None = None, authors: int = 0) -> TopicFigures:
    return TopicFigures(
        rate_per_min=rate,
        unique_authors=authors,
        negative_share=negative,
        usual_negative_share=None,
    )


def test_each_mention_gets_influence_and_bot_scores_then_its_wave() -> None:
    judge = Judge(settings(), start=T0, platforms={"demo": "demo"})
    big = post("Maison Brioche, la vidéo est partout", "julie", T0, followers=248_300)
    (j,) = judge.judge_batch([(big, ("brioche",))])
    assert j.scores["influence"]["tier"] == "macro" and j.scores["influence"]["score"] >= 40
    assert j.scores["bot"]["score"] < 0.1 and "cluster" not in j.scores
    # three fresh default-looking accounts paste the same text: from the third, a wave (min_size 3)
    wave = [
        post(
            WAVE.replace("!", "!" * (i % 3 + 1)),
            f"user{8_000_000 + i}",
            T0 + timedelta(seconds=i),
            followers=3,
            following=300,
            posts=2,
            age_days=2,
        )
        for i in range(5)
    ]
    judged = judge.judge_batch([(m, ("brioche",)) for m in wave])
    assert ["cluster" in j.scores for j in judged] == [False, False, True, True, True]
    last = judged[-1].scores
    assert last["cluster"]["size"] == 5 and last["cluster"]["authors"] == 5
    assert last["bot"]["score"] >= 0.6
    assert "part of a copy-paste wave (5 accounts)" in last["bot"]["reasons"]


def test_negativity_waits_for_the_sentiment() -> None:
    judge = Judge(settings(), start=T0)
    big = post("Maison Brioche, honte", "julie", T0, followers=248_300)
    (j,) = judge.judge_batch([(big, ("brioche",))])
    out = judge.assess(T0 + timedelta(minutes=1), {"brioche": quiet()}, real=0.0)
    assert out["brioche"].state.level == "calm"  # big, but not known to be negative yet
    judge.settle([(big, ("brioche",), j, "negative")])
    out = judge.assess(T0 + timedelta(minutes=2), {"brioche": quiet()}, real=0.0, fresh=True)
    state = out["brioche"].state
    assert state.level == "watch" and state.reasons == ("1 influential account negative",)
    assert state.changed and state.since == T0 + timedelta(minutes=2)
    (row,) = out["brioche"].influencers
    assert (row.handle, row.tier, row.negative, row.mentions) == ("julie", "macro", 1, 1)
    assert row.followers == 248_300 and row.last_text == "Maison Brioche, honte"
    assert judge.take_changes() == [("brioche", state, T0 + timedelta(minutes=2))]
    assert judge.take_changes() == []


def test_a_watchlist_journalist_raises_watch_and_is_listed_with_the_role() -> None:
    judge = Judge(settings(), start=T0)
    m = post("Maison Brioche : ce que l'on sait", "Claire", T0, followers=41_000)
    (j,) = judge.judge_batch([(m, ("brioche",))])
    judge.settle([(m, ("brioche",), j, "neutral")])
    out = judge.assess(T0 + timedelta(minutes=1), {"brioche": quiet()}, real=0.0)["brioche"]
    assert out.state.level == "watch" and out.state.reasons == ("1 journalist",)
    assert [(r.handle, r.watch_role, r.negative) for r in out.influencers] == [("Claire", "journalist", 0)]
    assert j.scores["influence"]["watchlist"] == "journalist"


def test_closed_buckets_go_through_the_detector_once_in_order() -> None:
    judge = Judge(settings(), start=T0)
    hours = 4 * 60
    counts = tuple([2] * hours)  # four quiet hours at two a minute...
    out = judge.assess(
        T0 + timedelta(hours=4),
        {"brioche": TopicFigures(2.0, 30, 0.1, 0.1, closed_from=T0, closed=counts)},
        real=0.0,
    )["brioche"]
    # the one baseline: the detector's, in mentions per minute, and the ratio against it
    assert out.volume.baseline_per_min == pytest.approx(2.0, rel=0.2)
    assert out.volume.ratio == pytest.approx(1.0, rel=0.2)
    # ...the same buckets again (a late duplicate reading) are ignored, then a jump
    again = TopicFigures(2.0, 30, 0.1, 0.1, closed_from=T0, closed=counts)
    out = judge.assess(T0 + timedelta(hours=4), {"brioche": again}, real=0.0)["brioche"]
    assert out.volume.anomaly < 0.2 and out.volume.storm_since is None
    jump = TopicFigures(40.0, 200, 0.2, 0.1, closed_from=T0 + timedelta(hours=4), closed=(60,))
    out = judge.assess(T0 + timedelta(hours=4, minutes=1), {"brioche": jump}, real=0.0)["brioche"]
    volume = out.volume
    assert volume.anomaly > 0.9 and volume.storm_since == T0 + timedelta(hours=4)
    assert (volume.surprise or "").startswith("storm since 14:00: ")
    assert "above the usual for a Saturday 14:00" in (volume.surprise or "")
    assert volume.baseline_per_min is not None  # one baseline: the ratio is the rate against it
    assert volume.ratio == pytest.approx(40.0 / volume.baseline_per_min) and volume.ratio > 4
    # the storm is held while it lasts, then ends once the volume has been back to usual an hour
    later = TopicFigures(2.0, 200, 0.2, 0.1, closed_from=T0 + timedelta(hours=4, minutes=1), closed=(2,) * 10)
    out = judge.assess(T0 + timedelta(hours=4, minutes=11), {"brioche": later}, real=0.0)["brioche"]
    assert out.volume.anomaly > 0.9 and out.volume.storm_since is not None
    calm = TopicFigures(2.0, 200, 0.2, 0.1, closed_from=T0 + timedelta(hours=4, minutes=11), closed=(2,) * 80)
    out = judge.assess(T0 + timedelta(hours=5, minutes=31), {"brioche": calm}, real=0.0)["brioche"]
    assert out.volume.storm_since is None and out.volume.anomaly < 0.1


def test_costly_tables_follow_their_schedule_and_are_cached_between() -> None:
    judge = Judge(settings(), start=T0)
    start = T0 + timedelta(hours=3)
    chatter = [
        post(f"Maison Brioche, pain chaud {i}", f"c{i}", T0 + timedelta(minutes=5 * i)) for i in range(36)
    ]
    storm = [
        post(f"Maison Brioche #BriocheGate moisissure {i}", f"p{i}", start + timedelta(seconds=15 * i))
        for i in range(40)
    ]
    for m in chatter + storm:
        (j,) = judge.judge_batch([(m, ("brioche",))])
        judge.settle([(m, ("brioche",), j, "negative")])
    at = start + timedelta(minutes=10)
    first = judge.assess(at, {"brioche": quiet()}, real=100.0)["brioche"]
    assert [t.term for t in first.terms][:2] == ["briochegate", "moisissure"]
    assert first.terms[0].kind == "hashtag" and len(first.influencers) == 10
    late = post("Maison Brioche #NouveauTag", "late", at, followers=9_000_000)
    (j,) = judge.judge_batch([(late, ("brioche",))])
    judge.settle([(late, ("brioche",), j, "negative")])
    # a tenth of a real second later, one desk second later: the cached tables come back as they were
    soon = judge.assess(at + timedelta(seconds=1), {"brioche": quiet()}, real=100.1)["brioche"]
    assert soon.influencers is first.influencers and soon.terms is first.terms
    # a real second later the influencers are fresh; the terms wait for their own schedule
    later = judge.assess(at + timedelta(seconds=2), {"brioche": quiet()}, real=101.0)["brioche"]
    assert later.influencers[0].handle == "late" and later.terms is first.terms
    fresh = judge.assess(at + timedelta(seconds=3), {"brioche": quiet()}, real=101.0, fresh=True)["brioche"]
    assert fresh.terms is not first.terms


def test_schedules_follow_desk_time_on_a_fast_clock_within_a_real_floor() -> None:
    s = Schedule(real_s=15.0, desk_s=300.0, min_real_s=0.5)
    assert s.due(None, 0.0, 0.0)
    assert not s.due((0.0, 0.0), 14.0, 200.0)  # live: 15 real seconds
    assert s.due((0.0, 0.0), 15.0, 15.0)
    assert s.due((0.0, 0.0), 0.6, 3_000.0)  # a replay running hours a second: by desk time...
    assert not s.due((0.0, 0.0), 0.2, 3_000.0)  # ...but not more often than the floor
    assert TERMS_EVERY.real_s >= 10 * VOICES_EVERY.real_s


def test_only_a_bot_like_wave_that_still_posts_counts_as_a_campaign() -> None:
    levels = LevelSettings(campaign_accounts=3)
    judge = Judge(settings(levels=levels), start=T0)
    # ten ordinary people quote the same post word for word: an echo, listed, not a campaign
    echo = [
        post(
            "RT @julie: de la moisissure dans une brioche Maison Brioche achetée ce matin",
            f"fan{i}",
            T0 + timedelta(seconds=i),
        )
        for i in range(10)
    ]
    judge.judge_batch([(m, ("brioche",)) for m in echo])
    # the wave table is rebuilt on the tables' schedule (a second of real time): each call a second on
    out = judge.assess(T0 + timedelta(minutes=1), {"brioche": quiet()}, real=1.0)["brioche"]
    assert [c.size for c in out.clusters] == [10] and out.clusters[0].bot_mean < 0.6
    assert out.state.level == "calm"
    bots = [
        post(
            WAVE,
            f"user{9_000_000 + i}",
            T0 + timedelta(minutes=2, seconds=i),
            followers=2,
            following=350,
            posts=1,
            age_days=1,
        )
        for i in range(6)
    ]
    judge.judge_batch([(m, ("brioche",)) for m in bots])
    out = judge.assess(T0 + timedelta(minutes=3), {"brioche": quiet()}, real=2.0)["brioche"]
    assert [c.size for c in out.clusters] == [6, 10]  # the likely campaign first
    assert out.clusters[0].bot_mean >= 0.6 and out.clusters[0].first_seen == T0 + timedelta(minutes=2)
    assert out.state.level == "watch" and out.state.reasons == ("copy-paste wave: 6 accounts",)
    assert out.copy_paste_share > 0.5
    # an hour after its last post the wave no longer weighs on the level (it stays listed)
    out = judge.assess(T0 + timedelta(hours=1, minutes=3), {"brioche": quiet()}, real=3.0)["brioche"]
    assert [c.size for c in out.clusters] == [6, 10]
    assert all(not r.startswith("copy-paste wave") for r in out.state.reasons)


def test_a_storm_tag_that_is_a_keyword_can_surge_the_brand_name_cannot() -> None:
    assert own_names(BRIOCHE) == [
        "Maison Brioche",
        "maison brioche",
        "maisonbrioche",
        "#maisonbrioche",
        "@maisonbrioche",
    ]
    other = TopicSettings(id="acme", keywords=("acme", "#acmefail"))
    assert own_names(other) == ["acme", "acme"]


def test_the_judge_is_safe_to_call_from_two_threads() -> None:
    judge = Judge(settings(), start=T0)
    errors: list[BaseException] = []

    def feed() -> None:
        try:
            for i in range(300):
                m = post(
                    f"Maison Brioche #BriocheGate mot{i % 37} encore {i}",
                    f"a{i % 50}",
                    T0 + timedelta(seconds=i),
                )
                (j,) = judge.judge_batch([(m, ("brioche",))])
                judge.settle([(m, ("brioche",), j, "negative")])
        except BaseException as exc:
            errors.append(exc)

    worker = threading.Thread(target=feed)
    worker.start()
    real = 0.0
    while worker.is_alive():
        real += 20.0
        judge.assess(T0 + timedelta(minutes=6), {"brioche": quiet()}, real=real, fresh=True)
    worker.join()
    assert errors == []
