"""The fuzzer's starting inputs: the small hostile cases and good pictures of every format."""

from __future__ import annotations

import hashlib
from io import BytesIO
from pathlib import Path

from PIL import ExifTags, Image, ImageDraw

# libFuzzer's -max_len: bigger seeds would be cut, and mutating megabytes is slow for nothing.
MAX_SEED_BYTES = 64 * 1024


def _picture(size: tuple[int, int], mode: str = "RGB") -> Image.Image:
    """Return a small picture with edges and colours, so decoders have work to do."""
    image = Image.merge(
        "RGB",
        (
            Image.linear_gradient("L").resize(size),
            Image.radial_gradient("L").resize(size),
            Image.effect_noise(size, 40).convert("L"),
        ),
    )
    ImageDraw.Draw(image).ellipse((2, 2, size[0] // 2, size[1] // 2), fill=(250, 200, 20))
    return image.convert(mode)


def _save(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def _exif(orientation: int) -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.Base.Make] = "FuzzCam"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (52.0, 22.0, 1.0)
    return exif


def good_pictures() -> dict[str, bytes]:
    """Return small valid pictures of every accepted format and the odd layouts of each."""
    import pillow_heif

    rgb = _picture((48, 32))
    animation = [_picture((24, 16), "P"), _picture((24, 16), "P").rotate(90)]
    heif = BytesIO()
    pillow_heif.from_pillow(_picture((32, 24))).save(heif, quality=60)
    return {
        "jpeg_baseline": _save(rgb, "JPEG", quality=80),
        "jpeg_progressive_exif_6": _save(
            rgb, "JPEG", progressive=True, exif=_exif(6), comment=b"a comment"
        ),
        "jpeg_restart_markers_444": _save(rgb, "JPEG", subsampling=0, restart_marker_blocks=1),
        "jpeg_grey": _save(rgb.convert("L"), "JPEG"),
        "jpeg_cmyk": _save(rgb.convert("CMYK"), "JPEG"),
        "png_rgb_exif_3": _save(rgb, "PNG", exif=_exif(3)),
        "png_rgba": _save(_picture((40, 40), "RGBA"), "PNG"),
        "png_palette_transparency": _save(_picture((40, 30), "P"), "PNG", transparency=3),
        "png_grey16": _save(_picture((20, 20), "L").convert("I;16"), "PNG"),
        "apng_two_frames": _save(animation[0], "PNG", save_all=True, append_images=animation[1:]),
        "gif_two_frames": _save(animation[0], "GIF", save_all=True, append_images=animation[1:]),
        "webp_lossy": _save(rgb, "WEBP", quality=60),
        "webp_lossless_alpha": _save(_picture((32, 32), "RGBA"), "WEBP", lossless=True),
        "webp_animated": _save(
            _picture((24, 16)), "WEBP", save_all=True, append_images=[_picture((24, 16))]
        ),
        "heif": heif.getvalue(),
    }


def hostile_seeds() -> dict[str, bytes]:
    """Return the hostile corpus's cases of at most MAX_SEED_BYTES, by name."""
    from tests.photos.hostile import CASES

    seeds = {}
    for case in CASES:
        data = case.data()
        if 0 < len(data) <= MAX_SEED_BYTES:
            seeds[case.name] = data
    return seeds


def write_seeds(directory: Path) -> int:
    """Write every seed into ``directory``, named by its hash; return how many differ."""
    directory.mkdir(parents=True, exist_ok=True)
    seeds = {**hostile_seeds(), **good_pictures()}
    for data in seeds.values():
        (directory / hashlib.sha1(data).hexdigest()).write_bytes(data)  # noqa: S324 - a name
    return len({hashlib.sha256(data).digest() for data in seeds.values()})
