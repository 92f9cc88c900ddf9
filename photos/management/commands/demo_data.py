"""``manage.py demo_data``: a few dozen people following each other, posting, liking, commenting.

Idempotent: it does nothing when the demo people already exist. Photos are drawn here (skies,
suns, hills, stripes), so nothing is downloaded.
"""

from __future__ import annotations

import io
import random
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand
from PIL import Image, ImageDraw

from accounts.models import User
from accounts.services import graph
from photos.filters import FILTER_NAMES
from photos.services import comments, likes
from photos.services.upload import photo_create

PASSWORD = "instaclone demo password"  # noqa: S105 - the public demo account
PLACES = ["Lisbon", "Kyoto", "Big Sur", "Reykjavik", "Marrakesh", "Brooklyn", "Patagonia"]
WORDS = ["sunset", "coffee", "beach", "city", "dog", "food", "travel", "mountains", "friends"]
REMARKS = ["Love this!", "So good", "Where is this?", "Amazing light", "Wow", "Take me there"]


def _picture(rng: random.Random) -> bytes:
    """Draw a small landscape-ish photo: a sky gradient, a sun, hills, some texture."""
    size = 720
    top = tuple(rng.randrange(40, 255) for _ in range(3))
    bottom = tuple(rng.randrange(0, 200) for _ in range(3))
    image = Image.new("RGB", (size, size))
    draw = ImageDraw.Draw(image)
    for y in range(size):
        t = y / size
        draw.line(
            [(0, y), (size, y)],
            fill=tuple(int(a * (1 - t) + b * t) for a, b in zip(top, bottom, strict=True)),
        )
    cx, cy, r = rng.randrange(100, 620), rng.randrange(80, 360), rng.randrange(30, 90)
    draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=(255, rng.randrange(180, 255), 90))
    for _ in range(rng.randrange(2, 5)):
        base = rng.randrange(420, 700)
        peak = rng.randrange(200, base)
        x = rng.randrange(-200, 600)
        colour = tuple(rng.randrange(0, 120) for _ in range(3))
        draw.polygon([(x, size), (x + 250, peak), (x + 500, size)], fill=colour)
    for _ in range(200):
        x, y = rng.randrange(size), rng.randrange(size)
        draw.point((x, y), fill=(255, 255, 255))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


class Command(BaseCommand):
    help = "Load demo people, follows, photos, likes and comments (once)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--people", type=int, default=30)
        parser.add_argument("--photos", type=int, default=240)
        parser.add_argument("--seed", type=int, default=2011)

    def handle(self, *args: Any, people: int, photos: int, seed: int, **options: Any) -> None:
        if User.objects.filter(username="demo").exists():
            self.stdout.write(
                "Demo data already loaded (log in as demo / instaclone demo password)."
            )
            return
        rng = random.Random(seed)
        users = [self._person("demo", "Demo Person")]
        users += [self._person(f"demo_{i:02d}", f"Demo {i:02d}") for i in range(1, people)]
        for user in users:
            for other in rng.sample(users, k=min(len(users), rng.randrange(5, 15))):
                if other.id != user.id:
                    graph.follow(follower_id=user.id, target_id=other.id)
        posted = []
        for n in range(photos):
            author = rng.choice(users)
            tags = " ".join(f"#{w}" for w in rng.sample(WORDS, k=rng.randrange(0, 3)))
            result = photo_create(
                user_id=author.id,
                data=_picture(rng),
                caption=f"{rng.choice(PLACES)} {tags}".strip(),
                filter_name=rng.choice(FILTER_NAMES),
            )
            posted.append(result.photo_id)
            if n % 40 == 39:
                self.stdout.write(f"  {n + 1} photos posted")
        for photo_id in posted:
            for fan in rng.sample(users, k=rng.randrange(0, 8)):
                likes.like(user_id=fan.id, photo_id=photo_id)
            for fan in rng.sample(users, k=rng.randrange(0, 3)):
                comments.comment_create(user_id=fan.id, photo_id=photo_id, text=rng.choice(REMARKS))
        self.stdout.write(
            self.style.SUCCESS(
                f"Loaded {len(users)} people and {len(posted)} photos; log in as demo / {PASSWORD}."
            )
        )

    def _person(self, username: str, full_name: str) -> User:
        return User.objects.create_user(
            username=username,
            email=f"{username}@demo.instaclone.local",
            password=PASSWORD,
            full_name=full_name,
        )
