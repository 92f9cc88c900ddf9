"""Sign up, log in and follow through nginx and Gunicorn: the web pages and the v1 API."""

from __future__ import annotations

import os

import pytest
from django.conf import settings

from accounts.models import User
from accounts.selectors.graph import user_counts

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        os.environ.get("INSTACLONE_PROFILE") != "test",
        reason="needs the test stack that `make test` brings up",
    ),
]


def test_sign_up_log_in_and_follow_in_the_browser(browser, sign_up) -> None:  # type: ignore[no-untyped-def]
    alice, bob = browser(), browser()
    alice_name = sign_up(alice)
    bob_name = sign_up(bob)
    bob_id = User.objects.get(username=bob_name).id

    # Log out and back in, by email this time.
    status, _ = alice.submit("/accounts/logout/", {}, form_page=f"/{alice_name}/")
    assert status == 200
    status, page = alice.submit(
        "/accounts/login/",
        {"login": f"{alice_name}@example.com", "password": "a long enough passphrase 42"},
    )
    assert status == 200, page[:500]

    status, page = alice.submit(
        f"/accounts/relationship/{bob_id}/",
        {"action": "follow", "next": f"/{bob_name}/"},
        form_page=f"/{bob_name}/",
    )
    assert status == 200
    assert '<strong id="followed-by-count">1</strong> followers' in page
    assert 'id="follow-button">Following</button>' in page
    _, followers = bob.get(f"/{bob_name}/followers/")
    assert alice_name in followers
    assert user_counts(user_id=bob_id)["followed_by"] == 1


def test_mobile_app_signs_in_and_follows_through_theapi(browser, sign_up, api) -> None:  # type: ignore[no-untyped-def]
    b = browser()
    alice_name = sign_up(b)
    bob_name = sign_up(browser())
    status, body = api(
        "POST",
        "/oauth/access_token",
        client_id=settings.FIRST_PARTY_CLIENT_ID,
        client_secret=settings.FIRST_PARTY_CLIENT_SECRET,
        grant_type="password",
        username=alice_name,
        password="a long enough passphrase 42",
        scope="basic relationships",
    )
    assert status == 200, body
    assert body["user"]["username"] == alice_name
    token = body["access_token"]

    bob_id = str(User.objects.get(username=bob_name).id)
    status, answer = api("POST", f"/v1/users/{bob_id}/relationship", token, action="follow")
    assert status == 200, answer
    assert answer["data"]["outgoing_status"] == "follows"
    status, me = api("GET", "/v1/users/self.json", token)
    assert me["data"]["counts"]["follows"] == 1
    status, listing = api("GET", f"/v1/users/{bob_id}/followed-by?count=5", token)
    assert [user["username"] for user in listing["data"]] == [alice_name]
    status, refused = api("GET", "/v1/users/self", "not-a-real-token")
    assert status == 400
    assert refused["meta"]["error_type"] == "OAuthAccessTokenException"
