"""Filters: each one's defining look measured on pixels, determinism, names, and cheapness."""

from __future__ import annotations

import itertools

import pytest
from PIL import Image, ImageDraw, ImageStat

from photos import filters
from photos.filters import FILTER_NAMES, UnknownFilter, apply_filter, filter_name, filter_slug
from photos.filters.tables import TABLES

CORNER = 24  # side of the square sampled in each corner and in the centre


def colourful() -> Image.Image:
    """Return a 256x256 hue sweep (left to right) from black (top) to full value (bottom).

    The left half is strongly and the right half mildly saturated, so saturation can both rise
    and fall.
    """
    hue = Image.linear_gradient("L").rotate(90)
    value = Image.linear_gradient("L")
    saturation = Image.new("L", (256, 256), 192)
    ImageDraw.Draw(saturation).rectangle((128, 0, 255, 255), fill=96)
    return Image.merge("HSV", (hue, saturation, value)).convert("RGB")


def muted() -> Image.Image:
    """Return the colourful image with its values squeezed into the mid-tones, like most photos."""
    return colourful().point(lambda v: 64 + v * 128 // 255)


def flat_grey() -> Image.Image:
    """Return a uniform mid-grey image, on which any vignette shows alone."""
    return Image.new("RGB", (256, 256), (128, 128, 128))


def luma_mean(image: Image.Image) -> float:
    """Return the mean luminance."""
    return ImageStat.Stat(image.convert("L")).mean[0]


def luma_std(image: Image.Image) -> float:
    """Return the standard deviation of luminance, a measure of contrast."""
    return ImageStat.Stat(image.convert("L")).stddev[0]


def luma_min(image: Image.Image) -> int:
    """Return the darkest luminance."""
    return ImageStat.Stat(image.convert("L")).extrema[0][0]


def means(image: Image.Image) -> tuple[float, float, float]:
    """Return the mean of R, G and B."""
    red, green, blue = ImageStat.Stat(image).mean
    return red, green, blue


def warmth(image: Image.Image) -> float:
    """Return mean R minus mean B."""
    red, _, blue = means(image)
    return red - blue


def yellowness(image: Image.Image) -> float:
    """Return the mean of R and G minus mean B."""
    red, green, blue = means(image)
    return (red + green) / 2 - blue


def saturation(image: Image.Image) -> float:
    """Return the mean HSV saturation."""
    return ImageStat.Stat(image.convert("HSV")).mean[1]


def corner_to_centre(image: Image.Image) -> float:
    """Return the mean luminance of the four corner squares over that of the centre square."""
    width, height = image.size
    grey = image.convert("L")
    corners = [
        grey.crop((x, y, x + CORNER, y + CORNER))
        for x in (0, width - CORNER)
        for y in (0, height - CORNER)
    ]
    corner = sum(ImageStat.Stat(c).mean[0] for c in corners) / 4
    left, top = (width - CORNER) // 2, (height - CORNER) // 2
    centre = ImageStat.Stat(grey.crop((left, top, left + CORNER, top + CORNER))).mean[0]
    return corner / centre


def inside_frame(image: Image.Image) -> Image.Image:
    """Return the image without an outer tenth on each side, where frames are drawn."""
    width, height = image.size
    return image.crop((width // 10, height // 10, width - width // 10, height - height // 10))


@pytest.fixture(scope="module")
def photo() -> Image.Image:
    """Return the colourful test image."""
    return colourful()


def test_there_are_at_least_twelve_filters_of_2011_with_normal_first() -> None:
    assert FILTER_NAMES[0] == "Normal"
    assert len(FILTER_NAMES) >= 12
    assert len(set(FILTER_NAMES)) == len(FILTER_NAMES)
    assert {"X-Pro II", "Lo-fi", "Earlybird", "Inkwell", "1977", "Lord Kelvin"} <= set(FILTER_NAMES)


def test_normal_returns_an_identical_copy(photo: Image.Image) -> None:
    out = apply_filter(photo, "Normal")

    assert out is not photo
    assert out.tobytes() == photo.tobytes()


def test_x_pro_ii_saturates_and_vignettes(photo: Image.Image) -> None:
    out = apply_filter(photo, "X-Pro II")

    assert saturation(inside_frame(out)) > saturation(inside_frame(photo)) * 1.1
    assert corner_to_centre(apply_filter(flat_grey(), "X-Pro II")) < 0.55


def test_lo_fi_raises_contrast() -> None:
    assert luma_std(apply_filter(muted(), "Lo-fi")) > luma_std(muted()) * 1.3


def test_earlybird_warms(photo: Image.Image) -> None:
    assert warmth(apply_filter(photo, "Earlybird")) > warmth(photo) + 30


def test_earlybird_fades_colour(photo: Image.Image) -> None:
    assert saturation(apply_filter(photo, "Earlybird")) < saturation(photo) * 0.9


def test_sutro_burns_the_corners_and_darkens(photo: Image.Image) -> None:
    assert corner_to_centre(apply_filter(flat_grey(), "Sutro")) < 0.45
    assert luma_mean(apply_filter(photo, "Sutro")) < luma_mean(photo) - 20


def test_toaster_burns_the_corners_and_warms_the_centre(photo: Image.Image) -> None:
    assert corner_to_centre(apply_filter(flat_grey(), "Toaster")) < 0.6
    assert warmth(inside_frame(apply_filter(photo, "Toaster"))) > warmth(inside_frame(photo)) + 40


def test_brannan_raises_contrast_and_drains_colour(photo: Image.Image) -> None:
    assert luma_std(apply_filter(muted(), "Brannan")) > luma_std(muted()) * 1.25
    assert saturation(apply_filter(photo, "Brannan")) < saturation(photo) * 0.75


def test_inkwell_is_greyscale(photo: Image.Image) -> None:
    red, green, blue = apply_filter(photo, "Inkwell").split()

    assert red.tobytes() == green.tobytes() == blue.tobytes()
    assert ImageStat.Stat(red).extrema[0][1] > 200  # still a picture, not a blank


def test_walden_lifts_shadows_and_tints_yellow(photo: Image.Image) -> None:
    out = apply_filter(photo, "Walden")

    assert luma_min(photo) == 0
    assert luma_min(out) >= 40
    assert yellowness(out) > yellowness(photo) + 15


def test_hefe_saturates_and_turns_golden(photo: Image.Image) -> None:
    out = apply_filter(photo, "Hefe")

    assert saturation(inside_frame(out)) > saturation(inside_frame(photo)) * 1.15
    assert yellowness(out) > yellowness(photo) + 10
    assert corner_to_centre(apply_filter(flat_grey(), "Hefe")) < 0.75


def test_valencia_fades_contrast_and_warms(photo: Image.Image) -> None:
    assert luma_std(apply_filter(muted(), "Valencia")) < luma_std(muted()) * 0.85
    assert warmth(apply_filter(photo, "Valencia")) > warmth(photo) + 15


def test_nashville_tints_pink_lifts_blacks_and_frames(photo: Image.Image) -> None:
    out = apply_filter(photo, "Nashville")
    red, green, blue = means(inside_frame(out))
    red0, green0, blue0 = means(inside_frame(photo))

    assert red - green > red0 - green0 + 8
    assert blue - green > blue0 - green0 + 8
    assert luma_min(inside_frame(out)) >= 30
    assert out.getpixel((0, 0)) == out.getpixel((255, 128)) == (24, 20, 22)


def test_1977_tints_rose(photo: Image.Image) -> None:
    red, green, blue = means(apply_filter(photo, "1977"))
    red0, green0, blue0 = means(photo)

    assert red - green > red0 - green0 + 25
    assert blue - green > blue0 - green0 + 5


def test_lord_kelvin_burns_orange_in_a_cream_frame(photo: Image.Image) -> None:
    out = apply_filter(photo, "Lord Kelvin")

    assert warmth(inside_frame(out)) > warmth(inside_frame(photo)) + 60
    assert out.getpixel((0, 0)) == out.getpixel((128, 255)) == (246, 236, 210)


def test_amaro_brightens_most_at_the_centre(photo: Image.Image) -> None:
    assert luma_mean(apply_filter(photo, "Amaro")) > luma_mean(photo) + 20
    assert 0.7 < corner_to_centre(apply_filter(flat_grey(), "Amaro")) < 0.95


def test_rise_brightens_and_softens(photo: Image.Image) -> None:
    assert luma_mean(apply_filter(photo, "Rise")) > luma_mean(photo) + 15
    assert luma_std(apply_filter(muted(), "Rise")) < luma_std(muted()) * 0.9


def test_hudson_cools(photo: Image.Image) -> None:
    red, _, blue = means(apply_filter(photo, "Hudson"))
    red0, _, blue0 = means(photo)

    assert blue - red > blue0 - red0 + 25


def test_unvignetted_filters_keep_corners_as_bright_as_the_centre() -> None:
    for name in FILTER_NAMES:
        spec = filters.filter_spec(name)
        if spec.vignette is None and spec.frame is None:
            assert corner_to_centre(apply_filter(flat_grey(), name)) == 1.0, name


def test_every_filter_keeps_size_and_mode_at_awkward_sizes() -> None:
    for size in [(1, 1), (2, 9), (17, 3), (641, 480)]:
        image = colourful().resize(size)
        for name in FILTER_NAMES:
            out = apply_filter(image, name)
            assert (out.mode, out.size) == ("RGB", size), name


def test_every_filter_is_deterministic(photo: Image.Image) -> None:
    first = {name: apply_filter(photo, name).tobytes() for name in FILTER_NAMES}
    filters.vignette_mask.cache_clear()
    filters.frame_mask.cache_clear()

    second = {name: apply_filter(photo.copy(), name).tobytes() for name in FILTER_NAMES}

    assert first == second


def test_every_pair_of_filters_looks_different(photo: Image.Image) -> None:
    outputs = {name: apply_filter(photo, name).tobytes() for name in FILTER_NAMES}

    for one, other in itertools.combinations(FILTER_NAMES, 2):
        assert outputs[one] != outputs[other], (one, other)


def test_filter_leaves_its_input_untouched(photo: Image.Image) -> None:
    before = photo.tobytes()

    for name in FILTER_NAMES:
        apply_filter(photo, name)

    assert photo.tobytes() == before


@pytest.mark.parametrize(
    ("spelling", "slug"),
    [
        ("Normal", "normal"),
        ("X-Pro II", "x-pro-ii"),
        ("x-pro-ii", "x-pro-ii"),
        ("XPRO2", "x-pro-ii"),
        ("xproii", "x-pro-ii"),
        ("Lo-fi", "lo-fi"),
        ("LOFI", "lo-fi"),
        ("lord-kelvin", "lord-kelvin"),
        ("Lord Kelvin", "lord-kelvin"),
        ("lord_kelvin", "lord-kelvin"),
        ("kelvin", "lord-kelvin"),
        ("1977", "1977"),
        ("  earlybird ", "earlybird"),
        ("INKWELL", "inkwell"),
    ],
)
def test_filter_slug_accepts_names_and_slugs_in_any_case(spelling: str, slug: str) -> None:
    assert filter_slug(spelling) == slug


def test_filter_name_gives_the_display_name() -> None:
    assert filter_name("xpro2") == "X-Pro II"
    assert [filter_name(filter_slug(name)) for name in FILTER_NAMES] == list(FILTER_NAMES)


def test_slugs_are_unique_and_url_safe() -> None:
    slugs = [filter_slug(name) for name in FILTER_NAMES]

    assert len(set(slugs)) == len(slugs)
    assert all(slug.replace("-", "").isalnum() and slug == slug.lower() for slug in slugs)


@pytest.mark.parametrize("spelling", ["Gotham", "", "x-pro-iii", "norma", "1978"])
def test_unknown_filter_lists_the_valid_names(spelling: str) -> None:
    with pytest.raises(UnknownFilter) as raised:
        apply_filter(colourful(), spelling)

    assert isinstance(raised.value, KeyError)
    assert raised.value.name == spelling
    assert str(raised.value) == (
        f"Unknown filter {spelling!r}; choose one of: {', '.join(FILTER_NAMES)}."
    )
    assert "X-Pro II, Lo-fi" in str(raised.value)


def test_filter_refuses_a_non_rgb_image() -> None:
    with pytest.raises(ValueError, match="needs an RGB image, not mode 'L'"):
        apply_filter(Image.new("L", (8, 8)), "Hefe")


def test_filters_only_look_up_tables_and_composite_cached_masks() -> None:
    image = colourful().resize((640, 640))
    for name in FILTER_NAMES:
        apply_filter(image, name)  # builds this size's masks once

    with pytest.MonkeyPatch.context() as patch:

        def refuse(*args: object, **kwargs: object) -> None:
            raise AssertionError("apply_filter must not resample, convolve or draw per image")

        for method in ("resize", "reduce", "thumbnail", "transform", "filter", "getdata"):
            patch.setattr(Image.Image, method, refuse)
        patch.setattr(Image, "radial_gradient", refuse)
        patch.setattr(ImageDraw, "Draw", refuse)
        for name in FILTER_NAMES:
            assert apply_filter(image, name).size == (640, 640)


def test_every_tone_curve_keeps_the_order_of_tones() -> None:
    for slug, table in TABLES.items():
        for channel in range(3):
            curve = table[channel * 256 : (channel + 1) * 256]
            assert curve == sorted(curve), (slug, channel)
            assert len(curve) == 256 and 0 <= min(curve) and max(curve) <= 255
