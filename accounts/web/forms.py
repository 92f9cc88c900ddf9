"""Forms of the account pages: they check shape (present, not too long); services check rules."""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import HttpRequest, QueryDict

from accounts.services.users import BIO_MAX, EMAIL_MAX, FULL_NAME_MAX, WEBSITE_MAX

# Long enough for any passphrase, short enough that hashing it cannot be used to burn CPU.
PASSWORD_MAX = 256


def posted(request: HttpRequest) -> QueryDict | None:
    """Return the POST data to bind a form to; None on GET (an empty POST still binds)."""
    return request.POST if request.method == "POST" else None


def _password(label: str, autocomplete: str) -> forms.CharField:
    return forms.CharField(
        label=label,
        strip=False,
        max_length=PASSWORD_MAX,
        widget=forms.PasswordInput(attrs={"autocomplete": autocomplete}),
    )


class SignupForm(forms.Form):
    email = forms.EmailField(max_length=EMAIL_MAX)
    full_name = forms.CharField(label="Full name", max_length=FULL_NAME_MAX, required=False)
    username = forms.CharField(
        max_length=30, widget=forms.TextInput(attrs={"autocomplete": "username"})
    )
    password = _password("Password", "new-password")


class LoginForm(forms.Form):
    login = forms.CharField(
        label="Username or email",
        max_length=EMAIL_MAX,
        widget=forms.TextInput(attrs={"autocomplete": "username", "autofocus": True}),
    )
    password = _password("Password", "current-password")


class ProfileForm(forms.Form):
    full_name = forms.CharField(label="Name", max_length=FULL_NAME_MAX, required=False)
    bio = forms.CharField(
        max_length=BIO_MAX, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    website = forms.CharField(max_length=WEBSITE_MAX, required=False)
    email = forms.EmailField(max_length=EMAIL_MAX)
    is_private = forms.BooleanField(
        label="Private account",
        required=False,
        help_text="Only people you approve can see your photos.",
    )
    # A plain file field: the service decodes the image itself, with bomb and size checks.
    picture = forms.FileField(label="Profile picture", required=False)
    # Asked only when the email changes: a session alone (a borrowed or stolen one) must not be
    # able to move the account's address and then reset the password through it.
    password = forms.CharField(
        label="Current password",
        required=False,
        strip=False,
        max_length=PASSWORD_MAX,
        help_text="Needed to change your email address.",
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class PasswordChangeForm(forms.Form):
    old_password = _password("Old password", "current-password")
    new_password1 = _password("New password", "new-password")
    new_password2 = _password("New password again", "new-password")

    def clean(self) -> dict[str, Any]:
        """Check that the new password was typed the same twice."""
        cleaned = super().clean() or {}
        first, second = cleaned.get("new_password1"), cleaned.get("new_password2")
        if first and second and first != second:
            self.add_error("new_password2", "The two new passwords do not match.")
        return cleaned


class SearchForm(forms.Form):
    q = forms.CharField(label="Search", max_length=FULL_NAME_MAX, required=False)
