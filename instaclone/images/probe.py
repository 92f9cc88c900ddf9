"""Read an upload's signature and headers, never its pixels, and refuse what must not be decoded."""

from __future__ import annotations

import math
import re
import struct
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from io import BytesIO

from PIL import ExifTags, Image, ImageFile

from instaclone.images.headers import (
    JpegStructure,
    check_png_chunks,
    gif_for_decoder,
    gif_frames,
    jpeg_for_decoder,
    jpeg_structure,
    sniff_format,
)
from instaclone.images.rejections import (
    ImageRejected,
    animation_too_long,
    megapixels,
    too_large,
)

LABELS = {"JPEG": "JPEG", "PNG": "PNG", "WEBP": "WebP", "GIF": "GIF", "HEIF": "HEIC/HEIF"}
MAX_FRAMES = 1000
# What one decode may allocate; the rest of the pipeline works on images of about 1 megapixel,
# so the process stays under 256 MB for any file (tests/photos/images/test_limits.py measures it).
DECODE_BUDGET = 208 * 1024 * 1024
# PNG and GIF are lossless: past 24 MP no real photo fits under the 25 MB byte cap, while a
# zero-filled one deflates to kilobytes and still costs a second of decoding.
LOSSLESS_MAX_PIXELS = 24_000_000
LOSSLESS_FORMATS = frozenset({"PNG", "GIF"})
# What Pillow and its plugins raise on malformed input: header parsers fail with struct.error,
# IndexError or KeyError as often as with the SyntaxError/OSError they are meant to raise.
DECODE_ERRORS: tuple[type[Exception], ...] = (
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
    struct.error,
    IndexError,
    KeyError,
    TypeError,
    ZeroDivisionError,
    OverflowError,
    RuntimeError,
)

# Bytes per pixel Pillow stores (its RGB is 4 bytes a pixel); anything not listed takes 4.
_PIXEL_BYTES = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16B": 2, "I;16L": 2, "I;16N": 2}
# Measured peaks of one decode per pixel: libwebp keeps two RGBA canvases and Pillow copies the
# frame through a bytes object; libheif holds its YCbCr planes and an RGB(A) copy beside ours.
_WEBP_BYTES_PER_PIXEL = 17
_HEIF_BYTES_PER_PIXEL = {"RGB": 8}
_HEIF_OTHER_BYTES_PER_PIXEL = 9
_PILLOW_GLOBALS = threading.Lock()


@dataclass(frozen=True)
class Source:
    """An opened, validated, not yet decoded upload."""

    image: ImageFile.ImageFile
    format: str
    width: int
    height: int
    orientation: int
    jpeg: JpegStructure | None = None

    @property
    def upright_size(self) -> tuple[int, int]:
        """Return (width, height) once the EXIF orientation is applied."""
        if self.orientation >= 5:
            return self.height, self.width
        return self.width, self.height


def open_source(data: bytes, *, max_bytes: int, max_pixels: int) -> Source:
    """Open ``data`` lazily after the byte, format, pixel and frame checks; raise ImageRejected."""
    if not data:
        raise ImageRejected("empty", "The file is empty.")
    if len(data) > max_bytes:
        raise too_large(len(data), max_bytes)
    fmt = sniff_format(data)
    if fmt is None:
        raise ImageRejected(
            "unsupported_format",
            "The file is not a JPEG, PNG, WebP, GIF or HEIC/HEIF image, whatever its name says.",
        )
    # Before Pillow sees the file: its parsers keep a Python object per JPEG segment or PNG
    # chunk, and libwebp's decoder, canvases included, is built while opening.
    if fmt in LOSSLESS_FORMATS:
        max_pixels = min(max_pixels, LOSSLESS_MAX_PIXELS)
    jpeg = jpeg_structure(data) if fmt == "JPEG" else None
    if fmt == "PNG":
        check_png_chunks(data, MAX_FRAMES)
    if fmt == "WEBP":
        _check_webp_header(data, max_pixels)
    image = _open(_for_decoder(data, fmt, jpeg), fmt, max_pixels)
    try:
        width, height = image.size
        _check_pixels(width, height, max_pixels)
        if jpeg is not None:
            _check_jpeg_length(image, (width, height), data, jpeg)
        _check_frames(data, fmt, image)
        return Source(image, fmt, width, height, _orientation(image), jpeg)
    except BaseException:
        image.close()
        raise


