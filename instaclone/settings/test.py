"""Settings for the test suite: the base settings plus what tests truly need different.

Addresses default to the test stack (``deploy/stack.py up --profile test``, wherever it has put
its ports), so a bare ``pytest`` never touches the development stack's data.
"""

import os

from deploy.localstack.profiles import profile_env

_TEST_STACK = {
    name: value
    for name, value in profile_env("test").items()
    if name.endswith("_URL") or name.endswith("_URLS") or name == "MEMCACHED_SERVERS"
}
# Every test client calls from 127.0.0.1; repeated runs within an hour must not reach the API's
# hourly limit. Tests of the limit set their own.
_TEST_STACK["API_RATE_LIMIT_PER_HOUR"] = "1000000"
# The test stack is a developer machine: plain HTTP, the repository's development secrets.
_TEST_STACK["INSTACLONE_DEVELOPMENT"] = "1"
for _name, _value in _TEST_STACK.items():
    os.environ.setdefault(_name, _value)

from instaclone.settings.base import *  # noqa: E402, F403 - settings extend by star import

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast hashing in tests
