"""The home feed and explore pages in the browser: markup, feed actions, paging, privacy."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from django.test import Client

from accounts.models import User
from feeds import popular, store
from feeds.store import pack
from feeds.web import FEED_PAGE_SIZE
from instaclone.sharding.connections import user_shard
from instaclone.sharding.redis_client import redis_client
from photos.models import Photo
from photos.services import comments, likes
from photos.shortcodes import shortcode
from photos.storage import rendition_key
from tests.roundtrips import count_round_trips

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}


@dataclass
class Node:
    """One element of a parsed page: its tag, attributes, and its text and elements in order."""

    tag: str
    attrs: dict[str, str]
    content: list[str | Node] = field(default_factory=list)

    @property
    def children(self) -> list[Node]:
        return [part for part in self.content if isinstance(part, Node)]

    def text(self) -> str:
        parts = [part if isinstance(part, str) else part.text() for part in self.content]
        return " ".join(" ".join(parts).split())

    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    def find_all(self, tag: str, cls: str | None = None) -> list[Node]:
        found = []
        for child in self.children:
            if child.tag == tag and (cls is None or cls in child.classes()):
                found.append(child)
            found.extend(child.find_all(tag, cls))
        return found

    def one(self, tag: str, cls: str | None = None) -> Node:
        found = self.find_all(tag, cls)
        assert len(found) == 1, (tag, cls, found)
        return found[0]


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("root", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {name: value or "" for name, value in attrs})
        self.stack[-1].content.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_endtag(self, tag: str) -> None:
        while len(self.stack) > 1:
            if self.stack.pop().tag == tag:
                break

    def handle_data(self, data: str) -> None:
        self.stack[-1].content.append(data)


def parse(html: str) -> Node:
    """Return the page as a tree of elements."""
    builder = _TreeBuilder()
    builder.feed(html)
    builder.close()
    return builder.root


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _page(client: Client, path: str = "/") -> Node:
    response = client.get(path)
    assert response.status_code == 200, response.content[:500]
    return parse(response.content.decode())


def _items(page: Node) -> list[Node]:
    return page.find_all("article", "feed-item")


def _media_ids(page: Node) -> list[str]:
    return [item.attrs["data-media-id"] for item in _items(page)]


def _item(page: Node, photo_id: int) -> Node:
    found = [item for item in _items(page) if item.attrs["id"] == f"item-{photo_id}"]
    assert len(found) == 1, [item.attrs for item in _items(page)]
    return found[0]


def _fields(form: Node) -> dict[str, str]:
    """Return the form's inputs by name, with their values."""
    return {i.attrs["name"]: i.attrs.get("value", "") for i in form.find_all("input")}


def _rendition(owner: User, photo_id: int, size: int) -> str:
    with user_shard(owner.id):
        media_key = Photo.objects.get(id=photo_id).media_key
    return rendition_key(media_key, size)


def _grid_codes(page: Node) -> list[str]:
    links = page.one("section", "grid").find_all("a")
    return [
        link.attrs["href"].removeprefix("/p/").removesuffix("/")
        for link in links
        if link.find_all("img")
    ]


def test_feed_shows_followees_and_own_photos_not_strangers(people, post_row, edge) -> None:  # type: ignore[no-untyped-def]
    viewer, friend, stranger, other_friend = people(4)
    edge(viewer.id, friend.id)
    edge(viewer.id, other_friend.id)
    edge(stranger.id, viewer.id)  # being followed by someone shows none of their photos
    theirs = post_row(friend)
    strangers = post_row(stranger)
    mine = post_row(viewer)
    others = post_row(other_friend)
    page = _page(_client(viewer))
    assert _media_ids(page) == [
        f"{others}_{other_friend.id}",
        f"{mine}_{viewer.id}",
        f"{theirs}_{friend.id}",
    ]
    assert f"{strangers}_" not in str(_media_ids(page))
    assert page.find_all("a", "button") == []  # one page: no "Older photos" link


