"""The image pipeline: formats, orientation, metadata stripping, crops, limits, memory, bytes."""

from __future__ import annotations

import json
import math
import struct
import subprocess
import sys
import time
import warnings
import zlib
from collections.abc import Callable
from io import BytesIO
from pathlib import Path

import pillow_heif
import pytest
from PIL import ExifTags, Image, ImageChops, ImageCms, ImageDraw, ImageFile, ImageOps, ImageStat
from PIL.PngImagePlugin import PngInfo

from photos.images import MAX_FRAMES, ImageRejected, Processed, process_image

ROOT = Path(__file__).resolve().parents[2]
RED, BLUE, GREEN, YELLOW, WHITE = (255, 0, 0), (0, 0, 255), (0, 160, 0), (255, 220, 0), (255,) * 3
SIZES = {"standard": 640, "low": 320, "thumbnail": 150}
MB = 1024 * 1024


# ---------------------------------------------------------------- making and reading images


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


# ---------------------------------------------------------------- formats and renditions


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


def _close(actual: object, expected: object, tolerance: int = 4) -> bool:
    assert isinstance(actual, tuple | list) and isinstance(expected, tuple | list)
    return all(abs(a - e) <= tolerance for a, e in zip(actual, expected, strict=True))


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


# ---------------------------------------------------------------- orientation


def _exif(orientation: int) -> bytes:
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    return exif.tobytes()


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


# ---------------------------------------------------------------- metadata


def _canary(where: str) -> bytes:
    return f"CANARY-{where}-7f3a".encode()


def _exif_with(where: str) -> bytes:
    """Return EXIF with the canary in ImageDescription, Artist, UserComment and GPS."""
    canary = _canary(where).decode()
    exif = Image.Exif()
    exif[ExifTags.Base.ImageDescription] = f"{canary}-description"
    exif[ExifTags.Base.Artist] = f"{canary}-artist"
    exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.UserComment] = b"ASCII\0\0\0" + (
        f"{canary}-comment".encode()
    )
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (51.0, 30.0, 26.6)
    gps[ExifTags.GPS.GPSLongitudeRef] = "W"
    gps[ExifTags.GPS.GPSLongitude] = (0.0, 7.0, 39.9)
    gps[ExifTags.GPS.GPSAreaInformation] = b"ASCII\0\0\0" + f"{canary}-gps".encode()
    return exif.tobytes()


def _xmp(where: str) -> bytes:
    return (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-'
        b'rdf-syntax-ns#"><rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/" '
        b'xmlns:exif="http://ns.adobe.com/exif/1.0/" exif:GPSLatitude="51,30.4N" dc:creator="'
        + _canary(where)
        + b'-xmp"/></rdf:RDF></x:xmpmeta>'
    )


def _icc(where: str) -> bytes:
    """Return a valid sRGB profile whose description is the (13-character) canary."""
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    description = f"ICC-{where}"[:13].ljust(13, "x")
    changed = profile.replace("sRGB built-in".encode("utf-16-be"), description.encode("utf-16-be"))
    assert changed != profile
    return changed


def _icc_canary(where: str) -> bytes:
    return f"ICC-{where}"[:13].ljust(13, "x").encode("utf-16-be")


def _png_info(where: str, kind: str) -> PngInfo:
    info = PngInfo()
    text = _canary(where).decode() + f"-{kind}"
    if kind == "tEXt":
        info.add_text("Comment", text)
    elif kind == "zTXt":
        info.add_text("Description", text, zip=True)
    elif kind == "iTXt":
        info.add_itxt("Author", text, lang="en", tkey="Author")
    else:
        info.add_itxt("XML:com.adobe.xmp", _xmp(where).decode())
    return info


