"""Settings for the test suite: the base settings plus what tests truly need different.

Addresses default to the test stack (``deploy/stack.py up --profile test``), so a bare
``pytest`` never touches the development stack's data.
"""

import os

_TEST_STACK = {
    "DATABASE_URL": "postgres://instaclone@127.0.0.1:35432/instaclone",
    "SHARD_DATABASE_URLS": (
        "postgres://instaclone@127.0.0.1:35432/instaclone_shards,"
        "postgres://instaclone@127.0.0.1:35433/instaclone_shards"
    ),
    "REDIS_URL": "redis://127.0.0.1:36379/0",
    "CELERY_BROKER_URL": "redis://127.0.0.1:36379/1",
    "MEMCACHED_SERVERS": "127.0.0.1:31211,127.0.0.1:31212",
    "S3_ENDPOINT_URL": "http://127.0.0.1:38333",
    # Every test client calls from 127.0.0.1; repeated runs within an hour must not reach the
    # API's hourly limit. Tests of the limit set their own.
    "API_RATE_LIMIT_PER_HOUR": "1000000",
}
for _name, _value in _TEST_STACK.items():
    os.environ.setdefault(_name, _value)

from instaclone.settings.base import *  # noqa: E402, F403 - settings extend by star import

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast hashing in tests
