"""The standard square resampled in two halves on two threads equals one resize of the box."""

from __future__ import annotations

import pytest
from PIL import Image, ImageChops

from instaclone.images.pipeline import STANDARD, _resize_square


@pytest.mark.parametrize(
    ("size", "box", "resample"),
    [
        ((1000, 750), (125.0, 0.0, 875.0, 750.0), Image.Resampling.BICUBIC),
        ((1000, 750), (10.5, 3.25, 713.5, 706.25), Image.Resampling.BICUBIC),
        ((3000, 2000), (0.0, 0.0, 2000.0, 2000.0), Image.Resampling.LANCZOS),
        ((500, 500), (0.0, 0.0, 500.0, 500.0), Image.Resampling.BICUBIC),  # upscaled
    ],
)
def test_split_resize_equals_one_resize(size, box, resample) -> None:
    image = Image.merge("RGB", [Image.effect_noise(size, 60 + 20 * band) for band in range(3)])
    whole = image.resize((STANDARD, STANDARD), resample, box=box)
    halves = _resize_square(image, resample, box)
    assert halves.size == (STANDARD, STANDARD)
    assert halves.mode == "RGB"
    # Float box edges may round one tap's weight differently; never by more than one level.
    assert max(high for _, high in ImageChops.difference(whole, halves).getextrema()) <= 1
