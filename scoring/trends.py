"""Surging terms: which hashtags and words grow fastest against their own baseline in a topic.

Each term (``#hashtag`` or a word of 3+ letters that is not a French or English stopword nor one of the
topic's own keywords) keeps two exponentially decayed counts of the mentions using it: a *recent* one
(time constant ``trends.recent``, 15 min) and a *usual* one (``trends.baseline``, 6 h), both corrected
for the tracker being younger than their time constant. The counts are kept scaled by ``exp(t/τ)``
from a reference time, so that a use adds the same two weights to each of a mention's terms (computed
once per mention: no exponential per term) and decay is applied only when read; the reference moves
forward every few days of desk time, before the weights grow too large for a float.
A term's expected recent count is its usual rate times the recent time constant, and it surges by

    surge = (recent − expected) / sqrt(expected + 1)        (a Poisson-style z)

Only terms with about ``trends.min_support`` recent uses, a surge of at least 3 and 1.5 times their
usual use are ranked, so one post or a bit of noise never makes a trend.

Two more guards keep ordinary words out of "Surging" during a storm:
- A storm raises every word with it ("good", "see", "says", "aller", "devoir", "loin" went up with the
  volume). A word's expected count is scaled by the topic's own surge (its mentions, counted with the
  same two decays), so a word surges only when its *share* of the topic's mentions grows. Hashtags are
  not scaled: people pick one to name the thing, so one rising with the storm is the news (#BriocheGate).
- A term needs ``MIN_AUTHORS`` distinct authors among its recent uses: one chatty account is not a trend.

Function words are skipped in French and English (``STOPWORDS``). Maintained lists were weighed and
left out: ``stop-words`` and ``stopwordsiso`` sweep in words that name what a crisis is about
("fire", "free", "fix", "problem", "help"), NLTK's list needs a data download at run time and spaCy's
comes with a heavy install; the share scaling above is what keeps common content words out.
The vocabulary is bounded (``trends.max_terms``): past it, the least used fifth is pruned.
"""

from __future__ import annotations

import heapq
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from tocsin.config.settings import TrendSettings
from tocsin.scoring.clusters import without_links
from tocsin.sources.model import Mention

_HASHTAGS = re.compile(r"(?<![\w@])#[\w.\-]+")
_WORD = re.compile(r"[^\W\d_]{3,}")
_MAX_TEXT = 2000
MIN_SURGE = 3.0
MIN_RATIO = 1.5
MIN_AUTHORS = 3
"""Distinct authors a term needs among its recent uses (within ``AUTHOR_WINDOW`` recent time constants)."""
AUTHOR_WINDOW = 2.0
_AUTHORS_KEPT = 2 * MIN_AUTHORS
"""Authors remembered per term (at least the latest ones, at most twice as many: trimmed in bulk):
enough to tell, bounded whatever the volume."""
_REBASE = 300.0
"""Recent time constants after which the scaled counts' reference time moves (``exp(300)`` ≈ 1e130)."""

STOPWORDS = frozenset(
    """
    a about above after again against all also am an and any are aren as at be because been before being
    below between both but by can cannot could couldn did didn do does doesn doing don down during each few
    for
    from further get got had has hasn have haven having he her here hers herself him himself his how i if in
    into is isn it its itself just let me more most my myself no nor not now of off on once only or other our
    ours ourselves out over own really same she should shouldn so some such than that the their theirs them
    themselves then there these they this those through to too under until up very was wasn we were weren what
    when where which while who whom why will with won would wouldn you your yours yourself yourselves still
    even much many one two new like via amp http https www com lol yes yeah okay im dont cant wont thats youre
    ive
    au aux avec ce ces cela ceci cet cette dans de des du elle elles en et eux il ils je la le les leur leurs
    lui ma mais me meme mes moi mon ne nos notre nous on ou par pas pour qu que qui sa se ses son sur ta te
    tes toi ton tu un une vos votre vous est sont suis etes etait ete avoir etre fait faire plus tres tout
    tous toute toutes aussi bien comme donc alors encore deja ici ceux celle celui dont sans sous chez entre
    apres avant depuis quand sinon parce puis car leur oui non rien peu trop ca cest quil quelle jai ont
    était été être très déjà après même où ça
    """.split()
)


