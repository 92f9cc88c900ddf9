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

from instaclone.images.headers.gif import gif_for_decoder, gif_frames
from instaclone.images.headers.jpeg import JpegStructure, jpeg_for_decoder, jpeg_structure
from instaclone.images.headers.png import check_png_chunks
from instaclone.images.headers.sniff import sniff_format

__all__ = [
    "JpegStructure",
    "check_png_chunks",
    "gif_for_decoder",
    "gif_frames",
    "jpeg_for_decoder",
    "jpeg_structure",
    "sniff_format",
]
