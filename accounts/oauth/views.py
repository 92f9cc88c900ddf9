"""OAuth2 endpoints in v1's shape, driven by django-oauth-toolkit and oauthlib.

Errors here use v1's token-endpoint shape, ``{"code", "error_type", "error_message"}`` with the
HTTP status equal to ``code`` (not the API's ``meta`` envelope): that is what v1 clients parse.
"""

from __future__ import annotations

import contextlib
import json
import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import BadRequest, RequestDataTooBig, SuspiciousOperation
from django.http import HttpRequest, HttpResponse, JsonResponse, QueryDict, UnreadablePostError
from django.http.multipartparser import MultiPartParserError
from django.utils.decorators import method_decorator
from django.utils.functional import LazyObject, empty
from django.views import View
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_post_parameters
from oauth2_provider.models import get_access_token_model
from oauth2_provider.views import AuthorizationView, RevokeTokenView
from oauth2_provider.views.mixins import OAuthLibMixin

from accounts.backends import login_name_acceptable
from accounts.limits import (
    TOO_MANY_REQUESTS,
    LimiterUnavailable,
    LimitExceeded,
    check_token_request_allowed,
    record_login_failure,
)
from accounts.oauth.server import GRANT_TYPES, V1Server, V1Validator
from accounts.selectors.users import user_short
from instaclone.api.tokens import token_checksum
from instaclone.clientip import client_ip

logger = logging.getLogger(__name__)

ERROR_TYPE = "OAuthException"
REQUIRED_FIELDS = {
    "password": ("username", "password"),
    "authorization_code": ("code", "redirect_uri"),
}
# What identifies the client when it does not use HTTP Basic. A public client (an app that cannot
# keep a secret) sends no client_secret with its code and proves itself with the PKCE
# code_verifier instead; oauthlib refuses a confidential client that leaves its secret out.
CLIENT_FIELDS = {
    "password": ("client_id", "client_secret"),
    "authorization_code": ("client_id",),
}
MAX_FIELD_LENGTH = 4096
# How long to tell clients to wait when the log-in limiter cannot be asked.
LIMITER_RETRY_AFTER = 30
_BODY_ERRORS = (BadRequest, SuspiciousOperation, MultiPartParserError, UnreadablePostError)


def oauth_error(
    message: str,
    *,
    code: int = 400,
    error_type: str = ERROR_TYPE,
    headers: dict[str, str] | None = None,
) -> JsonResponse:
    """Return a v1 OAuth error answer with HTTP status ``code``."""
    response = JsonResponse(
        {"code": code, "error_type": error_type, "error_message": message}, status=code
    )
    for name, value in (headers or {}).items():
        response[name] = value
    response["Cache-Control"] = "no-store"
    return response


def limit_refusal(refused: LimitExceeded | LimiterUnavailable, *, doing: str) -> JsonResponse:
    """Answer a token-endpoint request the limiter refused: 429, or 503 when it is down.

    The limiter down fails closed: unmetered guessing is what the limit exists to stop.
    """
    if isinstance(refused, LimiterUnavailable):
        return oauth_error(
            f"{doing} is unavailable right now. Try again in a minute.",
            code=503,
            headers={"Retry-After": str(LIMITER_RETRY_AFTER)},
        )
    message = (
        "Too many token requests. Try again later."
        if refused.reason == TOO_MANY_REQUESTS
        else "Too many failed log-in attempts. Try again later."
    )
    return oauth_error(
        message,
        code=429,
        error_type="OAuthRateLimitException",
        headers={"Retry-After": str(refused.retry_after)},
    )


# The toolkit ships no type information, so mypy sees its classes as Any.
class V1OAuthMixin(OAuthLibMixin):  # type: ignore[misc]
    """Drive the toolkit's views with v1's server (two grants, no refresh tokens)."""

    server_class = V1Server
    validator_class = V1Validator

    @classmethod
    def get_oauthlib_core(cls) -> Any:
        # The toolkit caches the core on the class but looks it up with hasattr(), which would
        # find a parent view's core built with another server class.
        if "_oauthlib_core" not in cls.__dict__:
            cls._oauthlib_core = cls.get_oauthlib_backend_class()(cls.get_server())
        return cls._oauthlib_core


