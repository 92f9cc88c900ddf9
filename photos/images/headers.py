"""Walk container structures (JPEG markers, PNG chunks, GIF blocks) without decoding pixels.

Each walk is bounded: a hostile file may hold millions of segments, chunks or blocks, and
Pillow's own parsers, written in Python, would spend seconds and hundreds of MB on them.
"""

from __future__ import annotations

from dataclasses import dataclass

from photos.images.rejections import ImageRejected, animation_too_long

MAX_JPEG_SEGMENTS = 1000  # before the first scan; photos have a few dozen (ICC and XMP split)
MAX_JPEG_SCANS = 100  # progressive encoders write about 10; libjpeg decodes each in full
MIN_PNG_CHUNK_LIMIT = 4096  # more chunks than this must average a KiB each
MIN_GIF_BLOCK_LIMIT = 16384  # more sub-blocks than this must average 128 bytes each

_HEVC_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs"})
_HEIF_BRANDS = frozenset({b"mif1", b"msf1", b"mif2"})


def sniff_format(data: bytes) -> str | None:
    """Return the allowed format ``data`` starts like, by its signature, or None."""
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    if data[4:8] == b"ftyp" and _is_hevc_heif(data):
        return "HEIF"
    return None


def _is_hevc_heif(data: bytes) -> bool:
    """Tell whether the ftyp box names an HEVC-coded HEIF (AVIF and others are not accepted)."""
    box_size = min(int.from_bytes(data[:4], "big"), 4096)
    major = data[8:12]
    compatible = {data[i : i + 4] for i in range(16, box_size - 3, 4)}
    if major in _HEVC_BRANDS:
        return True
    return major in _HEIF_BRANDS and bool(compatible & _HEVC_BRANDS)


def malformed(what: str) -> ImageRejected:
    """Return the rejection of a file whose structure no real encoder would write."""
    return ImageRejected("corrupt", f"The file is malformed: {what}.")


@dataclass(frozen=True)
class JpegStructure:
    """The main image's frame marker (SOF0-SOF15) and how many scans it has."""

    frame: int
    scans: int
    walked: bool = True  # False when the markers could not be followed up to the first scan

    @property
    def arithmetic(self) -> bool:
        """Tell whether the entropy coding is arithmetic (SOF9 and up), not Huffman."""
        return self.frame >= 0xC9

    @property
    def progressive(self) -> bool:
        """Tell whether the frame is progressive (SOF2, SOF6, SOF10, SOF14)."""
        return self.frame in (0xC2, 0xC6, 0xCA, 0xCE)

    @property
    def buffered(self) -> bool:
        """Tell whether libjpeg must keep every coefficient of the image (several scans)."""
        return self.progressive or self.scans > 1 or not self.walked


def jpeg_structure(data: bytes) -> JpegStructure:
    """Walk the markers to the first scan and count the scans; refuse floods of either."""
    pos, end, frame, components, segments = 2, len(data), 0, 0, 0
    while pos + 4 <= end and data[pos] == 0xFF:
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker == 0x01 or 0xD0 <= marker <= 0xD8:  # markers without a length
            pos += 2
            continue
        segments += 1
        if segments > MAX_JPEG_SEGMENTS:
            raise malformed(f"more than {MAX_JPEG_SEGMENTS:,} JPEG segments before the image")
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC) and pos + 10 <= end:
            frame, components = marker, data[pos + 9]
        if marker == 0xDA:
            structure = JpegStructure(frame, 1)
            in_scan = data[pos + 4] if pos + 4 < end else -1
            if structure.progressive or not components or in_scan != components:
                structure = JpegStructure(frame, _jpeg_scans(data, pos))
            return _checked(structure)
        pos += 2 + length
    # Pillow skips padding this walk stops at: count every SOS left, thumbnails' included.
    return _checked(JpegStructure(frame, max(1, data.count(b"\xff\xda", pos)), walked=False))


def _checked(structure: JpegStructure) -> JpegStructure:
    if structure.scans > MAX_JPEG_SCANS:
        raise malformed(
            f"the JPEG has {structure.scans:,} scans; encoders write at most {MAX_JPEG_SCANS}"
        )
    return structure


def _jpeg_scans(data: bytes, sos: int) -> int:
    """Count the scans of the main image, whose first SOS marker is at ``sos``."""
    # Entropy-coded data cannot hold 0xFFDA or 0xFFD9 (every 0xFF in it is stuffed), so the
    # first EOI ends the main image; what follows (an MPO's second picture) is not part of it.
    eoi = data.find(b"\xff\xd9", sos)
    return 1 + data.count(b"\xff\xda", sos + 2, eoi if eoi != -1 else len(data))


def check_png_chunks(data: bytes, max_frames: int) -> None:
    """Refuse an APNG declaring too many frames, then PNGs cut into far too many chunks."""
    limit = max(MIN_PNG_CHUNK_LIMIT, len(data) // 1024)
    pos, end, chunks = 8, len(data), 0
    while pos + 8 <= end:
        kind = data[pos + 4 : pos + 8]
        if kind == b"acTL" and int.from_bytes(data[pos + 8 : pos + 12], "big") > max_frames:
            raise animation_too_long(max_frames)  # a frame flood is named as such
        chunks += 1
        if chunks > limit:
            raise malformed(f"the PNG is cut into more than {limit:,} chunks")
        if kind == b"IEND":
            return
        pos += 12 + int.from_bytes(data[pos : pos + 4], "big")


def gif_frames(data: bytes, limit: int) -> int:
    """Count a GIF's image descriptors, stopping past ``limit`` or at anything malformed."""
    # Pillow counts frames by seeking, which decodes every frame: far too slow for a flood.
    budget = max(MIN_GIF_BLOCK_LIMIT, len(data) // 128)
    pos, frames, end = 13, 0, len(data)
    if end > 10 and data[10] & 0x80:
        pos += 3 << ((data[10] & 7) + 1)
    while pos < end and frames <= limit:
        block = data[pos]
        if block == 0x2C:  # image descriptor: 9 bytes, a local palette, the LZW code size
            frames += 1
            if pos + 10 > end:
                break
            flags = data[pos + 9]
            pos += 10 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0) + 1
        elif block == 0x21:  # extension: its label, then sub-blocks
            pos += 2
        else:  # the trailer, or garbage Pillow will judge when it decodes the first frame
            break
        pos, budget = _skip_sub_blocks(data, pos, budget)
        if budget < 0:
            raise malformed("the GIF is cut into far more blocks than its size explains")
    return frames


def _skip_sub_blocks(data: bytes, pos: int, budget: int) -> tuple[int, int]:
    """Return the position after the sub-blocks at ``pos``, and the budget left."""
    end = len(data)
    while pos < end and budget >= 0:
        size = data[pos]
        pos += 1 + size
        budget -= 1
        if size == 0:
            break
    return pos, budget
