"""Polyglots: valid images that are also scripts, web shells, pages or archives.

They are accepted: their renditions are re-encoded and must not carry the payload's bytes.
"""

from __future__ import annotations

import io
import struct
import zipfile

from .cases import ACCEPTED, add, save, scene
from .gif import gif
from .heif import heic
from .jpeg import exif, jpeg, jpeg_segment, jpeg_with
from .png import png_chunk, png_file, png_with_chunk_after_header

PHP = b"<?php system($_GET['cmd']); ?>"
SCRIPT = b"<script>alert('instaclone')</script>"
JS = b"alert('instaclone-polyglot')"
SHELL = b"shell.php"


def zip_of(files: dict[str, bytes]) -> bytes:
    """Return a ZIP archive of ``files``, with fixed dates so that its bytes never change."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(zipfile.ZipInfo(name, date_time=(2011, 10, 6, 0, 0, 0)), content)
    return buffer.getvalue()


add(
    "gif_javascript_polyglot",
    "polyglot",
    ACCEPTED,
    "GIF89a/*...*/=alert(): a GIF (10799x12, its width is '/*') a browser also runs as script.",
    lambda: b"GIF89a/*" + gif(0, 12)[8:-1] + b";*/=" + JS + b";",
    payloads=(JS,),
)
add(
    "gif_html_in_comment",
    "polyglot",
    ACCEPTED,
    "A GIF with an HTML script in a comment extension.",
    lambda: gif(32, 32, extensions=b"\x21\xfe" + bytes((len(SCRIPT),)) + SCRIPT + b"\x00"),
    payloads=(SCRIPT,),
)
add(
    "jpeg_php_appended",
    "polyglot",
    ACCEPTED,
    "A JPEG with a PHP web shell after its end marker.",
    lambda: jpeg() + PHP,
    payloads=(PHP,),
)
add(
    "jpeg_php_in_comment",
    "polyglot",
    ACCEPTED,
    "A JPEG whose COM segment is a PHP shell (Pillow writes comments back unless told not to).",
    lambda: jpeg_with(jpeg_segment(0xFE, PHP)),
    payloads=(PHP,),
)
add(
    "jpeg_html_in_exif_description",
    "polyglot",
    ACCEPTED,
    "A JPEG whose EXIF ImageDescription is an HTML script.",
    # The value follows the IFD: TIFF header 8 + count 2 + one entry 12 + next offset 4 = 26.
    lambda: jpeg_with(
        exif([(0x010E, 2, len(SCRIPT) + 1, struct.pack("<I", 26))], tail=SCRIPT + b"\x00")
    ),
    payloads=(SCRIPT,),
)
add(
    "png_with_zip_appended",
    "polyglot",
    ACCEPTED,
    "A PNG followed by a ZIP holding a PHP shell: unzip and the browser both read it.",
    lambda: png_file() + zip_of({SHELL.decode(): PHP}),
    payloads=(b"PK\x03\x04", SHELL, PHP),
)
add(
    "png_html_in_text_chunk",
    "polyglot",
    ACCEPTED,
    "A PNG with an HTML script in a tEXt chunk.",
    lambda: png_with_chunk_after_header(png_chunk(b"tEXt", b"Comment\x00" + SCRIPT)),
    payloads=(SCRIPT,),
)
add(
    "webp_html_after_riff",
    "polyglot",
    ACCEPTED,
    "A WebP followed, past the length its RIFF header gives, by an HTML page.",
    lambda: save(scene(), "WEBP", quality=80) + b"<html>" + SCRIPT + b"</html>",
    payloads=(SCRIPT,),
)
add(
    "heic_php_appended",
    "polyglot",
    ACCEPTED,
    "A HEIC with a PHP web shell after its last box.",
    lambda: heic(scene()) + PHP,
    payloads=(PHP,),
)
add(
    "gif_magic_then_html",
    "polyglot",
    "corrupt",
    "GIF89a then an HTML page: a GIF header with no frame in it.",
    lambda: b"GIF89a<html><body>" + SCRIPT + b"</body></html>",
)
