"""Pipeline cost: process_image on a 12-megapixel JPEG against a plain full decode of it."""

from __future__ import annotations

import random
import statistics
from collections.abc import Callable
from io import BytesIO

from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageOps

from photos.filters import apply_filter
from photos.images import process_image
from tests.bench.harness import BenchResult, Row, interleave, time_ratio, timed

SIZE = (4000, 3000)
QUALITY = 92
ROUNDS = 15
WARMUP = 2
GOAL = 1.0
BYTES_GOAL = 1 / 15
FILTER = "Normal"


def photo_jpeg(seed: int = 2011) -> bytes:
    """Return a 4000x3000 photo-like JPEG at quality 92: gradients, shapes, blur and grain."""
    rng = random.Random(seed)
    width, height = SIZE
    sky = Image.linear_gradient("L").resize(SIZE)
    light = Image.radial_gradient("L").resize(SIZE)
    image = Image.merge("RGB", (light, ImageOps.invert(light), sky))
    draw = ImageDraw.Draw(image)
    for _ in range(160):
        x, y = rng.randrange(width), rng.randrange(height)
        w, h = rng.randrange(40, 900), rng.randrange(40, 700)
        colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        if rng.random() < 0.5:
            draw.ellipse((x, y, x + w, y + h), fill=colour)
        else:
            points = [(x + rng.randrange(-w, w), y + rng.randrange(-h, h)) for _ in range(5)]
            draw.polygon(points, fill=colour)
    # Soft edges, then sensor grain: flat colours would compress unlike any photo.
    image = image.filter(ImageFilter.GaussianBlur(3))
    grain = Image.merge("RGB", [Image.effect_noise(SIZE, 10) for _ in range(3)])
    image = ImageChops.add(image, grain, scale=1.0, offset=-128)
    buffer = BytesIO()
    image.save(buffer, "JPEG", quality=QUALITY)
    return buffer.getvalue()


def full_decode(data: bytes) -> None:
    """Decode every pixel at full size: the baseline."""
    Image.open(BytesIO(data)).load()


def draft_decode(data: bytes) -> None:
    """Decode at the scale process_image asks libjpeg for, and nothing else: its floor."""
    image = Image.open(BytesIO(data))
    image.draft("RGB", (854, 640))  # the centre 3000 px square at >= 640: 1/4 scale
    image.load()


def naive(data: bytes) -> None:
    """Process without draft mode: full decode, orient, crop, Lanczos 640, filter, cascade."""
    _finish(ImageOps.exif_transpose(Image.open(BytesIO(data))).convert("RGB"))


def pillow_thumbnail(data: bytes) -> None:
    """Process through Pillow's thumbnail() defaults: draft to twice the size, reducing_gap 2."""
    image = Image.open(BytesIO(data))
    scale = 640 / min(image.size)
    image.thumbnail((round(image.width * scale), round(image.height * scale)))
    _finish(ImageOps.exif_transpose(image).convert("RGB"))


def _finish(image: Image.Image) -> None:
    side = min(image.size)
    left, top = (image.width - side) // 2, (image.height - side) // 2
    standard = image.resize(
        (640, 640), Image.Resampling.LANCZOS, (left, top, left + side, top + side)
    )
    images = [apply_filter(standard, FILTER)]
    for size in (320, 150):
        images.append(images[-1].resize((size, size), Image.Resampling.LANCZOS))
    for item in images:
        item.save(BytesIO(), "JPEG", quality=85, optimize=True, progressive=True)


def _ms(seconds: list[float]) -> str:
    return f"{statistics.median(seconds) * 1000:.0f} ms"


