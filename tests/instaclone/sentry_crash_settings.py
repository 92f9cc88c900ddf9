"""Settings for the Sentry test's own Gunicorn: the test settings, plus one route that crashes.

Only the Gunicorn that tests/instaclone/test_sentry_gunicorn.py starts loads this module, so the
crash route never reaches production, the test stack or any other test.
"""

from instaclone.settings.test import *  # noqa: F403 - settings extend by star import

ROOT_URLCONF = "tests.instaclone.sentry_crash_urls"
