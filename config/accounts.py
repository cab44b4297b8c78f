"""Which ``publish:`` account posts a response: words the journal's CLI, the desk and the wall share.

A response that answers a post (``reply_to``: the post's source and that source's type) is posted by
the account whose ``answers`` lists the source, else by the account of the source's platform. One that
answers no post is a new post on the platform its channel names (``mastodon``, ``bluesky``/``bsky``,
``x``/``twitter``, or an account's id). Anything else (no account for that platform, a channel like
``press`` or ``email``) is posted by a person.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tocsin.config.settings import PublishAccount, Settings

CHANNEL_PLATFORMS: dict[str, str] = {
    "mastodon": "mastodon",
    "bluesky": "bluesky",
    "bsky": "bluesky",
    "x": "x",
    "twitter": "x",
}
"""What a response's channel may call a platform the desk posts on."""


def names_of(account: PublishAccount) -> set[str]:
    """What a response's channel may say to mean this account: its platform, an alias, its id."""
    names = {account.platform, account.name.lower()}
    names.update(alias for alias, platform in CHANNEL_PLATFORMS.items() if platform == account.platform)
    return names


def account_for(
    settings: Settings, reply_to: Mapping[str, Any] | None, channel: str
) -> PublishAccount | None:
    """The account that posts a response answering ``reply_to`` on ``channel`` (or, answering none, a
    new post on ``channel``); None when a person has to post it. A reply goes out only when its channel
    names the account's platform: a press statement written with a post chosen in the feed stays a
    press statement."""
    wanted = channel.strip().lower()
    if reply_to:
        source, platform = str(reply_to.get("source") or ""), str(reply_to.get("platform") or "")
        found = next((a for a in settings.publish if source in a.answers), None)
        found = found or next((a for a in settings.publish if a.platform == platform), None)
        return found if found is not None and wanted in names_of(found) else None
    for account in settings.publish:
        if account.id is not None and account.id.lower() == wanted:
            return account
    named = CHANNEL_PLATFORMS.get(wanted)
    return next((a for a in settings.publish if a.platform == named), None)


def replying_account(settings: Settings, reply_to: Mapping[str, Any] | None) -> PublishAccount | None:
    """The account that would answer ``reply_to`` (whatever the channel says): what the respond form
    proposes as the channel."""
    if not reply_to:
        return None
    source, platform = str(reply_to.get("source") or ""), str(reply_to.get("platform") or "")
    found = next((a for a in settings.publish if source in a.answers), None)
    return found or next((a for a in settings.publish if a.platform == platform), None)


def mention_prefix(settings: Settings, reply_to: Mapping[str, Any] | None, channel: str) -> str:
    """``@author `` to start a reply the desk will post on Mastodon: a Mastodon reply reaches its author
    only when it mentions them (Bluesky and X thread and notify by themselves). Added where the text is
    prepared (a template filled), so the words approved are the words that go out."""
    account = account_for(settings, reply_to, channel)
    handle = str((reply_to or {}).get("handle") or "").lstrip("@")
    if account is None or account.platform != "mastodon" or not handle:
        return ""
    return f"@{handle} "
