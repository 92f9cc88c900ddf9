"""Turn any image a person sends into square JPEGs: validate, decode once, orient, strip.

The one pipeline for every uploaded image: photos (``photos.images`` adds the filter) and
profile pictures (``accounts.services.users``, the 150 px rendition only). It lives in the base
layer, beside the sharding core, because accounts sits left of photos in the app order and may
not import it; it knows nothing of either app (a photo's filter comes in as ``finish``).

Decisions others rely on:

- Validation reads signatures and headers only: bytes, format (by content, never by name),
  pixels, frames, floods of segments, chunks, blocks or scans (malformed: "corrupt"), and what
  the decode would allocate (DECODE_BUDGET, so no file makes the process grow past 256 MB;
  WebP, HEIC and 4:4:4 progressive JPEG reach it sooner, hence lower effective pixel limits).
- Image data cut short is refused ("corrupt") even when a terminator was appended after the
  cut (JPEG EOI, GIF trailer); data after a JPEG's EOI (phone trailers, MPO) is ignored. A
  progressive JPEG without restart markers cut inside its last scan is the one case not caught.
- Only the first frame of an animation is used; an animation over MAX_FRAMES is refused.
- The crop box is in the pixels of the upright image (EXIF orientation applied), as a client
  shows it; ``source_width``/``source_height`` are upright too.
- Images smaller than 640 are upscaled, as Instagram did; only a client's crop box has a
  minimum (150 px).
- Renditions carry no metadata: EXIF, GPS, XMP, ICC and comments are dropped after the colours
  are converted to sRGB through the source's ICC profile.
- Safe to call from several threads: Pillow's process-wide pixel limit is only changed under a
  lock, around header parsing.
"""

from instaclone.images.headers import sniff_format
from instaclone.images.pipeline import (
    RENDITION_NAMES,
    RENDITIONS,
    Processed,
    Rendition,
    process_image,
)
from instaclone.images.probe import MAX_FRAMES
from instaclone.images.rejections import REJECTION_CODES, ImageRejected, too_large

__all__ = [
    "MAX_FRAMES",
    "REJECTION_CODES",
    "RENDITION_NAMES",
    "RENDITIONS",
    "ImageRejected",
    "Processed",
    "Rendition",
    "process_image",
    "sniff_format",
    "too_large",
]
