"""The v1 API instance every app's router is mounted on."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.urls import URLPattern, URLResolver
from ninja import NinjaAPI
from ninja.openapi.schema import OpenAPISchema

from instaclone.api.handlers import install_exception_handlers
from instaclone.api.openapi import V1OpenAPISchema
from instaclone.api.scopes import write_scope_problems

DESCRIPTION = """\
Instagram's v1 API. Answers are `{"meta": {"code": 200}, "data": ..., "pagination": {...}}`
(pagination on lists only); errors have HTTP status equal to `meta.code` and carry
`meta.error_type` and `meta.error_message`. Every path also answers with `.json` appended.
Lists take `count` and the `max_id` / `min_id` cursors. Responses carry `X-Ratelimit-Limit` and
`X-Ratelimit-Remaining`.
"""

# Each app's router as (prefix, "module.path.router"); import paths keep this module free of
# imports from the apps, which sit above instaclone in the dependency order.
# Fixed paths go before the routers whose "/{id}" would swallow them ("/media/popular").
ROUTERS: tuple[tuple[str, str], ...] = (
    ("users", "feeds.api.feed_router"),
    ("users", "accounts.api.users.router"),
    ("users", "photos.api.media.user_media_router"),
    ("media", "feeds.api.popular_router"),
    ("media", "photos.api.media.media_router"),
    ("tags", "photos.api.tags.router"),
    ("ping", "instaclone.api.ping.router"),
)


class InstacloneAPI(NinjaAPI):
    """NinjaAPI whose OpenAPI document declares the implicit error answers too.

    With ``write_scopes_required`` it refuses to build its URLs while a write route requires
    no scope beyond ``basic`` (``instaclone/api/scopes.py``).
    """

    def __init__(self, *args: Any, write_scopes_required: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.write_scopes_required = write_scopes_required

    @property
    def urls(self) -> tuple[list[URLResolver | URLPattern], str, str]:
        urls: tuple[list[URLResolver | URLPattern], str, str] = super().urls
        if self.write_scopes_required:
            provider: dict[str, Any] = settings.OAUTH2_PROVIDER
            problems = write_scope_problems(self, known_scopes=provider["SCOPES"])
            if problems:
                raise ImproperlyConfigured("; ".join(problems))
        return urls

    def get_openapi_schema(
        self,
        *,
        path_prefix: str | None = None,
        path_params: dict[str, Any] | None = None,
    ) -> OpenAPISchema:
        if path_prefix is None:
            path_prefix = self.get_root_path(path_params or {})
        return V1OpenAPISchema(self, path_prefix)


def create_api(*, urls_namespace: str = "v1", write_scopes_required: bool = False) -> InstacloneAPI:
    """Return an API with the v1 conventions (error envelopes, OpenAPI) and no routers."""
    api = InstacloneAPI(
        title="instaclone v1",
        version="1",
        description=DESCRIPTION,
        urls_namespace=urls_namespace,
        write_scopes_required=write_scopes_required,
    )
    install_exception_handlers(api)
    return api


api = create_api(write_scopes_required=True)
for _prefix, _router in ROUTERS:
    api.add_router(_prefix, _router)
