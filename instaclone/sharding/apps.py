from django.apps import AppConfig


class ShardingConfig(AppConfig):
    name = "instaclone.sharding"
    label = "sharding"
    verbose_name = "Sharding"

    def ready(self) -> None:
        from instaclone.sharding import (
            adapters,
            connections,  # noqa: F401 - connects its signal handler
        )

        adapters.install()