def test_stale_entry_of_stranger_not_shown(people, post_row, edge, jobs_settle) -> None:  # type: ignore[no-untyped-def]
    viewer, friend, stranger = people(3)
    edge(viewer.id, friend.id)
    theirs = post_row(friend)
    jobs_settle()  # the follow's backfill job would cancel storing the rebuilt feed
    client = _client(viewer)
    assert _media_ids(_page(client)) == [f"{theirs}_{friend.id}"]  # the feed is stored now
    strangers = post_row(stranger)
    # As an unfollow leaves entries behind until its job has run.
    assert store.feeds_add([viewer.id], photo_id=strangers, owner_id=stranger.id) == 1
    assert store.feed_members(viewer.id)[0] == (strangers, stranger.id)
    assert _media_ids(_page(client)) == [f"{theirs}_{friend.id}"]


def test_feed_item_markup(people, post_row, edge) -> None:  # type: ignore[no-untyped-def]
    viewer, friend, fan = people(3)
    edge(viewer.id, friend.id)
    photo = post_row(friend, caption="Sunset <b>over</b> the bay")
    likes.like(user_id=fan.id, photo_id=photo)
    comments.comment_create(user_id=fan.id, photo_id=photo, text="So good & warm")
    response = _client(viewer).get("/")
    html = response.content.decode()
    opening = f'<article class="feed-item" data-media-id="{photo}_{friend.id}" id="item-{photo}">'
    assert html.count(opening) == 1
    assert "<b>over</b>" not in html  # captions are escaped
    item = _item(parse(html), photo)
    code = shortcode(photo)

    author = item.find_all("a")[0]
    assert (author.attrs["href"], author.text()) == (f"/{friend.username}/", friend.username)
    image = item.one("img")
    assert image.attrs["width"] == image.attrs["height"] == "640"
    assert urlsplit(image.attrs["src"]).path.endswith("/" + _rendition(friend, photo, 640))
    assert [p.text() for p in item.find_all("p", "caption")] == [
        f"{friend.username} Sunset <b>over</b> the bay"
    ]
    assert item.one("strong", "like-count").text() == "1"
    comment_lines = [li.text() for li in item.one("ul", "comments").find_all("li")]
    assert comment_lines == [f"{fan.username} So good & warm"]

    like_form, comment_form = item.find_all("form")
    assert (like_form.attrs["method"], like_form.attrs["action"]) == ("post", f"/p/{code}/act/")
    assert set(_fields(like_form)) == {"csrfmiddlewaretoken", "next"}
    assert _fields(like_form)["next"] == f"/#item-{photo}"
    button = like_form.one("button", "like")
    assert (button.attrs["name"], button.attrs["value"], button.text()) == (
        "action",
        "like",
        "Like",
    )

    assert comment_form.classes() == {"comment"}
    assert (comment_form.attrs["method"], comment_form.attrs["action"]) == (
        "post",
        f"/p/{code}/act/",
    )
    fields = _fields(comment_form)
    assert set(fields) == {"csrfmiddlewaretoken", "action", "next", "text"}
    assert (fields["action"], fields["next"]) == ("comment", f"/#item-{photo}")
    assert [
        i.attrs["type"] for i in comment_form.find_all("input") if i.attrs["name"] == "text"
    ] == ["text"]
    assert [b.attrs["type"] for b in comment_form.find_all("button")] == ["submit"]


def test_an_unlike_button_when_the_viewer_has_liked(people, post_row, edge) -> None:  # type: ignore[no-untyped-def]
    viewer, friend = people(2)
    edge(viewer.id, friend.id)
    photo = post_row(friend)
    likes.like(user_id=viewer.id, photo_id=photo)
    item = _item(_page(_client(viewer)), photo)
    button = item.one("button", "like")
    assert (button.attrs["value"], button.text()) == ("unlike", "Unlike")
    assert item.one("strong", "like-count").text() == "1"


