"""Settings for every environment, driven by environment variables.

The defaults match the local stack that ``make up`` starts (deploy/stack.py); docker-compose and
real hosts set the same variables to other addresses. These are the production settings: unless
``INSTACLONE_DEVELOPMENT=1`` (set by the local stack, the test settings and docker-compose) they
require real secrets and HTTPS, and ``manage.py check --deploy`` reports nothing.
"""

from __future__ import annotations

from pathlib import Path

from instaclone.settings.env import (
    database_from_url,
    env_bool,
    env_float,
    env_int,
    env_list,
    env_secret,
    env_str,
)

BASE_DIR = Path(__file__).resolve().parent.parent.parent

# A developer machine (plain HTTP on loopback, secrets from the repository) or not. Anywhere
# else a missing secret, or one left at its development value, stops the process at start.
DEVELOPMENT = env_bool("INSTACLONE_DEVELOPMENT", False)
SECRET_KEY = env_secret(
    "SECRET_KEY",
    development_value="insecure-local-development-key-change-me-in-production",
    development=DEVELOPMENT,
)
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")
USE_X_FORWARDED_HOST = True
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# In production every page and API answer goes over HTTPS; TLS ends at the proxy in front,
# which says so in X-Forwarded-Proto. Health probes come over plain HTTP from inside.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEVELOPMENT)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SESSION_COOKIE_SECURE = not DEVELOPMENT
CSRF_COOKIE_SECURE = not DEVELOPMENT
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEVELOPMENT else 365 * 24 * 3600)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "oauth2_provider",
    "ninja",
    "instaclone.sharding",
    "instaclone.events",
    "instaclone.api",
    "accounts",
    "photos",
    "feeds",
    "notifications",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Early, so every answer made for /v1/ below it (a refused host, no route, a crash) passes
    # through it to be enveloped; the security headers are still added to its answers.
    "instaclone.api.middleware.ApiMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Turns a log-in refused by the attempt limits, wherever authenticate() ran, into 429/503.
    "accounts.middleware.LoginRefusalMiddleware",
]

