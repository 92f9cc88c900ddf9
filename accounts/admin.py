"""The admin for staff: find users, ban and reactivate them with a reason, read the audit log.

Moderators (staff in the Moderators group) see users and act on them only through the audited
actions; the change form is read-only for everyone but superusers. Sharded data (counts) is read
through selectors; no sharded model is registered here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import AdminPasswordChangeForm
from django.db import DatabaseError, models
from django.db.models import Case, OuterRef, Q, QuerySet, Subquery, When
from django.db.models.functions import Lower
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html

from accounts.models import ModeratorAction, User
from accounts.models.moderation import REASON_MAX_LENGTH, ModerationTarget
from accounts.services.moderation import ModerationError, user_deactivate, user_reactivate
from accounts.services.users import user_set_password

logger = logging.getLogger(__name__)

# Accounts one action may touch; each is its own transaction and token revocation.
MAX_USERS_PER_ACTION = 100
NO_VALUE = "—"

ModerationService = Callable[..., int]


class ModerationReasonForm(forms.Form):
    """The reason a moderator gives for an action."""

    reason = forms.CharField(
        max_length=REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4, "cols": 60}),
        help_text="Written to the audit log; for a ban, also kept on the account.",
    )


class AdminPasswordForm(AdminPasswordChangeForm):  # type: ignore[type-arg]  # generic in stubs only
    """Django's admin password form, saved through the service that also revokes every token."""

    def save(self, commit: bool = True) -> User:
        """Set (or disable) the password and revoke the account's tokens."""
        usable = self.cleaned_data["set_usable_password"]
        # The admin view renews the acting session from self.user when it is the same account.
        user: User = user_set_password(
            user_id=self.user.pk, new_password=self.cleaned_data["password1"] if usable else None
        )
        self.user = user
        return user