def test_like_and_comment_from_the_feed_come_back_to_it(people, post_row, edge) -> None:  # type: ignore[no-untyped-def]
    viewer, friend = people(2)
    edge(viewer.id, friend.id)
    photo = post_row(friend)
    client = _client(viewer)
    item = _item(_page(client), photo)
    assert item.one("strong", "like-count").text() == "0"
    action = f"/p/{shortcode(photo)}/act/"
    back = f"/#item-{photo}"

    liked = client.post(action, {"action": "like", "next": back})
    assert (liked.status_code, liked["Location"]) == (302, back)
    item = _item(_page(client), photo)
    assert item.one("strong", "like-count").text() == "1"
    assert item.one("button", "like").text() == "Unlike"

    commented = client.post(action, {"action": "comment", "text": "From my feed", "next": back})
    assert (commented.status_code, commented["Location"]) == (302, back)
    item = _item(_page(client), photo)
    lines = [li.text() for li in item.one("ul", "comments").find_all("li")]
    assert lines == [f"{viewer.username} From my feed"]

    unliked = client.post(action, {"action": "unlike", "next": back})
    assert (unliked.status_code, unliked["Location"]) == (302, back)
    item = _item(_page(client), photo)
    assert item.one("strong", "like-count").text() == "0"
    assert item.one("button", "like").text() == "Like"


def test_a_refused_comment_comes_back_to_the_feed_with_the_reason(people, post_row, edge) -> None:  # type: ignore[no-untyped-def]
    viewer, friend = people(2)
    edge(viewer.id, friend.id)
    photo = post_row(friend)
    client = _client(viewer)
    back = f"/#item-{photo}"
    refused = client.post(
        f"/p/{shortcode(photo)}/act/", {"action": "comment", "text": "   ", "next": back}
    )
    assert (refused.status_code, refused["Location"]) == (302, back)
    page = _page(client)
    assert [li.text() for li in page.one("ul", "messages").find_all("li")] == [
        "The comment is empty."
    ]
    assert _item(page, photo).one("ul", "comments").find_all("li") == []


@pytest.mark.parametrize(
    "evil",
    [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example/",
        "http://testserver/",
        "javascript:alert(1)",
        "item-1",
        "",
    ],
)
def test_a_next_off_the_site_falls_back_to_the_permalink(evil: str, people, post_row, edge) -> None:  # type: ignore[no-untyped-def]
    viewer, friend = people(2)
    edge(viewer.id, friend.id)
    photo = post_row(friend)
    code = shortcode(photo)
    response = _client(viewer).post(f"/p/{code}/act/", {"action": "like", "next": evil})
    assert (response.status_code, response["Location"]) == (302, f"/p/{code}/")
    assert _item(_page(_client(viewer)), photo).one("strong", "like-count").text() == "1"


def test_a_next_with_a_line_break_cannot_add_a_header(people, post_row, edge) -> None:  # type: ignore[no-untyped-def]
    viewer, friend = people(2)
    edge(viewer.id, friend.id)
    photo = post_row(friend)
    response = _client(viewer).post(
        f"/p/{shortcode(photo)}/act/", {"action": "like", "next": "/x\r\nSet-Cookie: a=b"}
    )
    assert response.status_code == 302
    assert "\n" not in response["Location"] and "a" not in response.cookies


@pytest.mark.parametrize("bad", ["junk", "12a", "-5", "+5", " 5", "1.5", "\u00b2", "9" * 20])
def test_a_bad_max_id_is_a_400_page(bad: str, people) -> None:  # type: ignore[no-untyped-def]
    (viewer,) = people(1)
    response = _client(viewer).get("/", {"max_id": bad})
    assert response.status_code == 400
    page = parse(response.content.decode())
    assert page.one("p", "error").text() == "max_id must be a photo ID (digits only)."


