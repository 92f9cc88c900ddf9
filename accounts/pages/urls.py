"""Graph pages: the relationship form target and pending requests under /accounts/."""

from __future__ import annotations

from django.urls import URLPattern, path

from accounts.pages import views

urlpatterns: list[URLPattern] = [
    path("requests/", views.requests, name="graph_requests"),
    path("relationship/<int:user_id>/", views.relationship_action, name="graph_relationship"),
]

# Mounted last at the site root: usernames never collide with the reserved first segments.
# The profile page itself is the photos app's (it adds the grid to this app's header).
profile_patterns: list[URLPattern] = [
    path("<str:username>/followers/", views.followers, name="profile_followers"),
    path("<str:username>/following/", views.following, name="profile_following"),
]
