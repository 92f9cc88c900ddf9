"""The rejections of structures no real encoder would write, and of JPEG data cut short."""

from __future__ import annotations

from instaclone.images.rejections import ImageRejected


def malformed(what: str) -> ImageRejected:
    """Return the rejection of a file whose structure no real encoder would write."""
    return ImageRejected("corrupt", f"The file is malformed: {what}.")


def incomplete_jpeg(what: str) -> ImageRejected:
    """Return the rejection of a JPEG whose image data is damaged or cut short."""
    return ImageRejected("corrupt", f"The JPEG file is damaged or incomplete: {what}.")
