"""Walk a GIF's blocks: count its frames, and cut what its decoder reads after the first."""

from __future__ import annotations

from collections.abc import Iterator

from instaclone.images.headers.malformed import malformed

MIN_GIF_BLOCK_LIMIT = 16384  # more sub-blocks than this must average 128 bytes each


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
