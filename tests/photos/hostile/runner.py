"""Feed hostile cases to ``process_image`` one at a time, each under a memory cap and a clock.

Every call runs with the address space capped at what the process already maps plus
MEMORY_LIMIT, so an allocation past it fails (C ones included), and its peak resident memory is
read from the kernel's high-water mark, reset before each case. A JSON line is printed as each
case starts and as it ends, so a parent can tell which case killed or hung the process.
"""

from __future__ import annotations

import hashlib
import json
import os
import resource
import signal
import sys
import time
from pathlib import Path
from types import FrameType

from .cases import ACCEPTED, CASES, MEMORY_LIMIT, TIME_LIMIT, Case


def case_named(name: str) -> Case:
    """Return the case called ``name``."""
    for case in CASES:
        if case.name == name:
            return case
    raise KeyError(name)


def _status() -> dict[str, int]:
    """Return VmSize, VmRSS and VmHWM of this process, in bytes."""
    values = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmSize", "VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) * 1024
    return values


class _TooSlow(BaseException):
    """Raised by the alarm when a case runs far past its limit (past any ``except Exception``)."""


def _alarm(signum: int, frame: FrameType | None) -> None:
    raise _TooSlow


def run_case(case: Case) -> dict[str, object]:
    """Feed one case to ``process_image`` under the memory cap; return what happened."""
    from photos.images import ImageRejected, process_image

    data = case.data()
    vm_size = _status()["VmSize"]
    Path("/proc/self/clear_refs").write_text("5")  # reset the peak RSS to the current RSS
    rss = _status()["VmRSS"]
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (vm_size + MEMORY_LIMIT, hard))
    signal.setitimer(signal.ITIMER_REAL, 10 * TIME_LIMIT)
    digest = hashlib.sha256(data).hexdigest()
    result: dict[str, object] = {"name": case.name, "bytes": len(data), "sha256": digest}
    started = time.monotonic()
    cpu_started = time.process_time()
    try:
        processed = process_image(data, crop=case.crop)
    except ImageRejected as rejected:
        result.update(outcome=rejected.code, message=rejected.message)
    except MemoryError as exc:
        result.update(outcome="memory_error", message=repr(exc))
    except _TooSlow:
        result.update(outcome="timeout", message=f"still running after {10 * TIME_LIMIT} s")
    except Exception as exc:  # any other exception is itself the finding to report
        result.update(outcome="exception", message=repr(exc))
    else:
        renditions = [rendition.data for rendition in processed.renditions]
        found = [p for p in case.payloads if any(p in rendition for rendition in renditions)]
        result.update(
            outcome=ACCEPTED,
            renditions={r.name: [r.size, len(r.data)] for r in processed.renditions},
            all_jpeg=all(r.startswith(b"\xff\xd8\xff") for r in renditions),
            payloads_found=[payload.decode("latin-1") for payload in found],
        )
    finally:
        elapsed = time.monotonic() - started
        cpu = time.process_time() - cpu_started
        signal.setitimer(signal.ITIMER_REAL, 0)
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
    result.update(
        seconds=round(elapsed, 4),
        cpu_seconds=round(cpu, 4),
        peak_rss_growth=_status()["VmHWM"] - rss,
    )
    return result


def main(names: list[str]) -> None:
    """Run the named cases (or all), printing a JSON line as each starts and as it ends."""
    import django

    django.setup()
    import photos.images  # noqa: F401 - fail here, once, if the pipeline cannot be imported

    # Results go to the original stdout alone; anything else printed there lands on stderr.
    report = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    signal.signal(signal.SIGALRM, _alarm)
    for case in [case_named(name) for name in names] if names else CASES:
        print(json.dumps({"started": case.name}), file=report, flush=True)
        print(json.dumps(run_case(case)), file=report, flush=True)
