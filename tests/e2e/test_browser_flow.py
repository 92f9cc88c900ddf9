"""Two people in a real headless Chromium: sign up, post with a filter, follow, like, comment."""

from __future__ import annotations

import os
import re
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import Locator, Page, expect

from accounts.models import User
from photos.filters import FILTER_NAMES
from photos.shortcodes import photo_id_from

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        os.environ.get("INSTACLONE_PROFILE") != "test",
        reason="needs the test stack that `make test` brings up",
    ),
]

Shot = Callable[[Page, str], Path]
PERMALINK = re.compile(r"/p/([A-Za-z0-9_-]+)/$")


@pytest.fixture
def photo_file(tmp_path: Path) -> Path:
    """Write a 900x700 JPEG (a yellow square on blue) for the file input."""
    image = Image.new("RGB", (900, 700), (30, 120, 200))
    image.paste((240, 180, 40), (300, 200, 600, 500))
    path = tmp_path / "blue sky.jpg"
    image.save(path, "JPEG", quality=90)
    return path


def sign_up_on(page: Page, names: list[str], shot: Shot) -> str:
    """Fill in the sign-up page; return the new username, signed in."""
    username = f"e2e_{uuid.uuid4().hex[:10]}"
    names.append(username)
    page.goto("/accounts/signup/")
    expect(page).to_have_title("Sign up · instaclone")
    page.get_by_label("Email").fill(f"{username}@example.com")
    page.get_by_label("Full name").fill("Browser Person")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("a long enough passphrase 42")
    shot(page, f"signup-{username}")
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    expect(page.locator("nav").get_by_role("link", name="Profile")).to_have_attribute(
        "href", f"/{username}/"
    )
    return username


def post_photo(page: Page, photo: Path, *, caption: str, filter_name: str, shot: Shot) -> str:
    """Post a photo through both upload steps; return its short code."""
    page.goto("/upload/")
    page.locator('input[type="file"][name="photo"]').set_input_files(photo)
    page.get_by_label("Caption").fill(caption)
    shot(page, "upload")
    page.get_by_role("button", name="Next: choose a filter").click()

    expect(page.get_by_role("heading", name="Choose a filter")).to_be_visible()
    previews = page.locator("label.filter-choice img")
    expect(previews).to_have_count(len(FILTER_NAMES))
    # Every preview is a data URI the browser actually decoded, 150 px square.
    assert image_widths(previews) == [150] * len(FILTER_NAMES)
    expect(page.get_by_label("Caption")).to_have_value(caption)
    page.locator(f'input[name="filter"][value="{filter_name}"]').check()
    shot(page, "choose-filter")
    page.get_by_role("button", name="Share").click()

    expect(page).to_have_url(PERMALINK)
    expect(page.locator("article.photo")).to_contain_text(f"filter {filter_name}")
    assert image_widths(page.locator("article.photo > img")) == [640]
    shot(page, "posted")
    match = PERMALINK.search(page.url)
    assert match
    return match.group(1)


def image_widths(images: Locator) -> list[int]:
    """Wait until every matched <img> has been fetched and decoded; return their natural widths."""
    expect(images.first).to_be_visible()
    for index in range(images.count()):
        images.nth(index).scroll_into_view_if_needed()  # lazy images load only in view
        images.nth(index).page.wait_for_function(
            "img => img.complete && img.naturalWidth > 0", arg=images.nth(index).element_handle()
        )
    widths: list[int] = images.evaluate_all("imgs => imgs.map(i => i.naturalWidth)")
    return widths


def follow_on_profile(page: Page, username: str, shot: Shot) -> None:
    """Open a profile and press Follow; see the button and the count change."""
    page.goto(f"/{username}/")
    expect(page.get_by_role("heading", level=1)).to_have_text(username)
    expect(page.locator("#followed-by-count")).to_have_text("0")
    page.locator("#follow-button").click()
    expect(page.locator("#follow-button")).to_have_text("Following")
    expect(page.locator("#followed-by-count")).to_have_text("1")
    shot(page, "profile-followed")


