"""EXIF orientation (JPEG, PNG, WebP, HEIC) and crop boxes, honoured and refused."""

from __future__ import annotations

import pytest
from PIL import Image, ImageDraw, ImageStat

from photos.images import process_image

from .support import (
    BLUE,
    GREEN,
    RED,
    WHITE,
    YELLOW,
    _close,
    _exif,
    encode,
    mean_difference,
    photo,
    reference,
    rejected,
    rendition,
)


def test_exif_orientation_6_turns_the_left_half_to_the_top() -> None:
    image = Image.new("RGB", (400, 200), BLUE)
    image.paste(RED, (0, 0, 200, 200))
    data = encode(image, "JPEG", quality=95, exif=_exif(6))

    result = process_image(data)
    standard = rendition(result)

    assert (result.source_width, result.source_height) == (200, 400)
    assert _close(standard.getpixel((100, 100)), RED, 8)
    assert _close(standard.getpixel((540, 100)), RED, 8)
    assert _close(standard.getpixel((100, 540)), BLUE, 8)
    assert _close(standard.getpixel((540, 540)), BLUE, 8)


def _quadrants(size: tuple[int, int]) -> Image.Image:
    image = Image.new("RGB", size, YELLOW)
    w, h = size
    image.paste(RED, (0, 0, w // 2, h // 2))
    image.paste(BLUE, (w // 2, 0, w, h // 2))
    image.paste(GREEN, (0, h // 2, w // 2, h))
    ImageDraw.Draw(image).ellipse((w // 8, h // 8, w // 3, h // 3), fill=WHITE)
    return image


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_orientation_matches_exif_transpose(fmt: str, orientation: int) -> None:
    data = encode(_quadrants((1800, 1400)), fmt, exif=_exif(orientation), quality=95)
    upright = (1400, 1800) if orientation >= 5 else (1800, 1400)
    box = (upright[0] - 1000, 100, upright[0] - 10, 1090)  # off-centre, near an edge

    for crop in (None, box):
        result = process_image(data, crop=crop)
        assert (result.source_width, result.source_height) == upright
        assert mean_difference(rendition(result), reference(data, crop)) < 3


def test_heic_rotation_is_applied_by_libheif_once() -> None:
    image = Image.new("RGB", (400, 200), BLUE)
    image.paste(RED, (0, 0, 200, 200))
    data = encode(image, "HEIF", exif=_exif(6))

    result = process_image(data)
    standard = rendition(result)

    assert (result.source_width, result.source_height) == (200, 400)
    assert _close(standard.getpixel((320, 100)), RED, 10)
    assert _close(standard.getpixel((320, 540)), BLUE, 10)


def test_crop_box_is_honoured() -> None:
    image = Image.new("RGB", (1200, 900), BLUE)
    image.paste(RED, (700, 100, 1100, 500))

    result = process_image(encode(image, "PNG"), crop=(700, 100, 1100, 500))

    assert _close(ImageStat.Stat(rendition(result)).mean, RED, 3)


def test_crop_box_within_one_percent_of_square_is_accepted() -> None:
    result = process_image(encode(photo((800, 600)), "PNG"), crop=(10, 10, 410, 406))

    assert rendition(result).size == (640, 640)


@pytest.mark.parametrize(
    ("crop", "message"),
    [
        ((-1, 0, 299, 300), "must lie inside the 480×360 image"),
        ((200, 100, 500, 400), "must lie inside the 480×360 image"),
        ((100, 100, 100, 300), "must lie inside"),
        ((300, 0, 0, 300), "must lie inside"),
        ((0, 0, 300, 250), "it must be square (sides within 1% of each other)"),
        ((0, 0, 304, 300), "it must be square"),
        ((0, 0, 149, 149), "it must be at least 150×150"),
        ((0.0, 0, 300, 300), "four whole pixel numbers"),
        ((0, 0, 300), "four whole pixel numbers"),
        ((True, 0, 300, 300), "four whole pixel numbers"),
    ],
)
def test_bad_crop_boxes_are_refused(crop: tuple[int, int, int, int], message: str) -> None:
    error = rejected(encode(photo(), "PNG"), crop=crop)

    assert error.code == "bad_crop"
    assert message in error.message
