"""v2 names and versions for v1 things, valid as Azure ML checks them and free of collisions.

v1 names allow spaces, any characters and any length; v2 names do not. The mappers here are
deterministic (the same v1 input always gives the same v2 name, so a rerun finds what an earlier
run created), and two v1 names that map to the same v2 name are told apart with a short, stable
hash of the v1 name. The rules followed, as azure-ai-ml 1.35.2 states them:

- **batch endpoint names**: 3 to 32 characters, a letter first, then letters, digits and hyphens,
  not ending in a hyphen: ``EndpointConfigurations.MIN_NAME_LENGTH``, ``MAX_NAME_LENGTH`` and
  ``NAME_REGEX_PATTERN`` ``^[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?$``
  (``azure/ai/ml/constants/_endpoint.py``), checked by ``validate_endpoint_or_deployment_name``;
- **batch deployment names**: the same rule. The SDK checks it itself only for online
  deployments, and ``Deployment.__init__`` lower-cases every deployment name
  (``azure/ai/ml/entities/_deployment/deployment.py``), so the names made here are lower case
  and an override in upper case is refused rather than silently changed;
- **component names**: a lower-case letter first, then lower-case letters, digits and
  underscores: the pattern ``^[a-z][a-z\\d_]*$`` of ``PythonFuncNameStr``, which
  ``ComponentNameStr`` uses (``azure/ai/ml/_schema/core/fields.py``). ``azureml_anonymous``
  (``ANONYMOUS_COMPONENT_NAME``) is the SDK's name for unregistered components and is avoided;
- **versions**: the SDK takes any string (``VersionField``), but a version goes into the ARM path
  ``.../components/<name>/versions/<version>`` and into ``azureml:<name>:<version>`` references,
  so versions made here hold only letters, digits, ``.``, ``_`` and ``-``, a letter or digit first.

Known shortcoming: the service's own limits on component name and version length, and whether it
checks batch deployment names exactly as the SDK checks online ones, are not stated in the SDK
(the emulator assumes so). Overrides are accepted up to 255 characters, the limit the emulator
applies; generated component names stay within 64 characters, and versions within 41 with a
``content_hash`` hash.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence

from migrate_kit.errors import ConfigurationError

__all__ = [
    "COMPONENT_NAME_MAX",
    "DEPLOYMENT_NAME_MAX",
    "DEPLOYMENT_NAME_MIN",
    "ENDPOINT_NAME_MAX",
    "ENDPOINT_NAME_MIN",
    "assign_component_names",
    "assign_deployment_names",
    "assign_endpoint_names",
    "component_name",
    "component_version",
    "content_hash",
    "deployment_name",
    "endpoint_name",
    "is_valid_component_name",
    "is_valid_component_version",
    "is_valid_deployment_name",
    "is_valid_endpoint_name",
    "validate_component_name",
    "validate_deployment_name",
    "validate_endpoint_name",
]

ENDPOINT_NAME_MIN = 3
ENDPOINT_NAME_MAX = 32
DEPLOYMENT_NAME_MIN = 3
DEPLOYMENT_NAME_MAX = 32
COMPONENT_NAME_MAX = 255  # the longest override accepted (see the known shortcoming above)

_HASH_LENGTH = 8
_COMPONENT_NAME_CUT = 64  # generated component names stay readable in studio
_VERSION_LABEL_MAX = 32  # the part of a version taken from the v1 version
_ANONYMOUS_COMPONENT = "azureml_anonymous"

_VALID_ENDPOINT = re.compile(r"[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?")
_VALID_COMPONENT = re.compile(r"[a-z][a-z0-9_]*")
_VALID_VERSION = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]*")
_INVALID_RUN = re.compile(r"[^a-z0-9]+")
_INVALID_VERSION_RUN = re.compile(r"[^a-zA-Z0-9_.-]+")
_HASH_TEXT = re.compile(r"[a-zA-Z0-9]+")


# --- endpoints -------------------------------------------------------------------------------


def is_valid_endpoint_name(name: str) -> bool:
    """Whether ``name`` is accepted as a v2 batch endpoint name as it is."""
    return ENDPOINT_NAME_MIN <= len(name) <= ENDPOINT_NAME_MAX and bool(
        _VALID_ENDPOINT.fullmatch(name)
    )


def endpoint_name(v1_name: str) -> str:
    """Map a v1 name to a valid v2 endpoint name (lower case, hyphens, 3 to 32 characters).

    Accents are folded to ASCII (``Zürich`` → ``zurich``), every run of other characters
    becomes one hyphen, a leading digit gets an ``ep-`` prefix, and a long name is cut to 32
    characters with an 8-character hash of the full name so that cut names stay distinct.
    """
    name = _fold(v1_name, "-")
    if not name:
        name = "ep-" + _short_hash(v1_name)
    if not name[0].isalpha():
        name = "ep-" + name
    if len(name) > ENDPOINT_NAME_MAX:
        name = _cut_with_hash(name, v1_name, ENDPOINT_NAME_MAX, "-")
    if len(name) < ENDPOINT_NAME_MIN:
        name = name + "-ep"
    return name


def assign_endpoint_names(v1_names: Iterable[str]) -> dict[str, str]:
    """Map each distinct v1 name to a distinct valid v2 name.

    Names that collide once mapped (``daily_sales`` and ``daily-sales``) keep the plain mapping
    for the first in sorted order; each other one gets a hash suffix of its own v1 name. The
    result does not depend on the order of ``v1_names``.
    """
    taken: set[str] = set()
    return {
        v1_name: _distinct(endpoint_name(v1_name), v1_name, taken, ENDPOINT_NAME_MAX, "-")
        for v1_name in sorted(set(v1_names))
    }


def validate_endpoint_name(name: str) -> None:
    """Raise ``ConfigurationError`` unless ``name`` (a user's override) is a valid endpoint name."""
    _require_text(name, "endpoint")
    if not is_valid_endpoint_name(name):
        raise ConfigurationError(
            f"The endpoint name {name!r} is not valid: a batch endpoint name must be "
            f"{ENDPOINT_NAME_MIN} to {ENDPOINT_NAME_MAX} characters long (this one has "
            f"{len(name)}), start with a letter, and hold only letters, digits and hyphens, "
            f"not ending in a hyphen; for example {endpoint_name(name)!r}."
        )


# --- components ------------------------------------------------------------------------------


def is_valid_component_name(name: str) -> bool:
    """Whether ``name`` is accepted as a v2 component name as it is (and is not the SDK's own)."""
    return (
        len(name) <= COMPONENT_NAME_MAX
        and bool(_VALID_COMPONENT.fullmatch(name))
        and name != _ANONYMOUS_COMPONENT
    )


def component_name(*parts: str) -> str:
    """Map v1 names (e.g. the pipeline name and a step name) to one valid v2 component name.

    Each part is folded to lower-case ASCII with every run of other characters turned into one
    underscore; empty parts are left out and the rest are joined with a double underscore, which
    no part can hold, so ``("daily_sales", "prep")`` gives ``daily_sales__prep``. A name starting
    with a digit gets a ``c_`` prefix; a name longer than 64 characters, or one with no letters or
    digits at all, gets an 8-character hash of all the parts.
    """
    key = json.dumps(list(parts))
    name = "__".join(word for word in (_fold(part, "_") for part in parts) if word)
    if not name:
        name = "c_" + _short_hash(key)
    if not name[0].isalpha():
        name = "c_" + name
    if len(name) > _COMPONENT_NAME_CUT or name == _ANONYMOUS_COMPONENT:
        name = _cut_with_hash(name, key, _COMPONENT_NAME_CUT, "_")
    return name


def assign_component_names(keys: Iterable[Sequence[str]]) -> dict[tuple[str, ...], str]:
    """Map each distinct tuple of parts (as for ``component_name``) to a distinct component name.

    Keys that collide once mapped (``("daily sales",)`` and ``("daily-sales",)``) keep the plain
    name for the first in sorted order; each other one gets a hash suffix of its own parts. The
    result does not depend on the order of ``keys``. Pass every component of one workspace
    together, the pipeline components (``(pipeline,)``) with their steps (``(pipeline, step)``).
    """
    taken: set[str] = set()
    return {
        key: _distinct(component_name(*key), json.dumps(list(key)), taken, _COMPONENT_NAME_CUT, "_")
        for key in sorted({tuple(key) for key in keys})
    }


def validate_component_name(name: str) -> None:
    """Raise ``ConfigurationError`` unless ``name`` (an override) is a valid component name."""
    _require_text(name, "component")
    if name == _ANONYMOUS_COMPONENT:
        raise ConfigurationError(
            f"The component name {name!r} is not allowed: azure-ai-ml uses it for unregistered "
            "components; choose another name."
        )
    if not is_valid_component_name(name):
        raise ConfigurationError(
            f"The component name {name!r} is not valid: a component name must start with a "
            "lower-case letter and hold only lower-case letters, digits and underscores, at "
            f"most {COMPONENT_NAME_MAX} characters; for example {component_name(name)!r}."
        )


# --- deployments -----------------------------------------------------------------------------


def is_valid_deployment_name(name: str) -> bool:
    """Whether ``name`` is accepted as a batch deployment name as it is (lower case included)."""
    return (
        DEPLOYMENT_NAME_MIN <= len(name) <= DEPLOYMENT_NAME_MAX
        and bool(_VALID_ENDPOINT.fullmatch(name))
        and name == name.lower()
    )


def deployment_name(v1_version: str | None, index: int) -> str:
    """The batch deployment name for one version of a v1 pipeline endpoint.

    v1 endpoint versions are labels such as ``"0"``, ``"1"``: version ``"1"`` becomes
    ``version-1``, ``"1.4"`` becomes ``version-1-4`` (folded as for endpoint names). Without a
    version, ``index`` (the version's position, from 0) stands in: ``version-<index>``. A label
    with no letters or digits is replaced by its hash, a long one is cut with a hash.
    """
    if index < 0:
        raise ValueError(f"index must be 0 or more, not {index}")
    if v1_version is None:
        key, label = f"\x00{index}", str(index)
    else:
        key, label = v1_version, _fold(v1_version, "-") or _short_hash(v1_version)
    name = "version-" + label
    if len(name) > DEPLOYMENT_NAME_MAX:
        name = _cut_with_hash(name, key, DEPLOYMENT_NAME_MAX, "-")
    return name


def assign_deployment_names(v1_versions: Sequence[str | None]) -> list[str]:
    """Distinct deployment names for the versions of one v1 endpoint, in the same order.

    The first of versions that collide once mapped (``"1.0"`` and ``"1-0"``), in the given order,
    keeps the plain name; each later one gets a hash suffix of its own version label.
    """
    taken: set[str] = set()
    names = []
    for index, version in enumerate(v1_versions):
        key = version if version is not None else f"\x00{index}"
        candidate = deployment_name(version, index)
        names.append(_distinct(candidate, key, taken, DEPLOYMENT_NAME_MAX, "-"))
    return names


def validate_deployment_name(name: str) -> None:
    """Raise ``ConfigurationError`` unless ``name`` (an override) is a valid deployment name."""
    _require_text(name, "deployment")
    if is_valid_deployment_name(name):
        return
    if is_valid_deployment_name(name.lower()):
        raise ConfigurationError(
            f"The deployment name {name!r} is not valid here: azure-ai-ml turns deployment "
            f"names into lower case, so write it {name.lower()!r}."
        )
    raise ConfigurationError(
        f"The deployment name {name!r} is not valid: a batch deployment name must be "
        f"{DEPLOYMENT_NAME_MIN} to {DEPLOYMENT_NAME_MAX} characters long (this one has "
        f"{len(name)}), start with a lower-case letter, and hold only lower-case letters, "
        "digits and hyphens, not ending in a hyphen."
    )


# --- versions --------------------------------------------------------------------------------


def is_valid_component_version(version: str) -> bool:
    """Whether ``version`` is a version string safe for a component (see the module docstring)."""
    return len(version) <= COMPONENT_NAME_MAX and bool(_VALID_VERSION.fullmatch(version))


def content_hash(obj: object) -> str:
    """A stable 8-character hex hash of a JSON-able object (dict keys sorted, mappings as dicts).

    Equal content gives equal hashes in any process and on any machine; it is meant to tell
    versions of one component apart, not to resist tampering. Raises ``TypeError`` for objects
    JSON cannot write.
    """
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False, default=_as_json)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:_HASH_LENGTH]


