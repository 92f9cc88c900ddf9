"""What a hostile case is, the list the format modules add theirs to, and shared pictures."""

from __future__ import annotations

import io
import random
from collections.abc import Callable
from dataclasses import dataclass

from PIL import Image

MEMORY_LIMIT = 256 * 1024 * 1024
TIME_LIMIT = 1.0
ACCEPTED = "accepted"
CODES = frozenset(
    {
        "empty",
        "too_large",
        "too_many_pixels",
        "unsupported_format",
        "corrupt",
        "animation_too_long",
        "bad_crop",
    }
)
MiB = 1024 * 1024
Crop = tuple[int, int, int, int]


@dataclass(frozen=True)
class Case:
    """One hostile upload: how to make it, and what the pipeline must answer."""

    name: str
    kind: str
    expected: str
    why: str
    make: Callable[[], bytes]
    payloads: tuple[bytes, ...] = ()
    crop: Crop | None = None

    def data(self) -> bytes:
        """Return the file's bytes (made afresh; making is deterministic)."""
        return self.make()


CASES: list[Case] = []


def add(
    name: str,
    kind: str,
    expected: str,
    why: str,
    make: Callable[[], bytes],
    *,
    payloads: tuple[bytes, ...] = (),
    crop: Crop | None = None,
) -> None:
    """Register a case."""
    CASES.append(Case(name, kind, expected, why, make, payloads, crop))


def noise(width: int, height: int) -> Image.Image:
    """Return seeded RGB noise, which compresses badly, so files are long."""
    return Image.frombytes(
        "RGB", (width, height), random.Random(2011).randbytes(width * height * 3)
    )


def scene(width: int = 96, height: int = 64) -> Image.Image:
    """Return a small smooth colourful RGB picture."""
    hue = Image.linear_gradient("L").rotate(90).resize((width, height))
    value = Image.linear_gradient("L").resize((width, height)).point(lambda v: 64 + v // 2)
    return Image.merge("HSV", (hue, Image.new("L", (width, height), 180), value)).convert("RGB")


def save(image: Image.Image, fmt: str, **options: object) -> bytes:
    """Return ``image`` encoded as ``fmt``."""
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def cut(full: Callable[[], bytes], percent: int) -> Callable[[], bytes]:
    """Return a maker of the first ``percent`` per cent of what ``full`` makes."""

    def make() -> bytes:
        data = full()
        return data[: len(data) * percent // 100]

    return make


def add_cuts(label: str, full: Callable[[], bytes]) -> None:
    """Register a valid 128x128 file (made by ``full``) cut to 10, 50 and 90% of its bytes."""
    for percent in (10, 50, 90):
        add(
            f"{label}_cut_at_{percent}_percent",
            "truncated",
            "corrupt",
            f"A valid 128x128 {label.replace('_', ' ')} cut to {percent}% of its bytes.",
            cut(full, percent),
        )
