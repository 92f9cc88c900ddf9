"""Hostile PNGs: bombs by header and by deflate, cuts, broken chunks, chunk and frame floods."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable

from .cases import ACCEPTED, MiB, add, add_cuts, noise, save, scene

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_AFTER_IHDR = 33  # the signature (8) and the IHDR chunk (25)


def png_file() -> bytes:
    """Return the scene as a PNG."""
    return save(scene(), "PNG")


def png_chunk(kind: bytes, data: bytes, *, crc: int | None = None) -> bytes:
    """Return a PNG chunk, with its right checksum unless ``crc`` is given."""
    checksum = zlib.crc32(kind + data) if crc is None else crc
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", checksum)


def png_with_chunk_after_header(chunk: bytes) -> bytes:
    """Return the scene as a PNG with ``chunk`` right after its IHDR."""
    data = png_file()
    return data[:PNG_AFTER_IHDR] + chunk + data[PNG_AFTER_IHDR:]


def _ihdr(
    width: int, height: int, depth: int = 8, colour: int = 2, crc: int | None = None
) -> bytes:
    return png_chunk(
        b"IHDR", struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0), crc=crc
    )


def _png(width: int, height: int, idat: bytes, *, depth: int = 8, colour: int = 2) -> bytes:
    """Return a PNG from a raw header and a ready-made IDAT payload."""
    return (
        PNG_SIGNATURE
        + _ihdr(width, height, depth, colour)
        + png_chunk(b"IDAT", idat)
        + png_chunk(b"IEND", b"")
    )


def png_declaring(width: int, height: int) -> bytes:
    """Return a tiny PNG whose header declares ``width`` x ``height``, with 4 KB of pixels."""
    return _png(width, height, zlib.compress(b"\x00" * 4096, 9))


def _deflated_zeros(size: int) -> bytes:
    """Return ``size`` zero bytes, deflated a mebibyte at a time."""
    squeeze = zlib.compressobj(9)
    zeros = bytes(MiB)
    whole, rest = divmod(size, MiB)
    parts = [squeeze.compress(zeros) for _ in range(whole)]
    return b"".join(parts) + squeeze.compress(zeros[:rest]) + squeeze.flush()


def _rgba_zeros_png(side: int) -> Callable[[], bytes]:
    """Return a maker of a transparent black RGBA PNG ``side`` pixels square."""
    return lambda: _png(side, side, _deflated_zeros(side * (1 + side * 4)), colour=6)


def _png_16_bit(colour: int, pixel: Callable[[int, int], bytes]) -> bytes:
    width, height = 48, 32
    rows = b"".join(b"\x00" + b"".join(pixel(x, y) for x in range(width)) for y in range(height))
    return _png(width, height, zlib.compress(rows), depth=16, colour=colour)


def _apng(frames: int) -> bytes:
    pixel = zlib.compress(b"\x00\x80\x40\x20")
    chunks = [_ihdr(1, 1), png_chunk(b"acTL", struct.pack(">II", frames, 0))]
    sequence = 0
    for frame in range(frames):
        control = struct.pack(">IIIIIHHBB", sequence, 1, 1, 0, 0, 1, 50, 0, 0)
        chunks.append(png_chunk(b"fcTL", control))
        if frame == 0:
            chunks.append(png_chunk(b"IDAT", pixel))
        else:
            chunks.append(png_chunk(b"fdAT", struct.pack(">I", sequence + 1) + pixel))
        sequence += 1 if frame == 0 else 2
    return PNG_SIGNATURE + b"".join(chunks) + png_chunk(b"IEND", b"")


def _png_idat_flood() -> bytes:
    """Return a 512x512 noise PNG whose pixel data is cut into one IDAT chunk per byte."""
    data = save(noise(512, 512), "PNG", compress_level=1)
    idat, pos = b"", PNG_AFTER_IHDR
    while pos < len(data):
        length = int.from_bytes(data[pos : pos + 4], "big")
        if data[pos + 4 : pos + 8] == b"IDAT":
            idat += data[pos + 8 : pos + 8 + length]
        pos += 12 + length
    one_byte_chunks = [png_chunk(b"IDAT", bytes((value,))) for value in range(256)]
    flood = b"".join(one_byte_chunks[value] for value in idat)
    return data[:PNG_AFTER_IHDR] + flood + png_chunk(b"IEND", b"")


add("png_signature_only", "empty", "corrupt", "The PNG signature alone.", lambda: PNG_SIGNATURE)

for _name, _why, _make in [
    ("png_30000x30000", "900 MP in 83 bytes.", lambda: png_declaring(30000, 30000)),
    (
        "png_8000x8000",
        "64 MP: over the 50 MP cap, under Pillow's own 89 MP warning.",
        lambda: png_declaring(8000, 8000),
    ),
    (
        "png_65535x65535_rgba16",
        "16-bit RGBA, 65535 square: 34 GB decoded.",
        lambda: _png(65535, 65535, zlib.compress(bytes(1024)), depth=16, colour=6),
    ),
    ("png_1x2147483647", "One pixel wide, 2^31-1 high.", lambda: png_declaring(1, 2**31 - 1)),
]:
    add(_name, "bomb", "too_many_pixels", _why, _make)

add("png_zero_width", "bomb", "corrupt", "A PNG 0 pixels wide.", lambda: png_declaring(0, 64))
for _side in (5000, 7000):
    add(
        f"png_rgba_{_side}x{_side}_of_zeros",
        "bomb",
        "too_many_pixels",
        f"{_side}x{_side} RGBA ({_side**2 // 10**6} MP, over the 24 MP cap for lossless formats) "
        f"deflated to under 200 KB: {_side**2 * 4 // MiB} MB decoded.",
        _rgba_zeros_png(_side),
    )
add(
    "png_rgba_4000x4000_of_zeros",
    "bomb",
    ACCEPTED,
    "4000x4000 RGBA (16 MP, under the lossless cap) deflated to kilobytes: 61 MB decoded.",
    _rgba_zeros_png(4000),
)

add_cuts("png", lambda: save(noise(128, 128), "PNG"))

add(
    "png_bad_header_crc",
    "malformed",
    "corrupt",
    "A PNG whose IHDR checksum is wrong.",
    lambda: (data := png_declaring(8, 8))[:8] + _ihdr(8, 8, crc=0xDEADBEEF) + data[33:],
)
add(
    "png_idat_not_deflate",
    "malformed",
    "corrupt",
    "A PNG whose IDAT is not a zlib stream.",
    lambda: _png(8, 8, b"this is not deflate data"),
)
add(
    "png_ztxt_zip_bomb",
    "malformed",
    "corrupt",
    "A PNG with a zTXt chunk inflating to 32 MB, ahead of the pixels.",
    lambda: png_with_chunk_after_header(
        png_chunk(b"zTXt", b"Comment\x00\x00" + _deflated_zeros(32 * MiB))
    ),
)
add(
    "png_iccp_zip_bomb",
    "malformed",
    "corrupt",
    "A PNG with an iCCP profile inflating to 32 MB.",
    lambda: png_with_chunk_after_header(
        png_chunk(b"iCCP", b"bomb\x00\x00" + _deflated_zeros(32 * MiB))
    ),
)
add(
    "png_text_chunk_flood",
    "malformed",
    "corrupt",
    "A PNG with a million tiny tEXt chunks (15 MB; Pillow parses each).",
    lambda: png_with_chunk_after_header(png_chunk(b"tEXt", b"a\x00b") * 1_000_000),
)
add(
    "png_idat_flood",
    "malformed",
    "corrupt",
    "A 512x512 PNG whose pixel data comes in 800,000 one-byte IDAT chunks (10 MB).",
    _png_idat_flood,
)

add(
    "apng_5000_frames",
    "flood",
    "animation_too_long",
    "A 1x1 animated PNG of 5000 frames.",
    lambda: _apng(5000),
)

for _name, _why, _make in [
    (
        "png_16_bit_rgb",
        "A 48-bit RGB PNG.",
        lambda: _png_16_bit(2, lambda x, y: struct.pack(">HHH", x * 1365, y * 2047, 40000)),
    ),
    (
        "png_16_bit_grey",
        "A 16-bit grey PNG (Pillow's mode I;16).",
        lambda: _png_16_bit(0, lambda x, y: struct.pack(">H", (x + y) * 800)),
    ),
    (
        "png_palette_transparent",
        "A palette PNG with a transparent colour.",
        lambda: save(scene().convert("P"), "PNG", transparency=0),
    ),
    (
        "png_grey_alpha",
        "A grey PNG with alpha (mode LA).",
        lambda: save(scene().convert("LA"), "PNG"),
    ),
]:
    add(_name, "valid", ACCEPTED, _why, _make)