def open_until_shown(page: Page, path: str, item: Locator, *, seconds: float = 10.0) -> None:
    """Open the page again until the item is on it: a follow fills the feed through a job."""
    deadline = time.monotonic() + seconds
    page.goto(path)
    while not item.count() and time.monotonic() < deadline:
        page.wait_for_timeout(250)
        page.goto(path)


def test_post_follow_like_and_comment_in_the_browser(  # type: ignore[no-untyped-def]
    person, names, screenshot, photo_file
) -> None:
    poster, friend = person(), person()
    poster_name = sign_up_on(poster, names, screenshot)
    friend_name = sign_up_on(friend, names, screenshot)

    code = post_photo(
        poster, photo_file, caption="Blue #sky", filter_name="Lord Kelvin", shot=screenshot
    )

    follow_on_profile(friend, poster_name, screenshot)
    grid_link = friend.locator(f'#grid a[href="/p/{code}/"]')
    assert image_widths(grid_link.locator("img")) == [320]
    grid_link.click()

    expect(friend).to_have_url(f"/p/{code}/")
    expect(friend.locator("#like-count")).to_have_text("0")
    friend.get_by_role("button", name="Like", exact=True).click()
    expect(friend.locator("#like-count")).to_have_text("1")
    expect(friend.locator("#like-button")).to_have_text("Unlike")
    friend.get_by_label("Comment").fill("Gorgeous, from a real browser")
    friend.get_by_role("button", name="Post", exact=True).click()
    expect(friend.locator("#comments li")).to_have_text(
        [f"{friend_name} Gorgeous, from a real browser"]
    )
    screenshot(friend, "permalink-friend")

    poster.goto(f"/p/{code}/")
    expect(poster.locator("#like-count")).to_have_text("1")
    expect(poster.locator("#comments li")).to_have_text(
        [f"{friend_name} Gorgeous, from a real browser"]
    )
    expect(poster.locator("article.photo")).to_contain_text(f"{poster_name} Blue #sky")
    screenshot(poster, "permalink-poster")


def test_feed_in_browser(person, names, screenshot, photo_file) -> None:  # type: ignore[no-untyped-def]
    poster, friend = person(), person()
    poster_name = sign_up_on(poster, names, screenshot)
    friend_name = sign_up_on(friend, names, screenshot)
    code = post_photo(
        poster, photo_file, caption="Feed #sky", filter_name="Normal", shot=screenshot
    )
    follow_on_profile(friend, poster_name, screenshot)

    photo_id = photo_id_from(code)
    owner_id = User.objects.get(username=poster_name).id
    item = friend.locator(f'article.feed-item[data-media-id="{photo_id}_{owner_id}"]')
    open_until_shown(friend, "/", item)
    screenshot(friend, "feed")
    expect(item).to_be_visible(timeout=1_000)
    expect(item).to_contain_text(poster_name)
    expect(item).to_contain_text("Feed #sky")
    # The photo itself, whatever else (an avatar) the item shows.
    assert max(image_widths(item.locator("img"))) >= 320
    expect(item.locator(".like-count")).to_have_text(re.compile(r"^\s*0\b"))

    item.locator("button.like").click()
    friend.wait_for_load_state()
    friend.goto("/")
    expect(item.locator(".like-count")).to_have_text(re.compile(r"^\s*1\b"))

    comment_form = item.locator("form.comment")
    comment_form.locator("[name='text']").fill("Seen in my feed")
    comment_form.get_by_role("button").click()
    friend.wait_for_load_state()
    friend.goto("/")
    expect(item).to_contain_text("Seen in my feed")
    screenshot(friend, "feed-liked-commented")

    poster.goto(f"/p/{code}/")
    expect(poster.locator("#like-count")).to_have_text("1")
    expect(poster.locator("#comments li")).to_have_text([f"{friend_name} Seen in my feed"])
    screenshot(poster, "permalink-poster")
