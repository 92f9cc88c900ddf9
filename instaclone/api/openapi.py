"""The OpenAPI document: every response an operation can give, and the OAuth2 scheme.

Whatever an operation declares, the API can also answer 400 (parameters, token), 414 (a request
line over nginx's 8 KB), 429 (the hourly limit), 500, 503 (a database down), and 404 wherever the
path names a resource; those are added here so the document never promises less than the API
does. Every answer carries the rate-limit headers.

The document also says what the API accepts, so a client (or a fuzzer) can send valid requests:
the forms IDs and tag names take (``PARAMETER_PATTERNS``), that a form field is absent rather
than null, and the links from an answer to the operations its IDs feed (``links.py``). The ID
pattern is built here by hand (``decimal_at_most``): IDs travel as strings, to which JSON Schema's
``maximum`` does not apply, and no library writes a regular expression for a numeric range.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from ninja.openapi.schema import REF_TEMPLATE, OpenAPISchema
from ninja.operation import Operation
from ninja.schema import NinjaGenerateJsonSchema

from instaclone.api.auth import OptionalTokenAuth, TokenAuth
from instaclone.api.envelope import ALWAYS_POSSIBLE, ErrorEnvelope
from instaclone.api.links import LINKS, link_objects
from instaclone.api.params import MAX_ID

SCHEME_NAME = "oauth2"
TOKEN_URL = "/oauth/access_token"  # noqa: S105 - a path, not a secret
AUTHORIZE_URL = "/oauth/authorize"

_DESCRIPTIONS = {
    400: "Invalid parameters or access token (see meta.error_type)",
    404: "No such resource",
    414: "Request line too long (over 8 KB); answered by nginx",
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
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
# What an uploaded photo may be; the server decides by content (photos/images), not by this.
PHOTO_TYPES = "image/jpeg, image/png, image/webp, image/gif, image/heic, image/heif"


def decimal_at_most(limit: int) -> str:
    """Return a regular expression matching the decimal integers from 1 to ``limit``."""
    digits = str(limit)
    # Shorter numbers, then for each position a smaller digit there after the same prefix.
    options = [f"[1-9][0-9]{{0,{len(digits) - 2}}}"] if len(digits) > 1 else []
    for index, digit in enumerate(digits):
        low = "1" if index == 0 else "0"
        if int(digit) > int(low):
            rest = len(digits) - index - 1
            options.append(f"{digits[:index]}[{low}-{int(digit) - 1}][0-9]{{{rest}}}")
    options.append(digits)
    return "(?:" + "|".join(options) + ")"


_ID = decimal_at_most(MAX_ID)
# v1's media ID form "<photo_id>_<user_id>" reads as the photo ID (instaclone.api.params).
_MEDIA_ID = rf"{_ID}(?:_[0-9]{{1,19}})?"
# What params.parse_id and the views accept (less leading zeros, which they read too); a value
# of another form is answered 400.
PARAMETER_PATTERNS = {
    "user_id": rf"^(?:self|{_ID})$",
    "media_id": rf"^{_MEDIA_ID}$",
    "comment_id": rf"^{_ID}$",
    # Cursors: empty means "no cursor".
    "max_id": rf"^(?:{_MEDIA_ID})?$",
    "min_id": rf"^(?:{_MEDIA_ID})?$",
    "max_tag_id": rf"^(?:{_MEDIA_ID})?$",
    "min_tag_id": rf"^(?:{_MEDIA_ID})?$",
    # ASCII only here, though any Unicode word character is accepted: the names documented
    # are a subset of those accepted.
    "name": r"^#*[A-Za-z0-9_]{1,100}$",
}
# "self" is the one user every token can reach; an example gives clients a start that answers.
PARAMETER_EXAMPLES = {"user_id": ["self"]}


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
            implicit = {*ALWAYS_POSSIBLE, 414, 500, 503} | ({404} if "{" in path else set())
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
                _constrain_parameters(details)
                _form_fields_not_null(details)
        _add_links(paths)
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


def _string_schema(schema: dict[str, Any]) -> dict[str, Any] | None:
    """Return the string member of ``schema`` (itself, or its string ``anyOf`` branch)."""
    if schema.get("type") == "string":
        return schema
    for member in schema.get("anyOf", ()):
        if member.get("type") == "string":
            return member  # type: ignore[no-any-return]
    return None


def _constrain_parameters(operation: dict[str, Any]) -> None:
    for parameter in operation.get("parameters", ()):
        pattern = PARAMETER_PATTERNS.get(parameter["name"])
        target = _string_schema(parameter.get("schema", {})) if pattern else None
        if target is not None:
            target["pattern"] = pattern
            if parameter["name"] in PARAMETER_EXAMPLES:
                target["examples"] = PARAMETER_EXAMPLES[parameter["name"]]


def _form_fields_not_null(operation: dict[str, Any]) -> None:
    """A form field is a string or absent: drop the null branch ninja writes for optional ones."""
    content = operation.get("requestBody", {}).get("content", {})
    for media_type in FORM_TYPES:
        if media_type not in content:
            continue
        schema = content[media_type]["schema"]
        for name, field in schema.get("properties", {}).items():
            branches = [b for b in field.get("anyOf", ()) if b.get("type") != "null"]
            if "anyOf" in field and len(branches) == 1:
                del field["anyOf"]
                field.update(branches[0])
            if field.get("format") == "binary" and media_type == "multipart/form-data":
                encoding = content[media_type].setdefault("encoding", {})
                encoding[name] = {"contentType": PHOTO_TYPES}


def _add_links(paths: dict[str, Any]) -> None:
    """Add each OpenAPI link of ``LINKS`` to the 200 answer of its source operation."""
    operation_ids = {
        (method.upper(), path): details["operationId"]
        for path, methods in paths.items()
        for method, details in methods.items()
    }
    for (method, path), links in link_objects(LINKS, operation_ids).items():
        if (method, path) in operation_ids:
            paths[path][method.lower()]["responses"][200]["links"] = links
