"""Hostile uploads, generated in code: bombs, polyglots, truncations, foreign formats, floods.

Each case names the outcome the upload pipeline must give: a rejection code, or "accepted" for
files that are valid images (polyglots included: their renditions are re-encoded and must not
carry the payload's bytes).

Run as a script, it feeds the named cases (all by default) to ``process_image`` one at a time
and prints a JSON line for each. Every call runs with the address space capped at what the
process already maps plus MEMORY_LIMIT, so an allocation past it fails (C ones included), and
its peak resident memory is read from the kernel's high-water mark, reset before each case.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import random
import resource
import signal
import struct
import sys
import time
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import FrameType

from PIL import Image

MEMORY_LIMIT = 256 * 1024 * 1024
TIME_LIMIT = 1.0
ACCEPTED = "accepted"
CODES = frozenset(
    {
        "empty",
        "too_large",
        "too_many_pixels",
        "unsupported_format",
        "corrupt",
        "animation_too_long",
        "bad_crop",
    }
)
MiB = 1024 * 1024
Crop = tuple[int, int, int, int]


@dataclass(frozen=True)
class Case:
    """One hostile upload: how to make it, and what the pipeline must answer."""

    name: str
    kind: str
    expected: str
    why: str
    make: Callable[[], bytes]
    payloads: tuple[bytes, ...] = ()
    crop: Crop | None = None

    def data(self) -> bytes:
        """Return the file's bytes (made afresh; making is deterministic)."""
        return self.make()


CASES: list[Case] = []


def _add(
    name: str,
    kind: str,
    expected: str,
    why: str,
    make: Callable[[], bytes],
    *,
    payloads: tuple[bytes, ...] = (),
    crop: Crop | None = None,
) -> None:
    """Register a case."""
    CASES.append(Case(name, kind, expected, why, make, payloads, crop))


# -- builders -----------------------------------------------------------------------------------


def _noise(width: int, height: int) -> Image.Image:
    """Return seeded RGB noise, which compresses badly, so files are long."""
    return Image.frombytes(
        "RGB", (width, height), random.Random(2011).randbytes(width * height * 3)
    )


