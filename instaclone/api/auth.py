"""Who is calling: OAuth2 access tokens as v1 accepted them, for ninja's ``auth=``.

A token comes as ``Authorization: Bearer <token>``, the ``access_token`` query parameter, or the
``access_token`` form field. ``TokenAuth`` requires one; ``OptionalTokenAuth`` lets anonymous
callers through (public data) but still refuses a token that is sent and bad. Sessions are never
used by the API: a browser's cookie must not act on the API, whose views are CSRF-exempt.
A write route must require a scope beyond ``basic`` (``instaclone/api/scopes.py`` enforces it).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_plus

from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest
from django.utils import timezone
from ninja.security.base import AuthBase

from instaclone.api.errors import (
    OAuthAccessTokenException,
    OAuthParameterException,
    OAuthPermissionsException,
)
from instaclone.api.params import parse_id
from instaclone.api.tokens import access_token_lookup

if TYPE_CHECKING:
    from oauth2_provider.models import AbstractAccessToken

# Every token carries "basic" implicitly, as in v1.
IMPLIED_SCOPE = "basic"
URLENCODED = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"
_LOOKUP_ATTR = "_api_token_lookup"
# nginx, Gunicorn and Sentry blank the value of a query parameter spelt access_token (or
# access%5Ftoken) in what they record; Django also decodes other spellings (%61ccess_token),
# which they would record in the clear, so a query token is read only under those two.
_REDACTED_NAME = re.compile(r"access(?:_|%5f)token", re.IGNORECASE)


@dataclass(frozen=True)
class _Lookup:
    raw: str | None
    token: AbstractAccessToken | None
    # False when a multipart body was not read yet, so a token in it is still unknown.
    complete: bool


def raw_access_token(request: HttpRequest, *, read_multipart: bool = True) -> str | None:
    """Return the token the request carries (header, then query, then form), or None.

    Reading the form parses the body, so this can raise Django's body errors
    (``RequestDataTooBig``, ``MultiPartParserError`` ...); the API's handlers answer them 400/413.
    """
    header: str = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    from_query: str | None = request.GET.get("access_token")
    if from_query:
        return from_query if _query_token_redacted(request.META.get("QUERY_STRING", "")) else None
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return None
    if request.content_type == URLENCODED or (request.content_type == MULTIPART and read_multipart):
        from_form: str | None = request.POST.get("access_token")
        return from_form or None
    return None


def _query_token_redacted(query_string: str) -> bool:
    """Return whether every query parameter Django reads as access_token is spelt as logs expect."""
    return all(
        _REDACTED_NAME.fullmatch(name) is not None
        for name in (pair.partition("=")[0] for pair in query_string.split("&"))
        if unquote_plus(name) == "access_token"
    )


def request_access_token(
    request: HttpRequest, *, read_multipart: bool = True
) -> AbstractAccessToken | None:
    """Return the stored token the request carries (memoised on the request), or None.

    ``read_multipart=False`` leaves an upload's body unread (the rate limiter answers before
    a large body is parsed); a token sent only inside such a body is then not seen.
    """
    memo: _Lookup | None = getattr(request, _LOOKUP_ATTR, None)
    if memo is None or (read_multipart and not memo.complete):
        raw = raw_access_token(request, read_multipart=read_multipart)
        complete = read_multipart or raw is not None or request.content_type != MULTIPART
        memo = _Lookup(raw, access_token_lookup(raw) if raw else None, complete)
        setattr(request, _LOOKUP_ATTR, memo)
    return memo.token


def request_sent_token(request: HttpRequest) -> bool:
    """Return whether the request carries any access token, valid or not."""
    request_access_token(request)
    memo: _Lookup = getattr(request, _LOOKUP_ATTR)
    return memo.raw is not None


def token_usable(token: AbstractAccessToken | None) -> bool:
    """Return whether ``token`` exists, has not expired and belongs to an active user."""
    return (
        token is not None
        and token.expires > timezone.now()
        and token.user is not None
        and token.user.is_active
    )


class TokenAuth(AuthBase):
    """Require an access token with ``scopes``; ``request.auth`` becomes the token's user."""

    # ninja names the security scheme after this; site.py fills in the OAuth2 flows.
    openapi_type = "oauth2"

    def __init__(self, scopes: Iterable[str] = (IMPLIED_SCOPE,)) -> None:
        super().__init__()
        self.scopes: tuple[str, ...] = tuple(scopes)

    def __call__(self, request: HttpRequest) -> Any:
        if not request_sent_token(request):
            return self.anonymous(request)
        token = request_access_token(request)
        if token is None:
            raise OAuthAccessTokenException("The access_token provided is invalid.")
        if token.expires <= timezone.now():
            raise OAuthAccessTokenException("The access_token provided has expired.")
        user = token.user
        if user is None or not user.is_active:
            raise OAuthAccessTokenException("The account of this access_token is deactivated.")
        granted = set(token.scope.split()) | {IMPLIED_SCOPE}
        missing = [scope for scope in self.scopes if scope not in granted]
        if missing:
            raise OAuthPermissionsException(
                f"This request requires scope={'+'.join(missing)}, but this access_token is "
                "not authorized with that scope."
            )
        request.user = user
        request.access_token = token  # type: ignore[attr-defined]
        return user

    def anonymous(self, request: HttpRequest) -> Any:
        """Answer a request without a token: refuse it."""
        raise OAuthParameterException(
            "Missing access_token: send it as a parameter or an Authorization: Bearer header."
        )


class OptionalTokenAuth(TokenAuth):
    """Accept anonymous callers (``request.auth`` is AnonymousUser) or a good token."""

    def anonymous(self, request: HttpRequest) -> Any:
        """Answer a request without a token: let it through as AnonymousUser."""
        request.user = AnonymousUser()
        request.access_token = None  # type: ignore[attr-defined]
        # AnonymousUser is truthy, which tells ninja authentication succeeded.
        return request.user


def resolve_user_id(request: HttpRequest, raw: str) -> int:
    """Return the user ID a path means: ``self`` is the token's user, else a numeric ID."""
    if raw == "self":
        user = getattr(request, "auth", None)
        if user is None or not user.is_authenticated:
            raise OAuthParameterException("'self' needs an access_token.")
        user_id: int = user.id
        return user_id
    return parse_id(raw, name="user_id")
