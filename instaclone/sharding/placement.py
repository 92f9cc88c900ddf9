"""Every model of the project declares where it lives: the users database or the shards."""

from __future__ import annotations

from typing import Literal, TypeVar

from django.db import models

Placement = Literal["users", "sharded"]
ModelT = TypeVar("ModelT", bound=type[models.Model])

# Apps whose models must declare a placement; third-party apps live in the users database.
PROJECT_APPS = frozenset(
    {"sharding", "events", "api", "accounts", "photos", "feeds", "notifications"}
)


def users_database(model: ModelT) -> ModelT:
    """Declare a model as living in the users database (alias ``default``)."""
    model._shard_placement = "users"  # type: ignore[attr-defined]
    return model


def sharded(model: ModelT) -> ModelT:
    """Declare a model as living in every logical shard, reached through a shard context."""
    model._shard_placement = "sharded"  # type: ignore[attr-defined]
    return model


class UndeclaredPlacement(LookupError):
    """A project model did not say where it lives."""


def placement_of(model: type[models.Model]) -> Placement:
    """Return where a model lives; raise for a project model that did not declare it."""
    declared: Placement | None = getattr(model, "_shard_placement", None)
    if declared is not None:
        return declared
    through_owner = model._meta.auto_created
    if isinstance(through_owner, type) and issubclass(through_owner, models.Model):
        # Many-to-many tables Django creates live with the model that declares the field.
        return placement_of(through_owner)
    if model._meta.app_label in PROJECT_APPS:
        raise UndeclaredPlacement(
            f"{model._meta.label} must be decorated with @users_database or @sharded"
        )
    return "users"
