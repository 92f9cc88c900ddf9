"""Account services: username rules, sign-up races, profile edits, pictures, passwords."""

from __future__ import annotations

import io
import re
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connections
from PIL import ExifTags, Image
from pytest_django.fixtures import DjangoCaptureOnCommitCallbacks, Settings

from accounts.models import User
from accounts.services import users as users_service
from accounts.services.users import (
    USERNAME_RULES,
    AccountError,
    EmailInvalid,
    EmailTaken,
    PasswordIncorrect,
    PasswordInvalid,
    PictureInvalid,
    ProfileInvalid,
    UsernameInvalid,
    UsernameTaken,
    email_normalize,
    user_by_login,
    user_change_password,
    user_create,
    user_set_profile_picture,
    user_update_profile,
    username_clean,
)
from tests.photos.hostile.png import png_declaring

ALL = ["default", "shards_0", "shards_1"]
PASSWORD = "correct-horse-battery-42"
FORMAT_MESSAGE = (
    "The file is not a JPEG, PNG, WebP, GIF or HEIC/HEIF image, whatever its name says."
)
DOTS_MESSAGE = "A username needs at least one letter, digit or underscore."


def _name(prefix: str = "u") -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


def _create(**overrides: str) -> User:
    username = overrides.pop("username", _name())
    fields = {"email": f"{username}@example.com", "password": PASSWORD} | overrides
    return user_create(username=username, **fields)


@pytest.fixture
def stored_keys() -> Iterator[list[str]]:
    """Collect storage keys a test wrote; delete them from S3 afterwards."""
    keys: list[str] = []
    yield keys
    for key in keys:
        default_storage.delete(key)


# --- usernames ------------------------------------------------------------------------------

GOOD_NAMES = ["a", "Z", "_", "a.b_c", "user_01", "a..b", "x" * 30, "Ab.Cd", "9lives", "._."]
BAD_NAMES = [
    ("", USERNAME_RULES),
    ("x" * 31, USERNAME_RULES),
    ("has space", USERNAME_RULES),
    ("hyphen-ated", USERNAME_RULES),
    ("émile", USERNAME_RULES),
    ("at@sign", USERNAME_RULES),
    ("tab\t", USERNAME_RULES),
    ("trailing\n", USERNAME_RULES),
    (".", DOTS_MESSAGE),
    ("..", DOTS_MESSAGE),
    ("admin", 'The username "admin" is reserved.'),
    ("ADMIN", 'The username "ADMIN" is reserved.'),
    ("Explore", 'The username "Explore" is reserved.'),
    ("v1", 'The username "v1" is reserved.'),
    ("P", 'The username "P" is reserved.'),
    ("accounts", 'The username "accounts" is reserved.'),
    ("Static", 'The username "Static" is reserved.'),
    ("media", 'The username "media" is reserved.'),
    ("self", 'The username "self" is reserved.'),
    ("OAuth", 'The username "OAuth" is reserved.'),
    ("healthz", 'The username "healthz" is reserved.'),
    ("Robots.txt", 'The username "Robots.txt" is reserved.'),
]


@pytest.mark.parametrize("username", GOOD_NAMES)
def test_good_usernames_pass_the_rules(username: str) -> None:
    assert username_clean(username) == username


@pytest.mark.django_db(databases=ALL)
@pytest.mark.parametrize(("username", "message"), BAD_NAMES)
def test_bad_usernames_are_refused_with_a_reason(username: str, message: str) -> None:
    with pytest.raises(UsernameInvalid) as caught:
        user_create(username=username, email="someone@example.com", password=PASSWORD)
    assert caught.value.message == message
    assert caught.value.field == "username"
    assert not User.objects.filter(email="someone@example.com").exists()


@pytest.mark.django_db(databases=ALL)
def test_user_create_keeps_the_typed_case_and_hashes_with_argon2(settings: Settings) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]
    username = _name("Mixed.Case")
    user = user_create(
        username=username, email=f"{username}@Example.COM", password=PASSWORD, full_name=" Ann "
    )
    user.refresh_from_db()
    assert user.username == username
    assert user.email == f"{username}@example.com"  # the domain is case-insensitive
    assert user.full_name == "Ann"
    assert user.password.startswith("argon2$argon2id$")
    assert user.check_password(PASSWORD)


