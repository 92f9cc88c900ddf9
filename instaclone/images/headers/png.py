"""Walk a PNG's chunks: an APNG's declared frames and floods of chunks."""

from __future__ import annotations

from instaclone.images.headers.malformed import malformed
from instaclone.images.rejections import animation_too_long

MIN_PNG_CHUNK_LIMIT = 4096  # more chunks than this must average a KiB each


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
