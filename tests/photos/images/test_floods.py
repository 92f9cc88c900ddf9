"""Floods refused before decoding: JPEG scans and segments, PNG chunks, GIF blocks, frames."""

from __future__ import annotations

import struct
import zlib

from PIL import Image

from photos.images import MAX_FRAMES, process_image

from .support import BLUE, RED, encode, photo, rejected


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
