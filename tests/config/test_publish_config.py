"""check-config on ``publish:``: what each platform's account needs, credentials only from the
environment (never echoed), one account per platform, ``answers`` naming sources it can reply to."""

from __future__ import annotations

from tocsin.config.accounts import account_for, mention_prefix
from tocsin.config.loader import load_settings

BASE = """\
desk: {operator: camille}
topics: [{id: brioche, keywords: [brioche]}]
sources: [{type: demo, id: demo}, {type: bluesky, id: bsky}]
"""


def test_each_platform_needs_its_credentials_from_the_environment(problems) -> None:
    text = (
        BASE
        + """\
publish:
  - {platform: mastodon, token: written-in-the-file}
  - {platform: bluesky, handle: brand.example, token: "${TOK}"}
  - {platform: x, password: "${TOK}", base_url: "ftp://api.example"}
"""
    )
    assert problems(text, env={"TOK": "s3cret-value"}) == [
        "site.yaml:5: publish[0].base_url: a mastodon account needs its instance (https://…)",
        "site.yaml:5: publish[0].token: a secret comes from the environment: write ${TOKEN_VAR}, "
        "not the value",
        "site.yaml:6: publish[1].password: a bluesky account needs an app password: ${BLUESKY_APP_PASSWORD}",
        "site.yaml:6: publish[1].token: a bluesky account logs in with password",
        "site.yaml:7: publish[2].token: an x account needs a user-context OAuth 2.0 token: ${X_USER_TOKEN}",
        "site.yaml:7: publish[2].base_url: expected an http:// or https:// URL",
        "site.yaml:7: publish[2].password: an x account logs in with token",
    ]


def test_one_account_per_platform_answering_sources_it_can_reply_to(problems) -> None:
    text = (
        BASE
        + """\
publish:
  - {platform: mastodon, base_url: "https://m.example", token: "${TOK}", answers: [demo, nope, bsky]}
  - {platform: mastodon, base_url: "https://n.example", token: "${TOK}"}
  - {platform: x, token: "${TOK}", answers: [demo]}
"""
    )
    said = problems(text, env={"TOK": "s3cret-value"})
    assert said == [
        "site.yaml:5: publish[0].answers[1]: no source 'nope' in sources (ids: bsky, demo)",
        "site.yaml:5: publish[0].answers[2]: 'bsky' reads bluesky: mastodon cannot reply there",
        "site.yaml:6: publish[1].platform: a second mastodon account (publish[0] is one): "
        "the desk would not know which one answers",
        "site.yaml:7: publish[2].answers[0]: 'demo' is already answered by the account 'mastodon'",
    ]
    assert not any("s3cret-value" in line for line in said)


def test_a_good_publish_section_and_who_answers_what(write) -> None:
    path = write(
        BASE
        + """\
publish:
  - {platform: mastodon, id: brand, base_url: "https://m.example/", token: "${TOK}", answers: [demo]}
  - {platform: bluesky, handle: brand.example, password: "${APP}"}
"""
    )
    settings = load_settings(path, env={"TOK": "t", "APP": "p"})
    masto, bsky = settings.publish
    assert masto.url == "https://m.example" and bsky.url == "https://bsky.social" and masto.name == "brand"
    demo_post = {"source": "demo", "platform": "demo", "handle": "julie"}
    assert account_for(settings, demo_post, "mastodon") is masto
    assert account_for(settings, demo_post, "brand") is masto
    assert account_for(settings, demo_post, "press") is None  # a press statement stays one
    assert account_for(settings, {"source": "bsky", "platform": "bluesky"}, "bsky") is bsky
    assert account_for(settings, None, "Bluesky") is bsky and account_for(settings, None, "x") is None
    assert mention_prefix(settings, demo_post, "mastodon") == "@julie "
    assert mention_prefix(settings, {"source": "bsky", "platform": "bluesky", "handle": "j"}, "bsky") == ""
