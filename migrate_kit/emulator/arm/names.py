"""Name rules of Azure ML v2 resources, as the service enforces them.

- batch endpoint and deployment names: 3 to 32 characters, a letter first, then letters, digits
  and hyphens, not ending with a hyphen (the rule azure-ai-ml also checks before sending);
- component names: a lowercase letter first, then lowercase letters, digits and underscores, at
  most 255 characters (the rule of the component YAML schema);
- other asset names (code, environment, data): a letter or digit first, then letters, digits,
  ``-``, ``_`` and ``.``, at most 255 characters;
- asset versions: a letter or digit first, then letters, digits, ``-``, ``_`` and ``.``.

Known shortcoming: the service's exact limits on version strings are unconfirmed; versions up to
255 characters are accepted here.
"""

from __future__ import annotations

import logging
import re

from migrate_kit.emulator.arm.errors import BadArgument

__all__ = [
    "check_asset_name",
    "check_component_name",
    "check_endpoint_name",
    "check_version",
]

logger = logging.getLogger(__name__)

_ENDPOINT = re.compile(r"[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?")
_COMPONENT = re.compile(r"[a-z][a-z0-9_]{0,254}")
_ASSET = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.\-]{0,254}")
_VERSION = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.\-]{0,254}")


def check_endpoint_name(name: str, *, deployment: bool = False) -> None:
    """400 unless ``name`` is a valid batch endpoint (or deployment) name."""
    what = "deployment" if deployment else "endpoint"
    if not 3 <= len(name) <= 32:
        raise BadArgument(
            f"The {what} name '{name}' is invalid: it must be between 3 and 32 characters long "
            f"(it has {len(name)}).",
            target="name",
        )
    if _ENDPOINT.fullmatch(name) is None:
        raise BadArgument(
            f"The {what} name '{name}' is invalid: it must start with a letter and contain only "
            "letters, digits and hyphens ('-'), and must not end with a hyphen.",
            target="name",
        )


def check_component_name(name: str) -> None:
    """400 unless ``name`` is a valid component name."""
    if _COMPONENT.fullmatch(name) is None:
        raise BadArgument(
            f"The component name '{name}' is invalid: it must start with a lowercase letter and "
            "contain only lowercase letters, digits and underscores, at most 255 characters.",
            target="name",
        )


def check_asset_name(kind: str, name: str) -> None:
    """400 unless ``name`` is a valid name for an asset of ``kind`` (code, environment, data)."""
    if _ASSET.fullmatch(name) is None:
        raise BadArgument(
            f"The {kind} name '{name}' is invalid: it must start with a letter or digit and "
            "contain only letters, digits, '-', '_' and '.', at most 255 characters.",
            target="name",
        )


def check_version(kind: str, name: str, version: str) -> None:
    """400 unless ``version`` is a valid asset version string."""
    if _VERSION.fullmatch(version) is None:
        raise BadArgument(
            f"The version '{version}' of {kind} '{name}' is invalid: it must start with a letter "
            "or digit and contain only letters, digits, '-', '_' and '.'.",
            target="version",
        )
