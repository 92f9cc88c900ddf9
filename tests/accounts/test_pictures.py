"""Profile pictures go through the photo pipeline: its caps, its refusals, the hostile corpus."""

from __future__ import annotations

import io
import random
import uuid
from collections.abc import Iterator

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from PIL import Image, ImageFile
from pytest_django.fixtures import DjangoCaptureOnCommitCallbacks

from accounts.models import User
from accounts.services.users import (
    PictureInvalid,
    picture_render,
    user_create,
    user_set_profile_picture,
)
from tests.photos.hostile import ACCEPTED, CASES, Case, case_named

ALL = ["default", "shards_0", "shards_1"]
BOMB = "png_rgba_7000x7000_of_zeros"
BOMB_MESSAGE = "The image has 49.0 megapixels; the limit is 24.0 megapixels."


def _user() -> User:
    name = f"pic_{uuid.uuid4().hex[:12]}"
    return user_create(username=name, email=f"{name}@example.com", password="pictures-42-pictures")


def _logged_in(user: User) -> Client:
    # A fresh address per client, so the per-IP abuse limits of other tests never interfere.
    address = f"10.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(1, 255)}"
    client = Client(REMOTE_ADDR=address)
    client.force_login(user)
    return client


def _upload(data: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile("picture.png", data, content_type="image/png")


def _expected(case: Case) -> str:
    """Return what the picture path answers to ``case``: it has no crop box to refuse."""
    return ACCEPTED if case.expected == "bad_crop" else case.expected


def _assert_clean_picture(data: bytes, case: Case) -> None:
    """Assert ``data`` is a 150 px square JPEG with no metadata and none of the case's payload."""
    assert data.startswith(b"\xff\xd8\xff")
    with Image.open(io.BytesIO(data)) as picture:
        picture.load()
        assert (picture.format, picture.mode, picture.size) == ("JPEG", "RGB", (150, 150))
        assert len(picture.getexif()) == 0
        assert not {"exif", "icc_profile", "comment", "xmp", "photoshop"} & set(picture.info)
    assert [payload for payload in case.payloads if payload in data] == []


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[int, int]]]:
    """Record the size of every image whose pixel memory Pillow allocates to decode it."""
    sizes: list[tuple[int, int]] = []
    prepare = ImageFile.ImageFile.load_prepare

    def counting(image: ImageFile.ImageFile) -> None:
        sizes.append(image.size)
        prepare(image)

    monkeypatch.setattr(ImageFile.ImageFile, "load_prepare", counting)
    yield sizes


@pytest.mark.django_db(databases=ALL)
def test_the_186_kb_png_of_49_megapixels_is_refused_without_decoding_a_pixel(
    decodes: list[tuple[int, int]],
) -> None:
    data = case_named(BOMB).data()
    assert len(data) == 190_584  # 186 KB deflating to 196 MB of RGBA, under the old 50 MP cap
    user = _user()
    with pytest.raises(PictureInvalid) as caught:
        user_set_profile_picture(user_id=user.pk, upload=_upload(data))
    assert (caught.value.field, caught.value.code, caught.value.message) == (
        "picture",
        "too_many_pixels",
        BOMB_MESSAGE,
    )
    assert decodes == []
    user.refresh_from_db()
    assert user.profile_picture == ""


@pytest.mark.django_db(databases=ALL)
def test_the_186_kb_png_gets_a_form_error_on_the_edit_page(
    decodes: list[tuple[int, int]],
) -> None:
    user = _user()
    upload = io.BytesIO(case_named(BOMB).data())
    upload.name = "huge.png"
    response = _logged_in(user).post(
        reverse("accounts:edit_profile"), {"email": user.email, "picture": upload}
    )
    assert response.status_code == 200
    assert response.context["form"].errors == {"picture": [BOMB_MESSAGE]}
    assert decodes == []


def test_a_good_picture_decodes_once_at_draft_scale(decodes: list[tuple[int, int]]) -> None:
    # The counter's control: a 4000x3000 JPEG is decoded once, by libjpeg at 1/4 scale.
    image = Image.effect_noise((4000, 3000), 32).convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=70)
    picture_render(upload=io.BytesIO(buffer.getvalue()))
    assert decodes == [(1000, 750)]


HOSTILE = pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])


@pytest.mark.django_db(databases=ALL)
@HOSTILE
def test_the_hostile_corpus_through_the_picture_service(
    case: Case, django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks
) -> None:
    user = _user()
    if _expected(case) == ACCEPTED:
        with django_capture_on_commit_callbacks(execute=True):
            key = user_set_profile_picture(user_id=user.pk, upload=_upload(case.data()))
        try:
            with default_storage.open(key) as stored:
                _assert_clean_picture(stored.read(), case)
        finally:
            default_storage.delete(key)
        return
    with pytest.raises(PictureInvalid) as caught:
        user_set_profile_picture(user_id=user.pk, upload=_upload(case.data()))
    assert (caught.value.field, caught.value.code) == ("picture", case.expected)
    assert caught.value.message.endswith(".")
    user.refresh_from_db()
    assert user.profile_picture == ""
    assert default_storage.listdir(f"profiles/{user.pk}")[1] == []


@pytest.mark.django_db(databases=ALL)
@HOSTILE
def test_the_hostile_corpus_through_the_edit_profile_form(case: Case) -> None:
    user = _user()
    upload = io.BytesIO(case.data())
    upload.name = "avatar.jpg"
    response = _logged_in(user).post(
        reverse("accounts:edit_profile"), {"email": user.email, "picture": upload}
    )
    user.refresh_from_db()
    if _expected(case) == ACCEPTED:
        assert response.status_code == 302
        try:
            with default_storage.open(user.profile_picture) as stored:
                _assert_clean_picture(stored.read(), case)
        finally:
            default_storage.delete(user.profile_picture)
        return
    assert response.status_code == 200
    if case.expected == "empty":
        message = "The submitted file is empty."  # Django's FileField answers first
    else:
        with pytest.raises(PictureInvalid) as caught:
            picture_render(upload=io.BytesIO(case.data()))
        assert caught.value.code == case.expected
        message = caught.value.message
    assert response.context["form"].errors == {"picture": [message]}
    assert user.profile_picture == ""
