"""Uploads of no allowed format, whatever they are called: nothing, documents, other images."""

from __future__ import annotations

import struct

from .cases import add, save, scene
from .jpeg import jpeg
from .png import png_file
from .polyglots import SCRIPT, zip_of


def _psd() -> bytes:
    header = b"8BPS" + struct.pack(">H6xHIIHH", 1, 3, 8, 8, 8, 3)  # v1, RGB, 8x8, 8 bits
    sections = struct.pack(">IIIH", 0, 0, 0, 0)  # mode data, resources, layers; raw pixels
    return header + sections + bytes(range(192))


def _wave() -> bytes:
    fmt = struct.pack("<HHIIHH", 1, 1, 8000, 8000, 1, 8)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", 4)
    return b"RIFF" + struct.pack("<I", len(body) + 4) + body + b"\x80" * 4


add("zero_bytes", "empty", "empty", "Nothing at all.", lambda: b"")
add("one_byte", "empty", "unsupported_format", "One byte, nobody's signature.", lambda: b"\xff")

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
        lambda: b"%PDF-1.4\n" + jpeg(),
    ),
    ("zip_archive", "A ZIP archive holding a PNG.", lambda: zip_of({"photo.png": png_file()})),
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
        lambda: save(scene(), "BMP"),
    ),
    (
        "tiff_image",
        "A valid LZW TIFF (libtiff: a large attack surface).",
        lambda: save(scene(), "TIFF", compression="tiff_lzw"),
    ),
    ("ico_image", "A valid Windows icon.", lambda: save(scene(32, 32), "ICO")),
    ("psd_image", "A valid 8x8 RGB Photoshop file.", _psd),
    (
        "eps_document",
        "An EPS file, which Pillow hands to Ghostscript.",
        lambda: b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 8 8\n0 0 moveto 8 8 lineto stroke\n",
    ),
    (
        "jpeg2000_image",
        "A valid JPEG 2000 (OpenJPEG: another decoder).",
        lambda: save(scene(), "JPEG2000"),
    ),
    (
        "avif_image",
        "A valid AVIF: HEIF's box format, but AV1, not HEVC.",
        lambda: save(scene(), "AVIF", quality=60),
    ),
    ("riff_wave_audio", "A RIFF file of WAVE audio, not WebP.", _wave),
]:
    add(_name, "foreign", "unsupported_format", _why, _make)
