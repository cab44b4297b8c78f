"""The mention detail: everything the desk knows about one mention, and why it was judged so.

Full text, the author (handle, name, followers, following, posts, account age, verified, the
platform's bot flag), engagement, link, topics, sentiment with its engine, influence with the terms of
its formula, bot-likelihood with its reasons, and the copy-paste wave it belongs to. Opened with Enter
on a feed line, it shows the feed's latest version of the mention: whether it was edited or deleted, and
the author's profile when it arrived after the post. Every value from the mention goes through
tui/safe_text.py: the whole screen is hostile text.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, tzinfo
from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static
from tocsin.config.i18n import N_
from tocsin.config.settings import Settings
from tocsin.config.text import duration_str
from tocsin.desk.feed import author_updated, edited
from tocsin.desk.palette import SENTIMENT_STYLE
from tocsin.scoring.influence import Influence, InfluenceScorer
from tocsin.scoring.snapshot import ClusterRow, ScoredMention, Snapshot
from tocsin.scoring.troll import troll_reasons
from tocsin.sources.model import Mention
from tocsin.tui import safe_text

LABEL_WIDTH = 12
TEXT_CHARS = 20_000
"""A post longer than this is cut (with an ellipsis) in the detail; platforms allow far less."""


def account_age(created: datetime | None, now: datetime) -> str | None:
    """``3 years``, ``5 months``, ``12 days``, ``4 h``; None when the platform did not say."""
    if created is None:
        return None
    seconds = (now - created).total_seconds()
    days = seconds / 86400
    if days >= 730:
        return f"{days / 365.25:.0f} years"
    if days >= 60:
        return f"{days / 30.44:.0f} months"
    if days >= 2:
        return f"{days:.0f} days"
    return duration_str(seconds, "spoken")


def _yes_no(value: bool | None) -> str:
    return "unknown" if value is None else ("yes" if value else "no")


def _count(n: int | None) -> str:
    return "unknown" if n is None else f"{n:,}"


class _Lines:
    """The detail as labelled lines: ``Label       value``; continuation lines are indented."""

    def __init__(self) -> None:
        self.lines: list[Content] = []

    def row(self, label: str, *value: Content | tuple[str, str] | str) -> None:
        self.lines.append(Content.assemble((label.ljust(LABEL_WIDTH), "$foreground-muted"), *value))

    def more(self, *value: Content | tuple[str, str] | str) -> None:
        self.lines.append(Content.assemble(" " * LABEL_WIDTH, *value))

    def blank(self) -> None:
        self.lines.append(Content(""))

    def heading(self, title: str) -> None:
        if self.lines:
            self.blank()
        self.lines.append(Content.styled(title, "bold $accent"))

    def content(self) -> Content:
        return Content("\n").join(self.lines)


def _score_map(scores: Mapping[str, Any], name: str) -> Mapping[str, Any] | None:
    value = scores.get(name)
    return value if isinstance(value, Mapping) else None


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


Explainer = Callable[[Mention], Influence]
"""Scores a mention's author again by the influence formula, for its terms."""


def influence_explainer(settings: Settings) -> Explainer:
    """The desk's own influence scorer (watchlist, reach per platform) for the detail's formula terms.

    The score is a pure function of the mention and the settings, so scoring again gives the very
    terms the pipeline summed (the mention JSON carries the score, not its terms)."""
    scorer = InfluenceScorer(settings.scoring.influence)
    platforms = {s.id: s.type for s in settings.sources}
    return lambda mention: scorer.score_mention(mention, platform=platforms.get(mention.source))


def influence_lines(influence: Mapping[str, Any]) -> list[str]:
    """The formula's terms in words: the ``explain`` lines the scorer wrote, else built from ``terms``
    (``[name, value, weight]``), else nothing."""
    explain = influence.get("explain")
    if isinstance(explain, Sequence) and not isinstance(explain, str):
        return [str(line) for line in explain]
    terms = influence.get("terms")
    out: list[str] = []
    if isinstance(terms, Sequence) and not isinstance(terms, str):
        for term in terms:
            if isinstance(term, Mapping):
                name, value, weight = term.get("name"), term.get("value"), term.get("weight")
            elif isinstance(term, Sequence) and not isinstance(term, str) and len(term) == 3:
                name, value, weight = term
            else:
                continue
            v, w = _number(value), _number(weight)
            if v is not None and w is not None:
                out.append(f"{name}: {v:.2f} × {w:.2f} = {100 * v * w:.1f} pts")
    return out


