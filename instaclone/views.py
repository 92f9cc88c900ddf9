"""Views of the project itself (not of any app)."""

from __future__ import annotations

import ipaddress

from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from instaclone.clientip import client_ip
from instaclone.health import health_report


def _may_see_health_details(request: HttpRequest) -> bool:
    """Tell whether the caller is on this host (through our nginx or not) or signed-in staff."""
    try:
        if ipaddress.ip_address(client_ip(request)).is_loopback:
            return True
    except ValueError:
        pass  # not an address: not this host
    # Asked second: the stack's own probes come from loopback and need no session read.
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_authenticated and user.is_staff)


@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    """Report each dependency to this host and staff (503 when any is down); others get liveness.

    The detailed report names servers and their errors, and running it opens a connection to
    every dependency; the public answer does neither, so it leaks nothing and costs nothing.
    """
    if not _may_see_health_details(request):
        return JsonResponse({"status": "ok"})
    report = health_report()
    return JsonResponse(report, status=200 if report["status"] == "ok" else 503)
