"""The real URLconf plus ``/_crash``, a view that fails the way a bug does (test settings only)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt


@csrf_exempt  # the test posts a form with no CSRF token; the point is the crash after it
def crash(request: HttpRequest) -> HttpResponse:
    """Raise an unhandled error that names the caller's token, as careless code might."""
    raise RuntimeError(f"feed store refused access_token={request.GET.get('access_token')}")


urlpatterns = [
    path("_crash", crash),
    path("", include("instaclone.urls")),
]
