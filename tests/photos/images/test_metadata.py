"""Metadata stripping: EXIF, XMP, ICC, comments and PNG text canaries never reach a rendition."""

from __future__ import annotations

from io import BytesIO

import pytest
from PIL import ExifTags, Image, ImageCms
from PIL.PngImagePlugin import PngInfo

from photos.images import process_image

from .support import decoded, encode, markers, mean_difference, photo, rendition


def _canary(where: str) -> bytes:
    return f"CANARY-{where}-7f3a".encode()


def _exif_with(where: str, orientation: int | None = None) -> bytes:
    """Return EXIF with the canary in ImageDescription, Artist, UserComment and GPS."""
    canary = _canary(where).decode()
    exif = Image.Exif()
    if orientation is not None:
        exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.Base.ImageDescription] = f"{canary}-description"
    exif[ExifTags.Base.Artist] = f"{canary}-artist"
    exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.UserComment] = b"ASCII\0\0\0" + (
        f"{canary}-comment".encode()
    )
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (51.0, 30.0, 26.6)
    gps[ExifTags.GPS.GPSLongitudeRef] = "W"
    gps[ExifTags.GPS.GPSLongitude] = (0.0, 7.0, 39.9)
    gps[ExifTags.GPS.GPSAreaInformation] = b"ASCII\0\0\0" + f"{canary}-gps".encode()
    return exif.tobytes()


def _xmp(where: str) -> bytes:
    return (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-'
        b'rdf-syntax-ns#"><rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/" '
        b'xmlns:exif="http://ns.adobe.com/exif/1.0/" exif:GPSLatitude="51,30.4N" dc:creator="'
        + _canary(where)
        + b'-xmp"/></rdf:RDF></x:xmpmeta>'
    )


def _icc(where: str) -> bytes:
    """Return a valid sRGB profile whose description is the (13-character) canary."""
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    description = f"ICC-{where}"[:13].ljust(13, "x")
    changed = profile.replace("sRGB built-in".encode("utf-16-be"), description.encode("utf-16-be"))
    assert changed != profile
    return changed


def _icc_canary(where: str) -> bytes:
    return f"ICC-{where}"[:13].ljust(13, "x").encode("utf-16-be")


def _png_info(where: str, kind: str) -> PngInfo:
    info = PngInfo()
    text = _canary(where).decode() + f"-{kind}"
    if kind == "tEXt":
        info.add_text("Comment", text)
    elif kind == "zTXt":
        info.add_text("Description", text, zip=True)
    elif kind == "iTXt":
        info.add_itxt("Author", text, lang="en", tkey="Author")
    else:
        info.add_itxt("XML:com.adobe.xmp", _xmp(where).decode())
    return info


# Each fixture: name -> (bytes, canaries that must vanish).
def _metadata_fixtures() -> dict[str, tuple[bytes, list[bytes]]]:
    jpeg, png, webp = photo(), photo(), photo()
    fixtures: dict[str, tuple[bytes, list[bytes]]] = {}

    def add(name: str, data: bytes, *canaries: bytes) -> None:
        fixtures[name] = (data, list(canaries))

    add("jpeg-exif", encode(jpeg, "JPEG", exif=_exif_with("je")), _canary("je"))
    # Orientation 6 sends it down the path that transposes the square after resizing.
    add(
        "jpeg-exif-rotated",
        encode(jpeg, "JPEG", exif=_exif_with("jr", orientation=6)),
        _canary("jr"),
    )
    add("jpeg-xmp", encode(jpeg, "JPEG", xmp=_xmp("jx")), _canary("jx"), b"http://ns.adobe.com")
    add("jpeg-icc", encode(jpeg, "JPEG", icc_profile=_icc("ji")), _icc_canary("ji"))
    add("jpeg-comment", encode(jpeg, "JPEG", comment=_canary("jc")), _canary("jc"))
    add(
        "jpeg-everything",
        encode(
            jpeg,
            "JPEG",
            exif=_exif_with("ja"),
            xmp=_xmp("ja"),
            icc_profile=_icc("ja"),
            comment=_canary("ja"),
            progressive=True,
        ),
        _canary("ja"),
        _icc_canary("ja"),
    )
    for kind in ("tEXt", "zTXt", "iTXt", "XMP"):
        where = f"p{kind}"
        add(f"png-{kind}", encode(png, "PNG", pnginfo=_png_info(where, kind)), _canary(where))
    add("png-exif", encode(png, "PNG", exif=_exif_with("pe")), _canary("pe"))
    add("png-icc", encode(png, "PNG", icc_profile=_icc("pi")), _icc_canary("pi"))
    add("webp-exif", encode(webp, "WEBP", exif=_exif_with("we")), _canary("we"))
    add("webp-xmp", encode(webp, "WEBP", xmp=_xmp("wx")), _canary("wx"))
    add("webp-icc", encode(webp, "WEBP", icc_profile=_icc("wi")), _icc_canary("wi"))
    add("gif-comment", encode(photo().convert("P"), "GIF", comment=_canary("gc")), _canary("gc"))
    add(
        "heic-exif-xmp",
        encode(photo(), "HEIF", exif=_exif_with("he"), xmp=_xmp("he")),
        _canary("he"),
    )
    return fixtures


METADATA = _metadata_fixtures()


def test_there_are_at_least_a_dozen_metadata_fixtures() -> None:
    assert len(METADATA) >= 12


@pytest.mark.parametrize("name", METADATA)
def test_metadata_canaries_are_absent_from_every_rendition(name: str) -> None:
    data, canaries = METADATA[name]
    source = Image.open(BytesIO(data))
    source.load()
    carried = repr(source.info).encode() + data + (source.info.get("icc_profile") or b"")
    assert all(canary in carried for canary in canaries), "the fixture must carry its canaries"

    result = process_image(data)

    for item in result.renditions:
        for canary in canaries:
            assert canary not in item.data
        assert b"CANARY" not in item.data
        assert b"Exif" not in item.data
        assert b"http://ns.adobe.com/xap" not in item.data
        assert b"ICC_PROFILE" not in item.data


@pytest.mark.parametrize("name", ["jpeg-everything", "png-exif", "webp-icc", "heic-exif-xmp"])
def test_renditions_hold_only_jfif_tables_frame_and_scans(name: str) -> None:
    result = process_image(METADATA[name][0])

    for item in result.renditions:
        found = markers(item.data)
        kinds = {marker for marker, _ in found}
        assert kinds <= {0xD8, 0xE0, 0xDB, 0xC2, 0xC4, 0xDA, 0xD9}, sorted(map(hex, kinds))
        assert 0xFE not in kinds  # no COM: Pillow would write the source's comment back
        assert [p[:5] for m, p in found if m == 0xE0] == [b"JFIF\0"]
        image = decoded(item.data)
        assert not image.getexif()
        assert not {"exif", "icc_profile", "xmp", "comment"} & set(image.info)


def test_the_icc_profile_is_converted_into_the_pixels_before_it_is_dropped() -> None:
    # An sRGB-tagged image must come out as the untagged one does (a valid profile is used).
    image = photo()  # its noise is random: one image for both
    plain = process_image(encode(image, "PNG"))
    tagged = process_image(encode(image, "PNG", icc_profile=_icc("conv")))

    assert mean_difference(rendition(plain), rendition(tagged)) < 1.5
