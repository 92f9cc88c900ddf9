"""media_fragments (the API lists' encoded objects) against media_objects (dicts)."""

from __future__ import annotations

import json
from typing import Any

import orjson

from photos.selectors.hydration import Audience, media_fragments, media_objects
from photos.services import comments, likes
from photos.storage import PRIVATE_URL_SECONDS, PUBLIC_URL_SECONDS

BASE = "https://photos.example"


def _no_twice(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    names = [name for name, _ in pairs]
    assert len(names) == len(set(names)), f"a key appears twice: {names}"
    return dict(pairs)


def test_fragments_encode_exactly_the_objects_with_each_key_once(people, post_row, edge) -> None:  # type: ignore[no-untyped-def]
    viewer, public, private = people(1) + people(1) + people(1, private=True)
    edge(viewer.id, public.id)
    edge(viewer.id, private.id)
    liked, plain, hidden_one = post_row(public, "#sun"), post_row(public), post_row(private)
    likes.like(user_id=viewer.id, photo_id=liked)
    likes.like(user_id=viewer.id, photo_id=hidden_one)
    comments.comment_create(user_id=public.id, photo_id=plain, text='first "quoted" \\ é')
    refs = [(hidden_one, private.id), (plain, public.id), (liked, public.id)]

    objects = media_objects(refs, viewer_id=viewer.id, base_url=BASE, audience=Audience.FOLLOWED)
    fragments = media_fragments(
        refs, viewer_id=viewer.id, base_url=BASE, audience=Audience.FOLLOWED
    )
    encoded = orjson.dumps({"data": fragments})
    decoded = json.loads(encoded, object_pairs_hook=_no_twice)["data"]
    assert decoded == objects
    assert [m["id"] for m in objects] == [f"{p}_{o}" for p, o in refs]
    assert [m["user_has_liked"] for m in objects] == [True, False, True]
    assert all(m["link"].startswith(f"{BASE}/p/") and m["link"].endswith("/") for m in objects)
    assert objects[1]["comments"]["data"][0]["text"] == 'first "quoted" \\ é'
    assert objects[2]["caption"]["text"] == "#sun"
    private_url = objects[0]["images"]["standard_resolution"]["url"]
    public_url = objects[1]["images"]["standard_resolution"]["url"]
    # A private owner's photo carries the short-lived URLs, a public one the card's.
    assert f"X-Amz-Expires={PRIVATE_URL_SECONDS}&" in private_url
    assert f"X-Amz-Expires={PUBLIC_URL_SECONDS}&" in public_url
    assert set(objects[0]["images"]) == {"standard_resolution", "low_resolution", "thumbnail"}

    stranger = people(1)[0]
    seen = media_fragments(refs, viewer_id=stranger.id, base_url=BASE, audience=Audience.VISIBLE)
    shown = json.loads(orjson.dumps(seen), object_pairs_hook=_no_twice)
    assert [m["id"] for m in shown] == [f"{plain}_{public.id}", f"{liked}_{public.id}"]
    assert not any(m["user_has_liked"] for m in shown)