# Each fixture: name -> (bytes, canaries that must vanish).
def _metadata_fixtures() -> dict[str, tuple[bytes, list[bytes]]]:
    jpeg, png, webp = photo(), photo(), photo()
    fixtures: dict[str, tuple[bytes, list[bytes]]] = {}

    def add(name: str, data: bytes, *canaries: bytes) -> None:
        fixtures[name] = (data, list(canaries))

    add("jpeg-exif", encode(jpeg, "JPEG", exif=_exif_with("je")), _canary("je"))
    add("jpeg-exif-rotated", encode(jpeg, "JPEG", exif=_exif_with("jr")), _canary("jr"))
    add("jpeg-xmp", encode(jpeg, "JPEG", xmp=_xmp("jx")), _canary("jx"), b"http://ns.adobe.com")
    add("jpeg-icc", encode(jpeg, "JPEG", icc_profile=_icc("ji")), _icc_canary("ji"))
    add("jpeg-comment", encode(jpeg, "JPEG", comment=_canary("jc")), _canary("jc"))
    add(
        "jpeg-everything",
        encode(
            jpeg,
            "JPEG",
            exif=_exif_with("ja"),
            xmp=_xmp("ja"),
            icc_profile=_icc("ja"),
            comment=_canary("ja"),
            progressive=True,
        ),
        _canary("ja"),
        _icc_canary("ja"),
    )
    for kind in ("tEXt", "zTXt", "iTXt", "XMP"):
        where = f"p{kind}"
        add(f"png-{kind}", encode(png, "PNG", pnginfo=_png_info(where, kind)), _canary(where))
    add("png-exif", encode(png, "PNG", exif=_exif_with("pe")), _canary("pe"))
    add("png-icc", encode(png, "PNG", icc_profile=_icc("pi")), _icc_canary("pi"))
    add("webp-exif", encode(webp, "WEBP", exif=_exif_with("we")), _canary("we"))
    add("webp-xmp", encode(webp, "WEBP", xmp=_xmp("wx")), _canary("wx"))
    add("webp-icc", encode(webp, "WEBP", icc_profile=_icc("wi")), _icc_canary("wi"))
    add("gif-comment", encode(photo().convert("P"), "GIF", comment=_canary("gc")), _canary("gc"))
    add(
        "heic-exif-xmp",
        encode(photo(), "HEIF", exif=_exif_with("he"), xmp=_xmp("he")),
        _canary("he"),
    )
    return fixtures


METADATA = _metadata_fixtures()


def test_there_are_at_least_a_dozen_metadata_fixtures() -> None:
    assert len(METADATA) >= 12


@pytest.mark.parametrize("name", METADATA)
def test_metadata_canaries_are_absent_from_every_rendition(name: str) -> None:
    data, canaries = METADATA[name]
    source = Image.open(BytesIO(data))
    source.load()
    carried = repr(source.info).encode() + data + (source.info.get("icc_profile") or b"")
    assert all(canary in carried for canary in canaries), "the fixture must carry its canaries"

    result = process_image(data)

    for item in result.renditions:
        for canary in canaries:
            assert canary not in item.data
        assert b"CANARY" not in item.data
        assert b"Exif" not in item.data
        assert b"http://ns.adobe.com/xap" not in item.data
        assert b"ICC_PROFILE" not in item.data


@pytest.mark.parametrize("name", ["jpeg-everything", "png-exif", "webp-icc", "heic-exif-xmp"])
def test_renditions_hold_only_jfif_tables_frame_and_scans(name: str) -> None:
    result = process_image(METADATA[name][0])

    for item in result.renditions:
        found = markers(item.data)
        kinds = {marker for marker, _ in found}
        assert kinds <= {0xD8, 0xE0, 0xDB, 0xC2, 0xC4, 0xDA, 0xD9}, sorted(map(hex, kinds))
        assert 0xFE not in kinds  # no COM: Pillow would write the source's comment back
        assert [p[:5] for m, p in found if m == 0xE0] == [b"JFIF\0"]
        image = decoded(item.data)
        assert not image.getexif()
        assert not {"exif", "icc_profile", "xmp", "comment"} & set(image.info)


def test_the_icc_profile_is_converted_into_the_pixels_before_it_is_dropped() -> None:
    # An sRGB-tagged image must come out as the untagged one does (a valid profile is used).
    image = photo()  # its noise is random: one image for both
    plain = process_image(encode(image, "PNG"))
    tagged = process_image(encode(image, "PNG", icc_profile=_icc("conv")))

    assert mean_difference(rendition(plain), rendition(tagged)) < 1.5


# ---------------------------------------------------------------- crops


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


# ---------------------------------------------------------------- refusals


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