ROOT_URLCONF = "instaclone.urls"
WSGI_APPLICATION = "instaclone.wsgi.application"
AUTH_USER_MODEL = "accounts.User"
# The one backend: every log-in door (web, admin, OAuth password grant) is limited inside it.
AUTHENTICATION_BACKENDS = ["accounts.backends.LimitedModelBackend"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "instaclone" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Postgres: the users database and the physical servers holding the logical shards ---------

DB_CONNECT_TIMEOUT = env_int("DB_CONNECT_TIMEOUT", 3)
DB_STATEMENT_TIMEOUT_MS = env_int("DB_STATEMENT_TIMEOUT_MS", 5000)

DATABASE_URL = env_str("DATABASE_URL", "postgres://instaclone@127.0.0.1:25432/instaclone")
SHARD_DATABASE_URLS = env_list(
    "SHARD_DATABASE_URLS",
    "postgres://instaclone@127.0.0.1:25432/instaclone_shards,"
    "postgres://instaclone@127.0.0.1:25433/instaclone_shards",
)


def _database(url: str) -> dict[str, object]:
    return database_from_url(
        url, connect_timeout=DB_CONNECT_TIMEOUT, statement_timeout_ms=DB_STATEMENT_TIMEOUT_MS
    )


# Physical shard servers get the aliases shards_0, shards_1, ... in the order listed.
DATABASES = {"default": _database(DATABASE_URL)}
DATABASES.update({f"shards_{i}": _database(url) for i, url in enumerate(SHARD_DATABASE_URLS)})
DATABASE_ROUTERS = ["instaclone.sharding.routing.ShardRouter"]

# Number of logical shards (schemas shard_0000 ...). SHARD_PLACEMENT optionally places them by
# hand as "alias:first-last;alias:first-last"; empty means contiguous equal ranges in alias order.
LOGICAL_SHARDS = env_int("LOGICAL_SHARDS", 64)
SHARD_PLACEMENT = env_str("SHARD_PLACEMENT", "")

# --- Redis: photo->user map, feeds, counters, Celery broker -----------------------------------

REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:26379/0")
REDIS_SOCKET_TIMEOUT = env_float("REDIS_SOCKET_TIMEOUT", 1.0)
REDIS_CONNECT_TIMEOUT = env_float("REDIS_CONNECT_TIMEOUT", 1.0)
# Photo->user map buckets cover 2**IDMAP_WINDOW_BITS ms of one logical shard; size them so a
# bucket stays under Redis's hash-max-listpack-entries (the local redis.conf allows 512).
IDMAP_WINDOW_BITS = env_int("IDMAP_WINDOW_BITS", 16)
IDMAP_MAX_BUCKET_ENTRIES = env_int("IDMAP_MAX_BUCKET_ENTRIES", 512)

# --- Memcached: two or more servers, keys hashed across them ----------------------------------

from instaclone.memcached import Crc32RendezvousHash  # noqa: E402 - a class the client takes

MEMCACHED_SERVERS = env_list("MEMCACHED_SERVERS", "127.0.0.1:21211,127.0.0.1:21212")
MEMCACHED_TIMEOUT = env_float("MEMCACHED_TIMEOUT", 0.5)
CACHES = {
    "default": {
        "BACKEND": "instaclone.memcached.PyMemcacheCache",
        "LOCATION": MEMCACHED_SERVERS,
        "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "ic"),
        "OPTIONS": {
            "connect_timeout": MEMCACHED_TIMEOUT,
            "timeout": MEMCACHED_TIMEOUT,
            "no_delay": True,
            # A dead or hung server reads as a miss instead of raising into the request.
            "ignore_exc": True,
            "retry_attempts": 1,
            "retry_timeout": 1,
            "dead_timeout": 10,
            "hasher": Crc32RendezvousHash,
        },
    }
}

# --- Object storage: S3 (SeaweedFS locally), the file system when no endpoint is set ----------

S3_ENDPOINT_URL = env_str("S3_ENDPOINT_URL", "http://127.0.0.1:28333")
S3_BUCKET = env_str("S3_BUCKET", "instaclone")
S3_ACCESS_KEY = env_str("S3_ACCESS_KEY", "instaclone")
S3_SECRET_KEY = env_str("S3_SECRET_KEY", "instaclone-secret")
S3_REGION = env_str("S3_REGION", "us-east-1")
S3_CONNECT_TIMEOUT = env_float("S3_CONNECT_TIMEOUT", 2.0)
S3_READ_TIMEOUT = env_float("S3_READ_TIMEOUT", 5.0)
MEDIA_ROOT = env_str("MEDIA_ROOT", str(BASE_DIR / ".run" / "media"))
MEDIA_URL = "/media/"

if S3_ENDPOINT_URL != "none":
    _default_storage = {
        "BACKEND": "instaclone.storage.S3Storage",
        "OPTIONS": {
            "bucket_name": S3_BUCKET,
            "endpoint_url": S3_ENDPOINT_URL,
            "access_key": S3_ACCESS_KEY,
            "secret_key": S3_SECRET_KEY,
            "region_name": S3_REGION,
            "addressing_style": "path",
            "signature_version": "s3v4",
            "file_overwrite": True,
            "querystring_auth": True,
            "client_config": None,  # filled in below so the timeouts apply
        },
    }
else:
    _default_storage = {"BACKEND": "django.core.files.storage.FileSystemStorage"}

STORAGES = {
    "default": _default_storage,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
if S3_ENDPOINT_URL != "none":
    from botocore.config import Config as _BotoConfig

    STORAGES["default"]["OPTIONS"]["client_config"] = _BotoConfig(  # type: ignore[index]
        connect_timeout=S3_CONNECT_TIMEOUT,
        read_timeout=S3_READ_TIMEOUT,
        retries={"total_max_attempts": 2, "mode": "standard"},
        signature_version="s3v4",
        s3={"addressing_style": "path"},
    )

# Photos up to the upload cap stay in memory instead of a temporary file on disk.
FILE_UPLOAD_MAX_MEMORY_SIZE = env_int("FILE_UPLOAD_MAX_MEMORY_SIZE", 26 * 1024 * 1024)

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "instaclone" / "static"]
STATIC_ROOT = env_str("STATIC_ROOT", str(BASE_DIR / ".run" / "static"))

# --- Celery ------------------------------------------------------------------------------------

CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "redis://127.0.0.1:26379/1")
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_TIMEOUT = env_float("CELERY_BROKER_CONNECTION_TIMEOUT", 2.0)
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "socket_timeout": REDIS_SOCKET_TIMEOUT,
    "socket_connect_timeout": REDIS_CONNECT_TIMEOUT,
    "visibility_timeout": 3600,
}
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
# The popular page is ranked by the worker's embedded beat (celery worker -B).
POPULAR_EVERY_SECONDS = env_int("POPULAR_EVERY_SECONDS", 300)
# Web uploads' stashed originals (with their GPS) older than this are deleted by a sweep that
# runs every UPLOAD_STASH_SWEEP_EVERY_SECONDS (photos/web.py).
UPLOAD_STASH_SECONDS = env_int("UPLOAD_STASH_SECONDS", 3600)
UPLOAD_STASH_SWEEP_EVERY_SECONDS = env_int("UPLOAD_STASH_SWEEP_EVERY_SECONDS", 600)
# Events whose relay right after the commit failed are sent by a sweep every
# EVENT_SWEEP_EVERY_SECONDS, once they are EVENT_SWEEP_GRACE_SECONDS old (the relay's own
# chance), at most EVENT_SWEEP_LIMIT a run (instaclone/events/sweep.py).
EVENT_SWEEP_EVERY_SECONDS = env_float("EVENT_SWEEP_EVERY_SECONDS", 5.0)
EVENT_SWEEP_GRACE_SECONDS = env_float("EVENT_SWEEP_GRACE_SECONDS", 10.0)
EVENT_SWEEP_LIMIT = env_int("EVENT_SWEEP_LIMIT", 1000)
CELERY_BEAT_SCHEDULE = {
    "popular-rank": {"task": "feeds.popular_rank", "schedule": float(POPULAR_EVERY_SECONDS)},
    "events-sweep": {
        "task": "events.sweep",
        "schedule": EVENT_SWEEP_EVERY_SECONDS,
        # Sweeps queued while the broker or the worker was away are not worth running late.
        "options": {"expires": EVENT_SWEEP_EVERY_SECONDS},
    },
    "upload-stashes-sweep": {
        "task": "photos.upload_stashes_sweep",
        "schedule": float(UPLOAD_STASH_SWEEP_EVERY_SECONDS),
    },
}

