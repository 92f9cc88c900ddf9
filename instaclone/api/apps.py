from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "instaclone.api"
    label = "api"
    verbose_name = "API"