@pytest.mark.django_db(databases=ALL)
def test_usernames_differing_only_in_case_are_taken() -> None:
    first = _create()
    for variant in (first.username.upper(), first.username.title(), first.username):
        with pytest.raises(UsernameTaken) as caught:
            _create(username=variant)
        assert caught.value.message == "This username is taken."
    assert User.objects.filter(username__iexact=first.username).count() == 1


@pytest.mark.django_db(databases=ALL)
def test_a_race_past_the_check_ends_as_username_taken(monkeypatch: pytest.MonkeyPatch) -> None:
    first = _create()
    # As if the other sign-up committed between our check and our insert.
    monkeypatch.setattr(users_service, "_username_exists", lambda username: False)
    with pytest.raises(UsernameTaken) as caught:
        _create(username=first.username.upper(), email=f"{_name()}@example.com")
    assert caught.value.message == "This username is taken."
    # The savepoint kept the surrounding transaction usable.
    assert User.objects.filter(pk=first.pk).exists()


def test_concurrent_signups_of_one_name_make_exactly_one_user(live_db: None) -> None:
    username = _name("race")
    threads_count = 8
    barrier = threading.Barrier(threads_count)
    outcomes: list[object] = []
    lock = threading.Lock()

    def sign_up(index: int) -> None:
        try:
            barrier.wait(timeout=10)
            # Differently cased spellings of one name, each with its own email.
            spelled = username.upper() if index % 2 else username
            result: object = user_create(
                username=spelled, email=f"{username}-{index}@example.com", password=PASSWORD
            )
        except AccountError as error:
            result = error
        finally:
            connections.close_all()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=sign_up, args=(i,)) for i in range(threads_count)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        created = [o for o in outcomes if isinstance(o, User)]
        refused = [o for o in outcomes if isinstance(o, AccountError)]
        assert len(outcomes) == threads_count
        assert len(created) == 1
        assert len(refused) == threads_count - 1
        assert {type(error) for error in refused} == {UsernameTaken}
        assert {error.message for error in refused} == {"This username is taken."}
        assert User.objects.filter(username__iexact=username).count() == 1
    finally:
        User.objects.filter(username__iexact=username).delete()


@pytest.mark.django_db(databases=ALL)
@pytest.mark.parametrize(
    ("email", "error", "message"),
    [
        ("", EmailInvalid, "Enter your email address."),
        ("   ", EmailInvalid, "Enter your email address."),
        ("not-an-email", EmailInvalid, "Enter a valid email address."),
        ("a@b", EmailInvalid, "Enter a valid email address."),
        (f"{'x' * 250}@example.com", EmailInvalid, "Email addresses are at most 254 characters."),
    ],
)
def test_user_create_refuses_bad_email(email: str, error: type[AccountError], message: str) -> None:
    with pytest.raises(error) as caught:
        _create(email=email)
    assert caught.value.message == message
    assert caught.value.field == "email"


@pytest.mark.django_db(databases=ALL)
def test_user_create_refuses_an_email_in_use_in_any_case() -> None:
    first = _create()
    with pytest.raises(EmailTaken) as caught:
        _create(email=first.email.upper())
    assert caught.value.message == "Another account uses this email address."


@pytest.mark.django_db(databases=ALL)
@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short", "This password is too short. It must contain at least 8 characters."),
        ("12345678", "This password is too common. This password is entirely numeric."),
        ("password", "This password is too common."),
    ],
)
def test_user_create_runs_the_password_validators(password: str, message: str) -> None:
    username = _name()
    with pytest.raises(PasswordInvalid) as caught:
        _create(username=username, password=password)
    assert caught.value.message == message
    assert not User.objects.filter(username=username).exists()


@pytest.mark.django_db(databases=ALL)
def test_user_create_refuses_a_password_like_the_username() -> None:
    username = _name("similar")
    with pytest.raises(PasswordInvalid) as caught:
        _create(username=username, password=username)
    assert caught.value.message == "The password is too similar to the username."


@pytest.mark.django_db(databases=ALL)
def test_user_by_login_finds_by_username_in_any_case_or_email() -> None:
    user = _create()
    assert user_by_login(login=user.username.upper()) == user
    assert user_by_login(login=f"  {user.username}  ") == user
    assert user_by_login(login=user.email.upper()) == user
    assert user_by_login(login=_name()) is None
    assert user_by_login(login="nobody-here@example.com") is None


# --- profile --------------------------------------------------------------------------------


