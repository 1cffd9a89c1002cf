"""Tolerant readers for single values of the v1 pipelines wire format.

The live service's exact encodings are unconfirmed (reference §1, §15): enums may arrive as an
int, a numeric string or a name in any case, dates as ISO-8601 with seven fraction digits or as
plain strings, and any field may be missing or of an unexpected type. Every reader here returns
``None`` (or an empty value) instead of raising, and enum lookups append a sentence to a
``problems`` list when a value is present but not recognised.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from types import MappingProxyType
from typing import Any, TypeVar

__all__ = [
    "Unavailable",
    "as_bool",
    "as_int",
    "as_list",
    "as_map",
    "as_text",
    "enum_table",
    "lookup_enum",
    "parse_datetime",
    "raw_json_text",
]

T = TypeVar("T")

_EMPTY: Mapping[str, Any] = MappingProxyType({})

_DATE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})"
    r"(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?"
    r"\s*(Z|[+-]\d{2}:?\d{2})?$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Unavailable:
    """Stands in for an entity the reader could not fetch; ``reason`` is one sentence."""

    reason: str


def as_text(value: Any) -> str | None:
    """Return ``value`` as a string: strings as they are, numbers and booleans via ``str()``.

    Objects and arrays become compact JSON text; ``None`` stays ``None``.
    """
    if value is None or type(value) is str:  # the common case first: this runs very often
        return value
    if isinstance(value, (str, bool, int, float)):
        return str(value)
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def as_list(value: Any) -> list[Any]:
    """Return ``value`` if it is a JSON array, else an empty list."""
    return value if isinstance(value, list) else []


def as_map(value: Any) -> Mapping[str, Any]:
    """Return ``value`` if it is a JSON object, else an empty mapping."""
    if type(value) is dict:  # fast path: decoded JSON objects are plain dicts
        return value
    return value if isinstance(value, Mapping) else _EMPTY


def as_bool(value: Any, default: bool | None = None) -> bool | None:
    """Read a boolean sent as JSON ``true``/``false``, ``"true"``/``"false"`` or ``1``/``0``."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value != 0
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in ("true", "1", "yes"):
            return True
        if lowered in ("false", "0", "no"):
            return False
    return default


def as_int(value: Any) -> int | None:
    """Read an integer sent as a JSON number or a numeric string; anything else is ``None``."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return None
    return None


def raw_json_text(value: Any) -> str | None:
    """Keep a JSON-ish value as text: strings unchanged, objects and arrays as JSON."""
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, indent=2, sort_keys=True, default=str)


def enum_table(*entries: tuple[T, str, tuple[str, ...]]) -> dict[str, T]:
    """Build a lookup table from ``(value, number, names)`` entries.

    Keys are the numeric string and each name lower-cased, so ``lookup_enum`` can match ``1``,
    ``"1"``, ``"Double"`` and ``"DOUBLE"`` alike. An empty number means "no numeric form".
    """
    table: dict[str, T] = {}
    for value, number, names in entries:
        if number:
            table[number] = value
        for name in names:
            table[name.lower()] = value
    return table


def lookup_enum(
    value: Any, table: Mapping[str, T], what: str, problems: list[str] | None = None
) -> T | None:
    """Map a wire enum (int, numeric string or name, any case) through ``table``.

    Returns ``None`` when the value is missing or empty. A present value that ``table`` does not
    know also returns ``None`` and adds a problem naming the value and the field ``what``.
    """
    key: str | None
    if type(value) is str:  # fast path
        key = value.strip().lower()
    elif value is None or isinstance(value, bool):
        key = None if value is None else str(value).lower()
    elif isinstance(value, int):
        key = str(value)
    elif isinstance(value, str):
        key = value.strip().lower()
    else:
        key = json.dumps(value)
    if not key:
        return None

    found = table.get(key)
    if found is None and problems is not None:
        problems.append(f"{what} has the unknown value {value!r}")
    return found


def parse_datetime(value: Any) -> datetime | None:
    """Parse a service date, tolerating ``Z``, any number of fraction digits and no time zone.

    A date without a time zone is taken as UTC (the service writes UTC). Anything that is not an
    ISO-8601 date, such as a free-text string or a number, gives ``None``.
    """
    if not isinstance(value, str):
        return None
    match = _DATE.match(value.strip())
    if match is None:
        return None

    year, month, day, hour, minute, second, fraction, zone = match.groups()
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    try:
        return datetime(
            int(year),
            int(month),
            int(day),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            micro,
            tzinfo=_zone(zone),
        )
    except ValueError:  # out-of-range parts, e.g. month 13 or offset +99:00
        return None


def _zone(text: str | None) -> timezone:
    """Return the time zone of an ISO-8601 suffix (``Z``, ``+01:00``, ``-0530`` or nothing)."""
    if not text or text.upper() == "Z":
        return timezone.utc
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    return timezone(sign * offset)
