"""Hostile WebPs: bombs by VP8, VP8L and VP8X headers, huge canvases, cuts, frame floods."""

from __future__ import annotations

import struct
from functools import cache

from PIL import Image

from .cases import ACCEPTED, add, add_cuts, noise, save, scene


def _riff(body: bytes) -> bytes:
    return b"RIFF" + struct.pack("<I", len(body) + 4) + b"WEBP" + body


def _webp_chunk(kind: bytes, data: bytes) -> bytes:
    return kind + struct.pack("<I", len(data)) + data + (b"\x00" if len(data) % 2 else b"")


def _u24(value: int) -> bytes:
    return value.to_bytes(3, "little")


@cache
def _vp8l_pixel() -> bytes:
    """Return the VP8L bitstream of a 1x1 lossless WebP, as libwebp writes it."""
    data = save(Image.new("RGB", (1, 1), (200, 40, 40)), "WEBP", lossless=True)
    return data[20 : 20 + int.from_bytes(data[16:20], "little")]


def _vp8l_declaring(width: int, height: int) -> bytes:
    pixel = bytearray(_vp8l_pixel())
    flags = int.from_bytes(pixel[1:5], "little") & ~0xFFFFFFF  # keep alpha hint and version
    pixel[1:5] = (flags | (width - 1) | (height - 1) << 14).to_bytes(4, "little")
    return _riff(_webp_chunk(b"VP8L", bytes(pixel)))


def _vp8_declaring(width: int, height: int) -> bytes:
    data = bytearray(save(scene(16, 16), "WEBP", quality=80))
    data[26:30] = struct.pack("<HH", width, height)  # after the key frame's start code
    return bytes(data)


def _webp_animation(width: int, height: int, frames: int) -> bytes:
    """Return an animated WebP of ``frames`` 1x1 lossless frames on a width x height canvas."""
    vp8x = b"\x02\x00\x00\x00" + _u24(width - 1) + _u24(height - 1)  # flags: animation
    anim = b"\x00\x00\x00\x00\x00\x00"  # background colour, loop count
    placement = _u24(0) * 4 + _u24(20) + b"\x00"  # x/2, y/2, width-1, height-1, duration, flags
    frame = _webp_chunk(b"ANMF", placement + _webp_chunk(b"VP8L", _vp8l_pixel()))
    return _riff(_webp_chunk(b"VP8X", vp8x) + _webp_chunk(b"ANIM", anim) + frame * frames)


add(
    "webp_riff_header_only",
    "empty",
    "corrupt",
    "A RIFF/WEBP header and a chunk tag, no chunk.",
    lambda: b"RIFF\x04\x00\x00\x00WEBPVP8 ",
)

for _name, _why, _make in [
    (
        "webp_vp8l_16384x16384",
        "Lossless WebP's largest size, in 38 bytes.",
        lambda: _vp8l_declaring(16384, 16384),
    ),
    (
        "webp_vp8l_8000x8000",
        "64 MP: libwebp allocates 2 RGBA canvases (512 MB) as Pillow merely opens it.",
        lambda: _vp8l_declaring(8000, 8000),
    ),
    (
        "webp_vp8_16383x16383",
        "A lossy WebP key frame declaring 16383 square.",
        lambda: _vp8_declaring(16383, 16383),
    ),
    (
        "webp_vp8x_canvas_16777216_square",
        "An animation on the largest canvas VP8X can declare.",
        lambda: _webp_animation(2**24, 2**24, 1),
    ),
    (
        "webp_vp8x_canvas_7000x7000",
        "49 MP, under the cap, in a valid animation: libwebp's canvases alone take 400 MB.",
        lambda: _webp_animation(7000, 7000, 1),
    ),
]:
    add(_name, "bomb", "too_many_pixels", _why, _make)

add_cuts("webp_lossy", lambda: save(noise(128, 128), "WEBP", quality=90))
add_cuts("webp_lossless", lambda: save(noise(128, 128), "WEBP", lossless=True))

add(
    "webp_5000_frames",
    "flood",
    "animation_too_long",
    "A 1x1 animated WebP of 5000 frames.",
    lambda: _webp_animation(1, 1, 5000),
)
add(
    "webp_lossless_alpha",
    "valid",
    ACCEPTED,
    "A lossless WebP with a real alpha gradient.",
    lambda: save(
        Image.merge("RGBA", (*scene().split(), Image.linear_gradient("L").resize((96, 64)))),
        "WEBP",
        lossless=True,
    ),
)
