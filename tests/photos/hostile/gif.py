"""Hostile GIFs: huge screens and frames, cuts, frames short of pixels, frame floods."""

from __future__ import annotations

import struct
from collections.abc import Callable

from .cases import ACCEPTED, add, add_cuts, cut, noise, save, scene

GIF_PIXEL = b"\x02\x02\x44\x01\x00"  # LZW minimum code size 2, one sub-block of one pixel, end
GIF_PALETTE = b"\xff\x00\x00\x00\x00\xff"


def gif(width: int, height: int, frames: int = 1, *, extensions: bytes = b"") -> bytes:
    """Return a GIF with a two-colour palette and ``frames`` 1x1 frames of 20 ms."""
    screen = b"GIF89a" + struct.pack("<HHBBB", width, height, 0x80, 0, 0) + GIF_PALETTE
    frame = b"\x21\xf9\x04\x00\x02\x00\x00\x00\x2c" + struct.pack("<HHHHB", 0, 0, 1, 1, 0)
    return screen + extensions + (frame + GIF_PIXEL) * frames + b";"


def _gif_huge_frame() -> bytes:
    screen = b"GIF89a" + struct.pack("<HHBBB", 1, 1, 0x80, 0, 0) + GIF_PALETTE
    return screen + b"\x2c" + struct.pack("<HHHHB", 0, 0, 65535, 65535, 0) + GIF_PIXEL + b";"


def _gif_animation() -> bytes:
    frames = [scene(64, 64).rotate(36 * i).convert("P") for i in range(10)]
    return save(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100)


def _noise_gif(height: int = 128) -> bytes:
    """Return 128 x ``height`` pixels of noise as a GIF, not interlaced (rows in order)."""
    return save(noise(128, height).convert("P"), "GIF", interlace=False)


def _frame(data: bytes) -> tuple[int, int, int]:
    """Return where the first image descriptor, its LZW data and its block terminator lie."""
    pos = 13 + (3 << ((data[10] & 7) + 1) if data[10] & 0x80 else 0)
    while data[pos] == 0x21:  # extensions: introducer, label, sub-blocks
        pos += 2
        while data[pos]:
            pos += 1 + data[pos]
        pos += 1
    flags = data[pos + 9]
    lzw = pos + 10 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)
    end = lzw + 1
    while data[end]:
        end += 1 + data[end]
    return pos, lzw, end


def _lzw_ends_early(after: Callable[[], bytes]) -> Callable[[], bytes]:
    """Return a maker of a 128x128 GIF whose frame's LZW data ends, whole, after 64 rows."""

    def make() -> bytes:
        data = bytearray(_noise_gif(64))
        descriptor, _, end = _frame(bytes(data))
        data[8:10] = data[descriptor + 7 : descriptor + 9] = struct.pack("<H", 128)
        return bytes(data[: end + 1]) + after()

    return make


def _second_frame() -> bytes:
    """Return a whole 128x128 frame (descriptor to block terminator), then a trailer."""
    data = _noise_gif()
    descriptor, _, end = _frame(data)
    return data[descriptor : end + 1] + b";"


def _blocks_end_early() -> bytes:
    """Return a GIF whose frame's sub-blocks end half-way, the other half after the terminator."""
    data = _noise_gif()
    _, lzw, end = _frame(data)
    blocks, pos = [], lzw + 1
    while pos < end:
        blocks.append(data[pos : pos + 1 + data[pos]])
        pos += 1 + data[pos]
    half = len(blocks) // 2
    return data[: lzw + 1] + b"".join(blocks[:half]) + b"\x00" + b"".join(blocks[half:]) + b"\x00;"


add("gif_magic_only", "empty", "corrupt", "The GIF signature alone.", lambda: b"GIF89a")

add(
    "gif_screen_65535x65535",
    "bomb",
    "too_many_pixels",
    "A 65535-square logical screen around one pixel.",
    lambda: gif(65535, 65535),
)
add(
    "gif_frame_larger_than_screen",
    "bomb",
    "too_many_pixels",
    "A 1x1 screen holding a 65535-square frame.",
    _gif_huge_frame,
)

add_cuts("gif", lambda: save(noise(128, 128).convert("P"), "GIF"))
for _name, _why, _make in [
    (
        "gif_cut_mid_lzw_with_trailer",
        "A 128x128 GIF cut in the middle of its LZW data, then a trailer.",
        lambda: cut(_noise_gif, 50)() + b";",
    ),
    (
        "gif_cut_mid_lzw_with_terminator_and_trailer",
        "A 128x128 GIF cut in the middle of its LZW data, then a block terminator and a trailer.",
        lambda: cut(_noise_gif, 50)() + b"\x00;",
    ),
    (
        "gif_first_frame_lzw_ends_early",
        "A 128x128 GIF whose LZW data codes 64 rows, then its end code, terminator and trailer.",
        _lzw_ends_early(lambda: b";"),
    ),
    (
        "gif_first_frame_lzw_ends_early_then_second_frame",
        "The same frame of 64 rows in 128, followed by a whole second frame.",
        _lzw_ends_early(_second_frame),
    ),
    (
        "gif_first_frame_blocks_end_early",
        "A GIF whose frame's sub-blocks end half-way; Pillow read on into the rest as pixels.",
        _blocks_end_early,
    ),
]:
    add(_name, "truncated", "corrupt", _why, _make)

add(
    "gif_5000_frames",
    "flood",
    "animation_too_long",
    "A 1x1 GIF of 5000 frames.",
    lambda: gif(1, 1, 5000),
)
add(
    "gif_ten_frames",
    "flood",
    ACCEPTED,
    "An ordinary animation: its first frame is posted.",
    _gif_animation,
)
add(
    "gif_not_interlaced",
    "valid",
    ACCEPTED,
    "A GIF whose rows come in order (Pillow interlaces those of 16 pixels and more).",
    _noise_gif,
)
