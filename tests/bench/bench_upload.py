"""Upload end to end through nginx vs a plain decode of the same 12-megapixel JPEG.

Subject: ``POST /v1/media/upload`` through nginx and Gunicorn (processing, three renditions to
S3, the row, the map entry, the jobs after commit). Baseline: ``Image.open(...).load()`` of the
same bytes in this process. Goal: <= 1.5x.
"""

from __future__ import annotations

import io
import json
import os
import random
import secrets
import urllib.request
from datetime import timedelta

from PIL import Image, ImageDraw

from tests.bench.harness import BenchResult, Row, interleave, time_ratio, timed

ROUNDS = 15
GOAL = 1.5


def _photo(width: int = 4000, height: int = 3000) -> bytes:
    """Draw a photo-like 12 MP JPEG: gradients, shapes, noise (flat colour compresses unfairly)."""
    rng = random.Random(12)
    image = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    draw = ImageDraw.Draw(image)
    for _ in range(300):
        x, y = rng.randrange(width), rng.randrange(height)
        r = rng.randrange(20, 300)
        draw.ellipse([x - r, y - r, x + r, y + r], fill=tuple(rng.randrange(256) for _ in range(3)))
    noise = Image.effect_noise((width, height), 40).convert("RGB")
    image = Image.blend(image, noise, 0.25)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=92)
    return out.getvalue()


def _multipart(data: bytes) -> tuple[bytes, str]:
    boundary = secrets.token_hex(16)
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="caption"\r\n\r\nbench\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="photo"; filename="p.jpg"\r\n'
        "Content-Type: image/jpeg\r\n\r\n"
    ).encode()
    return head + data + f"\r\n--{boundary}--\r\n".encode(), boundary


def run() -> BenchResult:
    """Measure uploads through nginx against plain decodes, interleaved."""
    from django.utils import timezone
    from oauth2_provider.models import AccessToken, Application

    from accounts.models import User
    from photos.services.comments import photo_delete

    app_url = os.environ.get("APP_URL", "http://127.0.0.1:18080")
    data = _photo()
    user = User.objects.create_user(
        username=f"bench_{secrets.token_hex(5)}", email=f"{secrets.token_hex(5)}@bench.local"
    )
    client = Application.objects.create(
        name="bench-upload",
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_PASSWORD,
    )
    token = secrets.token_urlsafe(24)
    AccessToken.objects.create(
        user=user,
        application=client,
        token=token,
        scope="basic publish",
        expires=timezone.now() + timedelta(hours=1),
    )
    posted: list[int] = []

    def upload() -> None:
        body, boundary = _multipart(data)
        request = urllib.request.Request(  # noqa: S310 - our own stack
            f"{app_url}/v1/media/upload",
            data=body,
            headers={
                "Authorization": f"Bearer {token}",
                "Content-Type": f"multipart/form-data; boundary={boundary}",
            },
        )
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
            answer = json.loads(response.read())
        posted.append(int(answer["data"]["id"].split("_")[0]))

    def decode() -> None:
        with Image.open(io.BytesIO(data)) as image:
            image.load()

    try:
        times = interleave(
            {"upload": lambda: timed(upload), "decode": lambda: timed(decode)}, rounds=ROUNDS
        )
        ratio = time_ratio(times["upload"], times["decode"])
    finally:
        for photo_id in posted:
            photo_delete(user_id=user.id, photo_id=photo_id)
        AccessToken.objects.filter(application=client).delete()
        client.delete()
        user.delete()
    upload_ms = sorted(times["upload"])[ROUNDS // 2] * 1000
    decode_ms = sorted(times["decode"])[ROUNDS // 2] * 1000
    row = Row.measured(
        "upload: end to end through nginx",
        f"POST /v1/media/upload {upload_ms:.0f} ms",
        f"plain decode {decode_ms:.0f} ms",
        ratio,
        goal=f"<= {GOAL}",
        met=ratio.median <= GOAL,
        bytes=len(data),
    )
    return BenchResult(
        name="upload",
        rows=[row],
        notes=[
            f"A {len(data) / 1e6:.1f} MB, 4000x3000 JPEG posted through nginx ({app_url}) with "
            f"a Bearer token; {ROUNDS} interleaved rounds after a warm-up; photos deleted after."
        ],
    )
