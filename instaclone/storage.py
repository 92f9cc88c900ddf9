"""The S3 storage backend: django-storages', with small files stored in one PutObject call."""

from __future__ import annotations

from typing import Any

from storages.backends import s3
from storages.utils import clean_name, is_seekable

# Bigger files still go through upload_fileobj, which splits them into a multipart upload.
SINGLE_PUT_MAX_BYTES = 16 * 1024 * 1024


class S3Storage(s3.S3Storage):  # type: ignore[misc]  # django-storages ships no types
    """django-storages' S3Storage; files up to 16 MB are stored with one PutObject call.

    ``upload_fileobj`` builds an s3transfer manager, with its threads and futures, for every
    file: for a rendition of tens of kilobytes that costs more than the upload (measured on the
    local stack: 12 ms against 5.6 ms for one 56 KB object; a photo's three renditions side by
    side 33 ms against 8 ms).
    """

    def _save(self, name: str, content: Any) -> str:
        size = getattr(content, "size", None)
        if size is None or size > SINGLE_PUT_MAX_BYTES or self.gzip:
            return str(super()._save(name, content))
        cleaned = clean_name(name)
        key = self._normalize_name(cleaned)
        params = self._get_write_parameters(key, content)
        if is_seekable(content):
            content.seek(0)
        body = content.read()
        if isinstance(body, str):
            body = body.encode()
        # The client call, not boto3's resource action (bucket.Object(key).put): the same
        # request for about 0.7 ms less Python each (1.2 against 1.9 ms of CPU, 56 KB object).
        self.connection.meta.client.put_object(
            Bucket=self.bucket_name, Key=key, Body=body, **params
        )
        return str(cleaned)