def _scene(width: int = 96, height: int = 64) -> Image.Image:
    """Return a small smooth colourful RGB picture."""
    hue = Image.linear_gradient("L").rotate(90).resize((width, height))
    value = Image.linear_gradient("L").resize((width, height)).point(lambda v: 64 + v // 2)
    return Image.merge("HSV", (hue, Image.new("L", (width, height), 180), value)).convert("RGB")


def _save(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def _jpeg() -> bytes:
    return _save(_scene(), "JPEG")


def _png_file() -> bytes:
    return _save(_scene(), "PNG")


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_AFTER_IHDR = 33  # the signature (8) and the IHDR chunk (25)


def _png_chunk(kind: bytes, data: bytes, *, crc: int | None = None) -> bytes:
    checksum = zlib.crc32(kind + data) if crc is None else crc
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", checksum)


def _ihdr(
    width: int, height: int, depth: int = 8, colour: int = 2, crc: int | None = None
) -> bytes:
    return _png_chunk(
        b"IHDR", struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0), crc=crc
    )


def _png(width: int, height: int, idat: bytes, *, depth: int = 8, colour: int = 2) -> bytes:
    """Return a PNG from a raw header and a ready-made IDAT payload."""
    return (
        PNG_SIGNATURE
        + _ihdr(width, height, depth, colour)
        + _png_chunk(b"IDAT", idat)
        + _png_chunk(b"IEND", b"")
    )


def _png_declaring(width: int, height: int) -> bytes:
    """Return a tiny PNG whose header declares ``width`` x ``height``, with 4 KB of pixels."""
    return _png(width, height, zlib.compress(b"\x00" * 4096, 9))


def _png_with_chunk_after_header(chunk: bytes) -> bytes:
    data = _png_file()
    return data[:PNG_AFTER_IHDR] + chunk + data[PNG_AFTER_IHDR:]


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


def _jpeg_segments(data: bytes) -> Iterator[tuple[int, int, int]]:
    """Yield (marker, start, end) of each JPEG segment, a scan's entropy-coded data included."""
    pos = 2
    while pos < len(data):
        marker = data[pos + 1]
        if marker == 0xD9:
            yield marker, pos, pos + 2
            return
        end = pos + 2 + int.from_bytes(data[pos + 2 : pos + 4], "big")
        while marker == 0xDA:  # entropy-coded data runs to the next marker that is not RSTn
            end = data.index(b"\xff", end)
            if data[end + 1] != 0 and not 0xD0 <= data[end + 1] <= 0xD7:
                break
            end += 2
        yield marker, pos, end
        pos = end


def _jpeg_segment(marker: int, payload: bytes) -> bytes:
    return bytes((0xFF, marker)) + struct.pack(">H", len(payload) + 2) + payload


def _jpeg_with(segment: bytes) -> bytes:
    """Return the scene as a JPEG with ``segment`` right after its SOI marker."""
    data = _jpeg()
    return data[:2] + segment + data[2:]


def _jpeg_declaring(width: int, height: int) -> bytes:
    """Return a valid 16x16 baseline JPEG whose frame header says ``width`` x ``height``."""
    data = bytearray(_save(_scene(16, 16), "JPEG", quality=80))
    start = next(s for marker, s, _ in _jpeg_segments(bytes(data)) if marker == 0xC0)
    data[start + 5 : start + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def _exif(
    entries: list[tuple[int, int, int, bytes]], next_ifd: int = 0, tail: bytes = b""
) -> bytes:
    """Return an APP1 Exif segment: one little-endian IFD at offset 8, then ``tail``."""
    ifd = struct.pack("<H", len(entries))
    for tag, kind, count, value in entries:
        ifd += struct.pack("<HHI", tag, kind, count) + value.ljust(4, b"\x00")
    tiff = b"II*\x00" + struct.pack("<I", 8) + ifd + struct.pack("<I", next_ifd) + tail
    return _jpeg_segment(0xE1, b"Exif\x00\x00" + tiff)


def _jpeg_scan_bomb() -> bytes:
    data = _save(Image.new("RGB", (2048, 2048), (120, 130, 140)), "JPEG", progressive=True)
    segments = list(_jpeg_segments(data))
    _, start, end = [segment for segment in segments if segment[0] == 0xDA][-1]
    return data[: segments[-1][1]] + data[start:end] * 2000 + b"\xff\xd9"


def _jpeg_bogus_huffman() -> bytes:
    data = bytearray(_jpeg())
    start = next(s for marker, s, _ in _jpeg_segments(bytes(data)) if marker == 0xC4)
    data[start + 5 : start + 21] = b"\xff" * 16  # 16 code counts of 255: 4080 codes, 256 at most
    return bytes(data)


GIF_PIXEL = b"\x02\x02\x44\x01\x00"  # LZW minimum code size 2, one sub-block of one pixel, end
GIF_PALETTE = b"\xff\x00\x00\x00\x00\xff"


def _gif(width: int, height: int, frames: int = 1, *, extensions: bytes = b"") -> bytes:
    """Return a GIF with a two-colour palette and ``frames`` 1x1 frames of 20 ms."""
    screen = b"GIF89a" + struct.pack("<HHBBB", width, height, 0x80, 0, 0) + GIF_PALETTE
    frame = b"\x21\xf9\x04\x00\x02\x00\x00\x00\x2c" + struct.pack("<HHHHB", 0, 0, 1, 1, 0)
    return screen + extensions + (frame + GIF_PIXEL) * frames + b";"


def _gif_huge_frame() -> bytes:
    screen = b"GIF89a" + struct.pack("<HHBBB", 1, 1, 0x80, 0, 0) + GIF_PALETTE
    return screen + b"\x2c" + struct.pack("<HHHHB", 0, 0, 65535, 65535, 0) + GIF_PIXEL + b";"


def _gif_animation() -> bytes:
    frames = [_scene(64, 64).rotate(36 * i).convert("P") for i in range(10)]
    return _save(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100)


def _heic(image: Image.Image) -> bytes:
    """Return ``image`` as an HEVC-coded HEIC, as an iPhone sends."""
    import pillow_heif

    buffer = io.BytesIO()
    pillow_heif.from_pillow(image).save(buffer, quality=80)
    return buffer.getvalue()


def _heic_declaring(width: int, height: int) -> bytes:
    """Return a small valid HEIC whose image spatial extents (ispe) say ``width`` x ``height``."""
    data = bytearray(_heic(_scene(64, 64)))
    at = data.index(b"ispe") + 8  # past the box type, version and flags
    data[at : at + 8] = struct.pack(">II", width, height)
    return bytes(data)


def _riff(body: bytes) -> bytes:
    return b"RIFF" + struct.pack("<I", len(body) + 4) + b"WEBP" + body


def _webp_chunk(kind: bytes, data: bytes) -> bytes:
    return kind + struct.pack("<I", len(data)) + data + (b"\x00" if len(data) % 2 else b"")


def _u24(value: int) -> bytes:
    return value.to_bytes(3, "little")


@cache
def _vp8l_pixel() -> bytes:
    """Return the VP8L bitstream of a 1x1 lossless WebP, as libwebp writes it."""
    data = _save(Image.new("RGB", (1, 1), (200, 40, 40)), "WEBP", lossless=True)
    return data[20 : 20 + int.from_bytes(data[16:20], "little")]


def _vp8l_declaring(width: int, height: int) -> bytes:
    pixel = bytearray(_vp8l_pixel())
    flags = int.from_bytes(pixel[1:5], "little") & ~0xFFFFFFF  # keep alpha hint and version
    pixel[1:5] = (flags | (width - 1) | (height - 1) << 14).to_bytes(4, "little")
    return _riff(_webp_chunk(b"VP8L", bytes(pixel)))


def _vp8_declaring(width: int, height: int) -> bytes:
    data = bytearray(_save(_scene(16, 16), "WEBP", quality=80))
    data[26:30] = struct.pack("<HH", width, height)  # after the key frame's start code
    return bytes(data)


def _webp_animation(width: int, height: int, frames: int) -> bytes:
    """Return an animated WebP of ``frames`` 1x1 lossless frames on a width x height canvas."""
    vp8x = b"\x02\x00\x00\x00" + _u24(width - 1) + _u24(height - 1)  # flags: animation
    anim = b"\x00\x00\x00\x00\x00\x00"  # background colour, loop count
    placement = _u24(0) * 4 + _u24(20) + b"\x00"  # x/2, y/2, width-1, height-1, duration, flags
    frame = _webp_chunk(b"ANMF", placement + _webp_chunk(b"VP8L", _vp8l_pixel()))
    return _riff(_webp_chunk(b"VP8X", vp8x) + _webp_chunk(b"ANIM", anim) + frame * frames)


def _apng(frames: int) -> bytes:
    pixel = zlib.compress(b"\x00\x80\x40\x20")
    chunks = [_ihdr(1, 1), _png_chunk(b"acTL", struct.pack(">II", frames, 0))]
    sequence = 0
    for frame in range(frames):
        control = struct.pack(">IIIIIHHBB", sequence, 1, 1, 0, 0, 1, 50, 0, 0)
        chunks.append(_png_chunk(b"fcTL", control))
        if frame == 0:
            chunks.append(_png_chunk(b"IDAT", pixel))
        else:
            chunks.append(_png_chunk(b"fdAT", struct.pack(">I", sequence + 1) + pixel))
        sequence += 1 if frame == 0 else 2
    return PNG_SIGNATURE + b"".join(chunks) + _png_chunk(b"IEND", b"")


def _png_idat_flood() -> bytes:
    """Return a 512x512 noise PNG whose pixel data is cut into one IDAT chunk per byte."""
    data = _save(_noise(512, 512), "PNG", compress_level=1)
    idat, pos = b"", PNG_AFTER_IHDR
    while pos < len(data):
        length = int.from_bytes(data[pos : pos + 4], "big")
        if data[pos + 4 : pos + 8] == b"IDAT":
            idat += data[pos + 8 : pos + 8 + length]
        pos += 12 + length
    one_byte_chunks = [_png_chunk(b"IDAT", bytes((value,))) for value in range(256)]
    flood = b"".join(one_byte_chunks[value] for value in idat)
    return data[:PNG_AFTER_IHDR] + flood + _png_chunk(b"IEND", b"")


def _cut(full: Callable[[], bytes], percent: int) -> Callable[[], bytes]:
    """Return a maker of the first ``percent`` per cent of what ``full`` makes."""

    def cut() -> bytes:
        data = full()
        return data[: len(data) * percent // 100]

    return cut


def _zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(zipfile.ZipInfo(name, date_time=(2011, 10, 6, 0, 0, 0)), content)
    return buffer.getvalue()


def _psd() -> bytes:
    header = b"8BPS" + struct.pack(">H6xHIIHH", 1, 3, 8, 8, 8, 3)  # v1, RGB, 8x8, 8 bits
    sections = struct.pack(">IIIH", 0, 0, 0, 0)  # mode data, resources, layers; raw pixels
    return header + sections + bytes(range(192))


def _wave() -> bytes:
    fmt = struct.pack("<HHIIHH", 1, 1, 8000, 8000, 1, 8)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", 4)
    return b"RIFF" + struct.pack("<I", len(body) + 4) + body + b"\x80" * 4


PHP = b"<?php system($_GET['cmd']); ?>"
SCRIPT = b"<script>alert('instaclone')</script>"
JS = b"alert('instaclone-polyglot')"
SHELL = b"shell.php"


# -- nothing, or next to nothing ----------------------------------------------------------------

_add("zero_bytes", "empty", "empty", "Nothing at all.", lambda: b"")
_add("one_byte", "empty", "unsupported_format", "One byte, nobody's signature.", lambda: b"\xff")
_add("jpeg_magic_only", "empty", "corrupt", "The JPEG signature alone.", lambda: b"\xff\xd8\xff")
_add("png_signature_only", "empty", "corrupt", "The PNG signature alone.", lambda: PNG_SIGNATURE)
_add("gif_magic_only", "empty", "corrupt", "The GIF signature alone.", lambda: b"GIF89a")
_add(
    "webp_riff_header_only",
    "empty",
    "corrupt",
    "A RIFF/WEBP header and a chunk tag, no chunk.",
    lambda: b"RIFF\x04\x00\x00\x00WEBPVP8 ",
)
_add(
    "heic_ftyp_only",
    "empty",
    "corrupt",
    "A HEIC file type box, and no image.",
    lambda: (data := _heic(_scene()))[: int.from_bytes(data[:4], "big")],
)
_add(
    "over_the_byte_cap",
    "empty",
    "too_large",
    "A valid JPEG padded one byte past the 25 MB cap.",
    lambda: _jpeg().ljust(25 * MiB + 1, b"\x00"),
)

# -- decompression bombs: small files declaring huge dimensions ---------------------------------

for _name, _why, _make in [
    ("png_30000x30000", "900 MP in 83 bytes.", lambda: _png_declaring(30000, 30000)),
    (
        "png_8000x8000",
        "64 MP: over the 50 MP cap, under Pillow's own 89 MP warning.",
        lambda: _png_declaring(8000, 8000),
    ),
    (
        "png_65535x65535_rgba16",
        "16-bit RGBA, 65535 square: 34 GB decoded.",
        lambda: _png(65535, 65535, zlib.compress(bytes(1024)), depth=16, colour=6),
    ),
    ("png_1x2147483647", "One pixel wide, 2^31-1 high.", lambda: _png_declaring(1, 2**31 - 1)),
    (
        "jpeg_sof_65535x65535",
        "A 16x16 JPEG whose SOF says 65535 square.",
        lambda: _jpeg_declaring(65535, 65535),
    ),
    (
        "jpeg_sof_8000x8000",
        "64 MP by its SOF: over the cap, under Pillow's own limit.",
        lambda: _jpeg_declaring(8000, 8000),
    ),
    (
        "jpeg_sof_10000x10000",
        "100 MP: past Pillow's warning (89 MP), short of its error (179 MP).",
        lambda: _jpeg_declaring(10000, 10000),
    ),
    (
        "gif_screen_65535x65535",
        "A 65535-square logical screen around one pixel.",
        lambda: _gif(65535, 65535),
    ),
    ("gif_frame_larger_than_screen", "A 1x1 screen holding a 65535-square frame.", _gif_huge_frame),
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
        "heic_ispe_60000x60000",
        "A HEIC whose ispe box says 3.6 gigapixels.",
        lambda: _heic_declaring(60000, 60000),
    ),
    (
        "heic_ispe_8000x8000",
        "A HEIC whose ispe box says 64 MP.",
        lambda: _heic_declaring(8000, 8000),
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
    _add(_name, "bomb", "too_many_pixels", _why, _make)

_add("png_zero_width", "bomb", "corrupt", "A PNG 0 pixels wide.", lambda: _png_declaring(0, 64))
_add(
    "jpeg_sof_zero_height",
    "bomb",
    "corrupt",
    "A JPEG 0 pixels high (legal only with a DNL marker).",
    lambda: _jpeg_declaring(16, 0),
)
for _side in (5000, 7000):
    _add(
        f"png_rgba_{_side}x{_side}_of_zeros",
        "bomb",
        "too_many_pixels",
        f"{_side}x{_side} RGBA ({_side**2 // 10**6} MP, over the 24 MP cap for lossless formats) "
        f"deflated to under 200 KB: {_side**2 * 4 // MiB} MB decoded.",
        _rgba_zeros_png(_side),
    )
_add(
    "png_rgba_4000x4000_of_zeros",
    "bomb",
    ACCEPTED,
    "4000x4000 RGBA (16 MP, under the lossless cap) deflated to kilobytes: 61 MB decoded.",
    _rgba_zeros_png(4000),
)

# -- polyglots: valid images that are also something else --------------------------------------

_add(
    "gif_javascript_polyglot",
    "polyglot",
    ACCEPTED,
    "GIF89a/*...*/=alert(): a GIF (10799x12, its width is '/*') a browser also runs as script.",
    lambda: b"GIF89a/*" + _gif(0, 12)[8:-1] + b";*/=" + JS + b";",
    payloads=(JS,),
)
_add(
    "gif_html_in_comment",
    "polyglot",
    ACCEPTED,
    "A GIF with an HTML script in a comment extension.",
    lambda: _gif(32, 32, extensions=b"\x21\xfe" + bytes((len(SCRIPT),)) + SCRIPT + b"\x00"),
    payloads=(SCRIPT,),
)
_add(
    "jpeg_php_appended",
    "polyglot",
    ACCEPTED,
    "A JPEG with a PHP web shell after its end marker.",
    lambda: _jpeg() + PHP,
    payloads=(PHP,),
)
_add(
    "jpeg_php_in_comment",
    "polyglot",
    ACCEPTED,
    "A JPEG whose COM segment is a PHP shell (Pillow writes comments back unless told not to).",
    lambda: _jpeg_with(_jpeg_segment(0xFE, PHP)),
    payloads=(PHP,),
)
_add(
    "jpeg_html_in_exif_description",
    "polyglot",
    ACCEPTED,
    "A JPEG whose EXIF ImageDescription is an HTML script.",
    # The value follows the IFD: TIFF header 8 + count 2 + one entry 12 + next offset 4 = 26.
    lambda: _jpeg_with(
        _exif([(0x010E, 2, len(SCRIPT) + 1, struct.pack("<I", 26))], tail=SCRIPT + b"\x00")
    ),
    payloads=(SCRIPT,),
)
_add(
    "png_with_zip_appended",
    "polyglot",
    ACCEPTED,
    "A PNG followed by a ZIP holding a PHP shell: unzip and the browser both read it.",
    lambda: _png_file() + _zip({SHELL.decode(): PHP}),
    payloads=(b"PK\x03\x04", SHELL, PHP),
)
_add(
    "png_html_in_text_chunk",
    "polyglot",
    ACCEPTED,
    "A PNG with an HTML script in a tEXt chunk.",
    lambda: _png_with_chunk_after_header(_png_chunk(b"tEXt", b"Comment\x00" + SCRIPT)),
    payloads=(SCRIPT,),
)
_add(
    "webp_html_after_riff",
    "polyglot",
    ACCEPTED,
    "A WebP followed, past the length its RIFF header gives, by an HTML page.",
    lambda: _save(_scene(), "WEBP", quality=80) + b"<html>" + SCRIPT + b"</html>",
    payloads=(SCRIPT,),
)
_add(
    "heic_php_appended",
    "polyglot",
    ACCEPTED,
    "A HEIC with a PHP web shell after its last box.",
    lambda: _heic(_scene()) + PHP,
    payloads=(PHP,),
)
_add(
    "gif_magic_then_html",
    "polyglot",
    "corrupt",
    "GIF89a then an HTML page: a GIF header with no frame in it.",
    lambda: b"GIF89a<html><body>" + SCRIPT + b"</body></html>",
)

# -- foreign formats and non-images, whatever the upload calls them ------------------------------

for _name, _why, _make in [
    (
        "pdf_document",
        "A minimal PDF.",
        lambda: (
            b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
        ),
    ),
    (
        "pdf_with_jpeg_inside",
        "A PDF header in front of a whole JPEG.",
        lambda: b"%PDF-1.4\n" + _jpeg(),
    ),
    ("zip_archive", "A ZIP archive holding a PNG.", lambda: _zip({"photo.png": _png_file()})),
    (
        "svg_with_script",
        "An SVG image with an embedded script.",
        lambda: (
            b'<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64">' + SCRIPT + b"</svg>"
        ),
    ),
    (
        "html_page",
        "An HTML page.",
        lambda: b"<!DOCTYPE html><html><body>" + SCRIPT + b"</body></html>",
    ),
    (
        "elf_executable",
        "The 64-byte header of an x86-64 ELF executable.",
        lambda: b"\x7fELF\x02\x01\x01" + bytes(9) + b"\x02\x00\x3e\x00" + bytes(44),
    ),
    (
        "plain_text_named_jpg",
        "A diary entry someone named beach.jpg.",
        lambda: b"Dear diary, the beach.\n" * 4,
    ),
    (
        "bmp_image",
        "A valid BMP: Pillow reads it, the allow-list does not name it.",
        lambda: _save(_scene(), "BMP"),
    ),
    (
        "tiff_image",
        "A valid LZW TIFF (libtiff: a large attack surface).",
        lambda: _save(_scene(), "TIFF", compression="tiff_lzw"),
    ),
    ("ico_image", "A valid Windows icon.", lambda: _save(_scene(32, 32), "ICO")),
    ("psd_image", "A valid 8x8 RGB Photoshop file.", _psd),
    (
        "eps_document",
        "An EPS file, which Pillow hands to Ghostscript.",
        lambda: b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 8 8\n0 0 moveto 8 8 lineto stroke\n",
    ),
    (
        "jpeg2000_image",
        "A valid JPEG 2000 (OpenJPEG: another decoder).",
        lambda: _save(_scene(), "JPEG2000"),
    ),
    (
        "avif_image",
        "A valid AVIF: HEIF's box format, but AV1, not HEVC.",
        lambda: _save(_scene(), "AVIF", quality=60),
    ),
    ("riff_wave_audio", "A RIFF file of WAVE audio, not WebP.", _wave),
]:
    _add(_name, "foreign", "unsupported_format", _why, _make)

# -- truncated files of every accepted format ---------------------------------------------------

for _label, _full in [
    ("jpeg_baseline", lambda: _save(_noise(128, 128), "JPEG", quality=90)),
    ("jpeg_progressive", lambda: _save(_noise(128, 128), "JPEG", quality=90, progressive=True)),
    ("png", lambda: _save(_noise(128, 128), "PNG")),
    ("gif", lambda: _save(_noise(128, 128).convert("P"), "GIF")),
    ("webp_lossy", lambda: _save(_noise(128, 128), "WEBP", quality=90)),
    ("webp_lossless", lambda: _save(_noise(128, 128), "WEBP", lossless=True)),
    ("heic", lambda: _heic(_noise(128, 128))),
]:
    for _percent in (10, 50, 90):
        _add(
            f"{_label}_cut_at_{_percent}_percent",
            "truncated",
            "corrupt",
            f"A valid 128x128 {_label.replace('_', ' ')} cut to {_percent}% of its bytes.",
            _cut(_full, _percent),
        )

# -- malformed structures ----------------------------------------------------------------------

_add(
    "jpeg_bogus_huffman_table",
    "malformed",
    "corrupt",
    "A JPEG whose first Huffman table claims 4080 codes (256 at most).",
    _jpeg_bogus_huffman,
)
_add(
    "jpeg_progressive_scan_bomb",
    "malformed",
    "corrupt",
    "A 2048x2048 progressive JPEG whose last scan repeats 2000 times: 57 KB, seconds to decode.",
    _jpeg_scan_bomb,
)
_add(
    "jpeg_marker_flood",
    "malformed",
    "corrupt",
    "A JPEG of 6 million empty COM segments (24 MB; Pillow keeps a tuple for each).",
    lambda: _jpeg_with(_jpeg_segment(0xFE, b"") * 6_000_000),
)
_add(
    "png_bad_header_crc",
    "malformed",
    "corrupt",
    "A PNG whose IHDR checksum is wrong.",
    lambda: (data := _png_declaring(8, 8))[:8] + _ihdr(8, 8, crc=0xDEADBEEF) + data[33:],
)
_add(
    "png_idat_not_deflate",
    "malformed",
    "corrupt",
    "A PNG whose IDAT is not a zlib stream.",
    lambda: _png(8, 8, b"this is not deflate data"),
)
_add(
    "png_ztxt_zip_bomb",
    "malformed",
    "corrupt",
    "A PNG with a zTXt chunk inflating to 32 MB, ahead of the pixels.",
    lambda: _png_with_chunk_after_header(
        _png_chunk(b"zTXt", b"Comment\x00\x00" + _deflated_zeros(32 * MiB))
    ),
)
_add(
    "png_iccp_zip_bomb",
    "malformed",
    "corrupt",
    "A PNG with an iCCP profile inflating to 32 MB.",
    lambda: _png_with_chunk_after_header(
        _png_chunk(b"iCCP", b"bomb\x00\x00" + _deflated_zeros(32 * MiB))
    ),
)
_add(
    "png_text_chunk_flood",
    "malformed",
    "corrupt",
    "A PNG with a million tiny tEXt chunks (15 MB; Pillow parses each).",
    lambda: _png_with_chunk_after_header(_png_chunk(b"tEXt", b"a\x00b") * 1_000_000),
)
_add(
    "png_idat_flood",
    "malformed",
    "corrupt",
    "A 512x512 PNG whose pixel data comes in 800,000 one-byte IDAT chunks (10 MB).",
    _png_idat_flood,
)
_add(
    "jpeg_exif_ifd_loop",
    "malformed",
    ACCEPTED,
    "A JPEG whose EXIF IFD0 names itself as the next IFD and as its Exif sub-IFD.",
    lambda: _jpeg_with(
        _exif(
            [(0x0112, 3, 1, struct.pack("<H", 6)), (0x8769, 4, 1, struct.pack("<I", 8))],
            next_ifd=8,
        )
    ),
)
_add(
    "jpeg_exif_absurd_counts",
    "malformed",
    ACCEPTED,
    "A JPEG whose EXIF entries claim billions of values, and a GPS IFD past the file's end.",
    lambda: _jpeg_with(
        _exif(
            [
                (0x010F, 2, 0x7FFFFFFF, struct.pack("<I", 4096)),
                (0x0112, 3, 0x40000000, struct.pack("<I", 8)),
                (0x8825, 4, 1, struct.pack("<I", 0xFFFFFFF0)),
            ]
        )
    ),
)
_add(
    "jpeg_exif_orientation_9",
    "malformed",
    ACCEPTED,
    "A JPEG whose EXIF orientation is 9, which does not exist.",
    lambda: _jpeg_with(_exif([(0x0112, 3, 1, struct.pack("<H", 9))])),
)

# -- frame floods -------------------------------------------------------------------------------

_add(
    "gif_5000_frames",
    "flood",
    "animation_too_long",
    "A 1x1 GIF of 5000 frames.",
    lambda: _gif(1, 1, 5000),
)
_add(
    "webp_5000_frames",
    "flood",
    "animation_too_long",
    "A 1x1 animated WebP of 5000 frames.",
    lambda: _webp_animation(1, 1, 5000),
)
_add(
    "apng_5000_frames",
    "flood",
    "animation_too_long",
    "A 1x1 animated PNG of 5000 frames.",
    lambda: _apng(5000),
)
_add(
    "gif_ten_frames",
    "flood",
    ACCEPTED,
    "An ordinary animation: its first frame is posted.",
    _gif_animation,
)

# -- valid files that are awkward but must be taken ---------------------------------------------

for _name, _why, _make in [
    ("heic_photo", "A HEIC, as an iPhone sends by default.", lambda: _heic(_scene())),
    (
        "cmyk_jpeg",
        "A CMYK JPEG, as print workflows write them.",
        lambda: _save(_scene().convert("CMYK"), "JPEG"),
    ),
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
        lambda: _save(_scene().convert("P"), "PNG", transparency=0),
    ),
    (
        "png_grey_alpha",
        "A grey PNG with alpha (mode LA).",
        lambda: _save(_scene().convert("LA"), "PNG"),
    ),
    (
        "webp_lossless_alpha",
        "A lossless WebP with a real alpha gradient.",
        lambda: _save(
            Image.merge("RGBA", (*_scene().split(), Image.linear_gradient("L").resize((96, 64)))),
            "WEBP",
            lossless=True,
        ),
    ),
    (
        "jpeg_one_pixel",
        "A 1x1 JPEG, scaled up to every rendition.",
        lambda: _save(_scene(1, 1), "JPEG"),
    ),
    ("jpeg_4000x2_strip", "A 4000x2 JPEG strip.", lambda: _save(_scene(4000, 2), "JPEG")),
]:
    _add(_name, "valid", ACCEPTED, _why, _make)

# -- hostile crops (in the upright image's pixels) ----------------------------------------------

for _name, _why, _crop in [
    (
        "crop_off_the_edge",
        "A crop box running off a 400x300 image's right edge.",
        (300, 0, 600, 300),
    ),
    ("crop_of_no_area", "An empty crop box.", (10, 10, 10, 10)),
    (
        "crop_negative_corner",
        "A crop box starting left of and above the image.",
        (-100, -100, 200, 200),
    ),
    ("crop_not_square", "A 300x200 crop box.", (0, 0, 300, 200)),
    ("crop_inverted", "A crop box whose right edge is left of its left edge.", (300, 0, 0, 300)),
]:
    _add(_name, "crop", "bad_crop", _why, lambda: _save(_scene(400, 300), "JPEG"), crop=_crop)


# -- the runner ---------------------------------------------------------------------------------


def case_named(name: str) -> Case:
    """Return the case called ``name``."""
    for case in CASES:
        if case.name == name:
            return case
    raise KeyError(name)


def _status() -> dict[str, int]:
    """Return VmSize, VmRSS and VmHWM of this process, in bytes."""
    values = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmSize", "VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) * 1024
    return values


class _TooSlow(BaseException):
    """Raised by the alarm when a case runs far past its limit (past any ``except Exception``)."""


def _alarm(signum: int, frame: FrameType | None) -> None:
    raise _TooSlow


def run_case(case: Case) -> dict[str, object]:
    """Feed one case to ``process_image`` under the memory cap; return what happened."""
    from photos.images import ImageRejected, process_image

    data = case.data()
    vm_size = _status()["VmSize"]
    Path("/proc/self/clear_refs").write_text("5")  # reset the peak RSS to the current RSS
    rss = _status()["VmRSS"]
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (vm_size + MEMORY_LIMIT, hard))
    signal.setitimer(signal.ITIMER_REAL, 10 * TIME_LIMIT)
    digest = hashlib.sha256(data).hexdigest()
    result: dict[str, object] = {"name": case.name, "bytes": len(data), "sha256": digest}
    started = time.monotonic()
    try:
        processed = process_image(data, crop=case.crop)
    except ImageRejected as rejected:
        result.update(outcome=rejected.code, message=rejected.message)
    except MemoryError as exc:
        result.update(outcome="memory_error", message=repr(exc))
    except _TooSlow:
        result.update(outcome="timeout", message=f"still running after {10 * TIME_LIMIT} s")
    except Exception as exc:  # any other exception is itself the finding to report
        result.update(outcome="exception", message=repr(exc))
    else:
        renditions = [rendition.data for rendition in processed.renditions]
        found = [p for p in case.payloads if any(p in rendition for rendition in renditions)]
        result.update(
            outcome=ACCEPTED,
            renditions={r.name: [r.size, len(r.data)] for r in processed.renditions},
            all_jpeg=all(r.startswith(b"\xff\xd8\xff") for r in renditions),
            payloads_found=[payload.decode("latin-1") for payload in found],
        )
    finally:
        elapsed = time.monotonic() - started
        signal.setitimer(signal.ITIMER_REAL, 0)
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
    result.update(seconds=round(elapsed, 4), peak_rss_growth=_status()["VmHWM"] - rss)
    return result


def main(names: list[str]) -> None:
    """Run the named cases (or all), printing a JSON line as each starts and as it ends."""
    import django

    django.setup()
    import photos.images  # noqa: F401 - fail here, once, if the pipeline cannot be imported

    # Results go to the original stdout alone; anything else printed there lands on stderr.
    report = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    signal.signal(signal.SIGALRM, _alarm)
    for case in [case_named(name) for name in names] if names else CASES:
        print(json.dumps({"started": case.name}), file=report, flush=True)
        print(json.dumps(run_case(case)), file=report, flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
