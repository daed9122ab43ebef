"""Relative paths in a config are put under the config file's folder."""

from __future__ import annotations

from pathlib import Path, PurePath
from types import UnionType
from typing import Annotated, Any, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)


def resolve_paths(model: M, base: Path) -> M:
    """Relative paths are relative to the config file, not to wherever the kiosk started.

    Which settings are paths is read from the model's own types (Path, Path | None,
    list[Path], in every section and list of sections), so a new path setting is resolved
    without being listed here."""
    updates = {}
    for name, field in type(model).model_fields.items():
        value = getattr(model, name)
        new = _resolved(field.annotation, value, base)
        if new is not value:
            updates[name] = new
    return model.model_copy(update=updates) if updates else model


def _resolved(annotation: Any, value: Any, base: Path) -> Any:
    """`value`, of type `annotation`, with every relative path in it put under `base`."""
    if value is None:
        return None
    origin = get_origin(annotation)
    if origin is Annotated:
        return _resolved(get_args(annotation)[0], value, base)
    if origin is Union or origin is UnionType:
        for member in get_args(annotation):  # the member of the union the value is
            kind = get_origin(_bare(member)) or _bare(member)
            if isinstance(kind, type) and isinstance(value, kind):
                return _resolved(member, value, base)
        return value
    if origin is list:
        (item,) = get_args(annotation)
        items = [_resolved(item, v, base) for v in value]
        return items if any(a is not b for a, b in zip(items, value, strict=True)) else value
    if isinstance(annotation, type) and issubclass(annotation, PurePath):
        return value if value.is_absolute() else base / value
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return resolve_paths(value, base)
    return value


def _bare(annotation: Any) -> Any:
    """The type under Annotated[...]."""
    return get_args(annotation)[0] if get_origin(annotation) is Annotated else annotation
