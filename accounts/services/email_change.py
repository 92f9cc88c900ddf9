"""Changing a signed-in person's email address, confirmed from the new address.

The edit form never tells whether an address belongs to another account: whatever was typed,
the person editing is told a link went to it. A free address gets a confirmation link; a
taken one gets a notice that someone tried, and nothing changes. The change is applied only
when the link is opened, so an address is never attached to an account that does not own it.

A link is a signed token (``django.core.signing``: the account, the new address, a digest of
the address it replaces and one of the password hash), valid for ``EMAIL_CHANGE_LINK_SECONDS``.
It works once: applying it replaces the address it was issued against, and so voids it and any
other pending link; a password change voids it too, so whoever changes a password after a
session was stolen also cancels what that session asked for. The current address is told of
every request at once, whichever address was typed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.core.mail import send_mail
from django.db import IntegrityError, router, transaction
from django.template.loader import render_to_string
from django.urls import reverse

from accounts.models import User
from accounts.services.users import AccountError

SALT = "accounts.email_change"
LINK_INVALID = "This confirmation link is invalid or has expired."


class EmailChangeLinkInvalid(AccountError):
    """The link is forged, expired, already used or overtaken by another change."""


@dataclass(frozen=True)
class EmailChange:
    """A pending change that a link would apply."""

    user_id: int
    email: str


def email_is_a_change(*, user_id: int, email: str) -> bool:
    """Tell whether ``email`` (normalised) differs from the user's address, case aside."""
    current = User.objects.values_list("email", flat=True).get(pk=user_id)
    return email.lower() != current.lower()


def _digest(email: str) -> str:
    return hashlib.sha256(email.lower().encode()).hexdigest()[:32]


def email_change_request(*, user_id: int, email: str, link_base: str) -> None:
    """Mail a confirmation link to a free address, or a notice to a taken one; change nothing.

    ``email`` must be normalised (``users.email_normalize``) and differ from the current address;
    ``link_base`` is the site's address (scheme and host) for the link.
    """
    user = User.objects.get(pk=user_id)
    taken = User.objects.filter(email__iexact=email).exclude(pk=user_id).exists()
    if taken:
        _mail(email, "email_change_taken", {})
    else:
        token = signing.dumps(
            {"u": user.pk, "e": email, "o": _digest(user.email), "p": _digest(user.password)},
            salt=SALT,
            compress=True,
        )
        link = link_base + reverse("accounts:email_change_confirm", args=[token])
        _mail(email, "email_change", {"username": user.username, "link": link})
    if user.email:
        _mail(user.email, "email_change_requested", {"username": user.username, "email": email})


def _token_load(token: str) -> tuple[EmailChange, str]:
    """Return the change a genuine, unexpired link carries and the state it was issued against.

    The state is the digests of the address it replaces and of the password hash, joined.
    """
    try:
        payload = signing.loads(token, salt=SALT, max_age=settings.EMAIL_CHANGE_LINK_SECONDS)
        user_id, email = int(payload["u"]), str(payload["e"])
        issued_against = f"{payload['o']}:{payload['p']}"
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise EmailChangeLinkInvalid(LINK_INVALID) from None
    return EmailChange(user_id=user_id, email=email), issued_against


def _state(email: str, password: str) -> str:
    return f"{_digest(email)}:{_digest(password)}"


def email_change_check(*, token: str) -> EmailChange:
    """Return the change a link would apply; raise ``EmailChangeLinkInvalid`` if it would not."""
    change, replaces = _token_load(token)
    current = User.objects.filter(pk=change.user_id, is_active=True).values_list(
        "email", "password"
    )
    if not current or _state(*current[0]) != replaces:
        # Used, or the address or the password changed since.
        raise EmailChangeLinkInvalid(LINK_INVALID)
    return change


def email_change_confirm(*, token: str) -> EmailChange:
    """Apply the change a link carries, once, and tell the old address; return the change."""
    change, replaces = _token_load(token)
    with transaction.atomic(using=router.db_for_write(User)):
        # Locked, so two clicks on one link cannot both pass the check below.
        user = User.objects.select_for_update().filter(pk=change.user_id, is_active=True).first()
        if user is None or _state(user.email, user.password) != replaces:
            raise EmailChangeLinkInvalid(LINK_INVALID)
        if User.objects.filter(email__iexact=change.email).exclude(pk=user.pk).exists():
            # Another account took the address after the link was sent: it stays theirs.
            raise EmailChangeLinkInvalid(LINK_INVALID)
        old, user.email = user.email, change.email
        try:
            with transaction.atomic(using=router.db_for_write(User)):
                user.save(update_fields=["email"])
        except IntegrityError:  # taken meanwhile (the unique index on lower(email))
            raise EmailChangeLinkInvalid(LINK_INVALID) from None
    if old:
        _mail(old, "email_changed", {"username": user.username, "email": change.email})
    return change


def _mail(to: str, template: str, context: dict[str, str]) -> None:
    subject = render_to_string(f"accounts/{template}_subject.txt", context).strip()
    body = render_to_string(f"accounts/{template}_email.txt", context)
    send_mail(subject, body, None, [to])
