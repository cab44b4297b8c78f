"""Copy-paste campaigns: template variations cluster, different texts do not, memory stays bounded."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from tocsin.config.settings import ClusterSettings
from tocsin.scoring.clusters import CopyPasteIndex, normalise

T0 = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)

WAVE = [
    "Boycott @maisonbrioche NOW! They lied about the flour #BriocheGate https://t.co/Ab12",
    "boycott @MaisonBrioche now, they lied about the flour!!! #briochegate https://t.co/zz99 🤬🤬",
    "Boycott Maison Brioche now: they LIED about their flour #BriocheGate",
    "Boycott @maisonbrioche now 😡 they lied about the flour #BriocheGate 2026",
    "Boycott @maisonbrioche maintenant, they lied about the flour #BriocheGate",
    "BOYCOTT @maisonbrioche NOW they lied about the flour… #BriocheGate http://bit.ly/x",
]
OTHERS = [
    "Just had the best croissant of my life at the Lyon shop, thank you",
    "Is the Maison Brioche on rue de Rivoli open on Sundays? Planning a visit",
    "Their flour supplier statement makes no sense, who checked this?",
    "Les brioches au chocolat sont revenues, trop contente ce matin",
    "Delivery was two hours late and nobody answered the phone, really poor",
]


def test_normalise_drops_links_handles_case_accents_digits_emoji() -> None:
    assert normalise("Été @Brioche_FR 42 fois!! 🤬 https://t.co/x #Gate") == "ete fois gate"


def test_variations_of_one_template_cluster_together() -> None:
    index = CopyPasteIndex()
    infos = [index.add(f"u{i}", f"acct{i}", text, T0 + timedelta(seconds=i)) for i, text in enumerate(WAVE)]
    assert infos[0] is None  # the first is not (yet) a copy of anything
    assert all(info is not None for info in infos[1:])
    (wave,) = index.clusters(min_size=2)
    assert wave.size == len(WAVE) and wave.authors == len(WAVE)
    assert wave.first_seen == T0 and wave.last_seen == T0 + timedelta(seconds=len(WAVE) - 1)
    assert wave.representative == WAVE[0]


def test_different_texts_do_not_cluster() -> None:
    index = CopyPasteIndex()
    for i, text in enumerate(OTHERS + WAVE[:1]):
        assert index.add(f"u{i}", f"acct{i}", text, T0) is None
    assert index.clusters(min_size=2) == []
    assert index.copy_paste_share(T0) == 0.0


def test_short_texts_are_not_compared() -> None:
    index = CopyPasteIndex()
    for i in range(5):
        assert index.add(str(i), f"a{i}", "lol +1", T0) is None
    assert index.clusters(min_size=2) == []


def test_one_author_spamming_counts_one_account() -> None:
    index = CopyPasteIndex()
    for i in range(10):
        index.add(str(i), "spammer", WAVE[i % len(WAVE)], T0 + timedelta(seconds=i))
    (wave,) = index.clusters()
    assert wave.size == 10 and wave.authors == 1


def test_copy_paste_share_over_a_window() -> None:
    index = CopyPasteIndex()
    for i, text in enumerate(OTHERS):
        index.add(f"o{i}", f"o{i}", text, T0)
    for i, text in enumerate(WAVE):
        index.add(f"w{i}", f"w{i}", text, T0 + timedelta(minutes=30))
    # 5 of the 11 mentions repeated an earlier one (the wave's first member did not)
    assert index.copy_paste_share(T0 + timedelta(minutes=30)) == 5 / 11
    assert index.copy_paste_share(T0 + timedelta(minutes=30), window=timedelta(minutes=5)) == 5 / 6


def test_entries_expire_with_the_window_and_the_bound() -> None:
    settings = ClusterSettings(window=timedelta(hours=1), max_entries=200)
    index = CopyPasteIndex(settings)
    for i, text in enumerate(WAVE):
        index.add(str(i), f"a{i}", text, T0)
    index.expire(T0 + timedelta(hours=2))
    assert len(index) == 0 and index.clusters(min_size=1) == []
    # a later copy starts afresh: the old wave is forgotten
    assert index.add("late", "b", WAVE[1], T0 + timedelta(hours=2)) is None

    rng = random.Random(1)
    words = ["".join(rng.choice("abcdefghij") for _ in range(6)) for _ in range(400)]
    for i in range(2000):
        text = " ".join(rng.choice(words) for _ in range(8))
        index.add(str(i), f"u{i}", text, T0 + timedelta(hours=2, seconds=i))
    assert len(index) <= 200
    assert len(index._row_of) <= 200 and len(index._clusters) <= 200
    # the pool the candidates are compared in reuses the rows of forgotten representatives
    assert len(index._pool) <= 512
    assert len(index._pool) - len(index._free_rows) == len(index._row_of)


def test_a_huge_wave_keeps_a_bounded_index() -> None:
    index = CopyPasteIndex(ClusterSettings(window=timedelta(hours=6)))
    for i in range(3000):
        text = f"{WAVE[i % len(WAVE)]} {'abcdefghijklmnop'[i % 16]}"
        index.add(str(i), f"a{i % 700}", text, T0 + timedelta(seconds=i * 5))  # 4 h: reps refresh
    (wave,) = index.clusters()
    assert wave.size == 3000 and wave.authors == 700
    assert len(index._row_of) <= 8  # a few representatives, not 3000 LSH entries


def test_a_batch_clusters_exactly_as_one_mention_at_a_time() -> None:
    # add_many signs a whole batch at once; a mention may repeat one earlier in the same batch
    rng = random.Random(4)
    words = ["".join(rng.choice("abcdefgh") for _ in range(5)) for _ in range(60)]
    texts = [*WAVE, *OTHERS] + [" ".join(rng.choice(words) for _ in range(7)) for _ in range(400)]
    texts += [rng.choice(WAVE) + f" {rng.choice(words)}" for _ in range(200)] + ["lol", "", "Maison Brioche"]
    rng.shuffle(texts)
    items = [(f"a{i % 97}", text, T0 + timedelta(seconds=i)) for i, text in enumerate(texts)]
    one = CopyPasteIndex()
    singly = [one.add(str(i), *item) for i, item in enumerate(items)]
    many = CopyPasteIndex()
    batched = [c for k in range(0, len(items), 64) for c in many.add_many(items[k : k + 64])]
    assert batched == singly
    assert sum(c is not None for c in singly) > 200
    assert many.clusters(min_size=1) == one.clusters(min_size=1)
