"""Hostile JPEGs: bombs by their frame header, cuts, floods, broken tables and EXIF, odd files."""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator

from PIL import Image

from .cases import ACCEPTED, MiB, add, add_cuts, cut, noise, save, scene

EOI = b"\xff\xd9"


def jpeg() -> bytes:
    """Return the scene as a baseline JPEG."""
    return save(scene(), "JPEG")


def jpeg_segments(data: bytes) -> Iterator[tuple[int, int, int]]:
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


def jpeg_segment(marker: int, payload: bytes) -> bytes:
    """Return a JPEG segment: the marker, its length, ``payload``."""
    return bytes((0xFF, marker)) + struct.pack(">H", len(payload) + 2) + payload


def jpeg_with(segment: bytes) -> bytes:
    """Return the scene as a JPEG with ``segment`` right after its SOI marker."""
    data = jpeg()
    return data[:2] + segment + data[2:]


def exif(entries: list[tuple[int, int, int, bytes]], next_ifd: int = 0, tail: bytes = b"") -> bytes:
    """Return an APP1 Exif segment: one little-endian IFD at offset 8, then ``tail``."""
    ifd = struct.pack("<H", len(entries))
    for tag, kind, count, value in entries:
        ifd += struct.pack("<HHI", tag, kind, count) + value.ljust(4, b"\x00")
    tiff = b"II*\x00" + struct.pack("<I", 8) + ifd + struct.pack("<I", next_ifd) + tail
    return jpeg_segment(0xE1, b"Exif\x00\x00" + tiff)


