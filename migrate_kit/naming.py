"""v2 names for v1 things: batch endpoint names that Azure ML accepts, without collisions.

A v2 batch endpoint name must be 3 to 32 characters, start with a letter, and hold only letters,
digits and hyphens, not ending in a hyphen (azure-ai-ml 1.35 checks
``^[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?$``). v1 endpoint and pipeline names allow spaces,
underscores and any length, so they are mapped here, and two v1 names that map to the same v2
name are told apart with a short, stable hash suffix.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable

__all__ = [
    "ENDPOINT_NAME_MAX",
    "ENDPOINT_NAME_MIN",
    "assign_endpoint_names",
    "endpoint_name",
    "is_valid_endpoint_name",
]

ENDPOINT_NAME_MIN = 3
ENDPOINT_NAME_MAX = 32
_VALID = re.compile(r"^[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?$")
_INVALID_RUN = re.compile(r"[^a-z0-9]+")


def is_valid_endpoint_name(name: str) -> bool:
    """Whether ``name`` is accepted as a v2 batch endpoint name as it is."""
    return ENDPOINT_NAME_MIN <= len(name) <= ENDPOINT_NAME_MAX and bool(_VALID.match(name))


def endpoint_name(v1_name: str) -> str:
    """Map a v1 name to a valid v2 endpoint name (lower case, hyphens, 3 to 32 characters).

    Accents are folded to ASCII (``Zürich`` → ``zurich``), every run of other characters
    becomes one hyphen, a leading digit gets an ``ep-`` prefix, and a long name is cut to 32
    characters with an 8-character hash of the full name so that cut names stay distinct.
    """
    folded = unicodedata.normalize("NFKD", v1_name).encode("ascii", "ignore").decode("ascii")
    name = _INVALID_RUN.sub("-", folded.lower()).strip("-")
    if not name:
        name = "ep-" + _short_hash(v1_name)
    if not name[0].isalpha():
        name = "ep-" + name
    if len(name) > ENDPOINT_NAME_MAX:
        name = name[: ENDPOINT_NAME_MAX - 9].rstrip("-") + "-" + _short_hash(v1_name)
    if len(name) < ENDPOINT_NAME_MIN:
        name = name + "-ep"
    return name


def assign_endpoint_names(v1_names: Iterable[str]) -> dict[str, str]:
    """Map each distinct v1 name to a distinct valid v2 name.

    Names that collide once mapped (``daily_sales`` and ``daily-sales``) keep the plain mapping
    for the first in sorted order; each other one gets a hash suffix of its own v1 name. The
    result does not depend on the order of ``v1_names``.
    """
    assigned: dict[str, str] = {}
    taken: set[str] = set()
    for v1_name in sorted(set(v1_names)):
        candidate = endpoint_name(v1_name)
        if candidate in taken:
            stem = candidate[: ENDPOINT_NAME_MAX - 9].rstrip("-")
            candidate = f"{stem}-{_short_hash(v1_name)}"
        taken.add(candidate)
        assigned[v1_name] = candidate
    return assigned


def _short_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]
