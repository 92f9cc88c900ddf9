"""Instagram's 2011 filters as tone curves, a colour matrix, a vignette and an optional frame.

Everything a filter needs is computed once: its lookup table at import, its masks once per image
size (cached). Applying a filter is then a colour-matrix ``convert``, one ``point`` and at most one
``composite`` (plus one masked ``paste`` for the two framed filters) -- no resampling, no
per-pixel Python, and nothing random, so the same input always gives the same bytes.
"""

from photos.filters.masks import frame_mask, vignette_mask
from photos.filters.names import FILTER_NAMES, UnknownFilter, filter_name, filter_slug, filter_spec
from photos.filters.recipes import SPECS, FilterSpec, Frame, Vignette
from photos.filters.render import apply_filter

__all__ = [
    "FILTER_NAMES",
    "SPECS",
    "FilterSpec",
    "Frame",
    "UnknownFilter",
    "Vignette",
    "apply_filter",
    "filter_name",
    "filter_slug",
    "filter_spec",
    "frame_mask",
    "vignette_mask",
]