def _jpeg_declaring(width: int, height: int) -> bytes:
    """Return a valid 16x16 baseline JPEG whose frame header says ``width`` x ``height``."""
    data = bytearray(save(scene(16, 16), "JPEG", quality=80))
    start = next(s for marker, s, _ in jpeg_segments(bytes(data)) if marker == 0xC0)
    data[start + 5 : start + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def _jpeg_scan_bomb() -> bytes:
    data = save(Image.new("RGB", (2048, 2048), (120, 130, 140)), "JPEG", progressive=True)
    segments = list(jpeg_segments(data))
    _, start, end = [segment for segment in segments if segment[0] == 0xDA][-1]
    return data[: segments[-1][1]] + data[start:end] * 2000 + b"\xff\xd9"


def _jpeg_bogus_huffman() -> bytes:
    data = bytearray(jpeg())
    start = next(s for marker, s, _ in jpeg_segments(bytes(data)) if marker == 0xC4)
    data[start + 5 : start + 21] = b"\xff" * 16  # 16 code counts of 255: 4080 codes, 256 at most
    return bytes(data)


add("jpeg_magic_only", "empty", "corrupt", "The JPEG signature alone.", lambda: b"\xff\xd8\xff")
add(
    "over_the_byte_cap",
    "empty",
    "too_large",
    "A valid JPEG padded one byte past the 25 MB cap.",
    lambda: jpeg().ljust(25 * MiB + 1, b"\x00"),
)

for _name, _why, _make in [
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
]:
    add(_name, "bomb", "too_many_pixels", _why, _make)

add(
    "jpeg_sof_zero_height",
    "bomb",
    "corrupt",
    "A JPEG 0 pixels high (legal only with a DNL marker).",
    lambda: _jpeg_declaring(16, 0),
)

add_cuts("jpeg_baseline", lambda: save(noise(128, 128), "JPEG", quality=90))
add_cuts("jpeg_progressive", lambda: save(noise(128, 128), "JPEG", quality=90, progressive=True))

add(
    "jpeg_bogus_huffman_table",
    "malformed",
    "corrupt",
    "A JPEG whose first Huffman table claims 4080 codes (256 at most).",
    _jpeg_bogus_huffman,
)
add(
    "jpeg_progressive_scan_bomb",
    "malformed",
    "corrupt",
    "A 2048x2048 progressive JPEG whose last scan repeats 2000 times: 57 KB, seconds to decode.",
    _jpeg_scan_bomb,
)
add(
    "jpeg_marker_flood",
    "malformed",
    "corrupt",
    "A JPEG of 6 million empty COM segments (24 MB; Pillow keeps a tuple for each).",
    lambda: jpeg_with(jpeg_segment(0xFE, b"") * 6_000_000),
)
add(
    "jpeg_exif_ifd_loop",
    "malformed",
    ACCEPTED,
    "A JPEG whose EXIF IFD0 names itself as the next IFD and as its Exif sub-IFD.",
    lambda: jpeg_with(
        exif(
            [(0x0112, 3, 1, struct.pack("<H", 6)), (0x8769, 4, 1, struct.pack("<I", 8))],
            next_ifd=8,
        )
    ),
)
add(
    "jpeg_exif_absurd_counts",
    "malformed",
    ACCEPTED,
    "A JPEG whose EXIF entries claim billions of values, and a GPS IFD past the file's end.",
    lambda: jpeg_with(
        exif(
            [
                (0x010F, 2, 0x7FFFFFFF, struct.pack("<I", 4096)),
                (0x0112, 3, 0x40000000, struct.pack("<I", 8)),
                (0x8825, 4, 1, struct.pack("<I", 0xFFFFFFF0)),
            ]
        )
    ),
)
add(
    "jpeg_exif_orientation_9",
    "malformed",
    ACCEPTED,
    "A JPEG whose EXIF orientation is 9, which does not exist.",
    lambda: jpeg_with(exif([(0x0112, 3, 1, struct.pack("<H", 9))])),
)

for _name, _why, _make in [
    (
        "cmyk_jpeg",
        "A CMYK JPEG, as print workflows write them.",
        lambda: save(scene().convert("CMYK"), "JPEG"),
    ),
    (
        "jpeg_one_pixel",
        "A 1x1 JPEG, scaled up to every rendition.",
        lambda: save(scene(1, 1), "JPEG"),
    ),
    ("jpeg_4000x2_strip", "A 4000x2 JPEG strip.", lambda: save(scene(4000, 2), "JPEG")),
]:
    add(_name, "valid", ACCEPTED, _why, _make)

# -- cut short or holed, yet closed by an EOI: libjpeg paints what is missing grey, and only warns


def _noise_jpeg(**options: object) -> Callable[[], bytes]:
    return lambda: save(noise(128, 128), "JPEG", quality=90, **options)


def _scan(data: bytes, number: int) -> tuple[int, int]:
    """Return where scan ``number`` (counted from 1, or -1 for the last) starts and ends."""
    scans = [(start, end) for marker, start, end in jpeg_segments(data) if marker == 0xDA]
    return scans[number - 1] if number > 0 else scans[number]


def _closed(make: Callable[[], bytes]) -> Callable[[], bytes]:
    """Return a maker of what ``make`` makes, then an EOI marker."""
    return lambda: make() + EOI


def _cut_in_scan(full: Callable[[], bytes], number: int) -> Callable[[], bytes]:
    """Return a maker of ``full`` cut in the middle of its scan ``number``, closed by an EOI."""

    def make() -> bytes:
        data = full()
        start, end = _scan(data, number)
        return data[: (start + end) // 2] + EOI

    return make


def _zero_filled(full: Callable[[], bytes]) -> Callable[[], bytes]:
    """Return a maker of ``full`` with the second half of its first scan's data zeroed."""

    def make() -> bytes:
        data = full()
        start, end = _scan(data, 1)
        middle = (start + end) // 2
        return data[:middle] + bytes(end - middle) + data[end:]

    return make


for _percent in (10, 50, 90, 99):
    add(
        f"jpeg_baseline_cut_at_{_percent}_percent_with_eoi",
        "truncated",
        "corrupt",
        f"A valid 128x128 baseline JPEG cut to {_percent}% of its bytes, then an EOI marker.",
        _closed(cut(_noise_jpeg(), _percent)),
    )
for _number in (1, 5, 9):
    add(
        f"jpeg_progressive_cut_in_scan_{_number}_with_eoi",
        "truncated",
        "corrupt",
        f"A valid 128x128 progressive JPEG (10 scans) cut inside scan {_number}, then an EOI.",
        _cut_in_scan(_noise_jpeg(progressive=True), _number),
    )
add(
    "jpeg_restart_markers_cut_with_eoi",
    "truncated",
    "corrupt",
    "A baseline JPEG with a restart marker every MCU row, cut in half, then an EOI.",
    _closed(cut(_noise_jpeg(restart_marker_rows=1), 50)),
)
add(
    "jpeg_progressive_restart_markers_cut_in_last_scan_with_eoi",
    "truncated",
    "corrupt",
    "A progressive JPEG with restart markers, cut inside its last scan, then an EOI.",
    _cut_in_scan(_noise_jpeg(progressive=True, restart_marker_blocks=4), -1),
)
for _name, _why, _full in [
    (
        "jpeg_second_half_zero_filled",
        "A 400x300 JPEG whose entropy-coded data is zeros from half-way on.",
        lambda: save(scene(400, 300), "JPEG"),
    ),
    (
        "jpeg_optimized_second_half_zero_filled",
        "The same with optimised Huffman tables, whose all-zero codes mean 'no change'.",
        lambda: save(scene(400, 300), "JPEG", optimize=True),
    ),
    (
        "jpeg_noise_second_half_zero_filled",
        "128x128 noise, zeros from half-way on: more than all its blocks could be coded in.",
        _noise_jpeg(),
    ),
]:
    add(_name, "truncated", "corrupt", _why, _zero_filled(_full))

# -- valid, and must stay so: restart markers, progressive scans, data after the EOI

for _name, _why, _make in [
    (
        "jpeg_restart_markers",
        "A JPEG with a restart marker after every MCU row, as cameras write them.",
        lambda: save(scene(400, 300), "JPEG", restart_marker_rows=1),
    ),
    (
        "jpeg_progressive",
        "A progressive JPEG, as web tools write them.",
        lambda: save(scene(400, 300), "JPEG", progressive=True, optimize=True),
    ),
    (
        "jpeg_progressive_restart_markers",
        "A progressive JPEG with a restart marker every 4 MCUs.",
        lambda: save(scene(400, 300), "JPEG", progressive=True, restart_marker_blocks=4),
    ),
    (
        "jpeg_flat_black_optimized",
        "A black JPEG with optimised tables: its entropy-coded data is almost all zero bytes.",
        lambda: save(Image.new("RGB", (1024, 768)), "JPEG", optimize=True),
    ),
    (
        "jpeg_flat_black_progressive",
        "A black progressive JPEG: long runs of zero bytes in every scan.",
        lambda: save(Image.new("RGB", (1024, 768)), "JPEG", progressive=True),
    ),
    (
        "jpeg_phone_trailer_after_eoi",
        "A JPEG followed by a Samsung-style trailer (tagged data, 'SEFH' ... 'SEFT').",
        lambda: jpeg() + b"\x00\x00\x01\x0aImage_UTC_Data1319155200000SEFH" + bytes(24) + b"SEFT",
    ),
    (
        "jpeg_zero_padding_after_eoi",
        "A JPEG padded with 64 KiB of zero bytes after its EOI, as some cameras do.",
        lambda: jpeg() + bytes(65536),
    ),
    (
        "jpeg_mpo_second_picture",
        "An MPO: a second JPEG (as an iPhone's gain map) after the first one's EOI.",
        lambda: save(scene(400, 300), "MPO", save_all=True, append_images=[scene(200, 150)]),
    ),
]:
    add(_name, "valid", ACCEPTED, _why, _make)