@dataclass(frozen=True, slots=True)
class Surge:
    term: str
    """``#hashtag`` or a word (hostile: display through tui/safe_text.py)."""
    recent: float
    """Uses over about the recent time constant."""
    expected: float
    """Uses expected over the same time from the term's usual rate (before the topic's own surge,
    which the score takes into account)."""
    score: float
    """The surge (Poisson-style z); higher grows faster against its own baseline."""

    @property
    def ratio(self) -> float:
        """How many times its usual use (smoothed so a new term is not infinite)."""
        return (self.recent + 0.5) / (self.expected + 0.5)

    @property
    def is_hashtag(self) -> bool:
        return self.term.startswith("#")


def terms_of(text: str, hashtags: Sequence[str] = (), ignore: frozenset[str] = frozenset()) -> set[str]:
    """The distinct terms a mention contributes: its hashtags (``#tag``) and its meaningful words."""
    return terms_of_plain(without_links(text[:_MAX_TEXT]), hashtags) - ignore


def terms_of_plain(plain: str, hashtags: Sequence[str] = ()) -> set[str]:
    """``terms_of`` (nothing ignored) for a text whose links and @mentions are already gone
    (``clusters.without_links``: the judge reads a mention's text once for both)."""
    found = {f"#{h.casefold().lstrip('#')}" for h in hashtags if h}
    body = (_HASHTAGS.sub(" ", plain) if "#" in plain else plain).casefold()
    found.update(_WORD.findall(body))
    found -= STOPWORDS
    return found


