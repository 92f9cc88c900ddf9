"""Instagram's 2011 filters as tone curves, a colour matrix, a vignette and an optional frame.

Everything a filter needs is computed once: its lookup table at import, its masks once per image
size (cached). Applying a filter is then a colour-matrix ``convert``, one ``point`` and at most one
``composite`` (plus one masked ``paste`` for the two framed filters) -- no resampling, no
per-pixel Python, and nothing random, so the same input always gives the same bytes.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache

from PIL import Image, ImageDraw

Point = tuple[int, int]
Curve = tuple[Point, ...]
RGB = tuple[int, int, int]

# Rec. 601 luma, which is also what Pillow's own RGB -> L conversion uses.
_LUMA = (0.299, 0.587, 0.114)
_IDENTITY: Curve = ((0, 0), (255, 255))


@dataclass(frozen=True)
class Vignette:
    """Darken towards ``colour`` from ``start`` (0 centre, 1 corner) out, by up to ``strength``."""

    strength: float
    start: float = 0.4
    colour: RGB = (0, 0, 0)


@dataclass(frozen=True)
class Frame:
    """A border ``width`` (a fraction of the short side) wide, with rounded inner corners."""

    width: float
    colour: RGB
    radius: float = 0.05


@dataclass(frozen=True)
class FilterSpec:
    """The recipe of one filter: saturation, tone curves, then vignette and frame."""

    name: str
    slug: str
    saturation: float = 1.0
    master: Curve = _IDENTITY
    red: Curve = _IDENTITY
    green: Curve = _IDENTITY
    blue: Curve = _IDENTITY
    vignette: Vignette | None = None
    frame: Frame | None = None
    aliases: tuple[str, ...] = ()


SPECS: tuple[FilterSpec, ...] = (
    FilterSpec(name="Normal", slug="normal"),
    FilterSpec(
        name="X-Pro II",
        slug="x-pro-ii",
        aliases=("xpro2", "x-pro-2", "xpro"),
        saturation=1.35,
        master=((0, 0), (64, 44), (128, 128), (192, 214), (255, 255)),
        red=((0, 0), (70, 58), (190, 206), (255, 255)),
        green=((0, 0), (70, 60), (190, 200), (255, 255)),
        blue=((0, 30), (128, 128), (255, 222)),
        vignette=Vignette(strength=0.6, start=0.4),
    ),
    FilterSpec(
        name="Lo-fi",
        slug="lo-fi",
        aliases=("lomo-fi", "lomofi"),
        saturation=1.25,
        master=((0, 0), (60, 28), (128, 128), (196, 228), (255, 255)),
        vignette=Vignette(strength=0.25, start=0.55),
    ),
    FilterSpec(
        name="Earlybird",
        slug="earlybird",
        saturation=0.75,
        red=((0, 28), (128, 152), (255, 250)),
        green=((0, 16), (128, 128), (255, 232)),
        blue=((0, 10), (128, 98), (255, 190)),
        vignette=Vignette(strength=0.35, start=0.5, colour=(40, 25, 15)),
    ),
    FilterSpec(
        name="Sutro",
        slug="sutro",
        saturation=0.6,
        master=((0, 0), (128, 100), (255, 226)),
        red=((0, 10), (128, 126), (255, 245)),
        green=((0, 0), (128, 112), (255, 230)),
        blue=((0, 16), (128, 122), (255, 226)),
        vignette=Vignette(strength=0.8, start=0.3, colour=(20, 10, 20)),
    ),
    FilterSpec(
        name="Toaster",
        slug="toaster",
        red=((0, 40), (128, 166), (255, 255)),
        green=((0, 10), (128, 120), (255, 236)),
        blue=((0, 0), (128, 94), (255, 200)),
        vignette=Vignette(strength=0.65, start=0.3, colour=(70, 25, 0)),
    ),
    FilterSpec(
        name="Brannan",
        slug="brannan",
        saturation=0.55,
        master=((0, 0), (64, 38), (128, 134), (192, 226), (255, 255)),
        red=((0, 14), (255, 246)),
        green=((0, 14), (255, 252)),
        blue=((0, 24), (255, 224)),
    ),
    FilterSpec(
        name="Inkwell",
        slug="inkwell",
        saturation=0.0,
        master=((0, 0), (64, 54), (192, 206), (255, 255)),
    ),
    FilterSpec(
        name="Walden",
        slug="walden",
        saturation=0.85,
        red=((0, 52), (128, 166), (255, 255)),
        green=((0, 46), (128, 160), (255, 250)),
        blue=((0, 56), (128, 124), (255, 188)),
    ),
    FilterSpec(
        name="Hefe",
        slug="hefe",
        saturation=1.4,
        master=((0, 0), (64, 52), (192, 210), (255, 255)),
        red=((0, 0), (128, 142), (255, 255)),
        green=((0, 0), (128, 132), (255, 246)),
        blue=((0, 0), (128, 108), (255, 214)),
        vignette=Vignette(strength=0.4, start=0.45),
    ),
    FilterSpec(
        name="Valencia",
        slug="valencia",
        saturation=0.9,
        master=((0, 30), (128, 136), (255, 234)),
        red=((0, 10), (128, 140), (255, 255)),
        green=((0, 0), (128, 128), (255, 245)),
        blue=((0, 0), (128, 114), (255, 224)),
    ),
    FilterSpec(
        name="Nashville",
        slug="nashville",
        saturation=0.9,
        red=((0, 40), (128, 160), (255, 255)),
        green=((0, 28), (128, 134), (255, 240)),
        blue=((0, 62), (128, 150), (255, 226)),
        frame=Frame(width=0.03, colour=(24, 20, 22), radius=0.04),
    ),
    FilterSpec(
        name="1977",
        slug="1977",
        aliases=("seventy-seven",),
        saturation=0.95,
        red=((0, 62), (128, 172), (255, 255)),
        green=((0, 30), (128, 130), (255, 236)),
        blue=((0, 46), (128, 140), (255, 230)),
    ),
    FilterSpec(
        name="Lord Kelvin",
        slug="lord-kelvin",
        aliases=("kelvin",),
        saturation=1.15,
        red=((0, 46), (128, 200), (255, 255)),
        green=((0, 20), (128, 136), (255, 240)),
        blue=((0, 0), (128, 60), (255, 150)),
        frame=Frame(width=0.04, colour=(246, 236, 210), radius=0.06),
    ),
    FilterSpec(
        name="Amaro",
        slug="amaro",
        saturation=1.1,
        master=((0, 22), (128, 162), (255, 255)),
        red=((0, 0), (255, 246)),
        blue=((0, 28), (255, 255)),
        vignette=Vignette(strength=0.2, start=0.6),
    ),
    FilterSpec(
        name="Rise",
        slug="rise",
        saturation=0.95,
        master=((0, 36), (128, 150), (255, 250)),
        red=((0, 10), (128, 136), (255, 255)),
        green=((0, 4), (128, 130), (255, 250)),
        blue=((0, 0), (128, 118), (255, 236)),
    ),
    FilterSpec(
        name="Hudson",
        slug="hudson",
        saturation=0.9,
        master=((0, 0), (64, 58), (192, 200), (255, 255)),
        red=((0, 0), (128, 114), (255, 234)),
        green=((0, 10), (128, 130), (255, 250)),
        blue=((0, 36), (128, 156), (255, 255)),
        vignette=Vignette(strength=0.35, start=0.45, colour=(0, 10, 30)),
    ),
)

FILTER_NAMES: tuple[str, ...] = tuple(spec.name for spec in SPECS)


class UnknownFilter(KeyError):
    """A filter name or slug that names none of the filters."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.message = f"Unknown filter {name!r}; choose one of: {', '.join(FILTER_NAMES)}."
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message


