"""The looks: each filter's saturation, tone curves, vignette and frame, as plain data."""

from __future__ import annotations

from dataclasses import dataclass

Point = tuple[int, int]
Curve = tuple[Point, ...]
RGB = tuple[int, int, int]

IDENTITY: Curve = ((0, 0), (255, 255))


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
    master: Curve = IDENTITY
    red: Curve = IDENTITY
    green: Curve = IDENTITY
    blue: Curve = IDENTITY
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