def _for_decoder(data: bytes, fmt: str, jpeg: JpegStructure | None) -> bytes:
    """Return the bytes Pillow is to read: image data that stops early must run out of input."""
    # Followed by a terminator (an EOI, a block terminator and what comes after), data cut
    # short decodes "successfully", with the missing pixels grey or taken from what follows.
    if jpeg is not None:
        return jpeg_for_decoder(data, jpeg)
    return gif_for_decoder(data) if fmt == "GIF" else data


def _open(data: bytes, fmt: str, max_pixels: int) -> ImageFile.ImageFile:
    """Parse the headers with the one Pillow plugin the signature names."""
    if fmt == "HEIF":
        _register_heif()
    try:
        with _pillow_pixel_limit(max_pixels):
            image = Image.open(BytesIO(data), formats=[fmt])
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        # Pillow's message is all that is left of the image: it names the pixel count.
        declared = re.search(r"\((\d+) pixels\)", str(exc))
        size = megapixels(int(declared[1])) if declared else "too many pixels"
        raise ImageRejected(
            "too_many_pixels",
            f"The image has {size}; the limit is {megapixels(max_pixels)}.",
        ) from exc
    except DECODE_ERRORS as exc:
        raise _corrupt(fmt) from exc
    if not isinstance(image, ImageFile.ImageFile):  # pragma: no cover - Image.open's contract
        raise _corrupt(fmt)
    return image


@contextmanager
def _pillow_pixel_limit(max_pixels: int) -> Iterator[None]:
    """Make Pillow's own bomb checks use ``max_pixels`` and its bomb warning an error."""
    # Both are process-wide; the lock keeps concurrent uploads from restoring each other's
    # values. Only Image.open runs under it, and it reads headers only.
    with _PILLOW_GLOBALS, warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        previous = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = max_pixels
        try:
            yield
        finally:
            Image.MAX_IMAGE_PIXELS = previous


@cache
def _register_heif() -> None:
    """Teach Pillow HEIF on first use, without the thumbnails, depth and auxiliary images."""
    import pillow_heif

    # Embedded thumbnails could stand in for the image in draft mode and need not show the same
    # picture; depth and auxiliary images are work nobody asked for.
    pillow_heif.register_heif_opener(thumbnails=False, depth_images=False, aux_images=False)


def _corrupt(fmt: str) -> ImageRejected:
    return ImageRejected(
        "corrupt", f"The {LABELS[fmt]} file is damaged or incomplete and cannot be read."
    )


def _check_pixels(width: int, height: int, max_pixels: int) -> None:
    if width < 1 or height < 1:
        raise ImageRejected("corrupt", f"The image declares an empty size ({width}×{height}).")
    if width * height > max_pixels:
        raise ImageRejected(
            "too_many_pixels",
            f"The image is {width}×{height} pixels ({megapixels(width * height)}); "
            f"the limit is {megapixels(max_pixels)}.",
        )


