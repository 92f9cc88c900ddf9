"""Pages refusing an attempt because of the abuse limits."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.limits import LimiterUnavailable, LimitExceeded

# How long to tell clients to wait when the limiter itself is unreachable.
UNAVAILABLE_RETRY_AFTER = 30


def refusal(
    request: HttpRequest, error: LimitExceeded | LimiterUnavailable, *, action: str
) -> HttpResponse:
    """Answer 429 over the limit, 503 when the limiter cannot be asked; both with Retry-After."""
    if isinstance(error, LimitExceeded):
        minutes = max(1, -(-error.retry_after // 60))
        status, wait = 429, error.retry_after
        title = "Too many attempts"
        message = f"Too many attempts. Please wait {minutes} minute{'s' if minutes > 1 else ''}."
    else:
        status, wait = 503, UNAVAILABLE_RETRY_AFTER
        title = "Temporarily unavailable"
        message = f"{action} is unavailable right now. Please try again in a minute."
    response = render(
        request, "accounts/refused.html", {"title": title, "message": message}, status=status
    )
    response["Retry-After"] = str(wait)
    return response
