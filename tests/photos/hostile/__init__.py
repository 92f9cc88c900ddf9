"""Hostile uploads, generated in code: bombs, polyglots, truncations, foreign formats, floods.

Each case names the outcome the upload pipeline must give: a rejection code, or "accepted" for
files that are valid images (polyglots included: their renditions are re-encoded and must not
carry the payload's bytes). The cases live in a module per format, plus polyglots, foreign
formats and crops; importing the package gathers them all into CASES. ``python -m hostile``
(with this folder's parent on the path) runs them: see ``runner``.
"""

# Importing a module registers its cases.
from . import crops, foreign, gif, heif, jpeg, png, polyglots, webp  # noqa: F401
from .cases import ACCEPTED, CASES, CODES, MEMORY_LIMIT, TIME_LIMIT, Case
from .runner import case_named

__all__ = ["ACCEPTED", "CASES", "CODES", "MEMORY_LIMIT", "TIME_LIMIT", "Case", "case_named"]