def detail_content(
    scored: ScoredMention,
    *,
    tz: tzinfo | None,
    now: datetime,
    snapshot: Snapshot | None = None,
    bot_flag: float = 0.6,
    explainer: Explainer | None = None,
    block_list: Sequence[str] = (),
) -> Content:
    """The whole detail as one Content (built without markup parsing). ``explainer`` gives the
    influence formula's terms when the score itself does not carry them; ``block_list``: handles the
    team does not answer publicly (the troll guard's warning comes first)."""
    m, a, e = scored.mention, scored.mention.author, scored.mention.engagement
    out = _Lines()
    clean = safe_text.clean
    guard = troll_reasons(scored.scores, a.handle, bot_flag=bot_flag, block_list=block_list)
    if guard:
        out.lines.append(
            Content.assemble(
                ("⚠ Do not answer publicly: ", "bold $text-error"),
                safe_text.content("; ".join(guard), max_len=300),
                (" (a private reply, or none; answering anyway is your call)", "$foreground-muted"),
            )
        )

    # --- the mention
    title: list[Content | tuple[str, str] | str] = [safe_text.handle(a.handle, "bold $primary-lighten-2", 60)]
    if a.name:
        title += ["  ", safe_text.content(a.name, "bold", max_len=80)]
    out.lines.append(Content.assemble(*title))
    when = m.created_at.astimezone(tz)
    ago = duration_str(now - m.created_at, "spoken")
    out.row(
        "Posted",
        (when.strftime("%a %d %b %H:%M:%S %Z").strip(), "bold"),
        (f"  ({ago} ago)", "$foreground-muted"),
        "  on ",
        safe_text.content(m.source, "bold", max_len=40),
    )
    if m.received_at and abs((m.received_at - m.created_at).total_seconds()) >= 60:
        out.more(("received ", "$foreground-muted"), m.received_at.astimezone(tz).strftime("%d %b %H:%M:%S"))
    unknown = ("unknown", "$foreground-muted")
    out.row("Link", safe_text.url(m.url, "underline", max_len=200) if m.url else ("none", unknown[1]))
    names = {tid: t.name for tid, t in (snapshot.topics.items() if snapshot else ())}
    topics = [clean(names.get(tid, tid), 60) for tid in scored.topics]
    out.row("Topics", Content(", ".join(topics) or "none"))
    if m.hashtags:
        out.row("Hashtags", Content(" ".join(f"#{clean(tag, 60)}" for tag in m.hashtags[:40])))
    extras = [f"language {clean(m.lang, 12)}" if m.lang else "language unknown"]
    if m.reply_to:
        extras.append("a reply")
    if edited(m):
        extras.append("edited by its author since first seen")
    if m.deleted:
        extras.append("DELETED by its author")
    out.row("", (" · ".join(extras), "$foreground-muted"))
    out.blank()
    out.lines.append(safe_text.content(m.text, "", max_len=TEXT_CHARS, multiline=True))

    # --- the author
    out.heading("Author")
    out.row("Handle", safe_text.handle(a.handle, "bold", 80))
    out.row("Name", safe_text.content(a.name, "", max_len=120) if a.name else unknown)
    out.row(
        "Audience",
        f"followers {_count(a.followers)}",
        # the post came with a bare profile; these figures are the ones looked up after it
        (" (updated after the post)", "$foreground-muted") if author_updated(m) else "",
        f" · following {_count(a.following)} · posts {_count(a.posts)}",
    )
    age = account_age(a.created_at, now)
    since = f" (since {a.created_at.astimezone(tz):%d %b %Y})" if a.created_at else ""
    out.row("Account", f"age {age}{since}" if age else "age unknown")
    bot_flag_style = "$text-error" if a.bot else ""
    out.row(
        "Flags",
        f"verified {_yes_no(a.verified)} · ",
        (f"the platform says bot: {_yes_no(a.bot)}", bot_flag_style),
    )
    out.row(
        "Engagement",
        f"replies {_count(e.replies)} · reposts {_count(e.reposts)} · likes {_count(e.likes)}",
    )

    # --- the judgement
    out.heading("Judgement")
    s = scored.sentiment
    out.row(
        "Sentiment",
        (s.label, f"bold {SENTIMENT_STYLE.get(s.label, '')}".strip()),
        f"  confidence {s.score:.2f}",
        ("  engine ", "$foreground-muted"),
        safe_text.content(s.engine, "bold", max_len=20),
    )
    scores = scored.scores
    influence = _score_map(scores, "influence")
    if influence is None:
        out.row("Influence", ("not scored", "$foreground-muted"))
    else:
        score = _number(influence.get("score"))
        tier = influence.get("tier")
        parts: list[Content | tuple[str, str] | str] = [
            (f"{score:.0f}/100" if score is not None else "?", "bold"),
            ("  ", ""),
            safe_text.content(f"{tier} tier" if tier else "tier unknown", "", max_len=30),
        ]
        if influence.get("partial"):
            parts.append(("  (followers unknown: scored from what is known)", "$foreground-muted"))
        role = influence.get("watchlist")
        if role:
            badge = f" watchlist: {clean(str(role), 30)} "
            parts += ["  ", safe_text.content(badge, "bold $background on $warning")]
        out.row("Influence", *parts)
        lines = influence_lines(influence)
        if not lines and explainer is not None:
            again = explainer(m)
            lines = again.explain()
            if score is not None and again.score != round(score):  # settings changed since: say so
                lines.insert(0, f"scored {score:.0f} then; by today's settings {again.score}:")
        for line in lines:
            out.more(safe_text.content(line, "$foreground-muted", max_len=200))
    bot = _score_map(scores, "bot")
    if bot is None:
        out.row("Bot", ("not scored", "$foreground-muted"))
    else:
        bot_score = _number(bot.get("score"))
        likely = bot_score is not None and bot_score >= bot_flag
        out.row(
            "Bot",
            (f"{bot_score:.2f}" if bot_score is not None else "?", "bold $text-error" if likely else "bold"),
            ("  likely a bot", "$text-error") if likely else ("  probably a person", "$foreground-muted"),
        )
        reasons = bot.get("reasons")
        if isinstance(reasons, Sequence) and not isinstance(reasons, str):
            for reason in list(reasons)[:20]:
                out.more("· ", safe_text.content(str(reason), "", max_len=200))
            if not reasons:
                out.more(("no signal fired", "$foreground-muted"))
    cluster = _score_map(scores, "cluster")
    if cluster is None:
        out.row("Copy-paste", ("not part of a copy-paste wave", "$foreground-muted"))
    else:
        size, authors = _number(cluster.get("size")), _number(cluster.get("authors"))
        out.row(
            "Copy-paste",
            ("in a copy-paste wave", "bold $text-warning"),
            f": {size:.0f} mentions" if size is not None else "",
            f" from {authors:.0f} accounts" if authors is not None else "",
        )
        row = _cluster_row(snapshot, scored.topics, cluster.get("id"))
        if row is not None:
            first = row.first_seen.astimezone(tz).strftime("%H:%M")
            botty = row.bot_mean >= bot_flag
            out.more(
                (f"since {first} · now {row.size:,} live from {row.authors:,} accounts · mean bot ", ""),
                (
                    f"{row.bot_mean:.0%}" + (" ⚠ likely a campaign" if botty else ""),
                    "bold $text-error" if botty else "",
                ),
            )
            out.more(("first: ", "$foreground-muted"), safe_text.content(row.text, "italic", max_len=300))
    return out.content()