# Which jobs react to what happened (instaclone/events); names of Celery tasks. Each may run
# more than once for one event (delivery is at least once), so each is idempotent.
EVENT_JOBS: dict[str, tuple[str, ...]] = {
    # The photo->user map and the tag index first: the fan-out is the slower job.
    "photo.posted": ("photos.photo_index", "feeds.photo_posted"),
    "photo.deleted": ("feeds.photo_deleted",),
    "follow.changed": ("feeds.follow_changed",),
    # A save that may switch privacy or ban: tag pages count and list public photos apart.
    "user.visibility_changed": ("photos.tags_owner_sync",),
}

# --- Feeds ---------------------------------------------------------------------------------------

# Entries kept per home feed in Redis; the local redis.conf keeps sorted sets of up to 512
# entries in the compact listpack encoding.
FEED_SIZE = env_int("FEED_SIZE", 300)
FEED_TTL_SECONDS = env_int("FEED_TTL_SECONDS", 30 * 24 * 3600)
# Followers written per fan-out batch (one Redis script call each).
FEED_FANOUT_BATCH = env_int("FEED_FANOUT_BATCH", 1000)
POPULAR_SIZE = env_int("POPULAR_SIZE", 100)
POPULAR_WINDOW_HOURS = env_int("POPULAR_WINDOW_HOURS", 72)

# --- Sentry ------------------------------------------------------------------------------------

SENTRY_DSN = env_str("SENTRY_DSN", "")
SENTRY_ENVIRONMENT = env_str("SENTRY_ENVIRONMENT", "local")

# --- OAuth2 (django-oauth-toolkit) and the v1 API ---------------------------------------------


def _pkce_required(client_id: str) -> bool:
    # Imported on use: settings load before the apps.
    from accounts.oauth.server import pkce_required

    return pkce_required(client_id)


OAUTH2_PROVIDER = {
    # The v1 scopes plus "publish" (posting and deleting photos); every token has "basic".
    # Every write route of the API names one of the others (instaclone/api/scopes.py).
    "SCOPES": {
        "basic": "Read your profile, photos and feed",
        "publish": "Post and delete photos on your behalf",
        "comments": "Post and delete comments on your behalf",
        "relationships": "Follow and unfollow accounts on your behalf",
        "likes": "Like and unlike photos on your behalf",
    },
    "DEFAULT_SCOPES": ["basic"],
    "ACCESS_TOKEN_EXPIRE_SECONDS": env_int("ACCESS_TOKEN_EXPIRE_SECONDS", 60 * 60 * 24 * 365),
    # A code sent to an http:// address can be read on the way; plain http only while DEBUG.
    "ALLOWED_REDIRECT_URI_SCHEMES": ["https", "http"] if DEBUG else ["https"],
    # Public clients (no secret) must use PKCE; confidential v1 clients predate it and
    # authenticate with their secret.
    "PKCE_REQUIRED": _pkce_required,
    # RFC 9700 (OAuth 2.0 Security BCP) behaviour the toolkit enforces when asked:
    # tokens stored as their SHA-256 only (the token column stays blank), no "plain" PKCE,
    # the iss parameter in authorization answers, no implicit grant (V1Server offers none),
    # refresh-token replay protection (no refresh tokens are issued at all).
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "COMPLIANT_BCP_RFC9700_REFRESH_TOKEN": True,
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_SCHEME": not DEBUG,
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_MATCHING": True,
    "COMPLIANT_BCP_RFC9700_PKCE_REQUIRED": True,
}
SILENCED_SYSTEM_CHECKS = [
    # The password grant is the first-party app's log-in (v1's design), limited to clients
    # registered for it (accounts/oauth/server.py) and to the log-in attempt limits.
    "oauth2_provider.W002",
    # v1 clients send access_token in the query string; nginx and Gunicorn leave it out of
    # their access logs (deploy/nginx.conf.template, deploy/gunicorn.conf.py).
    "oauth2_provider.W004",
]
# The first-party mobile app (password grant), registered by the api app's data migration. The
# secret is stored hashed; set both before the first migrate anywhere but a developer machine,
# or change them later with `manage.py oauth_app secret`.
FIRST_PARTY_CLIENT_ID = env_str("FIRST_PARTY_CLIENT_ID", "instaclone-ios")
FIRST_PARTY_CLIENT_SECRET = env_secret(
    "FIRST_PARTY_CLIENT_SECRET",
    development_value="instaclone-ios-dev-secret",
    development=DEVELOPMENT,
)
# Requests per hour per access token (or per IP without one), reported in X-Ratelimit-*.
API_RATE_LIMIT_PER_HOUR = env_int("API_RATE_LIMIT_PER_HOUR", 5000)

