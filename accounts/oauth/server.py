"""The OAuth2 server the toolkit's views drive, and its validator: v1's two grants, nothing else.

v1 offered the authorization-code grant (third-party apps, through the consent page) and the
password grant (the first-party app). Tokens are long-lived and come without refresh tokens, as
in v1; implicit, client-credentials, refresh and device grants are refused by oauthlib as
unsupported.
"""

from __future__ import annotations

from typing import Any

from oauth2_provider.models import AbstractApplication, get_application_model
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauth2_provider.scopes import get_scopes_backend
from oauthlib.oauth2 import (
    AuthorizationCodeGrant,
    BearerToken,
    ResourceOwnerPasswordCredentialsGrant,
)
from oauthlib.oauth2.rfc6749.endpoints import (
    AuthorizationEndpoint,
    ResourceEndpoint,
    RevocationEndpoint,
    TokenEndpoint,
)

from accounts.services.users import user_by_login

GRANT_TYPES = ("password", "authorization_code")
# Longer than any username or email we accept; refused before it reaches a query or a hasher.
MAX_LOGIN_LENGTH = 254


def login_account(login: str) -> str:
    """Return the username a log-in name (username in any case, or email) stands for.

    An unknown name comes back as typed, so failures are still counted against it.
    """
    if "\x00" in login or len(login) > MAX_LOGIN_LENGTH:
        return login
    known = user_by_login(login=login)
    return known.username if known is not None else login


def pkce_required(client_id: str) -> bool:
    """Return whether the client must send a PKCE challenge: every client without a secret.

    An unknown client_id answers True; the validator refuses it anyway.
    """
    client_type: str | None = (
        get_application_model()
        .objects.filter(client_id=client_id)
        .values_list("client_type", flat=True)
        .first()
    )
    return bool(client_type != AbstractApplication.CLIENT_CONFIDENTIAL)


class V1Validator(OAuth2Validator):  # type: ignore[misc]  # untyped base, as above
    """The toolkit's validator with v1's scope defaults and log-in by username or email."""

    def get_default_scopes(self, client_id: str, request: Any, *args: Any, **kwargs: Any) -> Any:
        # The first-party app (password grant) acts for the person on every surface.
        client = request.client
        if client is not None and client.authorization_grant_type == "password":
            return list(get_scopes_backend().get_all_scopes())
        return super().get_default_scopes(client_id, request, *args, **kwargs)

    def validate_grant_type(
        self, client_id: str, grant_type: str, client: Any, request: Any, *args: Any, **kwargs: Any
    ) -> bool:
        if grant_type == "password":
            # The toolkit warns on every password-grant use (RFC 9700 discourages it); here it
            # is the first-party app's deliberate design, limited to apps registered for it.
            return bool(client.allows_grant_type(AbstractApplication.GRANT_PASSWORD))
        result: bool = super().validate_grant_type(
            client_id, grant_type, client, request, *args, **kwargs
        )
        return result

    def validate_user(
        self, username: str, password: str, client: Any, request: Any, *args: Any, **kwargs: Any
    ) -> bool:
        if "\x00" in username or len(username) > MAX_LOGIN_LENGTH:
            return False
        valid: bool = super().validate_user(
            login_account(username), password, client, request, *args, **kwargs
        )
        return valid


# oauthlib and the toolkit ship no type information, so mypy sees their classes as Any.
class V1Server(
    AuthorizationEndpoint,  # type: ignore[misc]
    TokenEndpoint,  # type: ignore[misc]
    ResourceEndpoint,  # type: ignore[misc]
    RevocationEndpoint,  # type: ignore[misc]
):
    """An oauthlib server with the code and password grants only, issuing no refresh tokens."""

    def __init__(
        self,
        request_validator: OAuth2Validator,
        token_expires_in: Any = None,
        token_generator: Any = None,
        refresh_token_generator: Any = None,
        **kwargs: Any,
    ) -> None:
        # kwargs carries the toolkit's settings for grants we do not offer (device flow).
        code = AuthorizationCodeGrant(request_validator, refresh_token=False)
        password = ResourceOwnerPasswordCredentialsGrant(request_validator, refresh_token=False)
        bearer = BearerToken(
            request_validator, token_generator, token_expires_in, refresh_token_generator
        )
        AuthorizationEndpoint.__init__(
            self,
            default_response_type="code",
            response_types={"code": code},
            default_token_type=bearer,
        )
        TokenEndpoint.__init__(
            self,
            default_grant_type="authorization_code",
            grant_types={"authorization_code": code, "password": password},
            default_token_type=bearer,
        )
        ResourceEndpoint.__init__(
            self,
            default_token="Bearer",  # noqa: S106 - a token type's name, not a secret
            token_types={"Bearer": bearer},
        )
        RevocationEndpoint.__init__(self, request_validator)
