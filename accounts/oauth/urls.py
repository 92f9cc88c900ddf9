"""OAuth2 endpoints, mounted at /oauth/ (v1's paths; authorize with or without the slash)."""

from django.urls import path, re_path

from accounts.oauth.views import AccessTokenView, AuthorizeView, RevokeView

app_name = "oauth"

urlpatterns = [
    path("access_token", AccessTokenView.as_view(), name="access-token"),
    re_path(r"^authorize/?$", AuthorizeView.as_view(), name="authorize"),
    path("revoke", RevokeView.as_view(), name="revoke"),
]
