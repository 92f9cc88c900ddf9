"""Parsing of the IDs clients send in paths and query strings."""

from __future__ import annotations

from instaclone.api.errors import APIInvalidParametersError

# IDs are positive signed 64-bit integers (Postgres bigint); 19 digits hold every one.
MAX_ID = 2**63 - 1
_MAX_DIGITS = 19
# Text parameters match this: Postgres text cannot hold NUL, so one is bad input, not a 500.
NO_NUL = r"^[^\x00]*$"
# Echo at most this much of a bad value back, so a huge parameter cannot bloat the answer.
_ECHO = 40


def parse_id(raw: str, *, name: str, media_form: bool = False) -> int:
    """Return ``raw`` as an ID, or raise APIInvalidParametersError naming parameter ``name``.

    Accepts decimal digits only (no sign, no spaces). With ``media_form``, v1's media ID form
    ``<photo_id>_<user_id>`` is accepted too and reads as the photo ID.
    """
    head, underscore, owner = raw.partition("_") if media_form else (raw, "", "")
    valid = _is_digits(head) and (not underscore or _is_digits(owner))
    if not valid or not 0 < int(head) <= MAX_ID:
        raise APIInvalidParametersError(
            f"{name} must be a positive 64-bit integer, got {_echo(raw)}"
        )
    return int(head)


def _is_digits(text: str) -> bool:
    # str.isdigit alone accepts superscripts and other scripts' digits, which int() refuses.
    return 0 < len(text) <= _MAX_DIGITS and text.isascii() and text.isdigit()


def _echo(raw: str) -> str:
    shown = raw if len(raw) <= _ECHO else raw[:_ECHO] + "..."
    return repr(shown)