@pytest.mark.django_db(databases=ALL)
def test_update_profile_saves_and_normalises_fields() -> None:
    user = _create()
    updated = user_update_profile(
        user_id=user.pk,
        full_name="  Ada Lovelace ",
        bio="Analytical\nengines",
        website="example.com/ada",
        is_private=True,
    )
    user.refresh_from_db()
    assert (user.full_name, user.bio, user.website, user.is_private) == (
        "Ada Lovelace",
        "Analytical\nengines",
        "https://example.com/ada",
        True,
    )
    assert user.website == updated.website
    user_update_profile(user_id=user.pk, bio="only the bio")
    user.refresh_from_db()
    assert (user.full_name, user.bio, user.is_private) == ("Ada Lovelace", "only the bio", True)


@pytest.mark.django_db(databases=ALL)
@pytest.mark.parametrize(
    ("changes", "error", "field", "message"),
    [
        ({"bio": "b" * 151}, ProfileInvalid, "bio", "Bio must be at most 150 characters."),
        (
            {"full_name": "n" * 151},
            ProfileInvalid,
            "full_name",
            "Name must be at most 150 characters.",
        ),
        ({"website": "not a url"}, ProfileInvalid, "website", "Enter a valid website address."),
        (
            {"website": "ftp://example.com"},
            ProfileInvalid,
            "website",
            "Enter a valid website address.",
        ),
        (
            {"website": "javascript:alert(1)"},
            ProfileInvalid,
            "website",
            "Enter a valid website address.",
        ),
        (
            {"website": "https://example.com/" + "a" * 190},
            ProfileInvalid,
            "website",
            "Website must be at most 200 characters.",
        ),
    ],
)
def test_update_profile_refuses_bad_fields(
    changes: dict[str, Any], error: type[AccountError], field: str, message: str
) -> None:
    user = _create()
    with pytest.raises(error) as caught:
        user_update_profile(user_id=user.pk, is_private=True, **changes)
    assert (caught.value.field, caught.value.message) == (field, message)
    user.refresh_from_db()
    assert user.is_private is False  # nothing was written


@pytest.mark.django_db(databases=ALL)
def test_update_profile_cannot_change_the_email() -> None:
    # Only a link mailed to the new address changes it (accounts/services/email_change.py).
    user = _create()
    with pytest.raises(TypeError):
        user_update_profile(user_id=user.pk, email="elsewhere@example.com")  # type: ignore[call-arg]
    user.refresh_from_db()
    assert user.email != "elsewhere@example.com"


@pytest.mark.parametrize(
    ("email", "message"),
    [
        ("nope", "Enter a valid email address."),
        ("", "Enter your email address."),
        ("   ", "Enter your email address."),
        ("a@" + ".".join(["b" * 50] * 5) + ".com", "Email addresses are at most 254 characters."),
    ],
)
def test_email_normalize_refuses_what_is_not_an_address(email: str, message: str) -> None:
    with pytest.raises(EmailInvalid) as caught:
        email_normalize(email)
    assert (caught.value.field, caught.value.message) == ("email", message)


def test_email_normalize_lowercases_the_domain_only() -> None:
    assert email_normalize("  Ada.L@Example.COM ") == "Ada.L@example.com"


# --- passwords ------------------------------------------------------------------------------


@pytest.mark.django_db(databases=ALL)
def test_change_password_checks_the_old_one_and_the_validators() -> None:
    user = _create()
    with pytest.raises(PasswordIncorrect) as wrong:
        user_change_password(user_id=user.pk, old_password="guess", new_password="x-ray-tango-99")
    assert (wrong.value.field, wrong.value.message) == (
        "old_password",
        "Your old password was entered incorrectly.",
    )
    with pytest.raises(PasswordInvalid) as weak:
        user_change_password(user_id=user.pk, old_password=PASSWORD, new_password="password")
    assert (weak.value.field, weak.value.message) == (
        "new_password1",
        "This password is too common.",
    )
    user_change_password(user_id=user.pk, old_password=PASSWORD, new_password="x-ray-tango-99")
    user.refresh_from_db()
    assert user.check_password("x-ray-tango-99")
    assert not user.check_password(PASSWORD)


# --- profile pictures -----------------------------------------------------------------------


