"""The apps a person let act for them, each with a button that takes the access back."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST, require_safe

from accounts.models import User
from accounts.oauth.selectors import authorized_apps
from accounts.oauth.services import AppNotAuthorized, app_authorization_revoke


def _viewer_id(request: HttpRequest) -> int:
    user = request.user
    assert isinstance(user, User)  # login_required guarantees an authenticated account
    return user.pk


@never_cache
@login_required
@require_safe
def apps_list(request: HttpRequest) -> HttpResponse:
    """List the third-party apps with access to the account."""
    apps = authorized_apps(user_id=_viewer_id(request))
    return render(request, "accounts/apps.html", {"apps": apps, "title": "Authorized apps"})


@never_cache
@login_required
@require_POST
def app_revoke(request: HttpRequest, application_id: int) -> HttpResponse:
    """Take back one app's access to the account (its tokens for this person only)."""
    try:
        name = app_authorization_revoke(user_id=_viewer_id(request), application_id=application_id)
    except AppNotAuthorized:
        raise Http404("No such app.") from None
    messages.success(request, f"{name} can no longer use your account.")
    return redirect("accounts:apps")
