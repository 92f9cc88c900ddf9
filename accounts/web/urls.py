"""Account pages under /accounts/."""

from __future__ import annotations

from django.urls import URLPattern, path

from accounts.web import apps, profile, reset, search, signin

app_name = "accounts"

urlpatterns: list[URLPattern] = [
    path("signup/", signin.signup, name="signup"),
    path("login/", signin.login, name="login"),
    path("logout/", signin.logout, name="logout"),
    path("edit/", profile.edit_profile, name="edit_profile"),
    path("password/change/", profile.change_password, name="change_password"),
    path("email/confirm/<str:token>/", profile.email_change_confirm, name="email_change_confirm"),
    path("password/reset/", reset.PasswordResetRequestView.as_view(), name="password_reset"),
    path(
        "password/reset/sent/",
        reset.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "password/reset/<uidb64>/<token>/",
        reset.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "password/reset/complete/",
        reset.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path("search/", search.search, name="search"),
    path("apps/", apps.apps_list, name="apps"),
    path("apps/<int:application_id>/revoke/", apps.app_revoke, name="app_revoke"),
]
