"""Size limits: declared dimensions, pixel caps, decode-memory budgets and peak process memory."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
import warnings
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

from photos.images import process_image
from tests.photos.hostile.png import png_declaring

from .support import BLUE, MB, _exif, encode, photo, rejected

ROOT = Path(__file__).resolve().parents[3]


def _jpeg_declaring(width: int, height: int) -> bytes:
    data = bytearray(encode(Image.new("RGB", (16, 16)), "JPEG"))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def _gif_declaring(width: int, height: int) -> bytes:
    data = bytearray(encode(Image.new("P", (16, 16)), "GIF"))
    data[6:10] = struct.pack("<HH", width, height)
    descriptor = data.index(b"\x2c\x00\x00\x00\x00")
    data[descriptor + 5 : descriptor + 9] = struct.pack("<HH", width, height)
    return bytes(data)


def _webp_declaring(width: int, height: int) -> bytes:
    data = bytearray(encode(Image.new("RGB", (16, 16)), "WEBP", exif=_exif(1)))
    assert data[12:16] == b"VP8X"
    data[24:30] = (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    return bytes(data)


@pytest.mark.parametrize("make", [png_declaring, _jpeg_declaring, _gif_declaring, _webp_declaring])
@pytest.mark.parametrize("size", [(20000, 20000), (10000, 10000), (8000, 6251)])
def test_a_small_file_declaring_huge_dimensions_is_refused_quickly(
    make: Callable[[int, int], bytes], size: tuple[int, int]
) -> None:
    data = make(*size)
    assert len(data) < 2000
    limit = Image.MAX_IMAGE_PIXELS

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Pillow's bomb warning must not escape as a warning
        error = rejected(data)

    assert error.code == "too_many_pixels"
    # PNG and GIF are held to the lower lossless cap.
    cap = "24.0" if make in (png_declaring, _gif_declaring) else "50.0"
    assert f"the limit is {cap} megapixels" in error.message
    assert Image.MAX_IMAGE_PIXELS == limit  # the call's own limit is put back


def test_the_pixel_cap_is_inclusive_and_configurable() -> None:
    data = encode(Image.new("RGB", (1000, 1000), BLUE), "PNG")

    assert process_image(data, max_pixels=1_000_000).source_width == 1000
    error = rejected(data, max_pixels=900_000)
    assert error.code == "too_many_pixels"
    assert error.message == "The image has 1.0 megapixels; the limit is 0.9 megapixels."


def test_progressive_jpeg_too_big_to_decode_in_budget_is_refused() -> None:
    # 4:4:4 progressive keeps 6 bytes of coefficients a pixel whatever the draft scale.
    # Noisy enough to hold a bit for each of the declared size's blocks.
    data = bytearray(
        encode(photo((1600, 1600)), "JPEG", progressive=True, subsampling=0, quality=95)
    )
    assert len(data) * 8 > 3 * 49_000_000 / 64
    at = data.index(b"\xff\xc2")
    data[at + 5 : at + 9] = struct.pack(">HH", 7000, 7000)

    error = rejected(bytes(data))

    assert error.code == "too_many_pixels"
    assert error.message == (
        "The image is 7000×7000 pixels (49.0 megapixels); progressive JPEGs with this colour "
        "sampling can be at most 36.0 megapixels to fit in memory."
    )


def test_jpeg_too_short_for_its_declared_size_is_corrupt() -> None:
    # Cut short and closed with EOI, libjpeg would paint the missing blocks grey silently;
    # every 8x8 block costs at least a bit, which such a file cannot hold.
    error = rejected(_jpeg_declaring(7000, 7000))

    assert error.code == "corrupt"


def test_megapixel_formatting_of_the_budget_message_is_exact() -> None:
    data = encode(Image.new("RGB", (4000, 4000)), "WEBP", lossless=True)

    error = rejected(data)

    assert error.code == "too_many_pixels"
    assert error.message == (
        "The image is 4000×4000 pixels (16.0 megapixels); WebP images can be at most "
        "12.8 megapixels to fit in memory."
    )


def test_lossless_formats_have_a_lower_pixel_cap() -> None:
    png = Image.new("RGB", (5000, 5000), BLUE)
    error = rejected(encode(png, "PNG", compress_level=1))
    assert error.code == "too_many_pixels"
    assert error.message == "The image has 25.0 megapixels; the limit is 24.0 megapixels."


MEASURE = """
import json, resource, sys
sys.path.insert(0, sys.argv[2])
from photos.images import ImageRejected, process_image
data = open(sys.argv[1], "rb").read()
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    process_image(data)
    outcome = "ok"
except ImageRejected as error:
    outcome = error.code
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"outcome": outcome, "grew_kib": after - before}))
"""


def _bombs() -> dict[str, tuple[Callable[[], bytes], str]]:
    """Return name -> (maker, expected outcome) of files that push the memory budget."""

    def flat(mode: str, size: tuple[int, int], fmt: str, **params: object) -> Callable[[], bytes]:
        return lambda: encode(Image.new(mode, size), fmt, **params)

    return {
        # Lossless formats stop at 24 MP: the largest that pass are what must fit the budget.
        "png-rgba-24mp": (flat("RGBA", (6000, 4000), "PNG", compress_level=1), "ok"),
        "png-palette-24mp": (flat("P", (6000, 4000), "PNG", compress_level=1), "ok"),
        "png-rgba-49mp": (flat("RGBA", (7000, 7000), "PNG", compress_level=1), "too_many_pixels"),
        "jpeg-progressive-420-49mp": (
            flat("RGB", (7000, 7000), "JPEG", progressive=True, quality=50),
            "ok",
        ),
        "jpeg-progressive-444-49mp": (
            flat("RGB", (7000, 7000), "JPEG", progressive=True, subsampling=0, quality=50),
            "too_many_pixels",
        ),
        "webp-12mp": (flat("RGB", (4000, 3000), "WEBP", lossless=True), "ok"),
        "webp-16mp": (flat("RGB", (4000, 4000), "WEBP", lossless=True), "too_many_pixels"),
        "heic-12mp": (flat("RGB", (4032, 3024), "HEIF"), "ok"),
        "png-declares-400mp": (lambda: png_declaring(20000, 20000), "too_many_pixels"),
    }


@pytest.mark.parametrize("name", _bombs())
def test_no_file_makes_the_process_allocate_more_than_256_mb(name: str, tmp_path: Path) -> None:
    # Pillow allocates pixels outside Python's allocator, so tracemalloc cannot see them: the
    # peak resident size of a fresh process is measured instead.
    make, expected = _bombs()[name]
    path = tmp_path / "upload"
    path.write_bytes(make())

    run = subprocess.run(
        [sys.executable, "-c", MEASURE, str(path), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    report = json.loads(run.stdout)

    assert report["outcome"] == expected
    assert report["grew_kib"] * 1024 < 256 * MB, f"{name} grew {report['grew_kib'] / 1024:.0f} MiB"
