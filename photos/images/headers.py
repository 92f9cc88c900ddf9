"""Walk container structures (JPEG markers and scans, PNG chunks, GIF blocks) without decoding.

Each walk is bounded: a hostile file may hold millions of segments, chunks or blocks, and
Pillow's own parsers, written in Python, would spend seconds and hundreds of MB on them.

Image data cut short is refused, yet both decoders take it as whole if something follows it:
libjpeg paints the blocks after a premature marker grey ("Premature end of JPEG file" is only
a warning, which Pillow silences) and Pillow's GIF decoder reads on past a frame's block
terminator. So a single-scan JPEG is decoded without its EOI and a GIF without what follows its
first frame: data cut short runs out of input, which Pillow reports. A JPEG of several scans is
read whole up to its EOI first, so it is judged by its structure: every coefficient coded to its
last bit, every restart marker there, no run of zero bytes longer than its blocks could take. A
progressive JPEG without restart markers cut inside its last scan passes: below the cut it lacks
that scan's detail, not a grey band.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from photos.images.rejections import ImageRejected, animation_too_long

MAX_JPEG_SEGMENTS = 1000  # before the first scan; photos have a few dozen (ICC and XMP split)
MAX_JPEG_SCANS = 100  # progressive encoders write about 10; libjpeg decodes each in full
MIN_PNG_CHUNK_LIMIT = 4096  # more chunks than this must average a KiB each
MIN_GIF_BLOCK_LIMIT = 16384  # more sub-blocks than this must average 128 bytes each
# What a single-scan JPEG's decoder reads instead of its EOI: stuffed 0xFF bytes, all one bits,
# which no Huffman code is. libjpeg-turbo looks up to 57 bits ahead of the code it decodes, so
# 64 let a whole scan finish; a scan that needs more bits than it holds runs out of input.
JPEG_END_PADDING = b"\xff\x00" * 8
# A zero run is measured in bytes, and may start in a code and its extra bits, end in another,
# and begin with the zero of a stuffed 0xFF.
_ZERO_RUN_SLACK = 16

_HEVC_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs"})
_HEIF_BRANDS = frozenset({b"mif1", b"msf1", b"mif2"})
# Inside entropy-coded data every 0xFF is followed by 00 (stuffing), D0-D7 (restart) or FF
# (fill); anything else is a marker, which ends the scan.
_JPEG_MARKER = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")
_JPEG_RESTART = re.compile(rb"\xff[\xd0-\xd7]")


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


def _incomplete_jpeg(what: str) -> ImageRejected:
    return ImageRejected("corrupt", f"The JPEG file is damaged or incomplete: {what}.")


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


@dataclass
class _JpegTables:
    """What the segments before a scan set up: frame, Huffman tables, restart interval."""

    frame: int = 0
    declared: int = 0  # components the frame header declares
    size: tuple[int, int] = (0, 0)
    sampling: dict[int, tuple[int, int]] = field(default_factory=dict)  # component id: (h, v)
    zero_codes: dict[tuple[int, int], tuple[int, int]] = field(default_factory=dict)
    restart: int = 0

    def read(self, data: bytes, marker: int, pos: int, length: int) -> None:
        """Take in the segment ``marker`` at ``pos`` if the scan checks need it."""
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC) and pos + 10 <= len(data):
            self.frame, self.declared = marker, data[pos + 9]
            self.size = (_u16(data, pos + 7), _u16(data, pos + 5))
            stop = min(pos + 10 + 3 * self.declared, len(data) - 1)
            self.sampling = {data[i]: divmod(data[i + 1], 16) for i in range(pos + 10, stop, 3)}
        elif marker == 0xC4:  # keep each table's all-zero code: its first, of the shortest length
            pos, stop = pos + 4, min(pos + 2 + length, len(data))
            while pos + 17 < stop:
                counts = data[pos + 1 : pos + 17]
                shortest = next((i for i, count in enumerate(counts) if count), None)
                if shortest is not None:
                    self.zero_codes[divmod(data[pos], 16)] = (shortest + 1, data[pos + 17])
                pos += 17 + sum(counts)
        elif marker == 0xDD and pos + 6 <= len(data):
            self.restart = _u16(data, pos + 4)


def _u16(data: bytes, pos: int) -> int:
    return int.from_bytes(data[pos : pos + 2], "big")


@dataclass(frozen=True)
class _Scan:
    """One scan: its components with their (DC, AC) tables, and the coefficients it codes."""

    start: int  # the first byte of its entropy-coded data
    components: tuple[tuple[int, int, int], ...]  # (component id, DC table, AC table)
    first: int = 0  # Ss, Se, Ah, Al: a sequential scan codes every coefficient in full
    last: int = 63
    high: int = 0
    low: int = 0

    @classmethod
    def read(cls, data: bytes, pos: int, progressive: bool) -> _Scan:
        """Parse the SOS segment at ``pos``."""
        count = data[pos + 4] if pos + 4 < len(data) else 0
        at = pos + 5 + 2 * count
        components = tuple(
            (data[i], data[i + 1] >> 4, data[i + 1] & 15)
            for i in range(pos + 5, min(at, len(data) - 1), 2)
        )
        scan = cls(pos + 2 + _u16(data, pos + 2), components)
        if not progressive:
            return scan
        first, last, bits = data[at : at + 3].ljust(3, b"\x00")
        return cls(scan.start, components, first, min(last, 63), bits >> 4, bits & 15)


def jpeg_structure(data: bytes) -> JpegStructure:
    """Walk the markers and scans; refuse floods of either, and scans that stop too early."""
    tables = _JpegTables()
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
            scan = _Scan.read(data, pos, progressive)
            if progressive or not tables.declared or len(scan.components) != tables.declared:
                return _scans(data, pos, tables, progressive)
            return _single_scan(data, scan, tables)
        tables.read(data, marker, pos, _u16(data, pos + 2))
        pos += 2 + _u16(data, pos + 2)
    # Pillow skips padding this walk stops at: count every SOS left, thumbnails' included.
    scans = max(1, data.count(b"\xff\xda", pos))
    if scans > MAX_JPEG_SCANS:
        raise _scan_flood(f"{scans:,}")
    return JpegStructure(tables.frame, scans, walked=False)


def _scan_flood(count: str) -> ImageRejected:
    return malformed(f"the JPEG has {count} scans; encoders write at most {MAX_JPEG_SCANS}")


def _single_scan(data: bytes, scan: _Scan, tables: _JpegTables) -> JpegStructure:
    """Check the one scan of a sequential image; the decoder finds it if it is cut short."""
    # Entropy-coded data cannot hold 0xFFD9 (every 0xFF in it is stuffed), so no EOI lies in
    # the scan. The last EOI, found from the end at no cost, is the scan's own or a later
    # picture's (an MPO's); libjpeg stops at the scan's own either way.
    eoi = data.rfind(b"\xff\xd9", scan.start)
    _check_zeros(data, scan, eoi if eoi != -1 else len(data), tables, scan_end_known=False)
    return JpegStructure(tables.frame, 1, end=eoi)


def _scans(data: bytes, sos: int, tables: _JpegTables, progressive: bool) -> JpegStructure:
    """Walk the scans of a progressive or multi-scan image, from its first SOS at ``sos``."""
    # The lowest bit (Al) each coefficient of each component is coded to, -1 if none: every
    # encoder codes them all down to bit 0; a file cut before its last scans does not.
    coded = {ident: [-1] * 64 for ident in tables.sampling}
    scans, pos, end, segments = 0, sos, len(data), 0
    while pos + 4 <= end and data[pos + 1] == 0xDA:
        scans += 1
        if scans > MAX_JPEG_SCANS:
            raise _scan_flood(f"more than {MAX_JPEG_SCANS}")
        scan = _Scan.read(data, pos, progressive)
        marker = _JPEG_MARKER.search(data, scan.start)
        pos = marker.start() if marker else end
        _check_restarts(data, scan, pos, tables, scans)
        _check_zeros(data, scan, pos, tables, scan_end_known=True)
        for levels in (coded[c] for c, _, _ in scan.components if c in coded):
            for k in range(scan.first, scan.last + 1):
                levels[k] = scan.low if levels[k] == -1 else min(levels[k], scan.low)
        # The segments between scans: Huffman tables, restart intervals, comments.
        while pos + 4 <= end and data[pos + 1] not in (0xDA, 0xD9):
            segments += 1
            if segments > MAX_JPEG_SEGMENTS:
                raise malformed(f"more than {MAX_JPEG_SEGMENTS:,} JPEG segments between scans")
            tables.read(data, data[pos + 1], pos, _u16(data, pos + 2))
            marker = _JPEG_MARKER.search(data, pos + 2 + _u16(data, pos + 2))
            pos = marker.start() if marker else end
    if any(level != 0 for levels in coded.values() for level in levels):
        raise _incomplete_jpeg("its scans stop before every part of the picture is coded")
    return JpegStructure(tables.frame, scans)


def _blocks(scan: _Scan, tables: _JpegTables) -> tuple[int, list[int]] | None:
    """Return the scan's MCUs and its components' blocks, or None if they are unknown."""
    (width, height), sampling = tables.size, tables.sampling
    used = [sampling[c] for c, _, _ in scan.components if c in sampling]
    factors = sampling.values()
    if len(used) < len(scan.components) or not (width and height and used):
        return None
    if not all(1 <= h <= 4 and 1 <= v <= 4 for h, v in factors):
        return None  # libjpeg refuses such sampling factors
    h_max, v_max = max(h for h, _ in factors), max(v for _, v in factors)
    if len(used) > 1:  # interleaved: each MCU holds h x v blocks of each component
        mcus = math.ceil(width / 8 / h_max) * math.ceil(height / 8 / v_max)
        return mcus, [mcus * h * v for h, v in used]
    h, v = used[0]  # alone, a component's blocks cover it without padding to whole MCUs
    blocks = math.ceil(width * h / h_max / 8) * math.ceil(height * v / v_max / 8)
    return blocks, [blocks]


def _check_restarts(data: bytes, scan: _Scan, stop: int, tables: _JpegTables, number: int) -> None:
    """Refuse a scan holding fewer restart markers than its interval asks for: it was cut."""
    counted = _blocks(scan, tables) if tables.restart else None
    if counted is None:
        return
    expected = math.ceil(counted[0] / tables.restart) - 1
    found = len(_JPEG_RESTART.findall(data, scan.start, stop))
    if found < expected:
        raise _incomplete_jpeg(
            f"its scan {number} holds {found:,} of the {expected:,} restart markers it needs"
        )


_ZERO_PROBE = 64


def _check_zeros(
    data: bytes, scan: _Scan, stop: int, tables: _JpegTables, *, scan_end_known: bool
) -> None:
    """Refuse a run of zero bytes longer than every block of the scan could be coded in."""
    # Zero bits inside entropy-coded data are each table's all-zero code, over and over, with
    # zero extra bits: such a run cannot outlast all the scan's blocks coded that way. Damage
    # (zero-filled sectors, holes in a download) leaves far longer runs, which libjpeg decodes
    # into something, with a warning only.
    capacity = _zero_capacity(scan, tables)
    if capacity is None or capacity // 8 + _ZERO_RUN_SLACK > stop - scan.start:
        return
    run = capacity // 8 + _ZERO_RUN_SLACK
    # A short probe first: bytes.find is slow with a needle of many kilobytes, and real
    # entropy-coded data rarely holds even 64 zero bytes in a row.
    if run > _ZERO_PROBE and data.find(bytes(_ZERO_PROBE), scan.start, stop) == -1:
        return
    at = data.find(bytes(run), scan.start, stop)
    if at == -1 or (not scan_end_known and _JPEG_MARKER.search(data, scan.start, at)):
        return  # no such run, or one past the scan (in a later picture or a trailer)
    raise _incomplete_jpeg(
        "its image data holds a run of zero bytes longer than all its blocks could be coded in"
    )


def _zero_capacity(scan: _Scan, tables: _JpegTables) -> int | None:
    """Return how many zero bits the scan's blocks could hold at most, or None if unbounded."""
    counted = _blocks(scan, tables)
    if counted is None or (scan.high and scan.last) or tables.frame >= 0xC9:
        return None  # AC refinement (a correction bit, zero or not, a coefficient), arithmetic
    total = 0
    for (_, dc, ac), blocks in zip(scan.components, counted[1], strict=True):
        bits = 0
        if scan.first == 0:  # a DC code and its extra bits, or one refining bit
            code = (1, 0) if scan.high else tables.zero_codes.get((0, dc))
            if code is None:
                return None  # no such table: libjpeg's defaults, or an error
            bits += code[0] + code[1] % 16
        if scan.last:
            code = tables.zero_codes.get((1, ac))
            if code is None:
                return None
            run, size = divmod(code[1], 16)
            if size == 0 and run < 15:  # end of block, or a run of 2**run ends of block
                bits += code[0] + run
            else:  # coefficients (or 16 zeros), one every run + 1 positions at most
                positions = max(0, scan.last - max(scan.first, 1) + 1)
                bits += math.ceil(positions / (run + 1)) * (code[0] + size)
        total += bits * blocks
    return total


