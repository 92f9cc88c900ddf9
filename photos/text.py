"""Hashtags and @mentions in captions and comments."""

from __future__ import annotations

import re

TEXT_MAX = 2200
TAGS_MAX = 30
TAG_LENGTH_MAX = 100

# Letters, digits and underscores of any script, as Instagram's tags; not starting a word
# in the middle of another (e.g. "a#b" is no tag).
_HASHTAG = re.compile(r"(?<![\w#&])#(\w{1,100})(?!\w)", re.UNICODE)
# A tag's name as pages and the API take it: what a #hashtag holds.
TAG_NAME = re.compile(r"^\w{1,100}$", re.UNICODE)
_MENTION = re.compile(r"(?<![\w@])@([A-Za-z0-9._]{1,30})(?![A-Za-z0-9_])")


class TextInvalid(ValueError):
    """A caption or comment that cannot be posted; the message is for the person."""


def hashtags(text: str) -> list[str]:
    """Return the distinct hashtags of a text, lowercased, in order of first use."""
    return list(dict.fromkeys(tag.lower() for tag in _HASHTAG.findall(text)))


def mention_names(text: str) -> list[str]:
    """Return the distinct @usernames of a text, lowercased, in order of first use."""
    return list(dict.fromkeys(name.rstrip(".").lower() for name in _MENTION.findall(text)))


def text_clean(text: str, *, what: str) -> str:
    """Check a caption or comment: length and number of hashtags; return it stripped."""
    cleaned = text.strip()
    if len(cleaned) > TEXT_MAX:
        raise TextInvalid(f"The {what} is longer than {TEXT_MAX} characters.")
    if "\x00" in cleaned:
        raise TextInvalid(f"The {what} contains a NUL character.")
    if len(hashtags(cleaned)) > TAGS_MAX:
        raise TextInvalid(f"The {what} has more than {TAGS_MAX} hashtags.")
    return cleaned
