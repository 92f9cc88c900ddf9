"""Report errors to Sentry, with secrets scrubbed before anything leaves the process.

Two layers: sentry-sdk's ``EventScrubber`` drops values under known secret keys in the places it
knows (request, extra, user, breadcrumbs, frames, spans); ``scrub_event`` then walks the whole
event, because secrets also hide in contexts, query strings, URLs, log messages and exception
texts, where only a pattern on the value finds them.
"""

from __future__ import annotations

import re
import warnings
from typing import TYPE_CHECKING, Any, cast

import sentry_sdk
from sentry_sdk.integrations.celery import CeleryIntegration
from sentry_sdk.integrations.django import DjangoIntegration
from sentry_sdk.integrations.redis import RedisIntegration
from sentry_sdk.scrubber import DEFAULT_DENYLIST, EventScrubber

if TYPE_CHECKING:
    from sentry_sdk._types import Event

FILTERED = "[Filtered]"

# Exact key names (case-insensitive) added to sentry-sdk's defaults.
EXTRA_DENYLIST = [
    "access_token",
    "refresh_token",
    "id_token",
    "client_secret",
    "bearer",
    "cookies",
    "csrfmiddlewaretoken",
    "new_password",
    "old_password",
    "password1",
    "password2",
    "new_password1",
    "new_password2",
    # APNs device tokens are per-device addresses: with one, anyone holding our key can push.
    "device_token",
    "push_token",
    "apns_token",
    # Photo metadata locates the photographer; a photo's location is as private as its GPS EXIF.
    "exif",
    "gps",
    "gpsinfo",
    "latitude",
    "longitude",
    "x_amz_security_token",
]

# Keys whose values go whatever their type, matched anywhere in the key ("device_token",
# "X-Amz-Signature", "GPSLatitude"). 34853 (0x8825) is the GPS IFD's tag in Pillow's getexif().
_SECRET_KEY = re.compile(
    r"passw|pwd|secret|token|authorization|cookie|session|csrf|xsrf|credential|signature"
    r"|api_?key|private_?key|exif|gps|^34853$",
    re.IGNORECASE,
)

# APNs device tokens are 32 bytes written as 64 hex digits; nothing else we log looks like that
# (event and trace IDs are 32 hex digits), so any such run is treated as a token.
_HEX64 = re.compile(r"(?<![0-9A-Fa-f])[0-9A-Fa-f]{64}(?![0-9A-Fa-f])")
_AUTH_SCHEME = re.compile(r"\b(Bearer|Basic)\s+[\w\-.~+/]{8,}=*", re.IGNORECASE)
# name=value / "name": "value" pairs inside free text: query strings, cookies, form bodies, JSON.
_SECRET_PAIR = re.compile(
    r"(?<![\w-])(?P<key>[\w.-]*(?:passw|pwd|secret|token|session|csrf|signature|credential"
    r"|api_?key)[\w.-]*[\"']?\s*[=:]\s*)(?P<value>\"[^\"]*\"|'[^']*'|[^\s&;,\"'}]+)",
    re.IGNORECASE,
)


def _replace_pair(match: re.Match[str]) -> str:
    value = match["value"]
    quote = value[0] if value[0] in "\"'" else ""
    return f"{match['key']}{quote}{FILTERED}{quote}"


def scrub_text(text: str) -> str:
    """Return ``text`` with tokens, credentials and device tokens replaced."""
    text = _AUTH_SCHEME.sub(lambda m: f"{m[1]} {FILTERED}", text)
    text = _SECRET_PAIR.sub(_replace_pair, text)
    return _HEX64.sub(FILTERED, text)


def scrub(value: Any, key: object = None) -> Any:
    """Return a copy of ``value`` with secrets removed from every nested key and string."""
    if isinstance(key, str | int) and _SECRET_KEY.search(str(key)):
        return FILTERED
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, dict):
        # _meta only describes what the SDK trimmed; its keys mirror secret paths, values hold none.
        return {k: v if k == "_meta" else scrub(v, k) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub(item) for item in value]
    return value


def scrub_event(event: Event, hint: dict[str, Any]) -> Event:
    """Remove secrets from an event about to be sent (sentry ``before_send``)."""
    return cast("Event", scrub(event))


def scrub_breadcrumb(crumb: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any]:
    """Remove secrets from a breadcrumb as it is recorded (sentry ``before_breadcrumb``)."""
    scrubbed: dict[str, Any] = scrub(crumb)
    return scrubbed


def init_sentry(*, dsn: str, environment: str, release: str | None = None) -> bool:
    """Start reporting to Sentry when ``dsn`` is set; return whether it was started."""
    if not dsn:
        return False
    with warnings.catch_warnings():
        # sentry-sdk 2.7x deprecates send_default_pii in favour of data_collection, but passing
        # data_collection switches the EventScrubber off; the explicit False keeps every version
        # we allow (>=2.20) free of PII by default.
        warnings.filterwarnings("ignore", "The send_default_pii", DeprecationWarning)
        sentry_sdk.init(
            dsn=dsn,
            environment=environment,
            release=release,
            integrations=[DjangoIntegration(), CeleryIntegration(), RedisIntegration()],
            send_default_pii=False,
            # Bodies carry passwords, captions and uploads; the error is findable without them.
            max_request_body_size="never",
            # Frame locals hold request objects, tokens and raw image bytes.
            include_local_variables=False,
            event_scrubber=EventScrubber(
                denylist=[*DEFAULT_DENYLIST, *EXTRA_DENYLIST], recursive=True
            ),
            before_send=scrub_event,
            before_send_transaction=scrub_event,
            before_breadcrumb=scrub_breadcrumb,
        )
    return True