def component_version(v1_version: str | None, content_hash: str) -> str:
    """A component version made of the v1 version and a hash of the component's content.

    ``("1.4", "3f2a9c1d")`` gives ``1.4-3f2a9c1d``; without a v1 version, ``unversioned-3f2a9c1d``.
    azure-ai-ml reuses a component that already exists under the same name and version without
    looking at its content, so the hash is what makes a changed pipeline get a new version.
    The v1 part keeps letters, digits, ``.``, ``_`` and ``-`` (other runs become ``-``) and at most
    32 characters; ``content_hash`` is used whole and must be letters and digits only.
    """
    if not _HASH_TEXT.fullmatch(content_hash):
        raise ValueError(
            f"content_hash must be letters and digits only (e.g. from content_hash()), "
            f"not {content_hash!r}"
        )
    folded = unicodedata.normalize("NFKD", v1_version or "").encode("ascii", "ignore").decode()
    label = _INVALID_VERSION_RUN.sub("-", folded).strip("._-")
    label = label[:_VERSION_LABEL_MAX].rstrip("._-")
    return f"{label or 'unversioned'}-{content_hash}"


# --- shared ----------------------------------------------------------------------------------


def _fold(text: str, separator: str) -> str:
    """Lower-case ASCII letters and digits of ``text``, other runs turned into ``separator``."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return _INVALID_RUN.sub(separator, folded.lower()).strip(separator)


def _cut_with_hash(name: str, key: str, limit: int, separator: str, salt: int = 0) -> str:
    """``name`` cut to fit ``limit`` together with a separator and a hash of ``key``."""
    suffix = _short_hash(key if salt == 0 else f"{key}\x00{salt}")
    return name[: limit - _HASH_LENGTH - 1].rstrip(separator) + separator + suffix


def _distinct(candidate: str, key: str, taken: set[str], limit: int, separator: str) -> str:
    """``candidate``, or while that is taken, it cut with a hash of ``key`` (salted on repeats)."""
    name = candidate
    salt = 0
    while name in taken:
        name = _cut_with_hash(candidate, key, limit, separator, salt)
        salt += 1
    taken.add(name)
    return name


def _short_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:_HASH_LENGTH]


def _as_json(obj: object) -> object:
    if isinstance(obj, Mapping):
        return dict(obj)
    raise TypeError(f"content_hash takes JSON-able objects; {type(obj).__name__} is not one")


def _require_text(name: object, what: str) -> None:
    if not isinstance(name, str):
        raise ConfigurationError(
            f"The {what} name {name!r} is not valid: it must be text, not {type(name).__name__}."
        )
