"""A photo's renditions: the shared image pipeline (instaclone.images) under the chosen filter."""

from __future__ import annotations

from functools import partial

from instaclone.images import (
    MAX_FRAMES,
    REJECTION_CODES,
    RENDITIONS,
    ImageRejected,
    Processed,
    Rendition,
    sniff_format,
)
from instaclone.images import process_image as _render
from photos.filters import apply_filter, filter_spec

__all__ = [
    "MAX_FRAMES",
    "REJECTION_CODES",
    "RENDITIONS",
    "ImageRejected",
    "Processed",
    "Rendition",
    "process_image",
    "sniff_format",
]


def process_image(
    data: bytes,
    *,
    filter_name: str = "Normal",
    crop: tuple[int, int, int, int] | None = None,
    max_bytes: int = 25 * 1024 * 1024,
    max_pixels: int = 50_000_000,
) -> Processed:
    """Validate ``data`` and render its filtered 640/320/150 squares; raise ImageRejected.

    ``crop`` is as for instaclone.images.process_image. An unknown ``filter_name`` raises
    photos.filters.UnknownFilter before anything is decoded.
    """
    filter_spec(filter_name)
    return _render(
        data,
        crop=crop,
        finish=partial(apply_filter, name=filter_name),
        max_bytes=max_bytes,
        max_pixels=max_pixels,
    )