def _check_webp_header(data: bytes, max_pixels: int) -> None:
    """Refuse a WebP by the canvas size its header declares, as Pillow's plugin reads it."""
    chunk = data[12:16]
    size: tuple[int, int] | None = None
    if chunk == b"VP8 " and len(data) >= 30 and data[23:26] == b"\x9d\x01\x2a":
        size = (
            int.from_bytes(data[26:28], "little") & 0x3FFF,
            int.from_bytes(data[28:30], "little") & 0x3FFF,
        )
    elif chunk == b"VP8X" and len(data) >= 30:
        size = (
            int.from_bytes(data[24:27], "little") + 1,
            int.from_bytes(data[27:30], "little") + 1,
        )
    elif chunk == b"VP8L" and len(data) >= 25 and data[20] == 0x2F:
        bits = int.from_bytes(data[21:25], "little")
        size = ((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1)
    if size is None:
        raise _corrupt("WEBP")
    _check_pixels(*size, max_pixels)
    _check_cost(size[0] * size[1] * _WEBP_BYTES_PER_PIXEL, size, "WebP images")


def _check_frames(data: bytes, fmt: str, image: Image.Image) -> None:
    """Refuse animation floods; only the first frame is used, but a flood is hostile."""
    if fmt == "JPEG":
        return  # an MPO's extra pictures (depth, gain maps) are never animations
    frames = gif_frames(data, MAX_FRAMES) if fmt == "GIF" else getattr(image, "n_frames", 1)
    if frames > MAX_FRAMES:
        raise animation_too_long(MAX_FRAMES)


def _orientation(image: Image.Image) -> int:
    """Return the EXIF (or XMP) orientation 1-8; an unreadable or odd one counts as 1."""
    try:
        # The base class reads EXIF and XMP from the headers only; PNG's override decodes the
        # whole image first (looking for an eXIf chunk after the pixels), before any budget
        # check, and a failure there would be swallowed here.
        value = Image.Image.getexif(image).get(ExifTags.Base.Orientation, 1)
    except DECODE_ERRORS:
        return 1  # the metadata is thrown away anyway; a broken block must not cost the photo
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def check_decode_cost(source: Source) -> None:
    """Refuse a decode whose peak allocation would pass DECODE_BUDGET (after any JPEG draft)."""
    image, size = source.image, (source.width, source.height)
    if source.jpeg is not None:
        _check_jpeg_cost(image, size, source.jpeg)
    elif source.format == "HEIF":
        per_pixel = _HEIF_BYTES_PER_PIXEL.get(image.mode, _HEIF_OTHER_BYTES_PER_PIXEL)
        _check_cost(size[0] * size[1] * per_pixel, size, "HEIC/HEIF images")
    elif source.format != "WEBP":  # WebP was sized up before opening
        kind = f"{LABELS[source.format]} images of mode {image.mode}"
        _check_cost(size[0] * size[1] * _PIXEL_BYTES.get(image.mode, 4), size, kind)


def _check_cost(cost: float, size: tuple[int, int], kind: str) -> None:
    if cost <= DECODE_BUDGET:
        return
    pixels = size[0] * size[1]
    limit = pixels * DECODE_BUDGET / cost
    raise ImageRejected(
        "too_many_pixels",
        f"The image is {size[0]}×{size[1]} pixels ({megapixels(pixels)}); {kind} can be at "
        f"most {megapixels(limit)} to fit in memory.",
    )


def _check_jpeg_cost(image: Image.Image, size: tuple[int, int], jpeg: JpegStructure) -> None:
    """Refuse a JPEG whose drafted output, plus any whole-image coefficients, passes the budget."""
    output = image.size[0] * image.size[1] * _PIXEL_BYTES.get(image.mode, 4)
    if not jpeg.buffered:
        _check_cost(output, size, "JPEG images")
        return
    # A progressive or multi-scan JPEG keeps every DCT coefficient (2 bytes a sample) at full
    # size, whatever scale draft mode decodes at.
    buffered = output + 2 * 64 * _jpeg_blocks(image, size)
    _check_cost(buffered, size, "progressive JPEGs with this colour sampling")


def _jpeg_blocks(image: Image.Image, size: tuple[int, int]) -> int:
    """Return how many 8x8 DCT blocks the JPEG's components hold at full size."""
    layers = getattr(image, "layer", None) or [("", 1, 1, 0)] * len(image.getbands())
    h_max = max(layer[1] for layer in layers) or 1
    v_max = max(layer[2] for layer in layers) or 1
    return sum(
        math.ceil(size[0] * layer[1] / h_max / 8) * math.ceil(size[1] * layer[2] / v_max / 8)
        for layer in layers
    )


def _check_jpeg_length(
    image: Image.Image, size: tuple[int, int], data: bytes, jpeg: JpegStructure
) -> None:
    """Refuse a Huffman-coded JPEG too short to hold a bit for each of its blocks."""
    # libjpeg paints blocks missing before an early EOI grey without an error, so a tiny file
    # declaring 49 megapixels would decode "fine"; Huffman codes are at least a bit a block.
    if jpeg.arithmetic:
        return  # arithmetic coding can spend less than a bit on a block
    if len(data) * 8 < _jpeg_blocks(image, size):
        raise ImageRejected(
            "corrupt",
            f"The JPEG file is too short for the {size[0]}×{size[1]} pixels it declares; "
            "it is damaged or incomplete.",
        )
