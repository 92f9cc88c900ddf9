from django.contrib import admin
from django.urls import include, path

from accounts.pages import urls as graph_pages
from instaclone.api.site import api
from instaclone.views import healthz, home

urlpatterns = [
    path("", home, name="home"),
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("v1/", api.urls),
    path("oauth/", include("accounts.oauth.urls")),
    path("accounts/", include("accounts.web.urls")),
    path("accounts/", include(graph_pages.urlpatterns)),
    *graph_pages.profile_patterns,
]
