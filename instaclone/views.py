"""Views of the project itself (not of any app)."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from instaclone.health import health_report


@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    """Report each dependency; 503 when any is down."""
    report = health_report()
    return JsonResponse(report, status=200 if report["status"] == "ok" else 503)
