from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "instaclone.events"
    label = "events"
    verbose_name = "Events"