def _exif_jpeg() -> bytes:
    """Return a 400x200 JPEG, red above blue, that EXIF says to rotate 90° clockwise; with GPS."""
    image = Image.new("RGB", (400, 200), "red")
    image.paste((0, 0, 255), (0, 100, 400, 200))
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    exif[ExifTags.Base.Make] = "TestCam"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (52.0, 22.0, 1.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (4.0, 53.0, 2.0)
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif, comment=b"secret comment", quality=95)
    return out.getvalue()


def _rgb(image: Image.Image, xy: tuple[int, int]) -> tuple[int, int, int]:
    red, green, blue = image.convert("RGB").getpixel(xy)  # type: ignore[misc]  # RGB gives 3 ints
    return red, green, blue


def _upload(data: bytes, name: str = "picture.jpg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="image/jpeg")


@pytest.mark.django_db(databases=ALL)
def test_profile_picture_is_upright_square_150px_and_stripped(
    stored_keys: list[str],
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    source = _exif_jpeg()
    with Image.open(io.BytesIO(source)) as original:
        assert original.getexif().get_ifd(ExifTags.IFD.GPSInfo)  # the input really has GPS
    user = _create()
    with django_capture_on_commit_callbacks(execute=True):
        key = user_set_profile_picture(user_id=user.pk, upload=_upload(source))
    stored_keys.append(key)
    assert re.fullmatch(rf"profiles/{user.pk}/[0-9a-f]{{32}}\.jpg", key)
    user.refresh_from_db()
    assert user.profile_picture == key
    with default_storage.open(key) as stored, Image.open(stored) as picture:
        picture.load()
        assert picture.format == "JPEG"
        assert picture.size == (150, 150)
        assert len(picture.getexif()) == 0
        assert not {"exif", "icc_profile", "comment", "xmp", "photoshop"} & set(picture.info)
        # Rotated upright: red (the top of the stored pixels) is now on the right.
        left, right = _rgb(picture, (10, 75)), _rgb(picture, (140, 75))
    assert left[2] > 200 and left[0] < 60, left
    assert right[0] > 200 and right[2] < 60, right


@pytest.mark.django_db(databases=ALL)
def test_a_new_profile_picture_deletes_the_old_object(
    stored_keys: list[str],
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    user = _create()
    with django_capture_on_commit_callbacks(execute=True):
        first = user_set_profile_picture(user_id=user.pk, upload=_upload(_exif_jpeg()))
    stored_keys.append(first)
    png = io.BytesIO()
    Image.new("RGBA", (64, 64), (0, 0, 0, 0)).save(png, format="PNG")
    with django_capture_on_commit_callbacks(execute=True):
        second = user_set_profile_picture(user_id=user.pk, upload=_upload(png.getvalue(), "a.png"))
    stored_keys.append(second)
    assert second != first
    assert not default_storage.exists(first)
    with default_storage.open(second) as stored, Image.open(stored) as picture:
        # Transparent pixels land on white, not black.
        assert picture.size == (150, 150)
        assert min(_rgb(picture, (75, 75))) > 240


def _bmp() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (20, 20), "green").save(out, format="BMP")
    return out.getvalue()


@pytest.mark.django_db(databases=ALL)
@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "The file is empty."),
        (b"just some text, not an image", FORMAT_MESSAGE),
        (_bmp(), FORMAT_MESSAGE),
        (b"\xff" * (26 * 1024 * 1024), "The file is 26.0 MB; the limit is 25.0 MB."),
        # PNG is lossless: past 24 MP it is refused from its header, as photos are.
        (png_declaring(8000, 7000), "The image has 56.0 megapixels; the limit is 24.0 megapixels."),
        (
            png_declaring(10000, 10000),
            "The image has 100.0 megapixels; the limit is 24.0 megapixels.",
        ),
        (
            png_declaring(20000, 20000),
            "The image has 400.0 megapixels; the limit is 24.0 megapixels.",
        ),
        (_exif_jpeg()[:-400], "The JPEG file is damaged or incomplete and cannot be read."),
    ],
    ids=["empty", "text", "bmp", "oversized", "56mp", "100mp", "400mp", "truncated"],
)
def test_bad_profile_pictures_are_refused(data: bytes, message: str) -> None:
    user = _create()
    with pytest.raises(PictureInvalid) as caught:
        user_set_profile_picture(user_id=user.pk, upload=_upload(data))
    assert (caught.value.field, caught.value.message) == ("picture", message)
    user.refresh_from_db()
    assert user.profile_picture == ""
    assert default_storage.listdir(f"profiles/{user.pk}")[1] == []
