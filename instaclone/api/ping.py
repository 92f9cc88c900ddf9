"""GET /v1/ping: the smallest authenticated v1 answer (token, rate limit, envelope, nothing else).

It costs what every API request costs and no more, so it is the framework's own ceiling that
benchmarks compare real endpoints with.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema

from instaclone.api.auth import TokenAuth
from instaclone.api.envelope import Envelope, envelope, error_responses

router = Router(tags=["meta"])


class Pong(Schema):
    pong: bool


@router.get(
    "",
    auth=TokenAuth(),
    response={200: Envelope[Pong], **error_responses()},
    summary="Answer pong to a valid access token (a liveness check of the API itself)",
)
def ping(request: HttpRequest) -> dict[str, Any]:
    return envelope({"pong": True})
