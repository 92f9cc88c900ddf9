"""Answer a log-in the attempt limits refused, at doors that do not catch the refusal."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from accounts.limits import LimiterUnavailable, LimitExceeded
from accounts.web.refusals import refusal


class LoginRefusalMiddleware:
    """Turn ``LimitExceeded`` / ``LimiterUnavailable`` from ``authenticate()`` into 429 / 503.

    The admin's stock log-in view calls ``authenticate()`` inside its form; the backend's refusal
    surfaces here as an exception and becomes the same page the web log-in shows.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        """Answer a limiter refusal with the refusal page; leave other errors to Django."""
        if isinstance(exception, LimitExceeded | LimiterUnavailable):
            return refusal(request, exception, action="Logging in")
        return None
