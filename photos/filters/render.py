"""Apply a filter: one colour matrix, one lookup, at most one composite and one paste."""

from __future__ import annotations

from PIL import Image

from photos.filters.masks import frame_mask, vignette_mask
from photos.filters.names import filter_spec
from photos.filters.tables import MATRICES, TABLES


def apply_filter(image: Image.Image, name: str) -> Image.Image:
    """Return a new RGB image of the same size: ``image`` (RGB) under the filter ``name``."""
    spec = filter_spec(name)
    if image.mode != "RGB":
        raise ValueError(f"apply_filter needs an RGB image, not mode {image.mode!r}")
    if spec.slug == "normal":
        return image.copy()
    matrix = MATRICES.get(spec.slug)
    out = image.convert("RGB", matrix) if matrix else image
    out = out.point(TABLES[spec.slug])
    if spec.vignette is not None:
        vignette = spec.vignette
        mask = vignette_mask(image.size, vignette.strength, vignette.start)
        out = Image.composite(out, Image.new("RGB", image.size, vignette.colour), mask)
    if spec.frame is not None:
        out.paste(spec.frame.colour, (0, 0, *image.size), frame_mask(image.size, spec.frame))
    return out