@method_decorator(csrf_exempt, name="dispatch")
@method_decorator(sensitive_post_parameters("password", "client_secret"), name="post")
class AccessTokenView(V1OAuthMixin, View):
    """``POST /oauth/access_token``: exchange a password or a code for a v1 access token."""

    http_method_names = ["post", "options"]

    def post(self, request: HttpRequest) -> HttpResponse:
        ip = client_ip(request)
        try:
            check_token_request_allowed(ip=ip)
            response, counted = self.grant(request)
            if response.status_code != 200 and not counted:
                # A refused grant (bad client, bad code, malformed) counts against the IP only.
                record_login_failure(ip=ip)
        except (LimitExceeded, LimiterUnavailable) as refused:
            return limit_refusal(refused, doing="Log-in")
        return response

    def grant(self, request: HttpRequest) -> tuple[HttpResponse, bool]:
        """Answer the token request; return the answer and whether the log-in limits counted it."""
        try:
            params = request.POST
        except RequestDataTooBig:
            return oauth_error("The request body is too large.", code=413), False
        except _BODY_ERRORS:
            return oauth_error("The request body could not be read."), False
        problem = request_problem(request, params)
        if problem:
            return oauth_error(problem), False
        if params["grant_type"] == "password":
            return self.password_grant(request, params["username"])
        return self.token_response(request, "authorization_code")[0], False

    def password_grant(self, request: HttpRequest, login: str) -> tuple[HttpResponse, bool]:
        """Answer a password grant; return it and whether the backend counted a failure.

        oauthlib authenticates the client before it asks ``authenticate()`` about the person,
        so a bad client never reaches the account's count. The backend applies the log-in
        limits (raising over them) and counts a wrong password; a name the validator refuses
        unread (a NUL byte, over-long) never reaches it.
        """
        response, error = self.token_response(request, "password")
        return response, error == "invalid_grant" and login_name_acceptable(login)

    def token_response(self, request: HttpRequest, grant_type: str) -> tuple[HttpResponse, str]:
        """Run the grant through oauthlib; return the v1 answer and the OAuth error code or ''."""
        _, _, body, status = self.create_token_response(request)
        payload: dict[str, Any] = json.loads(body) if body else {}
        if status != 200 or "access_token" not in payload:
            error = str(payload.get("error") or "invalid_request")
            return oauth_error(error_message(error, grant_type, payload)), error
        raw = payload["access_token"]
        token = (
            get_access_token_model()
            .objects.select_related("user")
            .get(token_checksum=token_checksum(raw))
        )
        user = user_short(token.user)
        if user["profile_picture"].startswith("/"):
            user["profile_picture"] = request.build_absolute_uri(user["profile_picture"])
        response = JsonResponse({"access_token": raw, "user": user})
        response["Cache-Control"] = "no-store"
        response["Pragma"] = "no-cache"
        return response, ""

    def http_method_not_allowed(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        return oauth_error(
            f"{request.method} is not allowed here; use POST.",
            code=405,
            headers={"Allow": "POST, OPTIONS"},
        )


def request_problem(request: HttpRequest, params: QueryDict) -> str:
    """Return what is wrong with a token request before oauthlib sees it, or ''."""
    grant_type = params.get("grant_type", "")
    if grant_type not in GRANT_TYPES:
        got = f"got {grant_type[:40]!r}" if grant_type else "it is missing"
        return f"grant_type must be password or authorization_code; {got}."
    basic_auth = request.META.get("HTTP_AUTHORIZATION", "").lower().startswith("basic ")
    needed = (() if basic_auth else CLIENT_FIELDS[grant_type]) + REQUIRED_FIELDS[grant_type]
    missing = [name for name in needed if not params.get(name)]
    if missing:
        return f"Missing required parameter{'s' if len(missing) > 1 else ''}: {', '.join(missing)}."
    too_long = sorted(name for name, value in params.items() if len(value) > MAX_FIELD_LENGTH)
    if too_long:
        return f"Parameter too long: {', '.join(name[:40] for name in too_long)}."
    return ""


def error_message(error: str, grant_type: str, payload: dict[str, Any]) -> str:
    """Return a clear message for an oauthlib error code."""
    if error == "invalid_client":
        return "Invalid client_id or client_secret."
    if error == "invalid_grant" and grant_type == "password":
        return "The username or password you entered is incorrect."
    if error == "invalid_grant":
        return "The code is invalid, expired or already used, or was issued to another client."
    if error == "unauthorized_client":
        return f"This client may not use the {grant_type} grant."
    if error == "invalid_scope":
        provider: dict[str, Any] = settings.OAUTH2_PROVIDER
        names = list(provider["SCOPES"])
        listed = f"{', '.join(names[:-1])} or {names[-1]}" if len(names) > 1 else names[0]
        return f"The requested scope is invalid; use {listed}."
    description = payload.get("error_description")
    return str(description) if description else f"The request was refused ({error})."


class AuthorizeView(V1OAuthMixin, AuthorizationView):  # type: ignore[misc]
    """``GET/POST /oauth/authorize``: the consent page of the code flow (log-in required)."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        # The toolkit stores request.user on the grant; the shard router places related
        # objects by type(obj), which the lazy wrapper around request.user hides.
        request.user = unwrapped(request.user)
        return super().dispatch(request, *args, **kwargs)


def unwrapped(value: Any) -> Any:
    """Return the object a LazyObject stands for (evaluating it), or ``value`` itself."""
    if isinstance(value, LazyObject):
        # _wrapped and _setup are LazyObject's documented-in-source protocol, absent from stubs.
        if getattr(value, "_wrapped") is empty:  # noqa: B009
            value._setup()  # type: ignore[attr-defined]
        return getattr(value, "_wrapped")  # noqa: B009
    return value


class RevokeView(V1OAuthMixin, RevokeTokenView):  # type: ignore[misc]
    """``POST /oauth/revoke``: revoke a token (RFC 7009; the client authenticates)."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            request.POST  # noqa: B018 - parse now, so a bad body is answered here
        except RequestDataTooBig:
            return oauth_error("The request body is too large.", code=413)
        except _BODY_ERRORS:
            return oauth_error("The request body could not be read.")
        # The client authenticates here with its secret too: the token endpoint's per-IP limit
        # and failure count apply, so this is no unmetered door for guessing a secret.
        ip = client_ip(request)
        try:
            check_token_request_allowed(ip=ip)
        except (LimitExceeded, LimiterUnavailable) as refused:
            return limit_refusal(refused, doing="Revoking")
        _, _, body, status = self.create_revocation_response(request)
        if status == 200:
            return JsonResponse({})
        payload: dict[str, Any] = json.loads(body) if body else {}
        error = str(payload.get("error") or "invalid_request")
        with contextlib.suppress(LimiterUnavailable):
            record_login_failure(ip=ip)
        return oauth_error(error_message(error, "revoke", payload))
