"""One reader for the nested setting sections (``verify``, ``user_center``, ``notify``):
from a mapping (TOML) or JSON (environment), unknown names refused, each value coerced
to its default's type unless the section names a coercer of its own."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import fields
from typing import Any, Protocol, TypeVar

from voiceotp.errors import SettingsError

__all__ = ["Section", "coerce_section", "listed"]


class Section(Protocol):
    def checked(self) -> Any: ...


S = TypeVar("S", bound=Section)
Coercers = Mapping[str, Callable[[Any], Any]]


def listed(kind: Callable[[str], Any]) -> Callable[[Any], tuple[Any, ...]]:
    """A list from "a,b" or a sequence, items stripped, empty ones dropped."""

    def coerce(value: Any) -> tuple[Any, ...]:
        items = value.split(",") if isinstance(value, str) else list(value)
        return tuple(kind(str(i).strip()) for i in items if str(i).strip())

    return coerce


def coerce_section(cls: type[S], raw: Any, name: str, coercers: Coercers = {}) -> S:  # noqa: B006
    """``cls`` (a dataclass with a ``checked()``) from an instance, a mapping or JSON."""
    if isinstance(raw, cls):
        return raw.checked()  # type: ignore[no-any-return]
    raw = json.loads(raw) if isinstance(raw, str) else raw
    unknown = set(raw) - {f.name for f in fields(cls)}  # type: ignore[arg-type]
    if unknown:
        raise SettingsError(f"unknown {name} setting(s): {', '.join(sorted(unknown))}")
    default, values = cls(), {}
    for key, value in raw.items():
        kind = type(getattr(default, key))
        if key in coercers:
            values[key] = coercers[key](value)
        elif kind is bool:
            values[key] = str(value).strip().lower() in ("1", "true", "yes", "on")
        else:
            try:
                values[key] = kind(value)
            except (TypeError, ValueError) as exc:
                raise SettingsError(f"{name}.{key}: {exc}") from exc
    return cls(**values).checked()  # type: ignore[no-any-return]
