"""Fuzz both image entry points with libFuzzer mutations (atheris): python -m tests.fuzz.images.

Each input goes to the photo pipeline (``photos.images.process_image``, what an upload calls)
and to the profile-picture path (``accounts.services.users.picture_render``), in process. Seeds
are the hostile corpus (its cases of up to 64 KB) and good pictures of every format
(``seeds.py``); atheris instruments Pillow's plugins and our header parsers, so libFuzzer keeps
the mutations (bit flips, byte and chunk splicing, length and dimension edits, truncation) that
reach new code. Every input must end in a clean refusal (ImageRejected / PictureInvalid, the
same message from both) or a valid result (square JPEGs of the right sizes, no metadata).

Findings, each saved under the results directory (gitignored) for reproduction:

- crash: any other exception, or the worker dying (libFuzzer's crash-, oom- artifacts);
- hang: an input taking over ``--hang-seconds`` of CPU in either path, or libFuzzer's timeout
  (``--stuck-seconds``) killing the worker;
- other: an outcome that is neither a clean refusal nor a valid result, or the two paths
  disagreeing.

The parent splits the inputs over ``--workers`` processes (libFuzzer in each, its own seed),
restarts a worker that died for the inputs it had left, prints the totals and exits 1 when there
is any finding. Run one input again with ``--replay FILE``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import time
from io import BytesIO
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "tests" / "fuzz" / "results"
MAX_LEN = 64 * 1024
# Instrumented for coverage: Pillow's Python plugins, pillow-heif and our own image code.
INSTRUMENTED = ["PIL", "pillow_heif", "instaclone.images", "photos.images", "photos.filters"]
ARTIFACT_KINDS = {"crash": "crash", "oom": "crash", "leak": "crash", "timeout": "hang"}
Stats = dict[str, Any]


class Finding(Exception):
    """An outcome that is neither a clean refusal nor a valid result."""


def _new_stats() -> Stats:
    return {
        "inputs": 0,
        "accepted": 0,
        "refused": {},
        "crashes": 0,
        "hangs": 0,
        "other": 0,
        "max_cpu_seconds": 0.0,
        "max_wall_seconds": 0.0,
        "findings": [],
    }


def _check_jpeg(data: bytes, size: int) -> None:
    """Raise Finding unless ``data`` is a ``size`` square RGB JPEG carrying no metadata."""
    from PIL import Image

    if not data.startswith(b"\xff\xd8\xff"):
        raise Finding(f"a {size} px rendition is not a JPEG")
    with Image.open(BytesIO(data)) as image:
        image.load()
        if (image.format, image.mode, image.size) != ("JPEG", "RGB", (size, size)):
            raise Finding(f"rendition is {image.format} {image.mode} {image.size}, not {size}")
        kept = {"exif", "icc_profile", "comment", "xmp", "photoshop"} & set(image.info)
        if kept or len(image.getexif()):
            raise Finding(f"a {size} px rendition keeps metadata: {sorted(kept)}")


def _photo(data: bytes) -> tuple[str, str]:
    """Feed ``data`` to the photo pipeline; return ("accepted", "") or ("refused", message)."""
    from photos.images import RENDITIONS, ImageRejected, process_image

    try:
        processed = process_image(data)
    except ImageRejected as rejected:
        return f"refused:{rejected.code}", rejected.message
    if [(r.name, r.size) for r in processed.renditions] != list(RENDITIONS):
        raise Finding(f"renditions {[(r.name, r.size) for r in processed.renditions]}")
    for rendition in processed.renditions:
        _check_jpeg(rendition.data, rendition.size)
    return "accepted", ""


def _picture(data: bytes) -> tuple[str, str]:
    """Feed ``data`` to the profile-picture path; return its outcome as ``_photo`` does."""
    from accounts.services.users import PictureInvalid, picture_render

    try:
        jpeg = picture_render(upload=BytesIO(data))
    except PictureInvalid as invalid:
        return "refused", invalid.message
    _check_jpeg(jpeg, 150)
    return "accepted", ""


def run_one(data: bytes, stats: Stats, hang_seconds: float) -> str | None:
    """Run ``data`` through both paths, add its outcome to ``stats``; return a finding's kind."""
    kind, detail, cpu_worst, wall_worst = None, "", 0.0, 0.0
    outcomes = []
    for path in (_photo, _picture):
        cpu, wall = time.process_time(), time.monotonic()
        try:
            outcomes.append(path(data))
        except Finding as finding:
            kind, detail = "other", f"{path.__name__}: {finding}"
        except Exception as exc:  # anything but a clean refusal is the crash being hunted
            kind, detail = "crash", f"{path.__name__}: {exc!r}"
        cpu_worst = max(cpu_worst, time.process_time() - cpu)
        wall_worst = max(wall_worst, time.monotonic() - wall)
        if kind:
            break
    if kind is None:
        (photo, photo_message), (picture, picture_message) = outcomes
        if photo.split(":")[0] != picture or photo_message != picture_message:
            kind, detail = "other", f"photo {photo} {photo_message!r}, picture {picture_message!r}"
        elif hang_seconds and cpu_worst > hang_seconds:
            kind, detail = "hang", f"{cpu_worst:.2f} s of CPU"
        elif photo == "accepted":
            stats["accepted"] += 1
        else:
            code = photo.removeprefix("refused:")
            stats["refused"][code] = stats["refused"].get(code, 0) + 1
    stats["inputs"] += 1
    stats["max_cpu_seconds"] = max(stats["max_cpu_seconds"], round(cpu_worst, 4))
    stats["max_wall_seconds"] = max(stats["max_wall_seconds"], round(wall_worst, 4))
    if kind:
        stats[{"crash": "crashes", "hang": "hangs", "other": "other"}[kind]] += 1
        stats["findings"].append({"kind": kind, "detail": detail[:500], "input": _sha(data)})
    return kind


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def _write_json(path: Path, value: object) -> None:
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(value, indent=1, sort_keys=True))
    os.replace(partial, path)


