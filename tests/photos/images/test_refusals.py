"""Refused uploads: empty, too large, foreign formats, truncated or otherwise corrupt files."""

from __future__ import annotations

import pytest
from PIL import Image, ImageFile

from photos.images import process_image

from .support import FORMATS, MB, RED, encode, photo, rejected


def test_empty_file_is_refused() -> None:
    error = rejected(b"")

    assert (error.code, error.message) == ("empty", "The file is empty.")


def test_file_over_the_byte_cap_is_refused_before_anything_else() -> None:
    error = rejected(b"\xff\xd8\xff" + b"\0" * 2 * MB, max_bytes=MB)

    assert error.code == "too_large"
    assert error.message == "The file is 2.0 MB; the limit is 1.0 MB."


@pytest.mark.parametrize(
    "data",
    [
        encode(photo(), "BMP"),
        encode(photo(), "TIFF"),
        encode(photo(), "AVIF"),
        b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n",
        b"<svg xmlns='http://www.w3.org/2000/svg'/>",
        b"just some text that is not an image",
        b"PK\x03\x04" + b"\0" * 100,
    ],
    ids=["bmp", "tiff", "avif", "pdf", "svg", "text", "zip"],
)
def test_other_formats_are_refused_whatever_they_are_called(data: bytes) -> None:
    error = rejected(data)

    assert error.code == "unsupported_format"
    assert "not a JPEG, PNG, WebP, GIF or HEIC/HEIF image" in error.message


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("keep", [0.5, 0.9])
def test_truncated_files_are_refused_as_corrupt(fmt: str, keep: float) -> None:
    # One frame: a GIF cut inside a later frame still has its first one whole.
    data = encode(photo().convert("P"), "GIF") if fmt == "GIF" else FORMATS[fmt]()

    error = rejected(data[: int(len(data) * keep)])

    assert error.code == "corrupt"
    assert "damaged or incomplete" in error.message


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_signature_followed_by_garbage_is_corrupt(fmt: str) -> None:
    data = FORMATS[fmt]()

    error = rejected(data[:32] + bytes(range(256)) * 8)

    assert error.code == "corrupt"


def test_truncated_images_stay_refused_even_if_someone_loosens_pillow(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)

    with pytest.raises(RuntimeError, match="LOAD_TRUNCATED_IMAGES must stay False"):
        process_image(encode(photo(), "PNG"))


def test_a_png_whose_pixels_do_not_inflate_is_corrupt_not_blank() -> None:
    # Reading the orientation must not decode (and swallow the failure of) the pixels.
    data = bytearray(encode(Image.new("RGB", (8, 8), RED), "PNG"))
    idat = data.index(b"IDAT") + 4
    data[idat : idat + 4] = b"junk"

    assert rejected(bytes(data)).code == "corrupt"