def test_the_largest_max_id_reads_the_whole_feed(people, post_row) -> None:  # type: ignore[no-untyped-def]
    (viewer,) = people(1)
    photo = post_row(viewer)
    page = _page(_client(viewer), "/?max_id=" + "9" * 19)
    assert _media_ids(page) == [f"{photo}_{viewer.id}"]


def test_older_photos_page_by_max_id(people, post_row, edge) -> None:  # type: ignore[no-untyped-def]
    viewer, friend = people(2)
    edge(viewer.id, friend.id)
    photos = [post_row(friend) for _ in range(FEED_PAGE_SIZE + 3)][::-1]
    client = _client(viewer)
    first = _page(client)
    assert [int(i.attrs["id"].removeprefix("item-")) for i in _items(first)] == photos[
        :FEED_PAGE_SIZE
    ]
    older = first.one("a", "button")
    cursor = photos[FEED_PAGE_SIZE - 1]
    assert (older.attrs["href"], older.text()) == (f"?max_id={cursor}", "Older photos")

    second = _page(client, f"/?max_id={cursor}")
    assert [int(i.attrs["id"].removeprefix("item-")) for i in _items(second)] == photos[
        FEED_PAGE_SIZE:
    ]
    assert second.find_all("a", "button") == []
    # The forms of an older page come back to that page.
    item = _item(second, photos[-1])
    back = f"/?max_id={cursor}#item-{photos[-1]}"
    assert [_fields(form)["next"] for form in item.find_all("form")] == [back, back]
    liked = client.post(f"/p/{shortcode(photos[-1])}/act/", {"action": "like", "next": back})
    assert liked["Location"] == back

    past_the_end = _page(client, f"/?max_id={photos[-1]}")
    assert _items(past_the_end) == []
    assert "No older photos." in past_the_end.text()


def test_a_full_page_and_no_more_has_no_older_link(people, post_row, edge) -> None:  # type: ignore[no-untyped-def]
    viewer, friend = people(2)
    edge(viewer.id, friend.id)
    for _ in range(FEED_PAGE_SIZE):
        post_row(friend)
    page = _page(_client(viewer))
    assert len(_items(page)) == FEED_PAGE_SIZE
    assert page.find_all("a", "button") == []


def test_an_empty_feed_points_to_explore_and_search(people) -> None:  # type: ignore[no-untyped-def]
    (viewer,) = people(1)
    page = _page(_client(viewer))
    assert _items(page) == []
    empty = [div for div in page.find_all("div", "notice") if div.attrs.get("id") == "feed-empty"]
    assert len(empty) == 1
    assert [a.attrs["href"] for a in empty[0].find_all("a")] == ["/explore/", "/accounts/search/"]


def test_anonymous_visitors_go_to_log_in(live_db) -> None:  # type: ignore[no-untyped-def]
    response = Client().get("/")
    assert (response.status_code, response["Location"]) == (302, "/accounts/login/")
    assert Client().get("/?max_id=junk")["Location"] == "/accounts/login/"
    assert Client().post("/").status_code == 405


def test_the_nav_links_feed_and_explore(people) -> None:  # type: ignore[no-untyped-def]
    (viewer,) = people(1)
    signed_in = [
        (a.attrs["href"], a.text()) for a in _page(_client(viewer)).one("nav").find_all("a")
    ]
    assert signed_in[:3] == [
        ("/", "Feed"),
        ("/explore/", "Explore"),
        ("/accounts/search/", "Search"),
    ]
    anonymous = [
        (a.attrs["href"], a.text()) for a in _page(Client(), "/explore/").one("nav").find_all("a")
    ]
    assert anonymous[:2] == [("/explore/", "Explore"), ("/accounts/search/", "Search")]
    assert ("/", "Feed") not in anonymous


