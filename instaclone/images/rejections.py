"""Why an upload cannot become a photo: a machine code and a sentence for the person."""

from __future__ import annotations

REJECTION_CODES = frozenset(
    {
        "empty",
        "too_large",
        "too_many_pixels",
        "unsupported_format",
        "corrupt",
        "animation_too_long",
        "bad_crop",
    }
)


class ImageRejected(ValueError):
    """An upload refused before or while decoding; ``code`` for clients, ``message`` for people."""

    def __init__(self, code: str, message: str) -> None:
        if code not in REJECTION_CODES:
            raise ValueError(f"unknown rejection code {code!r}")
        super().__init__(message)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"ImageRejected({self.code!r}, {self.message!r})"


def animation_too_long(limit: int) -> ImageRejected:
    """Return the rejection of an animation of more than ``limit`` frames."""
    return ImageRejected(
        "animation_too_long",
        f"The animation has more than {limit:,} frames; the limit is {limit:,} "
        "(only the first frame is posted).",
    )


def too_large(size: int, limit: int) -> ImageRejected:
    """Return the rejection of a file of ``size`` bytes, over the ``limit``."""
    return ImageRejected(
        "too_large", f"The file is {megabytes(size)}; the limit is {megabytes(limit)}."
    )


def megapixels(pixels: float) -> str:
    """Format a pixel count as megapixels for a message ("12.0 megapixels")."""
    return f"{pixels / 1_000_000:.1f} megapixels"


def megabytes(size: float) -> str:
    """Format a byte count as MB for a message ("25.0 MB")."""
    return f"{size / (1024 * 1024):.1f} MB"
