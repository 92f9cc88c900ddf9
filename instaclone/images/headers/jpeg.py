"""Walk a JPEG's markers and scans, and choose what libjpeg is to read of it."""

from __future__ import annotations

from dataclasses import dataclass

from instaclone.images.headers.jpeg_scans import check_restarts, check_zeros
from instaclone.images.headers.jpeg_segments import JPEG_MARKER, JpegTables, Scan, u16
from instaclone.images.headers.malformed import incomplete_jpeg, malformed
from instaclone.images.rejections import ImageRejected

MAX_JPEG_SEGMENTS = 1000  # before the first scan; photos have a few dozen (ICC and XMP split)
MAX_JPEG_SCANS = 100  # progressive encoders write about 10; libjpeg decodes each in full
# What a single-scan JPEG's decoder reads instead of its EOI: stuffed 0xFF bytes, all one bits,
# which no Huffman code is. libjpeg-turbo looks up to 57 bits ahead of the code it decodes, so
# 64 let a whole scan finish; a scan that needs more bits than it holds runs out of input.
JPEG_END_PADDING = b"\xff\x00" * 8


@dataclass(frozen=True)
class JpegStructure:
    """The main image's frame marker (SOF0-SOF15), its scans, and where its data ends."""

    frame: int
    scans: int
    walked: bool = True  # False when the markers could not be followed up to the first scan
    end: int = -1  # a single scan's last EOI marker (its own or a later picture's), or -1

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
    """Walk the markers and scans; refuse floods of either, and scans that stop too early."""
    tables = JpegTables()
    pos, end, segments = 2, len(data), 0
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
        if marker == 0xDA:
            progressive = JpegStructure(tables.frame, 1).progressive
            scan = Scan.read(data, pos, progressive)
            if progressive or not tables.declared or len(scan.components) != tables.declared:
                return _scans(data, pos, tables, progressive)
            return _single_scan(data, scan, tables)
        tables.read(data, marker, pos, u16(data, pos + 2))
        pos += 2 + u16(data, pos + 2)
    # Pillow skips padding this walk stops at: count every SOS left, thumbnails' included.
    scans = max(1, data.count(b"\xff\xda", pos))
    if scans > MAX_JPEG_SCANS:
        raise _scan_flood(f"{scans:,}")
    return JpegStructure(tables.frame, scans, walked=False)


def _scan_flood(count: str) -> ImageRejected:
    return malformed(f"the JPEG has {count} scans; encoders write at most {MAX_JPEG_SCANS}")


def _single_scan(data: bytes, scan: Scan, tables: JpegTables) -> JpegStructure:
    """Check the one scan of a sequential image; the decoder finds it if it is cut short."""
    # Entropy-coded data cannot hold 0xFFD9 (every 0xFF in it is stuffed), so no EOI lies in
    # the scan. The last EOI, found from the end at no cost, is the scan's own or a later
    # picture's (an MPO's); libjpeg stops at the scan's own either way.
    eoi = data.rfind(b"\xff\xd9", scan.start)
    check_zeros(data, scan, eoi if eoi != -1 else len(data), tables, scan_end_known=False)
    return JpegStructure(tables.frame, 1, end=eoi)


def _scans(data: bytes, sos: int, tables: JpegTables, progressive: bool) -> JpegStructure:
    """Walk the scans of a progressive or multi-scan image, from its first SOS at ``sos``."""
    # The lowest bit (Al) each coefficient of each component is coded to, -1 if none: every
    # encoder codes them all down to bit 0; a file cut before its last scans does not.
    coded = {ident: [-1] * 64 for ident in tables.sampling}
    scans, pos, end, segments = 0, sos, len(data), 0
    while pos + 4 <= end and data[pos + 1] == 0xDA:
        scans += 1
        if scans > MAX_JPEG_SCANS:
            raise _scan_flood(f"more than {MAX_JPEG_SCANS}")
        scan = Scan.read(data, pos, progressive)
        marker = JPEG_MARKER.search(data, scan.start)
        pos = marker.start() if marker else end
        check_restarts(data, scan, pos, tables, scans)
        check_zeros(data, scan, pos, tables, scan_end_known=True)
        for levels in (coded[c] for c, _, _ in scan.components if c in coded):
            for k in range(scan.first, scan.last + 1):
                levels[k] = scan.low if levels[k] == -1 else min(levels[k], scan.low)
        # The segments between scans: Huffman tables, restart intervals, comments.
        while pos + 4 <= end and data[pos + 1] not in (0xDA, 0xD9):
            segments += 1
            if segments > MAX_JPEG_SEGMENTS:
                raise malformed(f"more than {MAX_JPEG_SEGMENTS:,} JPEG segments between scans")
            tables.read(data, data[pos + 1], pos, u16(data, pos + 2))
            marker = JPEG_MARKER.search(data, pos + 2 + u16(data, pos + 2))
            pos = marker.start() if marker else end
    if any(level != 0 for levels in coded.values() for level in levels):
        raise incomplete_jpeg("its scans stop before every part of the picture is coded")
    return JpegStructure(tables.frame, scans)


def jpeg_for_decoder(data: bytes, structure: JpegStructure) -> bytes:
    """Return what libjpeg is to read: a single Huffman scan ends in padding, not at an EOI."""
    # Several scans are all read, up to the EOI, which must stay, before any pixel is output;
    # arithmetic decoding cannot wait for more input at all.
    if structure.buffered or structure.arithmetic or structure.end == -1:
        return data
    return data[: structure.end] + JPEG_END_PADDING
