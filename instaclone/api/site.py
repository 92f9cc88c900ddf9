"""The v1 API instance every app's router is mounted on."""

from ninja import NinjaAPI

api = NinjaAPI(title="instaclone v1", version="1", urls_namespace="v1")
