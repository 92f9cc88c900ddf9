"""Accounts: sign-up, profile edits, profile pictures and passwords.

Every function raises an ``AccountError`` subclass carrying a message fit to show the user, and
names the form field it concerns; none of them knows about HTTP.
"""

from __future__ import annotations

import logging
import re
import secrets
from typing import IO

from django.contrib.auth.base_user import BaseUserManager
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.validators import URLValidator, validate_email
from django.db import IntegrityError, router, transaction
from django.db.models.functions import Lower

from accounts.models import User
from accounts.oauth.services import token_revoke_all
from accounts.services.graph import requests_approve_all
from instaclone.images import ImageRejected, process_image, too_large

logger = logging.getLogger(__name__)

USERNAME_PATTERN = re.compile(r"[A-Za-z0-9._]{1,30}")
# First path segments of our own URLs, and names people would mistake for staff or the system.
RESERVED_USERNAMES = frozenset(
    """
    about accounts activity admin administrator api app apps auth blog developer developers
    direct docs edit email explore favicon.ico feed graphql healthz help home instaclone jobs
    legal locations login logout me media moderator moderators new nobody null oauth p password
    press privacy register reset robots.txt root search security self settings signup sitemap.xml
    static staff stories support tags terms upload user users v1 v2 web www
    """.split()
)
USERNAME_RULES = "Usernames are 1-30 letters, digits, periods and underscores."
FULL_NAME_MAX = 150
BIO_MAX = 150
WEBSITE_MAX = 200
EMAIL_MAX = 254

# The caps of photo uploads (photos.services.upload): one pipeline, one set of limits.
PICTURE_MAX_BYTES = 25 * 1024 * 1024
PICTURE_MAX_PIXELS = 50_000_000
PICTURE_RENDITION = "thumbnail"  # the pipeline's 150 px square


class AccountError(Exception):
    """A request about an account that cannot be carried out, with a message for the user."""

    field: str | None = None

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if field is not None:
            self.field = field


class UsernameInvalid(AccountError):
    field = "username"


class UsernameTaken(AccountError):
    field = "username"


class EmailInvalid(AccountError):
    field = "email"


class EmailTaken(AccountError):
    field = "email"


class PasswordInvalid(AccountError):
    field = "password"


class PasswordIncorrect(AccountError):
    field = "old_password"


class ProfileInvalid(AccountError):
    """A profile field (full name, bio, website) breaks its rules; ``field`` says which."""


class PictureInvalid(AccountError):
    """A picture the image pipeline refused; ``code`` is its rejection code (ImageRejected)."""

    field = "picture"

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.code = code


def username_clean(username: str) -> str:
    """Return ``username`` if it follows the rules; raise ``UsernameInvalid`` if not."""
    if not USERNAME_PATTERN.fullmatch(username):
        raise UsernameInvalid(USERNAME_RULES)
    if username.strip(".") == "":
        # "." and ".." are path segments that browsers resolve away: the profile URL would break.
        raise UsernameInvalid("A username needs at least one letter, digit or underscore.")
    if username.lower() in RESERVED_USERNAMES:
        raise UsernameInvalid(f'The username "{username}" is reserved.')
    return username


def _username_exists(username: str) -> bool:
    # Compare on lower(username) so the case-insensitive unique index answers.
    return User.objects.alias(lower=Lower("username")).filter(lower=username.lower()).exists()


def email_normalize(email: str) -> str:
    """Return the address as it would be stored; raise ``EmailInvalid`` if it is not one."""
    email = BaseUserManager.normalize_email(email.strip())
    if not email:
        raise EmailInvalid("Enter your email address.")
    try:
        validate_email(email)
    except ValidationError:
        raise EmailInvalid("Enter a valid email address.") from None
    if len(email) > EMAIL_MAX:
        raise EmailInvalid(f"Email addresses are at most {EMAIL_MAX} characters.")
    return email


def _email_clean(email: str) -> str:
    email = email_normalize(email)
    if User.objects.filter(email__iexact=email).exists():
        raise EmailTaken("Another account uses this email address.")
    return email


def _text_clean(value: str, *, field: str, label: str, limit: int) -> str:
    value = value.strip()
    if len(value) > limit:
        raise ProfileInvalid(f"{label} must be at most {limit} characters.", field=field)
    return value


def _website_clean(website: str) -> str:
    website = website.strip()
    if not website:
        return ""
    if "://" not in website:
        website = f"https://{website}"  # people type "example.com"
    if len(website) > WEBSITE_MAX:
        raise ProfileInvalid(f"Website must be at most {WEBSITE_MAX} characters.", field="website")
    try:
        URLValidator(schemes=["http", "https"])(website)
    except ValidationError:
        raise ProfileInvalid("Enter a valid website address.", field="website") from None
    return website


def _password_check(password: str, *, user: User, field: str = "password") -> None:
    try:
        validate_password(password, user=user)
    except ValidationError as exc:
        raise PasswordInvalid(" ".join(exc.messages), field=field) from None


def user_create(*, username: str, email: str, password: str, full_name: str = "") -> User:
    """Create an account; raise ``AccountError`` for a bad or taken username, email or password."""
    username = username_clean(username)
    full_name = _text_clean(full_name, field="full_name", label="Name", limit=FULL_NAME_MAX)
    if _username_exists(username):
        raise UsernameTaken("This username is taken.")
    email = _email_clean(email)
    user = User(username=username, email=email, full_name=full_name)
    _password_check(password, user=user)
    user.set_password(password)
    try:
        with transaction.atomic(using=router.db_for_write(User)):
            user.save()
    except IntegrityError as exc:
        # Another sign-up took the name between our check and the insert.
        constraint = getattr(getattr(exc.__cause__, "diag", None), "constraint_name", "") or ""
        if "username" in constraint:
            raise UsernameTaken("This username is taken.") from None
        if "email" in constraint:
            raise EmailTaken("Another account uses this email address.") from None
        raise
    return user


