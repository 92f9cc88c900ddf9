"""Exception handlers that make every error raised inside an API operation a v1 envelope."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from django.core.exceptions import (
    BadRequest,
    PermissionDenied,
    RequestDataTooBig,
    SuspiciousOperation,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.core.signals import got_request_exception
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse, UnreadablePostError
from django.http.multipartparser import MultiPartParserError
from django.utils.log import log_response
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from instaclone.api.errors import (
    APIError,
    APIInvalidParametersError,
    APINotAllowedError,
    APINotFoundError,
    APIUnavailableError,
    OAuthParameterException,
    OAuthRateLimitException,
    error_response,
)

_BODY_LIMITS = (TooManyFieldsSent, TooManyFilesSent)


def api_error_for_status(status: int, message: str) -> APIError:
    """Return the v1 error for an HTTP status some other layer chose."""
    if status == 404:
        return APINotFoundError(message)
    if status in (403, 405):
        return APINotAllowedError(message, code=status)
    if status == 429:
        return OAuthRateLimitException(message)
    if status == 413:
        return APIInvalidParametersError(message, code=413)
    if 400 <= status < 500:
        return APIInvalidParametersError(message, code=status)
    if status == 503:
        return APIUnavailableError()
    return APIError(500, "APIError", "Internal server error.")


def body_error(exc: Exception) -> APIError:
    """Return the v1 error for a request Django could not read or refused to read."""
    if isinstance(exc, RequestDataTooBig):
        return APIInvalidParametersError("The request body is too large.", code=413)
    if isinstance(exc, SuspiciousOperation) and not isinstance(exc, _BODY_LIMITS):
        # DisallowedHost and the like: say nothing about what looked suspicious.
        return APIInvalidParametersError("Bad request.")
    return APIInvalidParametersError("The request body could not be read or parsed.")


def validation_message(errors: list[dict[str, Any]]) -> str:
    """Return one readable sentence naming each invalid field."""
    parts = []
    for error in errors:
        loc = [str(part) for part in error.get("loc", ())]
        source, fields = (loc[0], loc[1:]) if loc else ("request", [])
        if source == "body" and len(fields) > 1:
            fields = fields[1:]  # drop the name of the view's body parameter
        field = ".".join(fields) or source
        parts.append(f"{source} parameter '{field}': {error.get('msg', 'is invalid')}")
    return "Invalid " + "; ".join(parts) if parts else "Invalid parameters."


def _api_error(request: HttpRequest, exc: Any) -> HttpResponse:
    return error_response(exc)


def _validation_error(request: HttpRequest, exc: Any) -> HttpResponse:
    return error_response(APIInvalidParametersError(validation_message(exc.errors)))


def _http_error(request: HttpRequest, exc: Any) -> HttpResponse:
    if isinstance(exc, AuthenticationError):
        # Raised by ninja when an auth callback returns nothing; ours raise their own errors.
        return error_response(OAuthParameterException())
    return error_response(api_error_for_status(exc.status_code, exc.message))


def _not_found(request: HttpRequest, exc: Any) -> HttpResponse:
    return error_response(APINotFoundError())


def _permission_denied(request: HttpRequest, exc: Any) -> HttpResponse:
    return error_response(APINotAllowedError(str(exc) or None))


def _bad_body(request: HttpRequest, exc: Any) -> HttpResponse:
    return error_response(body_error(exc))


def _unhandled(request: HttpRequest, exc: Any) -> HttpResponse:
    return _reported(request, exc, APIError(500, "APIError", "Internal server error."))


def _database_unavailable(request: HttpRequest, exc: Any) -> HttpResponse:
    # A server down or a statement timeout: tell the client to come back rather than fail.
    return _reported(request, exc, APIUnavailableError())


def _reported(request: HttpRequest, exc: Exception, error: APIError) -> HttpResponse:
    response = error_response(error)
    # As Django logs a failed view: with the traceback, and only once (log_response marks the
    # response so the handler does not log it again).
    log_response(
        "%s: %s",
        response.reason_phrase,
        request.path,
        response=response,
        request=request,
        exception=exc,
    )
    # Called inside ninja's except block, so sys.exc_info() is this exception: the signal lets
    # Sentry's Django integration capture it exactly as for a view Django itself failed.
    got_request_exception.send(sender=None, request=request)
    return response


# Handlers take ``exc: Any``: ninja types each handler's argument as "the class or an instance".
def install_exception_handlers(api: NinjaAPI) -> None:
    """Answer every exception raised in ``api``'s operations with a v1 envelope."""
    api.add_exception_handler(APIError, _api_error)
    api.add_exception_handler(ValidationError, _validation_error)
    api.add_exception_handler(HttpError, _http_error)
    api.add_exception_handler(Http404, _not_found)
    api.add_exception_handler(PermissionDenied, _permission_denied)
    for body_exc in (SuspiciousOperation, BadRequest, MultiPartParserError, UnreadablePostError):
        api.add_exception_handler(body_exc, _bad_body)
    # A database, or the object store (botocore's errors once its retries are spent), is down.
    for database_exc in (OperationalError, InterfaceError, BotoCoreError, ClientError):
        api.add_exception_handler(database_exc, _database_unavailable)
    api.add_exception_handler(Exception, _unhandled)