@pytest.fixture
def explore_with() -> Iterator[Callable[[Client, list[tuple[int, int]]], Node]]:
    """Return a reader of /explore/ under a given stored ranking; the ranking is dropped after.

    The ranking is the whole test stack's, so the test stores its own just before each read,
    as the ranking job would, rather than hoping its photos outrank everyone else's.
    """

    def read(client: Client, ranking: list[tuple[int, int]]) -> Node:
        packed = b"".join(pack(photo_id, owner_id) for photo_id, owner_id in ranking)
        redis_client().set(popular.KEY, packed, ex=60)
        return _page(client, "/explore/")

    yield read
    redis_client().delete(popular.KEY)


def test_explore_shows_popular_photos_to_anyone_never_private_ones(
    people, post_row, explore_with
) -> None:  # type: ignore[no-untyped-def]
    from accounts.services import graph
    from accounts.services.users import user_update_profile

    viewer, star, rude, goes_private, quiet = people(5)
    (hidden,) = people(1, private=True)
    top = post_row(star, caption="Top #shot")
    secret, blocked, later, plain = (
        post_row(hidden),
        post_row(rude),
        post_row(goes_private),
        post_row(quiet),
    )
    graph.block(blocker_id=viewer.id, target_id=rude.id)
    ranking = [
        (top, star.id),
        (secret, hidden.id),
        (blocked, rude.id),
        (later, goes_private.id),
        (plain, quiet.id),
    ]

    anonymous_page = explore_with(Client(), ranking)
    codes = [shortcode(photo) for photo in (top, blocked, later, plain)]
    assert _grid_codes(anonymous_page) == codes  # in ranking order, never the private account's
    thumbs = anonymous_page.one("section", "grid").find_all("img")
    thumb = thumbs[0]
    assert (thumb.attrs["width"], thumb.attrs["height"], thumb.attrs["alt"]) == (
        "320",
        "320",
        "Top #shot",
    )
    assert urlsplit(thumb.attrs["src"]).path.endswith("/" + _rendition(star, top, 320))
    assert thumbs[3].attrs["alt"] == f"A photo by {quiet.username}"

    signed_in = explore_with(_client(viewer), ranking)
    assert _grid_codes(signed_in) == [shortcode(p) for p in (top, later, plain)]  # blocked one

    user_update_profile(user_id=goes_private.id, is_private=True)  # after it was ranked
    again = explore_with(Client(), ranking)
    assert _grid_codes(again) == [shortcode(p) for p in (top, blocked, plain)]
    assert Client().post("/explore/").status_code == 405


def test_explore_with_nothing_popular_says_so(live_db, explore_with) -> None:  # type: ignore[no-untyped-def]
    page = explore_with(Client(), [])
    assert page.one("section", "grid").find_all("img") == []
    assert page.one("section", "grid").text() == (
        "Nothing popular yet. Search for people to follow."
    )


def test_explore_ranks_when_no_ranking_is_stored(people, post_row) -> None:  # type: ignore[no-untyped-def]
    (star,) = people(1)
    fans = people(2)
    top = post_row(star)
    for fan in fans:
        likes.like(user_id=fan.id, photo_id=top)
    redis_client().delete(popular.KEY)
    page = _page(Client(), "/explore/")
    assert redis_client().exists(popular.KEY) == 1  # the first reader ranked and stored it
    # Other tests' photos may share the stack's ranking, so this one's place in it is not known.
    assert (top, star.id) in popular.popular_entries()
    assert shortcode(top) in _grid_codes(page)


def test_warm_feed_page_round_trips_do_not_grow_with_followees(reader_of) -> None:  # type: ignore[no-untyped-def]
    counts = {}
    for followees in (2, 12):
        client = _client(reader_of(followees))
        _page(client)
        _page(client)
        with count_round_trips() as trips:
            page = _page(client)
        assert len(_items(page)) == 6
        counts[followees] = dict(trips)
    # The feed's own work is one Redis read and one get_many; signing in costs a cache get (the
    # session) and a query (the user), as on every signed-in page.
    assert counts[2] == counts[12] == {"postgres": 1, "redis": 1, "memcached": 2}
