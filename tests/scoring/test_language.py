"""The FR/EN/other guess on the short texts a desk sees."""

from __future__ import annotations

import pytest

from tocsin.scoring.language import guess_language, normalize_lang, pack_vote, tokenize, unpack_votes


@pytest.mark.parametrize(
    "text",
    [
        "C'est vraiment nul",
        "j'adore !!",
        "Remboursez-moi svp",
        "Plus jamais chez eux",
        "le pain était rassis",
        "trop cher pour ce que c'est",
    ],
)
def test_short_french(text: str) -> None:
    assert guess_language(text) == "fr"


@pytest.mark.parametrize(
    "text",
    ["This is awful", "never again", "I want my money back", "worst bakery in town", "they don't care lol"],
)
def test_short_english(text: str) -> None:
    assert guess_language(text) == "en"


@pytest.mark.parametrize(
    "text",
    [
        "Das ist nicht gut",
        "Esto es muy malo, gracias",
        "東京で新しい店",
        "Это ужасно",
        "",
        "https://t.co/x @user",
    ],
)
def test_other(text: str) -> None:
    assert guess_language(text) == "other"


def test_platform_codes() -> None:
    assert normalize_lang("fr-CA") == "fr"
    assert normalize_lang("en_US") == "en"
    assert normalize_lang("EN") == "en"
    assert normalize_lang("ja") == "other"
    assert normalize_lang("und") is None
    assert normalize_lang(None) is None
    assert normalize_lang("") is None


def test_tokens_skip_links_and_handles_and_split_elisions() -> None:
    toks = tokenize("@maisonbrioche j'adore https://t.co/abc :-) #BriocheGate don't!!")
    assert toks == ["j'", "adore", ":-)", "#BriocheGate", "don'", "t", "!!"]


def test_packed_votes_add_up() -> None:
    total = pack_vote((1.0, 0.0, 0.0)) + pack_vote((0.5, 0.0, 0.0)) + pack_vote((0.0, 1.0, 0.0))
    total += pack_vote((0.0, 0.0, 1.0)) * 3
    assert unpack_votes(total) == (1.5, 1.0, 3.0)
