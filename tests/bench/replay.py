"""A varied storm replay for end-to-end measurements: JSON Lines a jsonl source reads.

    .venv/bin/python tests/bench/replay.py 200000 /tmp/replay.jsonl [--seed 7] [--rate 5000]

Mentions of a brand in French and English over a day, built from many templates, words and emoji so that
texts do not repeat (as on a real feed), with what a crisis brings: a hashtag surging, copy-paste
campaigns from young low-activity accounts (the same text with small changes), retweet-style echoes of a
few big posts, and a realistic author spread (a Zipf law: a few loud accounts, a long tail of people
posting once). Deterministic for a seed. Written as the public mention object (``Mention.from_json``).
With ``rate``, the mentions are stamped evenly at that many a second instead: replayed with ``speed: 1``
they stream at that rate (the wall benchmarks).
"""

from __future__ import annotations

import argparse
import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

START = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)
BRANDS = ("Maison Brioche", "@maisonbrioche", "#MaisonBrioche", "maison brioche", "MAISON BRIOCHE")
TAGS = ("#BriocheGate", "#briochegate", "#boycott", "#scandale", "#hygiene", "#food", "#paris", "#lyon")
# fmt: off
FR_WORDS = (
    "franchement", "vraiment", "encore", "toujours", "jamais", "hier", "aujourd'hui", "ce matin", "ce soir",
    "la boutique", "le croissant", "la brioche", "le pain", "le service", "la vendeuse", "le gérant",
    "la caisse", "moisissure", "vidéo", "photo", "client", "remboursement", "hygiène", "qualité", "prix",
    "retard",
    "scandale", "honte", "dégoûtant", "inadmissible", "incroyable", "délicieux", "parfait", "correct",
    "moyen",
    "personne", "répond", "explique", "contrôle", "sanitaire", "fermer", "excuses", "communiqué", "enquête",
)
EN_WORDS = (
    "honestly", "really", "again", "still", "never", "yesterday", "today", "this morning", "tonight",
    "the shop", "the croissant", "the brioche", "the bread", "the service", "the staff", "the manager",
    "mould", "video", "photo", "customer", "refund", "hygiene", "quality", "price", "delay", "scandal",
    "shame", "disgusting", "unacceptable", "incredible", "delicious", "perfect", "fine", "meh", "nobody",
    "answers", "explains", "inspection", "health", "close", "apology", "statement", "investigation",
)
# fmt: on
EMOJI = ("", "", "", "😡", "🤮", "😂", "🙄", "👍", "🥐", "😱", "💀", "❤️", "🤔")
CAMPAIGNS = (
    "STOP à la moisissure dans les brioches de {b} ! Signez la pétition {t} {n}",
    "Boycott {b} : ils vendent des produits avariés, partagez {t} {n}",
    "{b} must answer for the mouldy brioche scandal. Share this {t} {n}",
)


def _text(rng: random.Random, lang: str) -> str:
    words = FR_WORDS if lang == "fr" else EN_WORDS
    body = " ".join(rng.choice(words) for _ in range(rng.randint(5, 16)))
    parts = [rng.choice(BRANDS), body]
    if rng.random() < 0.5:
        parts.append(rng.choice(TAGS))
    if rng.random() < 0.3:
        parts.insert(0, f"@user{rng.randint(1, 50_000)}")
    if rng.random() < 0.2:
        parts.append(f"https://example.org/p/{rng.randint(1, 10**9)}")
    rng.shuffle(parts)
    return " ".join(parts) + " " + rng.choice(EMOJI)


def mentions(n: int, seed: int = 7) -> Iterator[dict[str, object]]:
    """``n`` mention objects, time-ordered: a quiet morning, the storm, its tail."""
    rng = random.Random(seed)
    authors = max(1000, n // 4)
    big_posts: list[str] = []
    t = START
    for i in range(n):
        phase = i / n
        # mentions a second: a quiet start, a storm in the middle, a tail
        rate = 2.0 if phase < 0.1 else 40.0 if phase < 0.7 else 10.0
        t += timedelta(seconds=rng.expovariate(rate))
        lang = "fr" if rng.random() < 0.68 else "en"
        kind = rng.random()
        campaign = 0.1 <= phase < 0.7 and kind < 0.12
        echo = big_posts and kind > 0.9
        if campaign:
            template = CAMPAIGNS[i % len(CAMPAIGNS)]
            bang = rng.choice(("", "!", "!!"))
            text = template.format(b=rng.choice(BRANDS[:2]), t=rng.choice(TAGS[:2]), n=bang)
            handle = f"user{rng.randint(10**7, 10**8)}"
            followers, following = rng.randint(0, 30), rng.randint(200, 900)
            posts, age = rng.randint(0, 20), 3
        else:
            if echo:
                quoted = rng.choice(("julie_goute_tout", "claire_fabre_conso"))
                text = f"RT @{quoted}: {rng.choice(big_posts)}"
            else:
                text = _text(rng, lang)
            rank = min(int(rng.paretovariate(1.1)), authors)
            who = (rank * 7919 + rng.randint(0, authors)) % authors
            handle = f"{'fan' if lang == 'fr' else 'fan_en'}{who}"
            followers = int(rng.paretovariate(0.8) * 40)
            following, posts, age = rng.randint(10, 2000), rng.randint(10, 50_000), rng.randint(30, 4000)
            if not echo and followers > 50_000 and len(big_posts) < 20:
                big_posts.append(text)
        yield {
            "uid": f"r{seed}-{i}",
            "text": text,
            "created_at": t.isoformat().replace("+00:00", "Z"),
            "lang": lang if rng.random() > 0.1 else None,
            "url": f"https://example.org/s/{seed}/{i}",
            "author": {
                "handle": handle,
                "name": handle.title(),
                "followers": followers,
                "following": following,
                "posts": posts,
                "created_at": (t - timedelta(days=age)).isoformat().replace("+00:00", "Z"),
            },
            "engagement": {
                "replies": rng.randint(0, 5),
                "reposts": rng.randint(0, 20),
                "likes": rng.randint(0, 80),
            },
        }


TICK_S = 0.01
"""With ``rate``: mentions share a timestamp per tick of this many seconds (a feed arrives in bursts, and
a replay sleeping a millisecond per mention would measure its own sleeps, not the desk)."""


def write(path: Path, n: int, seed: int = 7, rate: float | None = None) -> Path:
    """Write ``n`` mentions to ``path`` (JSON Lines) and return it; ``rate``: stamped at that many a
    second from ``START`` (the storm's texts and authors, at an even pace, ``TICK_S`` at a time)."""
    per_tick = max(1, round(rate * TICK_S)) if rate is not None else 1
    with path.open("w", encoding="utf-8") as f:
        for i, m in enumerate(mentions(n, seed)):
            if rate is not None:
                at = START + timedelta(seconds=(i // per_tick) * per_tick / rate)
                m["created_at"] = at.isoformat().replace("+00:00", "Z")
            f.write(json.dumps(m, ensure_ascii=False) + "\n")
    return path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("n", type=int)
    ap.add_argument("out", type=Path)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--rate", type=float, default=None, help="stamp the mentions evenly, this many a second")
    args = ap.parse_args(argv)
    write(args.out, args.n, args.seed, args.rate)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
