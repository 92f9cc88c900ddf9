"""Edit profile and change password, for the logged-in user."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from accounts.models import User
from accounts.selectors.users import picture_url
from accounts.services.users import (
    AccountError,
    user_change_password,
    user_set_profile_picture,
    user_update_profile,
)
from accounts.web.forms import PasswordChangeForm, ProfileForm, posted


def _current_user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)  # login_required guarantees an authenticated account
    return user


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def edit_profile(request: HttpRequest) -> HttpResponse:
    """Show and save the profile: name, bio, website, email, privacy and picture."""
    user = _current_user(request)
    initial = {
        "full_name": user.full_name,
        "bio": user.bio,
        "website": user.website,
        "email": user.email,
        "is_private": user.is_private,
    }
    files = request.FILES if request.method == "POST" else None
    form = ProfileForm(posted(request), files, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        picture = data.pop("picture")
        try:
            user = user_update_profile(user_id=user.pk, **data)
            if picture is not None:
                user_set_profile_picture(user_id=user.pk, upload=picture)
        except AccountError as error:
            form.add_error(error.field, error.message)
        else:
            messages.success(request, "Your profile was saved.")
            return redirect("accounts:edit_profile")
    context = {"form": form, "picture_url": picture_url(user.profile_picture)}
    return render(request, "accounts/edit_profile.html", context)


@sensitive_post_parameters("old_password", "new_password1", "new_password2")
@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def change_password(request: HttpRequest) -> HttpResponse:
    """Change the password, keeping this session logged in."""
    form = PasswordChangeForm(posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            user = user_change_password(
                user_id=_current_user(request).pk,
                old_password=form.cleaned_data["old_password"],
                new_password=form.cleaned_data["new_password1"],
            )
        except AccountError as error:
            form.add_error(error.field, error.message)
        else:
            # Sessions are bound to the password hash; renew ours so only the others end.
            update_session_auth_hash(request, user)
            messages.success(request, "Your password was changed.")
            return redirect("accounts:change_password")
    return render(request, "accounts/change_password.html", {"form": form})
