"""Hostile crop boxes, in the upright image's pixels, around a valid 400x300 JPEG."""

from __future__ import annotations

from .cases import add, save, scene

for _name, _why, _crop in [
    (
        "crop_off_the_edge",
        "A crop box running off a 400x300 image's right edge.",
        (300, 0, 600, 300),
    ),
    ("crop_of_no_area", "An empty crop box.", (10, 10, 10, 10)),
    (
        "crop_negative_corner",
        "A crop box starting left of and above the image.",
        (-100, -100, 200, 200),
    ),
    ("crop_not_square", "A 300x200 crop box.", (0, 0, 300, 200)),
    ("crop_inverted", "A crop box whose right edge is left of its left edge.", (300, 0, 0, 300)),
]:
    add(_name, "crop", "bad_crop", _why, lambda: save(scene(400, 300), "JPEG"), crop=_crop)
