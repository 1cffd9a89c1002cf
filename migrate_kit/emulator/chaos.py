"""The fault settings: rate-based, seeded chaos, and the ARM write throttle's token bucket.

``faults.py`` describes the fault model and applies these settings (``FaultSet.draw``); this
module only holds the values, their validation and the bucket arithmetic, so they can be checked
without a server.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields, replace
from typing import Any, Literal

__all__ = [
    "ARM_WRITE_METHODS",
    "OUTCOMES",
    "Chaos",
    "ChaosKind",
    "FaultSettings",
    "FaultSettingsError",
    "TokenBucket",
    "compile_scope",
    "is_arm_write",
]

#: Methods that count as ARM writes for the throttle (ARM counts POST actions as writes too).
ARM_WRITE_METHODS = frozenset({"PUT", "POST", "PATCH", "DELETE"})

#: What the settings can do to one request (see ``Chaos``).
ChaosKind = Literal["429", "500", "503", "drop", "throttle"]

#: The rates that share one draw per request, in the order they split [0, 1).
OUTCOMES: tuple[tuple[str, ChaosKind], ...] = (
    ("rate_429", "429"),
    ("rate_500", "500"),
    ("rate_503", "503"),
    ("rate_drop", "drop"),
)
_RATES = ("rate_429", "rate_500", "rate_503", "rate_drop", "lro_failure_rate")
_NUMBERS = ("retry_after", "latency_ms", "arm_write_rate", *_RATES)


class FaultSettingsError(ValueError):
    """A fault setting with a bad value; ``field`` names it (the admin route answers 400)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


@dataclass(frozen=True)
class FaultSettings:
    """Rate-based faults, deterministic under ``seed`` (the model is in ``faults.py``).

    Rates are probabilities in [0, 1], and ``rate_429 + rate_500 + rate_503 + rate_drop`` is at
    most 1 (one draw picks among them). ``retry_after`` is in seconds (sent with 429 and 503),
    ``latency_ms`` in milliseconds added to each request, ``arm_write_rate`` in ARM writes a
    second (0 = no throttle). ``scope_method`` (matched against the whole method,
    case-insensitively) and ``scope_path`` (searched in the path) aim the faults at a subset of
    requests. Invalid values raise ``FaultSettingsError`` naming the field.
    """

    seed: int = 0
    rate_429: float = 0.0
    retry_after: float = 1.0
    rate_500: float = 0.0
    rate_503: float = 0.0
    rate_drop: float = 0.0
    latency_ms: float = 0.0
    lro_failure_rate: float = 0.0
    arm_write_rate: float = 0.0
    scope_method: str = ".*"
    scope_path: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.seed, int) or isinstance(self.seed, bool):
            raise FaultSettingsError("seed", f"expected an integer, got {self.seed!r}")
        for name in _NUMBERS:
            value = _number(name, getattr(self, name))
            if name in _RATES and value > 1:
                raise FaultSettingsError(name, f"expected a rate between 0 and 1, got {value:g}")
            object.__setattr__(self, name, value)
        total = sum(getattr(self, name) for name, _ in OUTCOMES)
        if total > 1 + 1e-9:
            last = [name for name, _ in OUTCOMES if getattr(self, name) > 0][-1]
            names = " + ".join(name for name, _ in OUTCOMES)
            raise FaultSettingsError(last, f"{names} must be at most 1, got {total:g}")
        compile_scope(self.scope_method, self.scope_path)

    @classmethod
    def from_json(cls, data: object, *, base: FaultSettings | None = None) -> FaultSettings:
        """Settings from a JSON object; missing keys come from ``base`` (default: the defaults)."""
        if not isinstance(data, dict):
            raise FaultSettingsError("body", f"expected a JSON object, got {type(data).__name__}")
        known = {f.name for f in fields(cls)}
        for key in data:
            if key not in known:
                raise FaultSettingsError(str(key), f"unknown setting; known: {sorted(known)}")
        return replace(base or cls(), **data)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def active(self) -> bool:
        """True when a setting acts on requests (the LRO rate acts on operations only)."""
        rates = (getattr(self, name) for name, _ in OUTCOMES)
        return any(rates) or self.latency_ms > 0 or self.arm_write_rate > 0


def _number(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise FaultSettingsError(name, f"expected a number, got {value!r}")
    if not math.isfinite(value) or value < 0:
        raise FaultSettingsError(name, f"expected a finite number >= 0, got {value!r}")
    return float(value)


def compile_scope(method: object, path: object) -> tuple[re.Pattern[str], re.Pattern[str]]:
    """The compiled ``scope_method`` (case-insensitive) and ``scope_path`` expressions."""
    compiled = []
    for name, value, flags in (("scope_method", method, re.I), ("scope_path", path, 0)):
        if not isinstance(value, str):
            raise FaultSettingsError(name, f"expected a regular expression, got {value!r}")
        try:
            compiled.append(re.compile(value, flags))
        except re.error as exc:
            raise FaultSettingsError(name, f"not a valid regular expression ({exc})") from None
    return compiled[0], compiled[1]


def is_arm_write(method: str, path: str) -> bool:
    """True for a request the ARM write throttle counts."""
    return method.upper() in ARM_WRITE_METHODS and path.startswith("/subscriptions/")


class TokenBucket:
    """``rate`` tokens a second, holding at most ``max(1, rate)``; starts full.

    ``clock`` (monotonic seconds) is a parameter so the arithmetic can be checked without
    waiting. Not thread-safe on its own; ``FaultSet`` calls it under its lock.
    """

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic) -> None:
        if rate <= 0:
            raise ValueError(f"rate must be > 0 tokens a second, got {rate!r}")
        self.rate = rate
        self.capacity = max(1.0, rate)
        self._clock = clock
        self._tokens = self.capacity
        self._last = clock()

    def take(self) -> float:
        """Take a token: 0.0 when one was free, else the seconds until one will be (> 0)."""
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._last) * self.rate)
        self._last = now
        if self._tokens >= 1:
            self._tokens -= 1
            return 0.0
        return (1 - self._tokens) / self.rate


@dataclass(frozen=True)
class Chaos:
    """What the settings do to one request: wait ``delay`` seconds, then ``kind`` (None: let
    it through). ``retry_after`` is the ``Retry-After`` value in seconds, when one is sent."""

    kind: ChaosKind | None
    delay: float = 0.0
    retry_after: float | None = None

    @property
    def status(self) -> int | None:
        """The HTTP status to answer (None for a drop or no fault)."""
        if self.kind is None or self.kind == "drop":
            return None
        return 429 if self.kind == "throttle" else int(self.kind)