def _png_declaring(width: int, height: int) -> bytes:
    """Return a tiny PNG whose header declares ``width`` x ``height`` RGB pixels."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


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


@pytest.mark.parametrize("make", [_png_declaring, _jpeg_declaring, _gif_declaring, _webp_declaring])
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
    cap = "24.0" if make in (_png_declaring, _gif_declaring) else "50.0"
    assert f"the limit is {cap} megapixels" in error.message or "that is the limit" in error.message
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


def test_a_progressive_scan_flood_is_refused_before_decoding() -> None:
    # libjpeg decodes every repeated scan in full: 57 KB can cost seconds.
    data = encode(Image.new("RGB", (1024, 1024), BLUE), "JPEG", progressive=True)
    eoi = data.rindex(b"\xff\xd9")
    last_scan = data.rindex(b"\xff\xda", 0, eoi)
    bomb = data[:eoi] + data[last_scan:eoi] * 200 + b"\xff\xd9"

    error = rejected(bomb)

    assert error.code == "corrupt"
    assert "scans; encoders write at most 100" in error.message


def test_a_jpeg_segment_flood_is_refused_before_pillow_parses_it() -> None:
    data = encode(photo(), "JPEG")
    flood = data[:2] + b"\xff\xfe\x00\x02" * 100_000 + data[2:]

    error = rejected(flood)

    assert error.code == "corrupt"
    assert error.message == (
        "The file is malformed: more than 1,000 JPEG segments before the image."
    )


def test_a_png_chunk_flood_is_refused_before_pillow_parses_it() -> None:
    data = encode(photo(), "PNG")
    text = b"tEXt" + b"a\x00b"
    chunk = struct.pack(">I", 3) + text + struct.pack(">I", zlib.crc32(text))
    flood = data[:33] + chunk * 100_000 + data[33:]  # after the 8-byte signature and IHDR

    error = rejected(flood)

    assert error.code == "corrupt"
    assert "the PNG is cut into more than" in error.message


def test_a_gif_sub_block_flood_is_refused() -> None:
    screen = b"GIF89a" + struct.pack("<HHBBB", 4, 4, 0x80, 0, 0) + bytes([*RED, *BLUE])
    descriptor = b"\x2c" + struct.pack("<HHHHB", 0, 0, 4, 4, 0) + b"\x02"
    flood = screen + descriptor + b"\x01\x00" * 200_000 + b"\x00;"

    error = rejected(flood)

    assert error.code == "corrupt"
    assert "more blocks than its size explains" in error.message


def test_a_png_whose_pixels_do_not_inflate_is_corrupt_not_blank() -> None:
    # Reading the orientation must not decode (and swallow the failure of) the pixels.
    data = bytearray(encode(Image.new("RGB", (8, 8), RED), "PNG"))
    idat = data.index(b"IDAT") + 4
    data[idat : idat + 4] = b"junk"

    assert rejected(bytes(data)).code == "corrupt"


def _gif_frames(count: int) -> bytes:
    frames = [Image.new("P", (4, 4), i % 2) for i in range(count)]
    for frame in frames:
        frame.putpalette([*RED, *BLUE] + [0] * 762)
    return encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=20)


def test_animation_floods_are_refused_quickly() -> None:
    # Consecutive frames differ: encoders merge identical ones.
    first, *rest = [Image.new("RGB", (4, 4), (i % 255 + 1, 0, 0)) for i in range(MAX_FRAMES + 1)]
    floods = [
        _gif_frames(MAX_FRAMES + 1),
        encode(first, "WEBP", save_all=True, append_images=rest, lossless=True),
        encode(first, "PNG", save_all=True, append_images=rest),
    ]
    for data in floods:
        error = rejected(data)
        assert error.code == "animation_too_long"
        assert error.message == (
            "The animation has more than 1,000 frames; the limit is 1,000 "
            "(only the first frame is posted)."
        )


def test_an_animation_of_exactly_the_limit_is_accepted() -> None:
    assert process_image(_gif_frames(MAX_FRAMES)).source_format == "GIF"


# ---------------------------------------------------------------- memory

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
        "png-declares-400mp": (lambda: _png_declaring(20000, 20000), "too_many_pixels"),
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


def test_megapixel_formatting_of_the_budget_message_is_exact() -> None:
    data = encode(Image.new("RGB", (4000, 4000)), "WEBP", lossless=True)

    error = rejected(data)

    assert error.code == "too_many_pixels"
    assert error.message == (
        "The image is 4000×4000 pixels (16.0 megapixels); WebP images can be at most "
        f"{208 * MB / 17 / 1e6:.1f} megapixels to fit in memory."
    )
    assert math.isclose(208 * MB / 17 / 1e6, 12.8, abs_tol=0.05)


def test_lossless_formats_have_a_lower_pixel_cap() -> None:
    png = Image.new("RGB", (5000, 5000), BLUE)
    error = rejected(encode(png, "PNG", compress_level=1))
    assert error.code == "too_many_pixels"
    assert error.message == "The image has 25.0 megapixels; the limit is 24.0 megapixels."
