"""Filter names: display names, slugs and aliases, looked up in any case."""

from __future__ import annotations

import re

from photos.filters.recipes import SPECS, FilterSpec

FILTER_NAMES: tuple[str, ...] = tuple(spec.name for spec in SPECS)


class UnknownFilter(KeyError):
    """A filter name or slug that names none of the filters."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.message = f"Unknown filter {name!r}; choose one of: {', '.join(FILTER_NAMES)}."
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message


def _key(name: str) -> str:
    """Return ``name`` lowercased with everything but letters and digits removed."""
    return re.sub(r"[^a-z0-9]", "", name.lower())


def _index_specs() -> dict[str, FilterSpec]:
    """Return every accepted spelling (name, slug, alias), squeezed by ``_key``, to its spec."""
    index: dict[str, FilterSpec] = {}
    for spec in SPECS:
        for spelling in (spec.name, spec.slug, *spec.aliases):
            key = _key(spelling)
            if index.setdefault(key, spec) is not spec:
                raise ValueError(f"filter spelling {spelling!r} is ambiguous")
    return index


_BY_KEY = _index_specs()


def filter_spec(name: str) -> FilterSpec:
    """Return the spec for a display name, slug or alias, in any case; raise UnknownFilter."""
    spec = _BY_KEY.get(_key(name)) if isinstance(name, str) else None
    if spec is None:
        raise UnknownFilter(str(name))
    return spec


def filter_slug(name: str) -> str:
    """Return the canonical slug ("x-pro-ii") for any accepted spelling of a filter."""
    return filter_spec(name).slug


def filter_name(name: str) -> str:
    """Return the display name ("X-Pro II") for any accepted spelling of a filter."""
    return filter_spec(name).name
