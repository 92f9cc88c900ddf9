"""Helpers the image pipeline tests share: making, encoding, decoding and comparing images."""

from __future__ import annotations

import struct
import time
from collections.abc import Callable
from io import BytesIO

import pillow_heif
import pytest
from PIL import ExifTags, Image, ImageChops, ImageDraw, ImageOps, ImageStat

from photos.images import ImageRejected, Processed, process_image

# The tests open HEIF fixtures with Pillow too, whichever test runs first: register the opener
# as the pipeline does on its first HEIF (instaclone/images/probe.py).
pillow_heif.register_heif_opener(thumbnails=False, depth_images=False, aux_images=False)

RED, BLUE, GREEN, YELLOW, WHITE = (255, 0, 0), (0, 0, 255), (0, 160, 0), (255, 220, 0), (255,) * 3
MB = 1024 * 1024


def photo(size: tuple[int, int] = (480, 360)) -> Image.Image:
    """Return a photo-like RGB image: gradients, noise and a few shapes."""
    red = Image.linear_gradient("L").resize(size)
    green = Image.radial_gradient("L").resize(size)
    blue = Image.effect_noise(size, 48)
    image = Image.merge("RGB", (red, green, blue))
    draw = ImageDraw.Draw(image)
    draw.ellipse((size[0] // 5, size[1] // 5, size[0] // 2, size[1] // 2), fill=YELLOW)
    draw.rectangle((size[0] * 3 // 5, size[1] // 2, size[0] - 10, size[1] - 10), fill=GREEN)
    return image


def encode(image: Image.Image, fmt: str, **params: object) -> bytes:
    """Return ``image`` saved as ``fmt`` (HEIF through pillow-heif's encoder)."""
    buffer = BytesIO()
    if fmt == "HEIF":
        pillow_heif.from_pillow(image).save(buffer, quality=90, **params)
    else:
        image.save(buffer, fmt, **params)
    return buffer.getvalue()


def decoded(data: bytes) -> Image.Image:
    """Return the rendition ``data`` decoded to RGB."""
    image = Image.open(BytesIO(data))
    image.load()
    return image


def rendition(result: Processed, name: str = "standard") -> Image.Image:
    return decoded(next(r.data for r in result.renditions if r.name == name))


def markers(jpeg: bytes) -> list[tuple[int, bytes]]:
    """Return every (marker, payload) of a JPEG, entropy-coded data skipped."""
    assert jpeg[:2] == b"\xff\xd8"
    found: list[tuple[int, bytes]] = [(0xD8, b"")]
    pos = 2
    while pos < len(jpeg):
        assert jpeg[pos] == 0xFF, f"no marker at {pos}"
        marker = jpeg[pos + 1]
        if marker == 0xD9:
            found.append((marker, b""))
            assert pos + 2 == len(jpeg), "bytes after EOI"
            return found
        length = struct.unpack(">H", jpeg[pos + 2 : pos + 4])[0]
        found.append((marker, jpeg[pos + 4 : pos + 2 + length]))
        pos += 2 + length
        if marker == 0xDA:  # skip entropy-coded data: 0xFF is followed by 0x00 or an RST
            while not (jpeg[pos] == 0xFF and jpeg[pos + 1] not in (0x00, *range(0xD0, 0xD8))):
                pos += 1
    raise AssertionError("no EOI")


def mean_difference(a: Image.Image, b: Image.Image) -> float:
    """Return the mean absolute difference of two same-size RGB images, over all channels."""
    return sum(ImageStat.Stat(ImageChops.difference(a, b)).mean) / 3


def reference(data: bytes, box: tuple[int, int, int, int] | None = None) -> Image.Image:
    """Return the straightforward 640 square: full decode, exif_transpose, white, crop, Lanczos."""
    image = ImageOps.exif_transpose(Image.open(BytesIO(data)))
    rgba = image.convert("RGBA")
    flat = Image.new("RGB", image.size, WHITE)
    flat.paste(rgba, mask=rgba)
    if box is None:
        side = min(flat.size)
        left, top = (flat.width - side) // 2, (flat.height - side) // 2
        box = (left, top, left + side, top + side)
    square = flat.crop(box).resize((640, 640), Image.Resampling.LANCZOS)
    # Through the same encoder, so comparisons measure the pipeline, not JPEG's loss.
    return decoded(encode(square, "JPEG", quality=85))


def rejected(data: bytes, **params: object) -> ImageRejected:
    """Return the ImageRejected that processing ``data`` raises, timing it (< 1 s)."""
    start = time.monotonic()
    with pytest.raises(ImageRejected) as caught:
        process_image(data, **params)  # type: ignore[arg-type]
    assert time.monotonic() - start < 1.0
    return caught.value


def _close(actual: object, expected: object, tolerance: int = 4) -> bool:
    assert isinstance(actual, tuple | list) and isinstance(expected, tuple | list)
    return all(abs(a - e) <= tolerance for a, e in zip(actual, expected, strict=True))


def _exif(orientation: int) -> bytes:
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    return exif.tobytes()


def _png_with_alpha() -> bytes:
    image = photo().convert("RGBA")
    image.putalpha(Image.linear_gradient("L").resize(image.size))
    return encode(image, "PNG")


def _gif_two_frames() -> bytes:
    first, second = Image.new("RGB", (300, 300), RED), Image.new("RGB", (300, 300), BLUE)
    return encode(first, "GIF", save_all=True, append_images=[second], duration=100, loop=0)


FORMATS: dict[str, Callable[[], bytes]] = {
    "JPEG": lambda: encode(photo(), "JPEG", quality=92),
    "PNG": _png_with_alpha,
    "WEBP": lambda: encode(photo(), "WEBP", quality=90),
    "GIF": _gif_two_frames,
    "HEIF": lambda: encode(photo(), "HEIF"),
}
