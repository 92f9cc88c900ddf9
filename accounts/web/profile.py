"""Edit profile and change password, for the logged-in user; confirm a new email address."""

from __future__ import annotations

import logging

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from accounts.limits import (
    LimiterUnavailable,
    LimitExceeded,
    check_login_allowed,
    clear_login_failures,
    count_email_change_attempt,
    record_login_failure,
)
from accounts.models import User
from accounts.selectors.users import picture_url
from accounts.services import email_change
from accounts.services.users import (
    AccountError,
    PasswordIncorrect,
    email_normalize,
    user_change_password,
    user_set_profile_picture,
    user_update_profile,
)
from accounts.web.forms import PasswordChangeForm, ProfileForm, posted
from accounts.web.refusals import refusal
from instaclone.clientip import client_ip

logger = logging.getLogger(__name__)

# Signed links are a few hundred characters; anything much longer is not one of ours.
TOKEN_MAX = 1000


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
        password = data.pop("password")
        try:
            email = email_normalize(data.pop("email"))
            changing = email_change.email_is_a_change(user_id=user.pk, email=email)
            if changing:
                _password_proved(user, password, ip=client_ip(request))
                # Counted before anything is saved or mailed, taken address or not.
                count_email_change_attempt(user_id=user.pk, ip=client_ip(request))
            user = user_update_profile(user_id=user.pk, **data)
            if picture is not None:
                user_set_profile_picture(user_id=user.pk, upload=picture)
            if changing:
                link_base = request.build_absolute_uri("/").rstrip("/")
                email_change.email_change_request(user_id=user.pk, email=email, link_base=link_base)
        except (LimitExceeded, LimiterUnavailable) as refused:
            return refusal(request, refused, action="Changing your email")
        except AccountError as error:
            form.add_error(error.field, error.message)
        else:
            messages.success(request, "Your profile was saved.")
            if changing:
                # The same words whether or not another account has the address.
                messages.info(
                    request,
                    f"We sent a confirmation link to {email}. "
                    "Your email address changes when you open it.",
                )
            return redirect("accounts:edit_profile")
    context = {"form": form, "picture_url": picture_url(user.profile_picture)}
    return render(request, "accounts/edit_profile.html", context)


def _password_proved(user: User, password: str, *, ip: str) -> None:
    """Check the current password before an email change, within the log-in attempt limits.

    Raises ``AccountError`` on the password field when it is missing or wrong (a wrong one
    counts against the IP like a failed log-in), or the limiter's refusal.
    """
    if not password:
        raise AccountError(
            "Enter your current password to change your email address.", field="password"
        )
    check_login_allowed(username=user.username, ip=ip)
    if not user.check_password(password):
        record_login_failure(ip=ip)
        raise AccountError("Your password was entered incorrectly.", field="password")
    _forget_attempts(username=user.username, ip=ip)


def _forget_attempts(*, username: str, ip: str) -> None:
    """Forget this IP's attempts on the account once it proved the password."""
    try:
        clear_login_failures(username=username, ip=ip)
    except LimiterUnavailable:
        # The attempt passed the limiter; its stale count only expires later.
        logger.warning("could not clear log-in attempts for user %s", username)


@sensitive_post_parameters("old_password", "new_password1", "new_password2")
@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def change_password(request: HttpRequest) -> HttpResponse:
    """Change the password, keeping this session logged in."""
    form = PasswordChangeForm(posted(request))
    if request.method == "POST" and form.is_valid():
        username, ip = _current_user(request).username, client_ip(request)
        try:
            # The old-password check is a password oracle for whoever holds a stolen session:
            # it gets the log-in attempt limits, counted like a log-in from this IP.
            check_login_allowed(username=username, ip=ip)
            try:
                user = user_change_password(
                    user_id=_current_user(request).pk,
                    old_password=form.cleaned_data["old_password"],
                    new_password=form.cleaned_data["new_password1"],
                )
            except PasswordIncorrect:
                record_login_failure(ip=ip)
                raise
            except AccountError:
                # The old password was right (it is checked first); only the new one was not.
                _forget_attempts(username=username, ip=ip)
                raise
        except (LimitExceeded, LimiterUnavailable) as refused:
            return refusal(request, refused, action="Changing your password")
        except AccountError as error:
            form.add_error(error.field, error.message)
        else:
            _forget_attempts(username=username, ip=ip)
            # Sessions are bound to the password hash; renew ours so only the others end.
            update_session_auth_hash(request, user)
            messages.success(request, "Your password was changed.")
            return redirect("accounts:change_password")
    return render(request, "accounts/change_password.html", {"form": form})


@never_cache
@require_http_methods(["GET", "POST"])
def email_change_confirm(request: HttpRequest, token: str) -> HttpResponse:
    """Show the change a mailed link carries; apply it on POST (mail scanners only GET)."""
    context: dict[str, object] = {"title": "Confirm your email address"}
    try:
        if len(token) > TOKEN_MAX:
            raise email_change.EmailChangeLinkInvalid(email_change.LINK_INVALID)
        if request.method == "POST":
            change = email_change.email_change_confirm(token=token)
            context |= {"title": "Email address changed", "done": True}
        else:
            change = email_change.email_change_check(token=token)
    except email_change.EmailChangeLinkInvalid as error:
        context["error"] = error.message
        return render(request, "accounts/email_change_confirm.html", context, status=400)
    context["email"] = change.email
    return render(request, "accounts/email_change_confirm.html", context)
