"""Read the JPEG segments the scan checks need: frame, Huffman tables, restarts, scan headers."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# Inside entropy-coded data every 0xFF is followed by 00 (stuffing), D0-D7 (restart) or FF
# (fill); anything else is a marker, which ends the scan.
JPEG_MARKER = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")


@dataclass
class JpegTables:
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
            self.size = (u16(data, pos + 7), u16(data, pos + 5))
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
            self.restart = u16(data, pos + 4)


def u16(data: bytes, pos: int) -> int:
    """Return the big-endian 16-bit number at ``pos`` (a segment's length, say)."""
    return int.from_bytes(data[pos : pos + 2], "big")


@dataclass(frozen=True)
class Scan:
    """One scan: its components with their (DC, AC) tables, and the coefficients it codes."""

    start: int  # the first byte of its entropy-coded data
    components: tuple[tuple[int, int, int], ...]  # (component id, DC table, AC table)
    first: int = 0  # Ss, Se, Ah, Al: a sequential scan codes every coefficient in full
    last: int = 63
    high: int = 0
    low: int = 0

    @classmethod
    def read(cls, data: bytes, pos: int, progressive: bool) -> Scan:
        """Parse the SOS segment at ``pos``."""
        count = data[pos + 4] if pos + 4 < len(data) else 0
        at = pos + 5 + 2 * count
        components = tuple(
            (data[i], data[i + 1] >> 4, data[i + 1] & 15)
            for i in range(pos + 5, min(at, len(data) - 1), 2)
        )
        scan = cls(pos + 2 + u16(data, pos + 2), components)
        if not progressive:
            return scan
        first, last, bits = data[at : at + 3].ljust(3, b"\x00")
        return cls(scan.start, components, first, min(last, 63), bits >> 4, bits & 15)
