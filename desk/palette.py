"""Colours that carry meaning on the wall: crisis levels and sentiment labels.

Style strings of ours (never mention data); ``$…`` names follow the active Textual theme.
"""

from __future__ import annotations

LEVEL_STYLE: dict[str, str] = {
    "calm": "bold $success",
    "watch": "bold $warning",
    "alert": "bold $text on $warning-darken-2",
    "crisis": "bold $text on $error",
}
"""The level badge. Alert and crisis are reversed so they catch the eye from across the room."""

LEVEL_MARK: dict[str, str] = {"calm": "●", "watch": "▲", "alert": "◆", "crisis": "■"}
"""A shape per level, so the level reads without colour too."""

SENTIMENT_STYLE: dict[str, str] = {
    "negative": "$text-error",
    "neutral": "$foreground-muted",
    "positive": "$text-success",
    "unscored": "$foreground-muted 60%",
}
SENTIMENT_SIGN: dict[str, str] = {"negative": "−", "neutral": "·", "positive": "+", "unscored": " "}
"""A sign per label, so the feed reads without colour too."""

SOURCE_STATE_MARK: dict[str, tuple[str, str]] = {
    "connecting": ("◌", "$warning"),
    "live": ("●", "$success"),
    "reconnecting": ("◌", "$warning"),
    "failed": ("✖", "$error"),
    "finished": ("✔", "$foreground-muted"),
    "stopped": ("■", "$foreground-muted"),
}


def level_style(level: str) -> str:
    """The badge style of a level (unknown levels look calm-neutral, never crash the wall)."""
    return LEVEL_STYLE.get(level, "bold")
