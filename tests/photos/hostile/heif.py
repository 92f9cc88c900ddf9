"""Hostile HEICs: the file type box alone, bombs by their image extents, cuts; an iPhone's photo."""

from __future__ import annotations

import io
import struct

from PIL import Image

from .cases import ACCEPTED, add, add_cuts, noise, scene


def heic(image: Image.Image) -> bytes:
    """Return ``image`` as an HEVC-coded HEIC, as an iPhone sends."""
    import pillow_heif

    buffer = io.BytesIO()
    pillow_heif.from_pillow(image).save(buffer, quality=80)
    return buffer.getvalue()


def _heic_declaring(width: int, height: int) -> bytes:
    """Return a small valid HEIC whose image spatial extents (ispe) say ``width`` x ``height``."""
    data = bytearray(heic(scene(64, 64)))
    at = data.index(b"ispe") + 8  # past the box type, version and flags
    data[at : at + 8] = struct.pack(">II", width, height)
    return bytes(data)


add(
    "heic_ftyp_only",
    "empty",
    "corrupt",
    "A HEIC file type box, and no image.",
    lambda: (data := heic(scene()))[: int.from_bytes(data[:4], "big")],
)

for _name, _why, _make in [
    (
        "heic_ispe_60000x60000",
        "A HEIC whose ispe box says 3.6 gigapixels.",
        lambda: _heic_declaring(60000, 60000),
    ),
    (
        "heic_ispe_8000x8000",
        "A HEIC whose ispe box says 64 MP.",
        lambda: _heic_declaring(8000, 8000),
    ),
]:
    add(_name, "bomb", "too_many_pixels", _why, _make)

add_cuts("heic", lambda: heic(noise(128, 128)))

add(
    "heic_photo", "valid", ACCEPTED, "A HEIC, as an iPhone sends by default.", lambda: heic(scene())
)
