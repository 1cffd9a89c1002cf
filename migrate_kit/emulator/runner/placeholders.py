"""The v2 command placeholders: ``${{inputs.x}}``, ``${{outputs.y}}`` and ``$[[...]]`` groups.

Azure ML substitutes a step's placeholders when the job starts: a data input by the path it is
mounted or downloaded at, a literal by its value, an output by the folder (or file) the step must
write. A ``$[[...]]`` group wraps a part of the command that only makes sense when an optional
input has a value (``$[[--limit ${{inputs.limit}}]]``): with every input inside it set, the
group's brackets go and its text stays; with any of them unset, the whole group goes. Values are
inserted as they are, without shell quoting, as the service does.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping

__all__ = ["group_names", "placeholder_names", "resolve"]

logger = logging.getLogger(__name__)

#: ``${{inputs.name}}`` / ``${{outputs.name}}``; the SDK allows blanks inside the braces.
_PLACEHOLDER = re.compile(r"\$\{\{\s*(inputs|outputs)\.([\w.-]+)\s*\}\}")
_GROUP = re.compile(r"\$\[\[(.*?)\]\]", re.DOTALL)

#: ``(kind, name)`` pairs, kind ``"inputs"`` or ``"outputs"``.
Names = set[tuple[str, str]]


def placeholder_names(text: str) -> Names:
    """Every placeholder of ``text``, inside a group or not."""
    return {(m.group(1), m.group(2)) for m in _PLACEHOLDER.finditer(text)}


def group_names(text: str) -> Names:
    """The placeholders that appear inside a ``$[[...]]`` group (they may stay unset)."""
    found: Names = set()
    for group in _GROUP.finditer(text):
        found |= placeholder_names(group.group(1))
    return found


def resolve(text: str, values: Mapping[tuple[str, str], str | None]) -> str:
    """``text`` with its groups and placeholders replaced.

    ``values`` maps ``(kind, name)`` to the text to insert, or None for an unset optional input.
    A placeholder missing from ``values`` counts as unset. An unset placeholder outside any group
    becomes an empty string (logged), which is what a shell sees for a missing optional value.
    """

    def fill(match: re.Match[str]) -> str:
        key = (match.group(1), match.group(2))
        value = values.get(key)
        if value is None:
            logger.warning("No value for ${{%s.%s}} outside a $[[...]] group; left empty", *key)
            return ""
        return value

    def group(match: re.Match[str]) -> str:
        inner = match.group(1)
        if any(values.get(key) is None for key in placeholder_names(inner)):
            return ""
        return _PLACEHOLDER.sub(fill, inner)

    return _PLACEHOLDER.sub(fill, _GROUP.sub(group, text))
