"""Mention sources: the Mention model, the Source protocol, one module per source."""

from tocsin.sources.model import Author, Engagement, Mention, MentionFormatError

__all__ = ["Author", "Engagement", "Mention", "MentionFormatError"]
