from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from accounts.pages import urls as graph_pages
from feeds import web as feeds_web
from instaclone.api.site import api
from instaclone.views import healthz
from photos import web as photos_web
from photos.views import media_file, permalink, permalink_action, tag_page

urlpatterns = [
    path("", feeds_web.home_feed, name="home"),
    path("healthz", healthz, name="healthz"),
    # The admin's own form checks the old password unlimited and leaves tokens alive; staff
    # change theirs on the site's form, which has the log-in limits and revokes tokens.
    path(
        "admin/password_change/",
        RedirectView.as_view(pattern_name="accounts:change_password"),
    ),
    path("admin/", admin.site.urls),
    path("v1/", api.urls),
    path("oauth/", include("accounts.oauth.urls")),
    path("accounts/", include("accounts.web.urls")),
    path("accounts/", include(graph_pages.urlpatterns)),
    path("p/<str:code>/", permalink, name="permalink"),
    path("p/<str:code>/act/", permalink_action, name="permalink_action"),
    path("tags/<str:name>/", tag_page, name="tag"),
    path("media/<path:key>", media_file, name="media_file"),
    path("upload/", photos_web.upload, name="upload"),
    path("upload/post/", photos_web.upload_post, name="upload_post"),
    path("explore/", feeds_web.explore, name="explore"),
    path("<str:username>/", photos_web.profile, name="profile"),
    *graph_pages.profile_patterns,
]
