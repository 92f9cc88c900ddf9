"""Sign up, log in and log out."""

from __future__ import annotations

from django.conf import settings
from django.contrib import auth
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from accounts.backends import LimitedModelBackend
from accounts.limits import LimiterUnavailable, LimitExceeded, count_signup_attempt
from accounts.services.users import AccountError, user_create
from accounts.web.forms import LoginForm, SignupForm, posted
from accounts.web.refusals import refusal
from instaclone.clientip import client_ip

# login() needs to know which backend vouched for a user we created ourselves.
SIGNUP_BACKEND = f"{LimitedModelBackend.__module__}.{LimitedModelBackend.__qualname__}"
LOGIN_FAILED = "The username or email and password do not match an active account."


def _next_url(request: HttpRequest) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return settings.LOGIN_REDIRECT_URL


@sensitive_post_parameters("password")
@never_cache
@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    """Show the sign-up form; create the account and log it in."""
    form = SignupForm(posted(request))
    if request.method == "POST":
        try:
            count_signup_attempt(ip=client_ip(request))
        except (LimitExceeded, LimiterUnavailable) as error:
            return refusal(request, error, action="Signing up")
        if form.is_valid():
            try:
                user = user_create(**form.cleaned_data)
            except AccountError as error:
                form.add_error(error.field, error.message)
            else:
                auth.login(request, user, backend=SIGNUP_BACKEND)
                return redirect(settings.LOGIN_REDIRECT_URL)
    return render(request, "accounts/signup.html", {"form": form})


@sensitive_post_parameters("password")
@never_cache
@require_http_methods(["GET", "POST"])
def login(request: HttpRequest) -> HttpResponse:
    """Show the log-in form; log in by username or email, within the attempt limits."""
    form = LoginForm(posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            # The backend applies the attempt limits and accepts a username or an email.
            user = auth.authenticate(
                request,
                username=form.cleaned_data["login"],
                password=form.cleaned_data["password"],
            )
        except (LimitExceeded, LimiterUnavailable) as error:
            return refusal(request, error, action="Logging in")
        if user is None:
            form.add_error(None, LOGIN_FAILED)
        else:
            auth.login(request, user)
            return HttpResponseRedirect(_next_url(request))
    next_url = request.POST.get("next") or request.GET.get("next", "")
    return render(request, "accounts/login.html", {"form": form, "next": next_url})


@require_POST
def logout(request: HttpRequest) -> HttpResponse:
    """Log out and go to the log-in page."""
    auth.logout(request)
    return redirect(settings.LOGIN_URL)
