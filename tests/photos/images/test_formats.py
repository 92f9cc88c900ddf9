"""Accepted formats and their renditions: modes, alpha, sizes, decoding, determinism."""

from __future__ import annotations

import pytest
from PIL import Image, ImageStat

from photos.images import process_image

from .support import (
    BLUE,
    FORMATS,
    RED,
    WHITE,
    _close,
    _gif_two_frames,
    decoded,
    encode,
    markers,
    mean_difference,
    photo,
    reference,
    rendition,
)

SIZES = {"standard": 640, "low": 320, "thumbnail": 150}


@pytest.mark.parametrize("fmt", FORMATS)
def test_each_allowed_format_becomes_three_square_progressive_jpegs(fmt: str) -> None:
    data = FORMATS[fmt]()

    result = process_image(data)

    assert result.source_format == fmt
    assert (result.source_width, result.source_height) == (
        (300, 300) if fmt == "GIF" else (480, 360)
    )
    assert [(r.name, r.size) for r in result.renditions] == list(SIZES.items())
    for item in result.renditions:
        image = decoded(item.data)
        assert (image.format, image.mode, image.size) == ("JPEG", "RGB", (item.size, item.size))
        assert image.info.get("progressive") == 1
        assert 0xC2 in [marker for marker, _ in markers(item.data)]  # SOF2: progressive


@pytest.mark.parametrize("size", [(1600, 1200), (4000, 3000), (3000, 4000)])
def test_standard_rendition_matches_a_full_resolution_reference(size: tuple[int, int]) -> None:
    data = encode(photo(size), "JPEG", quality=95)

    assert mean_difference(rendition(process_image(data)), reference(data)) < 2


def test_png_alpha_is_composited_over_white() -> None:
    image = Image.new("RGBA", (400, 400), (0, 0, 0, 0))
    image.paste((255, 0, 0, 255), (0, 0, 400, 200))

    standard = rendition(process_image(encode(image, "PNG")))

    assert _close(standard.getpixel((320, 100)), RED)
    assert _close(standard.getpixel((320, 540)), WHITE)


def test_palette_transparency_is_composited_over_white() -> None:
    image = Image.new("P", (300, 300), 1)
    image.putpalette([*RED, *BLUE] + [0] * 762)
    image.paste(0, (0, 0, 300, 150))
    data = encode(image, "GIF", transparency=1)

    standard = rendition(process_image(data))

    assert _close(standard.getpixel((320, 100)), RED)
    assert _close(standard.getpixel((320, 540)), WHITE)


def test_gif_animation_uses_its_first_frame() -> None:
    standard = rendition(process_image(_gif_two_frames()))

    assert _close(ImageStat.Stat(standard).mean, RED, 3)


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        (Image.new("L", (300, 300), 128), (128, 128, 128)),
        (Image.new("I;16", (300, 300), 128 * 257), (128, 128, 128)),
        (Image.new("LA", (300, 300), (0, 0)), WHITE),
        (Image.new("1", (300, 300), 1), WHITE),
        (Image.new("RGB", (300, 300), (10, 200, 30)), (10, 200, 30)),
    ],
    ids=["L", "I;16", "LA-transparent", "1-bit", "RGB"],
)
def test_png_modes_become_the_right_rgb(image: Image.Image, expected: tuple[int, ...]) -> None:
    standard = rendition(process_image(encode(image, "PNG")))

    assert _close(standard.getpixel((320, 320)), expected)


@pytest.mark.parametrize("mode", ["L", "CMYK"])
def test_greyscale_and_cmyk_jpegs_become_rgb(mode: str) -> None:
    image = Image.new("RGB", (1600, 1600), (0, 128, 255)).convert(mode)

    standard = rendition(process_image(encode(image, "JPEG", quality=95)))

    assert _close(standard.getpixel((320, 320)), image.convert("RGB").getpixel((0, 0)), 6)


def test_big_alpha_image_is_reduced_band_by_band_like_the_reference() -> None:
    # 3000 px: box-reduced by 2 in bands of BAND_PIXELS before the Lanczos pass.
    image = photo((3000, 3000)).convert("RGBA")
    image.putalpha(Image.radial_gradient("L").resize(image.size))
    data = encode(image, "PNG", compress_level=1)

    assert mean_difference(rendition(process_image(data)), reference(data)) < 3


def test_images_smaller_than_640_are_upscaled() -> None:
    result = process_image(encode(Image.new("RGB", (60, 40), BLUE), "PNG"))

    assert (result.source_width, result.source_height) == (60, 40)
    assert rendition(result).size == (640, 640)
    assert _close(rendition(result).getpixel((320, 320)), BLUE)


def test_format_is_read_from_the_content_not_a_name() -> None:
    png = encode(photo(), "PNG")  # whatever the upload was called, these are PNG bytes

    assert process_image(png).source_format == "PNG"


def test_processing_is_deterministic() -> None:
    for make in FORMATS.values():
        data = make()
        first, second = process_image(data), process_image(data)
        assert first == second


def test_a_filter_changes_the_pixels_and_an_unknown_one_is_refused() -> None:
    from photos.filters import FILTER_NAMES, UnknownFilter

    data = encode(photo(), "JPEG")
    normal = process_image(data)
    other = next(name for name in FILTER_NAMES if name != "Normal")

    assert mean_difference(rendition(process_image(data, filter_name=other)), rendition(normal)) > 2
    with pytest.raises(UnknownFilter):
        process_image(data, filter_name="No Such Filter")


def test_jpeg_is_decoded_in_draft_mode_at_the_smallest_scale_keeping_640(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from PIL import JpegImagePlugin

    scales: list[tuple[int, int]] = []
    original = JpegImagePlugin.JpegImageFile.draft

    def spy(self, mode, size):  # type: ignore[no-untyped-def]
        result = original(self, mode, size)
        scales.append(self.size)
        return result

    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "draft", spy)
    process_image(encode(photo((4000, 3000)), "JPEG"))

    assert scales == [(1000, 750)]  # 1/4 scale: the 3000 px square becomes 750 >= 640
