"""Lookup tables and colour matrices, computed once at import from the recipes."""

from __future__ import annotations

import math

from photos.filters.recipes import SPECS, Curve, FilterSpec

# Rec. 601 luma, which is also what Pillow's own RGB -> L conversion uses.
LUMA = (0.299, 0.587, 0.114)


def monotone_curve(points: Curve) -> list[int]:
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


def lookup_table(spec: FilterSpec) -> list[int]:
    """Return the 768-entry ``point`` table: the master curve, then each channel's own."""
    master = monotone_curve(spec.master)
    table: list[int] = []
    for curve in (spec.red, spec.green, spec.blue):
        channel = monotone_curve(curve)
        table.extend(channel[master[x]] for x in range(256))
    return table


def saturation_matrix(saturation: float) -> tuple[float, ...]:
    """Return the 12-value RGB -> RGB matrix that scales chroma around luma by ``saturation``."""
    matrix: list[float] = []
    for row in range(3):
        for column in range(3):
            identity = 1.0 if row == column else 0.0
            matrix.append(saturation * identity + (1 - saturation) * LUMA[column])
        matrix.append(0.0)
    return tuple(matrix)


TABLES: dict[str, list[int]] = {spec.slug: lookup_table(spec) for spec in SPECS}
MATRICES: dict[str, tuple[float, ...]] = {
    spec.slug: saturation_matrix(spec.saturation) for spec in SPECS if spec.saturation != 1.0
}