# --- Passwords, sessions, i18n -----------------------------------------------------------------

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    # Validates nothing: its password_changed() hook revokes the user's tokens on every door.
    {"NAME": "accounts.passwords.RevokeTokensOnPasswordChange"},
]
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}

# --- Abuse limits: attempts per window, counted in Redis (accounts/limits.py) ------------------

# Peers whose X-Forwarded-For names the client (instaclone/clientip.py), for every limiter:
# addresses or CIDR networks, e.g. nginx on this host, or the compose network it runs on.
ABUSE_TRUSTED_PROXIES = env_list("ABUSE_TRUSTED_PROXIES", "127.0.0.1,::1")
# Log-in (every door, through accounts.backends): the rules are in accounts/limits.py.
LOGIN_LIMIT_WINDOW = env_int("LOGIN_LIMIT_WINDOW", 15 * 60)
LOGIN_LIMIT_PER_ACCOUNT_IP = env_int("LOGIN_LIMIT_PER_ACCOUNT_IP", 10)
LOGIN_LIMIT_PER_IP = env_int("LOGIN_LIMIT_PER_IP", 50)
LOGIN_SLOWDOWN_AFTER = env_int("LOGIN_SLOWDOWN_AFTER", 100)
LOGIN_LIMIT_PER_ACCOUNT_IP_SLOWED = env_int("LOGIN_LIMIT_PER_ACCOUNT_IP_SLOWED", 3)
# Every request to POST /oauth/access_token, per client IP.
TOKEN_LIMIT_WINDOW = env_int("TOKEN_LIMIT_WINDOW", 60)
TOKEN_LIMIT_PER_IP = env_int("TOKEN_LIMIT_PER_IP", 30)
SIGNUP_LIMIT_WINDOW = env_int("SIGNUP_LIMIT_WINDOW", 60 * 60)
SIGNUP_LIMIT_PER_IP = env_int("SIGNUP_LIMIT_PER_IP", 5)
PASSWORD_RESET_LIMIT_WINDOW = env_int("PASSWORD_RESET_LIMIT_WINDOW", 60 * 60)
PASSWORD_RESET_LIMIT_PER_ACCOUNT = env_int("PASSWORD_RESET_LIMIT_PER_ACCOUNT", 5)
PASSWORD_RESET_LIMIT_PER_IP = env_int("PASSWORD_RESET_LIMIT_PER_IP", 20)
# Every reset request takes at least this long, so sending mail to a known address cannot be
# told apart from doing nothing for an unknown one.
PASSWORD_RESET_MIN_SECONDS = env_float("PASSWORD_RESET_MIN_SECONDS", 1.0)
# Requests to change one's email (each mails a link or a notice): per account and per IP.
EMAIL_CHANGE_LIMIT_WINDOW = env_int("EMAIL_CHANGE_LIMIT_WINDOW", 60 * 60)
EMAIL_CHANGE_LIMIT_PER_ACCOUNT = env_int("EMAIL_CHANGE_LIMIT_PER_ACCOUNT", 5)
EMAIL_CHANGE_LIMIT_PER_IP = env_int("EMAIL_CHANGE_LIMIT_PER_IP", 20)
# How long a link confirming a new email address works.
EMAIL_CHANGE_LINK_SECONDS = env_int("EMAIL_CHANGE_LINK_SECONDS", 24 * 3600)

# --- Email: a file backend locally (one file per message), SMTP or console elsewhere ----------

EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.filebased.EmailBackend")
EMAIL_FILE_PATH = env_str("EMAIL_FILE_PATH", str(Path(MEDIA_ROOT).parent / "mail"))
EMAIL_HOST = env_str("EMAIL_HOST", "127.0.0.1")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = env_float("EMAIL_TIMEOUT", 5.0)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "instaclone <no-reply@instaclone.local>")