class SurgingTerms:
    """Per-topic surging hashtags and words; O(1) per use, bounded vocabulary."""

    def __init__(self, settings: TrendSettings | None = None, *, ignore: Iterable[str] = ()) -> None:
        """``ignore``: the topic's own keywords (always present, so never news); phrases are split."""
        self.settings = s = settings or TrendSettings()
        self._tau_recent = s.recent.total_seconds()
        self._tau_usual = s.baseline.total_seconds()
        if self._tau_recent <= 0 or self._tau_usual <= self._tau_recent:
            raise ValueError("trends.baseline must be longer than trends.recent, both positive")
        words: set[str] = set()
        for keyword in ignore:
            k = keyword.strip().casefold()
            if k.startswith("#"):
                words.add(k)
            words.update(_WORD.findall(k.lstrip("@#")))
            words.add("#" + re.sub(r"\W+", "", k.lstrip("@#")))
        self._ignore = frozenset(words)
        # term → [recent count, usual count (both scaled by their weight at ``_ref``), its latest use]
        self._terms: dict[str, list[float]] = {}
        self._authors: dict[str, dict[str, float]] = {}  # term → its latest authors → last use (epoch s)
        self._total = [0.0, 0.0, float("-inf")]  # the topic's mentions, counted like a term
        self._started: float | None = None
        self._ref = 0.0
        """Reference time of the scaled counts (epoch s)."""
        self._rebase_after = _REBASE * self._tau_recent

    def __len__(self) -> int:
        return len(self._terms)

    def add_mention(self, mention: Mention, at: datetime) -> None:
        """Count a mention's terms at desk time ``at``."""
        self.add(mention.text, mention.hashtags, at, f"{mention.source}:{mention.author.handle.casefold()}")

    def add(self, text: str, hashtags: Sequence[str], at: datetime, author: str = "") -> None:
        """Count one mention's terms at ``at`` (``author``: who wrote it, for ``MIN_AUTHORS``)."""
        self.add_terms(terms_of(text, hashtags), at.timestamp(), author)

    def add_terms(self, terms: set[str], t: float, author: str = "") -> None:
        """Count one mention's terms (``terms_of_plain``; the topic's own names are left out here) at
        ``t`` (epoch seconds) by ``author``. O(terms)."""
        if self._started is None:
            self._started = self._ref = t
        elif t - self._ref > self._rebase_after:
            self._rebase(t)
        ref, tau_r, tau_u = self._ref, self._tau_recent, self._tau_usual
        w_recent, w_usual = math.exp((t - ref) / tau_r), math.exp((t - ref) / tau_u)
        self._bump(self._total, t, w_recent, w_usual)
        known, authors_of, ignore = self._terms, self._authors, self._ignore
        for term in terms:
            if term in ignore:
                continue
            state = known.get(term)
            if state is None:
                known[term] = [w_recent, w_usual, t]
                authors_of[term] = {author: t}
                continue
            if t >= state[2]:
                state[0] += w_recent
                state[1] += w_usual
                state[2] = t
            else:  # a late arrival counts as the term's latest use
                self._bump(state, t, w_recent, w_usual)
            authors = authors_of[term]
            seen = authors.get(author)
            if seen is None:
                authors[author] = t
                if len(authors) > 2 * _AUTHORS_KEPT:
                    latest = sorted(authors.items(), key=lambda a: a[1])[-_AUTHORS_KEPT:]
                    authors_of[term] = dict(latest)
            elif t > seen:
                authors[author] = t
        if len(known) > self.settings.max_terms:
            self._prune(t)

    def _bump(self, state: list[float], t: float, w_recent: float, w_usual: float) -> None:
        """One use at ``t`` (weights at ``t``); a use older than the latest counts as the latest."""
        if t >= state[2]:
            state[0] += w_recent
            state[1] += w_usual
            state[2] = t
        else:
            ref = self._ref
            state[0] += math.exp((state[2] - ref) / self._tau_recent)
            state[1] += math.exp((state[2] - ref) / self._tau_usual)

    def _rebase(self, t: float) -> None:
        """Move the reference time to ``t``: every scaled count divided by its weight at ``t``."""
        down_r = math.exp(-(t - self._ref) / self._tau_recent)
        down_u = math.exp(-(t - self._ref) / self._tau_usual)
        for state in (self._total, *self._terms.values()):
            state[0] *= down_r
            state[1] *= down_u
        self._ref = t

    def _decayed(self, state: list[float], t: float) -> tuple[float, float]:
        """(recent, usual) counts of a state at ``t`` (not before its latest use)."""
        at = state[2] if state[2] > t else t
        ref = self._ref
        return (
            state[0] * math.exp(-(at - ref) / self._tau_recent),
            state[1] * math.exp(-(at - ref) / self._tau_usual),
        )

    def top(self, now: datetime, n: int | None = None) -> list[Surge]:
        """The ``n`` (default ``trends.top``) fastest-growing terms with enough support, strongest first."""
        if self._started is None:
            return []
        t = now.timestamp()
        age = max(t - self._started, 1.0)
        # A tracker younger than a time constant has not filled it yet: correct the counts for it.
        fill_recent = 1.0 - math.exp(-age / self._tau_recent)
        fill_usual = 1.0 - math.exp(-age / self._tau_usual)
        scale = self._tau_recent / self._tau_usual * fill_recent / fill_usual
        # The topic's own surge: every term is expected to grow with it (never to shrink below usual).
        total_now, total_usual = self._decayed(self._total, t)
        storm = max(1.0, (total_now + 1.0) / (total_usual * scale + 1.0))
        support = self.settings.min_support
        since = t - AUTHOR_WINDOW * self._tau_recent
        ref, tau_r, tau_u = self._ref, self._tau_recent, self._tau_usual
        down_r, down_u = math.exp(-(t - ref) / tau_r), math.exp(-(t - ref) / tau_u)
        found = []
        for term, state in self._terms.items():
            if state[2] > t:  # used after ``now`` (a snapshot dated before a late batch): as of its last use
                r, u = self._decayed(state, t)
            else:
                r, u = state[0] * down_r, state[1] * down_u
            if r < support:
                continue
            if sum(1 for seen in self._authors[term].values() if seen >= since) < MIN_AUTHORS:
                continue
            expected = u * scale
            with_storm = expected if term.startswith("#") else expected * storm
            score = (r - with_storm) / math.sqrt(with_storm + 1.0)
            if score >= MIN_SURGE and (r + 0.5) >= MIN_RATIO * (with_storm + 0.5):
                found.append(Surge(term, r, expected, score))
        # Ties (words that always come with a hashtag) go to the hashtag, then alphabetically.
        found.sort(key=lambda s: (-s.score, not s.is_hashtag, s.term))
        return found[: n or self.settings.top]

    def _prune(self, t: float) -> None:
        """Drop the least used fifth of the vocabulary (by decayed use): amortised O(log V) per term."""
        keep = int(self.settings.max_terms * 0.8)
        decayed = self._decayed

        def weight(item: tuple[str, list[float]]) -> float:
            return max(decayed(item[1], t))

        self._terms = dict(heapq.nlargest(keep, self._terms.items(), key=weight))
        self._authors = {term: self._authors[term] for term in self._terms}
