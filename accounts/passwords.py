"""Revoke a person's app tokens whenever their password changes, through whichever door.

The services that change passwords revoke tokens themselves, in their transaction. This catches
the doors that call ``set_password()`` and ``save()`` without them — ``manage.py
changepassword`` (Django's own command, which an app cannot override while
``django.contrib.auth`` comes first in ``INSTALLED_APPS``), a shell, a later form — through the
one hook Django calls on every such save: ``password_changed()`` of each entry of
``AUTH_PASSWORD_VALIDATORS``. It validates nothing.
"""

from __future__ import annotations

from typing import Any

from accounts.oauth.services import token_revoke_all


class RevokeTokensOnPasswordChange:
    """A password 'validator' whose ``password_changed`` revokes every OAuth token of the user."""

    def validate(self, password: str, user: Any = None) -> None:
        """Accept every password: the rules are the other validators'."""

    def password_changed(self, password: str, user: Any = None) -> None:
        """Revoke the user's tokens (Django calls this from ``save()`` after ``set_password``)."""
        if user is not None and user.pk is not None:
            token_revoke_all(user_id=user.pk)

    def get_help_text(self) -> str:
        """Say what a change does to the apps signed in with the old password."""
        return "Changing your password signs you out of every app."