def user_by_login(*, login: str) -> User | None:
    """Return the user a log-in name (username in any case, or email) designates, or None."""
    login = login.strip()
    if "@" in login:
        matches = list(User.objects.filter(email__iexact=login)[:2])
        return matches[0] if len(matches) == 1 else None
    return User.objects.alias(lower=Lower("username")).filter(lower=login.lower()).first()


def user_update_profile(
    *,
    user_id: int,
    full_name: str | None = None,
    bio: str | None = None,
    website: str | None = None,
    is_private: bool | None = None,
) -> User:
    """Change the given profile fields (None leaves a field as it is); return the user.

    The email address is not among them: it changes only through a link mailed to the new
    address (accounts/services/email_change.py), so the edit never reveals who has an address.
    """
    changes: dict[str, object] = {}
    if full_name is not None:
        changes["full_name"] = _text_clean(
            full_name, field="full_name", label="Name", limit=FULL_NAME_MAX
        )
    if bio is not None:
        changes["bio"] = _text_clean(bio, field="bio", label="Bio", limit=BIO_MAX)
    if website is not None:
        changes["website"] = _website_clean(website)
    if is_private is not None:
        changes["is_private"] = is_private
    with transaction.atomic(using=router.db_for_write(User)):
        user = User.objects.select_for_update().get(pk=user_id)
        went_public = user.is_private and changes.get("is_private") is False
        for name, value in changes.items():
            setattr(user, name, value)
        if changes:
            user.save(update_fields=list(changes))
        if went_public:
            # Nobody is left waiting on an account that no longer asks.
            transaction.on_commit(
                lambda: requests_approve_all(owner_id=user_id), using=router.db_for_write(User)
            )
    return user


def _read_capped(upload: IO[bytes]) -> bytes:
    """Return the upload's bytes; refuse one over the cap without reading it all."""
    upload.seek(0)
    data = upload.read(PICTURE_MAX_BYTES + 1)
    if len(data) > PICTURE_MAX_BYTES:
        # Uploaded files know their size; the message gives it, not the bytes read.
        size = max(len(data), getattr(upload, "size", None) or 0)
        raise too_large(size, PICTURE_MAX_BYTES)
    return data


def picture_render(*, upload: IO[bytes]) -> bytes:
    """Return the upload as a 150 px square JPEG, upright, without metadata; or PictureInvalid."""
    try:
        processed = process_image(
            _read_capped(upload),
            renditions=(PICTURE_RENDITION,),
            max_bytes=PICTURE_MAX_BYTES,
            max_pixels=PICTURE_MAX_PIXELS,
        )
    except ImageRejected as rejected:
        raise PictureInvalid(rejected.message, code=rejected.code) from None
    return processed.renditions[0].data


def _delete_quietly(key: str) -> None:
    try:
        default_storage.delete(key)
    except Exception:  # an orphaned object costs storage only; the profile is already right
        logger.exception("could not delete old profile picture %s", key)


def user_set_profile_picture(*, user_id: int, upload: IO[bytes]) -> str:
    """Store a new 150 px profile picture and drop the old one; return the new storage key."""
    content = picture_render(upload=upload)
    key = default_storage.save(
        f"profiles/{user_id}/{secrets.token_hex(16)}.jpg", ContentFile(content)
    )
    try:
        with transaction.atomic(using=router.db_for_write(User)):
            user = User.objects.select_for_update().get(pk=user_id)
            old_key = user.profile_picture
            user.profile_picture = key
            user.save(update_fields=["profile_picture"])
            if old_key:
                # Only once the new key is committed may the old object go.
                transaction.on_commit(lambda: _delete_quietly(old_key))
    except BaseException:
        _delete_quietly(key)
        raise
    return key


def user_change_password(*, user_id: int, old_password: str, new_password: str) -> User:
    """Replace the password after checking the old one, revoke every token; return the user.

    Other web sessions end on their next request (Django binds a session to the password
    hash); the caller renews its own with ``update_session_auth_hash``.
    """
    with transaction.atomic(using=router.db_for_write(User)):
        user = User.objects.select_for_update().get(pk=user_id)
        if not user.check_password(old_password):
            raise PasswordIncorrect("Your old password was entered incorrectly.")
        _password_check(new_password, user=user, field="new_password1")
        user.set_password(new_password)
        user.save(update_fields=["password"])
        # Whoever had the old password may hold a token made with it.
        token_revoke_all(user_id=user_id)
    return user


def user_set_password(*, user_id: int, new_password: str | None) -> User:
    """Set a password without the old one (a reset link, an admin), or none; revoke every token.

    ``None`` leaves the account with no usable password. Other web sessions end on their next
    request, as after ``user_change_password``.
    """
    with transaction.atomic(using=router.db_for_write(User)):
        user = User.objects.select_for_update().get(pk=user_id)
        if new_password is None:
            user.set_unusable_password()
        else:
            _password_check(new_password, user=user, field="new_password1")
            user.set_password(new_password)
        user.save(update_fields=["password"])
        token_revoke_all(user_id=user_id)
    return user
