"""The v1 error types and the JSON envelope every API error is answered with.

v1 answers an error with an HTTP status equal to ``meta.code`` and a body of
``{"meta": {"code", "error_type", "error_message"}}``. Views raise these exceptions; the API's
exception handlers and middleware turn them (and everything else that can go wrong) into that
envelope.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from django.http import JsonResponse


class APIError(Exception):
    """An error answered as the v1 envelope with HTTP status ``code``."""

    def __init__(
        self,
        code: int,
        error_type: str,
        message: str,
        *,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.error_type = error_type
        self.message = message
        self.headers: dict[str, str] = dict(headers or {})


class _V1Error(APIError):
    """An APIError whose type and usual status come from the class."""

    status: ClassVar[int] = 400
    type_name: ClassVar[str] = "APIError"
    default_message: ClassVar[str] = "The request could not be served."

    def __init__(
        self,
        message: str | None = None,
        *,
        code: int | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(
            code or self.status,
            self.type_name,
            message or self.default_message,
            headers=headers,
        )


class APINotFoundError(_V1Error):
    """The resource does not exist (or must look as if it did not)."""

    status = 404
    type_name = "APINotFoundError"
    default_message = "The requested resource was not found."


class APINotAllowedError(_V1Error):
    """The caller may not see or do this (v1 answers 400; 405 for a wrong method)."""

    status = 400
    type_name = "APINotAllowedError"
    default_message = "You cannot view this resource."


class APIInvalidParametersError(_V1Error):
    """A parameter or the body is missing, malformed or out of range."""

    status = 400
    type_name = "APIInvalidParametersError"
    default_message = "Invalid parameters."


class OAuthParameterException(_V1Error):
    """No access token was sent where one is needed."""

    status = 400
    type_name = "OAuthParameterException"
    default_message = "Missing access_token URL parameter or Authorization header."


class OAuthAccessTokenException(_V1Error):
    """The access token is unknown, expired, revoked, or its user is deactivated."""

    status = 400
    type_name = "OAuthAccessTokenException"
    default_message = "The access_token provided is invalid."


class OAuthPermissionsException(_V1Error):
    """The access token lacks a scope the operation needs."""

    status = 400
    type_name = "OAuthPermissionsException"
    default_message = "This access_token is not authorized for this request."


class OAuthRateLimitException(_V1Error):
    """Too many requests in the current window."""

    status = 429
    type_name = "OAuthRateLimitException"
    default_message = "The maximum number of requests per hour has been exceeded."

    def __init__(
        self,
        message: str | None = None,
        *,
        retry_after: int | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        merged = dict(headers or {})
        if retry_after is not None:
            merged["Retry-After"] = str(max(1, retry_after))
        super().__init__(message, headers=merged)


class APIUnavailableError(_V1Error):
    """A database or service the request needs is down; the client should retry shortly."""

    status = 503
    type_name = "APIUnavailableError"
    default_message = "Temporarily unavailable. Try again in a few seconds."

    def __init__(self, message: str | None = None, *, retry_after: int = 5) -> None:
        super().__init__(message, headers={"Retry-After": str(retry_after)})


def error_body(error: APIError) -> dict[str, Any]:
    """Return the v1 envelope for ``error``."""
    return {
        "meta": {
            "code": error.code,
            "error_type": error.error_type,
            "error_message": error.message,
        }
    }


def error_response(error: APIError) -> JsonResponse:
    """Return the HTTP response for ``error``: status ``error.code``, its headers, the envelope."""
    response = JsonResponse(error_body(error), status=error.code)
    for name, value in error.headers.items():
        response[name] = value
    return response