def run() -> BenchResult:
    """Time the variants on the same bytes, interleaved, and check the rendition size."""
    result = BenchResult("pipeline")
    data = photo_jpeg()
    processed = process_image(data, filter_name=FILTER)
    sizes = {item.name: len(item.data) for item in processed.renditions}

    def variant(work: Callable[[bytes], object]) -> Callable[[], float]:
        return lambda: timed(lambda: work(data))

    times = interleave(
        {
            "decode": variant(full_decode),
            "process_image": variant(lambda d: process_image(d, filter_name=FILTER)),
            "draft": variant(draft_decode),
            "thumbnail": variant(pillow_thumbnail),
            "naive": variant(naive),
        },
        rounds=ROUNDS,
        warmup=WARMUP,
    )
    base = times["decode"]
    ratio = time_ratio(times["process_image"], base)
    floor = time_ratio(times["draft"], base)
    thumbnail = time_ratio(times["thumbnail"], base)
    slow = time_ratio(times["naive"], base)
    bytes_ratio = sizes["standard"] / len(data)
    megapixels = SIZE[0] * SIZE[1] / 1e6
    decode_label = f"full decode {_ms(base)}"
    result.rows = [
        Row(
            "pipeline: 12 MP JPEG",
            f"process_image {_ms(times['process_image'])} (3 renditions)",
            decode_label,
            ratio.median,
            ratio.spread,
            f"<= {GOAL:.1f}",
            ratio.median <= GOAL,
            {"per_round_ratio": ratio.per_round, "seconds": times},
        ),
        Row(
            "pipeline: draft decode alone (info)",
            f"decode at 1/4 scale {_ms(times['draft'])}",
            decode_label,
            floor.median,
            floor.spread,
            "info: the floor; entropy decoding is not scaled",
            None,
            {"per_round_ratio": floor.per_round},
        ),
        Row(
            "pipeline: Pillow thumbnail() (info)",
            f"thumbnail() + square {_ms(times['thumbnail'])}",
            decode_label,
            thumbnail.median,
            thumbnail.spread,
            "info (issue measured 1.33x)",
            None,
            {"per_round_ratio": thumbnail.per_round},
        ),
        Row(
            "pipeline: naive, no draft (info)",
            f"full decode + Lanczos {_ms(times['naive'])}",
            decode_label,
            slow.median,
            slow.spread,
            "info (issue measured 6.5x)",
            None,
            {"per_round_ratio": slow.per_round},
        ),
        Row(
            "pipeline: rendition bytes",
            f"640 px {sizes['standard'] / 1024:.0f} KiB",
            f"original {len(data) / 1024 / 1024:.2f} MiB",
            bytes_ratio,
            f"1/{1 / bytes_ratio:.0f}",
            f"<= 1/{1 / BYTES_GOAL:.0f} ({BYTES_GOAL:.3f})",
            bytes_ratio <= BYTES_GOAL,
            {"bytes": {"original": len(data), **sizes}},
        ),
    ]
    result.details = {"original_bytes": len(data), "rendition_bytes": sizes}
    result.notes = [
        f"A generated {SIZE[0]}x{SIZE[1]} ({megapixels:.0f} MP) photo-like JPEG (gradients, "
        f"160 blurred shapes, sensor grain), quality {QUALITY}, {len(data) / 1024 / 1024:.2f} MiB; "
        f"filter {FILTER!r}.",
        f"- {ROUNDS} rounds after {WARMUP} warm-up rounds, order rotated each round; ratio = "
        "variant time over the time of `Image.open(BytesIO(data)).load()` on the same bytes.",
        "- process_image: validation, draft decode at 1/4 scale (1000x750), centre square, "
        "bicubic to 640 (the last step shrinks by less than 2x), filter, 320 from 640 (2x2 "
        "average), 150 from 320 (Lanczos), three progressive optimised JPEGs at quality 85.",
        "- Pillow thumbnail(): `thumbnail()` to a short side of 640 (its reducing_gap of 2 drafts "
        "at 1/2 scale), then the same square, filter, cascade and encodes; naive: full decode, "
        "then the same.",
        "- Renditions: "
        + ", ".join(f"{name} {size / 1024:.0f} KiB" for name, size in sizes.items())
        + f"; the 640 px file is 1/{len(data) / sizes['standard']:.0f} of the original.",
    ]
    return result