def _key(name: str) -> str:
    """Return ``name`` lowercased with everything but letters and digits removed."""
    return re.sub(r"[^a-z0-9]", "", name.lower())


def _index_specs() -> dict[str, FilterSpec]:
    """Return every accepted spelling (name, slug, alias), squeezed by ``_key``, to its spec."""
    index: dict[str, FilterSpec] = {}
    for spec in SPECS:
        for spelling in (spec.name, spec.slug, *spec.aliases):
            key = _key(spelling)
            if index.setdefault(key, spec) is not spec:
                raise ValueError(f"filter spelling {spelling!r} is ambiguous")
    return index


_BY_KEY = _index_specs()


def filter_spec(name: str) -> FilterSpec:
    """Return the spec for a display name, slug or alias, in any case; raise UnknownFilter."""
    spec = _BY_KEY.get(_key(name)) if isinstance(name, str) else None
    if spec is None:
        raise UnknownFilter(str(name))
    return spec


def filter_slug(name: str) -> str:
    """Return the canonical slug ("x-pro-ii") for any accepted spelling of a filter."""
    return filter_spec(name).slug


def filter_name(name: str) -> str:
    """Return the display name ("X-Pro II") for any accepted spelling of a filter."""
    return filter_spec(name).name


def _monotone_curve(points: Curve) -> list[int]:
    """Return the 256-entry table of a monotone cubic (Fritsch-Carlson) through ``points``."""
    xs = [float(x) for x, _ in points]
    ys = [float(y) for _, y in points]
    if xs[0] != 0 or xs[-1] != 255 or any(b <= a for a, b in zip(xs, xs[1:], strict=False)):
        raise ValueError(f"curve points must rise strictly from x=0 to x=255: {points}")
    slopes = [(ys[i + 1] - ys[i]) / (xs[i + 1] - xs[i]) for i in range(len(xs) - 1)]
    tangents = [slopes[0]]
    for before, after in zip(slopes, slopes[1:], strict=False):
        tangents.append(0.0 if before * after <= 0 else (before + after) / 2)
    tangents.append(slopes[-1])
    for i, slope in enumerate(slopes):
        if slope == 0:
            tangents[i] = tangents[i + 1] = 0.0
            continue
        a, b = tangents[i] / slope, tangents[i + 1] / slope
        if a * a + b * b > 9:
            scale = 3 / math.hypot(a, b)
            tangents[i], tangents[i + 1] = scale * a * slope, scale * b * slope
    table = []
    segment = 0
    for x in range(256):
        while x > xs[segment + 1]:
            segment += 1
        width = xs[segment + 1] - xs[segment]
        t = (x - xs[segment]) / width
        h00, h10 = 2 * t**3 - 3 * t**2 + 1, t**3 - 2 * t**2 + t
        h01, h11 = -2 * t**3 + 3 * t**2, t**3 - t**2
        y = (
            h00 * ys[segment]
            + h10 * width * tangents[segment]
            + h01 * ys[segment + 1]
            + h11 * width * tangents[segment + 1]
        )
        table.append(min(255, max(0, round(y))))
    return table