def _django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "instaclone.settings.test")
    import django

    django.setup()


def worker(args: argparse.Namespace) -> None:
    """Run libFuzzer for ``args.runs`` inputs, writing the stats after every one."""
    import warnings

    import atheris

    warnings.simplefilter("ignore")  # Pillow warns about odd EXIF; the log would be flooded
    with atheris.instrument_imports(include=INSTRUMENTED):
        import pillow_heif
        from PIL import GifImagePlugin, JpegImagePlugin, PngImagePlugin, WebPImagePlugin  # noqa

        import instaclone.images  # noqa: F401
        import photos.images  # noqa: F401
    pillow_heif.register_heif_opener(thumbnails=False, depth_images=False, aux_images=False)
    _django()

    out = Path(args.out)
    stats, stats_path, findings = _new_stats(), out / "stats.json", out / "findings"
    findings.mkdir(parents=True, exist_ok=True)

    def test_one_input(data: bytes) -> None:
        kind = run_one(data, stats, args.hang_seconds)
        if kind:
            (findings / f"{kind}-{_sha(data)}").write_bytes(data)
        _write_json(stats_path, stats)  # libFuzzer ends the process without a word to us

    corpus = out / "corpus"
    corpus.mkdir(exist_ok=True)
    atheris.Setup(
        [
            sys.argv[0],
            f"-runs={args.runs}",
            f"-seed={args.seed}",
            f"-max_len={MAX_LEN}",
            f"-timeout={args.stuck_seconds}",
            "-rss_limit_mb=1536",
            f"-artifact_prefix={out}/",
            "-print_final_stats=1",
            str(corpus),
            args.seeds,
        ],
        test_one_input,
    )
    atheris.Fuzz()


def _artifacts(out: Path) -> list[dict[str, str]]:
    """Return what libFuzzer saved when it killed the worker (crash-, oom-, timeout- files)."""
    found = []
    for path in sorted(out.iterdir()):
        prefix = path.name.split("-")[0]
        if path.is_file() and prefix in ARTIFACT_KINDS:
            kind = ARTIFACT_KINDS[prefix]
            found.append({"kind": kind, "detail": f"libFuzzer {prefix}", "input": str(path)})
    return found


def _spawn(run: Path, index: int, attempt: int, runs: int, args: argparse.Namespace):  # type: ignore[no-untyped-def]
    out = run / f"worker-{index}-{attempt}"
    out.mkdir(parents=True)
    command = [
        sys.executable,
        "-m",
        "tests.fuzz.images",
        "--worker",
        f"--runs={runs}",
        f"--seed={args.seed * 1000 + index * 100 + attempt}",
        f"--seeds={run / 'seeds'}",
        f"--out={out}",
        f"--hang-seconds={args.hang_seconds}",
        f"--stuck-seconds={args.stuck_seconds}",
    ]
    log = (out / "libfuzzer.log").open("w")
    env = {**os.environ, "MALLOC_ARENA_MAX": "1"}
    return out, subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log)


