"""WSGI entry point for Gunicorn.

The shard topology is checked before the first request: a worker that cannot place every logical
shard refuses to boot, with an error naming the shard and the server.
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "instaclone.settings.base")

application = get_wsgi_application()


def _startup_checks() -> None:
    from django.conf import settings
    from django.core.files.storage import storages

    from instaclone.observability import init_sentry
    from instaclone.sharding.topology import verify_topology

    init_sentry(dsn=settings.SENTRY_DSN, environment=settings.SENTRY_ENVIRONMENT)
    verify_topology()
    # Building the S3 client takes a CPU-bound half second; pay it before the first request.
    storage = storages["default"]
    if hasattr(storage, "connection"):
        storage.connection  # noqa: B018 - the property builds and caches the client


_startup_checks()
