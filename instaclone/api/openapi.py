"""The OpenAPI document: every response an operation can give, and the OAuth2 scheme.

Whatever an operation declares, the API can also answer 400 (parameters, token), 429 (the hourly
limit), 500, 503 (a database down), and 404 wherever the path names a resource; those are added
here so the document never promises less than the API does. Every answer carries the rate-limit
headers.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from ninja.openapi.schema import REF_TEMPLATE, OpenAPISchema
from ninja.operation import Operation
from ninja.schema import NinjaGenerateJsonSchema

from instaclone.api.auth import OptionalTokenAuth, TokenAuth
from instaclone.api.envelope import ALWAYS_POSSIBLE, ErrorEnvelope

SCHEME_NAME = "oauth2"
TOKEN_URL = "/oauth/access_token"  # noqa: S105 - a path, not a secret
AUTHORIZE_URL = "/oauth/authorize"

_DESCRIPTIONS = {
    400: "Invalid parameters or access token (see meta.error_type)",
    404: "No such resource",
    429: "Hourly request limit exceeded",
    500: "Internal server error",
    503: "A database is unavailable; retry after Retry-After seconds",
}
_INT = {"type": "integer"}
RATE_HEADERS = {
    "X-Ratelimit-Limit": {"description": "Requests allowed per hour", "schema": _INT},
    "X-Ratelimit-Remaining": {"description": "Requests left this hour", "schema": _INT},
}
RETRY_AFTER = {"Retry-After": {"description": "Seconds until the limit resets", "schema": _INT}}


def oauth2_scheme() -> dict[str, Any]:
    """Return the OAuth2 security scheme with the v1 scopes from settings."""
    provider: dict[str, Any] = settings.OAUTH2_PROVIDER
    scopes = dict(provider["SCOPES"])
    return {
        "type": "oauth2",
        "description": (
            "A bearer token: the Authorization header, or the access_token query or form "
            "parameter. Every token has the basic scope."
        ),
        "flows": {
            "password": {"tokenUrl": TOKEN_URL, "scopes": scopes},
            "authorizationCode": {
                "authorizationUrl": AUTHORIZE_URL,
                "tokenUrl": TOKEN_URL,
                "scopes": scopes,
            },
        },
    }


class V1OpenAPISchema(OpenAPISchema):
    """ninja's document plus the implicit error answers, headers and OAuth2 scopes."""

    def get_paths(self) -> dict[str, Any]:
        paths: dict[str, Any] = super().get_paths()
        error_ref = self._error_envelope_ref()
        for path, methods in paths.items():
            implicit = {*ALWAYS_POSSIBLE, 500, 503} | ({404} if "{" in path else set())
            for details in methods.values():
                responses = details["responses"]
                for code in sorted(implicit):
                    responses.setdefault(
                        code,
                        {
                            "description": _DESCRIPTIONS[code],
                            "content": {"application/json": {"schema": error_ref}},
                        },
                    )
                for code, response in responses.items():
                    headers = response.setdefault("headers", {})
                    headers.update(RATE_HEADERS)
                    if code in (429, 503):
                        headers.update(RETRY_AFTER)
        return paths

    def operation_security(self, operation: Operation) -> list[dict[str, Any]] | None:
        requirements: list[dict[str, Any]] = []
        for auth in operation.auth_callbacks:
            if isinstance(auth, TokenAuth):
                self.securitySchemes[SCHEME_NAME] = oauth2_scheme()
                requirements.append({SCHEME_NAME: list(auth.scopes)})
                if isinstance(auth, OptionalTokenAuth):
                    requirements.append({})  # anonymous callers allowed
            elif hasattr(auth, "openapi_security_schema"):
                name = type(auth).__name__
                self.securitySchemes[name] = auth.openapi_security_schema
                requirements.append({name: []})
        return requirements or None

    def _error_envelope_ref(self) -> dict[str, str]:
        schema = ErrorEnvelope.model_json_schema(
            ref_template=REF_TEMPLATE,
            schema_generator=NinjaGenerateJsonSchema,
            mode="serialization",
        )
        definitions = schema.pop("$defs", {})
        self.add_schema_definitions({**definitions, "ErrorEnvelope": schema})
        return {"$ref": REF_TEMPLATE.format(model="ErrorEnvelope")}
