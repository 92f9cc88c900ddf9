"""Tell an upload's format by its signature, never by its name."""

from __future__ import annotations

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
