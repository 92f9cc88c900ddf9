"""Vignette and frame masks, drawn once per image size and cached."""

from __future__ import annotations

from functools import lru_cache

from PIL import Image, ImageDraw

from photos.filters.recipes import Frame


@lru_cache(maxsize=64)
def vignette_mask(size: tuple[int, int], strength: float, start: float) -> Image.Image:
    """Return the cached "L" mask: 255 (keep) inside ``start``, falling to 255 * (1 - strength)."""
    # Pillow's radial gradient is 0 at the centre and 255 at the corners of its 256x256 square.
    distance = Image.radial_gradient("L").resize(size, Image.Resampling.BILINEAR)
    shape = []
    for value in range(256):
        t = min(1.0, max(0.0, (value / 255 - start) / (1 - start)))
        shape.append(round(255 * (1 - strength * t * t * (3 - 2 * t))))
    return distance.point(shape)


@lru_cache(maxsize=64)
def frame_mask(size: tuple[int, int], frame: Frame) -> Image.Image:
    """Return the cached "L" mask: 255 on the border, 0 on the picture inside it."""
    mask = Image.new("L", size, 255)
    short = min(size)
    inset = max(1, round(short * frame.width))
    box = (inset, inset, size[0] - 1 - inset, size[1] - 1 - inset)
    if box[2] > box[0] and box[3] > box[1]:
        radius = round(short * frame.radius)
        ImageDraw.Draw(mask).rounded_rectangle(box, radius=radius, fill=0)
    return mask
