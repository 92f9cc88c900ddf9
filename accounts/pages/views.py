"""Profile pages and the follow graph in the browser: header, lists, requests, actions."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST, require_safe

from accounts.models import User
from accounts.models.graph import EdgeStatus
from accounts.selectors.graph import (
    access,
    counts_for,
    followers_page,
    follows_page,
    relationship,
)
from accounts.selectors.users import picture_url, users_by_id
from accounts.services.graph import ACTIONS, GraphError, relationship_act
from instaclone.api.params import MAX_ID

PAGE_SIZE = 30


def _viewer_id(request: HttpRequest) -> int | None:
    return request.user.pk if request.user.is_authenticated else None


def _owner(username: str, viewer_id: int | None) -> tuple[User, Any]:
    """Return the profile's owner and what the viewer may see; 404 when hidden or absent."""
    owner = User.objects.filter(username__iexact=username, is_active=True).first()
    if owner is None:
        raise Http404("no such account")
    seen = access(viewer_id=viewer_id, owner_id=owner.id, owner_is_private=owner.is_private)
    if not seen.profile:
        raise Http404("no such account")
    return owner, seen


def _cursor(request: HttpRequest) -> int | None:
    raw = request.GET.get("max_id", "")
    if not raw:
        return None
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 19:  # isdigit alone takes "²"
        raise Http404("bad cursor")
    return int(raw)


def _people(edges: list[tuple[int, int]]) -> list[dict[str, str]]:
    users = users_by_id(user_id for _, user_id in edges)
    return [
        {
            "username": users[user_id].username,
            "full_name": users[user_id].full_name,
            "picture_url": picture_url(users[user_id].profile_picture),
            "id": str(user_id),
        }
        for _, user_id in edges
        if user_id in users
    ]


def profile_context(request: HttpRequest, username: str) -> dict[str, Any]:
    """Return what a profile header shows; 404 when the account is absent or hidden."""
    viewer_id = _viewer_id(request)
    owner, seen = _owner(username, viewer_id)
    rel = None
    if viewer_id is not None and viewer_id != owner.id:
        rel = relationship(
            viewer_id=viewer_id, target_id=owner.id, target_is_private=owner.is_private
        )
    return {
        "owner": owner,
        "picture_url": picture_url(owner.profile_picture),
        "counts": counts_for([owner.id])[owner.id],
        "can_see_content": seen.content,
        "relationship": rel,
        "is_self": viewer_id == owner.id,
    }


@require_safe
def profile(request: HttpRequest, username: str) -> HttpResponse:
    """Show a profile header: picture, names, bio, counts and the follow button."""
    return render(request, "accounts/graph/profile.html", profile_context(request, username))


def _edge_list(request: HttpRequest, username: str, *, followers: bool) -> HttpResponse:
    viewer_id = _viewer_id(request)
    owner, seen = _owner(username, viewer_id)
    if not seen.content:
        return render(request, "accounts/graph/private.html", {"owner": owner}, status=403)
    max_id = _cursor(request)
    if followers:
        edges = followers_page(
            user_id=owner.id, count=PAGE_SIZE + 1, max_id=max_id, viewer_id=viewer_id
        )
    else:
        edges = follows_page(
            user_id=owner.id, count=PAGE_SIZE + 1, max_id=max_id, viewer_id=viewer_id
        )
    more = len(edges) > PAGE_SIZE
    edges = edges[:PAGE_SIZE]
    context = {
        "owner": owner,
        "title": "Followers" if followers else "Following",
        "people": _people(edges),
        "next_max_id": str(edges[-1][0]) if more else "",
    }
    return render(request, "accounts/graph/people.html", context)


@require_safe
def followers(request: HttpRequest, username: str) -> HttpResponse:
    """List an account's followers, newest first."""
    return _edge_list(request, username, followers=True)


@require_safe
def following(request: HttpRequest, username: str) -> HttpResponse:
    """List the accounts someone follows, newest first."""
    return _edge_list(request, username, followers=False)


@login_required
@require_safe
def requests(request: HttpRequest) -> HttpResponse:
    """List the follow requests waiting for the signed-in user's answer."""
    edges = followers_page(
        user_id=request.user.pk,
        count=PAGE_SIZE + 1,
        max_id=_cursor(request),
        status=EdgeStatus.REQUESTED,
        viewer_id=request.user.pk,
    )
    more = len(edges) > PAGE_SIZE
    edges = edges[:PAGE_SIZE]
    context = {"people": _people(edges), "next_max_id": str(edges[-1][0]) if more else ""}
    return render(request, "accounts/graph/requests.html", context)


@login_required
@require_POST
def relationship_action(request: HttpRequest, user_id: int) -> HttpResponse:
    """Follow, unfollow, block, unblock, approve or ignore; then go back where the form was."""
    if not 0 < user_id <= MAX_ID:  # the path takes any number; Postgres IDs are bigint
        raise Http404("no such account")
    action = request.POST.get("action", "")
    if action not in ACTIONS:
        return render(
            request,
            "accounts/refused.html",
            {"message": f"Unknown action. Choose one of: {', '.join(ACTIONS)}."},
            status=400,
        )
    try:
        relationship_act(actor_id=request.user.pk, target_id=user_id, action=action)
    except GraphError as exc:
        messages.error(request, str(exc))
    nxt = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(nxt, allowed_hosts={request.get_host()}):
        nxt = "/"
    return HttpResponseRedirect(nxt)
