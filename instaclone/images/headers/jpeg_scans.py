"""Check a JPEG scan's entropy-coded data: its restart markers and its runs of zero bytes."""

from __future__ import annotations

import math
import re

from instaclone.images.headers.jpeg_segments import JPEG_MARKER, JpegTables, Scan
from instaclone.images.headers.malformed import incomplete_jpeg

# A zero run is measured in bytes, and may start in a code and its extra bits, end in another,
# and begin with the zero of a stuffed 0xFF.
_ZERO_RUN_SLACK = 16
# A restart marker: one of the three things a 0xFF in entropy-coded data may be followed by.
_JPEG_RESTART = re.compile(rb"\xff[\xd0-\xd7]")


def _blocks(scan: Scan, tables: JpegTables) -> tuple[int, list[int]] | None:
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


def check_restarts(data: bytes, scan: Scan, stop: int, tables: JpegTables, number: int) -> None:
    """Refuse a scan holding fewer restart markers than its interval asks for: it was cut."""
    counted = _blocks(scan, tables) if tables.restart else None
    if counted is None:
        return
    expected = math.ceil(counted[0] / tables.restart) - 1
    found = len(_JPEG_RESTART.findall(data, scan.start, stop))
    if found < expected:
        raise incomplete_jpeg(
            f"its scan {number} holds {found:,} of the {expected:,} restart markers it needs"
        )


_ZERO_PROBE = 64


def check_zeros(
    data: bytes, scan: Scan, stop: int, tables: JpegTables, *, scan_end_known: bool
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
    if at == -1 or (not scan_end_known and JPEG_MARKER.search(data, scan.start, at)):
        return  # no such run, or one past the scan (in a later picture or a trailer)
    raise incomplete_jpeg(
        "its image data holds a run of zero bytes longer than all its blocks could be coded in"
    )


def _zero_capacity(scan: Scan, tables: JpegTables) -> int | None:
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
