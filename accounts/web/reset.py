"""Password reset by email, answering alike whether or not the address has an account."""

from __future__ import annotations

import logging
import time
from typing import Any

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import SetPasswordForm
from django.http import HttpRequest, HttpResponse
from django.urls import reverse_lazy

from accounts.limits import (
    LimiterUnavailable,
    LimitExceeded,
    clear_login_failures,
    count_password_reset_attempt,
)
from accounts.models import User
from accounts.services.users import user_set_password
from accounts.web.refusals import refusal
from instaclone.clientip import client_ip

logger = logging.getLogger(__name__)


class PasswordResetRequestView(auth_views.PasswordResetView):
    """Mail a reset link to the address if it has an account; always answer the same."""

    template_name = "accounts/password_reset.html"
    email_template_name = "accounts/password_reset_email.txt"
    subject_template_name = "accounts/password_reset_subject.txt"
    success_url = reverse_lazy("accounts:password_reset_done")
    title = "Reset your password"

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        """Count the attempt, then send (or not) and pad to a constant minimum time."""
        started = time.monotonic()
        try:
            count_password_reset_attempt(email=request.POST.get("email", ""), ip=client_ip(request))
        except (LimitExceeded, LimiterUnavailable) as error:
            return refusal(request, error, action="Password reset")
        response = super().post(request, *args, **kwargs)
        # Django sends mail only for known addresses; rendering and sending take time that
        # would tell an observer which addresses have accounts. Pad every answer to one floor.
        remaining = settings.PASSWORD_RESET_MIN_SECONDS - (time.monotonic() - started)
        if remaining > 0:
            time.sleep(remaining)
        else:
            logger.warning("password reset took %.2f s, over the padding floor", -remaining)
        return response


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "accounts/password_reset_done.html"
    title = "Check your email"


class ResetPasswordForm(SetPasswordForm):  # type: ignore[type-arg]  # generic in stubs only
    """Django's new-password form, saved through the service that also revokes every token."""

    def save(self, commit: bool = True) -> User:
        """Set the password and revoke the account's tokens."""
        user: User = user_set_password(
            user_id=self.user.pk, new_password=self.cleaned_data["new_password1"]
        )
        self.user = user
        return user


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """Set a new password from a mailed link, and lift any log-in lockout on the account."""

    form_class = ResetPasswordForm
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password_reset_complete")
    title = "Choose a new password"

    def form_valid(self, form: Any) -> HttpResponse:
        """Save the password, then forget the account's failed log-ins."""
        response = super().form_valid(form)
        try:
            clear_login_failures(username=form.user.username)
        except LimiterUnavailable:
            logger.warning("could not clear log-in failures for user %s", form.user.pk)
        return response


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "accounts/password_reset_complete.html"
    title = "Password changed"