def jpeg_for_decoder(data: bytes, structure: JpegStructure) -> bytes:
    """Return what libjpeg is to read: a single Huffman scan ends in padding, not at an EOI."""
    # Several scans are all read, up to the EOI, which must stay, before any pixel is output;
    # arithmetic decoding cannot wait for more input at all.
    if structure.buffered or structure.arithmetic or structure.end == -1:
        return data
    return data[: structure.end] + JPEG_END_PADDING


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
    frames = 0
    for block, _ in _gif_blocks(data):
        frames += block == 0x2C
        if frames > limit:
            break
    return frames


def gif_for_decoder(data: bytes) -> bytes:
    """Return the GIF up to its first frame's block terminator, then a trailer."""
    # Pillow's decoder would read on into whatever follows (the next frame, a comment, junk)
    # as more of the frame's pixels; so cut off, a frame short of pixels runs out of input.
    for block, end in _gif_blocks(data):
        if block == 0x2C:
            return data[:end] + b";" if end <= len(data) else data
    return data


def _gif_blocks(data: bytes) -> Iterator[tuple[int, int]]:
    """Yield each extension's or frame's introducer (0x21, 0x2C) and where its blocks end."""
    budget = max(MIN_GIF_BLOCK_LIMIT, len(data) // 128)
    pos, end = 13, len(data)
    if end > 10 and data[10] & 0x80:
        pos += 3 << ((data[10] & 7) + 1)
    while pos < end:
        block = data[pos]
        if block == 0x2C:  # image descriptor: 9 bytes, a local palette, the LZW code size
            if pos + 10 > end:
                yield block, end + 1
                return
            flags = data[pos + 9]
            pos += 10 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0) + 1
        elif block == 0x21:  # extension: its label, then sub-blocks
            pos += 2
        else:  # the trailer, or garbage Pillow will judge when it decodes the first frame
            return
        pos, budget = _skip_sub_blocks(data, pos, budget)
        if budget < 0:
            raise malformed("the GIF is cut into far more blocks than its size explains")
        yield block, pos


def _skip_sub_blocks(data: bytes, pos: int, budget: int) -> tuple[int, int]:
    """Return the position after the sub-blocks at ``pos`` (past the end if cut), and the budget."""
    end = len(data)
    while pos < end and budget >= 0:
        size = data[pos]
        pos += 1 + size
        budget -= 1
        if size == 0:
            return pos, budget
    return max(pos, end + 1), budget
