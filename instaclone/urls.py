from django.contrib import admin
from django.urls import include, path

from instaclone.api.site import api
from instaclone.views import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("v1/", api.urls),
    path("oauth/", include("accounts.oauth.urls")),
    path("accounts/", include("accounts.web.urls")),
]
