"""The Celery application: jobs are enqueued after commit and run by the worker."""

import os

from celery import Celery
from celery.signals import worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "instaclone.settings.base")

app = Celery("instaclone")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_init.connect
def _check_topology_on_worker_start(**_: object) -> None:
    """Refuse to start a worker on a broken shard topology."""
    from django.conf import settings

    from instaclone.observability import init_sentry
    from instaclone.sharding.topology import verify_topology

    init_sentry(dsn=settings.SENTRY_DSN, environment=settings.SENTRY_ENVIRONMENT)
    verify_topology()