def _lookup_table(spec: FilterSpec) -> list[int]:
    """Return the 768-entry ``point`` table: the master curve, then each channel's own."""
    master = _monotone_curve(spec.master)
    table: list[int] = []
    for curve in (spec.red, spec.green, spec.blue):
        channel = _monotone_curve(curve)
        table.extend(channel[master[x]] for x in range(256))
    return table


def _saturation_matrix(saturation: float) -> tuple[float, ...]:
    """Return the 12-value RGB -> RGB matrix that scales chroma around luma by ``saturation``."""
    matrix: list[float] = []
    for row in range(3):
        for column in range(3):
            identity = 1.0 if row == column else 0.0
            matrix.append(saturation * identity + (1 - saturation) * _LUMA[column])
        matrix.append(0.0)
    return tuple(matrix)


_TABLES: dict[str, list[int]] = {spec.slug: _lookup_table(spec) for spec in SPECS}
_MATRICES: dict[str, tuple[float, ...]] = {
    spec.slug: _saturation_matrix(spec.saturation) for spec in SPECS if spec.saturation != 1.0
}


@lru_cache(maxsize=64)
def vignette_mask(size: tuple[int, int], strength: float, start: float) -> Image.Image:
    """Return the cached "L" mask: 255 (keep) inside ``start``, falling to 255 * (1 - strength)."""
    # Pillow's radial gradient is 0 at the centre and 255 at the corners of its 256x256 square.
    distance = Image.radial_gradient("L").resize(size, Image.Resampling.BILINEAR)
    shape = []
    for value in range(256):
        t = min(1.0, max(0.0, (value / 255 - start) / (1 - start)))
        shape.append(round(255 * (1 - strength * t * t * (3 - 2 * t))))
    return distance.point(shape)


@lru_cache(maxsize=64)
def frame_mask(size: tuple[int, int], frame: Frame) -> Image.Image:
    """Return the cached "L" mask: 255 on the border, 0 on the picture inside it."""
    mask = Image.new("L", size, 255)
    short = min(size)
    inset = max(1, round(short * frame.width))
    box = (inset, inset, size[0] - 1 - inset, size[1] - 1 - inset)
    if box[2] > box[0] and box[3] > box[1]:
        radius = round(short * frame.radius)
        ImageDraw.Draw(mask).rounded_rectangle(box, radius=radius, fill=0)
    return mask


def apply_filter(image: Image.Image, name: str) -> Image.Image:
    """Return a new RGB image of the same size: ``image`` (RGB) under the filter ``name``."""
    spec = filter_spec(name)
    if image.mode != "RGB":
        raise ValueError(f"apply_filter needs an RGB image, not mode {image.mode!r}")
    if spec.slug == "normal":
        return image.copy()
    matrix = _MATRICES.get(spec.slug)
    out = image.convert("RGB", matrix) if matrix else image
    out = out.point(_TABLES[spec.slug])
    if spec.vignette is not None:
        vignette = spec.vignette
        mask = vignette_mask(image.size, vignette.strength, vignette.start)
        out = Image.composite(out, Image.new("RGB", image.size, vignette.colour), mask)
    if spec.frame is not None:
        out.paste(spec.frame.colour, (0, 0, *image.size), frame_mask(image.size, spec.frame))
    return out
