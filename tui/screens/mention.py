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

from tocsin.config.i18n import N_, _, datetime_text, number, percent, pgettext
from tocsin.config.reasons import INFLUENCE_TERM, listed, role_name, say, shown
from tocsin.config.settings import Settings
from tocsin.config.text import duration_str
from tocsin.desk.feed import author_updated, edited
from tocsin.desk.palette import SENTIMENT_STYLE
from tocsin.scoring.influence import Influence, InfluenceScorer
from tocsin.scoring.snapshot import ClusterRow, Snapshot
from tocsin.scoring.troll import troll_reasons
from tocsin.sources.model import Mention, ScoredMention
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
        return _("{n} years").format(n=f"{days / 365.25:.0f}")
    if days >= 60:
        return _("{n} months").format(n=f"{days / 30.44:.0f}")
    if days >= 2:
        return _("{n} days").format(n=f"{days:.0f}")
    return duration_str(seconds, "spoken")


def _yes_no(value: bool | None) -> str:
    return _("unknown") if value is None else (_("yes") if value else _("no"))


def _count(n: int | None) -> str:
    return _("unknown") if n is None else number(n, 0, grouped=True)


class _Lines:
    """The detail as labelled lines: ``Label       value``; continuation lines are indented."""

    def __init__(self) -> None:
        self.lines: list[Content] = []

    def row(self, label: str, *value: Content | tuple[str, str] | str) -> None:
        """``label``: English, marked with ``N_`` by the caller, shown in the desk's language."""
        self.lines.append(Content.assemble((_(label).ljust(LABEL_WIDTH), "$foreground-muted"), *value))

    def more(self, *value: Content | tuple[str, str] | str) -> None:
        self.lines.append(Content.assemble(" " * LABEL_WIDTH, *value))

    def blank(self) -> None:
        self.lines.append(Content(""))

    def heading(self, title: str) -> None:
        """``title``: English, marked with ``N_`` by the caller."""
        if self.lines:
            self.blank()
        self.lines.append(Content.styled(_(title), "bold $accent"))

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
    (``[name, value, weight]``), else nothing; in the desk's language (the scorer writes English)."""
    explain = influence.get("explain")
    if isinstance(explain, Sequence) and not isinstance(explain, str):
        return [shown(str(line)) for line in explain]
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
                term = say(
                    INFLUENCE_TERM,
                    name=name,
                    value=f"{v:.2f}",
                    weight=f"{w:.2f}",
                    points=f"{100 * v * w:.1f}",
                )
                out.append(shown(term))
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
        out.lines.append(troll_warning(guard))

    # --- the mention
    title: list[Content | tuple[str, str] | str] = [safe_text.handle(a.handle, "bold $primary-lighten-2", 60)]
    if a.name:
        title += ["  ", safe_text.content(a.name, "bold", max_len=80)]
    out.lines.append(Content.assemble(*title))
    when = m.created_at.astimezone(tz)
    ago = duration_str(now - m.created_at, "spoken")
    out.row(
        N_("Posted"),
        (datetime_text(when, "%a %d %b %H:%M:%S %Z", "EEE d MMM HH:mm:ss zzz").strip(), "bold"),
        ("  " + _("({span} ago)").format(span=ago), "$foreground-muted"),
        "  " + _("on") + " ",
        safe_text.content(m.source, "bold", max_len=40),
    )
    if m.received_at and abs((m.received_at - m.created_at).total_seconds()) >= 60:
        received = datetime_text(m.received_at.astimezone(tz), "%d %b %H:%M:%S", "d MMM HH:mm:ss")
        out.more((_("received") + " ", "$foreground-muted"), received)
    unknown = (_("unknown"), "$foreground-muted")
    no_link = (pgettext("link", "none"), unknown[1])
    out.row(N_("Link"), safe_text.url(m.url, "underline", max_len=200) if m.url else no_link)
    names = {tid: t.name for tid, t in (snapshot.topics.items() if snapshot else ())}
    topics = [clean(names.get(tid, tid), 60) for tid in scored.topics]
    out.row(N_("Topics"), Content(", ".join(topics) or _("none")))
    if m.hashtags:
        out.row(N_("Hashtags"), Content(" ".join(f"#{clean(tag, 60)}" for tag in m.hashtags[:40])))
    extras = [_("language {lang}").format(lang=clean(m.lang, 12)) if m.lang else _("language unknown")]
    if m.reply_to:
        extras.append(_("a reply"))
    if edited(m):
        extras.append(_("edited by its author since first seen"))
    if m.deleted:
        extras.append(_("DELETED by its author"))
    out.row("", (" · ".join(extras), "$foreground-muted"))
    out.blank()
    out.lines.append(safe_text.content(m.text, "", max_len=TEXT_CHARS, multiline=True))

    # --- the author
    out.heading(N_("Author"))
    out.row(N_("Handle"), safe_text.handle(a.handle, "bold", 80))
    out.row(N_("Name"), safe_text.content(a.name, "", max_len=120) if a.name else unknown)
    out.row(
        N_("Audience"),
        _("followers {n}").format(n=_count(a.followers)),
        # the post came with a bare profile; these figures are the ones looked up after it
        (" " + _("(updated after the post)"), "$foreground-muted") if author_updated(m) else "",
        " · " + _("following {n} · posts {posts}").format(n=_count(a.following), posts=_count(a.posts)),
    )
    age = account_age(a.created_at, now)
    since = ""
    if a.created_at:
        joined = datetime_text(a.created_at.astimezone(tz), "%d %b %Y", "d MMM y")
        since = " " + _("(since {date})").format(date=joined)
    out.row(N_("Account"), _("age {age}").format(age=age) + since if age else _("age unknown"))
    bot_flag_style = "$text-error" if a.bot else ""
    out.row(
        N_("Flags"),
        _("verified {answer}").format(answer=_yes_no(a.verified)) + " · ",
        (_("the platform says bot: {answer}").format(answer=_yes_no(a.bot)), bot_flag_style),
    )
    out.row(
        N_("Engagement"),
        _("replies {replies} · reposts {reposts} · likes {likes}").format(
            replies=_count(e.replies), reposts=_count(e.reposts), likes=_count(e.likes)
        ),
    )

    # --- the judgement
    out.heading(N_("Judgement"))
    s = scored.sentiment
    out.row(
        N_("Sentiment"),
        (_(SENTIMENT_WORDS.get(s.label, s.label)), f"bold {SENTIMENT_STYLE.get(s.label, '')}".strip()),
        "  " + _("confidence {score}").format(score=number(s.score, 2)),
        ("  " + _("engine") + " ", "$foreground-muted"),
        safe_text.content(s.engine, "bold", max_len=20),
    )
    scores = scored.scores
    influence = _score_map(scores, "influence")
    not_scored = (_("not scored"), "$foreground-muted")
    if influence is None:
        out.row(N_("Influence"), not_scored)
    else:
        score = _number(influence.get("score"))
        tier = influence.get("tier")
        parts: list[Content | tuple[str, str] | str] = [
            (f"{score:.0f}/100" if score is not None else "?", "bold"),
            ("  ", ""),
            safe_text.content(
                _("{tier} tier").format(tier=tier) if tier else _("tier unknown"), "", max_len=30
            ),
        ]
        if influence.get("partial"):
            parts.append(("  " + _("(followers unknown: scored from what is known)"), "$foreground-muted"))
        role = influence.get("watchlist")
        if role:
            badge = " " + _("watchlist: {role}").format(role=clean(role_name(str(role)), 30)) + " "
            parts += ["  ", safe_text.content(badge, "bold $background on $warning")]
        out.row(N_("Influence"), *parts)
        lines = influence_lines(influence)
        if not lines and explainer is not None:
            again = explainer(m)
            lines = [shown(line) for line in again.explain()]
            if score is not None and again.score != round(score):  # settings changed since: say so
                then = _("scored {then} then; by today's settings {now}:")
                lines.insert(0, then.format(then=f"{score:.0f}", now=again.score))
        for line in lines:
            out.more(safe_text.content(line, "$foreground-muted", max_len=200))
    bot = _score_map(scores, "bot")
    if bot is None:
        out.row(N_("Bot"), not_scored)
    else:
        bot_score = _number(bot.get("score"))
        likely = bot_score is not None and bot_score >= bot_flag
        out.row(
            N_("Bot"),
            (
                number(bot_score, 2) if bot_score is not None else "?",
                "bold $text-error" if likely else "bold",
            ),
            ("  " + _("likely a bot"), "$text-error")
            if likely
            else ("  " + _("probably a person"), "$foreground-muted"),
        )
        reasons = bot.get("reasons")
        if isinstance(reasons, Sequence) and not isinstance(reasons, str):
            for reason in list(reasons)[:20]:
                out.more("· ", safe_text.content(shown(str(reason)), "", max_len=200))
            if not reasons:
                out.more((_("no signal fired"), "$foreground-muted"))
    cluster = _score_map(scores, "cluster")
    if cluster is None:
        out.row(N_("Copy-paste"), (_("not part of a copy-paste wave"), "$foreground-muted"))
    else:
        size, authors = _number(cluster.get("size")), _number(cluster.get("authors"))
        out.row(
            N_("Copy-paste"),
            (_("in a copy-paste wave"), "bold $text-warning"),
            _(": {n} mentions").format(n=f"{size:.0f}") if size is not None else "",
            _(" from {n} accounts").format(n=f"{authors:.0f}") if authors is not None else "",
        )
        row = _cluster_row(snapshot, scored.topics, cluster.get("id"))
        if row is not None:
            first = row.first_seen.astimezone(tz).strftime("%H:%M")
            botty = row.bot_mean >= bot_flag
            live = _("since {time} · now {size} live from {authors} accounts · mean bot").format(
                time=first,
                size=number(row.size, 0, grouped=True),
                authors=number(row.authors, 0, grouped=True),
            )
            out.more(
                (live + " ", ""),
                (
                    percent(row.bot_mean) + (" ⚠ " + _("likely a campaign") if botty else ""),
                    "bold $text-error" if botty else "",
                ),
            )
            out.more(
                (_("first:") + " ", "$foreground-muted"), safe_text.content(row.text, "italic", max_len=300)
            )
    return out.content()


SENTIMENT_WORDS = {"negative": N_("negative"), "neutral": N_("neutral"), "positive": N_("positive")}
"""The sentiment labels in words (the scores keep the English label)."""


def troll_warning(guard: Sequence[str]) -> Content:
    """``⚠ Do not answer publicly: looks like a bot (0.81: …) (a private reply, or none; …)``: the troll
    guard's advice, with its reasons (``scoring/troll.py``, English) in the desk's language. The mention
    detail and the respond form both show it."""
    return Content.assemble(
        (_("⚠ Do not answer publicly:") + " ", "bold $text-error"),
        safe_text.content(listed(shown(reason) for reason in guard), max_len=300),
        (" " + _("(a private reply, or none; answering anyway is your call)"), "$foreground-muted"),
    )


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
        wall = self.app.screen_stack[0]  # the wall's screen, under this detail
        self.dismiss()
        escalate = getattr(wall, "escalate_about", None)
        if escalate is not None:
            escalate(self.scored)

    def compose(self) -> ComposeResult:
        with VerticalScroll() as box:
            box.border_title = _("Mention")
            box.border_subtitle = _("Esc to close")
            yield Static(self._content, id="mention-detail")
