"""The S3 backend: small files in one PutObject, big ones multipart, both read back whole."""

from __future__ import annotations

import secrets

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage, storages

from instaclone.storage import SINGLE_PUT_MAX_BYTES, S3Storage


@pytest.mark.parametrize("size", [0, 56 * 1024, SINGLE_PUT_MAX_BYTES + 1])
def test_saved_objects_read_back_whole_and_overwrite(size: int) -> None:
    assert type(storages["default"]) is S3Storage
    key = f"tests/storage/{secrets.token_hex(8)}.jpg"
    first = secrets.token_bytes(size)
    try:
        assert default_storage.save(key, ContentFile(first)) == key
        assert default_storage.save(key, ContentFile(b"second")) == key  # overwrites
        with default_storage.open(key) as handle:
            assert handle.read() == b"second"
        head = default_storage.connection.meta.client.head_object(
            Bucket=default_storage.bucket_name, Key=key
        )
        assert head["ContentType"] == "image/jpeg"
        default_storage.save(key, ContentFile(first))
        with default_storage.open(key) as handle:
            assert handle.read() == first
    finally:
        default_storage.delete(key)
    assert not default_storage.exists(key)