def _read_stats(out: Path) -> Stats:
    path = out / "stats.json"
    return json.loads(path.read_text()) if path.exists() else _new_stats()


def _merge(total: Stats, part: Stats) -> None:
    for key in ("inputs", "accepted", "crashes", "hangs", "other"):
        total[key] += part[key]
    for code, count in part["refused"].items():
        total["refused"][code] = total["refused"].get(code, 0) + count
    for key in ("max_cpu_seconds", "max_wall_seconds"):
        total[key] = max(total[key], part[key])
    total["findings"].extend(part["findings"])


def parent(args: argparse.Namespace) -> int:
    """Run ``args.inputs`` inputs over the workers; print and save the totals; 1 on findings."""
    from tests.fuzz.seeds import write_seeds

    started = time.monotonic()
    run = Path(args.results) / time.strftime("%Y%m%d-%H%M%S")
    _django()
    seeds = write_seeds(run / "seeds")
    share = [
        args.inputs // args.workers + (i < args.inputs % args.workers) for i in range(args.workers)
    ]
    total = _new_stats()
    left = dict(enumerate(share))
    attempt = 0
    while left and attempt <= args.restarts:
        # libFuzzer counts the seeds it runs first among its -runs.
        running = {i: _spawn(run, i, attempt, n + seeds, args) for i, n in left.items()}
        for index, (out, process) in running.items():
            process.wait()
            part = _read_stats(out)
            artifacts = _artifacts(out)
            for artifact in artifacts:
                part["crashes" if artifact["kind"] == "crash" else "hangs"] += 1
            part["findings"].extend(artifacts)
            _merge(total, part)
            mutated = max(0, part["inputs"] - seeds)
            if process.returncode == 0 and not artifacts:
                left.pop(index)
            elif process.returncode != 0 and not artifacts:
                total["crashes"] += 1
                total["findings"].append(
                    {"kind": "crash", "detail": f"worker exit {process.returncode}", "input": ""}
                )
                left[index] -= mutated
            else:
                left[index] -= mutated
            if left.get(index, 1) <= 0:
                left.pop(index)
        attempt += 1
    total.update(
        seeds=seeds,
        workers=args.workers,
        wall_seconds=round(time.monotonic() - started, 1),
        command=" ".join(["python -m tests.fuzz.images", *sys.argv[1:]]),
        results=str(run),
        unfinished=sum(left.values()),
    )
    _write_json(run / "summary.json", total)
    bad = total["crashes"] + total["hangs"] + total["other"] + total["unfinished"]
    print(
        f"image fuzz: {total['inputs']:,} inputs ({seeds} seeds) through both paths, "
        f"{total['accepted']:,} accepted, {sum(total['refused'].values()):,} refused; "
        f"{total['crashes']} crashes, {total['hangs']} hangs, {total['other']} other, "
        f"{total['unfinished']} not run; "
        f"max {total['max_cpu_seconds']:.3f} s CPU / {total['max_wall_seconds']:.3f} s wall "
        f"per input; {total['wall_seconds']:.0f} s; results in {run}"
    )
    for finding in total["findings"][:20]:
        print(f"  {finding['kind']}: {finding['detail']} ({finding['input']})")
    return 1 if bad else 0


def replay(path: Path, hang_seconds: float) -> int:
    """Run one saved input through both paths and print what happened."""
    _django()
    stats = _new_stats()
    kind = run_one(path.read_bytes(), stats, hang_seconds)
    print(json.dumps(stats, indent=1))
    return 1 if kind else 0


def main() -> int:
    """Parse the command line and run the parent, a worker or a replay."""
    parser = argparse.ArgumentParser(prog="python -m tests.fuzz.images", description=__doc__)
    parser.add_argument("--inputs", type=int, default=100_000, help="mutated inputs in all")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=2011)
    parser.add_argument("--results", default=str(RESULTS))
    parser.add_argument("--hang-seconds", type=float, default=1.0, help="0: no CPU limit")
    parser.add_argument("--stuck-seconds", type=int, default=30, help="libFuzzer's -timeout")
    parser.add_argument("--restarts", type=int, default=10)
    parser.add_argument("--replay", type=Path)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--runs", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--seeds", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return 0
    if args.replay:
        return replay(args.replay, args.hang_seconds)
    return parent(args)


if __name__ == "__main__":
    sys.exit(main())