def _cluster_row(snapshot: Snapshot | None, topics: Sequence[str], cluster_id: object) -> ClusterRow | None:
    """The wave's live figures from the snapshot, when it is still live there."""
    if snapshot is None or cluster_id is None:
        return None
    for tid in topics:
        topic = snapshot.topics.get(tid)
        for row in topic.clusters if topic else ():
            if row.id == cluster_id:
                return row
    return None


class MentionScreen(ModalScreen[None]):
    """The detail of one mention; Esc, q or Enter closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,enter", "app.pop_screen", N_("Close"), id="mention-close"),
        # the wall's binding id: a remapped escalate key works here too
        Binding("e", "escalate", N_("Incident"), id="escalate"),
    ]

    DEFAULT_CSS = """
    MentionScreen {
        align: center middle;
        & > VerticalScroll {
            width: 100;
            max-width: 100%;
            height: auto;
            max-height: 95%;
            border: round $accent;
            border-title-align: left;
            background: $surface;
            padding: 0 1;
        }
        & Static { width: 1fr; }
    }
    """

    def __init__(
        self,
        scored: ScoredMention,
        *,
        tz: tzinfo | None,
        now: datetime,
        snapshot: Snapshot | None = None,
        bot_flag: float = 0.6,
        explainer: Explainer | None = None,
        block_list: Sequence[str] = (),
    ) -> None:
        """``now``: desk time (ages); ``snapshot``: the latest one (topic names, the live wave);
        ``explainer``: see ``influence_explainer``; ``block_list``: ``scoring.bots.block_list``."""
        super().__init__()
        self.scored = scored
        self._content = detail_content(
            scored,
            tz=tz,
            now=now,
            snapshot=snapshot,
            bot_flag=bot_flag,
            explainer=explainer,
            block_list=block_list,
        )

    def action_escalate(self) -> None:
        """``e`` in the detail: close it and open (or escalate) the incident about this mention, as ``e``
        on the wall does with the feed's chosen line."""
        app = self.app
        self.dismiss()
        escalate = getattr(app, "escalate_about", None)
        if escalate is not None:
            escalate(self.scored)

    def compose(self) -> ComposeResult:
        with VerticalScroll() as box:
            box.border_title = "Mention"
            box.border_subtitle = "Esc to close"
            yield Static(self._content, id="mention-detail")
