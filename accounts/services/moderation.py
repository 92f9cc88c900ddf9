"""Moderation: deactivate (ban) and reactivate accounts, each change written to the audit log."""

from __future__ import annotations

import logging
from collections.abc import Callable
from importlib import import_module

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.models import Session
from django.db import transaction
from django.utils import timezone

from accounts.models import ModeratorAction, User
from accounts.models.moderation import REASON_MAX_LENGTH, ModerationAction, ModerationTarget
from instaclone.sharding.topology import USERS_ALIAS

logger = logging.getLogger(__name__)

MODERATE_PERMISSION = "accounts.change_user"


class ModerationError(Exception):
    """A moderation request that cannot be done; the message is for the moderator."""


class ReasonInvalid(ModerationError):
    """The reason is missing or too long."""


class ModeratorNotAllowed(ModerationError):
    """The acting user may not moderate."""


class TargetNotFound(ModerationError):
    """The account to moderate does not exist."""


class TargetProtected(ModerationError):
    """The account is the moderator's own, or a staff or superuser account."""


class TargetUnchanged(ModerationError):
    """The account is already in the state asked for."""


def user_deactivate(*, user_id: int, moderator_id: int, reason: str) -> int:
    """Deactivate an account with a reason, log it, then revoke its tokens and sessions.

    Return the ID of the audit row.
    """
    reason = _clean_reason(reason)
    with transaction.atomic(using=USERS_ALIAS):
        target = _locked_target(user_id=user_id, moderator_id=moderator_id)
        if not target.is_active:
            raise TargetUnchanged(f"{target.username} is already deactivated")
        target.is_active = False
        target.ban_reason = reason
        target.save(update_fields=["is_active", "ban_reason"])
        action = _log(moderator_id, ModerationAction.USER_DEACTIVATE, user_id, reason)
        # robust: the ban stands even if revoking fails; ModelBackend already refuses the
        # sessions of inactive users, and the failure is logged.
        transaction.on_commit(
            lambda: user_credentials_revoke(user_id=user_id), using=USERS_ALIAS, robust=True
        )
    logger.info("moderator %s deactivated user %s (action %s)", moderator_id, user_id, action.id)
    return action.id


def user_reactivate(*, user_id: int, moderator_id: int, reason: str) -> int:
    """Reactivate a deactivated account with a reason and log it; return the audit row's ID."""
    reason = _clean_reason(reason)
    with transaction.atomic(using=USERS_ALIAS):
        target = _locked_target(user_id=user_id, moderator_id=moderator_id)
        if target.is_active:
            raise TargetUnchanged(f"{target.username} is already active")
        target.is_active = True
        target.ban_reason = ""
        target.save(update_fields=["is_active", "ban_reason"])
        action = _log(moderator_id, ModerationAction.USER_REACTIVATE, user_id, reason)
    logger.info("moderator %s reactivated user %s (action %s)", moderator_id, user_id, action.id)
    return action.id


def user_credentials_revoke(*, user_id: int) -> None:
    """Revoke every OAuth token and log out every session of a user."""
    _token_revoker()(user_id=user_id)
    user_sessions_delete(user_id=user_id)


def user_sessions_delete(*, user_id: int) -> int:
    """Delete a user's sessions from the database and the cache; return how many.

    Sessions do not record their user in a column, so this decodes every unexpired one. Bans are
    rare enough for that; a session model with a user column would make it an index lookup.
    """
    engine = import_module(settings.SESSION_ENGINE).SessionStore
    wanted = str(user_id)
    keys = [
        session.session_key
        for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator(2000)
        if str(session.get_decoded().get(SESSION_KEY)) == wanted
    ]
    for key in keys:
        # The configured store's delete() clears the cache entry of cached_db too.
        engine(session_key=key).delete()
    return len(keys)


def _clean_reason(reason: str) -> str:
    cleaned = reason.strip()
    if not cleaned:
        raise ReasonInvalid("a reason is required")
    if len(cleaned) > REASON_MAX_LENGTH:
        raise ReasonInvalid(f"the reason must be at most {REASON_MAX_LENGTH} characters")
    return cleaned


def _locked_target(*, user_id: int, moderator_id: int) -> User:
    """Check the moderator and lock the target's row; the caller holds the transaction."""
    moderator = User.objects.filter(id=moderator_id).first()
    if moderator is None or not (
        moderator.is_active and moderator.is_staff and moderator.has_perm(MODERATE_PERMISSION)
    ):
        raise ModeratorNotAllowed("you may not moderate accounts")
    if user_id == moderator_id:
        raise TargetProtected("you cannot moderate your own account")
    target = User.objects.select_for_update().filter(id=user_id).first()
    if target is None:
        raise TargetNotFound(f"there is no user {user_id}")
    if target.is_staff or target.is_superuser:
        raise TargetProtected(f"{target.username} is a staff account; ask a superuser")
    return target


def _log(moderator_id: int, action: str, user_id: int, reason: str) -> ModeratorAction:
    return ModeratorAction.objects.create(
        moderator_id=moderator_id,
        action=action,
        target_type=ModerationTarget.USER,
        target_id=user_id,
        reason=reason,
    )


def _token_revoker() -> Callable[..., object]:
    try:
        from accounts.oauth.services import token_revoke_all
    except ImportError:
        # Until accounts.oauth provides it: delete the toolkit's rows directly.
        return _oauth_tokens_delete
    return token_revoke_all  # type: ignore[no-any-return]


def _oauth_tokens_delete(*, user_id: int) -> None:
    from oauth2_provider.models import (
        get_access_token_model,
        get_grant_model,
        get_id_token_model,
        get_refresh_token_model,
    )

    with transaction.atomic(using=USERS_ALIAS):
        for model in (
            get_refresh_token_model(),
            get_access_token_model(),
            get_id_token_model(),
            get_grant_model(),
        ):
            model.objects.filter(user_id=user_id).delete()
