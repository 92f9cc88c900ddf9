"""Inputs a fuzzing run of the API and the pages once answered with 500: each is a 4xx now."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from instaclone.sharding.ids import compose_id
from instaclone.sharding.topology import current_topology
from photos.shortcodes import shortcode


def _json(response: Any) -> dict[str, Any]:
    return response.json()


def _unplaced_photo_id() -> int:
    """A well-formed ID whose shard bits name a shard the topology does not have."""
    return compose_id(millis=10**12, shard=current_topology().logical_shards + 36, sequence=1)


def test_a_photo_id_naming_an_unplaced_shard_is_not_found(make_user, token_for) -> None:  # type: ignore[no-untyped-def]
    token = token_for(make_user())
    photo_id = _unplaced_photo_id()
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    client = Client()
    for method, path in [
        ("get", f"/v1/media/{photo_id}"),
        ("get", f"/v1/media/{photo_id}_5"),
        ("get", f"/v1/media/shortcode/{shortcode(photo_id)}"),
        ("get", f"/v1/media/{photo_id}/likes"),
        ("post", f"/v1/media/{photo_id}/likes"),
        ("delete", f"/v1/media/{photo_id}/likes"),
        ("get", f"/v1/media/{photo_id}/comments"),
        ("delete", f"/v1/media/{photo_id}"),
        ("delete", f"/v1/media/{photo_id}/comments/{photo_id}"),
    ]:
        response = getattr(client, method)(path, **headers)
        assert response.status_code == 404, (method, path, response.content)
        assert _json(response)["meta"]["error_type"] == "APINotFoundError"
    posted = client.post(f"/v1/media/{photo_id}/comments", {"text": "hi"}, **headers)
    assert posted.status_code == 404, posted.content
    assert Client().get(f"/p/{shortcode(photo_id)}/").status_code == 404


@pytest.mark.parametrize("path", ["/v1/users/search", "/v1/tags/search"])
@pytest.mark.parametrize("query", ["\x00", "a\x00b"])
def test_a_search_for_a_nul_character_is_refused(
    path: str, query: str, make_user, token_for
) -> None:  # type: ignore[no-untyped-def]
    token = token_for(make_user())
    response = Client().get(path, {"q": query}, HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 400, response.content
    assert _json(response)["meta"]["error_type"] == "APIInvalidParametersError"


@pytest.mark.parametrize("cursor", ["\u00b2", "\u0661\u0662", "12\u00b3"])
def test_web_cursors_of_other_scripts_digits_are_not_found(cursor: str, make_user) -> None:  # type: ignore[no-untyped-def]
    owner = make_user()
    client = Client()
    client.force_login(owner)
    for path, name in [
        ("/tags/sunset/", "max_tag_id"),
        (f"/{owner.username}/followers/", "max_id"),
        (f"/{owner.username}/following/", "max_id"),
        ("/accounts/requests/", "max_id"),
    ]:
        response = client.get(path, {name: cursor})
        assert response.status_code == 404, (path, response.status_code)
        assert client.get(path, {name: "12"}).status_code == 200, path


@pytest.mark.parametrize("user_id", ["0", "99999999999999999999", "9223372036854775808"])
@pytest.mark.parametrize("action", ["approve", "ignore", "follow"])
def test_web_relationship_with_an_id_outside_bigint_is_not_found(
    user_id: str, action: str, make_user
) -> None:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(make_user())
    response = client.post(f"/accounts/relationship/{user_id}/", {"action": action})
    assert response.status_code == 404, response.status_code


@pytest.mark.parametrize("name", ["%FF", "..", "a-b", "x" * 101, "sun set"])
def test_a_web_tag_page_for_a_name_no_tag_can_have_is_not_found(name: str, live_db) -> None:  # type: ignore[no-untyped-def]
    assert Client().get(f"/tags/{name}/").status_code == 404
    assert Client().get("/tags/sunset/").status_code == 200


def test_a_crop_without_its_size_is_refused(make_user, token_for) -> None:  # type: ignore[no-untyped-def]
    from io import BytesIO

    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    from accounts.selectors.graph import user_counts

    owner = make_user()
    buffer = BytesIO()
    Image.new("RGB", (400, 300), (200, 40, 40)).save(buffer, "JPEG")
    photo = SimpleUploadedFile("p.jpg", buffer.getvalue(), "image/jpeg")
    response = Client().post(
        "/v1/media/upload",
        {"photo": photo, "crop_x": "10"},
        HTTP_AUTHORIZATION=f"Bearer {token_for(owner)}",
    )
    assert response.status_code == 400, response.content
    assert "crop_size" in _json(response)["meta"]["error_message"]
    assert user_counts(user_id=owner.id)["media"] == 0


def test_pages_answer_head_as_link_previewers_send_it(make_user, live_db) -> None:  # type: ignore[no-untyped-def]
    """Link unfurlers often ask HEAD before GET: the public pages answer it (no body)."""
    from instaclone.sharding.connections import user_shard
    from photos.models import Photo
    from photos.storage import media_prefix

    owner = make_user()
    with user_shard(owner.id):
        photo = Photo.objects.create(user_id=owner.id, caption="head")
        Photo.objects.filter(id=photo.id).update(media_key=media_prefix(photo.id))
    code = shortcode(photo.id)
    for path in (f"/p/{code}/", f"/{owner.username}/", "/explore/", "/tags/sunset/", "/healthz"):
        response = Client().head(path)
        assert response.status_code == 200, (path, response.status_code)
        assert response.content == b"", path
    assert Client().put(f"/p/{code}/").status_code == 405
