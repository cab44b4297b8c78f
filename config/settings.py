"""Typed settings. The YAML loader (``tocsin.config.loader``) builds these from a file and checks
every key against these dataclasses: a key that is not a field here is an error, and so is a value
of the wrong type. Durations are written ``90s``, ``10m``, ``8h``, ``7d`` (or a number of seconds).

Source settings: one dataclass per source ``type``, registered in ``SOURCE_TYPES``, the one registry of
source types. Its adapter is the module of the same name, ``tocsin.sources.<type>``, whose ``build``
the sources' registry calls (``tocsin.sources.registry``); nothing else lists source types. The
dataclasses stay here, below every adapter: the loader validates a whole file against them
(``tocsin check-config``) without importing any adapter, and config imports no layer above it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Literal, get_args

# --- desk ---------------------------------------------------------------------------------------


JOURNAL_URL_SCHEMES = ("postgresql", "postgres")


def is_database_url(location: object) -> bool:
    """Whether ``desk.journal`` names a PostgreSQL journal (``postgresql://…``) rather than a file.

    Only a ``str`` can be a URL: ``Path("postgresql://h/db")`` has already folded the ``//``."""
    if not isinstance(location, str) or "://" not in location:
        return False
    return location.split(":", 1)[0].lower() in JOURNAL_URL_SCHEMES


@dataclass(frozen=True)
class DeskSettings:
    name: str = "tocsin"
    operator: str = "on-call"
    """Who is at the keyboard: every journal action names them."""
    timezone: str | None = None
    """IANA name for times on screen and in reports; None = the machine's local zone."""
    journal: str | None = None
    """Journal file path; None = the platform data dir (platformdirs)."""
    exports: str | None = None
    """Folder for post-mortem exports (the review's ``x``, ``tocsin journal export --save``); None = an
    ``exports`` folder beside the journal. Files there are owner-only (0600), as the journal is."""
    archive_retention: timedelta = timedelta(days=30)
    """How long archived mentions are kept (pinned evidence is kept forever)."""
    language: Literal["en", "fr"] = "en"
    """The desk's language: the wall, its forms, the post-mortems and the messages sent to people away
    from the wall (chat, e-mail, pagers)."""
    brand: str | None = None
    """Who the desk speaks for, as response templates write it (``{brand}``); None = the incident's
    topic name."""


# --- topics -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TopicSettings:
    id: str
    name: str | None = None
    keywords: tuple[str, ...] = ()
    """Words or phrases (case- and accent-insensitive); ``#tag`` matches a hashtag, ``@handle`` an author
    or a mentioned handle."""
    exclude: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    """ISO 639-1 codes; empty = any language."""

    @property
    def label(self) -> str:
        return self.name or self.id


# --- sources ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SourceSettings:
    type: str
    id: str


@dataclass(frozen=True)
class DemoSourceSettings(SourceSettings):
    scenario: str = "bad-buzz"
    """A bundled scenario name or a path to a scenario file."""
    speed: float = 1.0
    """1 plays the storm in about 10 minutes; 10 in about one."""
    seed: int = 7
    backfill_days: int = 7
    """Days of baseline chatter loaded at once before the storm plays."""


@dataclass(frozen=True)
class JsonlSourceSettings(SourceSettings):
    path: str = "-"
    """A file, or ``-`` for stdin."""
    follow: bool = False
    """Keep reading as the file grows (like ``tail -f``)."""
    speed: float | None = None
    """Replay on a simulated clock at this acceleration, from the mentions' timestamps; None = live."""


# Live network sources. Secrets are written ``${ENV_VAR}`` in the file (the loader fills them in).


@dataclass(frozen=True)
class MastodonSourceSettings(SourceSettings):
    base_url: str = "https://mastodon.social"
    """The instance."""
    token: str | None = None
    """A user access token (Mastodon ≥ 4.2 wants one for every stream): ``${MASTODON_TOKEN}``."""
    instances: dict[str, str] = field(default_factory=dict)
    """More instances followed by this source: base URL → its user token (``${OTHER_TOKEN}``)."""
    hashtags: tuple[str, ...] = ()
    """Hashtags to stream, on top of the topics' ``#tag`` keywords."""
    timelines: tuple[Literal["public", "public/local", "public/remote"], ...] = ()
    """Whole timelines to stream too, kept only when a topic keyword appears."""
    local_only: bool = False
    """Hashtag streams of this instance's own posts only."""
    streaming_url: str | None = None
    """The streaming host; None = ask the instance."""
    backfill: int = 40
    """Recent statuses per stream read at the very first start (later starts resume where they left)."""
    watchdog: timedelta = timedelta(seconds=60)
    """Reconnect when not even a heartbeat (every 15 s) came for this long."""


@dataclass(frozen=True)
class BlueskySourceSettings(SourceSettings):
    endpoint: str = "wss://jetstream2.us-east.bsky.network/subscribe"
    """A Jetstream instance."""
    appview_url: str = "https://public.api.bsky.app"
    """Where author profiles (followers…) are looked up."""
    keywords: tuple[str, ...] = ()
    """Extra words to keep, on top of the topics' keywords (the whole post stream is filtered here)."""
    hydrate: bool = True
    """Look up authors' profiles (handle, followers); mentions are updated when they arrive."""
    profile_ttl: timedelta = timedelta(hours=6)
    profile_requests_per_s: float = 2.0
    resume_margin: timedelta = timedelta(seconds=5)
    """On reconnect, replay this much before the last event seen (duplicates are dropped)."""
    watchdog: timedelta = timedelta(seconds=60)


@dataclass(frozen=True)
class RssSourceSettings(SourceSettings):
    feeds: tuple[str, ...] = ()
    """Feed URLs (RSS or Atom: news searches, Google Alerts…)."""
    interval: timedelta = timedelta(minutes=5)
    """Time between two fetches of a feed."""
    intervals: dict[str, timedelta] = field(default_factory=dict)
    """Per-feed interval, by feed URL."""

    def __post_init__(self) -> None:
        if not self.feeds:
            raise ValueError("an rss source needs at least one feed URL in feeds")


@dataclass(frozen=True)
class RedditSourceSettings(SourceSettings):
    base_url: str = "https://oauth.reddit.com"
    auth_url: str = "https://www.reddit.com"
    """Where the app token is obtained (``/api/v1/access_token``)."""
    client_id: str | None = None
    """The app's client id: ``${REDDIT_CLIENT_ID}``."""
    client_secret: str | None = None
    """The app's secret: ``${REDDIT_CLIENT_SECRET}``."""
    username: str | None = None
    """The Reddit account that registered the app (Reddit wants it in the User-Agent)."""
    user_agent: str | None = None
    """Overrides the User-Agent built from the version and ``username``."""
    queries: tuple[str, ...] = ()
    """Searches; empty = the topics' keywords."""
    subreddits: tuple[str, ...] = ()
    """Subreddits whose new posts are all read."""
    interval: timedelta = timedelta(seconds=60)


@dataclass(frozen=True)
class HackerNewsSourceSettings(SourceSettings):
    base_url: str = "https://hn.algolia.com/api/v1"
    queries: tuple[str, ...] = ()
    """Searches; empty = the topics' keywords."""
    tags: str = "(story,comment)"
    interval: timedelta = timedelta(seconds=60)
    lookback: timedelta = timedelta(hours=1)
    """How far back the very first poll reads."""


@dataclass(frozen=True)
class XSourceSettings(SourceSettings):
    base_url: str = "https://api.x.com"
    bearer_token: str | None = None
    """The app's bearer token: ``${X_BEARER_TOKEN}``."""
    rules: tuple[str, ...] = ()
    """Extra stream rules, on top of one rule per topic built from its keywords."""
    sync_rules: bool = True
    """Replace the stream rules this desk made earlier with the current ones (others are left alone)."""
    watchdog: timedelta = timedelta(seconds=30)
    """Reconnect when not even a keep-alive (every 20 s) came for this long."""
    catch_up: bool = True
    """After a reconnect (or a restart), recover what was posted meanwhile through recent search (≤ 7
    days; costs API credits on pay-per-use plans)."""


@dataclass(frozen=True)
class WebhookSourceSettings(SourceSettings):
    host: str = "127.0.0.1"
    port: int = 8787
    """0 = any free port."""
    path: str = "/mentions"
    secret: str | None = None
    """Shared secret: ``${TOCSIN_WEBHOOK_SECRET}`` (``whsec_…`` for Standard Webhooks)."""
    require_signature: bool = True
    max_body_bytes: int = 1_048_576
    tolerance: timedelta = timedelta(minutes=5)
    """How far a Standard Webhooks timestamp may be from the desk clock."""
    replay_cache: int = 10_000
    """How many webhook ids are remembered to refuse replays."""
    header_timeout: timedelta = timedelta(seconds=10)
    """A connection that has not sent a whole request head by then is closed (slow senders, slowloris)."""
    body_timeout: timedelta = timedelta(seconds=30)
    """A request body not fully received by then is refused with 408."""

    def __post_init__(self) -> None:
        if self.require_signature and not self.secret:
            raise ValueError(
                "a webhook source needs a secret (secret: ${TOCSIN_WEBHOOK_SECRET}) "
                "or require_signature: false"
            )


# The one registry of source types: ``type:`` → its settings; the adapter is ``tocsin.sources.<type>``.
SOURCE_TYPES: dict[str, type[SourceSettings]] = {
    "demo": DemoSourceSettings,
    "jsonl": JsonlSourceSettings,
    "mastodon": MastodonSourceSettings,
    "bluesky": BlueskySourceSettings,
    "rss": RssSourceSettings,
    "reddit": RedditSourceSettings,
    "hackernews": HackerNewsSourceSettings,
    "x": XSourceSettings,
    "webhook": WebhookSourceSettings,
}


# --- scoring ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SentimentSettings:
    engine: Literal["lexicon", "flair"] = "lexicon"
    model: str | None = None
    """flair: a model name (``sentiment``, ``sentiment-fast``) or a path to a ``.pt`` file."""
    batch_size: int = 256
    window: timedelta = timedelta(minutes=15)
    """Sliding window for the sentiment shares."""


@dataclass(frozen=True)
class InfluenceSettings:
    watchlist: tuple[str, ...] = ()
    """Handles that always flag (journalists, activists, officials)."""
    roles: dict[str, str] = field(default_factory=dict)
    """Handle → role of a watchlist handle (``journalist``, ``activist``, ``official``…)."""
    reach: dict[str, float] = field(default_factory=dict)
    """Source id or type → how far a post there travels, 0–1 (built-in defaults per platform)."""


@dataclass(frozen=True)
class BotSettings:
    young_account: timedelta = timedelta(days=30)
    """Accounts younger than this look more like throwaways."""
    flag_at: float = 0.6
    """Bot-likelihood from which a mention is marked as a likely bot."""
    rate_window: timedelta = timedelta(hours=1)
    """Window over which each author's posting rate is counted."""
    max_authors: int = 50_000
    """Authors tracked for posting rate (the least recently seen are dropped)."""
    block_list: tuple[str, ...] = ()
    """Handles the team does not answer publicly (known trolls): the mention detail says so."""


@dataclass(frozen=True)
class ClusterSettings:
    window: timedelta = timedelta(hours=6)
    """Copy-paste detection compares a mention with those of this window only."""
    max_entries: int = 50_000
    """At most this many recent mentions are kept for comparison (memory bound)."""
    similarity: float = 0.5
    """Jaccard similarity (character 4-grams of the normalised texts) from which two mentions are copies."""
    min_words: int = 5
    """Shorter texts ("lol", "+1") are not compared."""
    min_size: int = 3
    """Mentions in a cluster before it counts as a copy-paste wave."""


@dataclass(frozen=True)
class TrendSettings:
    recent: timedelta = timedelta(minutes=15)
    """Time constant of a term's recent use (what is compared with its baseline)."""
    baseline: timedelta = timedelta(hours=6)
    """Time constant of a term's usual use (the decayed baseline)."""
    min_support: int = 5
    """A term needs about this many recent uses to surge."""
    max_terms: int = 5_000
    """Vocabulary bound per topic (rare terms are pruned)."""
    top: int = 10


@dataclass(frozen=True)
class VolumeSettings:
    bucket: timedelta = timedelta(minutes=1)
    history: timedelta = timedelta(days=8)
    """How much per-bucket history is kept per topic (baselines need days)."""
    rate_window: timedelta = timedelta(minutes=5)
    """Window over which the current rate per minute is measured."""


@dataclass(frozen=True)
class LevelSettings:
    watch_ratio: float = 2.0
    """Volume vs baseline that makes a topic worth watching."""
    alert_ratio: float = 4.0
    crisis_ratio: float = 8.0
    negative_share: float = 0.5
    """Negative share above which a volume rise counts as hostile."""
    min_rate_per_min: float = 2.0
    """Below this rate no level above calm is raised (one angry customer is not a crisis)."""
    hold: timedelta = timedelta(minutes=10)
    """How long a level holds before it may step down (hysteresis)."""
    anomaly_watch: float = 0.5
    """Volume anomaly score (0–1) that makes a topic worth watching."""
    anomaly_alert: float = 0.8
    negative_rise: float = 0.15
    """Rise of the negative share over its usual value that counts as souring."""
    alert_min_authors: int = 20
    """Distinct authors in the last hour needed for alert (and volume-based watch needs 3)."""
    crisis_min_authors: int = 100
    campaign_accounts: int = 10
    """Accounts in one copy-paste wave that make it worth watching (twice as many for alert)."""
    exit_factor: float = 0.75
    """To stay at a level, its thresholds are relaxed by this factor (enter high, exit lower)."""


@dataclass(frozen=True)
class ScoringSettings:
    sentiment: SentimentSettings = field(default_factory=SentimentSettings)
    influence: InfluenceSettings = field(default_factory=InfluenceSettings)
    volume: VolumeSettings = field(default_factory=VolumeSettings)
    levels: LevelSettings = field(default_factory=LevelSettings)
    bots: BotSettings = field(default_factory=BotSettings)
    clusters: ClusterSettings = field(default_factory=ClusterSettings)
    trends: TrendSettings = field(default_factory=TrendSettings)


# --- team and alerts ----------------------------------------------------------------------------


@dataclass(frozen=True)
class TeamMember:
    id: str
    name: str
    role: str
    routes: dict[str, str] = field(default_factory=dict)
    """How the ladder reaches this person: an output id of ``alerts:`` → their address there (an
    e-mail address, an ntfy topic, an Opsgenie user; empty for a pager service or a chat channel)."""


@dataclass(frozen=True)
class SlaSettings:
    first_response: dict[str, timedelta] = field(
        default_factory=lambda: {
            "sev1": timedelta(minutes=30),
            "sev2": timedelta(minutes=30),
            "sev3": timedelta(minutes=60),
        }
    )
    ack_timeout: timedelta = timedelta(minutes=10)


@dataclass(frozen=True)
class TeamSettings:
    roster: tuple[TeamMember, ...] = ()
    escalation: tuple[tuple[str, ...], ...] = ()
    """The ladder: each step a list of roles."""
    sla: SlaSettings = field(default_factory=SlaSettings)
    approval: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Severity → roles that must approve a response before it goes out (``{sev1: [head-of-comms]}``):
    at those severities a response is a draft until someone else of one of these roles approves it."""


ResponseKindName = Literal[
    "holding_statement", "official_statement", "apology", "correction", "private_reply"
]


@dataclass(frozen=True)
class ResponseTemplate:
    """A prepared answer (``responses:``): words weighed in calm hours, filled and edited in the storm."""

    id: str
    kind: ResponseKindName
    text: str
    """The words, with ``{brand}``, ``{topic}``, ``{title}``, ``{time}``, ``{agent}`` filled when picked."""
    language: Literal["en", "fr"] = "en"
    severities: tuple[Literal["sev1", "sev2", "sev3", "sev4"], ...] = ()
    """The severities it is meant for; empty = any."""
    name: str | None = None
    """How the respond form lists it (default: its kind and id)."""


Level = Literal["calm", "watch", "alert", "crisis"]
"""A topic's crisis level. One home for the word: scoring publishes it, the journal records it, the wall
shows it."""
LEVELS: tuple[Level, ...] = get_args(Level)
"""The levels, mildest first."""


AlertTrigger = Literal[
    "level_change",
    "sla_breach",
    "ack_timeout",
    "new_incident",
    "source_down",
    "resurgence",
    "approval_needed",
]
ALERT_TRIGGERS: tuple[AlertTrigger, ...] = get_args(AlertTrigger)
"""The triggers an output's ``on`` can list, in this order (every one by default). ``approval_needed``:
a response draft waits for a second person (its approvers are also reached through their routes,
whatever ``on`` says, as the ladder's people are)."""


@dataclass(frozen=True)
class AlertSettings:
    """One output: where alerts go, on which triggers, above which level or severity.

    Secrets (``secret``, ``routing_key``, ``api_key``, ``token``, ``password``) must be written as
    ``${ENV_VAR}``: check-config refuses them written in the file."""

    type: Literal["bell", "desktop", "webhook", "email", "ntfy", "pagerduty", "opsgenie"]
    id: str | None = None
    """How routes and the journal name this output (default: its type, numbered when repeated)."""
    url: str | None = None
    """webhook: where to POST; ntfy: the server (https://ntfy.sh); pagerduty: the Events API v2 enqueue
    URL; opsgenie: the API base (https://api.opsgenie.com, or api.eu.opsgenie.com)."""
    format: Literal["slack", "mattermost", "teams", "json"] = "json"
    on: tuple[AlertTrigger, ...] = ALERT_TRIGGERS
    min_level: Level | None = None
    """Level changes below this level are not sent (a fall back to calm included)."""
    min_severity: Literal["sev1", "sev2", "sev3", "sev4"] | None = None
    """Incident alerts less severe than this are not sent."""
    to: tuple[str, ...] = ()
    """email: addresses; ntfy: topics; opsgenie: responders (user names) that get every alert of ``on``
    (the ladder adds the people of each step through their ``routes``)."""
    cooldown: timedelta = timedelta(minutes=5)
    """After a message, a channel holds the next ones this long and sends them as one (0 = no hold).
    SEV1 and ladder pages never wait."""
    quiet_hours: str | None = None
    """``22:00-07:00`` in the desk's time zone: only SEV1–2 incidents get through then."""
    secret: str | None = None
    """webhook (json): the Standard Webhooks signing secret (``whsec_…``): ``${TOCSIN_HOOK_SECRET}``."""
    routing_key: str | None = None
    """pagerduty: the integration's routing key: ``${PAGERDUTY_ROUTING_KEY}``."""
    api_key: str | None = None
    """opsgenie: the API integration key: ``${OPSGENIE_API_KEY}``."""
    token: str | None = None
    """ntfy: an access token, for protected topics: ``${NTFY_TOKEN}``."""
    host: str | None = None
    """email: the SMTP server."""
    port: int | None = None
    """email: 587 with starttls, 465 with tls, 25 without (the default follows ``tls``)."""
    tls: Literal["starttls", "tls", "none"] = "starttls"
    username: str | None = None
    password: str | None = None
    """email: ``${TOCSIN_SMTP_PASSWORD}``."""
    sender: str | None = None
    """email: the From address."""


# --- publishing ---------------------------------------------------------------------------------

PublishPlatform = Literal["mastodon", "bluesky", "x"]
PUBLISH_PLATFORMS: tuple[PublishPlatform, ...] = get_args(PublishPlatform)
"""The platforms the desk can post an approved response on itself (others: copied, posted by hand)."""
PUBLISH_BASE_URLS: dict[str, str] = {"bluesky": "https://bsky.social", "x": "https://api.x.com"}
"""Where each platform's write API lives when ``base_url`` is left out (Mastodon has no default: the
account's own instance)."""


@dataclass(frozen=True)
class PublishAccount:
    """An account the desk posts approved responses from (``publish:``), one per platform.

    Credentials must be written as ``${ENV_VAR}`` (check-config refuses a value in the file); they are
    never stored in the journal, an export, a log line or an error message."""

    platform: PublishPlatform
    id: str | None = None
    """How the journal names this account (default: the platform)."""
    base_url: str | None = None
    """mastodon: the account's instance (required); bluesky: its PDS (https://bsky.social); x: the API
    (https://api.x.com). Tests and proxies point it elsewhere."""
    handle: str | None = None
    """bluesky: the handle (or DID) to log in with (required); x: the account's username, for the
    links recorded (else ``x.com/i/web/status/…``); mastodon: shown only."""
    token: str | None = None
    """mastodon: an access token with the ``write:statuses`` scope: ``${MASTODON_PUBLISH_TOKEN}``;
    x: a user-context OAuth 2.0 token with ``tweet.write``: ``${X_USER_TOKEN}``."""
    password: str | None = None
    """bluesky: an app password (Settings → App passwords), never the account's own:
    ``${BLUESKY_APP_PASSWORD}``."""
    answers: tuple[str, ...] = ()
    """Source ids whose mentions this account answers, besides the sources of its platform's type (a
    jsonl replay or the demo standing for that platform)."""
    visibility: Literal["public", "unlisted", "private", "direct"] = "public"
    """mastodon: who sees the posts."""

    @property
    def name(self) -> str:
        """The account's id in the journal and on screen."""
        return self.id or self.platform

    @property
    def url(self) -> str:
        """The base URL, without a trailing slash (the platform's default when left out)."""
        return (self.base_url or PUBLISH_BASE_URLS.get(self.platform, "")).rstrip("/")


# --- ui -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UiSettings:
    refresh_hz: float = 10.0
    keymap: dict[str, str] = field(default_factory=dict)
    """Binding id → key, e.g. ``{filter: ctrl+f}``."""
    theme: str = "textual-dark"
    """A Textual theme, or ``tocsin-high-contrast`` (black and white, for glare and weak eyes)."""
    layout: str = "wall"
    """``wall``, ``compact``, ``triage``, ``signals``, ``people``, a pane's name (full screen) or panes
    joined by commas (``tocsin.config.layouts``); ``--layout`` and ``--pane`` override it."""


# --- the whole ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    desk: DeskSettings = field(default_factory=DeskSettings)
    topics: tuple[TopicSettings, ...] = ()
    sources: tuple[SourceSettings, ...] = ()
    scoring: ScoringSettings = field(default_factory=ScoringSettings)
    team: TeamSettings = field(default_factory=TeamSettings)
    alerts: tuple[AlertSettings, ...] = ()
    responses: tuple[ResponseTemplate, ...] = ()
    """The response library: prepared holding statements, statements, apologies, corrections, replies."""
    publish: tuple[PublishAccount, ...] = ()
    """The accounts approved responses are posted from; a platform without one gets copied text."""
    ui: UiSettings = field(default_factory=UiSettings)
    path: str | None = field(default=None, compare=False)
    """The file these came from (None for the embedded default built in code)."""


def replays_on_simulated_clock(source: SourceSettings) -> bool:
    """Whether this source replays on a simulated clock: the demo, or a jsonl replay with ``speed``."""
    return isinstance(source, DemoSourceSettings) or (
        isinstance(source, JsonlSourceSettings) and source.speed is not None
    )


def runs_on_simulated_clock(settings: Settings) -> bool:
    """Whether this desk runs on a simulated clock: its times are not the wall clock's, so it keeps to a
    journal of its own."""
    return any(replays_on_simulated_clock(s) for s in settings.sources)
