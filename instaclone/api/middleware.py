"""Conventions applied to every /v1/ request, whether or not a route matches it.

- The optional ``.json`` suffix is removed before URL resolution.
- The hourly limit is counted (per access token, else per client IP) and reported in
  ``X-Ratelimit-Limit`` / ``X-Ratelimit-Remaining``; over it the answer is 429.
- Answers Django made outside the API's handlers (no route: 404, wrong method: 405, a crash in
  a middleware: 500, an unreadable body: 400/413) are replaced by the v1 error envelope.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, UnreadablePostError
from django.http.multipartparser import MultiPartParserError

from instaclone.api.auth import request_access_token, token_usable
from instaclone.api.errors import (
    APIError,
    APINotAllowedError,
    OAuthRateLimitException,
    error_response,
)
from instaclone.api.handlers import api_error_for_status, body_error
from instaclone.api.ratelimit import RateState, ip_identity, rate_count
from instaclone.clientip import client_ip

logger = logging.getLogger(__name__)

# Where urls.py mounts the API; the OpenAPI document's own name ends in .json and keeps it.
API_PREFIX = "/v1/"
SUFFIX = ".json"
OPENAPI_PATH = API_PREFIX + "openapi.json"
_BODY_ERRORS = (SuspiciousOperation, MultiPartParserError, UnreadablePostError)


class ApiMiddleware:
    """Apply the v1 conventions (suffix, rate limit, error envelopes) to /v1/ requests."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path_info.startswith(API_PREFIX):
            return self.get_response(request)
        strip_json_suffix(request)
        try:
            state = rate_count(rate_identity(request))
        except _BODY_ERRORS as exc:
            return error_response(body_error(exc))
        if state is not None and state.exceeded:
            response: HttpResponse = error_response(
                OAuthRateLimitException(retry_after=state.retry_after)
            )
        else:
            response = envelope_django_error(request, self.get_response(request))
        if state is not None:
            add_rate_headers(response, state)
        return response


def strip_json_suffix(request: HttpRequest) -> None:
    """Route ``/v1/x.json`` as ``/v1/x``; ``request.path`` keeps the suffix for next_url."""
    path = request.path_info
    if path.endswith(SUFFIX) and path != OPENAPI_PATH:
        request.path_info = path[: -len(SUFFIX)]


def rate_identity(request: HttpRequest) -> str:
    """Return whom to count the request against: its valid token, else its client's address.

    A made-up or revoked token counts against the address, so inventing tokens does not buy
    a fresh allowance; so does a token sent only inside a multipart body.
    """
    try:
        # An upload's body stays unread here: over the limit, it is refused without parsing it.
        token = request_access_token(request, read_multipart=False)
    except DatabaseError:
        # The users database is down: count by address; the operation's own token check will
        # fail inside the API and answer with the error envelope.
        logger.warning("token lookup failed while rate counting", exc_info=True)
        token = None
    if token is not None and token_usable(token):
        return f"token:{token.pk}"
    return ip_identity(client_ip(request))


def add_rate_headers(response: HttpResponse, state: RateState) -> None:
    """Report the caller's standing in the current window."""
    response["X-Ratelimit-Limit"] = str(state.limit)
    response["X-Ratelimit-Remaining"] = str(state.remaining)


def envelope_django_error(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """Replace an error page Django made (HTML or empty) with the v1 error envelope."""
    if response.status_code < 400 or response.get("Content-Type", "").startswith(
        "application/json"
    ):
        return response
    status = response.status_code
    error: APIError
    if status == 405:
        allowed = response.get("Allow", "")
        error = APINotAllowedError(
            f"{request.method} is not allowed here; use {allowed or 'another method'}.",
            code=405,
            headers={"Allow": allowed} if allowed else None,
        )
    elif status == 404:
        error = api_error_for_status(404, f"No API endpoint at {request.path[:200]}.")
    elif status == 413:
        error = body_error(RequestDataTooBig())
    else:
        error = api_error_for_status(status, response.reason_phrase)
    converted = error_response(error)
    if "Retry-After" in response:
        converted["Retry-After"] = response["Retry-After"]
    return converted
