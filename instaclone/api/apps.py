from django.apps import AppConfig
from django.core import checks


class ApiConfig(AppConfig):
    name = "instaclone.api"
    label = "api"
    verbose_name = "API"

    def ready(self) -> None:
        from instaclone.clientip import check_trusted_proxies

        # A proxy list that does not parse would fail every request; say so at start-up.
        checks.register(check_trusted_proxies, checks.Tags.security)
