"""User search by prefix of username or full name."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from accounts.selectors.users import SEARCH_MAX, picture_url, user_search
from accounts.web.forms import SearchForm


@require_safe
def search(request: HttpRequest) -> HttpResponse:
    """Show the people whose username or name starts with the query, minus blocked ones."""
    form = SearchForm(request.GET or None)
    query = form.cleaned_data["q"] if form.is_valid() else ""
    viewer_id = request.user.pk if request.user.is_authenticated else None
    people = user_search(query=query, count=SEARCH_MAX, viewer_id=viewer_id) if query else []
    results = [
        {
            "username": p.username,
            "full_name": p.full_name,
            "picture_url": picture_url(p.profile_picture),
        }
        for p in people
    ]
    return render(
        request, "accounts/search.html", {"form": form, "results": results, "query": query}
    )
