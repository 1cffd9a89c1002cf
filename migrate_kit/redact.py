"""Scrub secrets from text before it reaches a log line, an error message or a report.

``redact`` is the one place migrate_kit does this; the v1 client's log and error code and the
report exports all call it. What it removes:

- URL query strings and fragments: every query parameter's value becomes ``<redacted>``
  unless its name is in ``SAFE_QUERY_KEYS`` (the workspace and tenant ids of a studio link, an
  api-version). Deny by default, so a SAS token (``sv``, ``sig``, ``se``, ...), a function key
  (``code``) or any parameter nobody thought of is removed;
- the credential after ``Bearer``, after ``Authorization: Basic`` (or ``SharedKey``), and JSON
  Web Tokens on their own (three base64url parts starting with ``eyJ``);
- ``name=value`` and ``"name": "value"`` pairs whose name says secret (``sig``, ``key``,
  ``accountkey``, ``token``, ``password``, ``client_secret``, ...).

The result is stable: redacting redacted text changes nothing.

Known shortcoming: it recognises secrets by shape and by name only. A key pasted into an error
message with no name before it and no URL around it (a bare 40-character string, say) stays.
"""

from __future__ import annotations

import re

__all__ = ["REDACTED", "SAFE_QUERY_KEYS", "redact"]

REDACTED = "<redacted>"

#: Query parameters that are kept: none of them is a credential, and studio links need them.
SAFE_QUERY_KEYS = frozenset({"api-version", "wsid", "tid", "pipelineversion", "flight"})

# A URL with a query (and maybe a fragment). "<redacted>" may appear inside, so that text which
# was already redacted matches the same way again.
_URL_QUERY = re.compile(
    r"(https?://[^\s?#'\"<>]+)\?((?:[^\s'\"<>]|<redacted>)*)",
    re.IGNORECASE,
)
_BEARER = re.compile(r"\b(bearer\s+)[A-Za-z0-9._~+/=-]+", re.IGNORECASE)
# Other schemes only after "Authorization": "basic" alone is an ordinary English word.
_AUTH_HEADER = re.compile(
    r"(authorization[\"']?\s*[:=]\s*[\"']?(?:basic|sharedkey|sharedaccesssignature)\s+)"
    r"[^\s\"',;]+",
    re.IGNORECASE,
)
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*")
_SECRET_NAMES = (
    r"sig|signature|sv|se|skoid|sktid|skv|key|accountkey|sharedaccesskey|sharedaccesssignature"
    r"|access_token|refresh_token|id_token|token|password|pwd|secret|client_secret|api[-_]?key"
)
_SECRET_PAIR = re.compile(rf"\b({_SECRET_NAMES})=[^&\s'\";,]+", re.IGNORECASE)
_SECRET_JSON = re.compile(rf"(\"(?:{_SECRET_NAMES})\"\s*:\s*)\"[^\"]*\"", re.IGNORECASE)


def redact(text: str) -> str:
    """Return ``text`` without URL query values, tokens and named secrets (see the module)."""
    text = _URL_QUERY.sub(_redact_query, text)
    text = _BEARER.sub(lambda m: f"{m.group(1)}{REDACTED}", text)
    text = _AUTH_HEADER.sub(lambda m: f"{m.group(1)}{REDACTED}", text)
    text = _JWT.sub(REDACTED, text)
    text = _SECRET_JSON.sub(lambda m: f'{m.group(1)}"{REDACTED}"', text)
    return _SECRET_PAIR.sub(lambda m: f"{m.group(1)}={REDACTED}", text)


def _redact_query(match: re.Match[str]) -> str:
    base, query = match.group(1), match.group(2)
    query, hash_sign, fragment = query.partition("#")
    pairs = []
    for pair in query.split("&"):
        name, equals, _value = pair.partition("=")
        if not pair:
            continue
        if equals and name.lower() in SAFE_QUERY_KEYS:
            pairs.append(pair)
        elif equals:
            pairs.append(f"{name}={REDACTED}")
        else:
            pairs.append(REDACTED)
    tail = f"#{REDACTED}" if hash_sign and fragment else hash_sign
    return f"{base}?{'&'.join(pairs)}{tail}"
