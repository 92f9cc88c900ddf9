"""The short code in a permalink (``/p/<code>/``): the photo ID in URL-safe base 64."""

from __future__ import annotations

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_INDEX = {char: value for value, char in enumerate(ALPHABET)}
CODE_MAX = 11  # 64 bits in six-bit digits


def shortcode(photo_id: int) -> str:
    """Return the short code of a photo ID."""
    if photo_id <= 0:
        raise ValueError(f"photo ID must be positive, got {photo_id}")
    digits = []
    while photo_id:
        photo_id, digit = divmod(photo_id, 64)
        digits.append(ALPHABET[digit])
    return "".join(reversed(digits))


def photo_id_from(code: str) -> int | None:
    """Return the photo ID a short code stands for, or None for a malformed one."""
    if not 0 < len(code) <= CODE_MAX or any(char not in _INDEX for char in code):
        return None
    value = 0
    for char in code:
        value = value * 64 + _INDEX[char]
    return value if 0 < value < 1 << 63 else None