@admin.register(User)
class UserAdmin(BaseUserAdmin):  # type: ignore[type-arg]  # admin classes are not generic at runtime
    """Users for staff; changes to who may sign in go through the audited actions."""

    list_display = ("username", "full_name", "email", "is_active", "is_private", "date_joined")
    list_filter = ("is_active", "is_private", "is_staff", "is_superuser", "groups")
    # Searching is done by get_search_results; a non-empty tuple shows the search box.
    search_fields = ("username",)
    search_help_text = "Start of a username or full name; an address with @ searches emails."
    ordering = ("-id",)
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    actions = ("deactivate_with_reason", "reactivate_with_reason")
    change_password_form = AdminPasswordForm
    readonly_fields = ("is_active", "ban_reason", "counts", "moderation_log", "last_login")
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        ("Profile", {"fields": ("full_name", "email", "bio", "website", "profile_picture")}),
        ("Privacy", {"fields": ("is_private",)}),
        ("Moderation", {"fields": ("is_active", "ban_reason", "counts", "moderation_log")}),
        (
            "Permissions",
            {"fields": ("is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        ("Important dates", {"fields": ("last_login", "date_joined")}),
    )

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None or request.user.is_superuser:
            return fieldsets
        # Moderators have no use for the password summary.
        return [
            (name, {**options, "fields": [f for f in options["fields"] if f != "password"]})
            for name, options in fieldsets
        ]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Moderators need "change" for the actions, but may not edit an account's fields,
        # groups, permissions or password: for them every account opens read-only.
        if obj is not None and not request.user.is_superuser:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Deleting the row would strand the account's photos and edges on the shards.
        return False

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[User], search_term: str
    ) -> tuple[QuerySet[User], bool]:
        term = search_term.strip()
        if not term:
            return queryset, False
        if "@" in term:
            return queryset.filter(email__icontains=term), False
        prefix = term.lower()
        # lower(column) LIKE 'prefix%' uses the user_*_prefix indexes.
        matches = queryset.alias(
            username_lower=Lower("username"), full_name_lower=Lower("full_name")
        ).filter(Q(username_lower__startswith=prefix) | Q(full_name_lower__startswith=prefix))
        return matches, False

    @admin.display(description="counts")
    def counts(self, obj: User) -> str:
        if obj.pk is None:
            return NO_VALUE
        try:
            from accounts.selectors.graph import user_counts
        except ImportError:
            return NO_VALUE
        try:
            counts = user_counts(user_id=obj.pk)
        except DatabaseError:
            logger.exception("counts of user %s unavailable", obj.pk)
            return "unavailable (shard down)"
        return (
            f"{counts['media']} media, {counts['follows']} follows, "
            f"{counts['followed_by']} followed by"
        )

    @admin.display(description="moderation log")
    def moderation_log(self, obj: User) -> str:
        if obj.pk is None:
            return NO_VALUE
        entries = ModeratorAction.objects.filter(
            target_type=ModerationTarget.USER, target_id=obj.pk
        ).count()
        url = reverse("admin:accounts_moderatoraction_changelist")
        return format_html(
            '<a href="{}?target_type={}&amp;target_id={}">{} entries</a>',
            url,
            ModerationTarget.USER,
            obj.pk,
            entries,
        )

    @admin.action(description="Deactivate (ban) with a reason", permissions=["change"])
    def deactivate_with_reason(
        self, request: HttpRequest, queryset: QuerySet[User]
    ) -> TemplateResponse | None:
        return self._moderate(request, queryset, user_deactivate, "Deactivate", "Deactivated")

    @admin.action(description="Reactivate with a reason", permissions=["change"])
    def reactivate_with_reason(
        self, request: HttpRequest, queryset: QuerySet[User]
    ) -> TemplateResponse | None:
        return self._moderate(request, queryset, user_reactivate, "Reactivate", "Reactivated")

    def _moderate(
        self,
        request: HttpRequest,
        queryset: QuerySet[User],
        service: ModerationService,
        verb: str,
        done_verb: str,
    ) -> TemplateResponse | None:
        """Ask for the reason, then call the service once per selected account."""
        targets = list(queryset.order_by("username").values_list("id", "username"))
        if len(targets) > MAX_USERS_PER_ACTION:
            self.message_user(
                request,
                f"Select at most {MAX_USERS_PER_ACTION} accounts at a time.",
                messages.ERROR,
            )
            return None
        form = ModerationReasonForm(request.POST if "apply" in request.POST else None)
        if not form.is_valid():
            return self._reason_page(request, targets, form, verb)
        done: list[str] = []
        for user_id, username in targets:
            try:
                service(
                    user_id=user_id,
                    moderator_id=request.user.pk,
                    reason=form.cleaned_data["reason"],
                )
            except ModerationError as error:
                self.message_user(request, f"Skipped {username}: {error}.", messages.ERROR)
            else:
                done.append(username)
        if done:
            self.message_user(request, f"{done_verb} {len(done)}: {', '.join(done)}.")
        return None

    def _reason_page(
        self,
        request: HttpRequest,
        targets: list[tuple[int, str]],
        form: ModerationReasonForm,
        verb: str,
    ) -> TemplateResponse:
        context = {
            **self.admin_site.each_context(request),
            "title": f"{verb} accounts",
            "verb": verb,
            "opts": self.opts,
            "targets": targets,
            "form": form,
            "action": request.POST.get("action", ""),
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
            "media": self.media,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/accounts/user/moderation_reason.html", context)


@admin.register(ModeratorAction)
class ModeratorActionAdmin(admin.ModelAdmin):  # type: ignore[type-arg]  # as above
    """The audit log, read-only for everyone: rows are only ever added by the services."""

    list_display = ("created_at", "moderator", "action", "target", "reason")
    list_filter = ("action", "target_type")
    date_hierarchy = "created_at"
    ordering = ("-created_at", "-id")
    actions = None

    def get_queryset(self, request: HttpRequest) -> QuerySet[ModeratorAction]:
        def username_of(column: str) -> Subquery:
            return Subquery(User.objects.filter(pk=OuterRef(column)).values("username")[:1])

        queryset: QuerySet[ModeratorAction] = (
            super()
            .get_queryset(request)
            .annotate(
                moderator_username=username_of("moderator_id"),
                target_username=Case(
                    When(
                        target_type=ModerationTarget.USER,
                        then=username_of("target_id"),
                    )
                ),
            )
        )
        return queryset

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="moderator")
    def moderator(self, obj: ModeratorAction) -> str:
        username = getattr(obj, "moderator_username", None)
        return f"{username} ({obj.moderator_id})" if username else str(obj.moderator_id)

    @admin.display(description="target")
    def target(self, obj: ModeratorAction) -> str:
        username = getattr(obj, "target_username", None)
        if username is None:
            return f"{obj.target_type} {obj.target_id}"
        url = reverse("admin:accounts_user_change", args=[obj.target_id])
        return format_html('<a href="{}">{} ({})</a>', url, username, obj.target_id)
