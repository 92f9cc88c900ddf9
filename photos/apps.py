from django.apps import AppConfig


class PhotosConfig(AppConfig):
    name = "photos"

    def ready(self) -> None:
        from photos.selectors.entries import connect_card_receivers
        from photos.services.tags import connect_tag_receivers

        connect_card_receivers()
        connect_tag_receivers()
